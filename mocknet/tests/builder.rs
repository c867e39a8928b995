//! The Rust builder with wiremock's matchers and responders, against a real reqwest client.

use std::time::Duration;

use steadfast_determinism::{TestContext, deterministic_test};
use steadfast_mocknet::{ErrorKind, Mock, MockNet};
use wiremock::matchers::{
    any, basic_auth, bearer_token, body_bytes, body_json, body_json_string, body_partial_json,
    body_partial_json_string, body_string, body_string_contains, header, header_exists,
    header_regex, headers, method, path, path_regex, query_param, query_param_contains,
    query_param_is_missing,
};
use wiremock::{Request, ResponseTemplate};

use crate::support::client;

/// Mounts one mock per wiremock matcher, each on its own path and answering 200 with the
/// matcher's name; returns the server.
async fn one_mock_per_matcher() -> MockNet {
    let net = MockNet::start().await;
    let json = serde_json::json!({"id": 1, "tags": ["a"]});
    macro_rules! mock {
        ($name:literal, $matcher:expr) => {
            Mock::given(path(concat!("/", $name)))
                .and($matcher)
                .respond_with(ResponseTemplate::new(200).set_body_string($name))
                .named($name)
                .mount(&net)
                .await;
        };
    }
    mock!("method", method("PUT"));
    mock!("header", header("x-team", "payments"));
    mock!("headers", headers("accept", vec!["a/b", "c/d"]));
    mock!("header_exists", header_exists("x-trace"));
    mock!("header_regex", header_regex("x-version", r"^v\d+$"));
    mock!("query_param", query_param("page", "2"));
    mock!("query_param_contains", query_param_contains("q", "rust"));
    mock!("query_param_is_missing", query_param_is_missing("debug"));
    mock!("body_string", body_string("exact"));
    mock!("body_bytes", body_bytes(vec![0u8, 159, 146, 150]));
    mock!("body_json", body_json(&json));
    mock!(
        "body_json_string",
        body_json_string(r#"{"id": 1, "tags": ["a"]}"#)
    );
    mock!("body_string_contains", body_string_contains("needle"));
    mock!(
        "body_partial_json",
        body_partial_json(serde_json::json!({"id": 1}))
    );
    mock!(
        "body_partial_json_string",
        body_partial_json_string(r#"{"tags": ["a"]}"#)
    );
    mock!("basic_auth", basic_auth("ada", "secret"));
    mock!("bearer_token", bearer_token("tok"));
    mock!("any", any());
    mock!("closure", |request: &Request| request.body.len() == 3);
    Mock::given(path_regex(r"^/regex/\d+$"))
        .respond_with(ResponseTemplate::new(200).set_body_string("path_regex"))
        .mount(&net)
        .await;
    net
}

#[deterministic_test]
async fn every_wiremock_matcher_matches_through_the_builder(_ctx: &TestContext) {
    let net = one_mock_per_matcher().await;
    let client = client();
    let url = |rest: &str| format!("{}{rest}", net.uri());
    let json = r#"{"tags": ["a"], "id": 1}"#;
    let requests = [
        ("method", client.put(url("/method"))),
        (
            "header",
            client.get(url("/header")).header("x-team", "payments"),
        ),
        (
            "headers",
            client.get(url("/headers")).header("accept", "a/b, c/d"),
        ),
        (
            "header_exists",
            client.get(url("/header_exists")).header("x-trace", "1"),
        ),
        (
            "header_regex",
            client.get(url("/header_regex")).header("x-version", "v12"),
        ),
        ("query_param", client.get(url("/query_param?page=2"))),
        (
            "query_param_contains",
            client.get(url("/query_param_contains?q=trust")),
        ),
        (
            "query_param_is_missing",
            client.get(url("/query_param_is_missing?page=1")),
        ),
        (
            "body_string",
            client.post(url("/body_string")).body("exact"),
        ),
        (
            "body_bytes",
            client
                .post(url("/body_bytes"))
                .body(vec![0u8, 159, 146, 150]),
        ),
        ("body_json", client.post(url("/body_json")).body(json)),
        (
            "body_json_string",
            client.post(url("/body_json_string")).body(json),
        ),
        (
            "body_string_contains",
            client.post(url("/body_string_contains")).body("a needle!"),
        ),
        (
            "body_partial_json",
            client.post(url("/body_partial_json")).body(json),
        ),
        (
            "body_partial_json_string",
            client.post(url("/body_partial_json_string")).body(json),
        ),
        (
            "basic_auth",
            client
                .get(url("/basic_auth"))
                .basic_auth("ada", Some("secret")),
        ),
        (
            "bearer_token",
            client.get(url("/bearer_token")).bearer_auth("tok"),
        ),
        ("any", client.delete(url("/any"))),
        ("closure", client.post(url("/closure")).body("abc")),
        ("path_regex", client.get(url("/regex/42"))),
    ];

    for (name, request) in requests {
        let response = request.send().await.expect("answered");
        assert_eq!(response.status(), 200, "{name}");
        assert_eq!(response.text().await.expect("body"), name);
    }
    let misses = [
        client.get(url("/method")),
        client.get(url("/header")).header("x-team", "search"),
        client.get(url("/header_regex")).header("x-version", "12"),
        client.get(url("/query_param_is_missing?debug=1")),
        client.post(url("/body_partial_json")).body(r#"{"id": 2}"#),
        client.get(url("/bearer_token")).bearer_auth("other"),
        client.post(url("/closure")).body("abcd"),
        client.get(url("/regex/x")),
    ];
    for request in misses {
        assert_eq!(request.send().await.expect("answered").status(), 404);
    }
    net.assert_called("body_json", 1);
}

#[deterministic_test]
async fn every_response_template_feature_reaches_the_client(_ctx: &TestContext) {
    let net = MockNet::start().await;
    let template = ResponseTemplate::new(418)
        .append_header("x-multi", "one")
        .append_header("x-multi", "two")
        .insert_header("x-single", "first")
        .insert_header("x-single", "second")
        .append_headers([("x-a", "1"), ("x-b", "2")]);
    let cases = [
        (
            "bytes",
            template.clone().set_body_bytes(b"\x00\x01".to_vec()),
            None,
            &b"\x00\x01"[..],
        ),
        (
            "json",
            template
                .clone()
                .set_body_json(serde_json::json!({"ok": true})),
            Some("application/json"),
            &br#"{"ok":true}"#[..],
        ),
        (
            "string",
            template.clone().set_body_string("hi"),
            Some("text/plain"),
            &b"hi"[..],
        ),
        (
            "raw",
            template.clone().set_body_raw("<p/>", "text/html"),
            Some("text/html"),
            &b"<p/>"[..],
        ),
    ];
    for (name, template, _, _) in &cases {
        Mock::given(path(format!("/{name}")))
            .respond_with(template.clone())
            .mount(&net)
            .await;
    }

    for (name, _, content_type, body) in cases {
        let response = client()
            .get(format!("{}/{name}", net.uri()))
            .send()
            .await
            .expect("answered");
        let headers = response.headers().clone();
        let multi: Vec<_> = headers.get_all("x-multi").iter().collect();

        assert_eq!(response.status(), 418, "{name}");
        assert_eq!(multi, ["one", "two"], "{name}");
        assert_eq!(headers["x-single"], "second", "{name}");
        assert_eq!(
            (&headers["x-a"], &headers["x-b"]),
            (&"1".parse().unwrap(), &"2".parse().unwrap())
        );
        assert_eq!(
            headers.get("content-type").map(|v| v.to_str().unwrap()),
            content_type,
            "{name}"
        );
        assert_eq!(response.bytes().await.expect("body"), body, "{name}");
    }
}

#[deterministic_test]
async fn wiremock_delay_is_real_time_and_mocknet_delay_is_the_test_clock(_ctx: &TestContext) {
    let net = MockNet::start().await;
    Mock::given(path("/wiremock"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(50)))
        .mount(&net)
        .await;
    Mock::given(path("/mocknet"))
        .respond_with(
            steadfast_mocknet::ResponseTemplate::new(200).set_delay(Duration::from_secs(5)),
        )
        .mount(&net)
        .await;

    // A sealed test thread reads virtual time from std's clock too: read real time elsewhere.
    let real_now = || std::thread::spawn(std::time::Instant::now).join().unwrap();
    let wall = real_now();
    let virtual_start = tokio::time::Instant::now();
    let real = client().get(format!("{}/wiremock", net.uri())).send().await;
    let real_wall = real_now() - wall;
    let virtual_start_2 = tokio::time::Instant::now();
    let simulated = client().get(format!("{}/mocknet", net.uri())).send().await;

    assert_eq!(real.expect("answered").status(), 200);
    assert!(real_wall >= Duration::from_millis(50), "{real_wall:?}");
    // The paused clock did not jump while wiremock waited in real time.
    assert!(virtual_start_2 - virtual_start < Duration::from_secs(1));
    assert_eq!(simulated.expect("answered").status(), 200);
    assert_eq!(virtual_start_2.elapsed(), Duration::from_secs(5));
}

#[deterministic_test]
async fn a_custom_responder_sees_the_request(_ctx: &TestContext) {
    let net = MockNet::start().await;
    Mock::given(method("POST"))
        .respond_with(|request: &Request| {
            ResponseTemplate::new(201).set_body_bytes(request.body.to_ascii_uppercase())
        })
        .named("echo")
        .mount(&net)
        .await;

    let response = client()
        .post(format!("{}/echo", net.uri()))
        .body("shout")
        .send()
        .await
        .expect("answered");

    assert_eq!(response.status(), 201);
    assert_eq!(response.text().await.expect("body"), "SHOUT");
    assert_eq!(net.journal()[0].status, Some(201));
    net.assert_called("echo", 1);
}

#[deterministic_test]
async fn up_to_n_times_falls_through_and_priority_goes_first(_ctx: &TestContext) {
    let net = MockNet::start().await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(200))
        .named("fallback")
        .mount(&net)
        .await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .named("flaky")
        .mount(&net)
        .await;

    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = client().get(format!("{}/r", net.uri())).send().await;
        statuses.push(response.expect("answered").status().as_u16());
    }

    assert_eq!(statuses, [503, 503, 200]);
    net.assert_called("flaky", 2);
    net.assert_called("fallback", 1);
}

#[deterministic_test]
#[expect(
    clippy::reversed_empty_ranges,
    reason = "an empty range is the bad input"
)]
async fn bad_input_is_an_error_at_mount_time(_ctx: &TestContext) {
    let net = MockNet::builder().seed(1).start().await.expect("starts");

    let never = Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(2..1)
        .named("never")
        .try_mount(&net)
        .await
        .expect_err("an empty range");
    let empty = Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .sequence([])
        .named("empty")
        .try_mount(&net)
        .await
        .expect_err("no steps");
    let regex = Mock::given(steadfast_mocknet::matchers::path_regex("("))
        .respond_with(ResponseTemplate::new(200))
        .try_mount(&net)
        .await
        .expect_err("bad regex");
    net.stop();
    let stopped = Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .named("late")
        .try_mount(&net)
        .await
        .expect_err("stopped");

    assert_eq!(
        (never.kind(), never.route()),
        (ErrorKind::InvalidMock, Some("never"))
    );
    assert_eq!(
        never.to_string(),
        "invalid mock `never`: expect: an empty range (2..=0) can never be met"
    );
    assert_eq!(empty.to_string(), "invalid mock `empty`: sequence is empty");
    assert!(
        regex
            .to_string()
            .starts_with("invalid mock `mock #0`: matchers[0]: invalid path_regex `(`"),
        "{regex}"
    );
    assert_eq!(stopped.kind(), ErrorKind::Stopped);
    assert_eq!(
        stopped.to_string(),
        "the server of scenario `mocks` has stopped: cannot mount a mock on it"
    );
    assert!(net.is_stopped());
}

