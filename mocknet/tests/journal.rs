//! The journal and its assertions.

use steadfast_determinism::{Seed, TestContext, deterministic_test};
use steadfast_mocknet::{ErrorKind, MockNet};

use crate::support::{catalog, client, one_route, start};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

async fn get_with_traceparent(net: &MockNet, traceparent: Option<String>) {
    let mut request = client().get(format!("{}/r", net.uri()));
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    request.send().await.expect("answered");
}

#[deterministic_test]
async fn journal_records_method_path_query_headers_body_and_route(_ctx: &TestContext) {
    let net = start(&catalog(
        r#"{"scenarios": {"s": {"routes": [{"name": "search", "method": "POST",
            "path_prefix": "/v1/", "query": {"q": "shoes"}, "response": {"status": 202}}]}}}"#,
    ))
    .await;

    let response = client()
        .post(format!("{}/v1/search?q=shoes", net.uri()))
        .header("x-request-id", "abc")
        .body("{\"page\":2}")
        .send()
        .await
        .expect("answered");

    assert_eq!(response.status(), 202);
    let entry = &net.journal()[0];
    assert_eq!(entry.method, "POST");
    assert_eq!(entry.path, "/v1/search");
    assert_eq!(entry.query.as_deref(), Some("q=shoes"));
    assert_eq!(entry.header("X-Request-Id"), Some("abc"));
    assert_eq!(entry.body, b"{\"page\":2}");
    assert_eq!(entry.route.as_deref(), Some("search"));
    assert_eq!(entry.status, Some(202));
    net.assert_called("search", 1);
}

#[deterministic_test]
#[should_panic(expected = "route `r` of scenario `s` was called 1 times, expected 2")]
async fn assert_called_reports_the_count_and_journal(_ctx: &TestContext) {
    let net = start(&one_route("ok", "[]")).await;
    get_with_traceparent(&net, None).await;

    net.assert_called("r", 2);
}

#[deterministic_test]
async fn unmatched_request_gets_404_naming_the_nearest_route(_ctx: &TestContext) {
    let net = start(&one_route("ok", "[]")).await;

    let response = client()
        .get(format!("{}/other", net.uri()))
        .send()
        .await
        .expect("answered");
    let status = response.status();
    let text = response.text().await.expect("body");

    assert_eq!(status, 404);
    assert!(
        text.contains("GET /other matched no route of scenario `s`"),
        "{text}"
    );
    assert!(
        text.contains("r: 1 of 2 matchers hold; wants path /r"),
        "{text}"
    );
    assert_eq!(net.journal()[0].route, None);
}

#[deterministic_test]
#[should_panic(expected = "1 requests matched no route of scenario `s`")]
async fn assert_no_unmatched_lists_the_strays(_ctx: &TestContext) {
    let net = start(&one_route("ok", "[]")).await;
    client()
        .delete(format!("{}/r", net.uri()))
        .send()
        .await
        .expect("answered");

    net.assert_no_unmatched();
}

#[deterministic_test]
#[should_panic(expected = "DELETE /r matched no route of scenario `s` in state `started`")]
async fn fail_fast_mode_panics_with_the_nearest_routes(_ctx: &TestContext) {
    let scenario = one_route("ok", "[]").scenario("s").expect("scenario");
    let net = MockNet::builder()
        .scenario(scenario)
        .fail_on_unmatched(true)
        .seed(Seed::new(1))
        .start()
        .await
        .expect("starts");

    client()
        .delete(format!("{}/r", net.uri()))
        .send()
        .await
        .expect("answered");
    drop(net);
}

#[deterministic_test]
async fn trace_is_propagated_when_each_request_has_its_own_parent(_ctx: &TestContext) {
    let net = start(&one_route("ok", "[]")).await;

    for parent in ["00f067aa0ba902b7", "00f067aa0ba902b8"] {
        get_with_traceparent(&net, Some(format!("00-{TRACE}-{parent}-01"))).await;
    }

    net.assert_trace_propagated();
    assert_eq!(
        net.journal()[0]
            .traceparent
            .map(|parent| parent.trace_id().to_string()),
        Some(TRACE.to_string())
    );
}

