//! Every run of every test with its attempts, in the order the inputs hold them: what the
//! HTML report draws as a strip, and what the merged [`Report`] only counts.

use std::collections::BTreeMap;
use std::path::Path;

use crate::attempts::{AttemptOutcome, AttemptRecord, parse_attempts};
use crate::error::Error;
use crate::input::{
    Format, Input, attempts_to_observations, detect, parse_libtest, parse_report_json,
};
use crate::junit::read_junit;
use crate::report::{Observation, Outcome, Report};

/// One attempt of one run.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Attempt {
    /// Whether the attempt passed.
    pub passed: bool,
    /// The seed it ran with, as `0x` and 16 hex digits, when the input says.
    pub seed: Option<String>,
    /// Its failure message: the first line from JUnit and libtest, the whole panic message
    /// (up to 2 KiB) from `attempts.jsonl`.
    pub message: Option<String>,
    /// The command that replays it.
    pub replay: Option<String>,
    /// How long it took, in milliseconds, when the input says.
    pub duration_ms: Option<f64>,
}

/// One run of one test: how it ended and each of its attempts.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Run {
    /// The index of the input it came from in [`RunLog::inputs`].
    pub input: usize,
    /// When it started, in milliseconds since the Unix epoch.
    pub at_ms: Option<i64>,
    /// How it ended.
    pub outcome: Outcome,
    /// Its attempts in order; none for a skipped run.
    pub attempts: Vec<Attempt>,
}

impl Run {
    /// Whether the run passed after a failed attempt.
    pub fn is_pass_on_retry(&self) -> bool {
        self.outcome == Outcome::Passed && self.attempts.iter().any(|attempt| !attempt.passed)
    }

    fn from_observation(input: usize, observation: &Observation) -> Self {
        let mut attempts: Vec<Attempt> = observation
            .failures
            .iter()
            .map(|failure| Attempt {
                passed: false,
                seed: failure.seed.clone(),
                message: failure.message.clone(),
                replay: failure.replay.clone(),
                duration_ms: None,
            })
            .collect();
        match observation.outcome {
            Outcome::Passed => attempts.push(Attempt {
                passed: true,
                ..Attempt::default()
            }),
            // A failed run whose input named no failure still had its one attempt.
            Outcome::Failed if attempts.is_empty() => attempts.push(Attempt::default()),
            _ => {}
        }
        Run {
            input,
            at_ms: observation.at_ms,
            outcome: observation.outcome,
            attempts,
        }
    }
}

/// The runs of every test, by test id, and the inputs they came from.
///
/// # Example
///
/// ```
/// use steadfast_flaky::html::RunLog;
/// use steadfast_flaky::{Failure, Observation, Outcome};
///
/// let mut retried = Observation::new("app login", Outcome::Passed);
/// retried.failures.push(Failure { seed: Some("0x000000000000002a".into()), ..Failure::default() });
/// let log = RunLog::from_observations("junit.xml", &[retried]);
/// let runs = log.runs("app login");
/// assert!(runs[0].is_pass_on_retry());
/// assert_eq!(runs[0].attempts[0].seed.as_deref(), Some("0x000000000000002a"));
/// assert_eq!(log.inputs(), ["junit.xml"]);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunLog {
    inputs: Vec<String>,
    tests: BTreeMap<String, Vec<Run>>,
}

impl RunLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// The runs of `observations`, which came from the input called `input`.
    pub fn from_observations(input: impl Into<String>, observations: &[Observation]) -> Self {
        let mut log = Self::new();
        let index = log.add_input(input.into());
        for observation in observations {
            log.push(&observation.test, Run::from_observation(index, observation));
        }
        log
    }

    /// The runs of `attempts.jsonl` records, one per invocation, each attempt with its own
    /// seed, whole message and duration.
    fn from_records(input: String, records: Vec<AttemptRecord>) -> Self {
        let mut log = Self::new();
        let index = log.add_input(input);
        let mut groups: BTreeMap<(String, String), Vec<AttemptRecord>> = BTreeMap::new();
        for record in records {
            groups
                .entry((record.test.clone(), record.invocation.clone()))
                .or_default()
                .push(record);
        }
        for ((test, _), mut records) in groups {
            records.sort_by_key(|record| record.attempt);
            let passed = records
                .last()
                .is_some_and(|record| record.outcome == AttemptOutcome::Passed);
            let run = Run {
                input: index,
                at_ms: records.iter().map(|record| record.at_ms).min(),
                outcome: if passed {
                    Outcome::Passed
                } else {
                    Outcome::Failed
                },
                attempts: records
                    .into_iter()
                    .map(|record| Attempt {
                        passed: record.outcome == AttemptOutcome::Passed,
                        seed: record.seed,
                        message: record.message,
                        replay: record.replay,
                        duration_ms: Some(record.duration_ms),
                    })
                    .collect(),
            };
            log.push(&test, run);
        }
        log
    }

    fn add_input(&mut self, input: String) -> usize {
        self.inputs.push(input);
        self.inputs.len() - 1
    }

    fn push(&mut self, test: &str, run: Run) {
        match self.tests.get_mut(test) {
            Some(runs) => runs.push(run),
            None => {
                self.tests.insert(test.to_owned(), vec![run]);
            }
        }
    }

    /// The names of the inputs, in the order they were added.
    pub fn inputs(&self) -> &[String] {
        &self.inputs
    }

    /// The runs of one test, in input order; empty for a test the log has no run of.
    pub fn runs(&self, test: &str) -> &[Run] {
        self.tests.get(test).map_or(&[], Vec::as_slice)
    }

    /// Adds the runs of `other` after this log's own.
    pub fn merge(&mut self, other: RunLog) {
        let offset = self.inputs.len();
        self.inputs.extend(other.inputs);
        for (test, runs) in other.tests {
            for mut run in runs {
                run.input += offset;
                self.push(&test, run);
            }
        }
    }
}

