//! Samplers: the OpenTelemetry threshold table, decisions, parents, rules
//! and the error-keeping tail decision.

use std::time::{Duration, UNIX_EPOCH};

use steadfast_tracing_core::ids::{IdGenerator, RandomBits, SplitMix64};
use steadfast_tracing_core::sampling::{
    AlwaysOff, AlwaysOn, ConsistentProbability, Decision, KeepErrorTraces, ParentBased, RecordAll,
    Rule, RuleBased, Sampler, SamplingParams, TraceIdRatio, format_threshold, parse_threshold,
    threshold_for_probability,
};
use steadfast_tracing_core::sink::InMemorySink;
use steadfast_tracing_core::span::{SpanKind, Status};
use steadfast_tracing_core::tracer::Tracer;
use steadfast_tracing_core::{
    ErrorKind, SpanContext, SpanId, TraceFlags, TraceId, TraceState, extract,
};

#[test]
fn thresholds_match_the_specification_table_at_precision_3_4_5() {
    // "Converting floating-point probability to threshold value" table of
    // the OpenTelemetry tracestate probability sampling specification.
    let table: &[(f64, [&str; 3])] = &[
        (1.0, ["0", "0", "0"]),
        (0.5, ["8", "8", "8"]),
        (1.0 / 3.0, ["aab", "aaab", "aaaab"]),
        (0.25, ["c", "c", "c"]),
        (0.2, ["ccd", "cccd", "ccccd"]),
        (0.125, ["e", "e", "e"]),
        (0.1, ["e66", "e666", "e6666"]),
        (0.0625, ["f", "f", "f"]),
        (0.01, ["fd71", "fd70a", "fd70a4"]),
        (0.001, ["ffbe7", "ffbe77", "ffbe76d"]),
        (0.0001, ["fff972", "fff9724", "fff97247"]),
        (0.00001, ["ffff584", "ffff583a", "ffff583a5"]),
        (0.000001, ["ffffef4", "ffffef39", "ffffef391"]),
    ];
    for (p, expected) in table {
        for (precision, th) in (3..=5).zip(expected) {
            assert_eq!(
                threshold_for_probability(*p, precision).unwrap(),
                *th,
                "p={p} precision={precision}"
            );
        }
    }
}

#[test]
fn threshold_text_round_trips_and_rejects_junk() {
    for th in ["0", "8", "e666", "ffbe77", "fffffffffffff"] {
        assert_eq!(format_threshold(parse_threshold(th).unwrap()), th);
    }
    for bad in ["", "E666", "g", "123456789012345"] {
        assert!(parse_threshold(bad).is_err(), "{bad:?}");
    }
    assert!(threshold_for_probability(1.5, 4).is_err());
    assert!(threshold_for_probability(0.5, 0).is_err());
    assert!(threshold_for_probability(0.5, 15).is_err());
}

#[test]
fn precision_counts_significant_digits_near_one_too_so_97_percent_is_not_100() {
    // Precision 1 would round 1 - 0.97 = 0.03 (0x07ae… of 2^56) to 0, that
    // is 100 %; its leading 0 does not count, as leading f digits do not
    // for small probabilities.
    let th = threshold_for_probability(0.97, 1).unwrap();
    assert_eq!(th, "08");
    let kept = 1.0 - parse_threshold(&th).unwrap() as f64 / 2f64.powi(56);
    assert_eq!(kept, 0.96875);
    assert_eq!(threshold_for_probability(0.999, 2).unwrap(), "0042");
    assert_eq!(
        ConsistentProbability::with_precision(0.97, 1)
            .unwrap()
            .threshold_hex(),
        "08"
    );
}

#[test]
fn precision_13_and_14_give_13_and_14_digits_and_14_is_exact() {
    for p in [1.0 / 3.0, 0.2, 0.1, 0.7] {
        let exact = (1u64 << 56) - (p * 2f64.powi(56)).round() as u64;
        let th14 = threshold_for_probability(p, 14).unwrap();
        assert_eq!(parse_threshold(&th14).unwrap(), exact, "p={p}");
        let th13 = threshold_for_probability(p, 13).unwrap();
        assert_eq!(th13.len(), 13, "p={p} th13={th13}");
        let t13 = parse_threshold(&th13).unwrap();
        assert!(t13.abs_diff(exact) <= 8, "p={p}: {th13} vs exact {exact:x}");
    }
    assert_eq!(
        threshold_for_probability(1.0 / 3.0, 13).unwrap(),
        "aaaaaaaaaaaab"
    );
    assert_eq!(
        threshold_for_probability(1.0 / 3.0, 14).unwrap(),
        "aaaaaaaaaaaaac"
    );
}

