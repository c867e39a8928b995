//! Criterion benchmark of steadfast-mocknet against wiremock, in the same run.
//!
//! * `no_fault_route`: one keep-alive reqwest client sends `GET /health` to a route with no
//!   faults, served by a `MockNet` on the client's runtime and by a plain `wiremock::MockServer`
//!   with the same route. Target: mocknet at least as fast (time per request ratio <= 1.0).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use steadfast::determinism::Seed;
use steadfast::mocknet::{Catalog, MockNet};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CATALOG: &str = r#"{"scenarios": {"bench": {"routes": [
    {"name": "health", "method": "GET", "path": "/health", "response": {"text": "ok"}}
]}}}"#;

/// Sends one request and reads the whole body, as a test would.
async fn get(client: &reqwest::Client, url: &str) -> usize {
    let response = client.get(url).send().await.expect("answered");
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("body").len()
}

fn no_fault_route(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::new();
    let scenario = Catalog::from_json("bench.json", CATALOG)
        .and_then(|catalog| catalog.scenario("bench"))
        .expect("catalog");
    let (mocknet, wiremock) = runtime.block_on(async {
        let mocknet = MockNet::builder()
            .scenario(scenario)
            .seed(Seed::new(1))
            .start()
            .await
            .expect("mocknet starts");
        let wiremock = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/health"))
            .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
            .mount(&wiremock)
            .await;
        (mocknet, wiremock)
    });

    let mut group = c.benchmark_group("no_fault_route");
    group.throughput(Throughput::Elements(1));
    let url = format!("{}/health", mocknet.uri());
    group.bench_function("mocknet", |b| {
        b.iter(|| black_box(runtime.block_on(get(&client, &url))));
    });
    let url = format!("{}/health", wiremock.uri());
    group.bench_function("wiremock", |b| {
        b.iter(|| black_box(runtime.block_on(get(&client, &url))));
    });
    group.finish();
}

criterion_group!(benches, no_fault_route);
criterion_main!(benches);
