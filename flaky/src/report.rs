//! The merged report: per-test counts from many runs, shards and machines.
//!
//! A [`Report`] is a map from test id to [`TestStats`]. Merging adds counts, takes the earliest
//! first-seen and latest last-seen times, unions failing seeds and keeps the latest failure, so
//! [`Report::merge`] is associative and commutative: shards can be merged in any order and
//! grouping.
//!
//! ```
//! use steadfast_flaky::{Observation, Outcome, Report, Status};
//!
//! let mut run1 = Report::new();
//! run1.observe(Observation::new("app::integration login", Outcome::Passed));
//! let mut run2 = Report::new();
//! run2.observe(Observation::new("app::integration login", Outcome::Failed));
//! run1.merge(run2);
//! let login = run1.get("app::integration login").unwrap();
//! assert_eq!((login.runs, login.failures), (2, 1));
//! assert_eq!(login.status(), Status::Flaky);
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// How one run of one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The test passed (possibly after failed attempts).
    Passed,
    /// The test failed (every attempt of this run).
    Failed,
    /// The test did not run.
    Skipped,
}

/// One failed attempt: when, with which seed, why, and how to replay it.
///
/// Ordered by time first, so "the latest failure" is the maximum.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct Failure {
    /// When the attempt ran, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub at_ms: Option<i64>,
    /// The seed of the failing attempt, as `0x` and 16 hex digits.
    #[serde(default)]
    pub seed: Option<String>,
    /// The first line of the failure message.
    #[serde(default)]
    pub message: Option<String>,
    /// The command that replays the failure.
    #[serde(default)]
    pub replay: Option<String>,
}

/// What one run said about one test: the input of [`Report::observe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The test id: `<binary id> <test name>` for nextest and steadfast, see the crate docs.
    pub test: String,
    /// How the run ended.
    pub outcome: Outcome,
    /// When the run started, in milliseconds since the Unix epoch.
    pub at_ms: Option<i64>,
    /// Every failed attempt of this run, including the final one when the run failed.
    pub failures: Vec<Failure>,
    /// Whether a pass on retry used the same seed as the failed attempts.
    pub same_seed_retry: bool,
}

impl Observation {
    /// An observation with no time and no failure details.
    pub fn new(test: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            test: test.into(),
            outcome,
            at_ms: None,
            failures: Vec::new(),
            same_seed_retry: false,
        }
    }

    /// The attempts of this run: each failed one, and the last if it passed; at least 1, and
    /// 0 for a skipped test.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_flaky::{Failure, Observation, Outcome};
    ///
    /// let mut retried = Observation::new("app login", Outcome::Passed);
    /// retried.failures.push(Failure::default());
    /// assert_eq!(retried.attempts(), 2);
    /// assert_eq!(Observation::new("app login", Outcome::Failed).attempts(), 1);
    /// assert_eq!(Observation::new("app login", Outcome::Skipped).attempts(), 0);
    /// ```
    pub fn attempts(&self) -> u32 {
        let passed = u32::from(self.outcome == Outcome::Passed);
        match self.outcome {
            Outcome::Skipped => 0,
            _ => u32::try_from(self.failures.len())
                .unwrap_or(u32::MAX)
                .saturating_add(passed)
                .max(1),
        }
    }

    /// Whether the run passed after at least one failed attempt.
    pub fn is_pass_on_retry(&self) -> bool {
        self.outcome == Outcome::Passed && !self.failures.is_empty()
    }
}

/// How stable a test is across the runs of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Failed in every run.
    StableFail,
    /// Failed in some runs or passed only on retry in some.
    Flaky,
    /// Passed on the first attempt in every run.
    StablePass,
    /// Never ran.
    Skipped,
}

impl Status {
    /// The name used in reports: `stable-pass`, `stable-fail`, `flaky`, `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::StablePass => "stable-pass",
            Status::StableFail => "stable-fail",
            Status::Flaky => "flaky",
            Status::Skipped => "skipped",
        }
    }
}