fn params(trace_id: TraceId, parent: Option<&SpanContext>) -> SamplingParams<'_> {
    SamplingParams {
        parent,
        trace_id,
        name: "GET /orders",
        kind: SpanKind::Server,
    }
}

#[test]
fn consistent_sampling_keeps_iff_randomness_reaches_the_threshold() {
    let s = ConsistentProbability::new(0.5).unwrap(); // T = 2^55
    let below = TraceId::from_u128((1 << 55) - 1);
    let at = TraceId::from_u128(1 << 55);
    assert_eq!(
        s.should_sample(&params(below, None)).decision,
        Decision::Drop
    );
    let kept = s.should_sample(&params(at, None));
    assert_eq!(kept.decision, Decision::RecordAndSample);
    assert_eq!(kept.trace_state.unwrap().get("ot"), Some("th:8"));
}

#[test]
fn explicit_rv_overrides_the_trace_id_and_other_ot_keys_survive() {
    let s = ConsistentProbability::new(0.5).unwrap();
    let parent = extract(&[
        (
            "traceparent",
            "00-ffffffffffffffffffffffffffffffff-1234567890123456-01",
        ),
        ("tracestate", "ot=rv:00000000000001;xx:keep,other=1"),
    ])
    .unwrap();
    let r = s.should_sample(&params(parent.trace_id(), Some(&parent)));
    assert_eq!(
        r.decision,
        Decision::Drop,
        "rv 1 is below 2^55 although the trace id is all ones"
    );
    assert_eq!(
        r.trace_state.unwrap().to_string(),
        "ot=rv:00000000000001;xx:keep,other=1"
    );
    let s = ConsistentProbability::new(1.0).unwrap();
    let r = s.should_sample(&params(parent.trace_id(), Some(&parent)));
    assert_eq!(
        r.trace_state.unwrap().to_string(),
        "ot=th:0;rv:00000000000001;xx:keep,other=1"
    );
}

#[test]
fn consistent_sampling_rate_is_close_to_the_probability() {
    let s = ConsistentProbability::new(0.1).unwrap();
    let mut rng = SplitMix64::new(99);
    let n = 20_000;
    let kept = (0..n)
        .filter(|_| {
            let t =
                TraceId::from_u128((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64()));
            s.should_sample(&params(t, None)).decision == Decision::RecordAndSample
        })
        .count();
    // Binomial(20000, 0.1): sd ≈ 42, so ±300 is over 7 sd.
    assert!((1700..=2300).contains(&kept), "kept {kept} of {n}");
}

#[test]
fn trace_id_ratio_agrees_for_every_span_of_a_trace_and_respects_extremes() {
    let half = TraceIdRatio::new(0.5).unwrap();
    let t = TraceId::from_u128(0xabcdef << 40);
    let first = half.should_sample(&params(t, None)).decision;
    for _ in 0..5 {
        assert_eq!(half.should_sample(&params(t, None)).decision, first);
    }
    let all = TraceIdRatio::new(1.0).unwrap();
    let none = TraceIdRatio::new(0.0).unwrap();
    assert_eq!(
        all.should_sample(&params(TraceId::from_u128(1), None))
            .decision,
        Decision::RecordAndSample
    );
    assert_eq!(
        none.should_sample(&params(TraceId::from_u128(u128::MAX), None))
            .decision,
        Decision::Drop
    );
}

#[test]
fn parent_based_uses_each_of_its_four_delegates() {
    let s = ParentBased::new(AlwaysOff)
        .remote_sampled(AlwaysOff)
        .remote_not_sampled(AlwaysOn)
        .local_sampled(AlwaysOff)
        .local_not_sampled(AlwaysOn);
    let t = TraceId::from_u128(7);
    let local = |flags| SpanContext::new(t, SpanId::from_u64(1), flags, TraceState::new());
    let remote = |f: &str| {
        extract(&[(
            "traceparent",
            format!("00-00000000000000000000000000000007-0000000000000001-{f}"),
        )])
        .unwrap()
    };
    let decide = |cx: Option<&SpanContext>| s.should_sample(&params(t, cx)).decision;
    assert_eq!(decide(None), Decision::Drop);
    assert_eq!(decide(Some(&remote("01"))), Decision::Drop);
    assert_eq!(decide(Some(&remote("00"))), Decision::RecordAndSample);
    assert_eq!(decide(Some(&local(TraceFlags::SAMPLED))), Decision::Drop);
    assert_eq!(
        decide(Some(&local(TraceFlags::NONE))),
        Decision::RecordAndSample
    );
}

