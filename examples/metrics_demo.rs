//! Records a counter, a gauge and a histogram through the `metrics` facade on a fixed seed and
//! manual clock, and prints the OTLP/HTTP JSON metrics export body to stdout, nothing else.
//!
//! ```text
//! cargo run --example metrics_demo
//! ```
//!
//! The body is what a service would POST to a collector's `/v1/metrics`; the same on every run.

use std::sync::Arc;
use std::time::Duration;

use steadfast::determinism::{Seed, TestContext};
use steadfast::metrics::Captured;
use steadfast::tracing_core::otlp::Resource;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    steadfast::metrics::install()?;
    let ctx = Arc::new(TestContext::new("metrics_demo", Seed::new(0x5eed)));
    ctx.scope(|| {
        metrics::describe_histogram!(
            "sse.catchup.duration",
            metrics::Unit::Seconds,
            "time to catch a client up"
        );
        for (tenant, events) in [("a", 4), ("b", 1), ("a", 6)] {
            metrics::gauge!("sse.connections.active").increment(1.0);
            let catch_up = Duration::from_millis(15 * events);
            ctx.clock().advance(catch_up);
            metrics::counter!("sse.events.emitted", "tenant" => tenant).increment(events);
            metrics::histogram!("sse.catchup.duration").record(catch_up);
        }
        metrics::gauge!("sse.connections.active").decrement(1.0);
    });
    let bounds = [0.025, 0.05, 0.1, 0.25];
    let metrics = Captured::of(&ctx).otlp_metrics_with_bounds(&bounds);
    let body = steadfast::tracing_core::otlp_metrics::encode_metrics_request(
        &Resource::new("metrics-demo"),
        &metrics,
    );
    println!("{body}");
    Ok(())
}
