//! The header cases of the W3C trace-context test suite (`test/test.py` of
//! w3c/trace-context at `acab820`, "Fix tracestate key grammar tests (#584)",
//! June 2026; strict level 2, spec level 2), encoded as data so they can be
//! run both directly against `extract`/`inject` and through the
//! `tracecontext_service` example over HTTP.

use steadfast_tracing_core::{TraceParent, TraceState};

/// The trace id the suite sends.
pub const TRACE: &str = "12345678901234567890123456789012";
/// The parent id the suite sends.
pub const PARENT: &str = "1234567890123456";
const TP01: &str = "00-12345678901234567890123456789012-1234567890123456-01";
const TP00: &str = "00-12345678901234567890123456789012-1234567890123456-00";

/// What the outgoing `traceparent` must show.
#[derive(Debug, Clone, Copy)]
pub enum Trace {
    /// Same trace id as sent, a different parent id.
    Continues,
    /// As `Continues`, with the `random` flag (0x02) set.
    ContinuesRandom,
    /// A new trace: the trace id differs from these.
    Restarts(&'static [&'static str]),
}

/// What the outgoing `tracestate` must show.
#[derive(Debug, Clone)]
pub enum State {
    /// No requirement.
    Any,
    /// Holds these pairs.
    Has(Vec<(String, String)>),
    /// Holds none of these keys.
    Lacks(Vec<String>),
    /// Exactly this many members, the first being `(key, value)`.
    LenWithFirst(usize, String, String),
    /// These members appear in this order in the header text.
    Ordered(Vec<&'static str>),
    /// The header text holds at least one of these members.
    MentionsAnyOf(Vec<&'static str>),
    /// Empty (no header sent).
    Empty,
}

/// One request of the suite.
#[derive(Debug, Clone)]
pub struct Case {
    /// Suite test name, with a letter for each request within it.
    pub name: String,
    /// Headers the harness sends, in order.
    pub headers: Vec<(String, String)>,
    /// Traceparent expectation.
    pub trace: Trace,
    /// Tracestate expectation.
    pub state: State,
}

fn case(name: &str, headers: &[(&str, &str)], trace: Trace, state: State) -> Case {
    Case {
        name: name.to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        trace,
        state,
    }
}

fn has(pairs: &[(&str, &str)]) -> State {
    State::Has(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
    )
}

fn lacks(keys: &[&str]) -> State {
    State::Lacks(keys.iter().map(|k| (*k).to_string()).collect())
}

const NEW: Trace = Trace::Restarts(&[TRACE]);

/// Every header case of the suite.
pub fn cases() -> Vec<Case> {
    let mut v = vec![
        case(
            "both_traceparent_and_tracestate_missing",
            &[],
            NEW,
            State::Any,
        ),
        case(
            "traceparent_included_tracestate_missing",
            &[("traceparent", TP01)],
            Trace::Continues,
            State::Any,
        ),
        case(
            "traceparent_duplicated",
            &[
                (
                    "traceparent",
                    "00-12345678901234567890123456789011-1234567890123456-01",
                ),
                ("traceparent", TP01),
            ],
            Trace::Restarts(&["12345678901234567890123456789011", TRACE]),
            State::Any,
        ),
        case(
            "traceparent_header_name a",
            &[("trace-parent", TP01)],
            NEW,
            State::Any,
        ),
        case(
            "traceparent_header_name b",
            &[("trace.parent", TP01)],
            NEW,
            State::Any,
        ),
    ];
    for (i, name) in ["TraceParent", "TrAcEpArEnT", "TRACEPARENT"]
        .iter()
        .enumerate()
    {
        v.push(case(
            &format!("traceparent_header_name_valid_casing {i}"),
            &[(name, TP01)],
            Trace::Continues,
            State::Any,
        ));
    }
    let restarts: &[(&str, &str)] = &[
        (
            "traceparent_version_0x00 a",
            "00-12345678901234567890123456789012-1234567890123456-01.",
        ),
        (
            "traceparent_version_0x00 b",
            "00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
        ),
        (
            "traceparent_version_0xcc c",
            "cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like",
        ),
        (
            "traceparent_version_0xff",
            "ff-12345678901234567890123456789012-1234567890123456-01",
        ),
        (
            "traceparent_version_illegal_characters a",
            ".0-12345678901234567890123456789012-1234567890123456-01",
        ),
        (
            "traceparent_version_illegal_characters b",
            "0.-12345678901234567890123456789012-1234567890123456-01",
        ),
        (
            "traceparent_version_too_long a",
            "000-12345678901234567890123456789012-1234567890123456-01",
        ),
        (
            "traceparent_version_too_long b",
            "0000-12345678901234567890123456789012-1234567890123456-01",
        ),
        (
            "traceparent_version_too_short",
            "0-12345678901234567890123456789012-1234567890123456-01",
        ),
        (
            "traceparent_trace_id_illegal_characters a",
            "00-.2345678901234567890123456789012-1234567890123456-01",
        ),
        (
            "traceparent_trace_id_illegal_characters b",
            "00-1234567890123456789012345678901.-1234567890123456-01",
        ),
        (
            "traceparent_trace_id_too_short",
            "00-1234567890123456789012345678901-1234567890123456-01",
        ),
        (
            "traceparent_parent_id_all_zero",
            "00-12345678901234567890123456789012-0000000000000000-01",
        ),
        (
            "traceparent_parent_id_illegal_characters a",
            "00-12345678901234567890123456789012-.234567890123456-01",
        ),
        (
            "traceparent_parent_id_illegal_characters b",
            "00-12345678901234567890123456789012-123456789012345.-01",
        ),
        (
            "traceparent_parent_id_too_long",
            "00-12345678901234567890123456789012-12345678901234567-01",
        ),
        (
            "traceparent_parent_id_too_short",
            "00-12345678901234567890123456789012-123456789012345-01",
        ),
        (
            "traceparent_trace_flags_illegal_characters a",
            "00-12345678901234567890123456789012-1234567890123456-.0",
        ),
        (
            "traceparent_trace_flags_illegal_characters b",
            "00-12345678901234567890123456789012-1234567890123456-0.",
        ),
        (
            "traceparent_trace_flags_too_long",
            "00-12345678901234567890123456789012-1234567890123456-001",
        ),
        (
            "traceparent_trace_flags_too_short",
            "00-12345678901234567890123456789012-1234567890123456-1",
        ),
    ];
    for (name, tp) in restarts {
        v.push(case(name, &[("traceparent", tp)], NEW, State::Any));
    }
    v.push(case(
        "traceparent_trace_id_all_zero",
        &[(
            "traceparent",
            "00-00000000000000000000000000000000-1234567890123456-01",
        )],
        Trace::Restarts(&["00000000000000000000000000000000"]),
        State::Any,
    ));
    v.push(case(
        "traceparent_trace_id_too_long",
        &[(
            "traceparent",
            "00-123456789012345678901234567890123-1234567890123456-01",
        )],
        Trace::Restarts(&[TRACE, "23456789012345678901234567890123"]),
        State::Any,
    ));
    let continues: &[(&str, &str)] = &[
        (
            "traceparent_version_0xcc a",
            "cc-12345678901234567890123456789012-1234567890123456-01",
        ),
        (
            "traceparent_version_0xcc b",
            "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
        ),
        (
            "traceparent_ows_handling a",
            " 00-12345678901234567890123456789012-1234567890123456-01",
        ),
        (
            "traceparent_ows_handling b",
            "\t00-12345678901234567890123456789012-1234567890123456-01",
        ),
        (
            "traceparent_ows_handling c",
            "00-12345678901234567890123456789012-1234567890123456-01 ",
        ),
        (
            "traceparent_ows_handling d",
            "00-12345678901234567890123456789012-1234567890123456-01\t",
        ),
        (
            "traceparent_ows_handling e",
            "\t 00-12345678901234567890123456789012-1234567890123456-01 \t",
        ),
    ];
    for (name, tp) in continues {
        v.push(case(
            name,
            &[("traceparent", tp)],
            Trace::Continues,
            State::Any,
        ));
    }

    // tracestate
    v.push(case(
        "tracestate_included_traceparent_missing a",
        &[("tracestate", "foo=1")],
        NEW,
        State::Empty,
    ));
    v.push(case(
        "tracestate_included_traceparent_missing b",
        &[("tracestate", "foo=1,bar=2")],
        NEW,
        State::Empty,
    ));
    v.push(case(
        "tracestate_included_traceparent_included",
        &[("traceparent", TP00), ("tracestate", "foo=1,bar=2")],
        Trace::Continues,
        has(&[("foo", "1"), ("bar", "2")]),
    ));
    for (i, name) in ["trace-state", "trace.state"].iter().enumerate() {
        v.push(case(
            &format!("tracestate_header_name {i}"),
            &[("traceparent", TP00), (name, "foo=1")],
            Trace::Continues,
            lacks(&["foo"]),
        ));
    }
    for (i, name) in ["TraceState", "TrAcEsTaTe", "TRACESTATE"]
        .iter()
        .enumerate()
    {
        v.push(case(
            &format!("tracestate_header_name_valid_casing {i}"),
            &[("traceparent", TP00), (name, "foo=1")],
            Trace::Continues,
            has(&[("foo", "1")]),
        ));
    }
    v.push(case(
        "tracestate_empty_header a",
        &[("traceparent", TP00), ("tracestate", "")],
        Trace::Continues,
        State::Empty,
    ));
    v.push(case(
        "tracestate_empty_header b",
        &[
            ("traceparent", TP00),
            ("tracestate", "foo=1"),
            ("tracestate", ""),
        ],
        Trace::Continues,
        has(&[("foo", "1")]),
    ));
    v.push(case(
        "tracestate_empty_header c",
        &[
            ("traceparent", TP00),
            ("tracestate", ""),
            ("tracestate", "foo=1"),
        ],
        Trace::Continues,
        has(&[("foo", "1")]),
    ));
    v.push(case(
        "tracestate_multiple_headers_different_keys",
        &[
            ("traceparent", TP00),
            ("tracestate", "foo=1,bar=2"),
            ("tracestate", "rojo=1,congo=2"),
            ("tracestate", "baz=3"),
        ],
        Trace::Continues,
        State::Ordered(vec!["foo=1", "bar=2", "rojo=1", "congo=2", "baz=3"]),
    ));
    // Kept as they are, or one of them dropped; never the whole header.
    let dup: &[(&[&str], &[&str])] = &[
        (&["foo=1,foo=1"], &["foo=1"]),
        (&["foo=1,foo=2"], &["foo=1", "foo=2"]),
        (&["foo=1", "foo=1"], &["foo=1"]),
        (&["foo=1", "foo=2"], &["foo=1", "foo=2"]),
    ];
    for (i, (headers, kept)) in dup.iter().enumerate() {
        let mut hs = vec![("traceparent", TP00)];
        hs.extend(headers.iter().map(|h| ("tracestate", *h)));
        v.push(case(
            &format!("tracestate_duplicated_keys {i}"),
            &hs,
            Trace::Continues,
            State::MentionsAnyOf(kept.to_vec()),
        ));
    }
    let key_without_vendor = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
    let key_with_vendor = format!("{key_without_vendor}@a-z0-9_-*/");
    let value: String = (0x20u8..=0x2b)
        .chain(0x2d..=0x3c)
        .chain(0x3e..=0x7e)
        .map(char::from)
        .collect();
    for (i, key) in [key_without_vendor.to_string(), key_with_vendor]
        .iter()
        .enumerate()
    {
        v.push(case(
            &format!("tracestate_all_allowed_characters {i}"),
            &[
                ("traceparent", TP00),
                ("tracestate", &format!("{key}={value}")),
            ],
            Trace::Continues,
            has(&[(key, &value)]),
        ));
    }
    v.push(case(
        "tracestate_ows_handling a",
        &[
            ("traceparent", TP00),
            ("tracestate", "foo=1 \t , \t bar=2, \t baz=3"),
        ],
        Trace::Continues,
        has(&[("foo", "1"), ("bar", "2"), ("baz", "3")]),
    ));
    v.push(case(
        "tracestate_ows_handling b",
        &[
            ("traceparent", TP00),
            ("tracestate", "foo=1\t \t,\t \tbar=2,\t \tbaz=3"),
        ],
        Trace::Continues,
        has(&[("foo", "1"), ("bar", "2"), ("baz", "3")]),
    ));
    for (i, ts) in [" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"]
        .iter()
        .enumerate()
    {
        v.push(case(
            &format!("tracestate_ows_handling {}", i + 2),
            &[("traceparent", TP00), ("tracestate", ts)],
            Trace::Continues,
            has(&[("foo", "1")]),
        ));
    }
    for (ts, key) in [
        ("foo =1", "foo "),
        ("FOO=1", "FOO"),
        ("foo.bar=1", "foo.bar"),
    ] {
        v.push(case(
            &format!("tracestate_key_illegal_characters {key:?}"),
            &[("traceparent", TP00), ("tracestate", ts)],
            Trace::Continues,
            lacks(&[key]),
        ));
    }
    // `@` anywhere after the first character is part of the key grammar.
    for (key, ok) in [
        ("foo@", true),
        ("@foo", false),
        ("foo@@bar", true),
        ("foo@bar@baz", true),
    ] {
        let ts = format!("{key}=1,bar=2");
        v.push(case(
            &format!("tracestate_key_illegal_vendor_format {ts}"),
            &[("traceparent", TP00), ("tracestate", &ts)],
            Trace::Continues,
            if ok {
                has(&[(key, "1"), ("bar", "2")])
            } else {
                lacks(&["bar"])
            },
        ));
    }
    let bars = |range: std::ops::RangeInclusive<u32>| {
        range
            .map(|i| format!("bar{i:02}={i:02}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let (h1, h2, h3) = (bars(1..=10), bars(11..=20), bars(21..=30));
    let (h32, h33) = (bars(31..=32), bars(31..=33));
    v.push(case(
        "tracestate_member_count_limit 32",
        &[
            ("traceparent", TP00),
            ("tracestate", &h1),
            ("tracestate", &h2),
            ("tracestate", &h3),
            ("tracestate", &h32),
        ],
        Trace::Continues,
        State::LenWithFirst(32, "bar01".into(), "01".into()),
    ));
    v.push(case(
        "tracestate_member_count_limit 33",
        &[
            ("traceparent", TP00),
            ("tracestate", &h1),
            ("tracestate", &h2),
            ("tracestate", &h3),
            ("tracestate", &h33),
        ],
        Trace::Continues,
        lacks(&["bar01"]),
    ));
    // Only the total length counts: up to 256 characters, `@` or not.
    for (name, key, ok) in [
        ("256", "z".repeat(256), true),
        ("257", "z".repeat(257), false),
        (
            "241@14",
            format!("{}@{}", "t".repeat(241), "v".repeat(14)),
            true,
        ),
        ("242@1", format!("{}@v", "t".repeat(242)), true),
        ("1@15", format!("t@{}", "v".repeat(15)), true),
    ] {
        v.push(case(
            &format!("tracestate_key_length_limit {name}"),
            &[
                ("traceparent", TP00),
                ("tracestate", "foo=1"),
                ("tracestate", &format!("{key}=1")),
            ],
            Trace::Continues,
            if ok {
                has(&[("foo", "1"), (&key, "1")])
            } else {
                lacks(&["foo"])
            },
        ));
    }
    v.push(case(
        "tracestate_value_illegal_characters a",
        &[("traceparent", TP00), ("tracestate", "foo=bar=baz")],
        Trace::Continues,
        lacks(&["foo"]),
    ));
    v.push(case(
        "tracestate_value_illegal_characters b",
        &[("traceparent", TP00), ("tracestate", "foo=,bar=3")],
        Trace::Continues,
        lacks(&["foo", "bar"]),
    ));
    // TraceContext2Test (spec level 2).
    v.push(case(
        "propagates_random_flag",
        &[(
            "traceparent",
            "00-12345678901234567890123456789012-1234567890123456-02",
        )],
        Trace::ContinuesRandom,
        State::Any,
    ));
    v
}

/// Checks what a service sent on for `case`, the way the harness does:
/// exactly one `traceparent` (strictly valid) and a well-formed `tracestate`.
pub fn check(case: &Case, outgoing: &[(String, String)]) -> Result<TraceParent, String> {
    let tps: Vec<&str> = outgoing
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("traceparent"))
        .map(|(_, v)| v.as_str())
        .collect();
    if tps.len() != 1 {
        return Err(format!(
            "{}: expected one traceparent, got {tps:?}",
            case.name
        ));
    }
    let tp: TraceParent = tps[0].parse().map_err(|e| {
        format!(
            "{}: outgoing traceparent {:?} is invalid: {e}",
            case.name, tps[0]
        )
    })?;
    let trace = tp.trace_id().to_string();
    match case.trace {
        Trace::Continues | Trace::ContinuesRandom => {
            if trace != TRACE || tp.parent_id().to_string() == PARENT {
                return Err(format!(
                    "{}: expected trace {TRACE} with a new parent id, got {tp}",
                    case.name
                ));
            }
            if matches!(case.trace, Trace::ContinuesRandom) && !tp.flags().is_random() {
                return Err(format!("{}: expected the random flag, got {tp}", case.name));
            }
        }
        Trace::Restarts(old) => {
            if old.contains(&trace.as_str()) {
                return Err(format!("{}: expected a new trace id, got {tp}", case.name));
            }
        }
    }
    let states: Vec<&str> = outgoing
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("tracestate"))
        .map(|(_, v)| v.as_str())
        .collect();
    if states.iter().any(|s| s.is_empty()) {
        return Err(format!("{}: an empty tracestate was sent", case.name));
    }
    let text = states.join(",");
    // The harness reads members with the same key grammar and refuses a
    // header with any malformed member.
    let ts = TraceState::parse_headers(states.iter().copied()).map_err(|e| {
        format!(
            "{}: outgoing tracestate {text:?} is invalid: {e}",
            case.name
        )
    })?;
    let ok = match &case.state {
        State::Any => true,
        State::Empty => ts.is_empty(),
        State::Has(pairs) => pairs.iter().all(|(k, v)| ts.get(k) == Some(v.as_str())),
        State::Lacks(keys) => keys.iter().all(|k| ts.get(k).is_none()),
        State::LenWithFirst(n, k, v) => {
            ts.len() == *n && ts.iter().next() == Some((k.as_str(), v.as_str()))
        }
        State::Ordered(members) => {
            let positions: Vec<Option<usize>> = members.iter().map(|m| text.find(m)).collect();
            positions.iter().all(Option::is_some) && positions.windows(2).all(|w| w[0] < w[1])
        }
        State::MentionsAnyOf(members) => members.iter().any(|m| text.contains(m)),
    };
    if ok {
        Ok(tp)
    } else {
        Err(format!(
            "{}: tracestate {text:?} does not meet {:?}",
            case.name, case.state
        ))
    }
}
