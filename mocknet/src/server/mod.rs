//! The mock server: an HTTP/1.1 listener on 127.0.0.1 that runs on the caller's tokio runtime.
//!
//! Split by concern, as wiremock splits its `mock_server`: [`MockNetBuilder`] configures and
//! starts (`builder`), [`MockNet`] is the handle a test holds (`handle`) with its assertions
//! (`verify`), `connection` does the socket I/O and `routing` matches, journals and plans
//! each reply. The state they share lives here.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};

use steadfast_determinism::{DetRng, Seed};
use steadfast_tracing_core::otlp_metrics::Metric;
use steadfast_tracing_core::span::Span;
use tokio::sync::watch;
use tokio::task::JoinSet;
use wiremock::Match;

use crate::journal::JournalEntry;
use crate::scenario::{MatcherSpec, Scenario};
use routing::Stray;

mod background;
mod builder;
mod connection;
mod expectations;
mod handle;
mod mount;
mod render;
mod routing;
mod verify;

pub(crate) use background::Background;
pub use builder::MockNetBuilder;
pub use handle::MockNet;
use render::Renderer;
pub(crate) use routing::to_wiremock;

/// The route name the OTLP collector's requests are journaled under.
pub const OTLP_COLLECTOR_ROUTE: &str = "otlp-collector";

pub(crate) struct Shared {
    /// The scenario's name, fixed at start.
    name: String,
    rng: DetRng,
    origin: SeedOrigin,
    started: tokio::time::Instant,
    fail_on_unmatched: bool,
    /// How long a connection may take to deliver a whole request; see
    /// `MockNetBuilder::request_timeout`.
    request_timeout: Option<std::time::Duration>,
    otlp_collector: bool,
    callback_base: Option<url::Url>,
    state: Mutex<State>,
    arrived: watch::Sender<usize>,
    /// How many callbacks have finished (with a status or an error).
    called_back: watch::Sender<usize>,
    /// Until when the listener is closed, refusing connections.
    refuse_until: watch::Sender<Option<tokio::time::Instant>>,
    /// Set by [`MockNet::stop`] and when the server is dropped.
    stopped: AtomicBool,
    /// wiremock's own server, rendering the templates of wiremock responders; started by the
    /// first mock that needs it.
    renderer: tokio::sync::OnceCell<Arc<Renderer>>,
}

pub(crate) struct State {
    /// The routes served: the catalog scenario's, then mounted mocks.
    scenario: Scenario,
    /// The built matchers of each route.
    matchers: BuiltMatchers,
    /// Route indices in the order they are tried: by priority, then by position.
    order: Vec<usize>,
    /// Routes of scoped mocks whose guard was dropped: they match nothing any more.
    retired: Vec<bool>,
    /// Accepted connections still to be closed before reading.
    close_on_accept: usize,
    /// How many of the routes came from the catalog scenario; `reset` keeps those.
    catalog_routes: usize,
    /// Bumped by `reset`, so that guards of mocks mounted before it leave the new ones be.
    generation: u64,
    current: String,
    calls: Vec<usize>,
    journal: Vec<JournalEntry>,
    /// Unmatched requests in fail-fast mode that no check has reported yet.
    unmatched_failures: Vec<Stray>,
    spans: Vec<Span>,
    metrics: Vec<Metric>,
    /// Callbacks waiting or in flight; dropping the set (with the server) aborts them.
    callbacks: JoinSet<()>,
    callbacks_done: usize,
}

/// The built matchers of every route, one route's after another's in one list, so that
/// mounting a mock adds to the list instead of allocating one of its own.
#[derive(Default)]
pub(super) struct BuiltMatchers {
    all: Vec<Arc<dyn Match>>,
    /// Where each route's matchers start in `all`.
    starts: Vec<usize>,
}

impl BuiltMatchers {
    /// Builds the matchers of the next route.
    fn push(&mut self, specs: &[MatcherSpec]) {
        self.starts.push(self.all.len());
        self.all.extend(specs.iter().map(MatcherSpec::build));
    }

    /// The matchers of route `i`, in the order of its specs.
    fn route(&self, i: usize) -> &[Arc<dyn Match>] {
        let end = self.starts.get(i + 1).copied().unwrap_or(self.all.len());
        &self.all[self.starts[i]..end]
    }

    /// Forgets the matchers of every route from `keep` on.
    fn truncate(&mut self, keep: usize) {
        if let Some(&start) = self.starts.get(keep) {
            self.all.truncate(start);
        }
        self.starts.truncate(keep);
    }
}

/// Where the seed of the fault draws came from, to say how to reproduce a failure.
#[derive(Debug, Clone)]
pub(crate) enum SeedOrigin {
    /// Given with `MockNetBuilder::seed`.
    Explicit,
    /// `MockNet::start` outside a deterministic test: the fixed seed 0.
    Fixed,
    /// Forked from the running deterministic test's RNG.
    Test {
        /// The test's full path.
        name: String,
        /// The run seed (`STEADFAST_SEED`) the test's seed derives from.
        run_seed: Seed,
    },
}

impl Shared {
    /// One line saying how to draw the same faults again.
    pub(crate) fn reproduce(&self) -> String {
        let seed = self.rng.seed();
        match &self.origin {
            SeedOrigin::Explicit => format!(
                "reproduce: the faults follow MockNetBuilder::seed({seed}), the same on every run"
            ),
            SeedOrigin::Fixed => format!(
                "reproduce: no test context, so the faults follow the fixed seed {seed}, the \
                 same on every run; give another with MockNetBuilder::seed"
            ),
            SeedOrigin::Test { name, run_seed } => format!(
                "reproduce: run test `{name}` with STEADFAST_SEED={run_seed}; \
                 mocknet's fault seed {seed} derives from it"
            ),
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
