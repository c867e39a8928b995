//! Integration tests of steadfast-mocknet, one module per area.

mod support;

mod callbacks;
mod clock;
mod collector;
mod determinism;
mod faults;
mod journal;
mod payments;
mod scenarios;
