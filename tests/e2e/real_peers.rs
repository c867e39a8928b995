//! Real peers under virtual time: a real PostgreSQL server (`STEADFAST_TEST_POSTGRES`, which
//! `.ci/run` starts) and an HTTP service in another process, under `clock = "real-peers"`.
//! Under plain `clock = "virtual"` every one of these timed out at once: a runtime waiting on
//! another process's socket looks idle, and tokio's paused clock jumps to the timeout.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use steadfast::determinism::{Clock, TestContext};
use steadfast::deterministic_test;

const POSTGRES_ENV: &str = "STEADFAST_TEST_POSTGRES";

async fn postgres() -> tokio_postgres::Client {
    let config = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
        panic!(
            "steadfast: set {POSTGRES_ENV} to a PostgreSQL connection string such as \
             \"host=127.0.0.1 port=54329 user=postgres\" (.ci/run starts that server)"
        )
    });
    let (client, connection) = tokio_postgres::connect(&config, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|err| panic!("steadfast: cannot connect to {config:?}: {err}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// `tests/e2e/peers/http_server.py`, running in its own process until dropped.
struct HttpService {
    child: Child,
    base: String,
}

impl HttpService {
    fn start() -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/e2e/peers/http_server.py"
        );
        let mut child = Command::new("python3")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("steadfast: cannot start python3 {script}: {err}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the HTTP service: {line:?}"))
            .to_owned();
        Self { child, base }
    }

    fn url(&self, delay_ms: u64) -> String {
        format!("{}/delay?ms={delay_ms}", self.base)
    }
}

impl Drop for HttpService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Real monotonic time, read on another thread (this one is sealed).
fn real_now() -> Instant {
    std::thread::spawn(Instant::now).join().unwrap()
}

#[deterministic_test(clock = "real-peers")]
async fn a_half_second_query_inside_a_five_second_timeout_takes_no_virtual_time(ctx: &TestContext) {
    let client = postgres().await;
    let before = (ctx.clock().monotonic(), Instant::now());
    let row = tokio::time::timeout(
        Duration::from_secs(5),
        client.query_one("SELECT pg_sleep(0.5)::text", &[]),
    )
    .await
    .expect("the query answered within its timeout")
    .unwrap();
    assert_eq!(row.get::<_, String>(0), "");
    assert_eq!(ctx.clock().monotonic(), before.0);
    assert_eq!(Instant::now(), before.1);
}

#[deterministic_test(clock = "real-peers")]
async fn a_hundred_queries_with_thirty_second_timeouts_all_answer(ctx: &TestContext) {
    let client = postgres().await;
    let before = ctx.clock().monotonic();
    for i in 0..100_i32 {
        let row = tokio::time::timeout(
            Duration::from_secs(30),
            client.query_one("SELECT $1::int + 1", &[&i]),
        )
        .await
        .expect("no query timed out")
        .unwrap();
        assert_eq!(row.get::<_, i32>(0), i + 1);
    }
    assert_eq!(ctx.clock().monotonic(), before);
}

#[deterministic_test(clock = "real-peers")]
async fn a_slow_endpoint_answers_inside_the_client_timeout(ctx: &TestContext) {
    let service = HttpService::start();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let before = ctx.clock().monotonic();
    let body = client
        .get(service.url(1500))
        .send()
        .await
        .expect("answered before the 10 s timeout")
        .text()
        .await
        .unwrap();
    assert_eq!(body, "ok");
    assert_eq!(ctx.clock().monotonic(), before);
}

#[deterministic_test(clock = "real-peers")]
async fn a_hundred_quick_requests_with_one_second_timeouts_all_answer(ctx: &TestContext) {
    let service = HttpService::start();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    for _ in 0..100 {
        let response = client.get(service.url(0)).send().await.expect("no timeout");
        assert_eq!(response.status(), 200);
    }
    assert_eq!(ctx.clock().monotonic(), Duration::ZERO);
}

#[deterministic_test(clock = "real-peers")]
async fn a_background_interval_does_not_tick_while_a_query_runs(_ctx: &TestContext) {
    let client = postgres().await;
    let ticker = tokio::spawn(async {
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        let mut ticks = 0_u32;
        loop {
            interval.tick().await;
            ticks += 1;
            if ticks > 10 {
                return ticks;
            }
        }
    });
    client
        .query_one("SELECT pg_sleep(0.5)::text", &[])
        .await
        .unwrap();
    assert!(!ticker.is_finished());
    ticker.abort();
    // The first tick is immediate; no virtual second passed during the half-second query.
    assert!(ticker.await.unwrap_err().is_cancelled());
}

#[deterministic_test(seed = 0x5eed, clock = "real-peers", check_determinism = true)]
async fn clock_readings_repeat_when_every_answer_comes_within_the_grace(ctx: &TestContext) {
    let client = postgres().await;
    for _ in 0..5 {
        let jitter = Duration::from_millis(ctx.rng().below(1000));
        tokio::time::sleep(jitter).await;
        client.query_one("SELECT 1", &[]).await.unwrap();
        let _ = ctx.clock().now();
    }
}

/// Accepts connections on another thread and never answers them.
fn hung_peer() -> std::net::SocketAddr {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        sender.send(listener.local_addr().unwrap()).unwrap();
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept() {
            held.push(stream);
        }
    });
    receiver.recv().unwrap()
}

#[deterministic_test(clock = "real-peers", grace_ms = 300)]
async fn a_peer_that_never_answers_still_lets_a_one_second_timeout_fire(ctx: &TestContext) {
    let peer = hung_peer();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let real_started = real_now();
    let err = client
        .get(format!("http://{peer}/"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(ctx.clock().monotonic(), Duration::from_secs(1));
    // The grace, not the timeout's virtual second, is what it costs in real time.
    assert!(real_now().duration_since(real_started) < Duration::from_secs(10));
}

const CHILD: &str = "STEADFAST_E2E_SLOW_PEER_CHILD";

#[deterministic_test(clock = "real-peers", grace_ms = 200)]
async fn probe_times_out_against_a_hung_peer(_ctx: &TestContext) {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let peer = hung_peer();
    eprintln!("PROBE peer={peer}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let result = client.get(format!("http://{peer}/")).send().await;
    panic!("the hung peer's request ended: {}", result.is_ok());
}

#[test]
fn the_failure_names_the_peer_that_did_not_answer_within_the_grace() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "real_peers::probe_times_out_against_a_hung_peer",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    let peer = stderr
        .lines()
        .find_map(|line| line.strip_prefix("PROBE peer="))
        .unwrap_or_else(|| panic!("no peer line in:\n{stderr}"));
    let note = stderr
        .lines()
        .find(|line| line.starts_with("steadfast: note: "))
        .unwrap_or_else(|| panic!("no note in:\n{stderr}"));
    assert!(
        note.starts_with(&format!(
            "steadfast: note: virtual time moved on while a real peer had not answered within \
             the grace: {peer} had not answered after "
        )),
        "{note}"
    );
    assert!(note.contains("(grace 0.200 s)"), "{note}");
    assert!(note.contains("not the seed"), "{note}");
    let failure = stderr
        .lines()
        .find(|line| line.starts_with("steadfast: test "))
        .unwrap_or_else(|| panic!("no failure line in:\n{stderr}"));
    assert!(failure.contains("with seed 0x"), "{failure}");
}
