//! Histogram queries: the samples of the selected series, their nearest-rank percentiles and
//! limits on them.

use metrics::IntoF64;

use crate::distribution::{Distribution, HistogramSummary};
use crate::error::Error;
use crate::select::{Matched, Selector};

/// A query of a histogram of the test, from [`histogram`](crate::histogram) or
/// [`Captured::histogram`](crate::Captured::histogram).
///
/// Pools the samples of every series of the name that carries all the labels given with
/// [`with_label`](Self::with_label). Durations recorded with `histogram!(…).record(duration)`
/// are seconds (the `metrics` facade's conversion), and a limit given as a `Duration` is
/// converted the same way, so `p95().assert_below(Duration::from_millis(500))` compares like
/// with like.
#[derive(Debug, Clone)]
#[must_use = "a query does nothing until it is read or asserted"]
pub struct HistogramQuery {
    selector: Selector,
}

impl HistogramQuery {
    pub(crate) fn new(selector: Selector) -> Self {
        Self { selector }
    }

    /// Keeps only the series that carry the label `key` = `value`.
    pub fn with_label(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            selector: self.selector.with_label(key.into(), value.into()),
        }
    }

    /// The samples of the selected series, series by series, each in recorded order.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotRecorded`](crate::ErrorKind::NotRecorded) when no selected series was
    /// recorded (the message lists those that were), or the errors of a query without the
    /// recorder or a test context.
    pub fn samples(&self) -> Result<Vec<f64>, Error> {
        Ok(self.pooled()?.1)
    }

    /// The distribution of the samples.
    ///
    /// # Errors
    ///
    /// As [`samples`](Self::samples), and
    /// [`ErrorKind::NotRecorded`](crate::ErrorKind::NotRecorded) when every sample is NaN.
    pub fn summary(&self) -> Result<HistogramSummary, Error> {
        let (matched, samples) = self.pooled()?;
        HistogramSummary::of(&samples).ok_or_else(|| self.only_nans(&matched))
    }

    /// The median.
    pub fn p50(&self) -> Statistic<'_> {
        self.statistic("p50", 50.0)
    }

    /// The 95th percentile.
    pub fn p95(&self) -> Statistic<'_> {
        self.statistic("p95", 95.0)
    }

    /// The 99th percentile.
    pub fn p99(&self) -> Statistic<'_> {
        self.statistic("p99", 99.0)
    }

    /// The largest sample.
    pub fn max(&self) -> Statistic<'_> {
        self.statistic("max", 100.0)
    }

    /// The `percent`-th percentile by nearest rank (clamped to 0..=100).
    pub fn percentile(&self, percent: f64) -> Statistic<'_> {
        self.statistic("percentile", percent)
    }

    fn statistic(&self, label: &'static str, percent: f64) -> Statistic<'_> {
        Statistic {
            query: self,
            label,
            percent,
        }
    }

    fn pooled(&self) -> Result<(Matched, Vec<f64>), Error> {
        let matched = self.selector.matched()?;
        let samples = matched
            .series
            .iter()
            .flat_map(|(_, records)| records.iter().map(|r| r.value))
            .collect();
        Ok((matched, samples))
    }

    fn only_nans(&self, matched: &Matched) -> Error {
        Error::new(
            crate::ErrorKind::NotRecorded,
            format!(
                "histogram `{}` has only NaN samples{}",
                self.selector,
                matched.where_()
            ),
        )
        .with_metric(self.selector.to_string())
        .with_test(matched.store.test(), matched.store.seed())
    }
}

/// One statistic of a histogram query (`p95`, `max`…), to read or to hold to a limit.
#[derive(Debug, Clone, Copy)]
#[must_use = "a statistic does nothing until it is read or asserted"]
pub struct Statistic<'a> {
    query: &'a HistogramQuery,
    label: &'static str,
    percent: f64,
}

impl Statistic<'_> {
    /// The statistic's value.
    ///
    /// # Errors
    ///
    /// As [`HistogramQuery::summary`].
    pub fn value(&self) -> Result<f64, Error> {
        let (matched, samples) = self.query.pooled()?;
        let sorted = crate::distribution::sorted(&samples);
        steadfast_determinism::budget::nearest_rank(&sorted, self.percent)
            .ok_or_else(|| self.query.only_nans(&matched))
    }

    /// Checks that the statistic is strictly below `limit` (a number, or a `Duration` in
    /// seconds).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`](crate::ErrorKind::Mismatch) when it is not, with the
    /// distribution in the [`report`](Error::report); the errors of
    /// [`value`](Self::value).
    pub fn check_below(&self, limit: impl IntoF64) -> Result<(), Error> {
        let limit = limit.into_f64();
        let (matched, samples) = self.query.pooled()?;
        let sorted = crate::distribution::sorted(&samples);
        let (Some(summary), Some(actual)) = (
            HistogramSummary::of_sorted(&sorted),
            steadfast_determinism::budget::nearest_rank(&sorted, self.percent),
        ) else {
            return Err(self.query.only_nans(&matched));
        };
        if actual < limit {
            return Ok(());
        }
        let label = match self.label {
            "percentile" => format!("p{}", self.percent),
            label => label.to_owned(),
        };
        Err(matched.error(
            &self.query.selector,
            format!(
                "histogram `{}` exceeded its limit{}: {label} is {actual}, the limit is < {limit}",
                self.query.selector,
                matched.where_()
            ),
            Distribution {
                summary,
                samples: &samples,
            }
            .to_string(),
        ))
    }

    /// Asserts that the statistic is strictly below `limit` (a number, or a `Duration` in
    /// seconds).
    ///
    /// # Panics
    ///
    /// When [`check_below`](Self::check_below) fails, with its message and the distribution.
    #[track_caller]
    pub fn assert_below(&self, limit: impl IntoF64) {
        if let Err(err) = self.check_below(limit) {
            panic!("{}", err.panic_message());
        }
    }
}
