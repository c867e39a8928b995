//! A minimal tracer: start root and child spans, end them into a sink.
//!
//! Ids come from an [`IdSource`] and times from a [`Clock`], so a seeded RNG
//! and a test clock make every recorded span exactly reproducible.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use steadfast_tracing_core::ids::SplitMix64;
//! use steadfast_tracing_core::sink::InMemorySink;
//! use steadfast_tracing_core::span::SpanKind;
//! use steadfast_tracing_core::tracer::Tracer;
//!
//! let sink = InMemorySink::new();
//! let tracer = Tracer::builder()
//!     .ids(SplitMix64::new(7))
//!     .clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000))
//!     .sink(sink.clone())
//!     .build();
//! let server = tracer.start_root("GET /orders", SpanKind::Server);
//! let call = tracer.start_child(server.context(), "GET inventory", SpanKind::Client);
//! call.end();
//! server.end();
//! sink.assert_shape(&[("GET /orders", SpanKind::Server), ("GET inventory", SpanKind::Client)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::error::Error;
use crate::ids::{IdGenerator, IdSource, RandomSource, TraceFlags};
use crate::propagation::SpanContext;
use crate::sampling::{AlwaysOn, Decision, Sampler, SamplingParams};
use crate::sink::SpanSink;
use crate::span::{Event, KeyValue, Link, Span, SpanKind, Status, Value};
use crate::tracestate::TraceState;

/// A source of wall-clock time for span start and end times.
///
/// Every `Fn() -> SystemTime` is one, so a test clock plugs in as
/// `move || clock.now()`.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

impl<F: Fn() -> SystemTime + Send + Sync> Clock for F {
    fn now(&self) -> SystemTime {
        self()
    }
}

/// The real clock, [`SystemTime::now`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

struct BoxedSource(Box<dyn IdSource + Send>);

impl IdSource for BoxedSource {
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn is_random(&self) -> bool {
        self.0.is_random()
    }
}

type BoxedIds = IdGenerator<BoxedSource>;

/// Starts spans and hands finished ones to a [`SpanSink`].
pub struct Tracer {
    ids: Mutex<BoxedIds>,
    clock: Box<dyn Clock>,
    sampler: Box<dyn Sampler>,
    sink: Arc<dyn SpanSink>,
}

impl fmt::Debug for Tracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracer").finish_non_exhaustive()
    }
}

/// Builds a [`Tracer`]. Defaults: random ids, the system clock, the
/// [`AlwaysOn`] sampler and a sink that discards spans.
#[must_use]
pub struct TracerBuilder {
    ids: Box<dyn IdSource + Send>,
    clock: Box<dyn Clock>,
    sampler: Box<dyn Sampler>,
    sink: Arc<dyn SpanSink>,
}

impl fmt::Debug for TracerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracerBuilder").finish_non_exhaustive()
    }
}

struct Discard;

impl SpanSink for Discard {
    fn on_end(&self, _span: Span) {}
}

impl TracerBuilder {
    /// Generates ids from `source` (e.g. a seeded RNG). Root spans carry the
    /// `random` flag only if the source [is random](IdSource::is_random):
    /// pass a closure over an RNG as [`RandomBits`](crate::ids::RandomBits).
    pub fn ids(mut self, source: impl IdSource + Send + 'static) -> Self {
        self.ids = Box::new(source);
        self
    }

    /// Reads span times from `clock`.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Decides which spans are recorded and sampled.
    pub fn sampler(mut self, sampler: impl Sampler + 'static) -> Self {
        self.sampler = Box::new(sampler);
        self
    }

    /// Receives every recorded span when it ends.
    pub fn sink(mut self, sink: impl SpanSink + 'static) -> Self {
        self.sink = Arc::new(sink);
        self
    }

    /// The tracer.
    pub fn build(self) -> Tracer {
        Tracer {
            ids: Mutex::new(IdGenerator::new(BoxedSource(self.ids))),
            clock: self.clock,
            sampler: self.sampler,
            sink: self.sink,
        }
    }
}

impl Tracer {
    /// A builder with the defaults listed on [`TracerBuilder`].
    pub fn builder() -> TracerBuilder {
        TracerBuilder {
            ids: Box::new(RandomSource::new()),
            clock: Box::new(SystemClock),
            sampler: Box::new(AlwaysOn),
            sink: Arc::new(Discard),
        }
    }

