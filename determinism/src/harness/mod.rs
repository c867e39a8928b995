//! What `#[deterministic_test]` expands to: seed selection, runs, failure reports and the
//! determinism check. Not a stable API; use the attribute.

use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::clock::{ManualClock, default_start};
use crate::clock_policy::{CLOCK_ENV, ClockPolicy, DEFAULT_GRACE, grace_from_env};
use crate::context::{CLOCK_SOURCE, TestClock, TestContext};
use crate::isolation::sealing;
pub use crate::outcome::TestOutcome;
use crate::rng::{Recorder, Trace};
use crate::seed::{SEED_ENV, Seed};
use crate::timestamp;

#[cfg(feature = "tokio")]
mod async_run;
#[cfg(feature = "tokio")]
pub(crate) use async_run::run_async_with;
#[cfg(feature = "tokio")]
pub use async_run::{AsyncTestFn, run_async};

/// Everything the attribute knows about a test at compile time.
#[derive(Debug, Clone, Copy)]
pub struct TestSpec {
    /// `concat!(module_path!(), "::", stringify!(name))`.
    pub path: &'static str,
    /// `seed = …`, when pinned.
    pub seed: Option<u64>,
    /// `runs = N` (1 when not given).
    pub runs: u32,
    /// `start = "…"`, validated at compile time.
    pub start: Option<&'static str>,
    /// `check_determinism = true`.
    pub check_determinism: bool,
    /// `env!("CARGO_PKG_NAME")` of the crate holding the test.
    pub package: &'static str,
    /// `env!("CARGO_CRATE_NAME")` of the test binary.
    pub crate_name: &'static str,
    /// `#[ignore]` on the test: its replay command must ask for ignored tests.
    pub ignored: bool,
    /// `tz = "…"`, checked at compile time against the IANA names (needs the `seal` feature).
    pub time_zone: Option<&'static str>,
    /// `clock = "…"`, checked at compile time; `None` leaves it to `STEADFAST_CLOCK`.
    pub clock: Option<&'static str>,
    /// `grace_ms = N`; `None` leaves it to `STEADFAST_GRACE_MS`.
    pub grace_ms: Option<u64>,
}

impl TestSpec {
    /// The test's path as libtest and nextest name it (without the crate name).
    pub fn test_name(&self) -> &'static str {
        self.path
            .split_once("::")
            .map_or(self.path, |(_, rest)| rest)
    }

    /// Where the seeds of this test come from: the run seed and this test's seed.
    ///
    /// # Panics
    ///
    /// When `STEADFAST_SEED` is malformed: a typo must not silently run another seed.
    pub fn seeds(&self) -> (Seed, Seed) {
        if let Some(pinned) = self.seed {
            return (Seed::new(pinned), Seed::new(pinned));
        }
        let run = match Seed::run_seed() {
            Ok(seed) => seed,
            Err(err) => panic!("steadfast: {err}"),
        };
        (run, run.derive(self.path))
    }

    /// The seed of run `index` (0-based) of `runs = N`; run 0 of a single-run test is the test seed.
    pub fn seed_of_run(&self, test_seed: Seed, index: u32) -> Seed {
        if self.runs <= 1 {
            test_seed
        } else {
            test_seed.derive(&format!("run {index}"))
        }
    }

    /// The clock policy of this test: the attribute's, else `STEADFAST_CLOCK`'s, else virtual.
    ///
    /// # Panics
    ///
    /// When `STEADFAST_CLOCK` or `STEADFAST_GRACE_MS` is malformed, or asks for `real-peers`
    /// without the `seal` feature.
    pub fn clock_policy(&self) -> (ClockPolicy, Duration) {
        let policy = match self.clock.map(str::parse).transpose() {
            Ok(Some(policy)) => policy,
            // The attribute checked the name at compile time.
            Err(err) => panic!("steadfast: {err}"),
            Ok(None) => match ClockPolicy::from_env() {
                Ok(policy) => policy.unwrap_or_default(),
                Err(err) => panic!("steadfast: {err}"),
            },
        };
        if policy == ClockPolicy::RealPeers && !cfg!(feature = "seal") {
            panic!(
                "steadfast: {CLOCK_ENV}=real-peers needs the `seal` feature of \
                 steadfast-determinism (or steadfast): it watches the test thread's sockets"
            );
        }
        let grace = match self.grace_ms {
            Some(millis) => Duration::from_millis(millis),
            None => match grace_from_env() {
                Ok(grace) => grace.unwrap_or(DEFAULT_GRACE),
                Err(err) => panic!("steadfast: {err}"),
            },
        };
        (policy, grace)
    }

    fn start(&self) -> SystemTime {
        match self.start.map(timestamp::parse) {
            Some(Ok(start)) => start,
            // The attribute validated the text at compile time with the same parser.
            Some(Err(err)) => panic!("steadfast: {err}"),
            None => default_start(),
        }
    }

    /// The command that reruns only this test with the given run seed.
    pub fn replay_command(&self, run_seed: Seed) -> String {
        let lib_name = self.package.replace('-', "_");
        let target = if self.crate_name == lib_name {
            "--lib".to_owned()
        } else {
            format!("--test {}", self.crate_name)
        };
        let name = self.test_name();
        if std::env::var_os("NEXTEST").is_some() {
            let ignored = if self.ignored {
                " --run-ignored all"
            } else {
                ""
            };
            format!(
                "{SEED_ENV}={run_seed} cargo nextest run -p {} {target}{ignored} -E 'test(={name})'",
                self.package
            )
        } else {
            let ignored = if self.ignored {
                " --include-ignored"
            } else {
                ""
            };
            format!(
                "{SEED_ENV}={run_seed} cargo test -p {} {target} -- {name} --exact{ignored}",
                self.package
            )
        }
    }
}