/// Everything known about one test across runs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TestStats {
    /// Runs in which the test ran (skips excluded).
    pub runs: u32,
    /// Runs that passed, on the first attempt or a retry.
    pub passes: u32,
    /// Runs that failed every attempt.
    pub failures: u32,
    /// Runs that passed only on a retry.
    pub passed_on_retry: u32,
    /// Attempts over all runs: one per run, plus one per failed attempt that was retried.
    /// As many as the inputs show: jest-junit, for one, writes only each test's last attempt.
    #[serde(default)]
    pub attempts: u32,
    /// Passes on retry that used the same seed as the failed attempts: the nondeterminism is
    /// outside the seed's control.
    #[serde(default)]
    pub same_seed_retries: u32,
    /// Runs in which the test was skipped.
    #[serde(default)]
    pub skipped: u32,
    /// The earliest run start seen, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub first_seen_ms: Option<i64>,
    /// The latest run start seen, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub last_seen_ms: Option<i64>,
    /// Seeds of every failed attempt.
    #[serde(default)]
    pub failing_seeds: BTreeSet<String>,
    /// The latest failed attempt.
    #[serde(default)]
    pub last_failure: Option<Box<Failure>>,
}

impl TestStats {
    /// The test's status; see [`Status`].
    pub fn status(&self) -> Status {
        if self.runs == 0 {
            Status::Skipped
        } else if self.failures == self.runs {
            Status::StableFail
        } else if self.failures == 0 && self.passed_on_retry == 0 {
            Status::StablePass
        } else {
            Status::Flaky
        }
    }

    /// Runs with at least one failed attempt.
    pub fn unstable_runs(&self) -> u32 {
        self.failures + self.passed_on_retry
    }

    /// The flake rate, [`unstable_runs`](Self::unstable_runs) / runs, with its Wilson 95 %
    /// score interval `(rate, low, high)`; `(0, 0, 1)` when the test never ran.
    pub fn flake_rate(&self) -> (f64, f64, f64) {
        let (low, high) = wilson_interval(self.unstable_runs(), self.runs);
        let rate = if self.runs == 0 {
            0.0
        } else {
            f64::from(self.unstable_runs()) / f64::from(self.runs)
        };
        (rate, low, high)
    }

    fn observe(&mut self, observation: Observation) {
        match observation.outcome {
            Outcome::Skipped => {
                self.skipped += 1;
                return;
            }
            Outcome::Passed => {
                self.passes += 1;
                if observation.is_pass_on_retry() {
                    self.passed_on_retry += 1;
                    if observation.same_seed_retry {
                        self.same_seed_retries += 1;
                    }
                }
            }
            Outcome::Failed => self.failures += 1,
        }
        self.runs += 1;
        self.attempts += observation.attempts();
        self.seen(observation.at_ms, observation.at_ms);
        for failure in observation.failures {
            self.add_failure(failure);
        }
    }

    fn seen(&mut self, first: Option<i64>, last: Option<i64>) {
        self.first_seen_ms = min_some(self.first_seen_ms, first);
        self.last_seen_ms = self.last_seen_ms.max(last);
    }

    fn add_failure(&mut self, failure: Failure) {
        if let Some(seed) = &failure.seed
            && !self.failing_seeds.contains(seed)
        {
            self.failing_seeds.insert(seed.clone());
        }
        if self.last_failure.as_deref() < Some(&failure) {
            self.last_failure = Some(Box::new(failure));
        }
    }

    /// Adds another test's stats to this one.
    pub fn merge(&mut self, other: TestStats) {
        self.runs += other.runs;
        self.passes += other.passes;
        self.failures += other.failures;
        self.passed_on_retry += other.passed_on_retry;
        self.attempts += other.attempts;
        self.same_seed_retries += other.same_seed_retries;
        self.skipped += other.skipped;
        self.seen(other.first_seen_ms, other.last_seen_ms);
        self.failing_seeds.extend(other.failing_seeds);
        if self.last_failure < other.last_failure {
            self.last_failure = other.last_failure;
        }
    }
}

