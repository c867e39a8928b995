//! Criterion benchmark of steadfast-mocknet against wiremock, in the same run.
//!
//! * `no_fault_route`: one keep-alive reqwest client sends `GET /health` to a route with no
//!   faults, served by a `MockNet` on the client's runtime and by a plain `wiremock::MockServer`
//!   with the same route. Target: mocknet at least as fast (time per request ratio <= 1.0).
//! * `mount_100_serve_last`: reset the server, mount 100 mocks (`GET /r0` … `GET /r99`, with
//!   wiremock's own `method` and `path` matchers) and send one request matching the last, on
//!   `MockNet` with mocknet's `ResponseTemplate`, on `MockNet` with wiremock's (rendered by
//!   wiremock's own server), and on `wiremock::MockServer`. Target: mocknet no slower than
//!   wiremock.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use steadfast::determinism::Seed;
use steadfast::mocknet::{self, Catalog, MockNet};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Mocks mounted per iteration of `mount_100_serve_last`.
const MOCKS: usize = 100;

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

/// Mounts [`MOCKS`] mocks on `net` answering with `template`.
async fn mount_on_mocknet<R: wiremock::Respond + Clone + 'static>(net: &MockNet, template: &R) {
    for i in 0..MOCKS {
        mocknet::Mock::given(method("GET"))
            .and(path(format!("/r{i}")))
            .respond_with(template.clone())
            .mount(net)
            .await;
    }
}

fn mount_100_serve_last(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::new();
    let (net, wiremock) = runtime.block_on(async {
        let net = MockNet::builder()
            .seed(Seed::new(1))
            .start()
            .await
            .expect("mocknet starts");
        (net, MockServer::start().await)
    });
    let last = format!("/r{}", MOCKS - 1);

    let mut group = c.benchmark_group("mount_100_serve_last");
    let ours = mocknet::ResponseTemplate::new(200).set_body_string("ok");
    let url = format!("{}{last}", net.uri());
    group.bench_function("mocknet", |b| {
        b.iter(|| {
            runtime.block_on(async {
                net.reset().await;
                mount_on_mocknet(&net, &ours).await;
                black_box(get(&client, &url).await)
            })
        });
    });
    let theirs = ResponseTemplate::new(200).set_body_string("ok");
    group.bench_function("mocknet_wiremock_template", |b| {
        b.iter(|| {
            runtime.block_on(async {
                net.reset().await;
                mount_on_mocknet(&net, &theirs).await;
                black_box(get(&client, &url).await)
            })
        });
    });
    let url = format!("{}{last}", wiremock.uri());
    group.bench_function("wiremock", |b| {
        b.iter(|| {
            runtime.block_on(async {
                wiremock.reset().await;
                for i in 0..MOCKS {
                    Mock::given(method("GET"))
                        .and(path(format!("/r{i}")))
                        .respond_with(theirs.clone())
                        .mount(&wiremock)
                        .await;
                }
                black_box(get(&client, &url).await)
            })
        });
    });
    group.finish();
}

criterion_group!(benches, no_fault_route, mount_100_serve_last);
criterion_main!(benches);
