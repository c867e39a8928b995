//! Finished spans and their parts: attributes, events, links and status.
//!
//! A [`Span`] is plain data with public fields, so other crates (and decoders
//! of OTLP JSON) can build one field by field; the `with_*` setters make that
//! short.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use steadfast_tracing_core::span::{Span, SpanKind, Status};
//! use steadfast_tracing_core::{SpanId, TraceId};
//!
//! let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let span = Span::new(TraceId::from_u128(1), SpanId::from_u64(2), "GET /orders")
//!     .with_kind(SpanKind::Server)
//!     .with_times(start, start + Duration::from_millis(5))
//!     .with_attribute("http.response.status_code", 500)
//!     .with_status(Status::error("boom"));
//! assert_eq!(span.duration(), Duration::from_millis(5));
//! assert!(span.status.is_error());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ids::{SpanId, TraceFlags, TraceId};
use crate::propagation::SpanContext;
use crate::tracestate::TraceState;

/// What role a span plays in a trace. The OTLP numbers are in
/// [`SpanKind::otlp_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SpanKind {
    /// Work inside one process (default).
    #[default]
    Internal,
    /// Handling an incoming request.
    Server,
    /// Making an outgoing request.
    Client,
    /// Sending a message to a queue or topic.
    Producer,
    /// Receiving a message from a queue or topic.
    Consumer,
}

impl SpanKind {
    /// The OTLP `SpanKind` enum number (internal 1 … consumer 5).
    pub const fn otlp_code(self) -> u8 {
        match self {
            SpanKind::Internal => 1,
            SpanKind::Server => 2,
            SpanKind::Client => 3,
            SpanKind::Producer => 4,
            SpanKind::Consumer => 5,
        }
    }

    /// The kind for an OTLP enum number; `0` (unspecified) and unknown
    /// numbers give `None`.
    pub const fn from_otlp_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(SpanKind::Internal),
            2 => Some(SpanKind::Server),
            3 => Some(SpanKind::Client),
            4 => Some(SpanKind::Producer),
            5 => Some(SpanKind::Consumer),
            _ => None,
        }
    }

    /// Lowercase name, as drawn in trace trees.
    pub const fn as_str(self) -> &'static str {
        match self {
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }
}

impl fmt::Display for SpanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string.
    String(String),
    /// A boolean.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A list of values.
    Array(Vec<Value>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::Array(v.into_iter().map(Into::into).collect())
    }
}

/// One attribute: a key and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue {
    /// The attribute key, e.g. `http.request.method`.
    pub key: String,
    /// The value.
    pub value: Value,
}

impl KeyValue {
    /// Pairs `key` with `value`.
    pub fn new(key: impl Into<String>, value: impl Into<Value>) -> Self {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// Something that happened at a point in time during a span.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Event name.
    pub name: String,
    /// When it happened.
    pub time: SystemTime,
    /// Event attributes.
    pub attributes: Vec<KeyValue>,
}

impl Event {
    /// An event without attributes.
    pub fn new(name: impl Into<String>, time: SystemTime) -> Self {
        Event {
            name: name.into(),
            time,
            attributes: Vec::new(),
        }
    }

    /// Adds an attribute.
    #[must_use]
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.attributes.push(KeyValue::new(key, value));
        self
    }
}

/// A reference from a span to another span, possibly in another trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The linked span's trace id.
    pub trace_id: TraceId,
    /// The linked span's id.
    pub span_id: SpanId,
    /// The linked span's trace state.
    pub trace_state: TraceState,
    /// Link attributes.
    pub attributes: Vec<KeyValue>,
}

impl Link {
    /// A link to `cx`.
    pub fn new(cx: &SpanContext) -> Self {
        Link {
            trace_id: cx.trace_id(),
            span_id: cx.span_id(),
            trace_state: cx.trace_state().clone(),
            attributes: Vec::new(),
        }
    }
}

/// How a span ended. OTLP codes: unset 0, ok 1, error 2.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Status {
    /// No status was set (default).
    #[default]
    Unset,
    /// The operation succeeded.
    Ok,
    /// The operation failed, with a message.
    Error(String),
}

impl Status {
    /// An error status with `message`.
    pub fn error(message: impl Into<String>) -> Self {
        Status::Error(message.into())
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        matches!(self, Status::Error(_))
    }

