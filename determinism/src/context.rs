//! The current test's context: its name, seed, RNG and clock.
//!
//! `#[deterministic_test]` creates one per run and hands it to the test function
//! (`fn my_test(ctx: &TestContext)`) and to helpers deep in the code through
//! [`TestContext::current`]. Outside tests (benchmarks, examples) build one yourself:
//!
//! ```
//! use steadfast_determinism::{Clock, Seed, TestContext};
//! use std::time::Duration;
//!
//! let ctx = TestContext::new("bench::orders", Seed::new(7));
//! let first = ctx.rng().next_u64();
//! ctx.clock().advance(Duration::from_secs(5));
//! assert_eq!(ctx.clock().monotonic(), Duration::from_secs(5));
//!
//! let again = TestContext::new("bench::orders", Seed::new(7));
//! assert_eq!(again.rng().next_u64(), first);
//! ```

use std::cell::RefCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
#[cfg(feature = "tokio")]
use std::time::SystemTime;

#[cfg(feature = "tokio")]
use crate::clock::TokioClock;
use crate::clock::{Clock, ManualClock, Reading, default_start};
use crate::rng::{DetRng, Recorder};
use crate::seed::Seed;

/// What one run of a deterministic test can reach: its name, seed, RNG and clock.
pub struct TestContext {
    name: String,
    seed: Seed,
    run_seed: Seed,
    rng: Mutex<DetRng>,
    clock: TestClock,
}

impl TestContext {
    /// A context for `name` whose RNG is keyed by `seed` and whose clock is a [`ManualClock`]
    /// starting at 2026-01-01T00:00:00Z.
    pub fn new(name: impl Into<String>, seed: Seed) -> Self {
        Self::with_clock(name, seed, TestClock::manual(ManualClock::default()))
    }

    /// A context with the given clock.
    pub fn with_clock(name: impl Into<String>, seed: Seed, clock: TestClock) -> Self {
        Self {
            name: name.into(),
            seed,
            run_seed: seed,
            rng: Mutex::new(DetRng::from_seed(seed)),
            clock,
        }
    }

    pub(crate) fn set_run_seed(mut self, run_seed: Seed) -> Self {
        self.run_seed = run_seed;
        self
    }

    pub(crate) fn recording(mut self, recorder: Recorder) -> Self {
        let rng = DetRng::from_seed(self.seed).with_recorder(recorder.clone());
        self.rng = Mutex::new(rng);
        self.clock.recorder = Some(recorder);
        self
    }

    /// The test's full path, such as `my_crate::payments::charges_once`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The seed of this test (this run, with `runs = N`).
    pub fn seed(&self) -> Seed {
        self.seed
    }

    /// The run seed this test's seed was derived from (`STEADFAST_SEED`, or the default).
    /// Equal to [`seed`](Self::seed) for a pinned seed or a context built by hand.
    pub fn run_seed(&self) -> Seed {
        self.run_seed
    }

    /// The test's RNG, locked for as long as the handle lives.
    ///
    /// Draw directly (`ctx.rng().next_u64()`) or [`fork`](DetRng::fork) a stream for a part of
    /// the code under test.
    pub fn rng(&self) -> RngHandle<'_> {
        RngHandle(self.rng.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// An independent stream of the test's RNG for a named part (`"network"`, `"ids"`).
    pub fn fork_rng(&self, label: &str) -> DetRng {
        self.rng().fork(label)
    }

    /// The test's clock.
    pub fn clock(&self) -> &TestClock {
        &self.clock
    }

    /// The context of the test running on this thread.
    ///
    /// # Panics
    ///
    /// When no deterministic test is running on this thread; use [`try_current`](Self::try_current)
    /// in code that also runs outside tests.
    pub fn current() -> Arc<TestContext> {
        Self::try_current().expect(
            "steadfast: no test context on this thread: call this from inside a #[deterministic_test] \
             or a TestContext::scope",
        )
    }

    /// The context of the test running on this thread, if any.
    pub fn try_current() -> Option<Arc<TestContext>> {
        CURRENT.with(|current| current.borrow().clone())
    }

    /// Runs `f` with this context as [`current`](Self::current) on this thread, restoring the
    /// previous one afterwards (even if `f` panics).
    pub fn scope<R>(self: &Arc<Self>, f: impl FnOnce() -> R) -> R {
        let _guard = self.enter();
        f()
    }

    /// Makes this context [`current`](Self::current) on this thread until the guard is dropped.
    pub fn enter(self: &Arc<Self>) -> ContextGuard {
        let previous = CURRENT.with(|current| current.replace(Some(Arc::clone(self))));
        ContextGuard { previous }
    }
}

impl fmt::Debug for TestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestContext")
            .field("name", &self.name)
            .field("seed", &self.seed)
            .field("run_seed", &self.run_seed)
            .field("clock", &self.clock)
            .finish()
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<TestContext>>> = const { RefCell::new(None) };
}

/// Restores the previous current context when dropped. See [`TestContext::enter`].
#[must_use = "the context is current only while the guard lives"]
#[derive(Debug)]
pub struct ContextGuard {
    previous: Option<Arc<TestContext>>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|current| *current.borrow_mut() = previous);
    }
}

/// Exclusive access to the test's [`DetRng`]; see [`TestContext::rng`].
#[derive(Debug)]
pub struct RngHandle<'a>(MutexGuard<'a, DetRng>);

impl Deref for RngHandle<'_> {
    type Target = DetRng;
    fn deref(&self) -> &DetRng {
        &self.0
    }
}

