//! Links, networks and the `steadfast-mocknet link` command under load and abuse, in real time
//! and bounded: a thousand concurrent connections through a link get every byte of their round
//! trips back, are journaled once each and leak no descriptor; idle connections held through a
//! link do not stop another client being served; an upstream that refuses is passed on as a
//! reset; half-closes pass through both ways; the command, stopped by SIGTERM, writes whole
//! JSON lines with an end for every connection; and a link out of descriptors waits instead of
//! spinning.
//!
//! The load tests print their throughput and latency (`--nocapture` shows them); they assert
//! what the link did, never how fast.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use steadfast_determinism::wait::eventually;
use steadfast_mocknet::link::{Link, NetEvent};
use steadfast_mocknet::network::Network;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::binary::{signal, spawn, temp};
use crate::support::{dial_out_of_descriptors, open_descriptors, run_alone};

const CLIENTS: usize = 1_000;
const ROUNDS: usize = 20;
/// The bound on every wait of these tests, in real time.
const DEADLINE: Duration = Duration::from_secs(20);

/// An echo upstream on 127.0.0.1; it stops, with its connections, when dropped.
struct Echo {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A listener on a free port of 127.0.0.1 whose accept queue holds a thousand connections, as
/// the links' do (std's `bind` gives 128: a burst overflowing it loses handshakes).
fn listener() -> TcpListener {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind");
    socket.listen(1024).expect("listen")
}

async fn echo() -> Echo {
    let listener = listener();
    let addr = listener.local_addr().expect("addr");
    Echo {
        addr,
        task: tokio::spawn(echo_on(listener)),
    }
}

/// Echoes every connection of `listener` until its client half-closes, then closes it.
async fn echo_on(listener: TcpListener) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((mut stream, _)) = accepted else { continue };
                connections.spawn(async move {
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Round `round` of client `client`: 1 to 4,096 bytes that differ by client, round and place,
/// so a byte lost, duplicated, reordered or crossed over from another connection shows.
fn message(client: usize, round: usize) -> Vec<u8> {
    let len = 1 + (client * 7_919 + round * 104_729) % 4_096;
    (0..len)
        .map(|i| (client.wrapping_mul(31) ^ round.wrapping_mul(17) ^ i) as u8)
        .collect()
}

/// What one client did: the bytes it sent (and got back), and the time of each round trip.
struct Client {
    bytes: u64,
    latencies: Vec<Duration>,
}

/// Client `client`: `rounds` round trips through `addr`, every byte checked, then a
/// half-close and the end of the echo.
async fn client(addr: SocketAddr, client: usize, rounds: usize) -> Client {
    let mut stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|err| panic!("steadfast: client {client} could not connect: {err}"));
    stream.set_nodelay(true).expect("nodelay");
    let (mut bytes, mut latencies, mut answer) = (0, Vec::with_capacity(rounds), Vec::new());
    for round in 0..rounds {
        let message = message(client, round);
        let sent = Instant::now();
        stream.write_all(&message).await.expect("write");
        answer.resize(message.len(), 0);
        stream
            .read_exact(&mut answer)
            .await
            .unwrap_or_else(|err| panic!("steadfast: client {client}, round {round}: {err}"));
        latencies.push(sent.elapsed());
        assert!(
            answer == message,
            "steadfast: client {client}, round {round}: the echo differs from what was sent"
        );
        bytes += message.len() as u64;
    }
    stream.shutdown().await.expect("half-close");
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await.expect("the echo ends");
    assert!(
        rest.is_empty(),
        "steadfast: client {client}: bytes after the last round"
    );
    Client { bytes, latencies }
}

/// `clients` concurrent [`client`]s through `addr`.
struct Load {
    clients: Vec<Client>,
    elapsed: Duration,
}

async fn load(addr: SocketAddr, clients: usize, rounds: usize) -> Load {
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|n| tokio::spawn(client(addr, n, rounds)))
        .collect();
    let all = async {
        let mut done = Vec::with_capacity(clients);
        for task in tasks {
            done.push(task.await.expect("a client panicked"));
        }
        done
    };
    let clients = tokio::time::timeout(DEADLINE, all)
        .await
        .unwrap_or_else(|_| panic!("steadfast: the load did not finish within {DEADLINE:?}"));
    Load {
        clients,
        elapsed: started.elapsed(),
    }
}

impl Load {
    /// Prints the throughput and latency, as the tests' own counters measured them.
    fn print(&self, through: &str) {
        let mut latencies: Vec<Duration> = self
            .clients
            .iter()
            .flat_map(|client| client.latencies.iter().copied())
            .collect();
        latencies.sort();
        let bytes: u64 = self.clients.iter().map(|client| client.bytes).sum();
        let seconds = self.elapsed.as_secs_f64();
        eprintln!(
            "steadfast: through {through}: {} connections, {} round trips, {bytes} bytes each way \
             in {:.2?}: {:.0} round trips/s, {:.1} MB/s each way, latency p50 {:?} p99 {:?}",
            self.clients.len(),
            latencies.len(),
            self.elapsed,
            latencies.len() as f64 / seconds,
            bytes as f64 / seconds / 1e6,
            latencies[latencies.len() / 2],
            latencies[latencies.len() * 99 / 100],
        );
    }

