//! Record, replay and verify against a hyper upstream of the tests' own.

use std::path::PathBuf;

use serde_json::json;
use steadfast_determinism::{Seed, TestContext, deterministic_test};
use steadfast_mocknet::record::{RecordMode, Recorder};
use steadfast_mocknet::verify_live::{DriftKind, Verifier};
use steadfast_mocknet::{Catalog, ErrorKind, MockNet};

use crate::support::client;
use crate::upstream::{BINARY, Upstream};

/// The secrets the traffic carries; none may reach a catalog.
pub const BEARER: &str = "tok-user-secret-1";
pub const COOKIE: &str = "cookie-secret-123";

/// A catalog path of its own for each test, removed first.
pub fn scratch(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "steadfast-mocknet-{name}-{}.json",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

/// What one request got back: status, content type and the body's bytes as sent.
#[derive(Debug, PartialEq)]
struct Answer {
    path: &'static str,
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// The same traffic every time: secrets in headers, a query, a sequence, a JSON body with a
/// password, and chunked, gzip, non-UTF-8 and indented bodies.
async fn traffic(base: &str) -> Vec<Answer> {
    let client = client();
    let mut answers = Vec::new();
    let requests: [(&str, &'static str, Option<serde_json::Value>); 10] = [
        ("GET", "/v1/users/1", None),
        ("GET", "/v1/users?page=2", None),
        ("GET", "/v1/users", None),
        ("POST", "/v1/charges", Some(json!({"amount": 100}))),
        ("POST", "/v1/charges", Some(json!({"amount": 100}))),
        (
            "POST",
            "/v1/login",
            Some(json!({"user": "ann", "password": "hunter22"})),
        ),
        ("GET", "/chunked", None),
        ("GET", "/gzip", None),
        ("GET", "/binary", None),
        ("GET", "/pretty", None),
    ];
    for (method, path, body) in requests {
        let method = method.parse().expect("a method");
        let mut request = client
            .request(method, format!("{base}{path}"))
            .header("authorization", format!("Bearer {BEARER}"))
            .header("cookie", format!("sid={COOKIE}; theme=darkmode"));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("answered");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().expect("ASCII").to_string());
        let body = response.bytes().await.expect("whole body").to_vec();
        answers.push(Answer {
            path,
            status,
            content_type,
            body,
        });
    }
    answers
}

/// Records [`traffic`] from `upstream` into scenario `recorded` of `out`.
async fn record(upstream: &Upstream, out: &PathBuf, mode: RecordMode) -> Vec<Answer> {
    upstream.reset();
    let recording = Recorder::new(upstream.uri(), out, "recorded")
        .mode(mode)
        .start()
        .await
        .expect("recorder starts");
    let answers = traffic(&recording.uri()).await;
    recording.finish().await.expect("catalog written");
    answers
}

#[deterministic_test]
async fn recorded_traffic_replays_byte_equal_and_re_records_identically(_ctx: &TestContext) {
    let upstream = Upstream::start().await;
    let (first, second) = (scratch("cycle-1"), scratch("cycle-2"));

    let live = record(&upstream, &first, RecordMode::All).await;
    record(&upstream, &second, RecordMode::All).await;
    let text = std::fs::read_to_string(&first).expect("catalog");
    let scenario = Catalog::from_json("recorded.json", &text)
        .and_then(|catalog| catalog.scenario("recorded"))
        .expect("a valid catalog");
    let net = MockNet::builder()
        .scenario(scenario)
        .seed(Seed::new(1))
        .start()
        .await
        .expect("replay");
    let replayed = traffic(&net.uri()).await;

    assert_eq!(
        text,
        std::fs::read_to_string(&second).expect("second catalog")
    );
    assert!(
        text.ends_with("}\n"),
        "pretty-printed with a trailing newline"
    );
    for (live, replayed) in live.iter().zip(&replayed) {
        if live.path == "/v1/login" {
            continue;
        }
        assert_eq!(live, replayed, "replay of {}", live.path);
    }
    assert_eq!(live[3].status, 503, "the sequence's first answer");
    assert_eq!(replayed[4].status, 201, "then the second");
    assert_eq!(live[6].body, b"hello chunked world");
    assert_eq!(replayed[8].body, BINARY);
    assert_eq!(
        (replayed[5].status, replayed[5].body.as_slice()),
        (200, br#"{"token":"[REDACTED]","user":"ann"}"#.as_slice())
    );
    for secret in [
        BEARER,
        COOKIE,
        "hunter22",
        "tok_live_abcdef",
        "cookie-from-server-77",
        "darkmode",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into\n{text}");
    }
    let _ = (std::fs::remove_file(first), std::fs::remove_file(second));
}

#[deterministic_test]
async fn recorded_routes_match_methods_paths_queries_bodies_and_secret_headers(_ctx: &TestContext) {
    let upstream = Upstream::start().await;
    let out = scratch("routes");

    record(&upstream, &out, RecordMode::All).await;
    let catalog: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("catalog")).expect("JSON");
    let routes = catalog["scenarios"]["recorded"]["routes"]
        .as_array()
        .expect("routes");
    let route = |name: &str| {
        routes
            .iter()
            .find(|route| route["name"] == name)
            .unwrap_or_else(|| panic!("no route {name} in {routes:#?}"))
    };

    let names: Vec<&str> = routes
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "get-v1-users-page-2",
            "post-v1-charges",
            "post-v1-login",
            "get-v1-users-1",
            "get-v1-users",
            "get-chunked",
            "get-gzip",
            "get-binary",
            "get-pretty",
        ],
        "most matchers first, then in order of arrival"
    );
    assert_eq!(route("get-v1-users-page-2")["query"], json!({"page": "2"}));
    assert_eq!(
        route("get-v1-users-1")["headers_present"],
        json!(["authorization", "cookie"])
    );
    assert_eq!(
        route("post-v1-charges")["body_json"],
        json!({"amount": 100})
    );
    assert_eq!(route("post-v1-charges")["responses"][0]["status"], 503);
    assert_eq!(
        route("post-v1-charges")["responses"][1]["json"]["id"],
        "ch_1"
    );
    assert_eq!(
        route("post-v1-login")["body_partial_json"],
        json!({"user": "ann"})
    );
    assert_eq!(
        route("post-v1-login")["response"]["headers"]["set-cookie"],
        "sid=[REDACTED]"
    );
    assert_eq!(
        route("get-gzip")["response"]["headers"]["content-encoding"],
        "gzip"
    );
    assert!(route("get-binary")["response"]["base64"].is_string());
    assert_eq!(
        route("get-pretty")["response"]["text"],
        "{\n  \"b\": 2,\n  \"a\": 1\n}\n"
    );
    let _ = std::fs::remove_file(out);
}

