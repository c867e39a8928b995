//! In-process retries that record every attempt.
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use steadfast_flaky::{RetryPolicy, retry};
//!
//! let dir = std::env::temp_dir().join(format!("steadfast-flaky-retry-doc-{}", std::process::id()));
//! let calls = AtomicU32::new(0);
//! let policy = RetryPolicy::new(2).named("doc::eventually_passes").record_to(&dir);
//! retry(&policy, |seed| {
//!     // The first attempt fails; the retry (same seed by default) passes: a flaky test.
//!     assert!(calls.fetch_add(1, Ordering::SeqCst) > 0, "first attempt with {seed}");
//! });
//! let attempts = steadfast_flaky::attempts::read_attempts(&dir.join("attempts.jsonl"))?;
//! assert_eq!(attempts.len(), 2);
//! assert!(attempts[1].same_seed_as_first);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::ffi::OsString;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use steadfast_determinism::__macro_support::panic_message;
use steadfast_determinism::Seed;

use crate::TestOutcome;
use crate::attempts::{self, AttemptOutcome, AttemptRecord};
use crate::error::Error;

/// The environment variable that turns a pass on retry into a failure: `1`/`true` or `0`/`false`.
pub const FAIL_ON_FLAKY_ENV: &str = "STEADFAST_FAIL_ON_FLAKY";

/// The run seed's variable, read by steadfast-determinism.
const SEED_ENV: &str = "STEADFAST_SEED";

/// Which seed retries use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SeedMode {
    /// Every attempt uses the first attempt's seed (the default). A pass on retry then means the
    /// nondeterminism comes from outside the seed: threads, wall time, I/O, shared state.
    #[default]
    Same,
    /// Attempt `n` (from 2) uses `first_seed.derive("attempt n")`.
    Vary,
}

/// How [`retry`] runs a test: retries, seeds, fail-on-flaky and where attempts are recorded.
///
/// Every field is optional; see each setter for its default.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RetryPolicy {
    retries: u32,
    seed_mode: SeedMode,
    fail_on_flaky: Option<bool>,
    dir: Option<PathBuf>,
    name: Option<String>,
    seeds: Option<(Seed, Seed)>,
    replay: Option<String>,
}

impl RetryPolicy {
    /// A policy allowing `retries` retries after the first attempt.
    pub fn new(retries: u32) -> Self {
        Self {
            retries,
            ..Self::default()
        }
    }

    /// Which seed retries use; default [`SeedMode::Same`].
    pub fn seed_mode(mut self, mode: SeedMode) -> Self {
        self.seed_mode = mode;
        self
    }

    /// Whether a pass on retry fails the test; default: `STEADFAST_FAIL_ON_FLAKY`, else `false`.
    pub fn fail_on_flaky(mut self, fail: bool) -> Self {
        self.fail_on_flaky = Some(fail);
        self
    }

    /// The directory of `attempts.jsonl`; default [`attempts::flaky_dir`].
    pub fn record_to(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// The test id recorded with each attempt; default: the current thread's name (libtest and
    /// nextest name test threads after the test), prefixed with `NEXTEST_BINARY_ID` when set.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The run seed and the first attempt's seed; default: `STEADFAST_SEED` (or 0) and its
    /// derivation for the test's name.
    pub fn seeds(mut self, run_seed: Seed, first: Seed) -> Self {
        self.seeds = Some((run_seed, first));
        self
    }

    /// The command that replays the test, recorded with each attempt; default none.
    pub fn replay(mut self, command: impl Into<String>) -> Self {
        self.replay = Some(command.into());
        self
    }

    /// The number of retries.
    pub fn retries(&self) -> u32 {
        self.retries
    }
}

/// Reads `STEADFAST_FAIL_ON_FLAKY`: `None` when unset.
///
/// # Errors
///
/// [`ErrorKind::InvalidEnv`](crate::ErrorKind::InvalidEnv) when the value is not one of `1`,
/// `true`, `0`, `false` (or empty, meaning `false`); see [`fail_on_flaky_from_env_with`].
pub fn fail_on_flaky_from_env() -> Result<Option<bool>, Error> {
    fail_on_flaky_from_env_with(|name| std::env::var_os(name))
}

/// Like [`fail_on_flaky_from_env`], with the environment read through `lookup`, which answers
/// as [`std::env::var_os`] does: `None` when it has no `STEADFAST_FAIL_ON_FLAKY`.
///
/// # Errors
///
/// [`ErrorKind::InvalidEnv`](crate::ErrorKind::InvalidEnv) naming `STEADFAST_FAIL_ON_FLAKY`
/// when the value is not one of `1`, `true`, `0`, `false` or empty (surrounding whitespace is
/// ignored).
///
/// # Example
///
/// ```
/// use std::ffi::OsString;
/// use steadfast_flaky::fail_on_flaky_from_env_with;
///
/// let env = |value: &'static str| move |_: &str| Some(OsString::from(value));
/// assert_eq!(fail_on_flaky_from_env_with(env(" true "))?, Some(true));
/// assert_eq!(fail_on_flaky_from_env_with(env(""))?, Some(false));
/// assert_eq!(fail_on_flaky_from_env_with(|_| None)?, None);
/// let err = fail_on_flaky_from_env_with(env("yes")).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "environment variable STEADFAST_FAIL_ON_FLAKY has invalid value \"yes\": expected 1, true, 0 or false"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fail_on_flaky_from_env_with(
    lookup: impl Fn(&str) -> Option<OsString>,
) -> Result<Option<bool>, Error> {
    let Some(value) = lookup(FAIL_ON_FLAKY_ENV) else {
        return Ok(None);
    };
    match value.to_str().map(str::trim) {
        Some("1" | "true") => Ok(Some(true)),
        Some("0" | "false" | "") => Ok(Some(false)),
        _ => Err(Error::invalid_env(
            FAIL_ON_FLAKY_ENV,
            &value,
            "1, true, 0 or false",
        )),
    }
}

