//! Webhook callbacks: sent after the response, on virtual time, continuing the trace.

use std::time::Duration;

use steadfast_determinism::{Seed, TestContext, deterministic_test};
use steadfast_mocknet::{Catalog, ErrorKind, MockNet};
use steadfast_tracing_core::TraceParent;

use crate::support::{catalog, client};

const INCOMING: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const WAIT: Duration = Duration::from_secs(60);

/// A service whose `charge` route calls back `url` after `delay_ms`, and a receiver scenario.
fn webhook_catalog(url: &str, delay_ms: u64, faults: &str) -> Catalog {
    catalog(&format!(
        r#"{{"scenarios": {{
            "s": {{"routes": [{{"name": "charge", "method": "POST", "path": "/v1/charges",
                "response": {{"status": 201, "json": {{"id": "ch_1"}}}},
                "faults": {faults},
                "callback": {{"url": "{url}", "headers": {{"x-event": "charge"}},
                             "json": {{"type": "charge.succeeded", "id": "ch_1"}},
                             "delay_ms": {delay_ms}}}}}]}},
            "receiver": {{"routes": [{{"name": "webhook", "method": "POST",
                "path": "/webhooks/charge", "response": {{"status": 204}}}}]}}}}}}"#
    ))
}

async fn start_pair(catalog: &Catalog, seed: Option<Seed>) -> (MockNet, MockNet) {
    let receiver = MockNet::builder()
        .scenario(catalog.scenario("receiver").expect("receiver"))
        .start()
        .await
        .expect("receiver starts");
    let mut service = MockNet::builder()
        .scenario(catalog.scenario("s").expect("service"))
        .callback_base(receiver.uri());
    if let Some(seed) = seed {
        service = service.seed(seed);
    }
    let service = service.start().await.expect("service starts");
    (service, receiver)
}

async fn charge(net: &MockNet, traceparent: Option<&str>) -> u16 {
    let mut request = client()
        .post(format!("{}/v1/charges", net.uri()))
        .header("content-type", "application/json")
        .body("{}");
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    request.send().await.expect("answered").status().as_u16()
}

#[deterministic_test]
async fn callback_continues_the_trace_after_its_delay_on_virtual_time(_ctx: &TestContext) {
    let (service, receiver) =
        start_pair(&webhook_catalog("/webhooks/charge", 1500, "[]"), None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let status = charge(&service, Some(INCOMING)).await;
    let journal = service
        .wait_for_callbacks(1, WAIT)
        .await
        .expect("called back");

    assert_eq!(status, 201);
    let incoming: TraceParent = INCOMING.parse().expect("valid");
    let record = journal[0].callback.clone().expect("recorded");
    assert_eq!(record.method, "POST");
    assert_eq!(record.url, format!("{}/webhooks/charge", receiver.uri()));
    assert_eq!(record.status, Some(204));
    assert_eq!(record.error, None);
    assert_eq!(journal[0].at, Duration::from_millis(200));
    assert_eq!(record.at, Duration::from_millis(1700));
    let sent = record.traceparent.expect("traceparent sent");
    assert_eq!(sent.trace_id(), incoming.trace_id());
    assert_ne!(sent.parent_id(), incoming.parent_id());
    assert!(sent.flags().is_sampled());

    let delivered = &receiver.journal()[0];
    assert_eq!(delivered.route.as_deref(), Some("webhook"));
    assert_eq!(delivered.traceparent, Some(sent));
    assert_eq!(delivered.header("x-event"), Some("charge"));
    assert_eq!(delivered.header("content-type"), Some("application/json"));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&delivered.body).expect("json"),
        serde_json::json!({"type": "charge.succeeded", "id": "ch_1"})
    );
    // The receiver started first, so its clock reads the same virtual time.
    assert_eq!(delivered.at, Duration::from_millis(1700));
}

#[deterministic_test]
async fn unsampled_trace_stays_unsampled_and_missing_traceparent_sends_none(_ctx: &TestContext) {
    let (service, receiver) = start_pair(&webhook_catalog("/webhooks/charge", 0, "[]"), None).await;
    let unsampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

    charge(&service, Some(unsampled)).await;
    charge(&service, None).await;
    let journal = service
        .wait_for_callbacks(2, WAIT)
        .await
        .expect("called back");

    let first = journal[0].callback.clone().expect("first recorded");
    let second = journal[1].callback.clone().expect("second recorded");
    assert!(!first.traceparent.expect("sent").flags().is_sampled());
    assert_eq!(second.traceparent, None);
    assert_eq!(receiver.journal()[1].header("traceparent"), None);
}

