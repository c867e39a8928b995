//! The process-wide recorder and how it finds the current test's store.
//!
//! The `metrics` facade allows one global recorder per process, and tests of one binary run in
//! parallel. So [`TestRecorder`] is installed once and decides at every registration (each
//! `counter!`, `gauge!` or `histogram!` call registers) which test the record belongs to: the
//! [`TestContext`] current on the calling thread. `#[deterministic_test]` makes its context
//! current on the test's thread, and an async test runs on a current-thread runtime, so the
//! test's spawned tasks see it too. Each context gets its own [`Store`]; parallel tests never
//! see each other's metrics.
//!
//! A registration where no context is current (another thread, `spawn_blocking`, code outside
//! any test) gets a handle that only counts its records: see [`records_outside_tests`].

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use steadfast_determinism::TestContext;

use crate::error::Error;
use crate::store::{Kind, Store};

/// The recorder [`install`] sets as the `metrics` facade's global recorder: it routes each
/// metric to the store of the test that records it.
///
/// It has no state of its own; install it with [`install`], or set it as one thread's local
/// recorder with `metrics::set_default_local_recorder(&TestRecorder)` (the `metrics` bench
/// does).
#[derive(Debug, Clone, Copy, Default)]
pub struct TestRecorder;

impl Recorder for TestRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if let Some(store) = current_store() {
            store.describe(Kind::Counter, key, unit, description);
        }
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if let Some(store) = current_store() {
            store.describe(Kind::Gauge, key, unit, description);
        }
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if let Some(store) = current_store() {
            store.describe(Kind::Histogram, key, unit, description);
        }
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        match current_store() {
            Some(store) => Counter::from_arc(store.series(Kind::Counter, key)),
            None => Counter::from_arc(outside()),
        }
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        match current_store() {
            Some(store) => Gauge::from_arc(store.series(Kind::Gauge, key)),
            None => Gauge::from_arc(outside()),
        }
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        match current_store() {
            Some(store) => Histogram::from_arc(store.series(Kind::Histogram, key)),
            None => Histogram::from_arc(outside()),
        }
    }
}

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Installs [`TestRecorder`] as the global recorder of the `metrics` facade, once per process;
/// later calls do nothing. Call it at the start of every test that asserts on metrics (it costs
/// one atomic load after the first call).
///
/// # Errors
///
/// [`ErrorKind::RecorderTaken`](crate::ErrorKind::RecorderTaken) when another recorder was
/// installed first (a Prometheus exporter set up by the code under test, say): its metrics
/// cannot be captured then.
///
/// # Example
///
/// ```
/// steadfast_metrics::install()?;
/// steadfast_metrics::install()?; // again: nothing to do
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn install() -> Result<(), Error> {
    if INSTALLED.load(Ordering::Acquire) {
        return Ok(());
    }
    // Several tests may race here; exactly one `set_global_recorder` wins, and a loser that
    // finds our recorder installed is fine too.
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(PoisonError::into_inner);
    if INSTALLED.load(Ordering::Acquire) {
        return Ok(());
    }
    metrics::set_global_recorder(TestRecorder).map_err(|_| Error::recorder_taken())?;
    INSTALLED.store(true, Ordering::Release);
    Ok(())
}

/// True once [`install`] has installed the recorder in this process.
pub fn is_installed() -> bool {
    INSTALLED.load(Ordering::Acquire)
}

/// Every store, with the context it belongs to; an entry whose context is gone is dropped on
/// the next miss of a thread's cache.
static STORES: Mutex<Vec<(Weak<TestContext>, Arc<Store>)>> = Mutex::new(Vec::new());

thread_local! {
    /// The last context this thread recorded for, and its store: most records of a thread
    /// belong to the test it runs, so this saves the lock on `STORES`.
    static LAST: RefCell<Option<(Weak<TestContext>, Arc<Store>)>> = const { RefCell::new(None) };
}

/// The store of the test current on this thread, if a test is current.
pub(crate) fn current_store() -> Option<Arc<Store>> {
    let ctx = TestContext::try_current()?;
    Some(store_of(&ctx))
}

/// The store of `ctx`, created on first use.
///
/// Identity is the context's allocation: a `Weak` keeps it from being reused, so a cached
/// pointer that matches is the same context, never a new one at the same address.
pub(crate) fn store_of(ctx: &Arc<TestContext>) -> Arc<Store> {
    let cached = LAST.with(|last| {
        last.borrow()
            .as_ref()
            .filter(|(weak, _)| std::ptr::eq(weak.as_ptr(), Arc::as_ptr(ctx)))
            .map(|(_, store)| Arc::clone(store))
    });
    if let Some(store) = cached {
        return store;
    }
    let store = {
        let mut stores = STORES.lock().unwrap_or_else(PoisonError::into_inner);
        stores.retain(|(weak, _)| weak.strong_count() > 0);
        match stores
            .iter()
            .find(|(weak, _)| std::ptr::eq(weak.as_ptr(), Arc::as_ptr(ctx)))
        {
            Some((_, store)) => Arc::clone(store),
            None => {
                let store = Arc::new(Store::new(ctx.name(), ctx.seed(), ctx.clock().clone()));
                stores.push((Arc::downgrade(ctx), Arc::clone(&store)));
                store
            }
        }
    };
    LAST.with(|last| *last.borrow_mut() = Some((Arc::downgrade(ctx), Arc::clone(&store))));
    store
}

/// The store of `ctx` if it recorded anything, without creating one.
pub(crate) fn existing_store_of(ctx: &Arc<TestContext>) -> Option<Arc<Store>> {
    STORES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(weak, _)| std::ptr::eq(weak.as_ptr(), Arc::as_ptr(ctx)))
        .map(|(_, store)| Arc::clone(store))
}

/// How many records in this process were made where no test context was current, and so
/// belong to no test: records on threads the test did not enter its context on (a
/// `std::thread::spawn`, `spawn_blocking`, a multi-thread runtime's workers), or outside tests.
///
/// Failure messages about missing metrics mention it when it is not zero. On another thread,
/// make the test's context current with
/// [`TestContext::enter`] to route its records.
pub fn records_outside_tests() -> u64 {
    OUTSIDE_RECORDS.load(Ordering::Relaxed)
}

static OUTSIDE_RECORDS: AtomicU64 = AtomicU64::new(0);

/// The handle of every metric registered outside a test: counts the records, keeps nothing.
#[derive(Debug)]
struct Outside;

fn outside() -> Arc<Outside> {
    static OUTSIDE: std::sync::OnceLock<Arc<Outside>> = std::sync::OnceLock::new();
    Arc::clone(OUTSIDE.get_or_init(|| Arc::new(Outside)))
}

impl Outside {
    fn count(&self) {
        OUTSIDE_RECORDS.fetch_add(1, Ordering::Relaxed);
    }
}

impl CounterFn for Outside {
    fn increment(&self, _: u64) {
        self.count();
    }
    fn absolute(&self, _: u64) {
        self.count();
    }
}

impl GaugeFn for Outside {
    fn increment(&self, _: f64) {
        self.count();
    }
    fn decrement(&self, _: f64) {
        self.count();
    }
    fn set(&self, _: f64) {
        self.count();
    }
}

impl HistogramFn for Outside {
    fn record(&self, _: f64) {
        self.count();
    }
}
