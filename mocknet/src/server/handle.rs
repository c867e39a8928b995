//! The public handle of a running server: its address, seed, journal and waits.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use steadfast_determinism::Seed;
use steadfast_tracing_core::otlp_metrics::Metric;
use steadfast_tracing_core::span::Span;
use tokio::task::JoinHandle;

use super::{Background, MockNetBuilder, Shared};
use crate::error::{Error, ErrorKind};
use crate::journal::JournalEntry;
use crate::scenario::Scenario;

/// A running mock server serving one [`Scenario`].
///
/// The accept loop and every connection are tasks on the runtime that called
/// [`start`](MockNetBuilder::start), so under `#[deterministic_test]` (tokio's paused clock)
/// latencies, dribbles and client timeouts all run on the test's virtual time. The server stops
/// when the `MockNet` is dropped.
///
/// Fault draws come from the seed given with [`MockNetBuilder::seed`], or else from the running
/// test's RNG (`TestContext::current().fork_rng("mocknet")`). Request `i` draws from the
/// stream `fork("request i")`, so the faults of a request depend only on the seed and its
/// position, never on how requests interleave.
///
/// Connections are HTTP/1.1 with keep-alive, `Content-Length` or chunked request bodies and
/// `Expect: 100-continue`. A request that is not valid HTTP/1.1 gets `400` with the reason and a
/// close, and is not journaled. Matching is wiremock's: a `HEAD` request matches a route only
/// if the route allows `HEAD` (its answer then has no body).
///
/// # Panics
///
/// In [fail-fast](MockNetBuilder::fail_on_unmatched) mode, dropping the server panics (unless
/// the thread is already panicking) when a request matched no route and no check reported it.
///
/// # Example
///
/// Three seconds of latency take three seconds of virtual time on a paused runtime (the one
/// `#[deterministic_test]` provides, built by hand here) and no wall time:
///
/// ```
/// use std::time::Duration;
/// use steadfast_determinism::Seed;
/// use steadfast_mocknet::{Catalog, MockNet};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let runtime = tokio::runtime::Builder::new_current_thread()
///     .enable_all()
///     .start_paused(true)
///     .build()?;
/// runtime.block_on(async {
///     let catalog = Catalog::from_json("c.json", r#"{"scenarios": {"slow-health": {"routes": [
///         {"name": "health", "path": "/health", "response": {"text": "ok"},
///          "faults": [{"kind": "latency", "ms": 3000}]}]}}}"#)?;
///     let net = MockNet::builder().scenario(catalog.scenario("slow-health")?)
///         .seed(Seed::new(1))
///         .start()
///         .await?;
///
///     let wall = std::time::Instant::now();
///     let started = tokio::time::Instant::now();
///     let mut stream = tokio::net::TcpStream::connect(net.addr()).await?;
///     stream.write_all(b"GET /health HTTP/1.1\r\nconnection: close\r\n\r\n").await?;
///     let mut response = String::new();
///     stream.read_to_string(&mut response).await?;
///
///     assert!(response.ends_with("\r\n\r\nok"), "{response}");
///     assert_eq!(started.elapsed(), Duration::from_secs(3));
///     assert!(wall.elapsed() < Duration::from_secs(3));
///     net.assert_called("health", 1);
///     Ok::<(), Box<dyn std::error::Error>>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MockNet {
    pub(super) addr: SocketAddr,
    pub(super) shared: Arc<Shared>,
    pub(super) accept: JoinHandle<()>,
    /// The runtime of a server started with `start_blocking`; dropped last.
    pub(super) background: Option<Background>,
}