/// How a run ended.
pub(crate) enum RunEnd<R> {
    Returned(R),
    Panicked(Box<dyn std::any::Any + Send>),
}

/// Puts one run somewhere: on a fresh thread, or here.
pub(crate) type Place<R> = fn(&mut (dyn FnMut() -> RunEnd<R> + Send)) -> RunEnd<R>;

/// Runs a sync test on the calling thread: each run on a fresh context with a manual clock.
///
/// `seed` is `Some` when retries chose the seed of this attempt; the test then runs once.
pub fn run_sync<R: TestOutcome>(
    spec: &TestSpec,
    seed: Option<Seed>,
    body: fn(&TestContext) -> R,
) -> R {
    run(spec, seed, &mut |seed, run_seed, recorder| {
        run_sync_once(spec, seed, run_seed, recorder, body)
    })
}

/// As [`run_sync`], with each run put where `place` says.
pub(crate) fn run_sync_with<R: TestOutcome + Send>(
    spec: &TestSpec,
    seed: Option<Seed>,
    body: fn(&TestContext) -> R,
    place: Place<R>,
) -> R {
    run(spec, seed, &mut |seed, run_seed, recorder| {
        let mut recorder = Some(recorder);
        place(&mut || run_sync_once(spec, seed, run_seed, recorder.take().flatten(), body))
    })
}

fn run_sync_once<R>(
    spec: &TestSpec,
    seed: Seed,
    run_seed: Seed,
    recorder: Option<Recorder>,
    body: fn(&TestContext) -> R,
) -> RunEnd<R> {
    let ctx = Arc::new(context(spec, seed, run_seed, recorder, || {
        TestClock::manual(ManualClock::starting_at(spec.start()))
    }));
    let _guard = ctx.enter();
    let _seal = sealing::enter(spec, &ctx, None);
    catch(|| body(&ctx))
}

pub(crate) fn context(
    spec: &TestSpec,
    seed: Seed,
    run_seed: Seed,
    recorder: Option<Recorder>,
    clock: impl FnOnce() -> TestClock,
) -> TestContext {
    let ctx = TestContext::with_clock(spec.path, seed, clock()).set_run_seed(run_seed);
    match recorder {
        Some(recorder) => ctx.recording(recorder),
        None => ctx,
    }
}

pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> RunEnd<R> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => RunEnd::Returned(value),
        Err(payload) => RunEnd::Panicked(payload),
    }
}

type RunOnce<'a, R> = dyn FnMut(Seed, Seed, Option<Recorder>) -> RunEnd<R> + 'a;

