//! What `history show` says: per test the figures over a window of days, the tests to
//! quarantine, the tests that passed the victory gate, and the daily trend.
//!
//! The window is whole UTC days: today and the `since_days − 1` days before it, by each run's
//! time. The figures of a test are its results in the runs of the window (see
//! [`ingest`](super::ingest) for what a result and a disruption are). Green streaks and "turned
//! flaky" are over the whole history, in the order runs were added.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use super::ingest::DAY_MS;
use super::store::{DailyRow, DisruptionRow, RunRow, Snapshot};
use crate::report::{Status, wilson_interval};
use crate::time::Date;

/// The quarantine rule: a test is to be quarantined when it has at least `min_results`
/// results in the window and more than `max_disrupted` of them were disruptions (failed, or
/// passed only on retry), BuildPulse's default: 10 results and 30 %.
///
/// # Example
///
/// ```
/// use steadfast_flaky::history::QuarantineRule;
///
/// let rule = QuarantineRule::default();
/// assert!(rule.matches(10, 4)); // 40 % of 10 results
/// assert!(!rule.matches(10, 3)); // 30 % is not more than 30 %
/// assert!(!rule.matches(9, 9)); // too few results to say
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuarantineRule {
    /// The fewest results that can put a test in quarantine (default 10).
    pub min_results: u64,
    /// The share of disrupted results, in `0..=1`, that a test must exceed (default 0.30).
    pub max_disrupted: f64,
}

impl Default for QuarantineRule {
    fn default() -> Self {
        Self {
            min_results: 10,
            max_disrupted: 0.30,
        }
    }
}

impl QuarantineRule {
    /// Whether `disrupted` disruptions out of `results` results call for quarantine.
    pub fn matches(&self, results: u64, disrupted: u64) -> bool {
        results > 0
            && results >= self.min_results
            && disrupted as f64 / results as f64 > self.max_disrupted
    }
}

/// What to show: the window, the quarantine rule and the victory gate.
///
/// # Example
///
/// ```
/// use steadfast_flaky::history::{QuarantineRule, Query};
///
/// let query = Query::new()
///     .since_days(14)
///     .rule(QuarantineRule { min_results: 20, max_disrupted: 0.1 })
///     .green_streak(5);
/// assert_eq!(query.window_days(), 14);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Query {
    since_days: u32,
    rule: QuarantineRule,
    green_streak: u32,
    now_ms: Option<i64>,
}

impl Default for Query {
    fn default() -> Self {
        Self::new()
    }
}

impl Query {
    /// The last 28 days, the default rule, a victory gate of 3 green runs, up to now.
    pub fn new() -> Self {
        Self {
            since_days: 28,
            rule: QuarantineRule::default(),
            green_streak: 3,
            now_ms: None,
        }
    }

    /// The window: today and the `days − 1` days before (at least 1; default 28).
    pub fn since_days(mut self, days: u32) -> Self {
        self.since_days = days.max(1);
        self
    }

    /// The quarantine rule (default [`QuarantineRule::default`]).
    pub fn rule(mut self, rule: QuarantineRule) -> Self {
        self.rule = rule;
        self
    }

    /// The victory gate: green this many runs in a row (default 3).
    pub fn green_streak(mut self, runs: u32) -> Self {
        self.green_streak = runs;
        self
    }

    /// "Now", in milliseconds since the Unix epoch (default: the system clock), which decides
    /// the window's last day.
    pub fn now_ms(mut self, now_ms: i64) -> Self {
        self.now_ms = Some(now_ms);
        self
    }

    /// The window's length in days.
    pub fn window_days(&self) -> u32 {
        self.since_days
    }
}

/// A run of the history, as the figures refer to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunRef {
    /// The run's number: runs are numbered 1, 2, … in the order they were added.
    pub run: i64,
    /// Its run id (`--run-id`, or `content:…`).
    pub run_id: String,
    /// `--commit`, when given.
    pub commit: Option<String>,
    /// `--branch`, when given.
    pub branch: Option<String>,
    /// When the run started, in milliseconds since the Unix epoch.
    pub at_ms: i64,
}

impl RunRef {
    fn of(run: &RunRow) -> Self {
        Self {
            run: run.id,
            run_id: run.run_key.clone(),
            commit: run.commit.clone(),
            branch: run.branch.clone(),
            at_ms: run.at_ms,
        }
    }
}

/// A disrupted result: the run, and the seed and message of its last failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Disruption {
    /// The run.
    pub run: RunRef,
    /// The seed of the last failed attempt, when the report had it.
    pub seed: Option<String>,
    /// The first line of the last failure's message, when the report had it.
    pub message: Option<String>,
}

