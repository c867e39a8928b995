//! W3C Trace Context, sampling, spans, PII scrubbing and OTLP JSON with zero
//! dependencies.
//!
//! `steadfast-tracing-core` lets a test suite check that trace context
//! survives every hop and produce trace ids that are reproducible from the
//! test seed. It depends on nothing but `std`.
//!
//! # Example
//!
//! ```
//! use steadfast_tracing_core::ids::{IdGenerator, SplitMix64};
//! use steadfast_tracing_core::{extract, inject, TraceParent};
//!
//! // A service receives a request...
//! let incoming = [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")];
//! let mut ids = IdGenerator::new(SplitMix64::new(7)); // seeded: same ids every run
//! let server = extract(&incoming).expect("valid parent").child(&mut ids);
//!
//! // ...and calls another one with a fresh span id in the same trace.
//! let call = server.child(&mut ids);
//! let mut outgoing: Vec<(String, String)> = Vec::new();
//! inject(&call, &mut outgoing);
//! let sent: TraceParent = outgoing[0].1.parse()?;
//! assert_eq!(sent.trace_id(), server.trace_id());
//! assert_eq!(sent.parent_id(), call.span_id());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Overview
//!
//! - [`ids`]: [`TraceId`], [`SpanId`], [`TraceFlags`] and id generation from a
//!   caller-supplied [`IdSource`] (any `FnMut() -> u64`, e.g. a seeded RNG),
//!   which says whether it is random and so whether new traces get the
//!   `random` flag.
//! - [`traceparent`] and [`tracestate`]: strict W3C Trace Context Level 2
//!   headers, with Level 1 behaviour as an option ([`Level`], [`KeyGrammar`]);
//!   parsing and formatting a `traceparent` never allocates.
//! - [`propagation`]: [`SpanContext`], [`extract`] and [`inject`] over the
//!   [`Extractor`] and [`Injector`] carrier traits.
//! - [`baggage`]: the W3C `baggage` header.
//! - [`span`] and [`tracer`]: plain-data [`span::Span`]s and a minimal
//!   [`tracer::Tracer`] driven by an id source and a [`tracer::Clock`].
//! - [`sink`]: an in-memory sink whose assertions (one trace, one root,
//!   every parent present, expected names and kinds) draw the tree on failure.
//! - [`sampling`]: always on/off, trace-id ratio, parent-based, per-route
//!   rules, OpenTelemetry consistent probability sampling (`th`/`rv`) and an
//!   error-keeping tail decision.
//! - [`scrub`]: PII scrubbing before export.
//! - [`otlp`] and [`export`]: OTLP/HTTP JSON encoding and a `std::net`
//!   exporter with batching and retries.
//! - [`otlp_metrics`]: OTLP/HTTP JSON encoding of metrics (sums, gauges and
//!   explicit-bucket histograms) for a collector's `/v1/metrics`.
//!
//! # Crate features
//!
//! None: the crate depends on nothing but `std` and is always complete.
//!
//! # Environment variables
//!
//! | variable | read by | meaning |
//! | --- | --- | --- |
//! | `STEADFAST_OTLP_ENDPOINT` | [`export::OtlpHttpExporter::from_env`] | collector endpoint, `http://HOST:PORT[/PATH]`; a malformed value is an error naming the variable |
//!
//! # Minimum supported Rust version
//!
//! Rust 1.88; raising it is a minor-version change.

// Every public item is documented (also denied workspace-wide).
#![deny(missing_docs)]
// Public types must be printable in test failure output.
#![warn(missing_debug_implementations)]

pub mod baggage;
mod error;
pub mod export;
mod hex;
mod http_date;
pub mod ids;
pub mod otlp;
pub mod otlp_metrics;
pub mod propagation;
pub mod sampling;
pub mod scrub;
pub mod sink;
pub mod span;
pub mod traceparent;
pub mod tracer;
pub mod tracestate;

pub use error::{Error, ErrorKind};
pub use ids::{IdGenerator, IdSource, SpanId, TraceFlags, TraceId};
pub use propagation::{Extractor, Injector, Level, Propagator, SpanContext, extract, inject};
pub use traceparent::TraceParent;
pub use tracestate::{InvalidMember, KeyGrammar, TraceState};

// Doc-test the README's example.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
