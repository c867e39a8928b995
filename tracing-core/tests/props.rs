//! Property tests: round trips, no panics on junk, tracestate invariants.

use proptest::prelude::*;
use steadfast_tracing_core::baggage::Baggage;
use steadfast_tracing_core::sampling::{parse_threshold, threshold_for_probability};
use steadfast_tracing_core::{
    InvalidMember, KeyGrammar, Propagator, SpanId, TraceFlags, TraceId, TraceParent, TraceState,
    extract,
};

const TRACEPARENT: &str = "00-12345678901234567890123456789012-1234567890123456-01";

fn key() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9_*/@-]{0,20}"
}

fn value() -> impl Strategy<Value = String> {
    // Printable ASCII without ',' and '=', not ending in a space.
    "[ -+--<>-~]{0,20}[!-+--<>-~]"
}

/// Whether `key` matches the Level 2 ABNF, read straight from the spec:
/// `key = ( lcalpha / DIGIT ) 0*255 ( keychar )`,
/// `keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"`.
fn abnf_key(key: &str) -> bool {
    let lcalpha_or_digit = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let keychar = |c: char| lcalpha_or_digit(c) || "_-*/@".contains(c);
    let mut chars = key.chars();
    chars.next().is_some_and(lcalpha_or_digit) && key.len() <= 256 && chars.all(keychar)
}

