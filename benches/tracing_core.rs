//! steadfast-tracing-core against opentelemetry_sdk 0.33's
//! `TraceContextPropagator` on the same work, plus OTLP JSON encoding.
//!
//! Target: propagation at least 10× faster than opentelemetry_sdk.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{
    SpanContext as OtelSpanContext, SpanId as OtelSpanId, TraceContextExt as _,
};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use steadfast::tracing_core::ids::{IdGenerator, SplitMix64};
use steadfast::tracing_core::otlp::{Resource, encode_request_into};
use steadfast::tracing_core::span::{Span, SpanKind, Status};
use steadfast::tracing_core::{SpanId, TraceFlags, TraceId, TraceParent, extract, inject};

const HEADER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A fixed buffer to format into, so formatting is measured without a heap.
struct StackString {
    buf: [u8; 64],
    len: usize,
}

impl std::fmt::Write for StackString {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
        self.len += s.len();
        Ok(())
    }
}

/// Preallocated outgoing headers, written by both propagators so the
/// comparison measures the propagators, not a map.
struct Headers {
    names: [&'static str; 4],
    values: [[u8; 96]; 4],
    lens: [usize; 4],
    count: usize,
}

impl Headers {
    fn new() -> Self {
        Headers {
            names: [""; 4],
            values: [[0; 96]; 4],
            lens: [0; 4],
            count: 0,
        }
    }

    fn put(&mut self, name: &str, value: &str) {
        let name: &'static str = if name.eq_ignore_ascii_case("traceparent") {
            "traceparent"
        } else {
            "tracestate"
        };
        let i = (0..self.count)
            .find(|&i| self.names[i] == name)
            .unwrap_or_else(|| {
                self.count += 1;
                self.count - 1
            });
        self.names[i] = name;
        self.values[i][..value.len()].copy_from_slice(value.as_bytes());
        self.lens[i] = value.len();
    }

    /// The traceparent written last, checked after each run.
    fn traceparent(&self) -> TraceParent {
        let i = (0..self.count)
            .find(|&i| self.names[i] == "traceparent")
            .unwrap();
        std::str::from_utf8(&self.values[i][..self.lens[i]])
            .unwrap()
            .parse()
            .unwrap()
    }
}

impl steadfast::tracing_core::Injector for Headers {
    fn set(&mut self, name: &str, value: &str) {
        self.put(name, value);
    }
}

impl opentelemetry::propagation::Injector for Headers {
    fn set(&mut self, key: &str, value: String) {
        self.put(key, &value);
    }
}

/// Incoming headers as a server has them after parsing a request: a slice
/// of name/value pairs, read by both propagators.
struct Incoming(&'static [(&'static str, &'static str)]);

impl steadfast::tracing_core::Extractor for Incoming {
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&str)) {
        self.0.for_each(name, f);
    }
}

impl opentelemetry::propagation::Extractor for Incoming {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| *v)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| *k).collect()
    }
}

fn carrier() -> HashMap<String, String> {
    HashMap::from([("traceparent".to_string(), HEADER.to_string())])
}

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("traceparent_parse");
    g.bench_function("steadfast", |b| {
        b.iter(|| black_box(black_box(HEADER).parse::<TraceParent>()))
    });
    let otel = TraceContextPropagator::new();
    let headers = Incoming(&[("traceparent", HEADER)]);
    g.bench_function("opentelemetry_sdk", |b| {
        b.iter(|| {
            let cx = otel.extract(black_box(&headers));
            black_box(cx.span().span_context().trace_id());
        })
    });
    g.finish();
}

