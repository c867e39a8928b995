//! A `MockNet` on a runtime of its own, from plain `#[test]`s with a blocking client.

use std::io::ErrorKind;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use steadfast_determinism::{Seed, TestContext};
use steadfast_mocknet::{Catalog, Fault, Mock, MockNet, Step};
use wiremock::ResponseTemplate;
use wiremock::matchers::{method, path};

use crate::support::io_kind;

#[test]
fn a_blocking_client_gets_mocks_sequences_and_the_journal() {
    let net = MockNet::builder().seed(5).start_blocking().expect("starts");
    Mock::given(method("POST"))
        .and(path("/v1/charges"))
        .respond_with(ResponseTemplate::new(201).set_body_string("ch_1"))
        .sequence([Step::fault(Fault::reset()), Step::respond()])
        .expect(2)
        .named("charge")
        .mount_blocking(&net)
        .expect("mounted");
    let client = reqwest::blocking::Client::new();
    let url = format!("{}/v1/charges", net.uri());

    let reset = client.post(&url).send().expect_err("reset");
    let created = client.post(&url).send().expect("answered");

    assert_eq!(io_kind(&reset), Some(ErrorKind::ConnectionReset));
    assert_eq!(created.status(), 201);
    assert_eq!(created.text().expect("body"), "ch_1");
    assert_eq!(net.journal().len(), 2);
    net.assert_called("charge", 2);
    net.check_expectations().expect("met");
}

#[test]
fn a_catalog_scenario_serves_blocking_clients_with_the_test_seed() {
    let ctx = Arc::new(TestContext::new("blocking::catalog", Seed::new(11)));
    let _entered = ctx.enter();
    let catalog = Catalog::from_json(
        "c.json",
        r#"{"scenarios": {"up": {"routes": [{"name": "health", "path": "/health",
            "response": {"text": "ok"}}]}}}"#,
    )
    .expect("catalog");
    let net = MockNet::builder()
        .scenario(catalog.scenario("up").expect("scenario"))
        .start_blocking()
        .expect("starts");

    let body = reqwest::blocking::get(format!("{}/health", net.uri()))
        .and_then(|response| response.text())
        .expect("answered");

    assert_eq!(body, "ok");
    assert_eq!(net.seed(), ctx.fork_rng("mocknet").seed());
}

#[test]
fn dropping_a_blocking_server_checks_expectations() {
    let net = MockNet::builder().seed(5).start_blocking().expect("starts");
    Mock::given(path("/never"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .named("never")
        .mount_blocking(&net)
        .expect("mounted");

    let payload = catch_unwind(AssertUnwindSafe(move || drop(net))).expect_err("unmet");
    let message = payload.downcast::<String>().expect("a formatted message");

    assert!(
        message.starts_with(
            "steadfast: mock `never` of scenario `mocks` matched 0 requests, expected exactly 1"
        ),
        "{message}"
    );
}

#[test]
fn mount_blocking_needs_a_server_with_its_own_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let net = runtime
        .block_on(MockNet::builder().seed(1).start())
        .expect("starts");

    let err = Mock::given(path("/x"))
        .respond_with(ResponseTemplate::new(200))
        .mount_blocking(&net)
        .expect_err("no runtime of its own");

    assert_eq!(err.kind(), steadfast_mocknet::ErrorKind::Stopped);
    assert!(
        err.to_string().ends_with(
            "mount_blocking needs a MockNet started with MockNetBuilder::start_blocking"
        ),
        "{err}"
    );
}

#[test]
fn ureq_gets_a_503_with_retry_after_then_the_answer() {
    let net = MockNet::builder().seed(5).start_blocking().expect("starts");
    Mock::given(method("GET"))
        .and(path("/quote"))
        .respond_with(ResponseTemplate::new(200).set_body_string("1.08"))
        .sequence([
            Step::fault(Fault::status(503).retry_after(2)),
            Step::respond(),
        ])
        .named("quote")
        .mount_blocking(&net)
        .expect("mounted");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}/quote", net.uri());

    let busy = agent.get(&url).call().expect("answered");
    let mut quote = agent.get(&url).call().expect("answered");

    assert_eq!(busy.status(), 503);
    assert_eq!(
        busy.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"2"[..])
    );
    assert_eq!(quote.status(), 200);
    assert_eq!(quote.body_mut().read_to_string().expect("body"), "1.08");
    net.assert_called("quote", 2);
}
