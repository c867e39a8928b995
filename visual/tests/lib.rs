//! Integration tests for steadfast-visual, one module per area.

mod cli;
mod decode;
mod pixelmatch_fixtures;
mod properties;
mod snapshot;
mod support;
