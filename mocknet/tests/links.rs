//! Links: faults between a real client and a real server, as the client sees them.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use steadfast_determinism::{Seed, TestContext, deterministic_test};
use steadfast_mocknet::link::{
    Direction, Link, LinkFault, LinkFaultKind, LinkFaults, NetEventKind, PartitionMode,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use crate::support::{catalog, chain, client, io_kind, start};

/// An echo server on 127.0.0.1: every connection gets its bytes back.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let (mut read, mut write) = stream.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    addr
}

async fn link(upstream: SocketAddr, faults: LinkFaults) -> Link {
    Link::builder(upstream)
        .faults(faults)
        .start()
        .await
        .unwrap_or_else(|err| panic!("{err}"))
}

async fn round_trip(addr: SocketAddr, message: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(message).await?;
    let mut answer = vec![0; message.len()];
    stream.read_exact(&mut answer).await?;
    Ok(answer)
}

#[deterministic_test]
async fn reqwest_through_a_link_with_latency_gets_the_answer_on_virtual_time(_ctx: &TestContext) {
    let net = start(&catalog(
        r#"{"scenarios": {"s": {"routes": [{"name": "r", "path": "/r", "response": {"text": "ok"}}]}}}"#,
    ))
    .await;
    let faults = LinkFaults::new().with(LinkFault::latency(Duration::from_millis(250)));
    let link = link(net.addr(), faults).await;

    let started = Instant::now();
    let body = client()
        .get(format!("http://{}/r", link.addr()))
        .send()
        .await
        .expect("response")
        .text()
        .await
        .expect("body");

    assert_eq!(body, "ok");
    // One round trip for the request and its response, 250 ms each way.
    assert_eq!(started.elapsed(), Duration::from_millis(500));
    net.assert_called("r", 1);
}

#[deterministic_test]
async fn reqwest_sees_a_reset_link_as_connection_reset(_ctx: &TestContext) {
    let net = start(&catalog(
        r#"{"scenarios": {"s": {"routes": [{"name": "r", "path": "/r", "response": {"text": "ok"}}]}}}"#,
    ))
    .await;
    let link = link(net.addr(), LinkFaults::new().with(LinkFault::reset())).await;

    let err = client()
        .get(format!("http://{}/r", link.addr()))
        .send()
        .await
        .expect_err("reset");

    assert_eq!(
        io_kind(&err),
        Some(ErrorKind::ConnectionReset),
        "{}",
        chain(&err)
    );
    net.assert_called("r", 0);
    let kinds: Vec<_> = link.journal().iter().map(|event| event.kind).collect();
    assert_eq!(kinds, [NetEventKind::Opened, NetEventKind::Refused]);
    assert_eq!(link.journal()[0].faults, [LinkFaultKind::Reset]);
}

#[deterministic_test]
async fn downstream_latency_delays_only_the_answers(_ctx: &TestContext) {
    let faults = LinkFaults::new()
        .with(LinkFault::latency(Duration::from_millis(40)).direction(Direction::Downstream));
    let link = link(echo_server().await, faults).await;

    let started = Instant::now();
    let answer = round_trip(link.addr(), b"hello").await.expect("echo");

    assert_eq!(answer, b"hello");
    assert_eq!(started.elapsed(), Duration::from_millis(40));
}

#[deterministic_test]
async fn reset_after_n_bytes_cuts_the_stream_there(_ctx: &TestContext) {
    let faults = LinkFaults::new().with(LinkFault::reset_after(4).direction(Direction::Downstream));
    let link = link(echo_server().await, faults).await;

    let mut stream = TcpStream::connect(link.addr()).await.expect("connect");
    stream.write_all(b"0123456789").await.expect("write");
    let mut received = Vec::new();
    let err = stream
        .read_to_end(&mut received)
        .await
        .expect_err("reset after 4 bytes");

    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    assert_eq!(received, b"0123");
    let closed = link.journal().pop().expect("events");
    assert_eq!((closed.kind, closed.bytes_down), (NetEventKind::Reset, 4));
}

#[deterministic_test]
async fn slicing_delivers_a_message_in_reads_of_the_slice_size(_ctx: &TestContext) {
    let faults = LinkFaults::new()
        .with(LinkFault::slice_every(3, Duration::from_millis(1)).direction(Direction::Downstream));
    let link = link(echo_server().await, faults).await;

    let mut stream = TcpStream::connect(link.addr()).await.expect("connect");
    stream.write_all(b"abcdefgh").await.expect("write");
    let mut reads: Vec<Vec<u8>> = Vec::new();
    let mut buf = [0u8; 64];
    while reads.concat().len() < 8 {
        let n = stream.read(&mut buf).await.expect("read");
        reads.push(buf[..n].to_vec());
    }

    assert_eq!(reads, [b"abc".to_vec(), b"def".to_vec(), b"gh".to_vec()]);
}

#[deterministic_test]
async fn black_hole_delivers_nothing_until_the_client_gives_up(_ctx: &TestContext) {
    let link = link(
        echo_server().await,
        LinkFaults::new().with(LinkFault::black_hole()),
    )
    .await;

    let mut stream = TcpStream::connect(link.addr()).await.expect("connect");
    stream.write_all(b"anyone?").await.expect("write");
    let waited = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut [0; 8])).await;

    assert!(waited.is_err(), "a black hole answered: {waited:?}");
}

