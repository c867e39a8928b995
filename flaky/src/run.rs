//! The stability gate on one machine: run a test command N times and classify every test.
//!
//! Each run gets its own `STEADFAST_SEED` (the base seed in [`SeedMode::Same`], or
//! `base.derive("run i")` for the 0-based run index `i` in [`SeedMode::Vary`]) and its own
//! `STEADFAST_FLAKY_DIR` (`<dir>/runs/<n>`). After a run, its JUnit report is read (and kept as
//! `<dir>/runs/<n>/junit.xml`) together with the attempts the run recorded; failures without a
//! seed of their own get the run's seed. Only per-test results decide, never the exit code
//! alone: nextest's `--stress-count` exits 0 even when an iteration failed.
//!
//! A run that does not finish stops the runs: one killed by a signal, one past its
//! [`timeout`](RunConfig::timeout), one interrupted (SIGINT, SIGTERM or SIGHUP while a command
//! with a timeout runs, see [`RunConfig::timeout`]), one that wrote no JUnit report or left
//! one that cannot be read (cut short, malformed), and one whose command could not be started.
//! The [`Runs`] that [`run`] returns then say which run it was, with its seed and why, and
//! hold the results of the runs before it; [`Runs::exit_code`] is 2, an error.
//!
//! The command is usually `cargo nextest run --profile ci`; here it is a shell command that
//! writes the JUnit file nextest would, naming the seed of each run in its test's name:
//!
//! ```
//! use steadfast_determinism::Seed;
//! use steadfast_flaky::run::{RunConfig, run};
//! use steadfast_flaky::{SeedMode, Status};
//!
//! let dir = std::env::temp_dir().join(format!("steadfast-flaky-run-doc-{}", std::process::id()));
//! let junit = dir.join("junit.xml");
//! let write = format!(
//!     r#"printf '<testsuites><testsuite name="app"><testcase name="login"/><testcase name="seed_%s"/></testsuite></testsuites>' "$STEADFAST_SEED" > '{}'"#,
//!     junit.display()
//! );
//! let config = RunConfig::new(["sh", "-c", write.as_str()])
//!     .runs(3)
//!     .seed(Seed::new(1))
//!     .seed_mode(SeedMode::Vary)
//!     .junit(&junit)
//!     .dir(&dir);
//! let report = run(&config)?.into_report();
//! let login = report.get("app login").unwrap();
//! assert_eq!((login.runs, login.status()), (3, Status::StablePass));
//! // Run 2 (index 1) had the seed `Seed::new(1).derive("run 1")`.
//! let second = config.seed_of_run(Seed::new(1), 1);
//! assert!(report.get(&format!("app seed_{second}")).is_some());
//! assert!(dir.join("report.json").is_file());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A command that crashes in its second run leaves the first run's results, and says so:
//!
//! ```
//! use steadfast_flaky::ErrorKind;
//! use steadfast_flaky::run::{RunConfig, run};
//!
//! let dir = std::env::temp_dir().join(format!("steadfast-flaky-crash-doc-{}", std::process::id()));
//! let junit = dir.join("junit.xml");
//! let script = format!(
//!     r#"printf '<testsuites><testsuite name="app"><testcase name="login"/></testsuite></testsuites>' > '{junit}'
//!        if [ -e '{junit}.once' ]; then kill -KILL $$; fi
//!        touch '{junit}.once'"#,
//!     junit = junit.display()
//! );
//! # std::fs::create_dir_all(&dir)?;
//! # let _ = std::fs::remove_file(dir.join("junit.xml.once"));
//! let runs = run(&RunConfig::new(["sh", "-c", script.as_str()]).runs(3).junit(&junit).dir(&dir))?;
//!
//! let unfinished = runs.unfinished().expect("run 2 was killed");
//! assert_eq!((unfinished.run(), unfinished.error().kind()), (2, ErrorKind::Killed));
//! assert_eq!(unfinished.error().to_string(), "run 2 of the test command was killed (signal: 9 (SIGKILL))");
//! assert_eq!((runs.finished(), runs.report().get("app login").unwrap().runs), (1, 1));
//! assert_eq!(runs.exit_code(), 2);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod child;
mod forward;
mod runs;

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use steadfast_determinism::Seed;

use crate::SeedMode;
use crate::attempts::{self, ATTEMPTS_FILE, FLAKY_DIR_ENV};
use crate::error::Error;
use crate::input::{attempts_to_observations, parse_junit};
use crate::render::OutputFormat;
use crate::report::{Observation, Outcome};
use crate::retry::run_seed;
use child::Ending;
pub use runs::{Runs, Unfinished};

