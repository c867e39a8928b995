//! Integration tests for steadfast-visual, one module per area.

mod cli;
mod cli_dir;
mod concurrent_update;
mod decode;
mod diff_dir;
#[cfg(feature = "insta")]
mod insta_comparator;
mod pixelmatch_fixtures;
mod properties;
mod prune_cli;
mod review_cli;
mod snapshot;
mod support;
