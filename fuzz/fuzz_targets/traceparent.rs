//! `traceparent`: parse, and for what parses, format and parse again to the same value. For
//! version-00 headers, accept exactly what the specification's grammar accepts, and exactly
//! what opentelemetry's propagator accepts where it reads the grammar strictly.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use steadfast::tracing_core::TraceParent;

/// W3C Trace Context §3.2 for version 00: `00-` 32 lowercase hex `-` 16 lowercase hex `-`
/// 2 lowercase hex, nothing after, trace id and parent id not all zeros; around it the
/// optional white space of an HTTP field value (spaces and tabs), which a parser trims.
fn spec_accepts_version_00(text: &str) -> bool {
    let text = text.trim_matches([' ', '\t']);
    let fields: Vec<&str> = text.split('-').collect();
    let hex = |field: &str, len: usize| {
        field.len() == len && field.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let nonzero = |field: &str| field.bytes().any(|b| b != b'0');
    matches!(fields.as_slice(), [version, trace, parent, flags]
        if *version == "00" && hex(trace, 32) && hex(parent, 16) && hex(flags, 2)
            && nonzero(trace) && nonzero(parent))
}

/// Whether the trace id, parent id and flags are lowercase hex of the grammar's lengths.
/// opentelemetry-rust reads the ids with `from_hex` (`u128::from_str_radix`), which also takes
/// shorter ids (`00-01c80319c-00f027aa0ba2b7-00`), upper-case digits and a leading `+`, and it
/// trims the value first (`…-0 ` passes as flags `0`), all found by this target; it is compared
/// only where it cannot do any of that.
fn has_strict_fields(text: &str) -> bool {
    let hex = |field: &str, len: usize| {
        field.len() == len && field.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let fields: Vec<&str> = text.split('-').collect();
    matches!(fields.as_slice(), [_, trace, parent, flags]
        if hex(trace, 32) && hex(parent, 16) && hex(flags, 2))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ours = TraceParent::parse(text);
    if let Ok(parent) = &ours {
        let again = TraceParent::parse(&parent.to_string()).expect("a formatted traceparent parses");
        assert_eq!(&again, parent);
    }
    // Later versions differ on purpose: the specification lets a parser read the 00 prefix
    // of a longer header.
    if text.trim_start_matches([' ', '\t']).starts_with("00-") {
        assert_eq!(ours.is_ok(), spec_accepts_version_00(text), "{text:?}: ours {ours:?}");
        if has_strict_fields(text) {
            let carrier = HashMap::from([("traceparent".to_string(), text.to_string())]);
            let context = TraceContextPropagator::new().extract(&carrier);
            let theirs = context.span().span_context().is_valid();
            assert_eq!(ours.is_ok(), theirs, "{text:?}: ours {ours:?}");
        }
    }
});