/// The run seed, `STEADFAST_SEED` or 0, with a malformed value as this crate's error.
pub(crate) fn run_seed() -> Result<Seed, Error> {
    // steadfast-determinism's error says exactly what this one says, so it is not kept as the
    // source: a printed chain would repeat the line.
    Seed::run_seed().map_err(|_| {
        Error::invalid_env(
            SEED_ENV,
            &std::env::var_os(SEED_ENV).unwrap_or_default(),
            "a decimal u64 or 0x followed by up to 16 hex digits",
        )
    })
}

/// Runs `attempt` up to `retries + 1` times until it passes, catching panics and recording
/// every attempt to `attempts.jsonl`.
///
/// The closure gets the attempt's seed. An attempt fails when it panics or returns an outcome
/// whose failure is `Some` (an `Err`). The first passing attempt's value is returned. A pass
/// after a failed attempt is a *flaky* test: it is reported on stderr, and fails the test when
/// fail-on-flaky is on. Recording is best effort: a file that cannot be written prints a
/// `steadfast:` warning and never fails the test. [`try_retry`] returns the fail-on-flaky
/// verdict and malformed variables as errors instead of panicking.
///
/// # Panics
///
/// * With the last attempt's panic, when every attempt panicked or the last one did.
/// * When fail-on-flaky is on and the test passed only on retry; the message (prefixed
///   `steadfast:`) lists every attempt with its seed, the replay command and the
///   `attempts.jsonl` the attempts went to.
/// * When `STEADFAST_SEED` or `STEADFAST_FAIL_ON_FLAKY` is malformed.
///
/// When every attempt failed and the last one returned an `Err`, that value is returned.
///
/// # Example
///
/// ```should_panic
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use steadfast_flaky::{RetryPolicy, retry};
///
/// let dir = std::env::temp_dir().join(format!("steadfast-flaky-panic-doc-{}", std::process::id()));
/// # struct RemoveOnDrop(std::path::PathBuf);
/// # impl Drop for RemoveOnDrop {
/// #     fn drop(&mut self) {
/// #         let _ = std::fs::remove_dir_all(&self.0);
/// #     }
/// # }
/// # let _cleanup = RemoveOnDrop(dir.clone());
/// // Panics: "steadfast: test doc flaky passed only on attempt 2 of 2, so it fails because …",
/// // then every attempt with its seed, and the attempts.jsonl path.
/// let calls = AtomicU32::new(0);
/// let policy = RetryPolicy::new(1).named("doc flaky").fail_on_flaky(true).record_to(&dir);
/// retry(&policy, |_seed| assert!(calls.fetch_add(1, Ordering::SeqCst) > 0, "first call fails"));
/// ```
#[track_caller]
pub fn retry<R: TestOutcome>(policy: &RetryPolicy, attempt: impl FnMut(Seed) -> R) -> R {
    match attempt_until_pass(policy, attempt) {
        Ok(value) => value,
        Err(Stop::Flaky { summary, .. }) => panic!("{summary}"),
        Err(Stop::Setup(err)) => panic!("steadfast: {err}"),
    }
}

