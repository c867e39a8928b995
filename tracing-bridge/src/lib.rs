//! # steadfast-tracing-bridge
//!
//! A bridge from the `tracing` crate: spans of code instrumented with `#[instrument]` become
//! steadfast-tracing-core spans with W3C ids drawn from the test seed and times read from the
//! test clock, so a test can assert the trace tree they form, the same on every replay.
//! Through the facade it is `steadfast::tracing_bridge`, behind the `tracing` feature.
//!
//! ```
//! use steadfast_determinism::{Seed, TestContext};
//! use steadfast_tracing_bridge::CaptureLayer;
//! use steadfast_tracing_core::sink::InMemorySink;
//! use steadfast_tracing_core::span::SpanKind;
//! use tracing_subscriber::layer::SubscriberExt as _;
//!
//! #[tracing::instrument(fields(otel.kind = "server"))]
//! fn handle_order(id: u64) {
//!     charge_card(id);
//! }
//!
//! #[tracing::instrument(fields(otel.kind = "client"))]
//! fn charge_card(order: u64) {
//!     tracing::info!(amount = 42, "charged");
//! }
//!
//! let ctx = TestContext::new("docs::orders", Seed::new(7));
//! let sink = InMemorySink::new();
//! let layer = CaptureLayer::new(sink.clone(), ctx.seed(), ctx.clock().clone());
//! let subscriber = tracing_subscriber::registry().with(layer);
//! tracing::subscriber::with_default(subscriber, || handle_order(1));
//!
//! sink.assert_single_trace();
//! sink.assert_shape(&[("handle_order", SpanKind::Server), ("charge_card", SpanKind::Client)]);
//! ```
//!
//! ## How spans are recorded
//!
//! Span fields become attributes. The fields `otel.name`, `otel.kind` (`server`, `client`,
//! `producer`, `consumer`, `internal`), `otel.status_code` (`ok`, `error`) and
//! `otel.status_message` set the span's name, kind and status, as in `tracing-opentelemetry`.
//! Events inside a span become span events; an `ERROR`-level event marks an unset status as an
//! error with the event's message. Trace and span ids come from the [`ID_STREAM`] stream of the
//! seed's `DetRng`.
//!
//! ## Supported Rust versions
//!
//! The workspace's `rust-version` (1.95) and newer; raising it is a minor-version change.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use steadfast_determinism::{Clock, DetRng, Seed, TestContext};
use steadfast_tracing_core::ids::{IdGenerator, IdSource};
use steadfast_tracing_core::sink::SpanSink;
use steadfast_tracing_core::span::{Event, KeyValue, Span, SpanKind, Status, Value};
use steadfast_tracing_core::{SpanId, TraceFlags, TraceId};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The `DetRng` stream that trace and span ids are drawn from.
pub const ID_STREAM: &str = "trace-ids";

/// A `tracing-subscriber` layer that records `tracing` spans as steadfast-tracing-core spans.
pub struct CaptureLayer<S> {
    ids: Mutex<IdGenerator<SeededIds>>,
    clock: Box<dyn Clock>,
    sink: S,
}

/// Ids drawn from a seeded `DetRng`.
struct SeededIds(DetRng);

impl IdSource for SeededIds {
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

impl<S: SpanSink> CaptureLayer<S> {
    /// A layer whose ids come from the `"trace-ids"` stream of `seed` and whose span times come
    /// from `clock`; finished spans go to `sink`.
    pub fn new(sink: S, seed: Seed, clock: impl Clock + 'static) -> Self {
        let ids = SeededIds(DetRng::from_seed(seed).fork(ID_STREAM));
        Self {
            ids: Mutex::new(IdGenerator::new(ids)),
            clock: Box::new(clock),
            sink,
        }
    }

    /// A layer for the running deterministic test: its seed and its clock.
    ///
    /// # Panics
    ///
    /// Outside a deterministic test (see [`TestContext::current`]).
    pub fn for_current_test(sink: S) -> Self {
        let ctx = TestContext::current();
        Self::new(sink, ctx.seed(), ctx.clock().clone())
    }

