//! The same seed gives the same faults, always; different seeds give different ones.

use steadfast_determinism::{Seed, TestContext, deterministic_test};
use steadfast_mocknet::{ErrorKind, FaultKind, MockNet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::catalog;

const CATALOG: &str = r#"{"scenarios": {"s": {"routes": [
    {"name": "r", "path": "/r", "response": {"text": "ok"},
     "faults": [{"kind": "status", "status": 503, "probability": 0.2},
                {"kind": "jitter-lognormal", "p50_ms": 5, "p99_ms": 50, "probability": 0.5}]}
]}}}"#;

/// Sends 1,000 pipelined-free requests on one keep-alive connection and returns the faults of
/// each as recorded in the journal.
async fn fault_sequence(seed: Option<Seed>) -> Vec<Vec<FaultKind>> {
    let scenario = catalog(CATALOG).scenario("s").expect("scenario");
    let builder = MockNet::builder().scenario(scenario);
    let builder = match seed {
        Some(seed) => builder.seed(seed),
        None => builder,
    };
    let net = builder.start().await.expect("starts");
    let mut stream = tokio::net::TcpStream::connect(net.addr())
        .await
        .expect("connects");
    let mut buf = vec![0u8; 4096];
    for _ in 0..1000 {
        stream
            .write_all(b"GET /r HTTP/1.1\r\nhost: t\r\n\r\n")
            .await
            .expect("sent");
        // Every response here has a short head and at most "ok" as body; read until its end.
        let mut got = Vec::new();
        loop {
            let n = stream.read(&mut buf).await.expect("read");
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len: usize = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length: "))
                    .and_then(|len| len.parse().ok())
                    .expect("content-length");
                if body.len() >= len {
                    break;
                }
            }
        }
    }
    net.journal()
        .into_iter()
        .map(|entry| entry.faults)
        .collect()
}

#[deterministic_test]
async fn same_seed_gives_identical_fault_sequences_over_1000_requests(_ctx: &TestContext) {
    let first = fault_sequence(Some(Seed::new(42))).await;
    let second = fault_sequence(Some(Seed::new(42))).await;

    assert_eq!(first.len(), 1000);
    assert_eq!(first, second);
    let statuses = first
        .iter()
        .filter(|faults| faults.contains(&FaultKind::Status))
        .count();
    assert!(
        (150..250).contains(&statuses),
        "{statuses} of 1000 with p = 0.2"
    );
}

#[deterministic_test]
async fn different_seeds_give_different_fault_sequences(_ctx: &TestContext) {
    let first = fault_sequence(Some(Seed::new(1))).await;
    let second = fault_sequence(Some(Seed::new(2))).await;

    assert_ne!(first, second);
}

#[deterministic_test]
async fn test_seed_drives_faults_when_no_seed_is_given(ctx: &TestContext) {
    let from_context = fault_sequence(None).await;
    let explicit = fault_sequence(Some(ctx.fork_rng("mocknet").seed())).await;

    assert_eq!(from_context, explicit);
}

#[test]
fn starting_outside_a_test_without_a_seed_is_an_error() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let scenario = catalog(CATALOG).scenario("s").expect("scenario");

    let err = runtime
        .block_on(MockNet::builder().scenario(scenario).start())
        .expect_err("no seed anywhere");

    assert_eq!(err.kind(), ErrorKind::NoSeed);
    assert_eq!(
        err.to_string(),
        "no seed for fault draws of scenario `s`: start the server inside a \
         #[deterministic_test] or give one with MockNetBuilder::seed"
    );
}