#[deterministic_test]
#[should_panic(expected = "requests #0 and #1 share the parent id 00f067aa0ba902b7")]
async fn trace_propagation_rejects_a_reused_parent_id(_ctx: &TestContext) {
    let net = start(&one_route("ok", "[]")).await;
    for _ in 0..2 {
        get_with_traceparent(&net, Some(format!("00-{TRACE}-00f067aa0ba902b7-01"))).await;
    }

    net.assert_trace_propagated();
}

#[deterministic_test]
#[should_panic(expected = "request #1 has an invalid traceparent \"00-zz\"")]
async fn trace_propagation_rejects_an_invalid_header(_ctx: &TestContext) {
    let net = start(&one_route("ok", "[]")).await;
    get_with_traceparent(&net, Some(format!("00-{TRACE}-00f067aa0ba902b7-01"))).await;
    get_with_traceparent(&net, Some("00-zz".into())).await;

    net.assert_trace_propagated();
}

#[deterministic_test]
#[should_panic(expected = "request #1 belongs to trace")]
async fn trace_propagation_rejects_a_second_trace(_ctx: &TestContext) {
    let net = start(&one_route("ok", "[]")).await;
    get_with_traceparent(&net, Some(format!("00-{TRACE}-00f067aa0ba902b7-01"))).await;
    get_with_traceparent(
        &net,
        Some("00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b8-01".into()),
    )
    .await;

    net.assert_trace_propagated();
}

#[deterministic_test]
async fn head_request_gets_the_head_without_a_body(_ctx: &TestContext) {
    let net = start(&catalog(
        r#"{"scenarios": {"s": {"routes": [{"name": "r", "path": "/r", "response": {"text": "hello"}}]}}}"#,
    ))
    .await;

    let received = crate::support::raw_exchange(
        &net,
        b"HEAD /r HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n",
    )
    .await
    .expect("answered");

    let text = String::from_utf8(received).expect("ascii");
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("content-length: 5\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "{text}");
}

#[deterministic_test]
async fn no_content_response_has_no_content_length(_ctx: &TestContext) {
    let net = start(&catalog(
        r#"{"scenarios": {"s": {"routes": [{"name": "r", "path": "/r", "response": {"status": 204}}]}}}"#,
    ))
    .await;

    let received =
        crate::support::raw_exchange(&net, b"GET /r HTTP/1.1\r\nconnection: close\r\n\r\n")
            .await
            .expect("answered");

    let text = String::from_utf8(received).expect("ascii");
    assert!(text.starts_with("HTTP/1.1 204 No Content\r\n"), "{text}");
    assert!(!text.contains("content-length"), "{text}");
}

#[deterministic_test]
async fn expect_continue_gets_100_before_the_body_is_sent(_ctx: &TestContext) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let net = start(&catalog(
        r#"{"scenarios": {"s": {"routes": [{"name": "r", "path": "/r", "response": {"status": 201}}]}}}"#,
    ))
    .await;
    let mut stream = tokio::net::TcpStream::connect(net.addr())
        .await
        .expect("connects");

    stream
        .write_all(b"PUT /r HTTP/1.1\r\ncontent-length: 4\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n")
        .await
        .expect("head sent");
    let mut interim = [0u8; 25];
    stream
        .read_exact(&mut interim)
        .await
        .expect("interim response");
    stream.write_all(b"body").await.expect("body sent");
    let mut rest = String::new();
    stream
        .read_to_string(&mut rest)
        .await
        .expect("final response");

    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    assert!(rest.starts_with("HTTP/1.1 201 Created\r\n"), "{rest}");
    assert_eq!(net.journal()[0].body, b"body");
}

#[deterministic_test]
#[should_panic(
    expected = "called 0 times, expected 1 (seed 0x0000000000000003); the scenario has no such route, only: r"
)]
async fn assert_called_on_an_unknown_route_lists_the_routes(_ctx: &TestContext) {
    let net = MockNet::builder()
        .scenario(one_route("ok", "[]").scenario("s").expect("scenario"))
        .seed(Seed::new(3))
        .start()
        .await
        .expect("starts");

    net.assert_called("charge", 1);
}

