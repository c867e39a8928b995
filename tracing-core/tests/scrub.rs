//! PII scrubbing: keys, value detectors, replacements, counts, ids untouched.

use steadfast_tracing_core::scrub::{Replacement, Scrubber};
use steadfast_tracing_core::span::{Event, Span, Status, Value};
use steadfast_tracing_core::{SpanId, TraceId};

fn scrubbed(input: &str) -> (String, usize) {
    let mut s = input.to_string();
    let n = Scrubber::new().scrub_str(&mut s);
    (s, n)
}

#[test]
fn each_detector_replaces_only_the_secret() {
    let cases = [
        ("mail ann.lee+x@mail.example.org.", "mail [REDACTED].", 1),
        ("card 4111-1111-1111-1111 ok", "card [REDACTED] ok", 1),
        ("amex 378282246310005", "amex [REDACTED]", 1),
        (
            "Authorization: Bearer abc.DEF-123_~+/=",
            "Authorization: Bearer [REDACTED]",
            1,
        ),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk end",
            "jwt [REDACTED] end",
            1,
        ),
        (
            "postgres://app:hunter2@db:5432/x",
            "postgres://[REDACTED]@db:5432/x",
            1,
        ),
        (
            "/file?X-Amz-Signature=abcd&x=1&sig=zz",
            "/file?X-Amz-Signature=[REDACTED]&x=1&sig=[REDACTED]",
            2,
        ),
    ];
    for (input, expected, count) in cases {
        assert_eq!(
            scrubbed(input),
            (expected.to_string(), count),
            "input {input:?}"
        );
    }
}

#[test]
fn look_alikes_are_left_alone() {
    for input in [
        "order 4111111111111112 (fails Luhn)",
        "id 123456789012",
        "user@localhost",
        "https://example.com/path?page=2",
        "http://host:8080/x",
        "bearer",
        "@handle",
    ] {
        assert_eq!(scrubbed(input), (input.to_string(), 0), "input {input:?}");
    }
}

#[test]
fn denied_keys_are_replaced_whole_unless_allowed_and_ids_are_never_touched() {
    let trace = TraceId::from_u128(0x4111_1111_1111_1111);
    let mut span = Span::new(
        trace,
        SpanId::from_u64(0x4111_1111_1111_1111),
        "GET /login?token=s3cr3t",
    )
    .with_parent(SpanId::from_u64(1))
    .with_attribute("http.request.header.Cookie", "a=b")
    .with_attribute("db.password", 1234)
    .with_attribute("session.id.public", "abc")
    .with_attribute("tags", vec!["ok", "x@y.io"])
    .with_event(
        Event::new("login", std::time::UNIX_EPOCH).with_attribute("user.email", "ann@example.com"),
    )
    .with_status(Status::error("denied for bob@example.com"));
    let n = Scrubber::new()
        .allow_key("session.id.public")
        .scrub_span(&mut span);
    assert_eq!(n, 6);
    assert_eq!(span.name, "GET /login?token=[REDACTED]");
    assert_eq!(
        span.attribute("http.request.header.Cookie"),
        Some(&Value::from("[REDACTED]"))
    );
    assert_eq!(
        span.attribute("db.password"),
        Some(&Value::from("[REDACTED]"))
    );
    assert_eq!(
        span.attribute("session.id.public"),
        Some(&Value::from("abc"))
    );
    assert_eq!(
        span.attribute("tags"),
        Some(&Value::from(vec!["ok", "[REDACTED]"]))
    );
    assert_eq!(
        span.events[0].attributes[0].value,
        Value::from("[REDACTED]")
    );
    assert_eq!(span.status, Status::error("denied for [REDACTED]"));
    assert_eq!(
        (span.trace_id, span.span_id),
        (trace, SpanId::from_u64(0x4111_1111_1111_1111))
    );
}

#[test]
fn keyed_hash_is_stable_per_key_and_differs_across_keys() {
    let a = Scrubber::new().replacement(Replacement::KeyedHash([1; 16]));
    let b = Scrubber::new().replacement(Replacement::KeyedHash([2; 16]));
    let run = |s: &Scrubber, input: &str| {
        let mut t = input.to_string();
        s.scrub_str(&mut t);
        t
    };
    let first = run(&a, "ann@example.com");
    assert!(
        first.starts_with("[hash:") && first.len() == "[hash:]".len() + 16,
        "{first}"
    );
    assert_eq!(run(&a, "ann@example.com"), first);
    assert_ne!(run(&a, "bob@example.com"), first);
    assert_ne!(run(&b, "ann@example.com"), first);
}

#[test]
fn value_detection_can_be_switched_off() {
    let mut s = "ann@example.com".to_string();
    assert_eq!(Scrubber::new().detect_values(false).scrub_str(&mut s), 0);
    assert_eq!(s, "ann@example.com");
}
