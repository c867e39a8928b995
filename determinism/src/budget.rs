//! Latency budgets: durations measured on the test clock, summarised and asserted.
//!
//! On virtual time (an async `#[deterministic_test]`, or a [`ManualClock`](crate::ManualClock))
//! every duration is decided by the seed, so "p99 under 2 s on a degraded network" or "failover
//! within 10 s" become exact assertions that never flake: the same seed always gives the same
//! distribution, and a failure prints it.
//!
//! ```
//! use std::time::Duration;
//! use steadfast_determinism::budget::LatencyBudget;
//!
//! let budget = LatencyBudget::new("checkout");
//! for ms in [120, 80, 95, 2400, 110] {
//!     budget.record(Duration::from_millis(ms));
//! }
//! let summary = budget.summary().expect("five samples");
//! assert_eq!(summary.p50, Duration::from_millis(110));
//! assert_eq!(summary.max, Duration::from_millis(2400));
//! budget.assert_p50_below(Duration::from_millis(200));
//! ```
//!
//! ```should_panic
//! # use std::time::Duration;
//! # use steadfast_determinism::budget::LatencyBudget;
//! let budget = LatencyBudget::new("checkout");
//! budget.record(Duration::from_secs(3));
//! budget.assert_p99_below(Duration::from_secs(2)); // panics, printing the distribution
//! ```

use std::fmt::{self, Write as _};
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::clock::Clock;

/// A named set of latency samples with percentile assertions.
///
/// Recording takes `&self`, so one budget can be shared by the tasks of a test.
#[derive(Debug)]
pub struct LatencyBudget {
    name: String,
    samples: Mutex<Vec<Duration>>,
}

/// The distribution of a budget's samples. Percentiles use the nearest-rank method: `pN` is the
/// smallest sample with at least N % of the samples at or below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LatencySummary {
    /// How many samples there are.
    pub count: usize,
    /// The smallest sample.
    pub min: Duration,
    /// The median.
    pub p50: Duration,
    /// The 95th percentile.
    pub p95: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The largest sample.
    pub max: Duration,
    /// The arithmetic mean.
    pub mean: Duration,
}

