//! Sequences, states, overlays, scenario selection and mounting on wiremock.

use std::ffi::OsString;
use std::io::ErrorKind;

use steadfast_determinism::{TestContext, deterministic_test};
use steadfast_mocknet::{ErrorKind as MockErrorKind, MockNet};

use crate::support::{catalog, client, io_kind, one_route, start};

#[deterministic_test]
async fn sequence_serves_responses_in_order_then_repeats_the_last(_ctx: &TestContext) {
    let net = start(&catalog(
        r#"{"scenarios": {"s": {"routes": [{"name": "r", "path": "/r",
            "responses": [{"status": 503}, {"status": 500}, {"status": 200}]}]}}}"#,
    ))
    .await;

    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = client()
            .get(format!("{}/r", net.uri()))
            .send()
            .await
            .expect("answered");
        statuses.push(response.status().as_u16());
    }

    assert_eq!(statuses, [503, 500, 200, 200]);
}

#[deterministic_test]
async fn states_move_the_scenario_between_routes(_ctx: &TestContext) {
    let net = start(&catalog(
        r#"{"scenarios": {"s": {"initial_state": "empty", "routes": [
            {"name": "add", "method": "POST", "path": "/cart", "set_state": "full",
             "response": {"status": 201}},
            {"name": "view-empty", "path": "/cart", "when_state": "empty",
             "response": {"json": {"items": 0}}},
            {"name": "view-full", "path": "/cart", "when_state": "full",
             "response": {"json": {"items": 1}}}]}}}"#,
    ))
    .await;
    let get = || async {
        client()
            .get(format!("{}/cart", net.uri()))
            .send()
            .await
            .expect("answered")
            .text()
            .await
            .expect("body")
    };

    let before = get().await;
    client()
        .post(format!("{}/cart", net.uri()))
        .send()
        .await
        .expect("added");
    let after = get().await;

    assert_eq!(
        (before.as_str(), after.as_str()),
        (r#"{"items":0}"#, r#"{"items":1}"#)
    );
    assert_eq!(net.current_state(), "full");
}

#[deterministic_test]
async fn offline_overlay_resets_every_request(_ctx: &TestContext) {
    let catalog = one_route("ok", "[]");
    let offline = catalog
        .scenario("s")
        .expect("scenario")
        .with_overlay(&catalog.overlay("offline").expect("built in"));
    let net = MockNet::builder()
        .scenario(offline)
        .start()
        .await
        .expect("starts");

    for _ in 0..3 {
        let err = client()
            .get(format!("{}/r", net.uri()))
            .send()
            .await
            .expect_err("offline");
        assert_eq!(io_kind(&err), Some(ErrorKind::ConnectionReset));
    }
    net.assert_called("r", 3);
}

#[test]
fn scenario_env_value_selects_and_unknown_names_list_the_known_ones() {
    let catalog = catalog(r#"{"scenarios": {"happy-path": {}, "charge-failure": {}}}"#);

    let chosen = catalog
        .selected_with(|_| Some(OsString::from("charge-failure")), "happy-path")
        .expect("known");
    let err = catalog
        .selected_with(|_| Some(OsString::from("sad-path")), "happy-path")
        .expect_err("unknown");

    assert_eq!(chosen.name(), "charge-failure");
    assert_eq!(
        err.to_string(),
        "unknown scenario `sad-path` in catalog test.json (from STEADFAST_SCENARIO); \
         known scenarios: charge-failure, happy-path"
    );
    assert_eq!(err.kind(), MockErrorKind::UnknownScenario);
    assert_eq!(err.name(), Some("sad-path"));
}

#[test]
fn catalog_file_errors_name_the_file() {
    let dir = std::env::temp_dir().join(format!("steadfast-mocknet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("bad.json");
    std::fs::write(&file, r#"{"scenarios": {"s": {"routes": [{"name": 3}]}}}"#).expect("written");

    let err = steadfast_mocknet::Catalog::from_file(&file).expect_err("bad catalog");
    let missing =
        steadfast_mocknet::Catalog::from_file(dir.join("missing.json")).expect_err("missing");
    std::fs::remove_dir_all(&dir).expect("cleaned up");

    assert!(
        err.to_string().starts_with(&format!(
            "invalid catalog {}: scenario `s` at `scenarios.s.routes[0].name`",
            file.display()
        )),
        "{err}"
    );
    assert_eq!(err.kind(), MockErrorKind::InvalidCatalog);
    assert_eq!(missing.kind(), MockErrorKind::ReadCatalog);
    let missing_file = dir.join("missing.json").display().to_string();
    assert_eq!(missing.file(), Some(missing_file.as_str()));
    assert_eq!(
        missing.to_string(),
        format!("could not read catalog {missing_file}")
    );
    let cause = std::error::Error::source(&missing)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    assert_eq!(cause, Some(ErrorKind::NotFound));
}

#[tokio::test]
async fn mount_on_wiremock_serves_the_same_routes_and_sequences() {
    let catalog = catalog(
        r#"{"scenarios": {"s": {"routes": [{"name": "r", "method": "GET", "path": "/r",
            "headers": {"x-key": "1"},
            "responses": [{"status": 503}, {"status": 200, "text": "ok"}]}]}}}"#,
    );
    let server = wiremock::MockServer::start().await;

    catalog
        .scenario("s")
        .expect("scenario")
        .mount_on(&server)
        .await
        .expect("mounts");
    let mut seen = Vec::new();
    for _ in 0..3 {
        let response = reqwest::Client::new()
            .get(format!("{}/r", server.uri()))
            .header("x-key", "1")
            .send()
            .await
            .expect("answered");
        seen.push(response.status().as_u16());
    }
    let unmatched = reqwest::Client::new()
        .get(format!("{}/r", server.uri()))
        .send()
        .await
        .expect("answered");

    assert_eq!(seen, [503, 200, 200]);
    assert_eq!(unmatched.status(), 404);
}

#[tokio::test]
async fn mount_on_wiremock_refuses_faults_it_cannot_express() {
    let catalog = one_route("ok", r#"[{"kind": "reset", "probability": 0.5}]"#);
    let server = wiremock::MockServer::start().await;

    let err = catalog
        .scenario("s")
        .expect("scenario")
        .mount_on(&server)
        .await
        .expect_err("reset is not expressible");

    assert_eq!(
        err.to_string(),
        "route `r` of scenario `s` cannot be mounted on wiremock: fault `reset` with probability 0.5"
    );
    assert_eq!(
        (err.kind(), err.scenario(), err.route()),
        (MockErrorKind::Unsupported, Some("s"), Some("r"))
    );
    assert!(
        server
            .received_requests()
            .await
            .expect("recording")
            .is_empty()
    );
}