/// One test over the window.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TestHistory {
    /// The test id.
    pub test: String,
    /// Results in the window.
    pub runs: u64,
    /// Results that failed every attempt.
    pub failed_runs: u64,
    /// Results that passed only on a retry.
    pub flaky_runs: u64,
    /// Runs in a row, up to the latest run it ran in, in which it had no failed attempt.
    pub green_streak: u64,
    /// The first run in the history in which it failed or passed only on retry.
    pub turned_flaky: Option<RunRef>,
    /// Its latest disruption (the highest run number), in the window or before it.
    pub last_disruption: Option<Disruption>,
    /// Whether the quarantine rule holds and the victory gate has not been passed since.
    pub quarantine: bool,
    /// Whether it was disrupted in the window and has been green for at least the victory
    /// gate's runs since.
    pub green: bool,
}

impl TestHistory {
    /// Failed runs plus passes on retry.
    pub fn disrupted_runs(&self) -> u64 {
        self.failed_runs + self.flaky_runs
    }

    /// The flake rate, disrupted runs / runs, with its Wilson 95 % score interval
    /// `(rate, low, high)`.
    pub fn flake_rate(&self) -> (f64, f64, f64) {
        // Counts past u32::MAX (4 billion results of one test) are not a history anyone has.
        let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let (low, high) = wilson_interval(clamp(self.disrupted_runs()), clamp(self.runs));
        let rate = if self.runs == 0 {
            0.0
        } else {
            self.disrupted_runs() as f64 / self.runs as f64
        };
        (rate, low, high)
    }

    /// [`Status::StableFail`] when every result failed, [`Status::Flaky`] when some were
    /// disrupted, else [`Status::StablePass`].
    pub fn status(&self) -> Status {
        if self.failed_runs == self.runs {
            Status::StableFail
        } else if self.disrupted_runs() > 0 {
            Status::Flaky
        } else {
            Status::StablePass
        }
    }
}

/// One day of the trend.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrendPoint {
    /// The UTC day.
    pub day: Date,
    /// Runs that day.
    pub runs: u64,
    /// Results that day, over every test.
    pub results: u64,
    /// Of those, the disruptions.
    pub disrupted_results: u64,
    /// Tests with at least one disruption that day.
    pub disrupted_tests: u64,
}

/// The history over a window: see [`History::summary`](super::History::summary).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Summary {
    /// The window's length in days.
    pub since_days: u32,
    /// The window's first day.
    pub first_day: Date,
    /// The window's last day (today, for the query's "now").
    pub last_day: Date,
    /// Runs in the window.
    pub runs: u64,
    /// The quarantine rule applied.
    pub rule: QuarantineRule,
    /// The victory gate applied: green this many runs in a row.
    pub green_streak: u32,
    /// Every test with results in the window, by test id.
    pub tests: Vec<TestHistory>,
    /// One point per day, from the window's first day with a run to its last day; empty
    /// when the window has no run.
    pub trend: Vec<TrendPoint>,
}

impl Summary {
    /// The tests to quarantine, by test id.
    pub fn quarantine(&self) -> impl Iterator<Item = &TestHistory> {
        self.tests.iter().filter(|test| test.quarantine)
    }

    /// The tests that passed the victory gate, by test id.
    pub fn green(&self) -> impl Iterator<Item = &TestHistory> {
        self.tests.iter().filter(|test| test.green)
    }

    /// The tests with a disruption in the window, by test id.
    pub fn disrupted(&self) -> impl Iterator<Item = &TestHistory> {
        self.tests.iter().filter(|test| test.disrupted_runs() > 0)
    }

    /// One test's figures.
    pub fn get(&self, test: &str) -> Option<&TestHistory> {
        self.tests
            .binary_search_by(|entry| entry.test.as_str().cmp(test))
            .ok()
            .map(|index| &self.tests[index])
    }
}

/// The window's first and last day for `query` at `now_ms`.
pub(crate) fn window(query: &Query, now_ms: i64) -> (i64, i64) {
    let last = query.now_ms.unwrap_or(now_ms).div_euclid(DAY_MS);
    (last - i64::from(query.since_days - 1), last)
}

/// Sums of daily rows.
#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    runs: u64,
    failed: u64,
    flaky: u64,
}

/// A hasher for test ids: a multiply by an odd constant, where SipHash would spend its rounds
/// on millions of lookups (the ids are this crate's own, assigned 1, 2, …; nobody chooses them
/// to collide).
#[derive(Debug, Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_i64(&mut self, id: i64) {
        self.0 = (id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Adds up the daily rows of the window as the backend reads them.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    by_test: HashMap<i64, Sums, BuildHasherDefault<IdHasher>>,
    by_day: BTreeMap<i64, (Sums, u64)>,
    /// The day being read (a day's rows come together) and its sums so far.
    day: Option<(i64, Sums, u64)>,
}