impl LatencyBudget {
    /// An empty budget; `name` appears in failure messages.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            samples: Mutex::new(Vec::new()),
        }
    }

    /// The budget's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds one sample.
    pub fn record(&self, latency: Duration) {
        self.lock().push(latency);
    }

    /// Runs `work`, recording how long it took on `clock`'s monotonic time.
    pub fn time<T>(&self, clock: &dyn Clock, work: impl FnOnce() -> T) -> T {
        let started = clock.monotonic();
        let value = work();
        self.record(clock.monotonic().saturating_sub(started));
        value
    }

    /// Awaits `work`, recording how long it took on `clock`'s monotonic time.
    pub async fn time_async<F: Future>(&self, clock: &dyn Clock, work: F) -> F::Output {
        let started = clock.monotonic();
        let value = work.await;
        self.record(clock.monotonic().saturating_sub(started));
        value
    }

    /// A copy of the samples in the order they were recorded.
    pub fn samples(&self) -> Vec<Duration> {
        self.lock().clone()
    }

    /// The `percent`-th percentile by nearest rank (`percent` clamped to 0..=100), or `None`
    /// without samples.
    pub fn percentile(&self, percent: f64) -> Option<Duration> {
        let mut sorted = self.samples();
        sorted.sort_unstable();
        nearest_rank(&sorted, percent)
    }

    /// The distribution, or `None` without samples.
    pub fn summary(&self) -> Option<LatencySummary> {
        let mut sorted = self.samples();
        sorted.sort_unstable();
        let count = sorted.len();
        let total: Duration = sorted.iter().sum();
        Some(LatencySummary {
            count,
            min: *sorted.first()?,
            p50: nearest_rank(&sorted, 50.0)?,
            p95: nearest_rank(&sorted, 95.0)?,
            p99: nearest_rank(&sorted, 99.0)?,
            max: *sorted.last()?,
            mean: total / u32::try_from(count).unwrap_or(u32::MAX),
        })
    }

    /// Asserts the median is strictly below `limit`.
    ///
    /// # Panics
    ///
    /// When it is not, or when there are no samples; the message shows the distribution.
    #[track_caller]
    pub fn assert_p50_below(&self, limit: Duration) {
        self.assert_below("p50", 50.0, limit);
    }

    /// Asserts the 95th percentile is strictly below `limit`.
    ///
    /// # Panics
    ///
    /// When it is not, or when there are no samples; the message shows the distribution.
    #[track_caller]
    pub fn assert_p95_below(&self, limit: Duration) {
        self.assert_below("p95", 95.0, limit);
    }

    /// Asserts the 99th percentile is strictly below `limit`.
    ///
    /// # Panics
    ///
    /// When it is not, or when there are no samples; the message shows the distribution.
    #[track_caller]
    pub fn assert_p99_below(&self, limit: Duration) {
        self.assert_below("p99", 99.0, limit);
    }

    /// Asserts every sample is strictly below `limit`.
    ///
    /// # Panics
    ///
    /// When one is not, or when there are no samples; the message shows the distribution.
    #[track_caller]
    pub fn assert_max_below(&self, limit: Duration) {
        self.assert_below("max", 100.0, limit);
    }

    #[track_caller]
    fn assert_below(&self, label: &str, percent: f64, limit: Duration) {
        let Some(summary) = self.summary() else {
            panic!(
                "latency budget `{}`: {label} < {limit:?} cannot be checked: no samples were recorded",
                self.name
            );
        };
        let actual = self.percentile(percent).unwrap_or(summary.max);
        if actual >= limit {
            let seed = crate::TestContext::try_current()
                .map(|ctx| format!(" (seed {})", ctx.seed()))
                .unwrap_or_default();
            panic!(
                "latency budget `{}` exceeded{seed}: {label} is {actual:?}, the budget is < {limit:?}\n{}",
                self.name,
                Distribution {
                    summary,
                    samples: &self.samples()
                }
            );
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Duration>> {
        self.samples.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `percent`-th percentile of `sorted` (ascending) by the nearest-rank method: the smallest
/// element with at least `percent` % of the elements at or below it. `percent` is clamped to
/// 0..=100 (NaN counts as 0); `None` for an empty slice.
///
/// The one percentile definition of steadfast: [`LatencyBudget`] and the histograms of
/// `steadfast-metrics` both use it, so their p95s agree.
///
/// ```
/// use steadfast_determinism::budget::nearest_rank;
///
/// let sorted = [10.0, 20.0, 30.0, 40.0];
/// assert_eq!(nearest_rank(&sorted, 50.0), Some(20.0));
/// assert_eq!(nearest_rank(&sorted, 95.0), Some(40.0));
/// assert_eq!(nearest_rank::<f64>(&[], 50.0), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn nearest_rank<T: Copy>(sorted: &[T], percent: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let percent = if percent.is_nan() {
        0.0
    } else {
        percent.clamp(0.0, 100.0)
    };
    let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// The summary line plus a ten-bucket text histogram between min and max.
struct Distribution<'a> {
    summary: LatencySummary,
    samples: &'a [Duration],
}

impl fmt::Display for Distribution<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.summary;
        writeln!(
            f,
            "  {} samples: min {:?}, p50 {:?}, p95 {:?}, p99 {:?}, max {:?}, mean {:?}",
            s.count, s.min, s.p50, s.p95, s.p99, s.max, s.mean
        )?;
        const BUCKETS: usize = 10;
        let span = s.max.saturating_sub(s.min);
        let mut counts = [0usize; BUCKETS];
        for sample in self.samples {
            let offset = sample.saturating_sub(s.min).as_nanos();
            let index = if span.is_zero() {
                0
            } else {
                ((offset * BUCKETS as u128) / (span.as_nanos() + 1)) as usize
            };
            counts[index.min(BUCKETS - 1)] += 1;
        }
        let widest = counts.iter().copied().max().unwrap_or(1).max(1);
        for (index, count) in counts.iter().enumerate() {
            if span.is_zero() && index > 0 {
                break;
            }
            let from = s.min + span * index as u32 / BUCKETS as u32;
            let mut bar = String::new();
            for _ in 0..(count * 40).div_ceil(widest) {
                bar.push('#');
            }
            let mut line = String::new();
            let _ = write!(line, "  >= {from:>12?} | {bar} {count}");
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    fn budget_of(millis: &[u64]) -> LatencyBudget {
        let budget = LatencyBudget::new("test");
        for &ms in millis {
            budget.record(Duration::from_millis(ms));
        }
        budget
    }

    #[test]
    fn nearest_rank_percentiles_follow_the_definition() {
        let budget = budget_of(&(1..=100).collect::<Vec<_>>());
        assert_eq!(budget.percentile(50.0), Some(Duration::from_millis(50)));
        assert_eq!(budget.percentile(99.0), Some(Duration::from_millis(99)));
        assert_eq!(budget.percentile(99.5), Some(Duration::from_millis(100)));
        assert_eq!(budget.percentile(0.0), Some(Duration::from_millis(1)));
        let small = budget_of(&[30, 10, 20]);
        assert_eq!(small.percentile(50.0), Some(Duration::from_millis(20)));
        assert_eq!(small.percentile(95.0), Some(Duration::from_millis(30)));
    }

    #[test]
    fn time_measures_on_the_given_clock() {
        let clock = ManualClock::default();
        let budget = LatencyBudget::new("manual");
        budget.time(&clock, || clock.advance(Duration::from_millis(250)));
        assert_eq!(budget.samples(), vec![Duration::from_millis(250)]);
    }

    #[test]
    fn failure_message_shows_the_distribution() {
        let budget = budget_of(&[100, 200, 300, 4000]);
        let message = std::panic::catch_unwind(|| budget.assert_p99_below(Duration::from_secs(2)))
            .unwrap_err()
            .downcast::<String>()
            .unwrap();
        assert!(
            message.contains("latency budget `test` exceeded"),
            "{message}"
        );
        assert!(message.contains("p99 is 4s"), "{message}");
        assert!(
            message.contains("4 samples: min 100ms, p50 200ms"),
            "{message}"
        );
        assert!(message.contains("| #"), "{message}");
    }

    #[test]
    #[should_panic(expected = "no samples were recorded")]
    fn asserting_an_empty_budget_panics() {
        LatencyBudget::new("empty").assert_max_below(Duration::from_secs(1));
    }

    #[test]
    fn summary_of_nothing_is_none() {
        assert_eq!(LatencyBudget::new("empty").summary(), None);
    }
}