    /// The bytes each client sent, sorted.
    fn bytes_per_client(&self) -> Vec<u64> {
        let mut bytes: Vec<u64> = self.clients.iter().map(|client| client.bytes).collect();
        bytes.sort_unstable();
        bytes
    }
}

fn json(journal: &[NetEvent]) -> Vec<Value> {
    journal.iter().map(NetEvent::to_json).collect()
}

/// The events of each connection, by connection number, as the JSON lines give them.
fn by_connection(events: &[Value]) -> BTreeMap<u64, Vec<&Value>> {
    let mut connections: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for event in events {
        let connection = event["connection"]
            .as_u64()
            .unwrap_or_else(|| panic!("steadfast: an event of no connection: {event}"));
        connections.entry(connection).or_default().push(event);
    }
    connections
}

fn kinds<'a>(events: &[&'a Value]) -> Vec<&'a str> {
    events
        .iter()
        .map(|event| event["event"].as_str().expect("an event name"))
        .collect()
}

/// Each of the load's connections, numbered from 0, is in the journal once: opened, then
/// closed with as many bytes each way as one client sent; and nothing else is.
#[track_caller]
fn assert_each_connection_once(events: &[Value], load: &Load) {
    let connections = by_connection(events);
    assert!(
        connections.keys().copied().eq(0..load.clients.len() as u64),
        "steadfast: the journal has connections {:?}, expected 0 to {}",
        connections.keys().collect::<Vec<_>>(),
        load.clients.len() - 1
    );
    let mut bytes = Vec::with_capacity(connections.len());
    for (connection, events) in &connections {
        assert_eq!(
            kinds(events),
            ["opened", "closed"],
            "steadfast: connection {connection}: {events:?}"
        );
        let closed = events[1];
        assert_eq!(
            closed["bytes_up"], closed["bytes_down"],
            "steadfast: connection {connection} echoed other bytes than it got: {closed}"
        );
        bytes.push(closed["bytes_up"].as_u64().expect("bytes up"));
    }
    bytes.sort_unstable();
    assert_eq!(
        bytes,
        load.bytes_per_client(),
        "steadfast: the journal's bytes per connection"
    );
}

#[tokio::test]
async fn a_thousand_connections_through_a_link_get_every_byte_back_once_and_leak_nothing() {
    let before = open_descriptors();
    let echo = echo().await;
    let link = Link::builder(echo.addr)
        .seed(1)
        .start()
        .await
        .expect("link starts");

    let load = load(link.addr(), CLIENTS, ROUNDS).await;

    load.print("a link");
    assert_each_connection_once(&json(&link.journal()), &load);
    drop((link, echo));
    eventually(DEADLINE, || async { open_descriptors() <= before })
        .await
        .unwrap_or_else(|err| {
            panic!(
                "steadfast: {err}: {} descriptors open, {before} before",
                open_descriptors()
            )
        });
}

