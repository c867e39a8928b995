//! # steadfast-metrics
//!
//! Assert on what the service under test measures itself. Application code records through the
//! [`metrics`] facade (`counter!`, `gauge!`, `histogram!`); this crate's recorder keeps every
//! record of the current test, stamped with the test clock, and the assertions read them:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use steadfast_determinism::{Seed, TestContext};
//! use steadfast_metrics::{counter, gauge, histogram};
//!
//! // The code under test knows nothing of steadfast.
//! fn serve_events(tenant: &'static str, n: u64) {
//!     metrics::gauge!("sse.connections.active").increment(1.0);
//!     metrics::counter!("sse.events.emitted", "tenant" => tenant).increment(n);
//!     metrics::histogram!("sse.catchup.duration").record(Duration::from_millis(40 * n));
//!     metrics::gauge!("sse.connections.active").decrement(1.0);
//! }
//!
//! steadfast_metrics::install()?; // once per process; later calls do nothing
//! // A #[deterministic_test] makes its context current; a doc-test builds one by hand.
//! let ctx = Arc::new(TestContext::new("sse::catch_up", Seed::new(7)));
//! ctx.scope(|| {
//!     serve_events("a", 4);
//!     serve_events("a", 6);
//!     serve_events("b", 1);
//!
//!     counter("sse.events.emitted").with_label("tenant", "a").assert_eq(10);
//!     counter("sse.events.emitted").assert_eq(11); // every tenant
//!     histogram("sse.catchup.duration").p95().assert_below(Duration::from_millis(500));
//!     histogram("sse.catchup.duration").max().assert_below(0.25); // seconds
//!     gauge("sse.connections.active").assert_never_above(1.0);
//!     gauge("sse.connections.active").assert_eq(0.0);
//! });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A failure says what differed, in which test and with which seed, and shows what was
//! recorded (LatencyBudget's distribution for histograms, the history for gauges):
//!
//! ```should_panic
//! # use std::sync::Arc;
//! # use steadfast_determinism::{Seed, TestContext};
//! # steadfast_metrics::install().unwrap();
//! # let ctx = Arc::new(TestContext::new("sse::slow", Seed::new(7)));
//! # let _guard = ctx.enter();
//! for ms in [120.0, 80.0, 95.0, 2400.0] {
//!     metrics::histogram!("sse.catchup.ms").record(ms);
//! }
//! // panics: "steadfast: histogram `sse.catchup.ms` exceeded its limit in test sse::slow
//! // (seed 0x…7): p95 is 2400, the limit is < 500", then the distribution
//! steadfast_metrics::histogram("sse.catchup.ms").p95().assert_below(500.0);
//! ```
//!
//! ## What is here
//!
//! * [`install`] and [`TestRecorder`]: the global recorder, routing every record to the test
//!   that makes it.
//! * [`counter`], [`gauge`], [`histogram`]: queries of the current test, narrowed with
//!   `with_label`; [`Captured`] queries a given test's context.
//! * [`CounterQuery`] (`assert_eq`), [`GaugeQuery`] (`assert_eq`, `assert_at`,
//!   `assert_never_above`, `history`, `value_at`), [`HistogramQuery`] (`p50`, `p95`, `p99`,
//!   `max` → [`Statistic::assert_below`], `summary`, `samples`). Every `assert_*` has a
//!   `check_*` twin returning [`Error`].
//! * [`Captured::otlp_json`]: the test's metrics as an OTLP/HTTP JSON export body (sums,
//!   gauges, histograms), as a service would send to a collector's `/v1/metrics`.
//!
//! ## Which test a record belongs to
//!
//! One recorder serves the whole process (the `metrics` facade has one global recorder), and
//! tests run in parallel. Each registration — every `counter!`/`gauge!`/`histogram!` call —
//! looks up the [`TestContext`] current on the calling
//! thread and records into that test's own store, so parallel tests never see each other's
//! metrics:
//!
//! * a sync `#[deterministic_test]` makes its context current on its thread;
//! * an async one runs on a current-thread tokio runtime on that thread, so the test's
//!   spawned tasks, and a server it spawns on its runtime, record into the test too;
//! * on any other thread (`std::thread::spawn`, `spawn_blocking`, a multi-thread runtime),
//!   call `let _guard = ctx.enter();` there first;
//! * outside any test the records are counted and dropped ([`records_outside_tests`]); a
//!   failure about a missing metric mentions them.
//!
//! A handle kept from a registration (`let c = counter!("x");` in a `static`, say) keeps
//! recording into the test that registered it: register inside the test.
//!
//! Histograms of durations recorded on virtual time (an async `#[deterministic_test]`, a
//! `ManualClock`) hold exactly the same values for the same seed, so percentile assertions on
//! them never flake. Percentiles are nearest-rank, computed by the same function as
//! `LatencyBudget`'s (`steadfast_determinism::budget::nearest_rank`).
//!
//! ## Crate features
//!
//! None.
//!
//! ## Supported Rust versions
//!
//! The workspace's `rust-version` (1.95) and newer.

