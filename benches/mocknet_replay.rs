//! Criterion benchmark of replaying a recorded scenario against the same routes written by hand.
//!
//! * `replay_1000_routes`: 1,000 `GET /items/{i}` routes; one keep-alive reqwest client sends
//!   `GET /items/999`, which matches only the last route, so every route's matchers are tried
//!   first. `recorded` is the scenario `steadfast::mocknet::record` wrote from that traffic
//!   (served by the hand-written one); `hand_written` is the catalog it was recorded from.
//!   Target: recorded within 10 % of hand-written.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use steadfast::determinism::Seed;
use steadfast::mocknet::record::{RecordMode, Recorder};
use steadfast::mocknet::{Catalog, MockNet};

const ROUTES: usize = 1_000;

fn hand_written() -> String {
    let routes: Vec<String> = (0..ROUTES)
        .map(|i| {
            format!(
                r#"{{"name": "item-{i}", "method": "GET", "path": "/items/{i}",
                    "response": {{"json": {{"id": {i}, "name": "item {i}"}}}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"scenarios": {{"items": {{"routes": [{}]}}}}}}"#,
        routes.join(",")
    )
}

/// Sends one request and reads the whole body, as a test would.
async fn get(client: &reqwest::Client, url: &str) -> usize {
    let response = client.get(url).send().await.expect("answered");
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("body").len()
}

fn replay_1000_routes(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::new();
    let written = Catalog::from_json("hand-written.json", &hand_written())
        .and_then(|catalog| catalog.scenario("items"))
        .expect("catalog");
    let out = std::env::temp_dir().join(format!(
        "steadfast-bench-recorded-{}.json",
        std::process::id()
    ));
    let (recorded, written) = runtime.block_on(async {
        let upstream = MockNet::builder()
            .scenario(written.clone())
            .seed(Seed::new(1))
            .start()
            .await
            .expect("upstream starts");
        let recording = Recorder::new(upstream.uri(), &out, "items")
            .mode(RecordMode::All)
            .start()
            .await
            .expect("recorder starts");
        for i in 0..ROUTES {
            get(&client, &format!("{}/items/{i}", recording.uri())).await;
        }
        recording.finish().await.expect("catalog written");
        let scenario = Catalog::from_file(&out)
            .and_then(|catalog| catalog.scenario("items"))
            .expect("recorded catalog");
        assert_eq!(scenario.route_names().count(), ROUTES);
        let start = |scenario| async {
            MockNet::builder()
                .scenario(scenario)
                .seed(Seed::new(1))
                .start()
                .await
                .expect("server starts")
        };
        (start(scenario).await, start(written).await)
    });
    let _ = std::fs::remove_file(&out);

    let mut group = c.benchmark_group("replay_1000_routes");
    group.throughput(Throughput::Elements(1));
    let last = ROUTES - 1;
    let url = format!("{}/items/{last}", recorded.uri());
    group.bench_function("recorded", |b| {
        b.iter(|| black_box(runtime.block_on(get(&client, &url))));
    });
    let url = format!("{}/items/{last}", written.uri());
    group.bench_function("hand_written", |b| {
        b.iter(|| black_box(runtime.block_on(get(&client, &url))));
    });
    group.finish();
}

criterion_group!(benches, replay_1000_routes);
criterion_main!(benches);
