//! # steadfast-determinism
//!
//! One seed decides everything random and everything timed in a test; a failing test prints
//! that seed, and the same seed replays the same run.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use steadfast_determinism::{Clock, Seed, TestClock, TestContext, deterministic_test};
//!
//! #[deterministic_test]
//! fn draws_follow_the_seed(ctx: &TestContext) {
//!     draw_and_wait(ctx);
//! }
//!
//! fn draw_and_wait(ctx: &TestContext) -> u64 {
//!     let id = ctx.rng().next_u64();
//!     ctx.clock().advance(Duration::from_secs(60));
//!     assert_eq!(ctx.clock().monotonic(), Duration::from_secs(60));
//!     id
//! }
//!
//! #[deterministic_test(seed = 0x2a)]
//! async fn an_hour_of_virtual_time_takes_milliseconds(ctx: &TestContext) {
//!     sleep_an_hour(ctx).await;
//! }
//!
//! async fn sleep_an_hour(ctx: &TestContext) {
//!     let before = ctx.clock().now();
//!     tokio::time::sleep(Duration::from_secs(3600)).await;
//!     assert_eq!(ctx.clock().now().duration_since(before).unwrap(), Duration::from_secs(3600));
//! }
//!
//! // A doc-test drops `#[test]` items, so the bodies run here on the contexts the attribute
//! // would build: a manual clock for a sync test, a paused runtime for an async one.
//! let ctx = TestContext::new("draws_follow_the_seed", Seed::new(7));
//! assert_eq!(draw_and_wait(&ctx), TestContext::new("again", Seed::new(7)).rng().next_u64());
//! tokio::runtime::Builder::new_current_thread()
//!     .enable_all()
//!     .start_paused(true)
//!     .build()?
//!     .block_on(async {
//!         let clock = TestClock::tokio(steadfast_determinism::timestamp::parse("2026-01-01T00:00:00Z")?);
//!         let ctx = Arc::new(TestContext::with_clock("hour", Seed::new(0x2a), clock));
//!         sleep_an_hour(&ctx).await;
//!         Ok::<(), steadfast_determinism::Error>(())
//!     })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The same context works outside tests, in benchmarks and examples:
//!
//! ```
//! use steadfast_determinism::{Seed, TestContext};
//!
//! let run_seed = Seed::run_seed()?; // STEADFAST_SEED, or 0
//! let ctx = TestContext::new("bench::checkout", run_seed.derive("bench::checkout"));
//! let order_ids: Vec<u64> = (0..3).map(|_| ctx.rng().next_u64()).collect();
//! # let _ = order_ids;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What is here
//!
//! * [`Seed`]: a plain `u64` with a stable [`derive`](Seed::derive) for per-test seeds, parsed
//!   from `STEADFAST_SEED`.
//! * [`DetRng`]: ChaCha8 keyed by a seed, with named independent streams ([`DetRng::fork`]) and
//!   a seeded proptest runner.
//! * [`Clock`] with [`SystemClock`], [`ManualClock`], [`FrozenClock`] and [`TokioClock`]: wall
//!   time and monotonic time together.
//! * [`TestContext`]: the current test's name, seed, RNG and [`TestClock`], as an argument of the
//!   test or through [`TestContext::current`].
//! * [`budget`]: latency budgets measured on the test clock, with exact percentile assertions.
//! * [`wait`]: expectation-based waits ([`wait_until`], [`eventually`]) instead of sleeps.
//! * [`deterministic_test`]: the attribute that ties it together (sync and async tests, `seed`,
//!   `runs`, `start`, `check_determinism`).
//!
//! ## How seeds work
//!
//! The *run seed* comes from `STEADFAST_SEED` (decimal or `0x` hex), or is 0. Each test's seed
//! is `run_seed.derive(test_path)`, so adding, removing or reordering tests never changes another
//! test's seed, and a test rerun alone gets the same seed. With `runs = N`, run `i` uses
//! `test_seed.derive("run i")`. When a test fails it prints one line to stderr:
//!
//! ```text
//! steadfast: test payments::charges_once failed with seed 0x…: <panic>; replay: STEADFAST_SEED=0x… cargo test -p my-crate --test integration -- payments::charges_once --exact
//! ```
//!
//! ## Environment variables
//!
//! | variable | meaning |
//! | --- | --- |
//! | `STEADFAST_SEED` | the run seed; a malformed value fails the test with a message naming it |
//! | `STEADFAST_CLOCK` | `virtual`, `real-peers` or `real`: the [`clock_policy`] of async tests whose attribute names none (default `virtual`) |
//! | `STEADFAST_GRACE_MS` | the grace of `real-peers` tests whose attribute sets no `grace_ms` (default 2000) |
//!
//! ## Crate features
//!
//! * `seal` (Linux with glibc): code on the test's thread that never heard of steadfast reads
//!   the test's clock, seed, time zone and locale; see [Sealing](#sealing) and the `seal`
//!   module when the feature is on. `tz = "…"` and `clock = "real-peers"` need it.
//!
//! ## Sealing
//!
//! With `seal`, `SystemTime::now()`, `Instant::now()`, `getrandom` (so `rand::rng()`,
//! `HashMap` order and `uuid::Uuid::new_v4()`), `TZ` and the locale follow the test on its
//! thread; other threads see the real OS. The attribute also takes `tz = "Europe/Berlin"`
//! (checked against the IANA names at compile time), `clock = "virtual" | "real-peers" |
//! "real"` and `grace_ms = N`. `flavor = "multi_thread"` is refused: paused time needs the
//! current-thread runtime.
//!
//! ## Supported Rust versions
//!
//! The workspace's `rust-version` (1.95) and newer.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod budget;
pub mod clock;
pub mod clock_policy;
pub mod context;
mod error;
pub mod rng;
#[cfg(feature = "seal")]
#[cfg_attr(docsrs, doc(cfg(feature = "seal")))]
pub mod seal;
pub mod seed;
pub mod timestamp;
pub mod wait;