#[tokio::test]
async fn a_thousand_connections_through_a_network_link_are_journaled_once_each() {
    let net = Network::builder()
        .nodes(["client", "server"])
        .seed(2)
        .start()
        .await
        .expect("network starts");
    net.run("server", echo_on).expect("server runs");

    let load = load(
        net.addr("client", "server").expect("a link"),
        CLIENTS,
        ROUNDS,
    )
    .await;

    load.print("a network link");
    let journal = json(&net.journal());
    assert!(
        journal
            .iter()
            .all(|event| event["link"] == "client->server"),
        "steadfast: events of other links or of the network: {journal:?}"
    );
    assert_each_connection_once(&journal, &load);
}

/// Opens `count` connections through `addr`, each proxied to the echo (one byte there and
/// back), and leaves them open.
async fn idle_connections(addr: SocketAddr, count: usize) -> Vec<TcpStream> {
    let mut idle = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(b"i").await.expect("write");
        let mut answer = [0u8];
        stream.read_exact(&mut answer).await.expect("echo");
        idle.push(stream);
    }
    idle
}

#[tokio::test]
async fn idle_connections_held_through_a_link_do_not_stop_another_client_being_served() {
    let echo = echo().await;
    let link = Link::builder(echo.addr)
        .seed(3)
        .start()
        .await
        .expect("link starts");
    let idle = idle_connections(link.addr(), CLIENTS).await;

    let served = tokio::time::timeout(Duration::from_secs(5), client(link.addr(), 0, ROUNDS))
        .await
        .expect("served within its deadline while a thousand connections idle");

    assert_eq!(served.latencies.len(), ROUNDS);
    let count = |kind: &str| {
        json(&link.journal())
            .iter()
            .filter(|event| event["event"] == kind)
            .count()
    };
    assert_eq!((count("opened"), count("closed")), (CLIENTS + 1, 1));
    drop(idle);
    eventually(DEADLINE, || async { count("closed") == CLIENTS + 1 })
        .await
        .unwrap_or_else(|err| panic!("steadfast: the idle connections did not all end: {err}"));
    assert_eq!(link.journal().len(), 2 * (CLIENTS + 1));
}

/// An address of 127.0.0.1 that nothing listens on.
fn refusing_address() -> SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    probe.local_addr().expect("addr")
}

/// Fails, saying why, when the kernel caps accept queues below `connections`: a burst that
/// overflows one loses handshakes, and clients that wait for the server to speak first hang.
fn assert_accept_queues_hold(connections: usize) {
    let cap: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .expect("/proc/sys/net/core/somaxconn")
        .trim()
        .parse()
        .expect("a number");
    assert!(
        cap >= connections,
        "steadfast: the kernel caps accept queues at {cap} (net.core.somaxconn), and this test \
         sends a burst of {connections}: sysctl -w net.core.somaxconn=4096 (the default since \
         Linux 5.4)"
    );
}

#[tokio::test]
async fn an_upstream_that_refuses_is_passed_on_to_every_client_as_a_reset() {
    // The clients only read, so a handshake lost to a full accept queue would hang one.
    assert_accept_queues_hold(CLIENTS);
    let link = Link::builder(refusing_address())
        .seed(4)
        .start()
        .await
        .expect("link starts");
    let addr = link.addr();

    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("the link accepts");
                stream
                    .read(&mut [0u8; 16])
                    .await
                    .map(|_| ())
                    .map_err(|err| err.kind())
            })
        })
        .collect();
    let all = async {
        let mut outcomes = Vec::with_capacity(CLIENTS);
        for client in clients {
            outcomes.push(client.await.expect("a client panicked"));
        }
        outcomes
    };
    let outcomes = tokio::time::timeout(DEADLINE, all)
        .await
        .expect("every client hears of the refusal: none hangs");

    assert!(
        outcomes
            .iter()
            .all(|outcome| *outcome == Err(ErrorKind::ConnectionReset)),
        "steadfast: {outcomes:?}"
    );
    let journal = json(&link.journal());
    let connections = by_connection(&journal);
    assert_eq!(connections.len(), CLIENTS);
    for (connection, events) in &connections {
        assert_eq!(
            kinds(events),
            ["opened", "refused"],
            "connection {connection}"
        );
        assert_eq!(
            events[1]["detail"], "the upstream refused: connection refused",
            "connection {connection}"
        );
    }
}