impl Tally {
    pub(crate) fn add(&mut self, row: DailyRow) {
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let (runs, failed, flaky) = (count(row.runs), count(row.failed), count(row.flaky));
        let test = self.by_test.entry(row.test_id).or_default();
        test.runs += runs;
        test.failed += failed;
        test.flaky += flaky;
        if self.day.is_some_and(|(day, _, _)| day != row.day) {
            self.end_day();
        }
        let (_, day, disrupted_tests) = self.day.get_or_insert((row.day, Sums::default(), 0));
        day.runs += runs;
        day.failed += failed;
        day.flaky += flaky;
        if failed + flaky > 0 {
            *disrupted_tests += 1;
        }
    }

    /// Moves the day being read into `by_day`.
    fn end_day(&mut self) {
        if let Some((day, sums, disrupted_tests)) = self.day.take() {
            let (total, disrupted) = self.by_day.entry(day).or_default();
            total.runs += sums.runs;
            total.failed += sums.failed;
            total.flaky += sums.flaky;
            *disrupted += disrupted_tests;
        }
    }

    /// The summary of the window `first_day..=last_day`.
    pub(crate) fn summarise(
        mut self,
        snapshot: Snapshot,
        query: &Query,
        (first_day, last_day): (i64, i64),
    ) -> Summary {
        self.end_day();
        let runs: HashMap<i64, &RunRow> = snapshot.runs.iter().map(|run| (run.id, run)).collect();
        let last_disruptions = latest_by_test(&snapshot.disruptions);
        let gate = u64::from(query.green_streak);
        let mut tests: Vec<TestHistory> = snapshot
            .tests
            .iter()
            .filter_map(|test| {
                let sums = self.by_test.get(&test.id).filter(|sums| sums.runs > 0)?;
                let disrupted = sums.failed + sums.flaky;
                let green_streak = u64::try_from(test.green_streak).unwrap_or(0);
                let green = disrupted > 0 && green_streak >= gate;
                Some(TestHistory {
                    test: test.name.clone(),
                    runs: sums.runs,
                    failed_runs: sums.failed,
                    flaky_runs: sums.flaky,
                    green_streak,
                    turned_flaky: test
                        .first_disrupted_run
                        .and_then(|run| runs.get(&run))
                        .map(|run| RunRef::of(run)),
                    last_disruption: last_disruptions.get(&test.id).and_then(|row| {
                        Some(Disruption {
                            run: RunRef::of(runs.get(&row.run_id)?),
                            seed: row.seed.clone(),
                            message: row.message.clone(),
                        })
                    }),
                    quarantine: query.rule.matches(sums.runs, disrupted) && !green,
                    green,
                })
            })
            .collect();
        tests.sort_unstable_by(|a, b| a.test.cmp(&b.test));
        let window_runs: Vec<&RunRow> = snapshot
            .runs
            .iter()
            .filter(|run| run.day >= first_day)
            .collect();
        let mut runs_by_day: BTreeMap<i64, u64> = BTreeMap::new();
        for run in &window_runs {
            *runs_by_day.entry(run.day).or_default() += 1;
        }
        // Runs stamped after "now" (a skewed clock) still count, so the trend reaches them.
        let trend_days = match (runs_by_day.keys().next(), runs_by_day.keys().next_back()) {
            (Some(&start), Some(&end)) => Some(start..=end.max(last_day)),
            _ => None,
        };
        let trend = trend_days
            .into_iter()
            .flatten()
            .map(|day| {
                let (sums, disrupted_tests) = self.by_day.get(&day).copied().unwrap_or_default();
                TrendPoint {
                    day: Date::from_days(day),
                    runs: runs_by_day.get(&day).copied().unwrap_or(0),
                    results: sums.runs,
                    disrupted_results: sums.failed + sums.flaky,
                    disrupted_tests,
                }
            })
            .collect();
        Summary {
            since_days: query.since_days,
            first_day: Date::from_days(first_day),
            last_day: Date::from_days(last_day),
            runs: window_runs.len() as u64,
            rule: query.rule,
            green_streak: query.green_streak,
            tests,
            trend,
        }
    }
}

/// Each test's disruption of the highest run number.
fn latest_by_test(disruptions: &[DisruptionRow]) -> HashMap<i64, &DisruptionRow> {
    let mut latest: HashMap<i64, &DisruptionRow> = HashMap::new();
    for row in disruptions {
        let entry = latest.entry(row.test_id).or_insert(row);
        if row.run_id > entry.run_id {
            *entry = row;
        }
    }
    latest
}
