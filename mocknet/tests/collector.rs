//! The OTLP/HTTP JSON collector route.

use std::time::Duration;

use steadfast_determinism::{TestContext, deterministic_test};
use steadfast_mocknet::{MockNet, OTLP_COLLECTOR_ROUTE};
use steadfast_tracing_core::otlp::{Resource, encode_request};
use steadfast_tracing_core::span::{Span, SpanKind, Status, system_time_from_unix_nanos};
use steadfast_tracing_core::{SpanId, TraceId};

use crate::support::{client, one_route};

async fn start_with_collector(faults: &str) -> MockNet {
    MockNet::builder()
        .scenario(one_route("ok", faults).scenario("s").expect("scenario"))
        .otlp_collector(true)
        .start()
        .await
        .expect("starts")
}

fn trace() -> Vec<Span> {
    let trace = TraceId::from_u128(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c);
    let start = system_time_from_unix_nanos(1_767_225_600_000_000_000);
    let root = Span::new(trace, SpanId::from_u64(1), "checkout")
        .with_kind(SpanKind::Server)
        .with_times(start, start + Duration::from_millis(40))
        .with_attribute("order.items", 3);
    let charge = Span::new(trace, SpanId::from_u64(2), "POST /v1/charges")
        .with_parent(SpanId::from_u64(1))
        .with_kind(SpanKind::Client)
        .with_times(start, start + Duration::from_millis(25))
        .with_status(Status::error("declined"));
    vec![root, charge]
}

#[deterministic_test]
async fn exported_spans_are_decoded_into_tracing_core_spans(_ctx: &TestContext) {
    // Faults on the scenario never touch the collector.
    let net = start_with_collector(r#"[{"kind": "reset"}]"#).await;
    let spans = trace();

    let response = client()
        .post(format!("{}/v1/traces", net.uri()))
        .header("content-type", "application/json")
        .body(encode_request(&Resource::new("checkout"), &spans))
        .send()
        .await
        .expect("accepted");

    assert_eq!(response.status(), 200);
    assert_eq!(net.spans(), spans);
    net.assert_called(OTLP_COLLECTOR_ROUTE, 1);
}

#[deterministic_test]
async fn undecodable_export_gets_400_naming_the_field(_ctx: &TestContext) {
    let net = start_with_collector("[]").await;

    let response = client()
        .post(format!("{}/v1/traces", net.uri()))
        .body(r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": 7}]}]}]}"#)
        .send()
        .await
        .expect("answered");
    let status = response.status();
    let text = response.text().await.expect("body");

    assert_eq!(status, 400);
    assert_eq!(
        text,
        "invalid OTLP JSON export: resourceSpans[0].scopeSpans[0].spans[0].traceId: not a string"
    );
    assert!(net.spans().is_empty());
}

#[deterministic_test]
async fn without_the_collector_traces_are_ordinary_unmatched_requests(_ctx: &TestContext) {
    let net = MockNet::builder()
        .scenario(one_route("ok", "[]").scenario("s").expect("scenario"))
        .start()
        .await
        .expect("starts");

    let response = client()
        .post(format!("{}/v1/traces", net.uri()))
        .body("{}")
        .send()
        .await
        .expect("answered");

    assert_eq!(response.status(), 404);
    assert_eq!(net.journal()[0].route, None);
}