#[tokio::test]
async fn half_closes_pass_through_a_link_both_ways() {
    // The client half-closes first: the upstream reads to the end, then answers the count.
    let counting = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let counting_addr = counting.local_addr().expect("addr");
    tokio::spawn(async move {
        let (mut stream, _) = counting.accept().await.expect("accept");
        let mut all = Vec::new();
        stream.read_to_end(&mut all).await.expect("read to the end");
        let answer = all.len().to_string();
        stream.write_all(answer.as_bytes()).await.expect("answer");
    });
    // The upstream half-closes first: it greets, shuts its side, then counts what still comes.
    let greeting = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let greeting_addr = greeting.local_addr().expect("addr");
    let (counted, count) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut stream, _) = greeting.accept().await.expect("accept");
        stream.write_all(b"hello").await.expect("greet");
        stream.shutdown().await.expect("half-close");
        let mut all = Vec::new();
        stream.read_to_end(&mut all).await.expect("read to the end");
        let _ = counted.send(all.len());
    });
    let links = (
        Link::builder(counting_addr)
            .seed(5)
            .start()
            .await
            .expect("link starts"),
        Link::builder(greeting_addr)
            .seed(6)
            .start()
            .await
            .expect("link starts"),
    );

    let mut stream = TcpStream::connect(links.0.addr()).await.expect("connect");
    stream.write_all(&vec![7u8; 1 << 20]).await.expect("write");
    stream.shutdown().await.expect("half-close");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("answer");
    let mut stream = TcpStream::connect(links.1.addr()).await.expect("connect");
    let mut hello = Vec::new();
    stream
        .read_to_end(&mut hello)
        .await
        .expect("the greeting, then its end");
    stream
        .write_all(&[1u8; 65_536])
        .await
        .expect("write after the upstream's end");
    stream.shutdown().await.expect("half-close");
    let count = tokio::time::timeout(DEADLINE, count)
        .await
        .expect("the upstream reads to the end")
        .expect("a count");

    assert_eq!(answer, (1 << 20).to_string());
    assert_eq!((hello.as_slice(), count), (&b"hello"[..], 65_536));
    for (link, up, down) in [(&links.0, 1 << 20, 7), (&links.1, 65_536, 5)] {
        eventually(DEADLINE, || async { link.journal().len() == 2 })
            .await
            .expect("the connection ends");
        let journal = json(&link.journal());
        assert_eq!(
            (
                journal[1]["event"].as_str(),
                journal[1]["bytes_up"].as_u64(),
                journal[1]["bytes_down"].as_u64()
            ),
            (Some("closed"), Some(up), Some(down)),
            "{journal:?}"
        );
    }
}

/// The address in a `listening on 127.0.0.1:PORT` first line.
fn listening_on(first: &str) -> SocketAddr {
    first
        .strip_prefix("listening on ")
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("steadfast: first line {first:?}"))
}

/// SIGTERM to the command, then its journal: every line a whole JSON object.
async fn stop_command(mut child: std::process::Child, journal: std::path::PathBuf) -> Vec<Value> {
    let status = tokio::task::spawn_blocking(move || signal(&mut child, libc::SIGTERM))
        .await
        .expect("waited");
    assert!(status.success(), "steadfast: the command exited {status:?}");
    let text = std::fs::read_to_string(&journal).expect("journal written");
    assert!(
        text.ends_with('\n'),
        "steadfast: the last line is cut: {text:?}"
    );
    text.lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("steadfast: not a JSON line ({err}): {line:?}"))
        })
        .collect()
}

#[tokio::test]
async fn the_link_command_under_load_writes_every_connection_once_on_sigterm() {
    let echo = echo().await;
    let journal = temp("load-journal.jsonl", None);
    let (child, _stdout, first) = spawn(&[
        "link",
        "--upstream",
        &echo.addr.to_string(),
        "--seed",
        "7",
        "--journal",
        journal.to_str().expect("utf-8"),
    ]);

    let load = load(listening_on(&first), CLIENTS, ROUNDS).await;
    let events = stop_command(child, journal).await;

    load.print("the steadfast-mocknet link process");
    assert_each_connection_once(&events, &load);
}

