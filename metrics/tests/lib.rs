//! Integration tests of steadfast-metrics, one module per area.

mod capture;
mod failures;
mod otlp;
mod rotel;

/// Installs the recorder; every test calls it first, as users do.
pub(crate) fn install() {
    steadfast_metrics::install().expect("no other recorder in this test binary");
}
