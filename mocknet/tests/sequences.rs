//! Sequences of faults and responses, from the builder and from catalog JSON: the client sees
//! the exact `io::ErrorKind` or status of each attempt; and the connection-level faults.

use std::io::ErrorKind;
use std::time::Duration;

use steadfast_determinism::{Seed, TestContext, deterministic_test};
use steadfast_mocknet::matchers::{method, path};
use steadfast_mocknet::{
    ErrorKind as MockErrorKind, Fault, FaultKind, Mock, MockNet, ResponseTemplate, Step,
};
use tokio::io::AsyncReadExt;

use crate::support::{catalog, chain, client, io_kind, start};

/// What the client saw: a status, or the kind of the I/O error.
#[derive(Debug, PartialEq)]
enum Seen {
    Status(u16),
    Io(Option<ErrorKind>),
}

async fn attempt(url: &str) -> Seen {
    match client().post(url).send().await {
        Ok(response) => Seen::Status(response.status().as_u16()),
        Err(err) => Seen::Io(io_kind(&err)),
    }
}

#[deterministic_test]
async fn reset_reset_then_201_from_the_builder(_ctx: &TestContext) {
    let net = MockNet::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/charges"))
        .respond_with(ResponseTemplate::new(201))
        .sequence([
            Step::fault(Fault::reset()),
            Step::fault(Fault::reset()),
            Step::respond(),
        ])
        .named("charge")
        .mount(&net)
        .await;
    let url = format!("{}/v1/charges", net.uri());

    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(attempt(&url).await);
    }

    let reset = Seen::Io(Some(ErrorKind::ConnectionReset));
    assert_eq!(
        seen,
        [
            reset,
            Seen::Io(Some(ErrorKind::ConnectionReset)),
            Seen::Status(201),
            Seen::Status(201)
        ]
    );
    let faults: Vec<Vec<FaultKind>> = net.journal().into_iter().map(|e| e.faults).collect();
    assert_eq!(
        faults,
        [
            vec![FaultKind::Reset],
            vec![FaultKind::Reset],
            vec![],
            vec![]
        ]
    );
}

#[deterministic_test]
async fn retry_after_then_200_from_catalog_json(_ctx: &TestContext) {
    let net = start(&catalog(
        r#"{"scenarios": {"s": {"routes": [{"name": "quote", "path": "/quote",
            "response": {"text": "1.08"},
            "sequence": [{"faults": [{"kind": "status", "status": 503, "retry_after_s": 2}]},
                         {"response": {"status": 429, "headers": {"retry-after": "1"}}},
                         {}]}]}}}"#,
    ))
    .await;
    let url = format!("{}/quote", net.uri());

    let mut seen = Vec::new();
    for _ in 0..3 {
        let response = client().get(&url).send().await.expect("answered");
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|value| value.to_str().expect("ascii").to_string());
        seen.push((response.status().as_u16(), retry_after));
    }

    assert_eq!(
        seen,
        [
            (503, Some("2".to_string())),
            (429, Some("1".to_string())),
            (200, None)
        ]
    );
}

#[test]
fn an_empty_sequence_in_json_is_an_error() {
    let err = steadfast_mocknet::Catalog::from_json(
        "c.json",
        r#"{"scenarios": {"s": {"routes": [{"name": "r", "response": {}, "sequence": []}]}}}"#,
    )
    .expect_err("empty");
    let bad_step = steadfast_mocknet::Catalog::from_json(
        "c.json",
        r#"{"scenarios": {"s": {"routes": [{"name": "r", "response": {},
            "sequence": [{}, {"faults": [{"kind": "reset", "probability": 3}]}]}]}}}"#,
    )
    .expect_err("bad probability");

    assert_eq!(err.kind(), MockErrorKind::InvalidRoute);
    assert_eq!(
        err.to_string(),
        "invalid catalog c.json: scenario `s`, route `r`: sequence is empty"
    );
    assert_eq!(
        bad_step.to_string(),
        "invalid catalog c.json: scenario `s`, route `r`: \
         sequence[1].faults[0]: reset fault: probability 3 is outside 0..=1"
    );
}

#[deterministic_test]
async fn refused_connections_are_a_real_econnrefused_for_the_virtual_period(_ctx: &TestContext) {
    let net = MockNet::start().await;
    Mock::given(path("/v1/charges"))
        .respond_with(ResponseTemplate::new(201))
        .sequence([
            Step::fault(Fault::reset()).and_fault(Fault::refused(Duration::from_secs(3))),
            Step::respond(),
        ])
        .mount(&net)
        .await;
    let url = format!("{}/v1/charges", net.uri());

    let first = attempt(&url).await;
    let during = attempt(&url).await;
    let raw = tokio::net::TcpStream::connect(net.addr())
        .await
        .expect_err("refused");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let still = attempt(&url).await;
    // Past the end of the period (at its very instant the listener may not be back yet).
    tokio::time::sleep(Duration::from_millis(1001)).await;
    let after = attempt(&url).await;

    assert_eq!(first, Seen::Io(Some(ErrorKind::ConnectionReset)));
    assert_eq!(during, Seen::Io(Some(ErrorKind::ConnectionRefused)));
    assert_eq!(raw.kind(), ErrorKind::ConnectionRefused);
    assert_eq!(still, Seen::Io(Some(ErrorKind::ConnectionRefused)));
    assert_eq!(after, Seen::Status(201));
    assert_eq!(
        net.journal()[0].faults,
        [FaultKind::Reset, FaultKind::Refused]
    );
}

