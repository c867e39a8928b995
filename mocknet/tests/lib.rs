//! Integration tests of steadfast-mocknet, one module per area.

mod support;

/// The payments example's client, shared with the example so the tests drive the real thing.
#[path = "../../examples/payments/client.rs"]
mod client;

mod binary;
mod callbacks;
mod clock;
mod collector;
mod determinism;
mod faults;
mod journal;
mod links;
mod networks;
mod payments;
mod scenarios;