#[deterministic_test]
async fn verify_passes_then_reports_exactly_the_renamed_and_retyped_fields(_ctx: &TestContext) {
    let upstream = Upstream::start().await;
    let out = scratch("verify");
    record(&upstream, &out, RecordMode::All).await;
    let scenario = Catalog::from_file(&out)
        .and_then(|catalog| catalog.scenario("recorded"))
        .expect("a valid catalog");

    upstream.reset();
    let clean = Verifier::new(upstream.uri())
        .run(&scenario)
        .await
        .expect("verified");
    upstream.reset();
    upstream.change();
    let drifted = Verifier::new(upstream.uri())
        .run(&scenario)
        .await
        .expect("verified");

    assert!(clean.is_clean(), "{}", clean.render(Default::default()));
    assert_eq!((clean.requests(), clean.exit_code()), (10, 0));
    let found: Vec<(&str, DriftKind, Option<&str>)> = drifted
        .drifts()
        .iter()
        .map(|drift| (drift.route(), drift.kind(), drift.pointer()))
        .collect();
    assert_eq!(
        found,
        [
            ("get-v1-users-1", DriftKind::TypeChanged, Some("/id")),
            ("get-v1-users-1", DriftKind::FieldMissing, Some("/name")),
            ("get-v1-users-1", DriftKind::FieldAdded, Some("/full_name")),
        ]
    );
    assert_eq!(
        (drifted.drifts()[0].recorded(), drifted.drifts()[0].live()),
        ("number", "string")
    );
    assert_eq!(drifted.exit_code(), 1);
    let _ = std::fs::remove_file(out);
}