impl DerefMut for RngHandle<'_> {
    fn deref_mut(&mut self) -> &mut DetRng {
        &mut self.0
    }
}

/// The clock of a test: a [`ManualClock`] in sync tests, a [`TokioClock`] (following tokio's
/// paused clock) in async tests. Cheap to clone; clones share the time.
#[derive(Clone)]
pub struct TestClock {
    source: ClockSource,
    recorder: Option<Recorder>,
}

#[derive(Debug, Clone)]
enum ClockSource {
    Manual(ManualClock),
    #[cfg(feature = "tokio")]
    Tokio(TokioClock),
}

/// Identifies clock readings among the observations of `check_determinism`.
pub(crate) const CLOCK_SOURCE: u64 = u64::MAX;

impl TestClock {
    /// A test clock driven by hand.
    pub fn manual(clock: ManualClock) -> Self {
        Self {
            source: ClockSource::Manual(clock),
            recorder: None,
        }
    }

    /// A test clock following tokio's clock from `start`; create it inside the runtime.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn tokio(start: SystemTime) -> Self {
        Self {
            source: ClockSource::Tokio(TokioClock::starting_at(start)),
            recorder: None,
        }
    }

    /// The manual clock behind this test clock, if it is one.
    pub fn as_manual(&self) -> Option<&ManualClock> {
        match &self.source {
            ClockSource::Manual(clock) => Some(clock),
            #[cfg(feature = "tokio")]
            ClockSource::Tokio(_) => None,
        }
    }

    /// True when the clock follows tokio (async tests).
    pub fn follows_tokio(&self) -> bool {
        #[cfg(feature = "tokio")]
        return matches!(self.source, ClockSource::Tokio(_));
        #[cfg(not(feature = "tokio"))]
        false
    }

    /// Moves the clock forward by `by`.
    ///
    /// # Panics
    ///
    /// On a clock that follows tokio (async tests), where time moves with
    /// `tokio::time::sleep` or `tokio::time::advance` instead; use [`sleep`](Self::sleep) to
    /// write code that works on both.
    #[track_caller]
    pub fn advance(&self, by: Duration) {
        match &self.source {
            ClockSource::Manual(clock) => clock.advance(by),
            #[cfg(feature = "tokio")]
            ClockSource::Tokio(_) => panic!(
                "steadfast: this test clock follows tokio's paused clock; \
                 use tokio::time::sleep or tokio::time::advance to move it"
            ),
        }
    }

    /// Lets `by` pass: advances a manual clock at once, or sleeps on tokio's clock (virtual time
    /// under a paused runtime).
    pub async fn sleep(&self, by: Duration) {
        match &self.source {
            ClockSource::Manual(clock) => clock.advance(by),
            #[cfg(feature = "tokio")]
            ClockSource::Tokio(_) => tokio::time::sleep(by).await,
        }
    }
}

impl TestClock {
    /// A reading that `check_determinism` does not record: the sealed clock's own bookkeeping.
    pub(crate) fn read_unrecorded(&self) -> Reading {
        match &self.source {
            ClockSource::Manual(clock) => clock.read(),
            #[cfg(feature = "tokio")]
            ClockSource::Tokio(clock) => clock.read(),
        }
    }
}

impl Default for TestClock {
    /// A manual clock starting at 2026-01-01T00:00:00Z.
    fn default() -> Self {
        Self::manual(ManualClock::starting_at(default_start()))
    }
}

impl Clock for TestClock {
    fn read(&self) -> Reading {
        let reading = self.read_unrecorded();
        if let Some(recorder) = &self.recorder {
            let nanos = u64::try_from(reading.monotonic.as_nanos()).unwrap_or(u64::MAX);
            recorder.record(CLOCK_SOURCE, nanos);
        }
        reading
    }
}

impl fmt::Debug for TestClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            ClockSource::Manual(clock) => clock.fmt(f),
            #[cfg(feature = "tokio")]
            ClockSource::Tokio(clock) => clock.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_is_set_inside_scope_and_restored_after() {
        assert!(TestContext::try_current().is_none());
        let outer = Arc::new(TestContext::new("outer", Seed::new(1)));
        let inner = Arc::new(TestContext::new("inner", Seed::new(2)));
        outer.scope(|| {
            inner.scope(|| assert_eq!(TestContext::current().name(), "inner"));
            assert_eq!(TestContext::current().name(), "outer");
        });
        assert!(TestContext::try_current().is_none());
    }

    #[test]
    fn scope_restores_previous_context_after_a_panic() {
        let ctx = Arc::new(TestContext::new("panics", Seed::new(1)));
        let result = std::panic::catch_unwind(|| ctx.scope(|| panic!("boom")));
        assert!(result.is_err());
        assert!(TestContext::try_current().is_none());
    }

    #[cfg(feature = "tokio")]
    #[test]
    #[should_panic(expected = "follows tokio's paused clock")]
    fn advancing_a_tokio_clock_by_hand_panics_with_advice() {
        TestClock::tokio(default_start()).advance(Duration::from_secs(1));
    }

    #[test]
    fn rng_of_context_is_keyed_by_its_seed() {
        let ctx = TestContext::new("t", Seed::new(99));
        assert_eq!(
            ctx.rng().next_u64(),
            DetRng::from_seed(Seed::new(99)).next_u64()
        );
        assert_eq!(
            ctx.fork_rng("ids").next_u64(),
            DetRng::from_seed(Seed::new(99)).fork("ids").next_u64()
        );
    }
}