#[deterministic_test]
async fn callback_span_id_follows_the_seed(_ctx: &TestContext) {
    async fn callback_span(seed: u64) -> String {
        let catalog = webhook_catalog("/webhooks/charge", 0, "[]");
        let (service, _receiver) = start_pair(&catalog, Some(Seed::new(seed))).await;
        charge(&service, Some(INCOMING)).await;
        let journal = service
            .wait_for_callbacks(1, WAIT)
            .await
            .expect("called back");
        let record = journal[0].callback.clone().expect("recorded");
        record.traceparent.expect("sent").parent_id().to_string()
    }

    let first = callback_span(7).await;
    let again = callback_span(7).await;
    let other = callback_span(8).await;

    assert_eq!(first, again);
    assert_ne!(first, other);
}

#[deterministic_test]
async fn fault_that_replaces_the_response_sends_no_callback(_ctx: &TestContext) {
    let catalog = webhook_catalog(
        "/webhooks/charge",
        0,
        r#"[{"kind": "status", "status": 503}]"#,
    );
    let (service, receiver) = start_pair(&catalog, None).await;

    let status = charge(&service, Some(INCOMING)).await;
    let err = service
        .wait_for_callbacks(1, Duration::from_secs(5))
        .await
        .expect_err("no callback");

    assert_eq!(status, 503);
    assert_eq!(err.to_string(), "waited 5s for 1 callbacks but saw 0");
    assert_eq!(service.journal()[0].callback, None);
    assert!(receiver.journal().is_empty());
}

#[deterministic_test]
async fn unreachable_receiver_is_recorded_as_an_error(_ctx: &TestContext) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let catalog = webhook_catalog(&format!("http://127.0.0.1:{port}/webhooks/charge"), 0, "[]");
    let service = MockNet::builder()
        .scenario(catalog.scenario("s").expect("service"))
        .start()
        .await
        .expect("absolute callbacks need no base");

    charge(&service, Some(INCOMING)).await;
    let journal = service.wait_for_callbacks(1, WAIT).await.expect("finished");

    let record = journal[0].callback.clone().expect("recorded");
    assert_eq!(record.status, None);
    let error = record.error.expect("an error");
    assert!(error.starts_with("could not connect"), "{error}");
    assert!(
        journal[0]
            .to_string()
            .contains("; callback POST http://127.0.0.1:"),
        "{}",
        journal[0]
    );
}

#[test]
fn non_loopback_callback_url_is_rejected_at_load_time_naming_the_route() {
    let err = Catalog::from_json(
        "hooks.json",
        r#"{"scenarios": {"s": {"routes": [{"name": "charge", "response": {},
            "callback": {"url": "http://203.0.113.9/hook"}}]}}}"#,
    )
    .expect_err("remote callback");

    assert_eq!(err.kind(), ErrorKind::InvalidRoute);
    assert_eq!(
        (err.file(), err.scenario(), err.route()),
        (Some("hooks.json"), Some("s"), Some("charge"))
    );
    assert_eq!(
        err.to_string(),
        "invalid catalog hooks.json: scenario `s`, route `charge`: callback: \
         `http://203.0.113.9/hook` is not on loopback (127.0.0.0/8, [::1] or localhost)"
    );
}

#[test]
fn unknown_callback_field_names_its_serde_path() {
    let err = Catalog::from_json(
        "hooks.json",
        r#"{"scenarios": {"s": {"routes": [{"name": "charge", "response": {},
            "callback": {"url": "/hook", "delay": 5}}]}}}"#,
    )
    .expect_err("unknown field");

    assert_eq!(err.kind(), ErrorKind::InvalidCatalog);
    assert_eq!(
        err.serde_path(),
        Some("scenarios.s.routes[0].callback.delay")
    );
    assert!(
        err.to_string()
            .starts_with("invalid catalog hooks.json: scenario `s`, route `charge` at `scenarios.s.routes[0].callback.delay`"),
        "{err}"
    );
}

#[deterministic_test]
async fn relative_callback_without_a_base_and_a_remote_base_fail_to_start(_ctx: &TestContext) {
    let catalog = webhook_catalog("/webhooks/charge", 0, "[]");
    let scenario = catalog.scenario("s").expect("service");

    let missing = MockNet::builder()
        .scenario(scenario.clone())
        .start()
        .await
        .expect_err("no base");
    let remote = MockNet::builder()
        .scenario(scenario)
        .callback_base("http://198.51.100.7:80")
        .start()
        .await
        .expect_err("remote base");

    assert_eq!(
        missing.to_string(),
        "no callback base: route `charge` of scenario `s` has a relative callback URL; \
         give one with MockNetBuilder::callback_base"
    );
    assert_eq!(
        (missing.kind(), missing.route(), missing.value()),
        (ErrorKind::CallbackBase, Some("charge"), None)
    );
    assert_eq!(remote.kind(), ErrorKind::CallbackBase);
    assert_eq!(remote.value(), Some("http://198.51.100.7:80"));
    assert!(
        remote.to_string().contains("is not on loopback"),
        "{remote}"
    );
}
