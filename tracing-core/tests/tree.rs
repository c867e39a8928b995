//! The tracer with a seeded id source and a test clock, and the in-memory
//! sink's tree assertions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use steadfast_tracing_core::ids::{IdGenerator, SplitMix64};
use steadfast_tracing_core::sink::{InMemorySink, SpanSink};
use steadfast_tracing_core::span::{Span, SpanKind, Status};
use steadfast_tracing_core::tracer::Tracer;
use steadfast_tracing_core::{ErrorKind, SpanId, TraceId, extract, inject};

fn ticking_clock() -> impl Fn() -> SystemTime + Send + Sync {
    let ms = AtomicU64::new(0);
    move || {
        UNIX_EPOCH
            + Duration::from_secs(1_700_000_000)
            + Duration::from_millis(ms.fetch_add(1, Ordering::SeqCst))
    }
}

fn record(seed: u64) -> Vec<Span> {
    let sink = InMemorySink::new();
    let tracer = Tracer::builder()
        .ids(SplitMix64::new(seed))
        .clock(ticking_clock())
        .sink(sink.clone())
        .build();
    let mut server = tracer.start_root("GET /orders", SpanKind::Server);
    server.set_attribute("http.route", "/orders");
    tracer
        .start_child(server.context(), "SELECT orders", SpanKind::Client)
        .end();
    server.add_event("cache miss", Vec::new());
    drop(server);
    sink.spans()
}

#[test]
fn same_seed_and_clock_give_identical_spans_and_another_seed_different_ids() {
    let (a, b, c) = (record(1), record(1), record(2));
    assert_eq!(a, b);
    assert_ne!(a[0].trace_id, c[0].trace_id);
}

#[test]
fn ids_come_from_the_seeded_source_in_order() {
    // The tracer draws a trace id (two words) then a span id from its source.
    let spans = record(42);
    let mut ids = IdGenerator::new(SplitMix64::new(42));
    let root = spans.iter().find(|s| s.parent_span_id.is_none()).unwrap();
    assert_eq!(root.trace_id, ids.trace_id());
    assert_eq!(root.span_id, ids.span_id());
    assert_eq!(root.start, UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    assert!(root.flags.is_random() && root.flags.is_sampled());
}

#[test]
fn context_survives_every_hop_client_service_webhook() {
    let sink = InMemorySink::new();
    let tracer = Tracer::builder()
        .ids(SplitMix64::new(3))
        .clock(ticking_clock())
        .sink(sink.clone())
        .build();
    let client = tracer.start_root("checkout", SpanKind::Client);
    let mut wire: Vec<(String, String)> = Vec::new();
    inject(client.context(), &mut wire);
    let service = tracer.start_child(&extract(&wire).unwrap(), "POST /checkout", SpanKind::Server);
    let mut hook_wire: Vec<(String, String)> = Vec::new();
    let call = tracer.start_child(service.context(), "POST webhook", SpanKind::Client);
    inject(call.context(), &mut hook_wire);
    tracer
        .start_child(&extract(&hook_wire).unwrap(), "webhook", SpanKind::Server)
        .end();
    drop((call, service, client));
    sink.assert_shape(&[
        ("checkout", SpanKind::Client),
        ("POST /checkout", SpanKind::Server),
        ("POST webhook", SpanKind::Client),
        ("webhook", SpanKind::Server),
    ]);
}

fn span(trace: u128, id: u64, parent: Option<u64>, name: &str) -> Span {
    let s = Span::new(TraceId::from_u128(trace), SpanId::from_u64(id), name).with_times(
        UNIX_EPOCH + Duration::from_secs(id),
        UNIX_EPOCH + Duration::from_secs(id + 1),
    );
    match parent {
        Some(p) => s.with_parent(SpanId::from_u64(p)),
        None => s,
    }
}

#[test]
#[should_panic(
    expected = "steadfast: unexpected trace: a parent was never recorded (span \"orphan\" (0000000000000003) has parent 0000000000000009)"
)]
fn missing_parent_is_reported_with_the_tree() {
    let sink = InMemorySink::new();
    sink.on_end(span(1, 1, None, "root"));
    sink.on_end(span(1, 3, Some(9), "orphan"));
    sink.assert_well_formed();
}

