//! Integration tests of steadfast-determinism, as one test binary.

mod attribute;
mod harness;
mod replay;
mod ui;
