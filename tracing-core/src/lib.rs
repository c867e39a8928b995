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
//!   caller-supplied [`IdSource`].
//! - [`traceparent`] and [`tracestate`]: strict W3C Trace Context Level 2
//!   headers, with Level 1 behaviour as an option ([`Level`], [`KeyGrammar`]).
//! - [`propagation`]: [`SpanContext`], [`extract`] and [`inject`] over the
//!   [`Extractor`] and [`Injector`] carrier traits.
//!
//! # Crate features
//!
//! None: the crate is small and always complete.
//!
//! # Environment variables
//!
//! None are read by this crate.
//!
//! # Minimum supported Rust version
//!
//! Rust 1.88; raising it is a minor-version change.

// Every public item is documented (also denied workspace-wide).
#![deny(missing_docs)]
// Public types must be printable in test failure output.
#![warn(missing_debug_implementations)]
// Show feature requirements on docs.rs.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
pub mod ids;
pub mod propagation;
pub mod traceparent;
pub mod tracestate;

pub use error::{Error, ErrorKind};
pub use ids::{IdGenerator, IdSource, SpanId, TraceFlags, TraceId};
pub use propagation::{Extractor, Injector, Level, Propagator, SpanContext, extract, inject};
pub use traceparent::TraceParent;
pub use tracestate::{KeyGrammar, TraceState};
pub mod baggage;
pub mod export;
pub mod otlp;
pub mod sampling;
pub mod scrub;
pub mod sink;
pub mod span;
pub mod tracer;