/// The `tracestate` rules read straight from the spec, slowly: split every
/// header on commas, trim spaces and tabs, skip empty members, split at the
/// first `=`, check key and value (refusing the header, or dropping the
/// member, as `invalid` says), keep the first member of each key, refuse
/// more than 32 members. Returns the canonical text.
fn model_tracestate(
    headers: &[String],
    grammar: KeyGrammar,
    invalid: InvalidMember,
) -> Option<String> {
    let key_char = |c: char| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-' | '*' | '/');
    let lower_or_digit = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let key_ok = |k: &str| match grammar {
        KeyGrammar::Level1 => match k.split_once('@') {
            None => {
                k.len() <= 256
                    && k.starts_with(|c: char| c.is_ascii_lowercase())
                    && k.chars().all(key_char)
            }
            Some((tenant, system)) => {
                (1..=241).contains(&tenant.len())
                    && tenant.starts_with(lower_or_digit)
                    && tenant.chars().all(key_char)
                    && (1..=14).contains(&system.len())
                    && system.starts_with(|c: char| c.is_ascii_lowercase())
                    && system.chars().all(key_char)
            }
        },
        _ => abnf_key(k),
    };
    let value_ok = |v: &str| {
        (1..=256).contains(&v.len())
            && v.chars()
                .all(|c| (' '..='~').contains(&c) && c != ',' && c != '=')
            && !v.ends_with(' ')
    };
    let mut members: Vec<(&str, &str)> = Vec::new();
    for header in headers {
        for member in header.split(',') {
            let member = member.trim_matches([' ', '\t']);
            if member.is_empty() {
                continue;
            }
            let Some((k, v)) = member
                .split_once('=')
                .filter(|(k, v)| key_ok(k) && value_ok(v))
            else {
                if invalid == InvalidMember::DropMember {
                    continue;
                }
                return None;
            };
            if !members.iter().any(|(seen, _)| *seen == k) {
                members.push((k, v));
            }
        }
    }
    if members.len() > 32 {
        return None;
    }
    Some(
        members
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// One `tracestate` member, usually well-formed, sometimes not, with the
/// characters that sit on the edges of the grammar.
fn member_text() -> impl Strategy<Value = String> {
    prop_oneof![
        40 => (key(), value()).prop_map(|(k, v)| format!("{k}={v}")),
        1 => "[a-z]{1,3}@[a-z0-9]{0,15}=[a-z]{1,3}",
        1 => "[a-zA-Z0-9@=_*/ \t~\x7f\u{e9}-]{0,12}",
        1 => "[a-z]{1,9}=[!-~ \t]{0,9}",
        1 => "[a-z]{250,260}=[a-z]{1,3}|[a-z]=[a-z]{250,260}",
    ]
}

/// What goes between members: a comma, sometimes with spaces, tabs or
/// empty members around it.
fn separator() -> impl Strategy<Value = String> {
    prop_oneof![4 => Just(",".to_owned()), 1 => "[ \\t]{0,2},[ \\t,]{0,2}"]
}

/// Header values joined from members with commas, spaces, tabs and empty
/// members between them.
fn tracestate_headers() -> impl Strategy<Value = Vec<String>> {
    let header = (
        "[ \t,]{0,2}",
        // Few members, or around the limit of 32.
        prop_oneof![
            4 => proptest::collection::vec((member_text(), separator()), 0..8),
            1 => proptest::collection::vec((member_text(), separator()), 28..36),
        ],
    )
        .prop_map(|(lead, members)| {
            let mut text = lead;
            for (member, separator) in members {
                text.push_str(&member);
                text.push_str(&separator);
            }
            text
        });
    proptest::collection::vec(header, 1..3)
}

/// A sampling probability within [2^-56, 1): uniform, tiny (many leading
/// `f`s in its threshold) or close to 1 (many leading `0`s).
fn probability() -> impl Strategy<Value = f64> {
    let unit = (1u64..(1 << 53)).prop_map(|m| m as f64 / 2f64.powi(53));
    prop_oneof![
        unit.clone(),
        (unit.clone(), 1..=56i32).prop_map(|(u, k)| (u * 2f64.powi(-k)).max(2f64.powi(-56))),
        (unit, 1..=53i32).prop_map(|(u, k)| 1.0 - (u * 2f64.powi(-k)).max(2f64.powi(-53))),
    ]
}

/// `round(p * 2^56)` from the float's bits with integer arithmetic, ties
/// away from zero like `f64::round`.
fn scaled_exactly(p: f64) -> u64 {
    let bits = p.to_bits();
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    let exp = ((bits >> 52) & 0x7ff) as i32 - 1075 + 56;
    if exp >= 0 {
        mantissa << exp
    } else if exp > -64 {
        (mantissa + (1 << (-exp - 1))) >> -exp
    } else {
        0
    }
}

/// Leading hex digits that carry no information, counted the way the
/// collector's `pkg/sampling` does: how often `x` can be multiplied by 16
/// and stay below 1.
fn zero_digits(mut x: f64) -> u32 {
    let mut n = 0;
    while x * 16.0 < 1.0 {
        x *= 16.0;
        n += 1;
    }
    n
}

proptest! {
    #[test]
    fn thresholds_round_the_exact_threshold_to_the_significant_digits_asked_for(
        p in probability(),
        precision in 1u32..=14,
    ) {
        let th = threshold_for_probability(p, precision).unwrap();
        let t = parse_threshold(&th).unwrap();
        let exact = (1u64 << 56) - scaled_exactly(p);
        let digits = (precision + zero_digits(p).max(zero_digits(1.0 - p))).min(14);
        let unit = 1u64 << (4 * (14 - digits));
        prop_assert!(th.len() as u32 <= digits, "{} has more than {} digits", th, digits);
        prop_assert_eq!(t % unit, 0, "{} is not a multiple of {:x}", th, unit);
        prop_assert!(t.abs_diff(exact) <= unit / 2, "{} is off exact {:014x}", th, exact);
        prop_assert!(t > 0, "p={} below 1 never becomes 100 %", p);
    }

    #[test]
    fn tracestate_parser_agrees_with_the_spec_model(headers in tracestate_headers()) {
        for grammar in [KeyGrammar::Level2, KeyGrammar::Level1] {
            let values = || headers.iter().map(String::as_str);
            for (invalid, ours) in [
                (InvalidMember::DiscardAll, TraceState::parse_headers_with(values(), grammar)),
                (InvalidMember::DropMember, TraceState::parse_headers_lenient(values(), grammar)),
            ] {
                let model = model_tracestate(&headers, grammar, invalid);
                prop_assert_eq!(
                    ours.as_ref().ok().map(TraceState::to_string),
                    model,
                    "{:?} with {:?}, {:?}: ours {:?}",
                    headers,
                    grammar,
                    invalid,
                    ours
                );
            }
        }
    }

    #[test]
    fn every_key_the_abnf_allows_is_kept(
        key in "[a-z0-9][a-z0-9_*/@-]{0,255}",
        value in value(),
        spaced in any::<bool>(),
    ) {
        let header = if spaced {
            format!("a=1 ,\t{key}={value}\t, z=2")
        } else {
            format!("a=1,{key}={value},z=2")
        };
        for (grammar_name, ts) in [
            ("strict", TraceState::parse(&header)),
            ("lenient", TraceState::parse_headers_lenient([header.as_str()], KeyGrammar::Level2)),
        ] {
            let ts = ts.map_err(|e| TestCaseError::fail(format!("{grammar_name}: {e}")))?;
            prop_assert_eq!(ts.get(&key), Some(value.as_str()));
            prop_assert_eq!(ts.len(), if key == "a" || key == "z" { 2 } else { 3 });
        }
        let headers = [("traceparent", TRACEPARENT), ("tracestate", header.as_str())];
        let cx = extract(&headers).expect("valid traceparent");
        prop_assert_eq!(cx.trace_state().get(&key), Some(value.as_str()));
    }

    #[test]
    fn every_other_key_drops_only_its_member(
        key in "[a-zA-Z0-9_*/@ \t.~:;!%^&()\x7f\u{e9}-]{0,300}"
            .prop_filter("a key outside the ABNF, without optional whitespace at its ends", |k| {
                !abnf_key(k) && !k.starts_with([' ', '\t']) && !k.ends_with([' ', '\t'])
            }),
        value in value(),
    ) {
        let header = format!("a=1,{key}={value},z=2");
        let lenient = TraceState::parse_headers_lenient([header.as_str()], KeyGrammar::Level2)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(lenient.to_string(), "a=1,z=2");
        let lenient_extract = Propagator::new()
            .invalid_member(InvalidMember::DropMember)
            .extract(&[("traceparent", TRACEPARENT), ("tracestate", header.as_str())])
            .expect("valid traceparent");
        prop_assert_eq!(lenient_extract.trace_state().to_string(), "a=1,z=2");
        // By default the whole header is invalid, but only the tracestate
        // goes: the traceparent is kept.
        prop_assert!(TraceState::parse(&header).is_err());
        let strict = extract(&[("traceparent", TRACEPARENT), ("tracestate", header.as_str())])
            .expect("valid traceparent");
        prop_assert!(strict.trace_state().is_empty());
        prop_assert_eq!(strict.trace_id().to_string(), &TRACEPARENT[3..35]);
    }

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
