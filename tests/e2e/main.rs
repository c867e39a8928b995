//! The end-to-end suite: the payments client through every scenario of its catalog, with the
//! trace followed from client to mock service to webhook receiver, the client's spans exported
//! to the service's OTLP collector, a latency chart checked against its baseline, latency
//! budgets on virtual time, a replay check of the whole journal, and steadfast-flaky's HTML
//! report in a real headless Chromium.
//!
//! Run: `cargo nextest run -p steadfast --all-features --test e2e`.

#[path = "../../examples/payments/client.rs"]
mod client;

mod flow;

// The replicated key-value store of `examples/replicated_kv`, driven by its own runner.
#[path = "../../examples/replicated_kv/run.rs"]
mod kv_run;
#[path = "../../examples/replicated_kv/node.rs"]
mod node;

mod browser;
mod chart;
mod faulty_service;
mod html_report;
mod real_peers;
mod replay;
mod replicated_kv;
mod scenarios;
mod sealed;
mod traces;
