//! The mock server: an HTTP/1.1 listener on 127.0.0.1 that runs on the caller's tokio runtime.
//!
//! Split by concern, as wiremock splits its `mock_server`: [`MockNetBuilder`] configures and
//! starts (`builder`), [`MockNet`] is the handle a test holds (`handle`) with its assertions
//! (`verify`), `connection` does the socket I/O and `routing` matches, journals and plans
//! each reply. The state they share lives here.

use std::sync::{Mutex, PoisonError};

use steadfast_determinism::{DetRng, Seed};
use steadfast_tracing_core::span::Span;
use tokio::sync::watch;
use tokio::task::JoinSet;
use wiremock::Match;

use crate::journal::JournalEntry;
use crate::scenario::Scenario;
use routing::Stray;

mod builder;
mod connection;
mod handle;
mod routing;
mod verify;

pub use builder::MockNetBuilder;
pub use handle::MockNet;

/// The route name the OTLP collector's requests are journaled under.
pub const OTLP_COLLECTOR_ROUTE: &str = "otlp-collector";

pub(crate) struct Shared {
    scenario: Scenario,
    matchers: Vec<Vec<Box<dyn Match>>>,
    rng: DetRng,
    origin: SeedOrigin,
    started: tokio::time::Instant,
    fail_on_unmatched: bool,
    otlp_collector: bool,
    callback_base: Option<url::Url>,
    state: Mutex<State>,
    arrived: watch::Sender<usize>,
    /// How many callbacks have finished (with a status or an error).
    called_back: watch::Sender<usize>,
}

pub(crate) struct State {
    current: String,
    calls: Vec<usize>,
    journal: Vec<JournalEntry>,
    /// Unmatched requests in fail-fast mode that no check has reported yet.
    unmatched_failures: Vec<Stray>,
    spans: Vec<Span>,
    /// Callbacks waiting or in flight; dropping the set (with the server) aborts them.
    callbacks: JoinSet<()>,
    callbacks_done: usize,
}

/// Where the seed of the fault draws came from, to say how to reproduce a failure.
#[derive(Debug, Clone)]
pub(crate) enum SeedOrigin {
    /// Given with `MockNetBuilder::seed`.
    Explicit,
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