/// Like [`retry`], but a pass on retry while fail-on-flaky is on, and a malformed
/// `STEADFAST_SEED` or `STEADFAST_FAIL_ON_FLAKY`, are errors instead of panics.
///
/// Attempts are recorded and a flaky pass is reported on stderr as [`retry`] does.
///
/// # Errors
///
/// * [`ErrorKind::Flaky`](crate::ErrorKind::Flaky) when the body passed only on retry and
///   fail-on-flaky is on; the error names the test, the failing seeds, the replay command and
///   ([`Error::path`]) the `attempts.jsonl`.
/// * [`ErrorKind::InvalidEnv`](crate::ErrorKind::InvalidEnv) for a malformed variable.
///
/// # Panics
///
/// With the last attempt's panic, when every attempt panicked or the last one did.
///
/// # Example
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use steadfast_determinism::Seed;
/// use steadfast_flaky::{ErrorKind, RetryPolicy, try_retry};
///
/// let dir = std::env::temp_dir().join(format!("steadfast-flaky-try-doc-{}", std::process::id()));
/// let calls = AtomicU32::new(0);
/// let policy = RetryPolicy::new(2)
///     .named("doc eventually")
///     .seeds(Seed::new(0), Seed::new(5))
///     .fail_on_flaky(true)
///     .record_to(&dir);
/// let err = try_retry(&policy, |_seed| {
///     assert!(calls.fetch_add(1, Ordering::SeqCst) > 0, "first call fails");
/// })
/// .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Flaky);
/// assert_eq!(err.test(), Some("doc eventually"));
/// assert_eq!(err.path(), Some(dir.join("attempts.jsonl").as_path()));
/// assert!(err.to_string().contains("failed with seed 0x0000000000000005"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn try_retry<R: TestOutcome>(
    policy: &RetryPolicy,
    attempt: impl FnMut(Seed) -> R,
) -> Result<R, Error> {
    attempt_until_pass(policy, attempt).map_err(|stop| match stop {
        Stop::Flaky { error, .. } => error,
        Stop::Setup(err) => err,
    })
}

/// Why [`attempt_until_pass`] returned no value.
enum Stop {
    /// The body passed only on retry and fail-on-flaky is on: the multi-line summary for a
    /// panic, and the same as an error.
    Flaky { summary: String, error: Error },
    /// A variable the policy needs is malformed.
    Setup(Error),
}

/// The attempts of [`retry`] and [`try_retry`]; panics of the body are resumed.
fn attempt_until_pass<R: TestOutcome>(
    policy: &RetryPolicy,
    mut attempt: impl FnMut(Seed) -> R,
) -> Result<R, Stop> {
    let name = policy.name.clone().unwrap_or_else(default_name);
    let (run_seed, first_seed) = match policy.seeds {
        Some(seeds) => seeds,
        None => {
            let run = run_seed().map_err(Stop::Setup)?;
            (run, run.derive(&name))
        }
    };
    let fail_on_flaky = match policy.fail_on_flaky {
        Some(fail) => fail,
        None => fail_on_flaky_from_env()
            .map_err(Stop::Setup)?
            .unwrap_or(false),
    };
    let dir = policy
        .dir
        .clone()
        .map(Ok)
        .unwrap_or_else(attempts::flaky_dir);
    let invocation = invocation_id();
    let max_attempts = policy.retries.saturating_add(1);
    let mut history: Vec<AttemptRecord> = Vec::new();
    let mut last_failure = None;
    // Where the attempts went, once one was recorded.
    let mut log: Option<PathBuf> = None;

    for number in 1..=max_attempts {
        let seed = match policy.seed_mode {
            SeedMode::Vary if number > 1 => first_seed.derive(&format!("attempt {number}")),
            _ => first_seed,
        };
        let at_ms = unix_millis();
        let started = Instant::now();
        let result = panic::catch_unwind(AssertUnwindSafe(|| attempt(seed)));
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        let (outcome, message, end) = match result {
            Ok(value) => match value.failure() {
                None => (AttemptOutcome::Passed, None, Ok(value)),
                Some(failure) => (AttemptOutcome::Failed, Some(failure), Ok(value)),
            },
            Err(payload) => {
                let message = panic_message(&*payload).to_owned();
                (AttemptOutcome::Failed, Some(message), Err(payload))
            }
        };
        let record = AttemptRecord {
            test: name.clone(),
            invocation: invocation.clone(),
            attempt: number,
            max_attempts,
            outcome,
            duration_ms,
            message,
            seed: Some(seed.to_string()),
            run_seed: Some(run_seed.to_string()),
            same_seed_as_first: seed == first_seed,
            replay: policy.replay.clone(),
            at_ms,
        };
        match &dir {
            Ok(dir) => match attempts::append_to(dir, &record) {
                Ok(path) => log = Some(path),
                Err(err) => {
                    eprintln!("steadfast: could not record attempt {number} of {name}: {err}");
                }
            },
            Err(err) => eprintln!("steadfast: not recording attempts of {name}: {err}"),
        }
        history.push(record);
        match end {
            Ok(value) if outcome == AttemptOutcome::Passed => {
                if number > 1 {
                    let summary = flaky_summary(&name, &history, fail_on_flaky, log.as_deref());
                    if fail_on_flaky {
                        let error = Error::flaky(
                            name,
                            (number, max_attempts),
                            failing_seeds(&history),
                            policy.replay.clone(),
                            log,
                        );
                        return Err(Stop::Flaky { summary, error });
                    }
                    eprintln!("{summary}");
                }
                return Ok(value);
            }
            failed => last_failure = Some(failed),
        }
    }
    match last_failure {
        Some(Ok(value)) => Ok(value),
        Some(Err(payload)) => panic::resume_unwind(payload),
        // max_attempts >= 1, so the loop ran at least once and every failing pass set this.
        None => unreachable!("retry ran no attempt"),
    }
}