    /// Starts the root span of a new trace.
    pub fn start_root(&self, name: impl Into<String>, kind: SpanKind) -> ActiveSpan<'_> {
        self.start(None, name, kind)
    }

    /// Starts a child of `parent` (local or extracted from a request).
    pub fn start_child(
        &self,
        parent: &SpanContext,
        name: impl Into<String>,
        kind: SpanKind,
    ) -> ActiveSpan<'_> {
        self.start(Some(parent), name, kind)
    }

    /// Starts a span under `parent`, or a root span when there is none.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::ids::SplitMix64;
    /// use steadfast_tracing_core::sampling::AlwaysOff;
    /// use steadfast_tracing_core::span::SpanKind;
    /// use steadfast_tracing_core::tracer::Tracer;
    ///
    /// let tracer = Tracer::builder().ids(SplitMix64::new(1)).sampler(AlwaysOff).build();
    /// let span = tracer.start(None, "dropped", SpanKind::Internal);
    /// assert!(!span.is_recording());
    /// assert!(!span.context().flags().is_sampled(), "still propagated, as not sampled");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start(
        &self,
        parent: Option<&SpanContext>,
        name: impl Into<String>,
        kind: SpanKind,
    ) -> ActiveSpan<'_> {
        let name = name.into();
        let (trace_id, span_id, random) = {
            let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
            let trace_id = match parent {
                Some(p) if p.is_valid() => p.trace_id(),
                _ => ids.trace_id(),
            };
            let span_id = ids.span_id();
            (trace_id, span_id, ids.is_random())
        };
        let parent = parent.filter(|p| p.is_valid());
        let result = self.sampler.should_sample(&SamplingParams {
            parent,
            trace_id,
            name: &name,
            kind,
        });
        // A new trace is flagged random only when its ids are.
        let base_flags = parent.map_or(TraceFlags::NONE.with_random(random), SpanContext::flags);
        let flags = base_flags.with_sampled(result.decision == Decision::RecordAndSample);
        let trace_state = match result.trace_state {
            Some(ts) => ts,
            None => parent.map(|p| p.trace_state().clone()).unwrap_or_default(),
        };
        let cx = SpanContext::new(trace_id, span_id, flags, trace_state);
        let recording = result.decision != Decision::Drop;
        let span = recording.then(|| Span {
            parent_span_id: parent.map(SpanContext::span_id),
            kind,
            start: self.clock.now(),
            ..Span::new(trace_id, span_id, name)
                .with_flags(flags)
                .with_trace_state(cx.trace_state().clone())
        });
        ActiveSpan {
            tracer: self,
            cx,
            span,
            sampling_error: result.error,
        }
    }
}

/// A span in progress. It ends (and is sent to the sink if recording) on
/// [`ActiveSpan::end`] or when dropped.
pub struct ActiveSpan<'t> {
    tracer: &'t Tracer,
    cx: SpanContext,
    span: Option<Span>,
    sampling_error: Option<Error>,
}

impl fmt::Debug for ActiveSpan<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActiveSpan")
            .field("context", &self.cx)
            .field("recording", &self.span.is_some())
            .field("sampling_error", &self.sampling_error)
            .finish()
    }
}

impl ActiveSpan<'_> {
    /// This span's context, to start children or inject into a request.
    pub fn context(&self) -> &SpanContext {
        &self.cx
    }

    /// Whether the sampler chose to record this span.
    pub fn is_recording(&self) -> bool {
        self.span.is_some()
    }

    /// The problem the sampler reported when this span started, if any
    /// ([`SamplingResult::error`](crate::sampling::SamplingResult::error)).
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::ids::SplitMix64;
    /// use steadfast_tracing_core::sampling::{ConsistentProbability, ParentBased};
    /// use steadfast_tracing_core::span::SpanKind;
    /// use steadfast_tracing_core::tracer::Tracer;
    /// use steadfast_tracing_core::{ErrorKind, Propagator};
    ///
    /// let tracer = Tracer::builder()
    ///     .ids(SplitMix64::new(1))
    ///     .sampler(ParentBased::new(ConsistentProbability::new(0.5)?).remote_sampled(ConsistentProbability::new(0.1)?))
    ///     .build();
    /// let ot = format!("ot=th:8;{}", "x".repeat(250)); // no room for th:e666
    /// let parent = Propagator::new()
    ///     .extract(&[("traceparent", "00-ffffffffffffffffffffffffffffffff-1234567890123456-01"), ("tracestate", ot.as_str())])
    ///     .expect("valid");
    /// let span = tracer.start_child(&parent, "GET /", SpanKind::Server);
    /// assert_eq!(span.sampling_error().map(|e| e.kind()), Some(ErrorKind::TraceState));
    /// assert!(!span.context().trace_state().to_string().contains("th:"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sampling_error(&self) -> Option<&Error> {
        self.sampling_error.as_ref()
    }

    /// Sets an attribute.
    pub fn set_attribute(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        if let Some(span) = &mut self.span {
            span.attributes.push(KeyValue::new(key, value));
        }
    }

    /// Adds an event stamped with the tracer's clock.
    pub fn add_event(&mut self, name: impl Into<String>, attributes: Vec<KeyValue>) {
        if let Some(span) = &mut self.span {
            let mut event = Event::new(name, self.tracer.clock.now());
            event.attributes = attributes;
            span.events.push(event);
        }
    }

    /// Adds a link to another span.
    pub fn add_link(&mut self, link: Link) {
        if let Some(span) = &mut self.span {
            span.links.push(link);
        }
    }

    /// Sets the status.
    pub fn set_status(&mut self, status: Status) {
        if let Some(span) = &mut self.span {
            span.status = status;
        }
    }

    /// Replaces the trace state carried by this span and its children.
    pub fn set_trace_state(&mut self, trace_state: TraceState) {
        if let Some(span) = &mut self.span {
            span.trace_state = trace_state.clone();
        }
        self.cx = self.cx.clone().with_trace_state(trace_state);
    }

    /// Ends the span now.
    pub fn end(self) {
        drop(self);
    }
}

impl Drop for ActiveSpan<'_> {
    fn drop(&mut self) {
        if let Some(mut span) = self.span.take() {
            span.end = self.tracer.clock.now();
            self.tracer.sink.on_end(span);
        }
    }
}