#[deterministic_test]
async fn mode_new_keeps_the_scenario_and_adds_only_unmatched_requests(_ctx: &TestContext) {
    let upstream = Upstream::start().await;
    let out = scratch("mode-new");
    std::fs::write(
        &out,
        r#"{"scenarios": {
            "recorded": {"description": "edited by hand", "faults": [{"kind": "latency", "ms": 5}],
                         "routes": [{"name": "users", "method": "GET", "path_prefix": "/v1/users",
                                     "response": {"json": {"edited": true}}}]},
            "other": {"routes": [{"name": "health", "path": "/health", "response": {}}]}}}"#,
    )
    .expect("seed catalog");

    record(&upstream, &out, RecordMode::New).await;
    let text = std::fs::read_to_string(&out).expect("catalog");
    record(&upstream, &out, RecordMode::New).await;
    let again = std::fs::read_to_string(&out).expect("catalog");
    let catalog: serde_json::Value = serde_json::from_str(&text).expect("JSON");

    assert_eq!(text, again, "the same traffic again adds nothing");

    let scenario = &catalog["scenarios"]["recorded"];
    let names: Vec<&str> = scenario["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .map(|route| route["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "users",
            "post-v1-charges",
            "post-v1-login",
            "get-chunked",
            "get-gzip",
            "get-binary",
            "get-pretty"
        ]
    );
    assert_eq!(
        scenario["routes"][0]["response"]["json"],
        json!({"edited": true})
    );
    assert_eq!(scenario["description"], "edited by hand");
    assert_eq!(scenario["faults"][0]["ms"], 5);
    assert_eq!(catalog["scenarios"]["other"]["routes"][0]["name"], "health");
    let _ = std::fs::remove_file(out);
}

#[deterministic_test]
async fn recorded_scenario_takes_overlays_like_any_other(_ctx: &TestContext) {
    let upstream = Upstream::start().await;
    let out = scratch("overlay");
    record(&upstream, &out, RecordMode::All).await;
    let catalog = Catalog::from_file(&out).expect("a valid catalog");
    let offline = catalog
        .scenario("recorded")
        .expect("recorded")
        .with_overlay(&catalog.overlay("offline").expect("built in"));

    let net = MockNet::builder()
        .scenario(offline)
        .seed(Seed::new(1))
        .start()
        .await
        .expect("replay");
    // Any credentials will do: the recording requires the headers, not their values.
    let err = client()
        .get(format!("{}/v1/users/1", net.uri()))
        .header("authorization", "Bearer another-token")
        .header("cookie", "sid=another")
        .send()
        .await
        .expect_err("reset");

    assert!(err.is_request(), "{err}");
    net.assert_called("get-v1-users-1", 1);
    let _ = std::fs::remove_file(out);
}

#[deterministic_test]
async fn an_upstream_that_is_down_is_named_by_recorder_and_verifier(_ctx: &TestContext) {
    // Port 1 (tcpmux) is not listening on a test machine.
    let down = "http://127.0.0.1:1";
    let scenario = crate::support::catalog(r#"{"scenarios": {"s": {}}}"#)
        .scenario("s")
        .expect("s");

    let recorder = Recorder::new(down, scratch("down"), "s")
        .start()
        .await
        .expect_err("down");
    let verifier = Verifier::new(down).run(&scenario).await.expect_err("down");

    for err in [recorder, verifier] {
        assert_eq!(err.kind(), ErrorKind::Upstream);
        assert_eq!(err.value(), Some(down));
        assert_eq!(
            err.to_string(),
            "upstream http://127.0.0.1:1 is unreachable"
        );
    }
}

#[deterministic_test]
async fn a_marked_secret_echoed_in_a_body_is_refused_and_nothing_is_written(_ctx: &TestContext) {
    let upstream = Upstream::start().await;
    let out = scratch("echoed-secret");
    let recording = Recorder::new(upstream.uri(), &out, "s")
        .secret_header("x-tenant")
        .start()
        .await
        .expect("recorder starts");

    let body = client()
        .get(format!("{}/echo-tenant", recording.uri()))
        .header("x-tenant", "tenant-4711")
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("body");
    let err = recording.finish().await.expect_err("the tenant is echoed");

    assert_eq!(body, r#"{"tenant":"tenant-4711"}"#);
    assert_eq!(err.kind(), ErrorKind::SecretInCatalog);
    assert_eq!(err.name(), Some("x-tenant"));
    assert!(!err.to_string().contains("tenant-4711"), "{err}");
    assert!(
        err.to_string()
            .contains("would hold the value of secret header `x-tenant` where"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
}
