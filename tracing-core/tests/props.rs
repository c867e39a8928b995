//! Property tests: round trips, no panics on junk, tracestate invariants.

use proptest::prelude::*;
use steadfast_tracing_core::baggage::Baggage;
use steadfast_tracing_core::{SpanId, TraceFlags, TraceId, TraceParent, TraceState, extract};

fn key() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9_*/@-]{0,20}"
}

fn value() -> impl Strategy<Value = String> {
    // Printable ASCII without ',' and '=', not ending in a space.
    "[ -+--<>-~]{0,20}[!-+--<>-~]"
}

proptest! {
    #[test]
    fn traceparent_parse_of_format_is_identity(t in 1u128.., s in 1u64.., f in 0u8..4) {
        let tp = TraceParent::new(TraceId::from_u128(t), SpanId::from_u64(s), TraceFlags::from_bits(f)).unwrap();
        let text = tp.to_string();
        prop_assert_eq!(text.len(), 55);
        prop_assert_eq!(text.parse::<TraceParent>().unwrap(), tp);
    }

    #[test]
    fn traceparent_parser_never_panics(s in "\\PC{0,80}") {
        let _ = s.parse::<TraceParent>();
    }

    #[test]
    fn traceparent_parser_never_panics_on_near_misses(
        s in "[0-9a-fA-F.-]{2}-[0-9a-fA-F.]{30,34}-[0-9a-fA-F.]{14,18}-[0-9a-f.]{1,3}[-. a-z]{0,5}"
    ) {
        if let Ok(tp) = s.parse::<TraceParent>() {
            // Anything accepted re-formats as a 55-character version-00 value.
            prop_assert_eq!(tp.to_string().len(), 55);
        }
    }

    #[test]
    fn tracestate_parse_of_format_is_identity(
        members in proptest::collection::btree_map(key(), value(), 0..32)
    ) {
        let text: Vec<String> = members.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let ts = TraceState::parse(&text.join(",")).unwrap();
        prop_assert_eq!(ts.len(), members.len());
        prop_assert_eq!(TraceState::parse(&ts.to_string()).unwrap(), ts);
    }

    #[test]
    fn tracestate_parser_never_panics(s in "\\PC{0,300}") {
        let _ = TraceState::parse(&s);
    }

    #[test]
    fn tracestate_insertions_keep_the_invariants(
        start in proptest::collection::btree_map(key(), value(), 0..32),
        ops in proptest::collection::vec((key(), value()), 1..50),
    ) {
        let text: Vec<String> = start.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut ts = TraceState::parse(&text.join(",")).unwrap();
        for (k, v) in ops {
            ts.insert(&k, &v).unwrap();
            prop_assert!(ts.len() <= 32);
            prop_assert_eq!(ts.iter().next(), Some((k.as_str(), v.as_str())), "the key moves to the front");
            let mut keys: Vec<&str> = ts.iter().map(|(k, _)| k).collect();
            let n = keys.len();
            keys.sort_unstable();
            keys.dedup();
            prop_assert_eq!(keys.len(), n, "no duplicate keys");
        }
    }

    #[test]
    fn truncation_always_fits_and_keeps_order(
        members in proptest::collection::btree_map(key(), "[a-z]{1,200}", 0..32),
        max in 0usize..600,
    ) {
        let text: Vec<String> = members.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut ts = TraceState::parse(&text.join(",")).unwrap();
        let before: Vec<(String, String)> = ts.iter().map(|(k, v)| (k.into(), v.into())).collect();
        ts.truncate_to(max);
        prop_assert!(ts.header_len() <= max);
        let after: Vec<(String, String)> = ts.iter().map(|(k, v)| (k.into(), v.into())).collect();
        let mut it = before.iter();
        prop_assert!(after.iter().all(|m| it.any(|b| b == m)), "survivors keep their order");
    }

    #[test]
    fn extract_never_panics_on_arbitrary_headers(
        headers in proptest::collection::vec(("(?i)(traceparent|tracestate|x)", "\\PC{0,80}"), 0..5)
    ) {
        let _ = extract(&headers);
    }

    #[test]
    fn baggage_round_trips_arbitrary_unicode_values(
        entries in proptest::collection::btree_map("[A-Za-z0-9_.-]{1,10}", "\\PC{0,20}", 0..10)
    ) {
        let mut bag = Baggage::new();
        for (k, v) in &entries {
            bag.insert(k, v).unwrap();
        }
        prop_assert_eq!(Baggage::parse(&bag.to_string()).unwrap(), bag);
    }

    #[test]
    fn baggage_parser_never_panics(s in "\\PC{0,200}") {
        let _ = Baggage::parse(&s);
    }
}