#[deterministic_test]
async fn close_on_accept_closes_the_next_connections_before_reading(_ctx: &TestContext) {
    let net = MockNet::start().await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(200))
        .sequence([Step::fault(Fault::close_on_accept(3)), Step::respond()])
        .mount(&net)
        .await;
    let url = format!("{}/r", net.uri());

    let first = client().get(&url).send().await.expect("answered").status();
    let mut closed = Vec::new();
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(net.addr())
            .await
            .expect("accepted");
        let mut received = Vec::new();
        closed.push(stream.read_to_end(&mut received).await.map(|_| received));
    }
    let err = client()
        .get(&url)
        .send()
        .await
        .expect_err("closed before reading");
    let open = client().get(&url).send().await.expect("answered").status();

    assert_eq!(first, 200);
    assert_eq!(
        closed.iter().map(|r| r.as_deref().ok()).collect::<Vec<_>>(),
        [Some(&[][..]), Some(&[][..])]
    );
    // hyper's `Canceled`: the connection closed before the request could be sent. reqwest does
    // not expose hyper's error kinds, so its message says it.
    assert!(
        err.is_request() && chain(&err).contains("(Canceled)"),
        "{}",
        chain(&err)
    );
    assert_eq!(open, 200);
    // The closed connections never sent a request.
    assert_eq!(net.journal().len(), 2);
}

/// The faults of 1,000 requests to a mock whose sequence draws probabilistic faults.
async fn sequence_faults(seed: u64) -> Vec<Vec<FaultKind>> {
    let net = MockNet::builder().seed(seed).start().await.expect("starts");
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(200))
        .sequence([
            Step::fault(Fault::status(503).probability(0.5)),
            Step::fault(Fault::status(500).probability(0.2)).and_fault(Fault::jitter_uniform(
                Duration::ZERO,
                Duration::from_millis(5),
            )),
        ])
        .fault(Fault::latency(Duration::from_millis(1)).probability(0.3))
        .mount(&net)
        .await;
    let client = client();
    for _ in 0..1000 {
        client
            .get(format!("{}/r", net.uri()))
            .send()
            .await
            .expect("answered");
    }
    net.journal()
        .into_iter()
        .map(|entry| entry.faults)
        .collect()
}

#[deterministic_test]
async fn same_seed_gives_the_same_sequence_over_1000_requests(_ctx: &TestContext) {
    let first = sequence_faults(42).await;
    let second = sequence_faults(42).await;
    let other = sequence_faults(43).await;

    assert_eq!(first.len(), 1000);
    assert_eq!(first, second);
    assert_ne!(first, other);
    let errors = first
        .iter()
        .filter(|faults| faults.contains(&FaultKind::Status))
        .count();
    // Step 1 repeats: about a fifth of the requests get a 500.
    assert!((120..290).contains(&errors), "{errors} of 1000");
    let _ = Seed::new(0);
}

/// The statuses and faults of 300 requests to `net`'s `GET /r`.
async fn outcomes(net: &MockNet) -> Vec<(Option<u16>, Vec<FaultKind>)> {
    let client = client();
    for _ in 0..300 {
        let _ = client.get(format!("{}/r", net.uri())).send().await;
    }
    net.journal()
        .into_iter()
        .map(|entry| (entry.status, entry.faults))
        .collect()
}

#[deterministic_test]
async fn builder_faults_draw_as_the_same_catalog_faults_do(_ctx: &TestContext) {
    let json = catalog(
        r#"{"scenarios": {"s": {"routes": [{"name": "r", "method": "GET", "path": "/r",
            "response": {"text": "ok"},
            "faults": [{"kind": "status", "status": 503, "retry_after_s": 1, "probability": 0.2},
                       {"kind": "jitter-lognormal", "p50_ms": 5, "p99_ms": 50, "probability": 0.5},
                       {"kind": "truncated", "probability": 0.1}]}]}}}"#,
    );
    let from_json = MockNet::builder()
        .scenario(json.scenario("s").expect("scenario"))
        .seed(9)
        .start()
        .await
        .expect("starts");
    let from_builder = MockNet::builder().seed(9).start().await.expect("starts");
    Mock::given(method("GET"))
        .and(path("/r"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("ok", "text/plain; charset=utf-8"))
        .fault(Fault::status(503).retry_after(1).probability(0.2))
        .fault(
            Fault::jitter_lognormal(Duration::from_millis(5), Duration::from_millis(50))
                .probability(0.5),
        )
        .fault(Fault::truncated().probability(0.1))
        .named("r")
        .mount(&from_builder)
        .await;

    let expected = outcomes(&from_json).await;
    let actual = outcomes(&from_builder).await;

    assert_eq!(actual, expected);
    assert!(expected.iter().any(|(status, _)| *status == Some(503)));
    let (mut built, loaded) = (from_builder.scenario(), from_json.scenario());
    assert_ne!(built, loaded, "the names differ: mocks and s");
    built = steadfast_mocknet::Catalog::from_json(
        "b.json",
        &built
            .to_catalog_json()
            .expect("json")
            .replace("\"mocks\"", "\"s\""),
    )
    .and_then(|c| c.scenario("s"))
    .expect("reads");
    assert_eq!(built, loaded);
}