#[deterministic_test]
async fn held_bytes_arrive_in_order_on_release(_ctx: &TestContext) {
    let link = link(echo_server().await, LinkFaults::new()).await;
    let mut stream = TcpStream::connect(link.addr()).await.expect("connect");
    stream.write_all(b"a").await.expect("write");
    let mut first = [0u8; 1];
    stream.read_exact(&mut first).await.expect("before hold");

    link.hold();
    stream.write_all(b"bc").await.expect("write while held");
    let held = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut [0; 2])).await;
    link.release();
    let mut rest = [0u8; 2];
    stream.read_exact(&mut rest).await.expect("after release");

    assert!(held.is_err(), "bytes passed a held link");
    assert_eq!((&first, &rest), (b"a", b"bc"));
}

#[deterministic_test]
async fn a_stalling_partition_delays_bytes_until_it_heals(_ctx: &TestContext) {
    let link = link(echo_server().await, LinkFaults::new()).await;
    let started = Instant::now();
    let partition = link.partition(PartitionMode::Stall);

    let (answer, ()) = tokio::join!(round_trip(link.addr(), b"ping"), async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        partition.heal();
    });

    assert_eq!(answer.expect("echo after heal"), b"ping");
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

#[deterministic_test]
async fn an_upstream_that_refuses_is_passed_on_as_a_reset(_ctx: &TestContext) {
    // A port that was bound and released: nothing listens there.
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let link = link(addr, LinkFaults::new()).await;

    let err = round_trip(link.addr(), b"ping").await.expect_err("refused");

    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    let refused = link.journal().pop().expect("events");
    assert_eq!(refused.kind, NetEventKind::Refused);
    assert!(
        refused
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("upstream refused")),
        "{refused}"
    );
}

#[deterministic_test]
async fn the_same_seed_gives_the_same_journal_over_a_thousand_connections(_ctx: &TestContext) {
    let faults = || {
        LinkFaults::new()
            .with(LinkFault::jitter_lognormal(
                Duration::from_millis(5),
                Duration::from_millis(80),
            ))
            .with(LinkFault::reset_after(3).probability(0.2))
            .with(LinkFault::refuse().probability(0.1))
    };
    let upstream = echo_server().await;
    let mut journals = Vec::new();
    for _ in 0..2 {
        let link = Link::builder(upstream)
            .faults(faults())
            .seed(Seed::new(42))
            .start()
            .await
            .expect("link");
        // One client after another: the kernel's handshakes run outside the runtime, so a
        // thousand connects at one instant could be accepted at different virtual times.
        for _ in 0..1000 {
            let _ = round_trip(link.addr(), b"hello").await;
        }
        // Let the last closes reach the journal.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let lines: Vec<String> = link
            .journal()
            .iter()
            .map(|e| e.to_json().to_string())
            .collect();
        journals.push(lines);
    }

    let refused = journals[0]
        .iter()
        .filter(|l| l.contains("\"refused\""))
        .count();
    assert!((60..140).contains(&refused), "{refused} refused of 1000");
    assert_eq!(journals[0].len(), journals[1].len());
    let first_difference = journals[0].iter().zip(&journals[1]).find(|(a, b)| a != b);
    assert_eq!(first_difference, None, "journals differ");
}

#[deterministic_test]
async fn bad_faults_are_refused_naming_the_fault(_ctx: &TestContext) {
    let faults = LinkFaults::new().with(LinkFault::bandwidth(0));
    let err = Link::builder(echo_server().await)
        .faults(faults)
        .start()
        .await
        .expect_err("zero bandwidth");

    assert_eq!(
        err.to_string(),
        "invalid faults for link `link`: faults[0]: bandwidth needs bytes_per_second >= 1"
    );
}

#[deterministic_test]
async fn jitter_varies_per_message_on_one_connection_and_keeps_bytes_in_order(_ctx: &TestContext) {
    let faults = LinkFaults::new().with(LinkFault::jitter_lognormal(
        Duration::from_millis(20),
        Duration::from_millis(200),
    ));
    let link = link(echo_server().await, faults).await;
    let mut stream = TcpStream::connect(link.addr()).await.expect("connect");

    let mut round_trips = Vec::new();
    for i in 0..200u32 {
        let started = Instant::now();
        stream.write_all(&i.to_be_bytes()).await.expect("write");
        let mut echoed = [0u8; 4];
        stream.read_exact(&mut echoed).await.expect("echo");
        assert_eq!(u32::from_be_bytes(echoed), i);
        round_trips.push(started.elapsed());
    }

    round_trips.sort_unstable();
    let (p50, p99) = (round_trips[100], round_trips[198]);
    // Two draws per round trip, each with a median of 20 ms.
    assert!(
        (Duration::from_millis(25)..Duration::from_millis(60)).contains(&p50),
        "{p50:?}"
    );
    assert!(p99 > Duration::from_millis(150), "{p99:?}");
}