    /// The OTLP `StatusCode` number.
    pub const fn otlp_code(&self) -> u8 {
        match self {
            Status::Unset => 0,
            Status::Ok => 1,
            Status::Error(_) => 2,
        }
    }
}

/// A finished span.
///
/// Fields are public so spans can be built field by field; times are
/// [`SystemTime`]s (see [`system_time_from_unix_nanos`] for OTLP nanoseconds).
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The trace this span belongs to.
    pub trace_id: TraceId,
    /// This span's id.
    pub span_id: SpanId,
    /// The parent span's id; `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    /// The trace state when the span started.
    pub trace_state: TraceState,
    /// The trace flags when the span started.
    pub flags: TraceFlags,
    /// Span name, e.g. `GET /orders/{id}`.
    pub name: String,
    /// Span kind.
    pub kind: SpanKind,
    /// Start time.
    pub start: SystemTime,
    /// End time.
    pub end: SystemTime,
    /// Attributes, in the order they were set.
    pub attributes: Vec<KeyValue>,
    /// Events, in the order they were added.
    pub events: Vec<Event>,
    /// Links to other spans.
    pub links: Vec<Link>,
    /// How the span ended.
    pub status: Status,
}

impl Span {
    /// A root, internal span with no attributes, starting and ending at the
    /// Unix epoch; use the `with_*` setters for the rest.
    pub fn new(trace_id: TraceId, span_id: SpanId, name: impl Into<String>) -> Self {
        Span {
            trace_id,
            span_id,
            parent_span_id: None,
            trace_state: TraceState::new(),
            flags: TraceFlags::NONE,
            name: name.into(),
            kind: SpanKind::Internal,
            start: UNIX_EPOCH,
            end: UNIX_EPOCH,
            attributes: Vec::new(),
            events: Vec::new(),
            links: Vec::new(),
            status: Status::Unset,
        }
    }

    /// Sets the parent span id.
    #[must_use]
    pub fn with_parent(mut self, parent: SpanId) -> Self {
        self.parent_span_id = Some(parent);
        self
    }

    /// Sets the kind.
    #[must_use]
    pub fn with_kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    /// Sets the flags.
    #[must_use]
    pub fn with_flags(mut self, flags: TraceFlags) -> Self {
        self.flags = flags;
        self
    }

    /// Sets the trace state.
    #[must_use]
    pub fn with_trace_state(mut self, trace_state: TraceState) -> Self {
        self.trace_state = trace_state;
        self
    }

    /// Sets start and end times.
    #[must_use]
    pub fn with_times(mut self, start: SystemTime, end: SystemTime) -> Self {
        self.start = start;
        self.end = end;
        self
    }

    /// Adds an attribute.
    #[must_use]
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.attributes.push(KeyValue::new(key, value));
        self
    }

    /// Adds an event.
    #[must_use]
    pub fn with_event(mut self, event: Event) -> Self {
        self.events.push(event);
        self
    }

    /// Adds a link.
    #[must_use]
    pub fn with_link(mut self, link: Link) -> Self {
        self.links.push(link);
        self
    }

    /// Sets the status.
    #[must_use]
    pub fn with_status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    /// The first attribute named `key`.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|kv| kv.key == key)
            .map(|kv| &kv.value)
    }

    /// End minus start, or zero if the end is before the start.
    pub fn duration(&self) -> Duration {
        self.end
            .duration_since(self.start)
            .unwrap_or(Duration::ZERO)
    }

    /// The span's own context (not remote).
    pub fn context(&self) -> SpanContext {
        SpanContext::new(
            self.trace_id,
            self.span_id,
            self.flags,
            self.trace_state.clone(),
        )
    }
}

/// Nanoseconds since the Unix epoch, saturating; times before the epoch give 0.
///
/// # Example
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use steadfast_tracing_core::span::unix_nanos;
///
/// assert_eq!(unix_nanos(UNIX_EPOCH + Duration::from_nanos(42)), 42);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The time `nanos` nanoseconds after the Unix epoch.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::span::{system_time_from_unix_nanos, unix_nanos};
///
/// assert_eq!(unix_nanos(system_time_from_unix_nanos(1_700_000_000_123_456_789)), 1_700_000_000_123_456_789);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn system_time_from_unix_nanos(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}