/// What one input file says, for the HTML report: the same [`Input`] as
/// [`input::read_input`](crate::input::read_input) gives, and its runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Detailed {
    /// The file's report and warnings.
    pub input: Input,
    /// The file's runs; a JSON report has counts only, so none.
    pub runs: RunLog,
}

/// Reads one input file of any format `report` reads, keeping every run and attempt.
///
/// The file is read whole (the other formats stream large JUnit files).
///
/// # Errors
///
/// As [`input::read_input`](crate::input::read_input).
///
/// # Example
///
/// ```
/// use steadfast_flaky::html::read_detailed;
///
/// let dir = std::env::temp_dir().join(format!("steadfast-flaky-detailed-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("out.txt");
/// std::fs::write(&path, "test a::b ... ok\ntest a::c ... FAILED\n")?;
/// let detailed = read_detailed(&path)?;
/// assert_eq!(detailed.input.report.len(), 2);
/// assert_eq!(detailed.runs.runs("a::c")[0].attempts.len(), 1);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_detailed(path: &Path) -> Result<Detailed, Error> {
    let bytes = std::fs::read(path).map_err(|err| Error::io(path, "read", err))?;
    let (format, text) = detect(path, &bytes)?;
    let name = path.display().to_string();
    let mut input = Input::default();
    let (observations, runs) = match format {
        Format::Junit => {
            let junit = read_junit(path, text.as_bytes())?;
            input.warnings.extend(junit.warning);
            let runs = RunLog::from_observations(name, &junit.observations);
            (junit.observations, runs)
        }
        Format::Libtest => {
            let observations = parse_libtest(path, text)?;
            let runs = RunLog::from_observations(name, &observations);
            (observations, runs)
        }
        Format::Attempts => {
            let records = parse_attempts(path, text)?;
            let observations = attempts_to_observations(records.clone());
            (observations, RunLog::from_records(name, records))
        }
        Format::Report => {
            input.report = parse_report_json(path, text)?;
            let mut runs = RunLog::new();
            runs.add_input(name);
            return Ok(Detailed { input, runs });
        }
    };
    let mut report = Report::new();
    for observation in observations {
        report.observe(observation);
    }
    input.report = report;
    Ok(Detailed { input, runs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempts::AttemptRecord;

    fn record(invocation: &str, attempt: u32, outcome: AttemptOutcome) -> AttemptRecord {
        AttemptRecord {
            test: "app t".into(),
            invocation: invocation.into(),
            attempt,
            max_attempts: 3,
            outcome,
            duration_ms: 2.5,
            message: (outcome == AttemptOutcome::Failed).then(|| "boom\nsecond line".into()),
            seed: Some(format!("0x{attempt:016x}")),
            run_seed: None,
            same_seed_as_first: false,
            replay: Some("cargo test".into()),
            at_ms: i64::from(attempt),
        }
    }

    #[test]
    fn attempt_records_keep_every_attempt_whole_and_in_order() {
        let records = vec![
            record("1", 2, AttemptOutcome::Passed),
            record("1", 1, AttemptOutcome::Failed),
            record("2", 1, AttemptOutcome::Failed),
        ];
        let log = RunLog::from_records("attempts.jsonl".into(), records);
        let runs = log.runs("app t");
        assert_eq!(runs.len(), 2);
        assert!(runs[0].is_pass_on_retry());
        assert_eq!(
            runs[0].attempts[0].message.as_deref(),
            Some("boom\nsecond line")
        );
        assert_eq!(
            runs[0].attempts[1].seed.as_deref(),
            Some("0x0000000000000002")
        );
        assert_eq!(runs[0].attempts[1].duration_ms, Some(2.5));
        assert_eq!(runs[1].outcome, Outcome::Failed);
    }

    #[test]
    fn merging_logs_keeps_each_run_pointing_at_its_input() {
        let mut first =
            RunLog::from_observations("a.xml", &[Observation::new("t", Outcome::Passed)]);
        let second = RunLog::from_observations("b.xml", &[Observation::new("t", Outcome::Failed)]);
        first.merge(second);
        let inputs: Vec<&str> = first
            .runs("t")
            .iter()
            .map(|run| first.inputs()[run.input].as_str())
            .collect();
        assert_eq!(inputs, ["a.xml", "b.xml"]);
        assert_eq!(first.runs("t")[1].attempts.len(), 1);
        assert!(first.runs("missing").is_empty());
    }
}