#[test]
fn rules_match_by_pattern_and_kind_in_order_with_a_fallback() {
    let s = RuleBased::new(AlwaysOff)
        .rule(
            Rule::new("GET /health*", 0.0)
                .unwrap()
                .kind(SpanKind::Server),
        )
        .rule(Rule::new("* /orders*", 1.0).unwrap());
    let decide = |name: &str, kind| {
        s.should_sample(&SamplingParams {
            parent: None,
            trace_id: TraceId::from_u128(u128::MAX),
            name,
            kind,
        })
        .decision
    };
    assert_eq!(decide("GET /healthz", SpanKind::Server), Decision::Drop);
    assert_eq!(
        decide("GET /orders/7", SpanKind::Server),
        Decision::RecordAndSample
    );
    assert_eq!(
        decide("POST /orders", SpanKind::Client),
        Decision::RecordAndSample
    );
    assert_eq!(
        decide("GET /health", SpanKind::Client),
        Decision::Drop,
        "kind mismatch falls back"
    );
    assert_eq!(decide("GET /other", SpanKind::Server), Decision::Drop);
}

#[test]
fn children_of_an_unsampled_remote_parent_stay_unsampled_so_traces_stay_whole() {
    let sink = InMemorySink::new();
    let tracer = Tracer::builder()
        .ids(SplitMix64::new(5))
        .clock(|| UNIX_EPOCH)
        .sampler(ParentBased::new(AlwaysOn))
        .sink(sink.clone())
        .build();
    let parent = extract(&[(
        "traceparent",
        "00-12345678901234567890123456789012-1234567890123456-00",
    )])
    .unwrap();
    let span = tracer.start_child(&parent, "handler", SpanKind::Server);
    assert!(!span.context().flags().is_sampled());
    assert!(!span.is_recording());
    span.end();
    assert!(sink.spans().is_empty());
}

