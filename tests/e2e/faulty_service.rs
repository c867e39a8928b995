//! The `faulty_service` example's router on a test's runtime, checked both ways: its own
//! metrics (steadfast::metrics) under normal and faulty requests (steadfast::tower), and its
//! metrics export accepted by MockNet's `/v1/metrics` collector.

use std::net::SocketAddr;
use std::time::Duration;

use steadfast::determinism::TestContext;
use steadfast::deterministic_test;
use steadfast::metrics::{Captured, counter, gauge, histogram};
use steadfast::mocknet::{Catalog, MockNet, OTLP_COLLECTOR_ROUTE};
use steadfast::tower::{Fault, FaultLayer, Trigger};
use steadfast::tracing_core::otlp::Resource;
use steadfast::tracing_core::otlp_metrics::{MetricData, Number};
use steadfast::tracing_core::span::KeyValue;

#[path = "../../examples/faulty_service/app.rs"]
mod app;

async fn serve(faults: FaultLayer) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app::app(faults)).await.unwrap() });
    addr
}

#[deterministic_test]
async fn the_services_own_metrics_are_exact_on_virtual_time(_ctx: &TestContext) {
    steadfast::metrics::install().unwrap();
    let addr = serve(FaultLayer::builder().build().unwrap()).await;
    let client = reqwest::Client::new();
    let mut calls = Vec::new();
    for tenant in ["a", "bb", "a", "cccc", "a"] {
        let url = format!("http://{addr}/orders/{tenant}");
        let client = client.clone();
        calls.push(tokio::spawn(async move {
            client.get(url).send().await.unwrap().status()
        }));
    }
    for call in calls {
        assert_eq!(call.await.unwrap(), 200);
    }

    counter(app::EVENTS_EMITTED)
        .with_label("tenant", "a")
        .assert_eq(3);
    counter(app::EVENTS_EMITTED).assert_eq(3 + 2 + 4);
    // 20 ms per letter on the paused clock: 20, 40, 20, 80, 20 ms.
    let durations = histogram(app::HANDLER_DURATION);
    assert_eq!(durations.p95().value().unwrap(), 0.08);
    durations.p50().assert_below(Duration::from_millis(21));
    gauge(app::IN_FLIGHT).assert_never_above(5.0);
    gauge(app::IN_FLIGHT).assert_eq(0.0);
}

#[deterministic_test]
async fn injected_faults_never_reach_the_handler_or_its_metrics(_ctx: &TestContext) {
    steadfast::metrics::install().unwrap();
    let faults = FaultLayer::builder().build().unwrap();
    let addr = serve(faults.clone()).await;
    let client = reqwest::Client::new();
    let failed = client
        .get(format!("http://{addr}/orders/acme"))
        .header("x-steadfast-fault", "fail")
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 503);
    let aborted = client
        .get(format!("http://{addr}/orders/acme?steadfast_fault=abort"))
        .send()
        .await;
    assert!(aborted.is_err(), "abort closes the connection: {aborted:?}");

    let started = tokio::time::Instant::now();
    let late = client
        .get(format!("http://{addr}/orders/acme"))
        .header("x-steadfast-fault", "delay:1000")
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 200);
    // The second of delay comes before the handler's own 80 ms, which the histogram measures.
    assert!(started.elapsed() >= Duration::from_millis(1080));
    histogram(app::HANDLER_DURATION).max().assert_below(0.081);
    counter(app::EVENTS_EMITTED)
        .with_label("tenant", "acme")
        .assert_eq(4);

    let journal = faults.journal().entries();
    let seen: Vec<(Fault, Trigger)> = journal.iter().map(|e| (e.fault, e.trigger)).collect();
    assert_eq!(
        seen,
        vec![
            (Fault::fail(), Trigger::Header),
            (Fault::abort(), Trigger::Query),
            (Fault::delay(Duration::from_secs(1)), Trigger::Header)
        ]
    );
}

#[deterministic_test]
async fn the_metrics_export_reaches_the_mocknet_collector(_ctx: &TestContext) {
    steadfast::metrics::install().unwrap();
    let addr = serve(FaultLayer::disabled()).await;
    let client = reqwest::Client::new();
    for tenant in ["a", "bb"] {
        let status = client
            .get(format!("http://{addr}/orders/{tenant}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    let catalog = Catalog::from_json(
        "collector.json",
        r#"{"scenarios": {"collector": {"routes": []}}}"#,
    )
    .unwrap();
    let collector = MockNet::builder()
        .scenario(catalog.scenario("collector").unwrap())
        .otlp_collector(true)
        .start()
        .await
        .unwrap();
    let body = Captured::current()
        .unwrap()
        .otlp_json(&Resource::new("faulty-service"));
    let url = format!("{}/v1/metrics", collector.uri());
    let answer = client.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let broken = client
        .post(&url)
        .body(r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x"}]}]}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);

    let journal = collector.journal();
    assert!(
        journal
            .iter()
            .all(|e| e.route.as_deref() == Some(OTLP_COLLECTOR_ROUTE))
    );
    let metrics = collector.metrics();
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [app::EVENTS_EMITTED, app::IN_FLIGHT, app::HANDLER_DURATION],
        "the broken export adds nothing"
    );
    let MetricData::Sum {
        points, monotonic, ..
    } = &metrics[0].data
    else {
        panic!("the counter is no sum: {:?}", metrics[0]);
    };
    assert!(*monotonic);
    let per_tenant: Vec<(Vec<KeyValue>, Number)> = points
        .iter()
        .map(|p| (p.attributes.clone(), p.value))
        .collect();
    assert_eq!(
        per_tenant,
        [
            (vec![KeyValue::new("tenant", "a")], Number::Int(1)),
            (vec![KeyValue::new("tenant", "bb")], Number::Int(2))
        ]
    );
    let MetricData::Histogram { points, .. } = &metrics[2].data else {
        panic!("the durations are no histogram: {:?}", metrics[2]);
    };
    // 20 ms per letter of the tenant, on virtual time: exact.
    assert_eq!((points[0].count, points[0].max), (2, Some(0.04)));
    assert!((points[0].sum - 0.06).abs() < 1e-12, "{}", points[0].sum);
    assert!(collector.spans().is_empty(), "metrics are no spans");
}