#[test]
#[should_panic(expected = "steadfast: unexpected trace: expected one trace id, found 2")]
fn two_traces_fail_the_single_trace_assertion() {
    let sink = InMemorySink::new();
    sink.on_end(span(1, 1, None, "a"));
    sink.on_end(span(2, 2, None, "b"));
    sink.assert_single_trace();
}

#[test]
#[should_panic(expected = "steadfast: unexpected trace: expected exactly one root span, found 2")]
fn two_roots_fail_the_well_formed_assertion() {
    let sink = InMemorySink::new();
    sink.on_end(span(1, 1, None, "a"));
    sink.on_end(span(1, 2, None, "b"));
    sink.assert_well_formed();
}

#[test]
fn shape_failure_message_lists_both_sides_and_draws_the_tree() {
    let sink = InMemorySink::new();
    sink.on_end(span(1, 1, None, "GET /").with_kind(SpanKind::Server));
    sink.on_end(span(1, 2, Some(1), "db").with_status(Status::error("timeout")));
    sink.on_end(span(1, 3, Some(1), "cache"));
    let err = std::panic::catch_unwind(|| {
        sink.assert_shape(&[("GET /", SpanKind::Server), ("cache", SpanKind::Internal)])
    })
    .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert_eq!(
        msg,
        "steadfast: unexpected trace: span names and kinds differ (expected GET / [server], \
         cache [internal]; recorded GET / [server], db [internal], cache [internal])\n\
         recorded spans:\n\
         trace 00000000000000000000000000000001 (3 spans)\n\
         └── GET / [server] 0000000000000001\n    \
             ├── db [internal] 0000000000000002 ERROR: timeout\n    \
             └── cache [internal] 0000000000000003\n"
    );
    let err = sink
        .check_shape(&[("GET /", SpanKind::Server), ("cache", SpanKind::Internal)])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TraceShape);
    assert_eq!(
        msg.lines().next(),
        Some(format!("steadfast: {err}").as_str())
    );
}

#[test]
fn check_twins_report_what_the_assertions_would_panic_on() {
    let sink = InMemorySink::new();
    assert_eq!(
        sink.check_single_trace().unwrap_err().to_string(),
        "unexpected trace: expected one trace, but no span was recorded"
    );
    sink.on_end(span(1, 1, None, "root").with_kind(SpanKind::Server));
    sink.on_end(span(1, 2, Some(1), "db").with_kind(SpanKind::Client));
    sink.check_single_trace().unwrap();
    sink.check_well_formed().unwrap();
    sink.check_shape(&[("root", SpanKind::Server), ("db", SpanKind::Client)])
        .unwrap();
    sink.on_end(span(2, 3, None, "other"));
    assert_eq!(
        sink.check_well_formed().unwrap_err().to_string(),
        "unexpected trace: expected one trace id, found 2"
    );
}

#[test]
fn assertion_failures_point_at_the_calling_line() {
    // The panic hook is process-wide: record only this thread's panic and
    // hand every other one to the previous hook.
    let this = std::thread::current().id();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let previous = std::sync::Arc::new(std::panic::take_hook());
    {
        let (seen, previous) = (seen.clone(), previous.clone());
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() == this {
                *seen.lock().unwrap() = info.location().map(|l| (l.file().to_owned(), l.line()));
            } else {
                previous(info);
            }
        }));
    }
    let sink = InMemorySink::new();
    let expected_line = line!() + 1;
    let result = std::panic::catch_unwind(|| sink.assert_well_formed());
    let _ = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| previous(info)));
    assert!(result.is_err());
    let (file, line) = seen.lock().unwrap().clone().expect("the panic was seen");
    assert!(file.ends_with("tree.rs"), "{file}");
    assert_eq!(line, expected_line);
}
