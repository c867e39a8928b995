//! Every fault kind, as a real HTTP client sees it.

use std::io::ErrorKind;
use std::time::Duration;

use steadfast_determinism::{TestContext, deterministic_test};
use steadfast_mocknet::FaultKind;
use tokio::time::Instant;

use crate::support::{chain, client, get_route_text, io_kind, one_route, raw_exchange, start};

const GET_R: &[u8] = b"GET /r HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n";

#[deterministic_test]
async fn reset_reaches_the_client_as_connection_reset(_ctx: &TestContext) {
    let net = start(&one_route("ok", r#"[{"kind": "reset"}]"#)).await;

    let err = client()
        .get(format!("{}/r", net.uri()))
        .send()
        .await
        .expect_err("reset");
    let raw = raw_exchange(&net, GET_R).await.expect_err("reset");

    assert_eq!(
        io_kind(&err),
        Some(ErrorKind::ConnectionReset),
        "{}",
        chain(&err)
    );
    assert_eq!(raw.kind(), ErrorKind::ConnectionReset);
    assert_eq!(net.journal()[0].faults, [FaultKind::Reset]);
    assert_eq!(net.journal()[0].status, None);
}

#[deterministic_test]
async fn empty_response_closes_without_a_byte(_ctx: &TestContext) {
    let net = start(&one_route("ok", r#"[{"kind": "empty"}]"#)).await;

    let raw = raw_exchange(&net, GET_R).await.expect("clean close");
    let err = client()
        .get(format!("{}/r", net.uri()))
        .send()
        .await
        .expect_err("no response");

    assert!(raw.is_empty(), "received {raw:?}");
    assert!(
        err.is_request() && err.status().is_none(),
        "{}",
        chain(&err)
    );
}

#[deterministic_test]
async fn malformed_response_is_not_http(_ctx: &TestContext) {
    let net = start(&one_route("ok", r#"[{"kind": "malformed"}]"#)).await;

    let raw = raw_exchange(&net, GET_R).await.expect("garbage then close");
    let err = client()
        .get(format!("{}/r", net.uri()))
        .send()
        .await
        .expect_err("unparsable response");

    assert!(!raw.is_empty() && !raw.starts_with(b"HTTP/"), "{raw:?}");
    assert!(err.status().is_none(), "{}", chain(&err));
    assert_eq!(net.journal()[1].faults, [FaultKind::Malformed]);
}

#[deterministic_test]
async fn truncated_body_ends_in_unexpected_eof(_ctx: &TestContext) {
    let net = start(&one_route("0123456789", r#"[{"kind": "truncated"}]"#)).await;

    let raw = raw_exchange(&net, GET_R)
        .await
        .expect("short body then close");
    let response = client()
        .get(format!("{}/r", net.uri()))
        .send()
        .await
        .expect("head arrives whole");
    let status = response.status();
    let err = response.bytes().await.expect_err("body is short");

    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    assert!(head.contains("content-length: 10"), "{head}");
    assert_eq!(body, "01234");
    assert_eq!(status, 200);
    assert_eq!(net.journal()[1].status, Some(200));
    assert_eq!(net.journal()[1].faults, [FaultKind::Truncated]);
    assert!(err.is_body() || err.is_decode(), "{}", chain(&err));
    assert!(
        io_kind(&err) == Some(ErrorKind::UnexpectedEof) || chain(&err).contains("end of file"),
        "{}",
        chain(&err)
    );
}

#[deterministic_test]
async fn status_fault_replaces_the_response_with_retry_after(_ctx: &TestContext) {
    let net = start(&one_route(
        "ok",
        r#"[{"kind": "status", "status": 503, "retry_after_s": 7}]"#,
    ))
    .await;

    let response = client()
        .get(format!("{}/r", net.uri()))
        .send()
        .await
        .expect("a response");

    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "7");
    assert_eq!(net.journal()[0].status, Some(503));
}

#[deterministic_test]
async fn hang_is_ended_by_the_client_timeout_exactly_at_its_deadline(_ctx: &TestContext) {
    let net = start(&one_route("ok", r#"[{"kind": "hang"}]"#)).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");

    let started = Instant::now();
    let err = client
        .get(format!("{}/r", net.uri()))
        .send()
        .await
        .expect_err("hangs");

    assert!(err.is_timeout(), "{}", chain(&err));
    assert_eq!(started.elapsed(), Duration::from_secs(30));
}

#[deterministic_test]
async fn dribble_sends_the_body_in_paced_chunks(_ctx: &TestContext) {
    let net = start(&one_route(
        "abcdefghij",
        r#"[{"kind": "dribble", "chunk_bytes": 3, "interval_ms": 200}]"#,
    ))
    .await;

    let started = Instant::now();
    let body = get_route_text(&net).await;

    // Four chunks (3 + 3 + 3 + 1 bytes) with a pause between each pair.
    assert_eq!(body, "abcdefghij");
    assert_eq!(started.elapsed(), Duration::from_millis(600));
}

#[deterministic_test]
async fn bandwidth_limit_paces_the_body(_ctx: &TestContext) {
    let text = "x".repeat(1000);
    let net = start(&one_route(
        &text,
        r#"[{"kind": "bandwidth", "bytes_per_second": 100}]"#,
    ))
    .await;

    let started = Instant::now();
    let body = get_route_text(&net).await;

    // 1000 bytes at 100 B/s go out in 5-byte slices; the last slice needs no pause after it.
    assert_eq!(body.len(), 1000);
    assert_eq!(started.elapsed(), Duration::from_millis(9950));
}

#[deterministic_test]
async fn uniform_jitter_delays_within_its_bounds(_ctx: &TestContext) {
    let net = start(&one_route(
        "ok",
        r#"[{"kind": "jitter-uniform", "min_ms": 100, "max_ms": 300}]"#,
    ))
    .await;

    for _ in 0..5 {
        let started = Instant::now();
        client()
            .get(format!("{}/r", net.uri()))
            .send()
            .await
            .expect("response");
        let elapsed = started.elapsed();
        assert!(
            (Duration::from_millis(100)..=Duration::from_millis(301)).contains(&elapsed),
            "{elapsed:?}"
        );
    }
    assert!(
        net.journal()
            .iter()
            .all(|entry| entry.faults == [FaultKind::Jitter])
    );
}