/// Expands to nothing with the `seal` feature; without it, to a compile error saying that the
/// attribute argument it names needs the feature. Used by `#[deterministic_test]`.
#[cfg(feature = "seal")]
#[doc(hidden)]
#[macro_export]
macro_rules! __require_seal {
    ($what:literal) => {};
}

/// See the `seal` twin above.
#[cfg(not(feature = "seal"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __require_seal {
    ($what:literal) => {
        ::core::compile_error!(::core::concat!(
            $what,
            " pins what the code under test sees, which needs the `seal` feature: enable it on \
             steadfast-determinism (or steadfast) in [dev-dependencies]"
        ));
    };
}

/// Expands to nothing with the `tokio` feature; without it, to a compile error saying that an
/// async test needs the feature. Used by `#[deterministic_test]`.
#[cfg(feature = "tokio")]
#[doc(hidden)]
#[macro_export]
macro_rules! __require_tokio {
    () => {};
}

/// See the `tokio` twin above.
#[cfg(not(feature = "tokio"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __require_tokio {
    () => {
        ::core::compile_error!(
            "an async `#[deterministic_test]` runs on a paused tokio runtime, which needs the \
             `tokio` feature (on by default): enable it on steadfast-determinism (or steadfast) \
             in [dev-dependencies], or make the test a sync `fn`"
        );
    };
}

#[doc(hidden)]
pub mod __macro_support {
    //! Used by the code `#[deterministic_test]` expands to. **Not a stable API.**
    pub use crate::harness::*;
    pub use crate::isolation::{RunOnFreshThread, RunOnTestThread, Runner};
    #[cfg(feature = "tokio")]
    pub use tokio;
}
mod harness;
mod isolation;
mod outcome;

pub use budget::{LatencyBudget, LatencySummary};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use clock::TokioClock;
pub use clock::{Clock, FrozenClock, ManualClock, Reading, SystemClock};
pub use context::{ContextGuard, RngHandle, TestClock, TestContext};
pub use error::{Error, ErrorKind};
pub use outcome::TestOutcome;
pub use rng::DetRng;
pub use seed::Seed;
pub use steadfast_macros::deterministic_test;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use wait::eventually;
pub use wait::wait_until;
