//! Integration tests of steadfast-determinism, as one test binary.

mod attribute;
mod harness;
mod replay;
#[cfg(feature = "seal")]
mod seal;
mod ui;