/// The distinct seeds of the failed attempts, in attempt order.
fn failing_seeds(history: &[AttemptRecord]) -> Vec<String> {
    let mut seeds: Vec<String> = Vec::new();
    for record in history {
        if let (AttemptOutcome::Failed, Some(seed)) = (record.outcome, &record.seed)
            && !seeds.contains(seed)
        {
            seeds.push(seed.clone());
        }
    }
    seeds
}

fn flaky_summary(
    name: &str,
    history: &[AttemptRecord],
    failing: bool,
    log: Option<&Path>,
) -> String {
    let last = history.len();
    let verdict = if failing {
        format!("fails because {FAIL_ON_FLAKY_ENV} is on")
    } else {
        "is flaky".to_owned()
    };
    let mut text = format!(
        "steadfast: test {name} passed only on attempt {last} of {}, so it {verdict}:",
        history[0].max_attempts
    );
    for record in history {
        let outcome = match record.outcome {
            AttemptOutcome::Passed => "passed",
            AttemptOutcome::Failed => "failed",
        };
        let _ = write!(
            text,
            "\n  attempt {}: {outcome} in {:.1} ms with seed {}",
            record.attempt,
            record.duration_ms,
            record.seed.as_deref().unwrap_or("?")
        );
        if let Some(message) = &record.message {
            let _ = write!(text, ": {}", message.lines().next().unwrap_or(""));
        }
    }
    if history.iter().all(|record| record.same_seed_as_first) {
        text.push_str(
            "\n  every attempt used the same seed, so the nondeterminism comes from outside \
             steadfast's control (threads, wall-clock time, I/O or shared state)",
        );
    }
    if let Some(replay) = history.iter().find_map(|record| record.replay.as_deref()) {
        let _ = write!(text, "\n  replay: {replay}");
    }
    if let Some(log) = log {
        let _ = write!(text, "\n  attempts: {}", log.display());
    }
    text
}

fn default_name() -> String {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("unnamed test");
    match std::env::var("NEXTEST_BINARY_ID") {
        Ok(binary) if !binary.is_empty() => format!("{binary} {name}"),
        _ => name.to_owned(),
    }
}

fn invocation_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let count = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!("{}-{nanos:x}-{count}", std::process::id())
}

fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// The nextest binary id of the test binary a spec belongs to: the package for unit tests,
/// `package::target` for integration tests (`NEXTEST_BINARY_ID` wins when set).
pub(crate) fn binary_id(package: &str, crate_name: &str) -> String {
    if let Ok(binary) = std::env::var("NEXTEST_BINARY_ID")
        && !binary.is_empty()
    {
        return binary;
    }
    if crate_name == package.replace('-', "_") {
        package.to_owned()
    } else {
        format!("{package}::{crate_name}")
    }
}