fn format(c: &mut Criterion) {
    let mut g = c.benchmark_group("traceparent_format");
    let tp: TraceParent = HEADER.parse().unwrap();
    g.bench_function("steadfast", |b| {
        b.iter(|| {
            let mut out = StackString {
                buf: [0; 64],
                len: 0,
            };
            write!(out, "{}", black_box(&tp)).unwrap();
            black_box(out.len)
        })
    });
    // opentelemetry has no public traceparent formatter; its inject is the
    // formatting step, so both sides inject into the same carriers.
    let otel = TraceContextPropagator::new();
    let otel_cx = otel.extract(&carrier());
    let ours = extract(&carrier()).unwrap();
    g.bench_function("steadfast_inject", |b| {
        let mut out = Headers::new();
        b.iter(|| inject(black_box(&ours), &mut out));
        assert_eq!(out.traceparent().parent_id(), ours.span_id());
    });
    g.bench_function("opentelemetry_sdk_inject", |b| {
        let mut out = Headers::new();
        b.iter(|| otel.inject_context(black_box(&otel_cx), &mut out));
        assert_eq!(out.traceparent().to_string(), HEADER);
    });
    g.bench_function("steadfast_inject_hashmap", |b| {
        let mut out = HashMap::new();
        b.iter(|| inject(black_box(&ours), &mut out))
    });
    g.bench_function("opentelemetry_sdk_inject_hashmap", |b| {
        let mut out = HashMap::new();
        b.iter(|| otel.inject_context(black_box(&otel_cx), &mut out))
    });
    g.finish();
}

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("extract_inject_round_trip");
    let incoming = Incoming(&[("traceparent", HEADER), ("tracestate", "congo=t61rcWkgMzE")]);
    let incoming_no_state = Incoming(&[("traceparent", HEADER)]);
    // Longer than steadfast keeps inline, so its shared (heap) form is measured too.
    let incoming_long_state = Incoming(&[
        ("traceparent", HEADER),
        (
            "tracestate",
            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,vendor1=opaque-value-1,vendor2=opaque-value-2",
        ),
    ]);
    for (label, headers) in [
        ("", &incoming_no_state),
        ("_with_tracestate", &incoming),
        ("_with_long_tracestate", &incoming_long_state),
    ] {
        let mut ids = IdGenerator::new(SplitMix64::new(1));
        g.bench_function(format!("steadfast{label}"), |b| {
            let mut out = Headers::new();
            b.iter(|| {
                let parent = extract(black_box(headers)).unwrap();
                inject(&parent.child(&mut ids), &mut out);
            });
            assert_eq!(out.traceparent().trace_id().to_string(), &HEADER[3..35]);
        });
        let otel = TraceContextPropagator::new();
        let mut next = SplitMix64::new(1);
        g.bench_function(format!("opentelemetry_sdk{label}"), |b| {
            let mut out = Headers::new();
            b.iter(|| {
                let cx = otel.extract(black_box(headers));
                let parent = cx.span().span_context().clone();
                let child = OtelSpanContext::new(
                    parent.trace_id(),
                    OtelSpanId::from(next.next_u64()),
                    parent.trace_flags(),
                    false,
                    parent.trace_state().clone(),
                );
                otel.inject_context(&cx.with_remote_span_context(child), &mut out);
            });
            assert_eq!(out.traceparent().trace_id().to_string(), &HEADER[3..35]);
        });
    }
    g.finish();
}

fn otlp_encode(c: &mut Criterion) {
    let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let spans: Vec<Span> = (1..=10_000u64)
        .map(|i| {
            Span::new(
                TraceId::from_u128(u128::from(i / 10 + 1)),
                SpanId::from_u64(i),
                "GET /orders/{id}",
            )
            .with_parent(SpanId::from_u64(i.max(2) - 1))
            .with_kind(SpanKind::Server)
            .with_flags(TraceFlags::SAMPLED)
            .with_times(start, start + Duration::from_micros(i))
            .with_attribute("http.request.method", "GET")
            .with_attribute("http.response.status_code", 200)
            .with_attribute("user_agent.original", "curl/8.5 \"quoted\"")
            .with_status(if i % 100 == 0 {
                Status::error("boom")
            } else {
                Status::Unset
            })
        })
        .collect();
    let resource = Resource::new("bench");
    let mut g = c.benchmark_group("otlp_encode");
    g.sample_size(20);
    g.bench_function("10000_spans", |b| {
        let mut out = String::new();
        b.iter(|| {
            out.clear();
            encode_request_into(&resource, black_box(&spans), &mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, parse, format, round_trip, otlp_encode);
criterion_main!(benches);
