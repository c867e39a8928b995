//! Integration tests of steadfast-mocknet, one module per area.

mod support;

/// The payments example's client, shared with the example so the tests drive the real thing.
#[path = "../../examples/payments/client.rs"]
mod client;

mod abuse;
mod binary;
mod blocking;
mod builder;
mod callbacks;
mod cassette;
mod cli;
mod clock;
mod collector;
mod determinism;
mod expectations;
mod faults;
mod journal;
mod link_abuse;
mod link_postgres;
mod links;
mod networks;
mod payments;
mod port;
mod record;
mod round_trip;
mod scenarios;
mod sequences;
mod upstream;
