//! The W3C suite's header cases run directly against the propagator, the
//! way the conformance service uses it.

use steadfast_tracing_core::ids::{IdGenerator, SplitMix64};
use steadfast_tracing_core::{Propagator, TraceState, extract};

use crate::w3c_cases::{cases, check};

#[test]
fn every_suite_case_passes_through_extract_and_inject() {
    let propagator = Propagator::new();
    let mut ids = IdGenerator::new(SplitMix64::new(2024));
    let mut failures = Vec::new();
    let all = cases();
    for case in &all {
        let server = propagator.extract_or_start(&case.headers, &mut ids);
        let call = server.child(&mut ids);
        let mut outgoing: Vec<(String, String)> = Vec::new();
        propagator.inject(&call, &mut outgoing);
        if let Err(e) = check(case, &outgoing) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn level_two_grammar_accepts_at_signs_anywhere_after_the_first_character() {
    // Level 2 key = (lcalpha / DIGIT) 0*255(keychar), keychar includes "@".
    for key in ["foo@", "foo@@bar", "foo@bar@baz", "1abc", "0@x"] {
        let ts = TraceState::parse(&format!("{key}=1")).unwrap();
        assert_eq!(ts.get(key), Some("1"), "key {key:?}");
    }
    assert!(TraceState::parse("@foo=1").is_err());
}

#[test]
fn invalid_tracestate_is_dropped_but_the_valid_traceparent_is_kept() {
    let headers = [
        (
            "traceparent",
            "00-12345678901234567890123456789012-1234567890123456-01",
        ),
        ("tracestate", "foo=1,FOO=2"),
    ];
    let cx = extract(&headers).unwrap();
    assert_eq!(
        cx.trace_id().to_string(),
        "12345678901234567890123456789012"
    );
    assert!(cx.trace_state().is_empty());
    assert!(cx.is_remote());
}

#[test]
fn level_one_propagation_zeroes_the_random_flag() {
    let headers = [(
        "traceparent",
        "00-12345678901234567890123456789012-1234567890123456-03",
    )];
    let l1 = Propagator::new().level(steadfast_tracing_core::Level::One);
    assert_eq!(l1.extract(&headers).unwrap().flags().bits(), 0x01);
    assert_eq!(extract(&headers).unwrap().flags().bits(), 0x03);
}

#[test]
fn propagated_tracestate_is_truncated_to_512_dropping_long_members_first() {
    let long = "x".repeat(150);
    let mut members = vec![format!("long={long}")];
    members.extend((0..31).map(|i| format!("k{i:02}={}", "v".repeat(12))));
    let headers = [
        (
            "traceparent".to_string(),
            "00-12345678901234567890123456789012-1234567890123456-01".to_string(),
        ),
        ("tracestate".to_string(), members.join(",")),
    ];
    let cx = extract(&headers).unwrap();
    assert!(cx.trace_state().header_len() > 512);
    let mut out: Vec<(String, String)> = Vec::new();
    steadfast_tracing_core::inject(&cx, &mut out);
    let sent = &out.iter().find(|(k, _)| k == "tracestate").unwrap().1;
    assert!(sent.len() <= 512, "{} chars", sent.len());
    assert!(
        !sent.contains("long="),
        "the member over 128 chars goes first"
    );
    assert!(sent.starts_with("k00="));
    assert!(
        sent.contains("k29=") && !sent.contains("k30="),
        "then members are dropped from the right"
    );
}

/// Found by the `traceparent` fuzz target: opentelemetry-rust 0.33's propagator takes ids
/// shorter than the grammar's 32 and 16 hex digits; the specification refuses them.
#[test]
fn version_00_ids_shorter_than_the_grammar_are_refused() {
    for header in [
        "00-01c80319c-00f027aa0ba2b7-00",
        "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",
    ] {
        assert!(
            steadfast_tracing_core::TraceParent::parse(header).is_err(),
            "{header} parsed"
        );
    }
}
