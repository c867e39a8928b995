//! Latencies, client timeouts and Retry-After run on the test's virtual clock.

use std::time::Duration;

use steadfast_determinism::{TestContext, deterministic_test};
use tokio::time::Instant;

use crate::support::{CLIENT_TIMEOUT, client, get_route_text, one_route, start};

#[deterministic_test]
async fn three_second_latency_resolves_at_exactly_three_virtual_seconds(_ctx: &TestContext) {
    let net = start(&one_route("ok", r#"[{"kind": "latency", "ms": 3000}]"#)).await;

    // Real time is read on another thread: with the `seal` feature this thread's std clocks
    // follow the test's virtual time too.
    let real_now = || std::thread::spawn(std::time::Instant::now).join().unwrap();
    let wall = real_now();
    let started = Instant::now();
    let body = get_route_text(&net).await;

    assert_eq!(body, "ok");
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    let took = real_now().duration_since(wall);
    assert!(took < Duration::from_secs(2), "took {took:?} of wall time");
}

#[deterministic_test]
async fn client_timeout_fires_at_its_deadline_not_before(_ctx: &TestContext) {
    let net = start(&one_route("ok", r#"[{"kind": "latency", "ms": 60000}]"#)).await;

    let started = Instant::now();
    let err = client()
        .get(format!("{}/r", net.uri()))
        .send()
        .await
        .expect_err("latency beyond the timeout");

    assert!(err.is_timeout(), "{err}");
    assert_eq!(started.elapsed(), CLIENT_TIMEOUT);
}

#[deterministic_test]
async fn latency_just_under_the_timeout_succeeds(_ctx: &TestContext) {
    let net = start(&one_route("ok", r#"[{"kind": "latency", "ms": 9999}]"#)).await;

    let started = Instant::now();
    let response = client()
        .get(format!("{}/r", net.uri()))
        .send()
        .await
        .expect("answered 1 ms before the timeout");

    assert_eq!(response.status(), 200);
    assert_eq!(started.elapsed(), Duration::from_millis(9999));
}

#[deterministic_test]
async fn journal_records_virtual_arrival_times(_ctx: &TestContext) {
    let net = start(&one_route("ok", "[]")).await;

    tokio::time::sleep(Duration::from_secs(5)).await;
    client()
        .get(format!("{}/r", net.uri()))
        .send()
        .await
        .expect("first");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    client()
        .get(format!("{}/r", net.uri()))
        .send()
        .await
        .expect("second");

    let at: Vec<Duration> = net.journal().iter().map(|entry| entry.at).collect();
    assert_eq!(at, [Duration::from_secs(5), Duration::from_millis(6500)]);
}

#[deterministic_test]
async fn wait_for_requests_times_out_on_virtual_time(_ctx: &TestContext) {
    let net = start(&one_route("ok", "[]")).await;

    let started = Instant::now();
    let err = net
        .wait_for_requests(1, Duration::from_secs(90))
        .await
        .expect_err("nobody calls");

    assert_eq!(started.elapsed(), Duration::from_secs(90));
    assert_eq!(err.to_string(), "waited 90s for 1 requests but saw 0");
}

#[deterministic_test]
async fn wait_for_requests_returns_once_enough_have_arrived(_ctx: &TestContext) {
    let net = start(&one_route("ok", "[]")).await;
    let uri = net.uri();
    let caller = tokio::spawn(async move {
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            client()
                .get(format!("{uri}/r"))
                .send()
                .await
                .expect("answered");
        }
    });

    let started = Instant::now();
    let journal = net
        .wait_for_requests(3, Duration::from_secs(60))
        .await
        .expect("three requests");

    assert_eq!(journal.len(), 3);
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    caller.await.expect("caller finished");
}

#[tokio::test]
async fn outside_paused_time_latency_is_real_time() {
    let scenario = one_route("ok", r#"[{"kind": "latency", "ms": 30}]"#)
        .scenario("s")
        .expect("scenario");
    let net = steadfast_mocknet::MockNet::builder()
        .scenario(scenario)
        .seed(steadfast_determinism::Seed::new(9))
        .start()
        .await
        .expect("starts");

    let wall = std::time::Instant::now();
    client()
        .get(format!("{}/r", net.uri()))
        .send()
        .await
        .expect("answered");

    assert!(
        wall.elapsed() >= Duration::from_millis(30),
        "{:?}",
        wall.elapsed()
    );
}