impl MockNet {
    /// Starts an empty server, as wiremock's `MockServer::start` does: mount
    /// [mocks](crate::Mock) on it. Faults draw from the running deterministic test's seed, or
    /// outside one from the fixed seed 0; for another seed or a catalog scenario use
    /// [`builder`](Self::builder).
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound, or when called outside a tokio runtime.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_mocknet::{Mock, MockNet};
    /// use wiremock::matchers::{method, path};
    /// use wiremock::ResponseTemplate;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let net = MockNet::start().await;
    /// Mock::given(method("GET"))
    ///     .and(path("/health"))
    ///     .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
    ///     .expect(1)
    ///     .mount(&net)
    ///     .await;
    ///
    /// let body = reqwest::get(format!("{}/health", net.uri())).await?.text().await?;
    /// assert_eq!(body, "ok");
    /// assert_eq!(net.seed(), steadfast_determinism::Seed::new(0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn start() -> MockNet {
        let builder = MockNetBuilder {
            fixed_seed_fallback: true,
            ..MockNet::builder()
        };
        match builder.start().await {
            Ok(net) => net,
            Err(err) => panic!("steadfast: {err}"),
        }
    }

    /// A builder for a server: its [scenario](MockNetBuilder::scenario), seed and options.
    pub fn builder() -> MockNetBuilder {
        MockNetBuilder {
            scenario: None,
            seed: None,
            fixed_seed_fallback: false,
            fail_on_unmatched: false,
            request_timeout: None,
            otlp_collector: false,
            callback_base: None,
        }
    }

    /// The scenario served now: the catalog scenario's routes and every mock mounted since,
    /// scoped ones included until their guard drops.
    pub fn scenario(&self) -> Scenario {
        self.shared.lock().scenario.clone()
    }

    /// Every request received so far as wiremock's `Request`, as wiremock's
    /// `MockServer::received_requests` gives them (always `Some`: mocknet always records).
    pub async fn received_requests(&self) -> Option<Vec<wiremock::Request>> {
        Some(
            self.journal()
                .iter()
                .map(JournalEntry::to_request)
                .collect(),
        )
    }

    /// Stops the server: it accepts no more connections, drops the open ones, and mounting
    /// on it is an [`ErrorKind::Stopped`] error. Dropping the server stops it too.
    pub fn stop(&self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.accept.abort();
    }

    /// Whether the server has stopped: by [`stop`](Self::stop), or because the runtime it ran
    /// on has shut down.
    pub fn is_stopped(&self) -> bool {
        self.shared.stopped.load(Ordering::SeqCst) || self.accept.is_finished()
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The handle of the server's own runtime, for a server started with `start_blocking`.
    pub(crate) fn own_runtime(&self) -> Option<tokio::runtime::Handle> {
        self.background.as_ref().map(Background::handle)
    }

    /// An error of `kind` about this server: its scenario and seed.
    pub(crate) fn server_error(&self, kind: ErrorKind) -> Error {
        Error::new(kind)
            .in_scenario(self.shared.name.clone())
            .with_seed(self.seed())
    }

    /// The server's address on 127.0.0.1.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's address, as wiremock's `MockServer::address` gives it.
    pub fn address(&self) -> &SocketAddr {
        &self.addr
    }

    /// The server's base URL, such as `http://127.0.0.1:40123`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The seed fault draws come from.
    pub fn seed(&self) -> Seed {
        self.shared.rng.seed()
    }

    /// The scenario's current state (see `when_state` and `set_state` in the catalog).
    pub fn current_state(&self) -> String {
        self.shared.lock().current.clone()
    }

    /// Every request received so far, in order of arrival.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.shared.lock().journal.clone()
    }

    /// Every span the OTLP collector received, in order of arrival (see
    /// [`MockNetBuilder::otlp_collector`]).
    pub fn spans(&self) -> Vec<Span> {
        self.shared.lock().spans.clone()
    }

    /// Every metric the OTLP collector received, in order of arrival: the sums, gauges and
    /// histograms of each export to `/v1/metrics`, each export's after the one before (see
    /// [`MockNetBuilder::otlp_collector`]). A service that exports every few seconds sends the
    /// same metric again each time, so the last one of a name holds its latest points.
    /// Exponential histograms and summaries are accepted but not kept here; their export's
    /// journal entry holds the body.
    pub fn metrics(&self) -> Vec<Metric> {
        self.shared.lock().metrics.clone()
    }

    /// Waits until at least `n` requests have arrived, on tokio's clock, and returns the journal.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::WaitTimedOut`](crate::ErrorKind::WaitTimedOut) when `timeout` passes first.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast_determinism::Seed;
    /// use steadfast_mocknet::{Catalog, MockNet};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let catalog = Catalog::from_json("c.json", r#"{"scenarios": {"up": {"routes": [
    ///     {"name": "health", "path": "/health", "response": {"text": "ok"}}]}}}"#)?;
    /// let net = MockNet::builder().scenario(catalog.scenario("up")?).seed(Seed::new(1)).start().await?;
    /// let url = format!("{}/health", net.uri());
    /// tokio::spawn(async move {
    ///     tokio::time::sleep(Duration::from_secs(5)).await;
    ///     reqwest::get(url).await
    /// });
    ///
    /// let journal = net.wait_for_requests(1, Duration::from_secs(60)).await?;
    /// assert_eq!(journal[0].at, Duration::from_secs(5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn wait_for_requests(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<JournalEntry>, Error> {
        let mut arrived = self.shared.arrived.subscribe();
        let waited = tokio::time::timeout(timeout, arrived.wait_for(|&seen| seen >= n))
            .await
            .map(|reached| reached.is_ok());
        match waited {
            Ok(true) => Ok(self.journal()),
            // The sender lives in `shared`, which `self` holds, so it cannot be closed here;
            // treat it like a timeout all the same.
            Ok(false) | Err(_) => {
                let seen = self.shared.lock().journal.len();
                Err(self.timed_out("requests", n, seen, timeout))
            }
        }
    }

    /// Waits until at least `n` callbacks have finished (with the receiver's status or an
    /// error), on tokio's clock, and returns the journal, whose entries then hold their
    /// [`callback`](JournalEntry::callback) records.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::WaitTimedOut`](crate::ErrorKind::WaitTimedOut) when `timeout` passes first.
    ///
    /// # Example
    ///
    /// See [`CallbackRecord`](crate::CallbackRecord).
    pub async fn wait_for_callbacks(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<JournalEntry>, Error> {
        let mut done = self.shared.called_back.subscribe();
        let waited = tokio::time::timeout(timeout, done.wait_for(|&seen| seen >= n))
            .await
            .map(|reached| reached.is_ok());
        match waited {
            Ok(true) => Ok(self.journal()),
            // As in `wait_for_requests`: the sender cannot be closed while `self` lives.
            Ok(false) | Err(_) => {
                let seen = self.shared.lock().callbacks_done;
                Err(self.timed_out("callbacks", n, seen, timeout))
            }
        }
    }

    fn timed_out(&self, what: &str, wanted: usize, seen: usize, timeout: Duration) -> Error {
        Error::wait_timed_out(what, wanted, seen, timeout)
            .in_scenario(self.shared.name.clone())
            .with_seed(self.seed())
    }
}

impl fmt::Debug for MockNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockNet")
            .field("addr", &self.addr)
            .field("scenario", &self.shared.name)
            .field("seed", &self.seed())
            .finish()
    }
}

impl Drop for MockNet {
    /// Stops the server. Panics (unless already panicking) when a mock's expectation is not
    /// met, or in fail-fast mode when a request matched no route and no assertion reported it
    /// yet.
    fn drop(&mut self) {
        self.stop();
        let callbacks = std::mem::take(&mut self.shared.lock().callbacks);
        drop(callbacks);
        let failures = std::mem::take(&mut self.shared.lock().unmatched_failures);
        let expectations = self.shared.expectation_report(None);
        // The runtime of `start_blocking` ends before any panic, so its thread never outlives
        // the server.
        drop(self.background.take());
        if std::thread::panicking() {
            return;
        }
        if let Some(first) = failures.first() {
            panic!("{}\n{}", first.body(), self.shared.reproduce());
        }
        if let Some(report) = expectations {
            panic!("{report}");
        }
    }
}
