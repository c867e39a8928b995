//! Integration tests of steadfast-tracing-core, one module per area.

mod baggage;
mod exporter;
mod harness;
mod otlp;
mod otlp_metrics;
mod props;
mod rotel;
mod sampling;
mod scrub;
mod tree;
mod w3c;
mod w3c_cases;

// The conformance service example, compiled in so the harness test drives
// the real service code; `main` and its argument handling only run in the
// example binary.
#[allow(dead_code)]
#[path = "../../examples/tracecontext_service.rs"]
mod tracecontext_service;