#[deterministic_test]
async fn check_called_returns_what_assert_called_would_panic_with(_ctx: &TestContext) {
    let net = MockNet::builder()
        .scenario(one_route("ok", "[]").scenario("s").expect("scenario"))
        .seed(Seed::new(3))
        .start()
        .await
        .expect("starts");
    get_with_traceparent(&net, None).await;

    let right = net.check_called("r", 1);
    let err = net.check_called("r", 2).expect_err("one call, not two");

    assert!(right.is_ok(), "{right:?}");
    assert_eq!(err.kind(), ErrorKind::CallCount);
    assert_eq!(
        (err.scenario(), err.route(), err.seed()),
        (Some("s"), Some("r"), Some(Seed::new(3)))
    );
    assert_eq!(
        err.to_string(),
        "route `r` of scenario `s` was called 1 times, expected 2 (seed 0x0000000000000003)"
    );
}

#[deterministic_test]
async fn assertion_failure_says_how_to_reproduce_with_the_run_seed(ctx: &TestContext) {
    let net = start(&one_route("ok", "[]")).await;
    get_with_traceparent(&net, None).await;

    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        net.assert_called("r", 2);
    }))
    .expect_err("one call, not two");

    let message = panic
        .downcast_ref::<String>()
        .expect("a formatted panic message");
    let expected = format!(
        "steadfast: route `r` of scenario `s` was called 1 times, expected 2 (seed {})\n\
         reproduce: run test `{}` with STEADFAST_SEED={}; mocknet's fault seed {} derives from it\n\
         journal:\n  #0 GET /r at 0ns -> r 200",
        net.seed(),
        ctx.name(),
        ctx.run_seed(),
        net.seed()
    );
    assert_eq!(message, &expected);
}

#[deterministic_test]
#[should_panic(
    expected = "reproduce: the faults follow MockNetBuilder::seed(0x0000000000000003), the same on every run"
)]
async fn assertion_failure_with_an_explicit_seed_names_it(_ctx: &TestContext) {
    let net = MockNet::builder()
        .scenario(one_route("ok", "[]").scenario("s").expect("scenario"))
        .seed(Seed::new(3))
        .start()
        .await
        .expect("starts");

    net.assert_no_unmatched();
    net.assert_called("r", 1);
}

#[deterministic_test]
async fn check_no_unmatched_names_the_first_strays(_ctx: &TestContext) {
    let net = start(&one_route("ok", "[]")).await;
    net.check_no_unmatched().expect("nothing yet");
    for i in 0..6 {
        client()
            .get(format!("{}/other?page={i}", net.uri()))
            .send()
            .await
            .expect("answered");
    }

    let err = net.check_no_unmatched().expect_err("six strays");

    assert_eq!(err.kind(), ErrorKind::Unmatched);
    assert_eq!(
        err.to_string(),
        format!(
            "6 requests matched no route of scenario `s` (seed {}): GET /other?page=0, \
             GET /other?page=1, GET /other?page=2, GET /other?page=3, GET /other?page=4, …",
            net.seed()
        )
    );
}

#[deterministic_test]
async fn fail_fast_check_reports_the_stray_once_and_dropping_then_is_quiet(_ctx: &TestContext) {
    let scenario = one_route("ok", "[]").scenario("s").expect("scenario");
    let net = MockNet::builder()
        .scenario(scenario)
        .fail_on_unmatched(true)
        .seed(Seed::new(1))
        .start()
        .await
        .expect("starts");
    client()
        .delete(format!("{}/r", net.uri()))
        .send()
        .await
        .expect("answered");

    let first = net
        .check_called("r", 0)
        .expect_err("a stray in fail-fast mode");
    let second = net.check_called("r", 0);

    assert_eq!(first.kind(), ErrorKind::Unmatched);
    assert_eq!(
        first.to_string(),
        "DELETE /r matched no route of scenario `s` in state `started` (seed 0x0000000000000001)"
    );
    assert!(second.is_ok(), "{second:?}");
    // The stray was reported, so dropping the server must not panic.
    drop(net);
}

#[deterministic_test]
async fn check_trace_propagated_names_the_request_without_one(_ctx: &TestContext) {
    let net = start(&one_route("ok", "[]")).await;
    get_with_traceparent(&net, Some(format!("00-{TRACE}-00f067aa0ba902b7-01"))).await;
    get_with_traceparent(&net, None).await;

    let err = net.check_trace_propagated().expect_err("second has none");

    assert_eq!(
        (err.kind(), err.scenario()),
        (ErrorKind::TracePropagation, Some("s"))
    );
    assert_eq!(
        err.to_string(),
        "trace context was not propagated in scenario `s`: request #1 has no traceparent"
    );
}
