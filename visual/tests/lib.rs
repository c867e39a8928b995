//! Integration tests for steadfast-visual, one module per area.

mod pixelmatch_fixtures;
