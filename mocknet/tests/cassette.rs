//! One test body run three ways by `Mode`: record the cassette, replay it, verify it.

use steadfast_determinism::{Seed, TestContext, deterministic_test};
use steadfast_mocknet::{Cassette, ErrorKind, Mode};

use crate::record::{BEARER, scratch};
use crate::support::client;
use crate::upstream::{USER_V1, Upstream};

/// The test body: what the code under test would do against `base`.
async fn fetch_user(base: &str) -> String {
    client()
        .get(format!("{base}/v1/users/1"))
        .header("authorization", format!("Bearer {BEARER}"))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("body")
}

async fn run(cassette: &Cassette, mode: Mode) -> (String, Result<(), steadfast_mocknet::Error>) {
    let run = cassette
        .clone()
        .start_in(mode)
        .await
        .expect("cassette starts");
    assert_eq!(run.mode(), mode);
    let body = fetch_user(run.uri()).await;
    (body, run.finish().await)
}

#[deterministic_test]
async fn a_cassette_records_replays_and_verifies_the_same_test(_ctx: &TestContext) {
    let upstream = Upstream::start().await;
    let file = scratch("cassette");
    let cassette = Cassette::new(&file, "users", upstream.uri()).seed(Seed::new(3));

    let recorded = run(&cassette, Mode::Record).await;
    let replayed = run(&cassette, Mode::Replay).await;
    let verified = run(&cassette, Mode::Verify).await;
    upstream.change();
    let (_, drifted) = run(&cassette, Mode::Verify).await;

    assert_eq!((recorded.0.as_str(), recorded.1.is_ok()), (USER_V1, true));
    assert_eq!((replayed.0.as_str(), replayed.1.is_ok()), (USER_V1, true));
    assert_eq!((verified.0.as_str(), verified.1.is_ok()), (USER_V1, true));
    let err = drifted.expect_err("the user endpoint changed");
    assert_eq!(err.kind(), ErrorKind::Drift);
    assert!(
        err.to_string()
            .contains("route `get-v1-users-1` (call 1): field missing at /name"),
        "{err}"
    );
    let _ = std::fs::remove_file(file);
}
