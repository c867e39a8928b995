//! Criterion benchmark of a no-fault steadfast `Link` against a direct loopback connection and
//! against socat (Debian's package) as the plain user-space proxy, in the same run; then the
//! rate of virtual time of `replicated_kv`'s `leader-crash` scenario with 1,000 writes.
//!
//! * `link_bulk`: one connection sends 16 MiB to a sink, which answers one byte at the end.
//!   Targets: link throughput at least socat's and at least 60 % of direct.
//! * `link_round_trip`: 64-byte ping-pong on one kept connection to an echo server. Target:
//!   the link's added median latency no more than socat's.
//! * `virtual_time`: `leader-crash` with 1,000 writes on a paused runtime; printed as virtual
//!   seconds per wall second. Target: at least 100.
//!
//! socat must be installed (`apt-get install socat`): the bench fails without it rather than
//! leaving the comparison out. `benches/links.sh` runs this bench and prints the medians and
//! ratios side by side.

#[path = "../examples/replicated_kv/node.rs"]
mod node;
#[path = "../examples/replicated_kv/run.rs"]
mod run;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use steadfast::determinism::Seed;
use steadfast::mocknet::Catalog;
use steadfast::mocknet::link::Link;

const BULK: usize = 16 * 1024 * 1024;
const MESSAGE: usize = 64;

/// A server on its own thread: `sink` reads to the end and answers one byte; otherwise it
/// echoes.
fn server(sink: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_nodelay(true);
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) if !sink => {
                            if stream.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                    }
                }
                if sink {
                    let _ = stream.write_all(b"!");
                }
            });
        }
    });
    addr
}

/// A no-fault link in front of `upstream`, on a current-thread runtime of its own thread.
fn link(upstream: SocketAddr) -> SocketAddr {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let link = Link::builder(upstream)
                .seed(Seed::new(1))
                .start()
                .await
                .expect("link starts");
            sender.send(link.addr()).expect("send addr");
            std::future::pending::<()>().await;
        });
    });
    receiver.recv().expect("link address")
}

/// socat in front of `upstream`, killed on drop.
struct Socat(Child, SocketAddr);

impl Socat {
    fn start(upstream: SocketAddr) -> Socat {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|probe| probe.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("socat")
            .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork"))
            .arg(format!("TCP:{upstream}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat is installed (apt-get install socat)");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        // socat binds after it starts: wait until it accepts.
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "socat did not listen on {addr}");
            std::thread::yield_now();
        }
        Socat(child, addr)
    }
}

impl Drop for Socat {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bulk_once(addr: SocketAddr, chunk: &[u8]) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let mut left = BULK;
    while left > 0 {
        let n = left.min(chunk.len());
        stream.write_all(&chunk[..n]).expect("write");
        left -= n;
    }
    stream
        .shutdown(std::net::Shutdown::Write)
        .expect("shutdown");
    let mut ack = [0u8; 1];
    stream.read_exact(&mut ack).expect("ack");
}

fn link_bulk(c: &mut Criterion) {
    let sink = server(true);
    let through_link = link(sink);
    let socat = Socat::start(sink);
    let chunk = vec![7u8; 256 * 1024];
    let mut group = c.benchmark_group("link_bulk");
    group.throughput(Throughput::Bytes(BULK as u64));
    group.sample_size(20);
    for (name, addr) in [("direct", sink), ("link", through_link), ("socat", socat.1)] {
        group.bench_function(name, |b| b.iter(|| bulk_once(addr, &chunk)));
    }
    group.finish();
}

fn link_round_trip(c: &mut Criterion) {
    let echo = server(false);
    let through_link = link(echo);
    let socat = Socat::start(echo);
    let mut group = c.benchmark_group("link_round_trip");
    for (name, addr) in [("direct", echo), ("link", through_link), ("socat", socat.1)] {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let message = [1u8; MESSAGE];
        let mut answer = [0u8; MESSAGE];
        group.bench_function(name, |b| {
            b.iter(|| {
                stream.write_all(&message).expect("write");
                stream.read_exact(&mut answer).expect("echo");
            });
        });
    }
    group.finish();
}

fn virtual_time(c: &mut Criterion) {
    let catalog =
        Catalog::from_json("examples/replicated_kv/network.json", run::CATALOG).expect("catalog");
    let mut group = c.benchmark_group("virtual_time");
    group.sample_size(10);
    group.bench_function("replicated_kv_leader_crash_1000_writes", |b| {
        b.iter_custom(|iterations| {
            let mut wall = Duration::ZERO;
            for _ in 0..iterations {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .start_paused(true)
                    .build()
                    .expect("runtime");
                let scenario = catalog.network("leader-crash").expect("scenario");
                let started = Instant::now();
                let virtual_elapsed = runtime.block_on(async {
                    let begun = tokio::time::Instant::now();
                    let (_, summary) = run::run(scenario, 1000, Some(Seed::new(1)))
                        .await
                        .expect("run");
                    assert!(summary.converged && summary.lost_acknowledged_writes == 0);
                    (begun.elapsed(), summary.to_json_line())
                });
                let (virtual_elapsed, summary) = virtual_elapsed;
                let took = started.elapsed();
                wall += took;
                println!(
                    "virtual_time: {:.1} virtual s in {:.3} wall s = {:.0}x; {summary}",
                    virtual_elapsed.as_secs_f64(),
                    took.as_secs_f64(),
                    virtual_elapsed.as_secs_f64() / took.as_secs_f64()
                );
            }
            wall
        });
    });
    group.finish();
}

criterion_group!(benches, link_bulk, link_round_trip, virtual_time);
criterion_main!(benches);
