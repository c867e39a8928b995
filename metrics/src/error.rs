//! The one error type of this crate.

use std::fmt;

use steadfast_determinism::Seed;

/// What went wrong, without the details (see [`Error`]'s accessors for those).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Another recorder was installed as the `metrics` facade's global recorder first.
    RecorderTaken,
    /// A query ran before [`install`](crate::install) installed the recorder.
    NotInstalled,
    /// A query of the current test ran where no test context is current.
    NoTestContext,
    /// No series of the asked metric (with the asked labels) was recorded in the test.
    NotRecorded,
    /// A gauge query matched more than one series; add labels to pick one.
    Ambiguous,
    /// An assertion did not hold: a value differed from the expected one or passed a limit.
    Mismatch,
}

/// An error from `steadfast-metrics`: a recorder that could not be installed, a query of a
/// metric that was never recorded, or an assertion that did not hold (from the `check_*`
/// methods).
///
/// It is opaque: [`kind`](Error::kind) says what went wrong, the accessors give the details.
/// [`Display`](fmt::Display) is one lowercase line naming the metric, its labels and the test;
/// [`report`](Error::report) adds what was observed (the distribution, the gauge's history),
/// which the panicking assertions print below it.
///
/// ```
/// use std::sync::Arc;
/// use steadfast_determinism::{Seed, TestContext};
/// use steadfast_metrics::ErrorKind;
///
/// steadfast_metrics::install()?;
/// let ctx = Arc::new(TestContext::new("orders::counts", Seed::new(7)));
/// let err = ctx.scope(|| {
///     metrics::counter!("orders.placed").increment(1);
///     steadfast_metrics::counter("orders.shipped").check_eq(1).unwrap_err()
/// });
/// assert_eq!(err.kind(), ErrorKind::NotRecorded);
/// assert_eq!(err.metric(), Some("orders.shipped"));
/// assert!(err.to_string().contains("recorded: counter `orders.placed`"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    kind: ErrorKind,
    /// The metric's name and the label filter, as `name{key=value}`.
    metric: Option<String>,
    headline: String,
    report: String,
    test: Option<String>,
    seed: Option<Seed>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, headline: impl Into<String>) -> Self {
        Self {
            kind,
            metric: None,
            headline: headline.into(),
            report: String::new(),
            test: None,
            seed: None,
        }
    }

    pub(crate) fn recorder_taken() -> Self {
        Self::new(
            ErrorKind::RecorderTaken,
            "cannot install the steadfast metrics recorder: another global recorder of the \
             `metrics` crate was installed first in this process",
        )
    }

    pub(crate) fn with_metric(mut self, metric: impl Into<String>) -> Self {
        self.metric = Some(metric.into());
        self
    }

    pub(crate) fn with_test(mut self, test: &str, seed: Seed) -> Self {
        self.test = Some(test.to_owned());
        self.seed = Some(seed);
        self
    }

    pub(crate) fn with_report(mut self, report: impl Into<String>) -> Self {
        self.report = report.into();
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The metric the query was about, with its label filter (`name{key=value}`).
    pub fn metric(&self) -> Option<&str> {
        self.metric.as_deref()
    }

    /// The test whose metrics were queried.
    pub fn test(&self) -> Option<&str> {
        self.test.as_deref()
    }

    /// The seed of that test: rerun with it to get the same metrics.
    pub fn seed(&self) -> Option<Seed> {
        self.seed
    }

    /// What was observed, over several lines: the distribution of a histogram, the history of a
    /// gauge, the series a counter summed. Empty when there is nothing to add.
    pub fn report(&self) -> &str {
        &self.report
    }

    /// The headline and the report, as the panicking assertions print them.
    pub(crate) fn panic_message(&self) -> String {
        if self.report.is_empty() {
            format!("steadfast: {self}")
        } else {
            format!("steadfast: {self}\n{}", self.report.trim_end())
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.headline)
    }
}

impl std::error::Error for Error {}