/// What `steadfast-flaky run` does.
#[derive(Debug, Clone)]
#[must_use]
pub struct RunConfig {
    command: Vec<OsString>,
    runs: u32,
    retries: Option<u32>,
    seed_mode: SeedMode,
    seed: Option<Seed>,
    junit: Option<PathBuf>,
    dir: Option<PathBuf>,
    timeout: Option<Duration>,
}

impl RunConfig {
    /// Runs `command` (program and arguments) once; see the setters.
    pub fn new<I, S>(command: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self {
            command: command.into_iter().map(Into::into).collect(),
            runs: 1,
            retries: None,
            seed_mode: SeedMode::Same,
            seed: None,
            junit: None,
            dir: None,
            timeout: None,
        }
    }

    /// How many times to run the command; default 1.
    pub fn runs(mut self, runs: u32) -> Self {
        self.runs = runs;
        self
    }

    /// nextest retries per test, passed as `NEXTEST_RETRIES`; default: the profile's.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }

    /// Whether every run gets the same seed; default [`SeedMode::Same`].
    pub fn seed_mode(mut self, mode: SeedMode) -> Self {
        self.seed_mode = mode;
        self
    }

    /// The base seed; default `STEADFAST_SEED`, else 0.
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Where the command writes its JUnit; default nextest's `target/nextest/<profile>/junit.xml`
    /// under the workspace root, as nextest finds it (nextest's store is there, whatever
    /// `CARGO_TARGET_DIR` says, and wherever the command starts). The root is the directory of
    /// the workspace manifest `cargo locate-project --workspace` names, for the command's
    /// `--manifest-path` if it has one; the profile is taken from `--profile`/`-P` in the
    /// command, else `NEXTEST_PROFILE`, else `default`.
    pub fn junit(mut self, path: impl Into<PathBuf>) -> Self {
        self.junit = Some(path.into());
        self
    }

    /// Where runs keep their attempts and JUnit copies, and `report.json` goes; default
    /// [`attempts::flaky_dir`].
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// How long one run may take; default: as long as it takes.
    ///
    /// With a timeout the command runs in a process group of its own. A run still going at its
    /// timeout is stopped: the group gets SIGTERM (nextest then stops its tests and exits), and
    /// SIGKILL once the command has exited or 5 seconds later, whichever comes first. The run
    /// does not finish ([`ErrorKind::TimedOut`](crate::ErrorKind::TimedOut)).
    ///
    /// A group of its own does not get a terminal's Ctrl-C, so while such a command runs, this
    /// process handles SIGINT, SIGTERM and SIGHUP itself: it passes each on to the group, and
    /// the run does not finish ([`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted)).
    /// The handlers that were there before are put back when the run ends.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast_flaky::ErrorKind;
    /// use steadfast_flaky::run::{RunConfig, run};
    ///
    /// let dir = std::env::temp_dir().join(format!("steadfast-flaky-timeout-doc-{}", std::process::id()));
    /// let config = RunConfig::new(["sleep", "60"])
    ///     .timeout(Duration::from_millis(200))
    ///     .junit(dir.join("junit.xml"))
    ///     .dir(&dir);
    /// let runs = run(&config)?;
    /// let error = runs.unfinished().expect("timed out").error();
    /// assert_eq!(error.kind(), ErrorKind::TimedOut);
    /// assert_eq!(
    ///     error.to_string(),
    ///     "run 1 of the test command timed out after 200ms and its process group was killed"
    /// );
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The seed run `index` (0-based) gets.
    pub fn seed_of_run(&self, base: Seed, index: u32) -> Seed {
        match self.seed_mode {
            SeedMode::Vary => base.derive(&format!("run {index}")),
            _ => base,
        }
    }

    /// The JUnit path the command is expected to write (see [`junit`](Self::junit)). Outside
    /// a cargo workspace (or without cargo) it is nextest's relative path from the current
    /// directory, made absolute so that an error about a missing report says where it looked.
    pub fn junit_path(&self) -> PathBuf {
        if let Some(path) = &self.junit {
            return path.clone();
        }
        let profile = option_of(&self.command, "--profile", Some("-P"))
            .or_else(|| std::env::var("NEXTEST_PROFILE").ok())
            .unwrap_or_else(|| "default".to_owned());
        let relative = PathBuf::from("target")
            .join("nextest")
            .join(profile)
            .join("junit.xml");
        match workspace_root(option_of(&self.command, "--manifest-path", None)) {
            Some(root) => root.join(relative),
            None => std::env::current_dir()
                .map(|dir| dir.join(&relative))
                .unwrap_or(relative),
        }
    }
}

