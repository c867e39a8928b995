//! A third-party retry policy that reads `SystemTime::now()` and `rand::rng()` itself
//! (retry-policies, behind reqwest-retry), against an always-500 MockNet route: on sealed
//! virtual time it makes exactly the requests it makes on real time.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use retry_policies::policies::ExponentialBackoff;
use retry_policies::{Jitter, RetryDecision, RetryPolicy};
use steadfast::determinism::seal::Seal;
use steadfast::determinism::{Seed, TestClock, TestContext};
use steadfast::mocknet::{Catalog, MockNet};

const CATALOG: &str = r#"{"scenarios": {"always-500": {"routes": [
    {"name": "flaky", "method": "GET", "path": "/flaky", "response": {"status": 500}}
]}}}"#;

/// reqwest-retry's loop: request, ask the policy, sleep until `execute_after` on tokio's clock.
/// Returns how many requests were made.
async fn retry_until_the_policy_gives_up(jitter: Jitter, seed: Seed) -> (usize, Vec<Duration>) {
    let catalog = Catalog::from_json("catalog.json", CATALOG).unwrap();
    let net = MockNet::builder()
        .scenario(catalog.scenario("always-500").unwrap())
        .seed(seed)
        .start()
        .await
        .unwrap();
    let policy = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(100), Duration::from_secs(1))
        .jitter(jitter)
        .build_with_total_retry_duration(Duration::from_secs(2));
    let client = reqwest::Client::new();
    let started = SystemTime::now();
    let mut waits = Vec::new();
    for past_retries in 0.. {
        let status = client
            .get(format!("{}/flaky", net.uri()))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 500);
        match policy.should_retry(started, past_retries) {
            RetryDecision::Retry { execute_after } => {
                let wait = execute_after
                    .duration_since(SystemTime::now())
                    .unwrap_or_default();
                waits.push(wait);
                tokio::time::sleep(wait).await;
            }
            RetryDecision::DoNotRetry => break,
        }
    }
    (net.journal().len(), waits)
}

/// One sealed run on virtual time, as `#[deterministic_test]` runs it: a fresh thread, a paused
/// current-thread runtime, the context's clock following it.
fn on_sealed_virtual_time(jitter: Jitter, seed: Seed) -> (usize, Vec<Duration>) {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
            let ctx = Arc::new(TestContext::with_clock(
                "e2e::sealed",
                seed,
                TestClock::tokio(start),
            ));
            let seal = Seal::new().enter(&ctx).unwrap();
            seal.follow(retry_until_the_policy_gives_up(jitter, seed))
                .await
        })
    })
    .join()
    .unwrap()
}

#[test]
fn a_total_duration_policy_makes_as_many_requests_on_virtual_time_as_on_real_time() {
    let real = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(retry_until_the_policy_gives_up(Jitter::None, Seed::new(1)));
    let sealed = on_sealed_virtual_time(Jitter::None, Seed::new(1));
    // 0, 0.1, 0.3, 0.7, 1.5 and 2.5 s: the policy stops once 2 s have passed.
    assert_eq!(sealed.0, real.0);
    assert_eq!(sealed.0, 6);
    let exact: Vec<Duration> = [100, 200, 400, 800, 1000]
        .map(Duration::from_millis)
        .to_vec();
    assert_eq!(sealed.1, exact, "virtual waits are exact");
}

#[test]
fn the_policy_s_jitter_replays_with_the_seed() {
    let first = on_sealed_virtual_time(Jitter::Full, Seed::new(7));
    assert_eq!(on_sealed_virtual_time(Jitter::Full, Seed::new(7)), first);
    assert_ne!(
        on_sealed_virtual_time(Jitter::Full, Seed::new(8)).1,
        first.1
    );
}
