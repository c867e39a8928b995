//! Builds a small trace on a fixed seed and clock and prints its OTLP/HTTP
//! JSON request body to stdout, nothing else.
//!
//! ```text
//! cargo run --example trace_demo
//! ```
//!
//! A server span with two client children, an event, an error status and
//! attributes, one of which (`http.request.header.authorization`) is
//! scrubbed before export. Same output on every run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use steadfast::tracing_core::ids::SplitMix64;
use steadfast::tracing_core::otlp::{Resource, encode_request};
use steadfast::tracing_core::scrub::Scrubber;
use steadfast::tracing_core::sink::InMemorySink;
use steadfast::tracing_core::span::{KeyValue, SpanKind, Status};
use steadfast::tracing_core::tracer::Tracer;

fn main() {
    // Every reading of the clock moves it 5 ms forward from a fixed start.
    let ticks = AtomicU64::new(0);
    let clock = move || {
        UNIX_EPOCH
            + Duration::from_secs(1_767_225_600)
            + Duration::from_millis(5 * ticks.fetch_add(1, Ordering::SeqCst))
    };
    let sink = InMemorySink::new();
    let tracer = Tracer::builder()
        .ids(SplitMix64::new(0x5eed))
        .clock(clock)
        .sink(sink.clone())
        .build();

    let mut server = tracer.start_root("POST /checkout", SpanKind::Server);
    server.set_attribute("http.request.method", "POST");
    server.set_attribute("http.route", "/checkout");
    server.set_attribute(
        "http.request.header.authorization",
        "Bearer sk_live_51HxYzQ",
    );
    {
        let mut inventory = tracer.start_child(server.context(), "GET inventory", SpanKind::Client);
        inventory.set_attribute("server.address", "inventory.internal");
        inventory.set_attribute("http.response.status_code", 200);
        inventory.set_status(Status::Ok);
    }
    {
        let mut payment = tracer.start_child(server.context(), "POST payments", SpanKind::Client);
        payment.set_attribute("server.address", "payments.internal");
        payment.set_attribute("http.response.status_code", 502);
        payment.add_event(
            "retry",
            vec![
                KeyValue::new("attempt", 2),
                KeyValue::new("backoff.ms", 100),
            ],
        );
        payment.set_status(Status::error("payment gateway returned 502"));
    }
    server.set_attribute("http.response.status_code", 502);
    server.set_status(Status::error("checkout failed"));
    server.end();

    let mut spans = sink.take();
    Scrubber::new().scrub_spans(&mut spans);
    println!("{}", encode_request(&Resource::new("checkout"), &spans));
}
