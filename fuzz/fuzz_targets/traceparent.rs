//! `traceparent`: parse, and for what parses, format and parse again to the same value; and
//! accept or reject exactly what opentelemetry's propagator does for version-00 headers.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use steadfast::tracing_core::TraceParent;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ours = TraceParent::parse(text);
    if let Ok(parent) = &ours {
        let again = TraceParent::parse(&parent.to_string()).expect("a formatted traceparent parses");
        assert_eq!(&again, parent);
    }
    // Version 00 has one exact form, so both must agree on it; later versions differ on
    // purpose (the specification lets a parser read the 00 prefix of a longer header).
    if text.starts_with("00-") {
        let carrier = HashMap::from([("traceparent".to_string(), text.to_string())]);
        let context = TraceContextPropagator::new().extract(&carrier);
        let theirs = context.span().span_context().is_valid();
        assert_eq!(ours.is_ok(), theirs, "{text:?}: ours {ours:?}");
    }
});