#[tokio::test]
async fn the_link_command_journals_connections_still_open_at_sigterm_as_reset() {
    let echo = echo().await;
    let journal = temp("open-journal.jsonl", None);
    let (child, _stdout, first) = spawn(&[
        "link",
        "--upstream",
        &echo.addr.to_string(),
        "--seed",
        "8",
        "--journal",
        journal.to_str().expect("utf-8"),
    ]);
    let mut idle = idle_connections(listening_on(&first), 100).await;

    let events = stop_command(child, journal).await;

    let connections = by_connection(&events);
    assert_eq!(connections.len(), 100);
    for (connection, events) in &connections {
        assert_eq!(
            kinds(events),
            ["opened", "reset"],
            "connection {connection}"
        );
        let reset = events[1];
        assert_eq!(
            reset["detail"], "the link stopped",
            "connection {connection}"
        );
        assert_eq!(
            (reset["bytes_up"].as_u64(), reset["bytes_down"].as_u64()),
            (Some(1), Some(1)),
            "connection {connection}"
        );
    }
    for stream in &mut idle {
        let read = stream.read(&mut [0u8; 1]).await;
        assert_eq!(
            read.map_err(|err| err.kind()),
            Err(ErrorKind::ConnectionReset)
        );
    }
}

/// An upstream whose accept queue is full, so the kernel drops the SYN of any further dial:
/// a dial to it never completes.
async fn silent_upstream() -> (socket2::Socket, Vec<TcpStream>) {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .expect("bind");
    socket.listen(0).expect("listen");
    let addr = socket
        .local_addr()
        .expect("addr")
        .as_socket()
        .expect("an IP address");
    let mut queued = Vec::new();
    // Filled until a dial hangs; a loopback dial that is answered takes microseconds.
    while let Ok(stream) =
        tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(addr)).await
    {
        queued.push(stream.expect("a queued dial"));
        assert!(
            queued.len() < 64,
            "steadfast: the accept queue never filled"
        );
    }
    (socket, queued)
}

#[tokio::test]
async fn stop_resets_a_connection_still_dialling_an_upstream_that_never_answers() {
    let (silent, _queued) = silent_upstream().await;
    let upstream = silent.local_addr().expect("addr").as_socket().expect("IP");
    let link = Link::builder(upstream)
        .seed(9)
        .start()
        .await
        .expect("link starts");
    let mut stream = TcpStream::connect(link.addr()).await.expect("connect");
    eventually(DEADLINE, || async { !link.journal().is_empty() })
        .await
        .expect("the link accepts the connection");

    let journal = tokio::time::timeout(DEADLINE, link.stop())
        .await
        .expect("stop does not wait for the dial");

    let journal = json(&journal);
    assert_eq!(
        (journal.len(), &journal[1]["event"], &journal[1]["detail"]),
        (2, &Value::from("refused"), &Value::from("the link stopped")),
        "{journal:?}"
    );
    let read = stream.read(&mut [0u8; 1]).await;
    assert_eq!(
        read.map_err(|err| err.kind()),
        Err(ErrorKind::ConnectionReset)
    );
}

#[test]
fn a_link_out_of_descriptors_waits_instead_of_spinning() {
    run_alone(
        "link_abuse::out_of_descriptors_in_a_process_of_its_own",
        DEADLINE,
        "out of descriptors, the link kept the runtime busy: virtual time never moved",
    );
}

#[test]
#[ignore = "lowers its process's descriptor limit: run by a_link_out_of_descriptors_waits_instead_of_spinning"]
fn out_of_descriptors_in_a_process_of_its_own() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let echo = echo().await;
        let link = Link::builder(echo.addr)
            .seed(10)
            .start()
            .await
            .expect("link starts");
        let mut streams = dial_out_of_descriptors(link.addr()).await;

        for stream in &mut streams {
            stream.write_all(b"back").await.expect("write");
            let mut answer = [0u8; 4];
            stream
                .read_exact(&mut answer)
                .await
                .expect("served once descriptors are free");
            assert_eq!(&answer, b"back");
        }
        assert_eq!(json(&link.journal()).len(), 3);
    });
}
