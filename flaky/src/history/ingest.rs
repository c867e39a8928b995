//! What adding runs changes: new run rows, each test's state, the daily amounts and the
//! disruptions, planned in memory from what is stored and written by the backend in one go.
//!
//! A test's result in a run is the report's figures for it: `runs` results, of which
//! `failures` failed every attempt and `passed_on_retry` passed only on a retry. A result with
//! either is a *disruption*; a test whose report shows runs and no disruption was *green* in
//! that run. A test that was only skipped has no result. Many runs planned together (one
//! [`History::add_all`](super::History::add_all)) sum their daily amounts and write each test
//! once, so a large backfill costs about one add per distinct day, not one per run.

use std::collections::{BTreeMap, HashMap};

use super::RunInfo;
use super::run_id::content_run_id;
use super::store::{Changes, DailyRow, DisruptionRow, RunRow, Stored, TestRow};
use crate::Report;

/// Milliseconds in a UTC day.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// What happened to one run given to an add.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Added {
    /// The run's number in the history: runs are numbered 1, 2, … in the order they were
    /// added.
    pub run: i64,
    /// The run id: `--run-id`'s, or `content:…` derived from the report.
    pub run_id: String,
    /// Whether the run is new; `false` when the history already had this run id, and nothing
    /// was counted again.
    pub is_new: bool,
    /// The tests that ran in the run.
    pub tests: i64,
    /// The tests that failed or passed only on retry in the run.
    pub disrupted: i64,
}

/// One result's amounts for a day.
#[derive(Debug, Clone, Copy, Default)]
struct Amounts {
    runs: i64,
    failed: i64,
    flaky: i64,
}

/// The plan being built: the stored state with the runs so far applied to it.
pub(crate) struct Plan {
    tests: Vec<TestRow>,
    changed: Vec<bool>,
    by_name: HashMap<String, usize>,
    run_keys: HashMap<String, (i64, i64, i64)>,
    next_test: i64,
    next_run: i64,
    /// Per day, amounts by index into `tests`.
    days: BTreeMap<i64, Vec<Amounts>>,
    runs: Vec<RunRow>,
    disruptions: Vec<DisruptionRow>,
}

impl Plan {
    pub(crate) fn new(stored: Stored) -> Self {
        let by_name = stored
            .tests
            .iter()
            .enumerate()
            .map(|(index, test)| (test.name.clone(), index))
            .collect();
        let next_test = stored.tests.iter().map(|test| test.id).max().unwrap_or(0) + 1;
        let next_run = stored.runs.iter().map(|run| run.id).max().unwrap_or(0) + 1;
        let run_keys = stored
            .runs
            .into_iter()
            .map(|run| (run.run_key, (run.id, run.tests, run.disrupted)))
            .collect();
        Self {
            changed: vec![false; stored.tests.len()],
            tests: stored.tests,
            by_name,
            run_keys,
            next_test,
            next_run,
            days: BTreeMap::new(),
            runs: Vec::new(),
            disruptions: Vec::new(),
        }
    }

    /// Adds one run, unless the history (or this plan) already has its run id.
    pub(crate) fn add(&mut self, info: &RunInfo, report: &Report, now_ms: i64) -> Added {
        let run_key = info
            .run_id
            .clone()
            .unwrap_or_else(|| content_run_id(report));
        if let Some(&(run, tests, disrupted)) = self.run_keys.get(&run_key) {
            return Added {
                run,
                run_id: run_key,
                is_new: false,
                tests,
                disrupted,
            };
        }
        let run = self.next_run;
        self.next_run += 1;
        let at_ms = info
            .at_ms
            .or_else(|| report.tests().filter_map(|(_, s)| s.first_seen_ms).min())
            .unwrap_or(now_ms);
        let day = at_ms.div_euclid(DAY_MS);
        let (mut tests, mut disrupted) = (0, 0);
        for (name, stats) in report.tests() {
            if stats.runs == 0 {
                continue;
            }
            tests += 1;
            let index = self.test_index(name, run);
            let amounts = Amounts {
                runs: i64::from(stats.runs),
                failed: i64::from(stats.failures),
                flaky: i64::from(stats.passed_on_retry),
            };
            let is_disrupted = amounts.failed + amounts.flaky > 0;
            let test = &mut self.tests[index];
            test.last_run = run;
            if is_disrupted {
                disrupted += 1;
                test.green_streak = 0;
                test.first_disrupted_run.get_or_insert(run);
                test.last_disrupted_run = Some(run);
                let failure = stats.last_failure.as_deref();
                self.disruptions.push(DisruptionRow {
                    run_id: run,
                    test_id: test.id,
                    runs: amounts.runs,
                    failed: amounts.failed,
                    flaky: amounts.flaky,
                    seed: failure.and_then(|failure| failure.seed.clone()),
                    message: failure.and_then(|failure| failure.message.clone()),
                });
            } else {
                test.green_streak += 1;
            }
            self.changed[index] = true;
            let known = self.tests.len();
            let day_amounts = self.days.entry(day).or_default();
            if day_amounts.len() <= index {
                day_amounts.resize(known, Amounts::default());
            }
            let sum = &mut day_amounts[index];
            sum.runs += amounts.runs;
            sum.failed += amounts.failed;
            sum.flaky += amounts.flaky;
        }
        self.run_keys
            .insert(run_key.clone(), (run, tests, disrupted));
        self.runs.push(RunRow {
            id: run,
            run_key: run_key.clone(),
            at_ms,
            day,
            commit: info.commit.clone(),
            branch: info.branch.clone(),
            tests,
            disrupted,
        });
        Added {
            run,
            run_id: run_key,
            is_new: true,
            tests,
            disrupted,
        }
    }

    /// The index of test `name`, a new test first seen in `run` when it is not known.
    fn test_index(&mut self, name: &str, run: i64) -> usize {
        if let Some(&index) = self.by_name.get(name) {
            return index;
        }
        let index = self.tests.len();
        self.tests.push(TestRow {
            id: self.next_test,
            name: name.to_owned(),
            first_run: run,
            last_run: run,
            green_streak: 0,
            first_disrupted_run: None,
            last_disrupted_run: None,
        });
        self.next_test += 1;
        self.changed.push(false);
        self.by_name.insert(name.to_owned(), index);
        index
    }

    /// The rows to write.
    pub(crate) fn into_changes(self) -> Changes {
        let mut daily = Vec::new();
        for (day, amounts) in &self.days {
            let start = daily.len();
            for (index, sum) in amounts.iter().enumerate() {
                if sum.runs > 0 {
                    daily.push(DailyRow {
                        day: *day,
                        test_id: self.tests[index].id,
                        runs: sum.runs,
                        failed: sum.failed,
                        flaky: sum.flaky,
                    });
                }
            }
            // Stored tests come in the backend's order; the packing wants increasing ids.
            daily[start..].sort_unstable_by_key(|row| row.test_id);
        }
        let tests = self
            .tests
            .into_iter()
            .zip(self.changed)
            .filter_map(|(test, changed)| changed.then_some(test))
            .collect();
        Changes {
            runs: self.runs,
            tests,
            daily,
            disruptions: self.disruptions,
        }
    }
}
