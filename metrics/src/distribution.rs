//! The summary of a histogram's samples and its text drawing for failure messages, in the
//! words of `LatencyBudget`'s: nearest-rank percentiles and a ten-bucket bar chart.

use std::fmt;

use steadfast_determinism::budget::nearest_rank;

/// The distribution of a histogram's samples. Percentiles use the nearest-rank method (the
/// one `LatencyBudget` uses): `pN` is the smallest sample with at least N % of the samples at
/// or below it. NaN samples are left out.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct HistogramSummary {
    /// How many samples there are.
    pub count: usize,
    /// The smallest sample.
    pub min: f64,
    /// The median.
    pub p50: f64,
    /// The 95th percentile.
    pub p95: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The largest sample.
    pub max: f64,
    /// The arithmetic mean.
    pub mean: f64,
    /// The sum of the samples.
    pub sum: f64,
}

impl HistogramSummary {
    /// The summary of `samples` in any order, or `None` without (non-NaN) samples.
    pub(crate) fn of(samples: &[f64]) -> Option<Self> {
        Self::of_sorted(&sorted(samples))
    }

    /// The summary of samples already without NaNs and ascending (as [`sorted`] gives them).
    pub(crate) fn of_sorted(sorted: &[f64]) -> Option<Self> {
        let sum: f64 = sorted.iter().sum();
        Some(Self {
            count: sorted.len(),
            min: *sorted.first()?,
            p50: nearest_rank(sorted, 50.0)?,
            p95: nearest_rank(sorted, 95.0)?,
            p99: nearest_rank(sorted, 99.0)?,
            max: *sorted.last()?,
            mean: sum / sorted.len() as f64,
            sum,
        })
    }
}

/// `samples` without NaNs, ascending.
pub(crate) fn sorted(samples: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_unstable_by(f64::total_cmp);
    sorted
}

/// The summary line plus a ten-bucket text histogram between min and max.
pub(crate) struct Distribution<'a> {
    pub(crate) summary: HistogramSummary,
    pub(crate) samples: &'a [f64],
}

impl fmt::Display for Distribution<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.summary;
        writeln!(
            f,
            "  {} samples: min {}, p50 {}, p95 {}, p99 {}, max {}, mean {}",
            s.count, s.min, s.p50, s.p95, s.p99, s.max, s.mean
        )?;
        const BUCKETS: usize = 10;
        let span = s.max - s.min;
        let mut counts = [0usize; BUCKETS];
        for &sample in self.samples.iter().filter(|v| !v.is_nan()) {
            let index = if span > 0.0 && span.is_finite() {
                (((sample - s.min) / span) * BUCKETS as f64) as usize
            } else {
                0
            };
            counts[index.min(BUCKETS - 1)] += 1;
        }
        let widest = counts.iter().copied().max().unwrap_or(1).max(1);
        let one_bucket = !(span > 0.0 && span.is_finite());
        for (index, count) in counts.iter().enumerate() {
            if one_bucket && index > 0 {
                break;
            }
            let from = s.min + span * index as f64 / BUCKETS as f64;
            let bar = "#".repeat((count * 40).div_ceil(widest));
            writeln!(f, "  >= {from:>12} | {bar} {count}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_like_the_latency_budget() {
        let samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let s = HistogramSummary::of(&samples).unwrap();
        assert_eq!((s.p50, s.p95, s.p99, s.max), (50.0, 95.0, 99.0, 100.0));
        assert_eq!((s.count, s.min, s.sum), (100, 1.0, 5050.0));
        let small = HistogramSummary::of(&[30.0, 10.0, 20.0]).unwrap();
        assert_eq!((small.p50, small.p95), (20.0, 30.0));
        assert_eq!(HistogramSummary::of(&[f64::NAN]), None);
    }

    #[test]
    fn drawing_puts_every_sample_in_a_bucket() {
        let samples = [1.0, 2.0, 2.0, 11.0];
        let text = Distribution {
            summary: HistogramSummary::of(&samples).unwrap(),
            samples: &samples,
        }
        .to_string();
        assert!(
            text.starts_with("  4 samples: min 1, p50 2, p95 11"),
            "{text}"
        );
        assert!(
            text.contains(">=            2 | ######################################## 2"),
            "{text}"
        );
        assert!(
            text.contains(">=           10 | #################### 1"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 11, "{text}");
    }
}
