//! Async tests: each run on a fresh current-thread tokio runtime with paused time (the `tokio`
//! feature).

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use super::{Place, RunEnd, TestSpec, catch, context, passed, run};
use crate::clock_policy::ClockPolicy;
use crate::context::{TestClock, TestContext};
use crate::isolation::sealing;
use crate::outcome::TestOutcome;
use crate::rng::Recorder;
use crate::seed::Seed;

/// An async test function taking the context by reference.
///
/// Implemented for every `async fn(&TestContext) -> R`; the lifetime parameter lets the future
/// borrow the context.
pub trait AsyncTestFn<'a, R> {
    /// The future the function returns.
    type Future: Future<Output = R> + 'a;
    /// Calls the function.
    fn call(&self, ctx: &'a TestContext) -> Self::Future;
}

impl<'a, R, F, Fut> AsyncTestFn<'a, R> for F
where
    F: Fn(&'a TestContext) -> Fut,
    Fut: Future<Output = R> + 'a,
{
    type Future = Fut;
    fn call(&self, ctx: &'a TestContext) -> Fut {
        self(ctx)
    }
}

/// Runs an async test on the calling thread: each run on a fresh current-thread tokio runtime
/// with paused time.
///
/// `seed` is `Some` when retries chose the seed of this attempt; the test then runs once.
pub fn run_async<R, F>(spec: &TestSpec, seed: Option<Seed>, body: F) -> R
where
    R: TestOutcome,
    F: for<'a> AsyncTestFn<'a, R>,
{
    run(spec, seed, &mut |seed, run_seed, recorder| {
        run_async_once(spec, seed, run_seed, recorder, &body)
    })
}

/// As [`run_async`], with each run put where `place` says.
pub(crate) fn run_async_with<R, F>(
    spec: &TestSpec,
    seed: Option<Seed>,
    body: &F,
    place: Place<R>,
) -> R
where
    R: TestOutcome + Send,
    F: for<'a> AsyncTestFn<'a, R> + Sync,
{
    run(spec, seed, &mut |seed, run_seed, recorder| {
        let mut recorder = Some(recorder);
        place(&mut || run_async_once(spec, seed, run_seed, recorder.take().flatten(), body))
    })
}

fn run_async_once<R, F>(
    spec: &TestSpec,
    seed: Seed,
    run_seed: Seed,
    recorder: Option<Recorder>,
    body: &F,
) -> RunEnd<R>
where
    R: TestOutcome,
    F: for<'a> AsyncTestFn<'a, R>,
{
    let (policy, grace) = spec.clock_policy();
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder
        .enable_all()
        .start_paused(policy != ClockPolicy::Real);
    let runtime = match sealing::runtime(&mut builder).build() {
        Ok(runtime) => runtime,
        Err(err) => panic!("steadfast: could not build the test's tokio runtime: {err}"),
    };
    let peer_grace = (policy == ClockPolicy::RealPeers).then_some(grace);
    let end = catch(|| {
        runtime.block_on(async {
            // Created inside the runtime so the clock's origin is the paused clock's start.
            let ctx = Arc::new(context(spec, seed, run_seed, recorder, || {
                TestClock::tokio(spec.start())
            }));
            let _guard = ctx.enter();
            let seal = sealing::enter(spec, &ctx, peer_grace);
            let ended = sealing::follow(&seal, CatchPanic(Box::pin(body.call(&ctx)))).await;
            (ended, sealing::slow_peers(&seal))
        })
    });
    let (end, slow_peers) = match end {
        RunEnd::Returned((Ok(value), slow)) => (RunEnd::Returned(value), slow),
        RunEnd::Returned((Err(payload), slow)) => (RunEnd::Panicked(payload), slow),
        RunEnd::Panicked(payload) => (RunEnd::Panicked(payload), Vec::new()),
    };
    if !slow_peers.is_empty() && !passed(&end) {
        // Printed before the failure line: the timeout may be the peer's doing, not the seed's.
        eprintln!(
            "steadfast: note: virtual time moved on while a real peer had not answered within \
             the grace: {}; a slow or hung peer, not the seed, may have caused this failure \
             (raise grace_ms or {} to wait longer)",
            slow_peers.join("; "),
            crate::clock_policy::GRACE_ENV
        );
    }
    end
}

/// A future that turns a panic while polling into an `Err` with the payload, so the run can
/// still say what it knows (its slow peers) before the panic goes on.
struct CatchPanic<F>(std::pin::Pin<Box<F>>);

impl<F: std::future::Future> std::future::Future for CatchPanic<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match panic::catch_unwind(AssertUnwindSafe(|| self.0.as_mut().poll(cx))) {
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Ok(std::task::Poll::Ready(value)) => std::task::Poll::Ready(Ok(value)),
            Err(payload) => std::task::Poll::Ready(Err(payload)),
        }
    }
}
