//! Integration tests of steadfast-flaky, one module per area.

mod attempts_log;
mod cli;
mod dialects;
#[cfg(feature = "history")]
mod history;
mod html_report;
mod inputs;
mod junit_properties;
mod merge;
mod report_cli;
mod retry_api;
mod retry_macro;
mod support;
mod unfinished;