    fn next_ids(&self, new_trace: bool) -> (Option<TraceId>, SpanId) {
        let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        let trace = new_trace.then(|| ids.trace_id());
        (trace, ids.span_id())
    }
}

impl<S> fmt::Debug for CaptureLayer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureLayer")
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// A span between its start and its close, kept in the registry's extensions.
struct OpenSpan(Span);

impl<S, R> Layer<R> for CaptureLayer<S>
where
    S: SpanSink + 'static,
    R: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, R>) {
        let Some(span_ref) = ctx.span(id) else {
            return;
        };
        let parent = span_ref.parent().and_then(|parent| {
            parent
                .extensions()
                .get::<OpenSpan>()
                .map(|open| (open.0.trace_id, open.0.span_id))
        });
        let (new_trace, span_id) = self.next_ids(parent.is_none());
        let trace_id = match (parent, new_trace) {
            (Some((trace_id, _)), _) => trace_id,
            (None, Some(trace_id)) => trace_id,
            // next_ids gives a trace id whenever there is no parent.
            (None, None) => return,
        };
        let mut span = Span::new(trace_id, span_id, attrs.metadata().name())
            .with_flags(TraceFlags::SAMPLED.with_random(true));
        if let Some((_, parent_id)) = parent {
            span = span.with_parent(parent_id);
        }
        let now = self.clock.now();
        span.start = now;
        span.end = now;
        attrs.record(&mut Visitor(&mut SpanFields(&mut span)));
        span_ref.extensions_mut().insert(OpenSpan(span));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, R>) {
        if let Some(span_ref) = ctx.span(id)
            && let Some(open) = span_ref.extensions_mut().get_mut::<OpenSpan>()
        {
            values.record(&mut Visitor(&mut SpanFields(&mut open.0)));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, R>) {
        let Some(span_ref) = ctx.event_span(event) else {
            return;
        };
        let mut extensions = span_ref.extensions_mut();
        let Some(open) = extensions.get_mut::<OpenSpan>() else {
            return;
        };
        let mut fields = EventFields::default();
        event.record(&mut Visitor(&mut fields));
        let name = fields
            .message
            .clone()
            .unwrap_or_else(|| event.metadata().name().to_owned());
        if *event.metadata().level() == Level::ERROR && open.0.status == Status::Unset {
            open.0.status = Status::error(name.clone());
        }
        let mut recorded = Event::new(name, self.clock.now());
        recorded.attributes = fields.attributes;
        open.0.events.push(recorded);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, R>) {
        let Some(span_ref) = ctx.span(&id) else {
            return;
        };
        let Some(OpenSpan(mut span)) = span_ref.extensions_mut().remove::<OpenSpan>() else {
            return;
        };
        span.end = self.clock.now();
        self.sink.on_end(span);
    }
}

/// Records span fields as attributes, and `otel.*` fields as name, kind and status.
struct SpanFields<'a>(&'a mut Span);

impl FieldSink for SpanFields<'_> {
    fn set(&mut self, field: &Field, value: Value) {
        let span = &mut *self.0;
        match (field.name(), &value) {
            ("otel.name", Value::String(name)) => span.name = name.clone(),
            ("otel.kind", Value::String(kind)) => {
                if let Some(kind) = parse_kind(kind) {
                    span.kind = kind;
                }
            }
            ("otel.status_code", Value::String(code)) => match code.to_ascii_lowercase().as_str() {
                "ok" => span.status = Status::Ok,
                "error" if !span.status.is_error() => span.status = Status::error(""),
                _ => {}
            },
            ("otel.status_message", Value::String(message)) => {
                span.status = Status::error(message.clone())
            }
            (name, _) => {
                span.attributes.retain(|kv| kv.key != name);
                span.attributes.push(KeyValue::new(name, value));
            }
        }
    }
}

fn parse_kind(kind: &str) -> Option<SpanKind> {
    Some(match kind.to_ascii_lowercase().as_str() {
        "server" => SpanKind::Server,
        "client" => SpanKind::Client,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        "internal" => SpanKind::Internal,
        _ => return None,
    })
}