/// The value of option `long` (or `short`) in the command, as `--long value`, `--long=value`
/// or `-s value`.
fn option_of(command: &[OsString], long: &str, short: Option<&str>) -> Option<String> {
    let args: Vec<&str> = command.iter().filter_map(|arg| arg.to_str()).collect();
    let joined = format!("{long}=");
    args.iter().enumerate().find_map(|(index, arg)| {
        if let Some(value) = arg.strip_prefix(joined.as_str()) {
            Some(value.to_owned())
        } else if *arg == long || Some(*arg) == short {
            args.get(index + 1).map(|value| (*value).to_owned())
        } else {
            None
        }
    })
}

/// The workspace root cargo (and so nextest) uses from the current directory, or for
/// `manifest`; `None` outside a workspace or when cargo cannot be run.
fn workspace_root(manifest: Option<String>) -> Option<PathBuf> {
    // Under `cargo run`, `CARGO` names the cargo that started us.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut locate = Command::new(cargo);
    locate.args(["locate-project", "--workspace", "--message-format", "plain"]);
    if let Some(manifest) = manifest {
        locate.arg("--manifest-path").arg(manifest);
    }
    let output = locate.stderr(Stdio::null()).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let manifest = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    manifest.parent().map(Path::to_path_buf)
}

/// Runs the command up to `runs` times and merges the per-test results of every run that
/// finished; also writes them as JSON to `<dir>/report.json`. The first run that does not
/// finish stops the runs (see [the module](self)): [`Runs::unfinished`] says which and why.
///
/// # Errors
///
/// [`ErrorKind::Spawn`](crate::ErrorKind::Spawn) when the command is empty,
/// [`ErrorKind::InvalidEnv`](crate::ErrorKind::InvalidEnv) when `STEADFAST_SEED` or
/// `STEADFAST_FLAKY_DIR` is malformed, and [`ErrorKind::Io`](crate::ErrorKind::Io) when the
/// output directory cannot be written. A run that does not finish is no error of `run`: it
/// is in the [`Runs`].
pub fn run(config: &RunConfig) -> Result<Runs, Error> {
    if config.command.is_empty() {
        return Err(Error::spawn(String::new(), None));
    }
    let base = match config.seed {
        Some(seed) => seed,
        None => run_seed()?,
    };
    let dir = match &config.dir {
        Some(dir) => dir.clone(),
        None => attempts::flaky_dir()?,
    };
    let junit = config.junit_path();
    let mut runs = Runs::new(config.runs, dir.clone());
    for index in 0..config.runs {
        let number = index + 1;
        let seed = config.seed_of_run(base, index);
        eprintln!(
            "steadfast-flaky: run {number} of {} with STEADFAST_SEED={seed}",
            config.runs
        );
        match run_once(config, number, seed, &dir, &junit)? {
            RunEnd::Finished(observations) => runs.finished_one(observations),
            RunEnd::Unfinished(error) => {
                runs.stopped(number, seed, error);
                break;
            }
        }
    }
    let path = dir.join("report.json");
    std::fs::write(&path, runs.render(OutputFormat::Json))
        .map_err(|err| Error::io(&path, "write", err))?;
    Ok(runs)
}

/// How one run ended.
enum RunEnd {
    /// With a report: what it says about each test.
    Finished(Vec<Observation>),
    /// Without one that can be used, for this reason.
    Unfinished(Error),
}

