//! What [`run`](super::run) found: the report of the runs that finished, and the run that did
//! not.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use steadfast_determinism::Seed;

use crate::error::Error;
use crate::render::{self, JsonUnfinished, OutputFormat};
use crate::report::{Observation, Report};

/// The outcome of [`run`](super::run): the merged results of every run that finished, and
/// the run that stopped the others, if one did.
///
/// # Example
///
/// ```
/// use steadfast_flaky::run::{RunConfig, run};
///
/// let dir = std::env::temp_dir().join(format!("steadfast-flaky-runs-doc-{}", std::process::id()));
/// let junit = dir.join("junit.xml");
/// let write = format!(
///     r#"printf '<testsuites><testsuite name="app"><testcase name="login"/></testsuite></testsuites>' > '{}'"#,
///     junit.display()
/// );
/// let runs = run(&RunConfig::new(["sh", "-c", write.as_str()]).runs(2).junit(&junit).dir(&dir))?;
///
/// assert_eq!((runs.planned(), runs.finished()), (2, 2));
/// assert!(runs.unfinished().is_none());
/// assert_eq!((runs.report().len(), runs.exit_code()), (1, 0));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Runs {
    report: Report,
    planned: u32,
    finished: u32,
    dir: PathBuf,
    unfinished: Option<Unfinished>,
}

/// The run that did not finish: its number, its seed and why.
///
/// # Example
///
/// See [the module](super).
#[derive(Debug)]
pub struct Unfinished {
    run: u32,
    seed: Seed,
    error: Error,
}

impl Unfinished {
    /// The run's number, from 1.
    pub fn run(&self) -> u32 {
        self.run
    }

    /// The seed the run had (its `STEADFAST_SEED`).
    pub fn seed(&self) -> Seed {
        self.seed
    }

    /// Why the run did not finish: [`ErrorKind`](crate::ErrorKind) `Killed`, `TimedOut`,
    /// `Interrupted`, `NoReport`, `InvalidReport` (its source says what is wrong with the
    /// file) or `Spawn`.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// [`error`](Self::error) and its causes on one line, each cause once, as the reports say
    /// it.
    pub fn reason(&self) -> String {
        crate::render::error_line(&self.error)
    }
}

impl Runs {
    pub(super) fn new(planned: u32, dir: PathBuf) -> Self {
        Self {
            report: Report::new(),
            planned,
            finished: 0,
            dir,
            unfinished: None,
        }
    }

    pub(super) fn finished_one(&mut self, observations: Vec<Observation>) {
        for observation in observations {
            self.report.observe(observation);
        }
        self.finished += 1;
    }

    pub(super) fn stopped(&mut self, run: u32, seed: Seed, error: Error) {
        self.unfinished = Some(Unfinished { run, seed, error });
    }

    /// The merged results of the runs that finished.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The report, without the rest.
    pub fn into_report(self) -> Report {
        self.report
    }

    /// How many runs were asked for.
    pub fn planned(&self) -> u32 {
        self.planned
    }

    /// How many runs finished, and so are in the [`report`](Self::report): all that were
    /// asked for, or those before the [`unfinished`](Self::unfinished) one.
    pub fn finished(&self) -> u32 {
        self.finished
    }

    /// The run that did not finish and stopped the others, if one did.
    pub fn unfinished(&self) -> Option<&Unfinished> {
        self.unfinished.as_ref()
    }

    /// The exit code of `steadfast-flaky run`: 2 when a run did not finish, else the
    /// [report's](Report::exit_code) (1 a test failed in every run, 3 a flaky test, 0).
    pub fn exit_code(&self) -> i32 {
        match self.unfinished {
            Some(_) => 2,
            None => self.report.exit_code(),
        }
    }

    /// The report in `format`. When a run did not finish, the Markdown ends with a section
    /// saying which and why, and the JSON has an `unfinished_run` object (see
    /// [`render`](crate::render)); other formats hold the tests alone.
    pub fn render(&self, format: OutputFormat) -> String {
        let Some(unfinished) = &self.unfinished else {
            return render::render(&self.report, format);
        };
        match format {
            OutputFormat::Markdown => {
                let mut text = render::to_markdown(&self.report);
                text.push_str(&self.markdown_note(unfinished));
                text
            }
            OutputFormat::Json => {
                let reason = unfinished.reason();
                let note = JsonUnfinished {
                    run: unfinished.run,
                    of: self.planned,
                    seed: unfinished.seed.to_string(),
                    reason: &reason,
                };
                render::to_json_with(&self.report, Some(&note))
            }
            _ => render::render(&self.report, format),
        }
    }

    fn markdown_note(&self, unfinished: &Unfinished) -> String {
        let run = unfinished.run;
        let mut note = format!(
            "\n### Run {run} of {} did not finish\n\n{}\n\nIts seed was `{}`. The report \
             above holds ",
            self.planned,
            unfinished.reason(),
            unfinished.seed
        );
        let _ = match self.finished {
            0 => write!(note, "no run"),
            1 => write!(note, "the run before it"),
            n => write!(note, "the {n} runs before it"),
        };
        if run < self.planned {
            note.push_str("; the runs after it did not start");
        }
        let _ = writeln!(
            note,
            ". What it left is in `{}`.",
            run_dir(&self.dir, run).display()
        );
        note
    }
}

/// Where run `run` keeps its attempts and its JUnit copy: `<dir>/runs/<run>`.
pub(super) fn run_dir(dir: &Path, run: u32) -> PathBuf {
    dir.join("runs").join(run.to_string())
}