/// OTLP integers are signed; larger values keep their digits as a string.
fn unsigned(value: u64) -> Value {
    i64::try_from(value).map_or_else(|_| Value::String(value.to_string()), Value::Int)
}

/// An event's message and other fields.
#[derive(Default)]
struct EventFields {
    message: Option<String>,
    attributes: Vec<KeyValue>,
}

impl FieldSink for EventFields {
    fn set(&mut self, field: &Field, value: Value) {
        match (field.name(), value) {
            ("message", Value::String(message)) => self.message = Some(message),
            (name, value) => self.attributes.push(KeyValue::new(name, value)),
        }
    }
}

/// Where visited fields go: a span's attributes or an event's.
trait FieldSink {
    fn set(&mut self, field: &Field, value: Value);
}

/// Converts `tracing` field values into steadfast attribute values for a [`FieldSink`].
struct Visitor<'a, S>(&'a mut S);

impl<S: FieldSink> Visit for Visitor<'_, S> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.set(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.set(field, Value::String(value.to_owned()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.set(field, Value::Bool(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.set(field, Value::Int(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.set(field, unsigned(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.set(field, Value::Float(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use steadfast_determinism::ManualClock;
    use steadfast_tracing_core::sink::InMemorySink;
    use tracing_subscriber::layer::SubscriberExt as _;

    #[tracing::instrument(fields(otel.kind = "server", http.route = "/orders"))]
    fn serve(clock: &ManualClock, fail: bool) {
        clock.advance(Duration::from_millis(5));
        call_backend(clock, fail);
        clock.advance(Duration::from_millis(1));
    }

    #[tracing::instrument(skip(clock), fields(otel.kind = "client", otel.name = "POST /charge"))]
    fn call_backend(clock: &ManualClock, fail: bool) {
        clock.advance(Duration::from_millis(20));
        if fail {
            tracing::error!(code = 503u64, "backend unavailable");
        } else {
            tracing::info!("charged");
        }
    }

    fn capture(seed: u64, fail: bool) -> Vec<Span> {
        let clock = ManualClock::default();
        let sink = InMemorySink::new();
        let layer = CaptureLayer::new(sink.clone(), Seed::new(seed), clock.clone());
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || serve(&clock, fail));
        sink.spans()
    }

    #[test]
    fn instrumented_calls_become_one_trace_with_kinds_names_and_times() {
        let spans = capture(1, false);
        assert_eq!(spans.len(), 2);
        let (client, server) = (&spans[0], &spans[1]);
        assert_eq!(server.name, "serve");
        assert_eq!(server.kind, SpanKind::Server);
        assert_eq!(client.name, "POST /charge");
        assert_eq!(client.kind, SpanKind::Client);
        assert_eq!(client.trace_id, server.trace_id);
        assert_eq!(client.parent_span_id, Some(server.span_id));
        assert_eq!(server.parent_span_id, None);
        assert_eq!(server.duration(), Duration::from_millis(26));
        assert_eq!(client.duration(), Duration::from_millis(20));
        assert_eq!(
            server.attribute("http.route"),
            Some(&Value::String("/orders".into()))
        );
        assert_eq!(client.events[0].name, "charged");
        assert_eq!(client.status, Status::Unset);
    }

    #[test]
    fn ids_follow_the_seed() {
        let ids = |seed| {
            capture(seed, false)
                .iter()
                .map(|s| (s.trace_id, s.span_id))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(5), ids(5));
        assert_ne!(ids(5), ids(6));
        let mut expected =
            IdGenerator::new(SeededIds(DetRng::from_seed(Seed::new(5)).fork(ID_STREAM)));
        let trace = expected.trace_id();
        let root = expected.span_id();
        assert_eq!(ids(5)[1], (trace, root));
    }

    #[test]
    fn error_events_mark_the_span_failed() {
        let spans = capture(1, true);
        assert_eq!(spans[0].status, Status::error("backend unavailable"));
        assert_eq!(
            spans[0].events[0].attributes,
            vec![KeyValue::new("code", Value::Int(503))]
        );
    }
}
