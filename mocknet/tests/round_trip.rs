//! Scenarios built in Rust or loaded from a catalog, written out as catalog JSON and read back
//! equal; what the catalog cannot express is an error naming the mock.

use std::time::Duration;

use steadfast_determinism::{TestContext, deterministic_test};
use steadfast_mocknet::matchers::{
    body_partial_json, header, method, path, path_prefix, path_regex, query_param,
};
use steadfast_mocknet::{
    Catalog, ErrorKind, Fault, Mock, MockNet, ResponseTemplate, Scenario, Step,
};

const PAYMENTS: &str = include_str!("../../examples/payments/catalog.json");

/// Writes `scenario` out, reads it back, and checks both that it is equal and that writing it
/// again gives the same text.
fn round_trip(scenario: &Scenario) -> String {
    let json = scenario
        .to_catalog_json()
        .unwrap_or_else(|err| panic!("{err}"));
    let again = Catalog::from_json("round-trip.json", &json)
        .and_then(|catalog| catalog.scenario(scenario.name()))
        .unwrap_or_else(|err| panic!("{err}\n{json}"));

    assert_eq!(&again, scenario, "{json}");
    assert_eq!(again.to_catalog_json().expect("writes again"), json);
    json
}

#[deterministic_test]
async fn a_builder_scenario_reads_back_equal(_ctx: &TestContext) {
    let net = MockNet::start().await;
    let ms = Duration::from_millis;
    Mock::given(path("/v1/charges"))
        .and(query_param("currency", "eur"))
        .and(header("x-team", "payments"))
        .and(method("POST"))
        .and(body_partial_json(serde_json::json!({"amount": 500})))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("x-request-id", "req_1")
                .set_body_json(serde_json::json!({"id": "ch_1"}))
                .set_delay(ms(20)),
        )
        .fault(Fault::jitter_uniform(ms(1), ms(9)).probability(0.5))
        .fault(Fault::jitter_lognormal(ms(80), ms(1200)))
        .fault(Fault::status(503).retry_after(1).probability(0.1))
        .fault(Fault::dribble(16, ms(5)).probability(0.25))
        .fault(Fault::bandwidth(4096).probability(0.125))
        .sequence([
            Step::fault(Fault::reset()).and_fault(Fault::refused(ms(500))),
            Step::fault(Fault::empty()),
            Step::fault(Fault::malformed()),
            Step::fault(Fault::truncated()),
            Step::fault(Fault::close_on_accept(2)),
            Step::fault(Fault::hang().probability(0.0)),
            Step::respond_with(ResponseTemplate::new(429).insert_header("retry-after", "2")),
            Step::respond(),
        ])
        .up_to_n_times(9)
        .with_priority(2)
        .expect(0..=9)
        .named("charge")
        .mount(&net)
        .await;
    Mock::given(path_prefix("/v1/refunds"))
        .respond_with(ResponseTemplate::new(204))
        .when_state("charged")
        .set_state("refunded")
        .expect(0..)
        .mount(&net)
        .await;
    Mock::given(path_regex(r"^/health/\d+$"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&net)
        .await;

    let json = round_trip(&net.scenario());

    assert!(json.contains(r#""kind": "close-on-accept""#), "{json}");
    assert!(json.contains(r#""expect": {"#), "{json}");
}

#[test]
fn catalog_scenarios_with_callbacks_and_overlays_read_back_equal() {
    let catalog = Catalog::from_json("payments.json", PAYMENTS).expect("catalog");
    let mut names = 0;
    for name in catalog.scenario_names() {
        round_trip(&catalog.scenario(name).expect("scenario"));
        names += 1;
    }
    let degraded = catalog
        .scenario("happy-path")
        .expect("scenario")
        .with_overlay(&catalog.overlay("degraded-network").expect("built in"));

    round_trip(&degraded);
    assert_eq!(names, 3);
}

#[deterministic_test]
async fn wiremock_matchers_and_responders_are_not_representable(_ctx: &TestContext) {
    let net = MockNet::start().await;
    Mock::given(wiremock::matchers::path("/a"))
        .respond_with(ResponseTemplate::new(200))
        .named("custom-matcher")
        .mount(&net)
        .await;
    let matcher = net
        .scenario()
        .to_catalog_json()
        .expect_err("custom matcher");

    let net = MockNet::start().await;
    Mock::given(path("/b"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .named("wiremock-template")
        .mount(&net)
        .await;
    let responder = net
        .scenario()
        .to_catalog_json()
        .expect_err("wiremock responder");

    assert_eq!(
        (matcher.kind(), matcher.route()),
        (ErrorKind::NotRepresentable, Some("custom-matcher"))
    );
    assert_eq!(
        matcher.to_string(),
        "route `custom-matcher` of scenario `mocks` cannot be written as catalog JSON: \
         custom matcher wiremock::matchers::PathExactMatcher; use steadfast_mocknet::matchers"
    );
    assert_eq!(
        responder.to_string(),
        "route `wiremock-template` of scenario `mocks` cannot be written as catalog JSON: \
         wiremock responder wiremock::response_template::ResponseTemplate; \
         use steadfast_mocknet::ResponseTemplate"
    );
}

#[test]
fn the_same_scenario_always_gives_the_same_text() {
    let scenario = Catalog::from_json("payments.json", PAYMENTS)
        .and_then(|catalog| catalog.scenario("charge-failure"))
        .expect("scenario");

    let first = scenario.to_catalog_json().expect("writes");
    let second = scenario.clone().to_catalog_json().expect("writes");

    assert_eq!(first, second);
    // Keys are sorted: "headers" before "status" in every response.
    assert!(
        first.find(r#""headers""#) < first.find(r#""status""#),
        "{first}"
    );
}
