//! # steadfast-flaky
//!
//! Retries keep CI green and hide flakiness; steadfast-flaky keeps the retries and shows every
//! test that passed only on retry, with the seed of each failing attempt so it can be replayed.
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use steadfast_flaky::{RetryPolicy, Status, retry};
//!
//! let dir = std::env::temp_dir().join(format!("steadfast-flaky-lib-doc-{}", std::process::id()));
//! let calls = AtomicU32::new(0);
//! retry(&RetryPolicy::new(1).named("app::it checkout").record_to(&dir), |_seed| {
//!     assert!(calls.fetch_add(1, Ordering::SeqCst) == 1, "fails the first time");
//! });
//! let report = steadfast_flaky::input::read_report(&dir.join("attempts.jsonl"))?;
//! assert_eq!(report.get("app::it checkout").unwrap().status(), Status::Flaky);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! In a test, `#[deterministic_test(retries = 2)]` (steadfast-determinism's attribute) runs the
//! body through [`retry`] like this: each attempt gets a [`TestContext`] with the test's seed,
//! derived from the run seed (`STEADFAST_SEED`) and the test's path, and retries reuse it, so a
//! pass on retry means the nondeterminism is outside the seed (`tests/retry_macro.rs` runs the
//! attribute form itself):
//!
//! ```
//! use steadfast_determinism::{Seed, TestContext};
//! use steadfast_flaky::{RetryPolicy, retry};
//!
//! let dir = std::env::temp_dir().join(format!("steadfast-flaky-ctx-doc-{}", std::process::id()));
//! let (run_seed, path) = (Seed::new(0x2a), "app::tests::talks_to_a_slow_service");
//! let policy = RetryPolicy::new(2)
//!     .named("app tests::talks_to_a_slow_service")
//!     .seeds(run_seed, run_seed.derive(path))
//!     .record_to(&dir);
//! let mut draws = Vec::new();
//! retry(&policy, |seed| {
//!     let ctx = TestContext::new(path, seed);
//!     draws.push(ctx.rng().next_u64());
//!     assert!(draws.len() > 1, "the service is slow the first time");
//! });
//! // Both attempts drew the same number: the seed did not make the first one fail.
//! assert_eq!(draws.len(), 2);
//! assert_eq!(draws[0], draws[1]);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`TestContext`]: steadfast_determinism::TestContext
//!
//! ## What is here
//!
//! * [`retry`] and [`RetryPolicy`]: run a body up to N+1 times, catching panics, recording
//!   every attempt ([`attempts`]) to `attempts.jsonl`; `#[deterministic_test(retries = N)]`
//!   expands to it. [`try_retry`] returns the fail-on-flaky verdict as an [`Error`] instead of
//!   panicking.
//! * [`Error`] and [`ErrorKind`]: every fallible function's error, naming the file, line,
//!   variable or test.
//! * [`Report`]: per-test runs, passes, failures, passes on retry, flake rate with a Wilson
//!   95 % interval, first/last seen, failing seeds and the last failure; [`Report::merge`] is
//!   associative and commutative, so shards merge in any order.
//! * [`input`]: JUnit from nextest (retries, stress runs), pytest, Jest, Playwright,
//!   cargo2junit and Surefire, with a [`Warning`](input::Warning) for files that cannot show
//!   retries; libtest output, `attempts.jsonl` and our JSON reports. [`render`]: Markdown,
//!   JSON and JUnit output. [`html`]: one self-contained HTML page with every run and
//!   attempt, filters, and the failed snapshots' images.
//! * [`gate`]: the stability gate with a quarantine file. [`run`]: run a command N times.
//! * `history` (feature `history`): reports of many CI runs in an SQLite or PostgreSQL
//!   database; per test the flake rate over weeks, when it turned flaky, what to quarantine
//!   and what has been green N runs in a row.
//! * The `steadfast-flaky` binary: `run`, `report`, `gate` and `history` (see the README).
//!
//! ## Features
//!
//! * `history` (default): the `history` module and `steadfast-flaky history`, on SQLite
//!   compiled into the crate (rusqlite's `bundled`), so no system library is needed.
//! * `postgres` (default; turns on `history`): `postgres://…` history databases.
//!
//! The facade (`steadfast`) turns neither on with its `flaky` feature; its `flaky-history`
//! feature turns on `history`.
//!
//! ## Test ids
//!
//! A test is `<nextest binary id> <test name>`, e.g. `my-crate::integration api::login`
//! (unit tests: `my-crate api::login`), as nextest prints it: nextest's JUnit `classname` is
//! the binary id. Other JUnit writers give `<classname> <name>` (see [`input::parse_junit`] and
//! the README's "JUnit dialects"). libtest output gives `<crate> <test name>`.
//!
//! ## Environment variables
//!
//! | variable | meaning |
//! | --- | --- |
//! | `STEADFAST_FLAKY_DIR` | where `attempts.jsonl` is appended (default `target/steadfast/flaky`) |
//! | `STEADFAST_FAIL_ON_FLAKY` | `1`/`true`: a pass on retry fails the test; `0`/`false`: it does not |
//! | `STEADFAST_SEED` | the run seed (read by steadfast-determinism; set per run by `run`) |
//!
//! A malformed value is an error naming the variable:
//! `environment variable STEADFAST_FAIL_ON_FLAKY has invalid value "yes": expected 1, true, 0 or
//! false`.
//!
//! ## Supported Rust versions
//!
//! The workspace's `rust-version` (1.88) and newer.

// docs.rs marks the items of each feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod attempts;
mod error;
pub mod gate;
#[cfg(feature = "history")]
#[cfg_attr(docsrs, doc(cfg(feature = "history")))]
pub mod history;
pub mod html;
pub mod input;
mod junit;
pub mod render;
pub mod report;
mod retry;
pub mod run;
pub mod time;

pub use error::{Error, ErrorKind};
pub use report::{Failure, Observation, Outcome, Report, Status, TestStats};
pub use retry::{
    FAIL_ON_FLAKY_ENV, RetryPolicy, SeedMode, fail_on_flaky_from_env, fail_on_flaky_from_env_with,
    retry, try_retry,
};

/// A test body's return value: `()` passes; `Result` fails with `Err`.
pub use steadfast_determinism::TestOutcome;

/// The crate README's examples, run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[doc(hidden)]
pub mod __macro_support {
    //! Used by the code `#[deterministic_test(retries = N)]` expands to. **Not a stable API.**

    use steadfast_determinism::__macro_support::TestSpec;
    use steadfast_determinism::Seed;
    use steadfast_determinism::TestOutcome;

    use crate::{RetryPolicy, retry};

    /// Runs the attempts of a `retries = N` test: the first with the test's seed, retries with
    /// the same seed, recording each one.
    #[track_caller]
    pub fn retry_test<R: TestOutcome>(
        spec: &TestSpec,
        retries: u32,
        attempt: impl FnMut(Seed) -> R,
    ) -> R {
        let (run_seed, seed) = spec.seeds();
        let binary = crate::retry::binary_id(spec.package, spec.crate_name);
        let policy = RetryPolicy::new(retries)
            .named(format!("{binary} {}", spec.test_name()))
            .seeds(run_seed, seed)
            .replay(spec.replay_command(run_seed));
        retry(&policy, attempt)
    }
}