fn min_some(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// The Wilson score interval at 95 % confidence (z = 1.959964) for `successes` out of `trials`;
/// `(0, 1)` when there are no trials.
///
/// ```
/// // Newcombe (1998), Table II: 15 of 148 gives 0.0624 to 0.1605.
/// let (low, high) = steadfast_flaky::report::wilson_interval(15, 148);
/// assert!((low - 0.0624).abs() < 1e-4 && (high - 0.1605).abs() < 1e-4);
/// ```
pub fn wilson_interval(successes: u32, trials: u32) -> (f64, f64) {
    if trials == 0 {
        return (0.0, 1.0);
    }
    const Z: f64 = 1.959_963_984_540_054;
    let n = f64::from(trials);
    let p = f64::from(successes) / n;
    let z2 = Z * Z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Per-test results merged from any number of runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    tests: BTreeMap<String, TestStats>,
}

impl Report {
    /// An empty report.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one run of one test.
    pub fn observe(&mut self, observation: Observation) {
        match self.tests.get_mut(&observation.test) {
            Some(stats) => stats.observe(observation),
            None => {
                let mut stats = TestStats::default();
                let test = observation.test.clone();
                stats.observe(observation);
                self.tests.insert(test, stats);
            }
        }
    }

    /// Adds every test of `other` (union by test id).
    pub fn merge(&mut self, other: Report) {
        if self.tests.is_empty() {
            // The first input of a merge: nothing to add to.
            self.tests = other.tests;
            return;
        }
        for (test, stats) in other.tests {
            self.insert_stats(test, stats);
        }
    }

    /// Adds the stats of one test.
    pub fn insert_stats(&mut self, test: String, stats: TestStats) {
        match self.tests.get_mut(&test) {
            Some(existing) => existing.merge(stats),
            None => {
                self.tests.insert(test, stats);
            }
        }
    }

    /// The stats of one test.
    pub fn get(&self, test: &str) -> Option<&TestStats> {
        self.tests.get(test)
    }

    /// Every test, in id order.
    pub fn tests(&self) -> impl Iterator<Item = (&str, &TestStats)> {
        self.tests
            .iter()
            .map(|(test, stats)| (test.as_str(), stats))
    }

    /// The number of tests.
    pub fn len(&self) -> usize {
        self.tests.len()
    }

    /// Whether the report has no test.
    pub fn is_empty(&self) -> bool {
        self.tests.is_empty()
    }

    /// The tests with the given status.
    pub fn with_status(&self, status: Status) -> impl Iterator<Item = (&str, &TestStats)> {
        self.tests()
            .filter(move |(_, stats)| stats.status() == status)
    }

    /// The exit code of `steadfast-flaky run`: 1 when a test failed in every run, else 3 when a
    /// test is flaky, else 0.
    pub fn exit_code(&self) -> i32 {
        if self.with_status(Status::StableFail).next().is_some() {
            1
        } else if self.with_status(Status::Flaky).next().is_some() {
            3
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values: Newcombe (1998), "Two-sided confidence intervals for the single
    // proportion", Statistics in Medicine 17:857-872, Table II, method 3 (Wilson score),
    // published to four decimals.
    #[test]
    fn wilson_interval_matches_newcombe_table() {
        let cases = [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
        ];
        for (x, n, low, high) in cases {
            let (l, h) = wilson_interval(x, n);
            assert!(
                (l - low).abs() < 6e-5 && (h - high).abs() < 6e-5,
                "{x}/{n}: {l} {h}"
            );
        }
    }

    #[test]
    fn status_follows_counts() {
        let mut report = Report::new();
        let mut retried = Observation::new("t", Outcome::Passed);
        retried.failures.push(Failure::default());
        report.observe(retried);
        assert_eq!(report.get("t").unwrap().status(), Status::Flaky);
        report.observe(Observation::new("s", Outcome::Skipped));
        assert_eq!(report.get("s").unwrap().status(), Status::Skipped);
        report.observe(Observation::new("f", Outcome::Failed));
        assert_eq!(report.get("f").unwrap().status(), Status::StableFail);
        assert_eq!(report.exit_code(), 1);
    }
}