#[deterministic_test]
async fn reset_unmounts_mocks_and_keeps_the_catalog_routes(_ctx: &TestContext) {
    let catalog = crate::support::one_route("catalog", "[]");
    let net = MockNet::builder()
        .scenario(catalog.scenario("s").expect("scenario"))
        .seed(1)
        .start()
        .await
        .expect("starts");
    let guard = Mock::given(path("/scoped"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount_as_scoped(&net)
        .await;
    Mock::given(path("/mounted"))
        .respond_with(ResponseTemplate::new(201))
        .expect(5)
        .mount(&net)
        .await;
    client()
        .get(format!("{}/r", net.uri()))
        .send()
        .await
        .expect("answered");

    net.reset().await;
    let kept = client()
        .get(format!("{}/r", net.uri()))
        .send()
        .await
        .expect("answered");
    let gone = client()
        .get(format!("{}/mounted", net.uri()))
        .send()
        .await
        .expect("answered");

    assert_eq!(kept.text().await.expect("body"), "catalog");
    assert_eq!(gone.status(), 404);
    assert_eq!(net.journal().len(), 2);
    assert_eq!(net.scenario().route_names().collect::<Vec<_>>(), ["r"]);
    // Neither the unmet `expect(1)` of the old guard nor `expect(5)` fails any more.
    drop(guard);
    net.check_expectations()
        .expect("nothing expected after the reset");
}

#[deterministic_test]
async fn mocks_mounted_after_a_reset_match_with_their_own_matchers(_ctx: &TestContext) {
    let catalog = crate::support::one_route("catalog", "[]");
    let net = MockNet::builder()
        .scenario(catalog.scenario("s").expect("scenario"))
        .seed(1)
        .start()
        .await
        .expect("starts");
    Mock::given(method("POST"))
        .and(path("/old"))
        .and(header_exists("x-old"))
        .respond_with(ResponseTemplate::new(204))
        .named("old")
        .mount(&net)
        .await;
    net.reset().await;
    Mock::given(path("/new"))
        .and(header("x-key", "v"))
        .respond_with(ResponseTemplate::new(201))
        .named("new")
        .mount(&net)
        .await;
    let get = |target: &str| client().get(format!("{}{target}", net.uri()));

    let new = get("/new")
        .header("x-key", "v")
        .send()
        .await
        .expect("answered");
    let without_header = get("/new").send().await.expect("answered");
    let old = client()
        .post(format!("{}/old", net.uri()))
        .header("x-old", "1")
        .send()
        .await
        .expect("answered");
    let kept = get("/r").send().await.expect("answered");

    assert_eq!(new.status(), 201);
    assert_eq!(without_header.status(), 404);
    let why = without_header.text().await.expect("body");
    assert!(why.contains("new: 1 of 2 matchers hold"), "{why}");
    assert!(why.contains("r: 1 of 2 matchers hold"), "{why}");
    assert_eq!(old.status(), 404);
    let why = old.text().await.expect("body");
    assert!(why.contains("new: 0 of 2 matchers hold"), "{why}");
    assert!(!why.contains("old:"), "{why}");
    assert_eq!(kept.text().await.expect("body"), "catalog");
}

#[deterministic_test]
async fn a_template_changed_after_mounting_leaves_the_mocks_it_answers_as_they_were(
    _ctx: &TestContext,
) {
    let net = MockNet::start().await;
    let first = steadfast_mocknet::ResponseTemplate::new(200).set_body_string("first");
    Mock::given(path("/first"))
        .respond_with(first.clone())
        .mount(&net)
        .await;
    let second = first
        .clone()
        .set_body_string("second")
        .insert_header("x-changed", "yes");
    Mock::given(path("/second"))
        .respond_with(second)
        .mount(&net)
        .await;
    let no_content = steadfast_mocknet::ResponseTemplate::new(204);
    Mock::given(path("/empty"))
        .respond_with(no_content.clone())
        .mount(&net)
        .await;

    // Changed after a mount checked it, the template is checked again.
    let bad = Mock::given(path("/bad"))
        .respond_with(no_content.set_body_string("x"))
        .try_mount(&net)
        .await
        .expect_err("a 204 with a body");
    let get = |target: &str| client().get(format!("{}{target}", net.uri())).send();
    let first_response = get("/first").await.expect("answered");
    let second_response = get("/second").await.expect("answered");
    let empty = get("/empty").await.expect("answered");
    let again = Mock::given(path("/again"))
        .respond_with(first)
        .try_mount(&net)
        .await;

    assert_eq!(
        bad.to_string(),
        "invalid mock `mock #3`: a 204 response cannot have a body"
    );
    assert_eq!(first_response.headers().get("x-changed"), None);
    assert_eq!(first_response.text().await.expect("body"), "first");
    assert_eq!(second_response.headers()["x-changed"], "yes");
    assert_eq!(second_response.text().await.expect("body"), "second");
    assert_eq!(empty.status(), 204);
    assert!(again.is_ok(), "{again:?}");
}