pub(crate) fn run<R: TestOutcome>(
    spec: &TestSpec,
    seed_override: Option<Seed>,
    once: &mut RunOnce<'_, R>,
) -> R {
    let (run_seed, test_seed) = spec.seeds();
    let runs = if seed_override.is_some() {
        1
    } else {
        spec.runs.max(1)
    };
    let mut last = None;
    for index in 0..runs {
        let seed = match seed_override {
            Some(seed) => seed,
            None => spec.seed_of_run(test_seed, index),
        };
        let outcome = if spec.check_determinism {
            run_checked(spec, seed, run_seed, once)
        } else {
            once(seed, run_seed, None)
        };
        match outcome {
            RunEnd::Returned(value) => {
                if let Some(failure) = value.failure() {
                    report_failure(spec, seed, run_seed, index, runs, &failure);
                    return value;
                }
                last = Some(value);
            }
            RunEnd::Panicked(payload) => {
                report_failure(spec, seed, run_seed, index, runs, panic_message(&*payload));
                panic::resume_unwind(payload);
            }
        }
    }
    // OK because runs >= 1, so the loop ran and either returned early or set `last`.
    last.expect("at least one run")
}

/// Runs twice with the same seed and compares every draw and clock reading.
fn run_checked<R: TestOutcome>(
    spec: &TestSpec,
    seed: Seed,
    run_seed: Seed,
    once: &mut RunOnce<'_, R>,
) -> RunEnd<R> {
    let first_recorder = Recorder::default();
    let first = once(seed, run_seed, Some(first_recorder.clone()));
    if !passed(&first) {
        return first;
    }
    let second_recorder = Recorder::default();
    let second = once(seed, run_seed, Some(second_recorder.clone()));
    if passed(&second) {
        let (a, b) = (first_recorder.take(), second_recorder.take());
        if a.digest != b.digest || a.count != b.count {
            let message = divergence_message(spec, seed, &a, &b);
            return RunEnd::Panicked(Box::new(message));
        }
    }
    second
}

pub(crate) fn passed<R: TestOutcome>(end: &RunEnd<R>) -> bool {
    matches!(end, RunEnd::Returned(value) if value.failure().is_none())
}

fn divergence_message(spec: &TestSpec, seed: Seed, a: &Trace, b: &Trace) -> String {
    let mut message = format!(
        "steadfast: test `{}` is not deterministic under seed {seed}: two runs made {} and {} \
         observations (RNG draws and clock readings) with different digests",
        spec.path, a.count, b.count
    );
    let first_difference = a
        .kept
        .iter()
        .zip(&b.kept)
        .position(|(x, y)| x != y)
        .or_else(|| (a.kept.len() != b.kept.len()).then(|| a.kept.len().min(b.kept.len())));
    if let Some(index) = first_difference {
        // The streams the harness itself keys from the seed, named for the message.
        let os_random = seed.derive("os-random").value();
        let describe = |trace: &Trace| match trace.kept.get(index) {
            None => "nothing (the run ended)".to_owned(),
            Some(o) if o.source == CLOCK_SOURCE => format!("clock reading {}ns", o.value),
            Some(o) if o.source == seed.value() => {
                format!("draw {:#018x} from the test's RNG (ctx.rng())", o.value)
            }
            Some(o) if o.source == os_random => format!(
                "OS randomness (getrandom on the sealed thread: rand::rng, HashMap keys, uuid) \
                 digest {:#018x}",
                o.value
            ),
            Some(o) => format!(
                "draw {:#018x} from the stream seeded {:#018x}",
                o.value, o.source
            ),
        };
        let _ = write!(
            message,
            "; first divergence at observation #{index}: first run {}, second run {}",
            describe(a),
            describe(b)
        );
    }
    message
}

fn report_failure(spec: &TestSpec, seed: Seed, run_seed: Seed, index: u32, runs: u32, why: &str) {
    let which = if runs > 1 {
        format!(" in run {} of {runs}", index + 1)
    } else {
        String::new()
    };
    // Two seeds can be in play: this run's seed (which the test's RNG is keyed by) and the run
    // seed it was derived from (the one STEADFAST_SEED sets, so the one the replay sets).
    let origin = if spec.seed.is_some() {
        " (pinned by the attribute)".to_owned()
    } else if seed == run_seed {
        " (the run seed, STEADFAST_SEED)".to_owned()
    } else {
        format!(" (this run's seed, derived from the run seed {run_seed} that STEADFAST_SEED sets)")
    };
    let why = why.lines().next().unwrap_or("");
    eprintln!(
        "steadfast: test {} failed{which} with seed {seed}{origin}: {why}; replay: {}",
        spec.test_name(),
        spec.replay_command(run_seed)
    );
}

/// The text of a panic payload (`&str` or `String`), or a placeholder for other payloads.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)")
}

/// Validates `start = "…"` at compile time; the attribute expands to a `const` calling this.
pub const fn check_start(start: &str) {
    if let Err(reason) = timestamp::parse_unix(start) {
        panic!("{}", reason);
    }
}