#[test]
fn error_traces_are_kept_whole_and_clean_unsampled_traces_are_dropped() {
    let out = InMemorySink::new();
    let tail = std::sync::Arc::new(KeepErrorTraces::new(out.clone()));
    let step = std::sync::atomic::AtomicU64::new(0);
    let tracer = Tracer::builder()
        .ids(SplitMix64::new(11))
        .clock(move || {
            UNIX_EPOCH
                + Duration::from_millis(step.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
        })
        .sampler(RecordAll(AlwaysOff))
        .sink(tail.clone())
        .build();
    {
        let root = tracer.start_root("clean", SpanKind::Server);
        tracer
            .start_child(root.context(), "db", SpanKind::Client)
            .end();
    }
    {
        let root = tracer.start_root("failing", SpanKind::Server);
        let mut db = tracer.start_child(root.context(), "db", SpanKind::Client);
        db.set_status(Status::error("timeout"));
    }
    assert_eq!(tail.flush(), 1);
    out.assert_shape(&[("failing", SpanKind::Server), ("db", SpanKind::Client)]);
}

#[test]
fn only_a_random_id_source_sets_the_random_flag_on_new_traces() {
    // W3C Trace Context Level 2, random trace id flag: "If that flag is set,
    // at least the right-most 7 bytes of the trace-id MUST be selected
    // randomly … with uniform distribution". OpenTelemetry sdk.md, IdGenerator
    // randomness: custom generators "SHOULD identify themselves
    // appropriately when all generated TraceID values meet" that requirement.
    let root_flags = |tracer: Tracer| {
        tracer
            .start_root("root", SpanKind::Server)
            .context()
            .flags()
    };
    let mut n = 0u64;
    let counter = move || {
        n += 1;
        n
    };
    let mut rng = SplitMix64::new(8);
    let vouched = RandomBits(move || rng.next_u64());
    let flags = [
        root_flags(Tracer::builder().ids(counter).build()),
        root_flags(Tracer::builder().ids(SplitMix64::new(8)).build()),
        root_flags(Tracer::builder().ids(vouched).build()),
    ];
    assert_eq!(flags.map(TraceFlags::is_random), [false, true, true]);
    assert!(flags.iter().all(|f| f.is_sampled()));

    let mut n = 0u64;
    let mut counter_ids = IdGenerator::new(move || {
        n += 1;
        n
    });
    assert!(
        !SpanContext::new_root(&mut counter_ids, true)
            .flags()
            .is_random()
    );
    let mut zeros = IdGenerator::new(RandomBits(|| 0));
    let root = SpanContext::new_root(&mut zeros, true);
    assert!(root.is_valid(), "a source of zeros falls back to a counter");
    assert!(
        !root.flags().is_random(),
        "and its ids are no longer random"
    );
}

/// A parent extracted from `tracestate` with the given `ot` value and
/// trace-id randomness `0x12345678901234` (the low 56 bits of the id).
fn remote_parent(sampled: bool, tracestate: &str) -> SpanContext {
    let flags = if sampled { "01" } else { "00" };
    extract(&[
        (
            "traceparent".to_string(),
            format!("00-00000000000000000012345678901234-1234567890123456-{flags}"),
        ),
        ("tracestate".to_string(), tracestate.to_string()),
    ])
    .unwrap()
}

#[test]
fn a_threshold_the_ot_entry_cannot_hold_is_erased_and_reported_not_left_stale() {
    // tracestate-probability-sampling.md: "All sampling stages that modify
    // the effective sampling threshold must update the sampling threshold by
    // re-encoding the OpenTelemetry TraceState"; tracestate-handling.md: "If
    // setting a value ends up making the entire ot entry exceed the 256
    // characters limit, SDKs are advised to abort the operation and signal
    // the user about the error".
    let filler = "x".repeat(250);
    let parent = remote_parent(true, &format!("ot=th:8;{filler},other=1"));
    let one_in_ten = ConsistentProbability::new(0.1).unwrap();
    let r = one_in_ten.should_sample(&params(TraceId::from_u128(u128::MAX), Some(&parent)));
    assert_eq!(r.decision, Decision::RecordAndSample);
    let state = r.trace_state.unwrap();
    assert_eq!(
        state.get("ot"),
        Some(filler.as_str()),
        "th:8 is gone, not kept"
    );
    assert_eq!(state.get("other"), Some("1"));
    let error = r.error.expect("the failed update is reported");
    assert_eq!(error.kind(), ErrorKind::TraceState);
    assert!(error.to_string().contains("th:e666"), "{error}");
    let cause = std::error::Error::source(&error)
        .expect("the tracestate error")
        .to_string();
    assert!(cause.contains("longer than 256"), "{cause}");

    // With room to spare the threshold is re-encoded and nothing is reported.
    let parent = remote_parent(true, "ot=th:8;rv:ffffffffffffff");
    let r = one_in_ten.should_sample(&params(parent.trace_id(), Some(&parent)));
    assert!(r.error.is_none());
    assert_eq!(
        r.trace_state.unwrap().get("ot"),
        Some("th:e666;rv:ffffffffffffff")
    );
}

#[test]
fn parent_based_erases_a_propagated_threshold_that_randomness_does_not_reach() {
    // tracestate-probability-sampling.md: "a parent-based sampler that
    // receives and propagates a sampled context with threshold should check
    // that the sampled flag matches the expression rv >= th, otherwise it
    // should erase the threshold."
    let sampler = ParentBased::new(AlwaysOn).remote_not_sampled(AlwaysOn);
    let decide = |parent: &SpanContext| {
        let r = sampler.should_sample(&params(parent.trace_id(), Some(parent)));
        assert_eq!(r.decision, Decision::RecordAndSample);
        r.trace_state
            .unwrap_or_else(|| parent.trace_state().clone())
            .to_string()
    };
    // Randomness 0x12345678901234: reaches th:1, not th:2; rv overrides it.
    assert_eq!(
        decide(&remote_parent(true, "ot=th:1;rv:ab,a=1")),
        "ot=th:1;rv:ab,a=1"
    );
    assert_eq!(decide(&remote_parent(true, "ot=th:2,a=1")), "a=1");
    assert_eq!(
        decide(&remote_parent(true, "ot=th:c;rv:ffffffffffffff")),
        "ot=th:c;rv:ffffffffffffff"
    );
    assert_eq!(
        decide(&remote_parent(true, "ot=th:c;rv:00000000000001")),
        "ot=rv:00000000000001"
    );
    assert_eq!(
        decide(&remote_parent(true, "ot=th:zz,a=1")),
        "a=1",
        "an unreadable th"
    );
    // Not sampled, yet th:1 is reached: the flag does not match the expression.
    assert_eq!(decide(&remote_parent(false, "ot=th:1,a=1")), "a=1");
}

#[test]
fn a_dropped_child_carries_no_threshold() {
    // sdk.md, CompositeSampler: "In case of negative sampling decision, it
    // removes the th value for the ot key from the Tracestate."
    let sampler = ParentBased::new(AlwaysOn).remote_sampled(AlwaysOff);
    let parent = remote_parent(true, "ot=th:0;rv:00000000000001,a=1");
    let r = sampler.should_sample(&params(parent.trace_id(), Some(&parent)));
    assert_eq!(r.decision, Decision::Drop);
    assert_eq!(
        r.trace_state.unwrap().to_string(),
        "ot=rv:00000000000001,a=1"
    );

    // The same through a tracer: the context it propagates has no th.
    let tracer = Tracer::builder()
        .ids(SplitMix64::new(3))
        .sampler(ParentBased::new(AlwaysOn))
        .build();
    let unsampled_with_th = remote_parent(false, "ot=th:0,a=1");
    let child = tracer.start_child(&unsampled_with_th, "handler", SpanKind::Server);
    assert!(!child.is_recording());
    assert_eq!(child.context().trace_state().to_string(), "a=1");
}