/// Runs the command once; an error is about our own files.
fn run_once(
    config: &RunConfig,
    number: u32,
    seed: Seed,
    dir: &Path,
    junit: &Path,
) -> Result<RunEnd, Error> {
    let (program, args) = config
        .command
        .split_first()
        .ok_or_else(|| Error::spawn(String::new(), None))?;
    let run_dir = runs::run_dir(dir, number);
    std::fs::create_dir_all(&run_dir).map_err(|err| Error::io(&run_dir, "create", err))?;
    remove_if_present(&run_dir.join(ATTEMPTS_FILE))?;
    // A stale report from an earlier run must never count as this run's.
    remove_if_present(junit)?;
    let mut command = Command::new(program);
    command
        .args(args)
        .env("STEADFAST_SEED", seed.to_string())
        .env(FLAKY_DIR_ENV, &run_dir)
        // Our stdout carries only the report; the command's output goes to stderr.
        .stdout(Stdio::from(std::io::stderr()));
    if let Some(retries) = config.retries {
        command.env("NEXTEST_RETRIES", retries.to_string());
    }
    let ending = match child::run(&mut command, config.timeout) {
        Ok(ending) => ending,
        Err(err) => {
            let program = program.to_string_lossy().into_owned();
            return Ok(RunEnd::Unfinished(Error::spawn(program, Some(err))));
        }
    };
    // Kept whatever happened, so that a run that did not finish can be looked into.
    let bytes = keep_report(junit, &run_dir)?;
    let status = match ending {
        Ending::Exited(status) => status,
        Ending::TimedOut(timeout) => {
            return Ok(RunEnd::Unfinished(Error::timed_out(number, timeout)));
        }
        Ending::Interrupted(signal) => {
            return Ok(RunEnd::Unfinished(Error::interrupted(number, signal)));
        }
    };
    if status.signal().is_some() {
        return Ok(RunEnd::Unfinished(Error::killed(
            number,
            status.to_string(),
        )));
    }
    let Some(bytes) = bytes else {
        return Ok(RunEnd::Unfinished(Error::no_report(
            number,
            junit.to_owned(),
            status.to_string(),
        )));
    };
    let observations = match parse_junit(junit, &bytes) {
        Ok(observations) => observations,
        Err(err) => {
            let status = status.to_string();
            return Ok(RunEnd::Unfinished(Error::invalid_report(
                number,
                junit.to_owned(),
                status,
                err,
            )));
        }
    };
    let attempts_file = run_dir.join(ATTEMPTS_FILE);
    let recorded = if attempts_file.is_file() {
        attempts_to_observations(attempts::read_attempts(&attempts_file)?)
    } else {
        Vec::new()
    };
    Ok(RunEnd::Finished(overlay(observations, recorded, seed)))
}

/// Reads the run's JUnit report, if it wrote one, and keeps a copy as `<run dir>/junit.xml`.
fn keep_report(junit: &Path, run_dir: &Path) -> Result<Option<Vec<u8>>, Error> {
    let bytes = match std::fs::read(junit) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(Error::io(junit, "read", err)),
    };
    let kept = run_dir.join("junit.xml");
    std::fs::write(&kept, &bytes).map_err(|err| Error::io(&kept, "write", err))?;
    Ok(Some(bytes))
}

fn remove_if_present(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io(path, "remove", err))
        }
        _ => Ok(()),
    }
}

/// Combines one run's JUnit observations with its in-process attempts: a test that JUnit saw
/// pass but that failed an in-process attempt passed on retry; failures gain the seeds and
/// replay commands the attempts recorded; failures with no seed get the run's seed, and those
/// with no replay command a nextest command selecting the test.
pub(crate) fn overlay(
    junit: Vec<Observation>,
    recorded: Vec<Observation>,
    run_seed: Seed,
) -> Vec<Observation> {
    let mut observations = junit;
    for attempt in recorded {
        match observations
            .iter_mut()
            .find(|observation| observation.test == attempt.test)
        {
            Some(observation) => {
                if observation.outcome == Outcome::Passed
                    && attempt.is_pass_on_retry()
                    && !observation.is_pass_on_retry()
                {
                    observation.same_seed_retry = attempt.same_seed_retry;
                }
                if observation.outcome == Outcome::Failed && !attempt.failures.is_empty() {
                    // The harness's records carry the seed; JUnit's last failure may not.
                    observation
                        .failures
                        .retain(|failure| failure.seed.is_some());
                }
                observation.failures.extend(attempt.failures);
            }
            None => observations.push(attempt),
        }
    }
    let seed = run_seed.to_string();
    for observation in &mut observations {
        let replay = nextest_replay(&observation.test, &seed);
        for failure in &mut observation.failures {
            failure.seed.get_or_insert_with(|| seed.clone());
            if failure.replay.is_none() {
                failure.replay.clone_from(&replay);
            }
        }
    }
    observations
}

