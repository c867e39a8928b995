//! Where each run of a deterministic test executes.
//!
//! With the `seal` feature, every run gets a fresh OS thread, sealed while the test body runs
//! (see [`crate::seal`]). A fresh thread matters because std and `rand` key per-thread state
//! from OS randomness the first time a thread needs it: `HashMap`'s `RandomState` keys and
//! `rand::rng()`'s generator. On a thread of its own, each run draws that state from its seed,
//! so two runs with one seed see the same map order and the same `rand::rng()` values.
//!
//! The attribute picks the fresh thread when the test's return type is `Send` (`()`,
//! `Result<(), String>`, `Result<(), Box<dyn Error + Send + Sync>>`); a test returning a type
//! that is not `Send` (such as `Box<dyn Error>`) runs sealed on libtest's own thread instead, where
//! `runs = N` and `check_determinism` share those per-thread states between runs.

use std::marker::PhantomData;
use std::panic;

use crate::context::TestContext;
#[cfg(feature = "tokio")]
use crate::harness::AsyncTestFn;
use crate::harness::{self, TestOutcome, TestSpec};
use crate::seed::Seed;

/// Chooses, from the test's return type, whether runs execute on fresh threads.
///
/// `(&&Runner::<R>::new()).run_sync(…)` resolves to [`RunOnFreshThread`] when `R: Send` and to
/// [`RunOnTestThread`] otherwise.
#[derive(Debug)]
pub struct Runner<R>(PhantomData<fn() -> R>);

impl<R> Runner<R> {
    /// A runner for a test returning `R`.
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<R> Default for Runner<R> {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs each run of a test whose return type is `Send` on a fresh thread.
pub trait RunOnFreshThread<R> {
    /// See [`harness::run_sync`].
    fn run_sync(&self, spec: &TestSpec, seed: Option<Seed>, body: fn(&TestContext) -> R) -> R;
    /// See [`harness::run_async`].
    #[cfg(feature = "tokio")]
    fn run_async<F>(&self, spec: &TestSpec, seed: Option<Seed>, body: F) -> R
    where
        F: for<'a> AsyncTestFn<'a, R> + Sync;
}

impl<R: TestOutcome + Send> RunOnFreshThread<R> for &Runner<R> {
    fn run_sync(&self, spec: &TestSpec, seed: Option<Seed>, body: fn(&TestContext) -> R) -> R {
        harness::run_sync_with(spec, seed, body, on_fresh_thread)
    }

    #[cfg(feature = "tokio")]
    fn run_async<F>(&self, spec: &TestSpec, seed: Option<Seed>, body: F) -> R
    where
        F: for<'a> AsyncTestFn<'a, R> + Sync,
    {
        harness::run_async_with(spec, seed, &body, on_fresh_thread)
    }
}

/// Runs a test whose return type is not `Send` on the calling thread.
pub trait RunOnTestThread<R> {
    /// See [`harness::run_sync`].
    fn run_sync(&self, spec: &TestSpec, seed: Option<Seed>, body: fn(&TestContext) -> R) -> R;
    /// See [`harness::run_async`].
    #[cfg(feature = "tokio")]
    fn run_async<F>(&self, spec: &TestSpec, seed: Option<Seed>, body: F) -> R
    where
        F: for<'a> AsyncTestFn<'a, R> + Sync;
}

impl<R: TestOutcome> RunOnTestThread<R> for Runner<R> {
    fn run_sync(&self, spec: &TestSpec, seed: Option<Seed>, body: fn(&TestContext) -> R) -> R {
        harness::run_sync(spec, seed, body)
    }

    #[cfg(feature = "tokio")]
    fn run_async<F>(&self, spec: &TestSpec, seed: Option<Seed>, body: F) -> R
    where
        F: for<'a> AsyncTestFn<'a, R> + Sync,
    {
        harness::run_async(spec, seed, body)
    }
}

/// Runs `run` on a new thread named like the calling one (libtest names its threads after the
/// test), passing on its panic unchanged. Without the `seal` feature nothing needs a fresh
/// thread, and `run` runs here.
fn on_fresh_thread<T: Send>(run: &mut (dyn FnMut() -> T + Send)) -> T {
    if !cfg!(feature = "seal") {
        return run();
    }
    std::thread::scope(|scope| {
        let mut builder = std::thread::Builder::new();
        if let Some(name) = std::thread::current().name() {
            builder = builder.name(name.to_owned());
        }
        let handle = match builder.spawn_scoped(scope, run) {
            Ok(handle) => handle,
            Err(err) => panic!("steadfast: could not start a thread for the test's run: {err}"),
        };
        match handle.join() {
            Ok(value) => value,
            Err(payload) => panic::resume_unwind(payload),
        }
    })
}

/// The seal of one run: entered once the run's context exists, left when the run ends.
#[cfg(feature = "seal")]
pub(crate) mod sealing {
    #[cfg(feature = "tokio")]
    use std::future::Future;
    use std::sync::Arc;

    use crate::context::TestContext;
    use crate::harness::TestSpec;
    use std::time::Duration;

    use crate::seal::{Seal, SealGuard};

    /// The guard of a sealed run.
    pub(crate) type Guard = SealGuard;

    /// Seals the calling thread for this run; `peer_grace` for `clock = "real-peers"`.
    pub(crate) fn enter(
        spec: &TestSpec,
        ctx: &Arc<TestContext>,
        peer_grace: Option<Duration>,
    ) -> Guard {
        let mut seal = match spec.time_zone {
            Some(time_zone) => Seal::new().time_zone(time_zone),
            None => Seal::new(),
        };
        if let Some(grace) = peer_grace {
            seal = seal.real_peers(grace);
        }
        match seal.enter(ctx) {
            Ok(guard) => guard,
            Err(err) => panic!("steadfast: {err}"),
        }
    }

    /// The test's future, keeping the sealed clock level with tokio's.
    #[cfg(feature = "tokio")]
    pub(crate) fn follow<F: Future>(guard: &Guard, future: F) -> impl Future<Output = F::Output> {
        guard.follow(future)
    }

    /// The runtime of an async run: the seal knows when the driver parks (the moment an
    /// idle runtime decides to advance its paused clock) and catches up after each park.
    #[cfg(feature = "tokio")]
    pub(crate) fn runtime(builder: &mut tokio::runtime::Builder) -> &mut tokio::runtime::Builder {
        builder
            .on_thread_park(|| crate::seal::parking(true))
            .on_thread_unpark(|| crate::seal::parking(false))
    }

    /// The real peers that made virtual time move on without their answer, described.
    #[cfg(feature = "tokio")]
    pub(crate) fn slow_peers(guard: &Guard) -> Vec<String> {
        guard.slow_peers().iter().map(ToString::to_string).collect()
    }
}

/// Without the `seal` feature a run is not sealed.
#[cfg(not(feature = "seal"))]
pub(crate) mod sealing {
    #[cfg(feature = "tokio")]
    use std::future::Future;
    use std::sync::Arc;

    use crate::context::TestContext;
    use crate::harness::TestSpec;

    /// Nothing to leave.
    pub(crate) struct Guard;

    pub(crate) fn enter(
        _spec: &TestSpec,
        _ctx: &Arc<TestContext>,
        _peer_grace: Option<std::time::Duration>,
    ) -> Guard {
        Guard
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn slow_peers(_guard: &Guard) -> Vec<String> {
        Vec::new()
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn follow<F: Future>(_guard: &Guard, future: F) -> F {
        future
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn runtime(builder: &mut tokio::runtime::Builder) -> &mut tokio::runtime::Builder {
        builder
    }
}