// Shows which feature enables an item on docs.rs.
#![cfg_attr(docsrs, feature(doc_cfg))]
// Every public item is documented (also denied workspace-wide).
#![deny(missing_docs)]
// Public types must be printable in test failure output.
#![warn(missing_debug_implementations)]

mod counter;
mod distribution;
mod error;
mod gauge;
mod histogram;
pub mod otlp;
mod recorder;
mod select;
mod store;

use std::sync::Arc;

use steadfast_determinism::TestContext;
use steadfast_tracing_core::otlp::Resource;
use steadfast_tracing_core::otlp_metrics::{Metric, encode_metrics_request};

pub use counter::CounterQuery;
pub use distribution::HistogramSummary;
pub use error::{Error, ErrorKind};
pub use gauge::GaugeQuery;
pub use histogram::{HistogramQuery, Statistic};
pub use recorder::{TestRecorder, install, is_installed, records_outside_tests};

use select::Selector;
use store::Kind;

/// A query of the counter `name` of the current test.
///
/// The test is the [`TestContext`] current on this thread when the query is made.
pub fn counter(name: impl Into<String>) -> CounterQuery {
    CounterQuery::new(Selector::new(
        Kind::Counter,
        name.into(),
        TestContext::try_current(),
    ))
}

/// A query of the gauge `name` of the current test.
pub fn gauge(name: impl Into<String>) -> GaugeQuery {
    GaugeQuery::new(Selector::new(
        Kind::Gauge,
        name.into(),
        TestContext::try_current(),
    ))
}

/// A query of the histogram `name` of the current test.
pub fn histogram(name: impl Into<String>) -> HistogramQuery {
    HistogramQuery::new(Selector::new(
        Kind::Histogram,
        name.into(),
        TestContext::try_current(),
    ))
}

/// The metrics of one given test, for queries from a thread where its context is not current
/// and for export.
///
/// ```
/// use std::sync::Arc;
/// use steadfast_determinism::{Seed, TestContext};
/// use steadfast_metrics::Captured;
/// use steadfast_tracing_core::otlp::Resource;
///
/// steadfast_metrics::install()?;
/// let ctx = Arc::new(TestContext::new("orders::export", Seed::new(1)));
/// ctx.scope(|| metrics::counter!("orders.placed", "region" => "eu").increment(3));
///
/// let captured = Captured::of(&ctx);
/// captured.counter("orders.placed").with_label("region", "eu").assert_eq(3);
/// let body = captured.otlp_json(&Resource::new("orders"));
/// assert!(body.contains(r#""name":"orders.placed""#));
/// assert!(body.contains(r#""asInt":3"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Captured {
    ctx: Arc<TestContext>,
}

impl Captured {
    /// The metrics recorded for `ctx`.
    pub fn of(ctx: &Arc<TestContext>) -> Self {
        Self {
            ctx: Arc::clone(ctx),
        }
    }

    /// The metrics of the test current on this thread, if one is.
    pub fn current() -> Option<Self> {
        TestContext::try_current().map(|ctx| Self { ctx })
    }

    /// A query of the counter `name` of this test.
    pub fn counter(&self, name: impl Into<String>) -> CounterQuery {
        CounterQuery::new(self.selector(Kind::Counter, name.into()))
    }

    /// A query of the gauge `name` of this test.
    pub fn gauge(&self, name: impl Into<String>) -> GaugeQuery {
        GaugeQuery::new(self.selector(Kind::Gauge, name.into()))
    }

    /// A query of the histogram `name` of this test.
    pub fn histogram(&self, name: impl Into<String>) -> HistogramQuery {
        HistogramQuery::new(self.selector(Kind::Histogram, name.into()))
    }

    /// The test's metrics in OTLP's shape, histograms over [`otlp::DEFAULT_BOUNDS`]; empty when
    /// nothing was recorded.
    pub fn otlp_metrics(&self) -> Vec<Metric> {
        self.otlp_metrics_with_bounds(&otlp::DEFAULT_BOUNDS)
    }

    /// As [`otlp_metrics`](Self::otlp_metrics), with histograms over `bounds` (ascending upper
    /// bounds of the buckets).
    pub fn otlp_metrics_with_bounds(&self, bounds: &[f64]) -> Vec<Metric> {
        recorder::existing_store_of(&self.ctx)
            .map(|store| otlp::metrics_of(&store, bounds))
            .unwrap_or_default()
    }

    /// One OTLP/HTTP JSON `ExportMetricsServiceRequest` body with the test's metrics under
    /// `resource`, for a collector's `/v1/metrics`.
    pub fn otlp_json(&self, resource: &Resource) -> String {
        encode_metrics_request(resource, &self.otlp_metrics())
    }

    fn selector(&self, kind: Kind, name: String) -> Selector {
        Selector::new(kind, name, Some(Arc::clone(&self.ctx)))
    }
}