/// `STEADFAST_SEED=… cargo nextest run -E 'binary_id(…) & test(=…)'` for a test id
/// `<binary id> <name>`.
fn nextest_replay(test: &str, seed: &str) -> Option<String> {
    let (binary, name) = test.split_once(' ')?;
    Some(format!(
        "STEADFAST_SEED={seed} cargo nextest run -E 'binary_id({binary}) & test(={name})'"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Failure;

    /// The root of this repository's workspace, one above the flaky crate.
    fn workspace() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("flaky sits in the workspace")
    }

    #[test]
    fn the_junit_path_follows_the_profile_in_the_command_under_the_workspace_root() {
        let with = |args: &[&str]| RunConfig::new(args.iter().copied()).junit_path();
        // Tests run in the crate's directory, below the workspace root.
        assert_eq!(
            with(&["cargo", "nextest", "run", "--profile", "ci"]),
            workspace().join("target/nextest/ci/junit.xml")
        );
        assert_eq!(
            with(&["cargo", "nextest", "run", "--profile=nightly"]),
            workspace().join("target/nextest/nightly/junit.xml")
        );
        assert_eq!(
            with(&["cargo", "nextest", "run", "-P", "x"]),
            workspace().join("target/nextest/x/junit.xml")
        );
        let explicit = RunConfig::new(["true"]).junit("out.xml").junit_path();
        assert_eq!(explicit, Path::new("out.xml"));
    }

    #[test]
    fn a_manifest_path_in_the_command_picks_its_workspace() {
        let manifest = workspace().join("mocknet/Cargo.toml");
        let config = RunConfig::new([
            "cargo".as_ref(),
            "nextest".as_ref(),
            "run".as_ref(),
            "--manifest-path".as_ref(),
            manifest.as_os_str(),
            "-P".as_ref(),
            "ci".as_ref(),
        ]);
        let outside = std::env::temp_dir().join("Cargo.toml");
        let lost = RunConfig::new([
            "cargo".as_ref(),
            "--manifest-path".as_ref(),
            outside.as_os_str(),
            "-P".as_ref(),
            "default".as_ref(),
        ]);

        assert_eq!(
            config.junit_path(),
            workspace().join("target/nextest/ci/junit.xml")
        );
        // No workspace there: the relative path from the current directory, made absolute.
        let current = std::env::current_dir().expect("a current directory");
        assert_eq!(
            lost.junit_path(),
            current.join("target/nextest/default/junit.xml")
        );
    }

    #[test]
    fn a_missing_report_says_where_it_was_looked_for() {
        let dir =
            std::env::temp_dir().join(format!("steadfast-flaky-where-{}", std::process::id()));
        // A profile of its own, so no real report is in the way.
        let config = RunConfig::new(["sh", "-c", "exit 0", "-P", "where-test"])
            .runs(2)
            .seed(Seed::new(1))
            .dir(&dir);

        let runs = run(&config).expect("runs");
        let unfinished = runs.unfinished().expect("no report");
        let expected = workspace().join("target/nextest/where-test/junit.xml");

        assert_eq!((unfinished.run(), runs.finished()), (1, 0));
        assert_eq!(unfinished.error().path(), Some(expected.as_path()));
        assert_eq!(
            unfinished.error().to_string(),
            format!(
                "run 1 of the test command (exit status: 0) wrote no report at {}",
                expected.display()
            )
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn vary_mode_derives_run_seeds_and_same_mode_reuses_the_base() {
        let base = Seed::new(9);
        let same = RunConfig::new(["true"]);
        let vary = RunConfig::new(["true"]).seed_mode(SeedMode::Vary);
        assert_eq!(same.seed_of_run(base, 2), base);
        assert_eq!(vary.seed_of_run(base, 2), base.derive("run 2"));
    }

    #[test]
    fn in_process_retries_turn_a_junit_pass_into_a_pass_on_retry() {
        let mut failed = Observation::new("b u", Outcome::Failed);
        failed.failures.push(Failure::default());
        let junit = vec![Observation::new("b t", Outcome::Passed), failed];
        let mut retried = Observation::new("b t", Outcome::Passed);
        retried.failures.push(Failure {
            seed: Some("0x0000000000000005".into()),
            ..Failure::default()
        });
        retried.same_seed_retry = true;
        let only_recorded = Observation::new("b v", Outcome::Passed);

        let merged = overlay(junit, vec![retried, only_recorded], Seed::new(1));

        assert!(merged[0].is_pass_on_retry() && merged[0].same_seed_retry);
        assert_eq!(
            merged[0].failures[0].seed.as_deref(),
            Some("0x0000000000000005")
        );
        // The JUnit failure had no seed of its own: it gets the run's seed.
        assert_eq!(
            merged[1].failures,
            [Failure {
                seed: Some("0x0000000000000001".into()),
                replay: Some(
                    "STEADFAST_SEED=0x0000000000000001 cargo nextest run -E 'binary_id(b) & test(=u)'"
                        .into()
                ),
                ..Failure::default()
            }]
        );
        assert_eq!(merged[2].test, "b v");
    }
}
