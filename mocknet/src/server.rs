//! The mock server: an HTTP/1.1 listener on 127.0.0.1 that runs on the caller's tokio runtime.

use std::fmt::{self, Write as _};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use steadfast_determinism::{DetRng, Seed, TestContext};
use steadfast_tracing_core::span::Span;
use steadfast_tracing_core::{IdGenerator, TraceParent};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use wiremock::{Match, Request};

use crate::callback::{self, Callback, CallbackRecord};
use crate::error::{Error, ErrorKind};
use crate::fault::{self, Effect, Plan};
use crate::http1::{self, RawRequest, ReadError};
use crate::journal::{self, JournalEntry};
use crate::otlp;
use crate::scenario::{Response, Scenario};

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
/// # Example
///
/// ```
/// use std::time::Duration;
/// use steadfast_determinism::{TestContext, deterministic_test};
/// use steadfast_mocknet::{Catalog, MockNet};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// #[deterministic_test]
/// async fn three_seconds_of_latency_take_three_virtual_seconds(_ctx: &TestContext) {
///     let catalog = Catalog::from_json("c.json", r#"{"scenarios": {"slow-health": {"routes": [
///         {"name": "health", "path": "/health", "response": {"text": "ok"},
///          "faults": [{"kind": "latency", "ms": 3000}]}]}}}"#).unwrap();
///     let net = MockNet::start(catalog.scenario("slow-health").unwrap()).await.unwrap();
///
///     let started = tokio::time::Instant::now();
///     let mut stream = tokio::net::TcpStream::connect(net.addr()).await.unwrap();
///     stream.write_all(b"GET /health HTTP/1.1\r\nconnection: close\r\n\r\n").await.unwrap();
///     let mut response = String::new();
///     stream.read_to_string(&mut response).await.unwrap();
///
///     assert!(response.ends_with("\r\n\r\nok"));
///     assert_eq!(started.elapsed(), Duration::from_secs(3));
///     net.assert_called("health", 1);
/// }
/// # fn main() {}
/// ```
pub struct MockNet {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

/// Configures a [`MockNet`] before it starts.
#[must_use = "a builder does nothing until `start` is awaited"]
#[derive(Debug)]
pub struct MockNetBuilder {
    scenario: Scenario,
    seed: Option<Seed>,
    fail_on_unmatched: bool,
    otlp_collector: bool,
    callback_base: Option<String>,
}

/// The route name the OTLP collector's requests are journaled under.
pub const OTLP_COLLECTOR_ROUTE: &str = "otlp-collector";

struct Shared {
    scenario: Scenario,
    matchers: Vec<Vec<Box<dyn Match>>>,
    rng: DetRng,
    started: tokio::time::Instant,
    fail_on_unmatched: bool,
    otlp_collector: bool,
    callback_base: Option<url::Url>,
    state: Mutex<State>,
    arrived: watch::Sender<usize>,
    /// How many callbacks have finished (with a status or an error).
    called_back: watch::Sender<usize>,
}

struct State {
    current: String,
    calls: Vec<usize>,
    journal: Vec<JournalEntry>,
    unmatched_failures: Vec<String>,
    spans: Vec<Span>,
    /// Callbacks waiting or in flight; dropping the set (with the server) aborts them.
    callbacks: JoinSet<()>,
    callbacks_done: usize,
}

/// What to send back for one request, decided under the lock and carried out after it.
struct Reply {
    plan: Plan,
    response: Response,
    rng: DetRng,
    callback: Option<PendingCallback>,
}

/// A route's callback, to be sent once its response is out.
struct PendingCallback {
    /// The journal entry of the request it answers.
    index: usize,
    callback: Callback,
    url: url::Url,
    traceparent: Option<TraceParent>,
}

impl MockNet {
    /// Starts a server for `scenario` with the default settings; see [`builder`](Self::builder).
    ///
    /// # Errors
    ///
    /// As [`MockNetBuilder::start`].
    pub async fn start(scenario: Scenario) -> Result<MockNet, Error> {
        MockNet::builder(scenario).start().await
    }

    /// A builder for a server serving `scenario`.
    pub fn builder(scenario: Scenario) -> MockNetBuilder {
        MockNetBuilder {
            scenario,
            seed: None,
            fail_on_unmatched: false,
            otlp_collector: false,
            callback_base: None,
        }
    }

    /// The server's address on 127.0.0.1.
    pub fn addr(&self) -> SocketAddr {
        self.addr
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

    /// Waits until at least `n` requests have arrived, on tokio's clock, and returns the journal.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::WaitTimedOut`] when `timeout` passes first.
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
    /// let net = MockNet::builder(catalog.scenario("up")?).seed(Seed::new(1)).start().await?;
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
            Ok(false) | Err(_) => Err(Error::new(ErrorKind::WaitTimedOut {
                what: "requests",
                wanted: n,
                seen: self.shared.lock().journal.len(),
                timeout,
            })),
        }
    }

    /// Waits until at least `n` callbacks have finished (with the receiver's status or an
    /// error), on tokio's clock, and returns the journal, whose entries then hold their
    /// [`callback`](JournalEntry::callback) records.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::WaitTimedOut`] when `timeout` passes first.
    ///
    /// # Example
    ///
    /// See [`CallbackRecord`].
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
            Ok(false) | Err(_) => Err(Error::new(ErrorKind::WaitTimedOut {
                what: "callbacks",
                wanted: n,
                seen: self.shared.lock().callbacks_done,
                timeout,
            })),
        }
    }

    /// Asserts that route `route` matched exactly `times` requests.
    ///
    /// # Panics
    ///
    /// When the count differs, printing the journal and the seed.
    ///
    /// # Example
    ///
    /// ```should_panic
    /// use std::time::Duration;
    /// use steadfast_determinism::Seed;
    /// use steadfast_mocknet::{Catalog, MockNet};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let catalog = Catalog::from_json("c.json", r#"{"scenarios": {"up": {"routes": [
    ///     {"name": "health", "path": "/health", "response": {"text": "ok"}}]}}}"#)?;
    /// let net = MockNet::builder(catalog.scenario("up")?).seed(Seed::new(1)).start().await?;
    /// reqwest::get(format!("{}/health", net.uri())).await?;
    ///
    /// net.assert_called("health", 1);
    /// net.assert_called("health", 2); // panics: called 1 times, expected 2
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[track_caller]
    pub fn assert_called(&self, route: &str, times: usize) {
        self.check_fail_fast();
        let journal = self.journal();
        let actual = journal
            .iter()
            .filter(|entry| entry.route.as_deref() == Some(route))
            .count();
        if actual != times && !std::thread::panicking() {
            let scenario = &self.shared.scenario;
            let known = scenario.route_names().any(|name| name == route)
                || (self.shared.otlp_collector && route == OTLP_COLLECTOR_ROUTE);
            let hint = if known {
                String::new()
            } else {
                format!(
                    "; the scenario has no such route, only: {}",
                    scenario.route_names().collect::<Vec<_>>().join(", ")
                )
            };
            panic!(
                "steadfast: route `{route}` of scenario `{}` was called {actual} times, expected {times} \
                 (seed {}){hint}\njournal:\n{}",
                scenario.name,
                self.seed(),
                journal::render(&journal)
            );
        }
    }

    /// Asserts that every request matched a route.
    ///
    /// # Panics
    ///
    /// When a request matched none, listing the unmatched requests and the journal.
    #[track_caller]
    pub fn assert_no_unmatched(&self) {
        self.check_fail_fast();
        let journal = self.journal();
        let unmatched: Vec<_> = journal
            .iter()
            .filter(|entry| entry.route.is_none())
            .cloned()
            .collect();
        if !unmatched.is_empty() && !std::thread::panicking() {
            panic!(
                "steadfast: {} requests matched no route of scenario `{}`:\n{}\njournal:\n{}",
                unmatched.len(),
                self.shared.scenario.name,
                journal::render(&unmatched),
                journal::render(&journal)
            );
        }
    }

    /// Asserts that every request carried a valid `traceparent` of one trace, each with a
    /// distinct parent id (each request was sent from its own span).
    ///
    /// # Panics
    ///
    /// When there were no requests, a request had no valid `traceparent`, requests belong to
    /// different traces, or two requests share a parent id.
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
    /// let net = MockNet::builder(catalog.scenario("up")?).seed(Seed::new(1)).start().await?;
    /// let client = reqwest::Client::new();
    /// for parent in ["00f067aa0ba902b7", "b7ad6b7169203331"] {
    ///     client
    ///         .get(format!("{}/health", net.uri()))
    ///         .header("traceparent", format!("00-0af7651916cd43dd8448eb211c80319c-{parent}-01"))
    ///         .send()
    ///         .await?;
    /// }
    ///
    /// net.assert_trace_propagated();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[track_caller]
    pub fn assert_trace_propagated(&self) {
        let journal = self.journal();
        if let Err(problem) = trace_problem(&journal)
            && !std::thread::panicking()
        {
            panic!(
                "steadfast: trace context was not propagated in scenario `{}`: {problem}\njournal:\n{}",
                self.shared.scenario.name,
                journal::render(&journal)
            );
        }
    }

    #[track_caller]
    fn check_fail_fast(&self) {
        let failures = self.shared.lock().unmatched_failures.clone();
        if let Some(first) = failures.first()
            && !std::thread::panicking()
        {
            panic!("{first}");
        }
    }
}

fn trace_problem(journal: &[JournalEntry]) -> Result<(), String> {
    let Some(first) = journal.first() else {
        return Err("no requests were received".into());
    };
    let mut trace_id = None;
    let mut parents = std::collections::HashMap::new();
    for entry in journal {
        let Some(parent) = &entry.traceparent else {
            return Err(match entry.header("traceparent") {
                Some(value) => format!(
                    "request #{} has an invalid traceparent {value:?}",
                    entry.index
                ),
                None => format!("request #{} has no traceparent", entry.index),
            });
        };
        let expected = *trace_id.get_or_insert(parent.trace_id());
        if parent.trace_id() != expected {
            return Err(format!(
                "request #{} belongs to trace {} but request #{} to trace {expected}",
                entry.index,
                parent.trace_id(),
                first.index
            ));
        }
        if let Some(earlier) = parents.insert(parent.parent_id(), entry.index) {
            return Err(format!(
                "requests #{earlier} and #{} share the parent id {}",
                entry.index,
                parent.parent_id()
            ));
        }
    }
    Ok(())
}

impl fmt::Debug for MockNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockNet")
            .field("addr", &self.addr)
            .field("scenario", &self.shared.scenario.name)
            .field("seed", &self.seed())
            .finish()
    }
}

impl Drop for MockNet {
    /// Stops the server. In fail-fast mode, panics (unless already panicking) when a request
    /// matched no route and no assertion reported it yet.
    fn drop(&mut self) {
        self.accept.abort();
        let callbacks = std::mem::take(&mut self.shared.lock().callbacks);
        drop(callbacks);
        let failures = std::mem::take(&mut self.shared.lock().unmatched_failures);
        if let Some(first) = failures.first()
            && !std::thread::panicking()
        {
            panic!("{first}");
        }
    }
}

impl MockNetBuilder {
    /// Draws faults from `seed` instead of the running test's RNG.
    pub fn seed(mut self, seed: impl Into<Seed>) -> Self {
        self.seed = Some(seed.into());
        self
    }

    /// Fail fast: an unmatched request gets a 404 and makes the next assertion (or dropping the
    /// server) panic with the request and the nearest routes. Off by default; without it,
    /// check with [`MockNet::assert_no_unmatched`].
    ///
    /// # Example
    ///
    /// ```should_panic
    /// use std::time::Duration;
    /// use steadfast_determinism::Seed;
    /// use steadfast_mocknet::{Catalog, MockNet};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let catalog = Catalog::from_json("c.json", r#"{"scenarios": {"up": {"routes": [
    ///     {"name": "health", "path": "/health", "response": {"text": "ok"}}]}}}"#)?;
    /// let net = MockNet::builder(catalog.scenario("up")?)
    ///     .seed(Seed::new(1))
    ///     .fail_on_unmatched(true)
    ///     .start()
    ///     .await?;
    /// let response = reqwest::get(format!("{}/healthz", net.uri())).await?;
    /// assert_eq!(response.status(), 404);
    /// drop(net); // panics: GET /healthz matched no route …; nearest routes: health …
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fail_on_unmatched(mut self, yes: bool) -> Self {
        self.fail_on_unmatched = yes;
        self
    }

    /// Serves an OTLP/HTTP JSON collector at `POST /v1/traces` before the scenario's routes:
    /// exported spans are decoded into steadfast-tracing-core [`Span`]s, kept in
    /// [`MockNet::spans`], and answered with `200 {}` (or `400` saying what could not be
    /// decoded, and where). The collector is an observer: faults never apply to it. Its requests
    /// are journaled under the route name [`OTLP_COLLECTOR_ROUTE`]. Off by default.
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
    /// let net = MockNet::builder(catalog.scenario("up")?)
    ///     .seed(Seed::new(1))
    ///     .otlp_collector(true)
    ///     .start()
    ///     .await?;
    /// let export = r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{
    ///     "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
    ///     "name": "GET /health", "kind": 2}]}]}]}"#;
    /// reqwest::Client::new()
    ///     .post(format!("{}/v1/traces", net.uri()))
    ///     .body(export)
    ///     .send()
    ///     .await?;
    ///
    /// let spans = net.spans();
    /// assert_eq!(spans[0].name, "GET /health");
    /// assert_eq!(spans[0].trace_id.to_string(), "0af7651916cd43dd8448eb211c80319c");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn otlp_collector(mut self, yes: bool) -> Self {
        self.otlp_collector = yes;
        self
    }

    /// The base URL that relative callback URLs of the scenario's routes (such as
    /// `"/webhooks/charge"`) resolve against, typically the `uri()` of a second `MockNet`
    /// receiving the webhooks. It must be a loopback `http://` URL. None by default.
    ///
    /// # Example
    ///
    /// See [`CallbackRecord`].
    pub fn callback_base(mut self, base: impl Into<String>) -> Self {
        self.callback_base = Some(base.into());
        self
    }

    /// Binds 127.0.0.1 on a free port and starts serving on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NoSeed`] outside a deterministic test without [`seed`](Self::seed);
    /// [`ErrorKind::CallbackBase`] when the callback base is not a loopback `http://` URL, or a
    /// route has a relative callback URL and there is no base;
    /// [`ErrorKind::Bind`] when no loopback port can be bound.
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime (as `tokio::spawn` does).
    pub async fn start(self) -> Result<MockNet, Error> {
        let rng = match self.seed {
            Some(seed) => DetRng::from_seed(seed),
            None => TestContext::try_current()
                .map(|ctx| ctx.fork_rng("mocknet"))
                .ok_or_else(|| Error::new(ErrorKind::NoSeed))?,
        };
        let callback_base = match &self.callback_base {
            Some(base) => Some(callback::loopback_url(base).map_err(|message| {
                Error::new(ErrorKind::CallbackBase {
                    base: Some(base.clone()),
                    message,
                })
            })?),
            None => None,
        };
        let unresolved = self.scenario.routes.iter().find(|route| {
            route
                .callback
                .as_ref()
                .is_some_and(|cb| cb.target.resolve(callback_base.as_ref()).is_none())
        });
        if let Some(route) = unresolved {
            return Err(Error::new(ErrorKind::CallbackBase {
                base: None,
                message: format!(
                    "route `{}` of scenario `{}` has a relative callback URL; \
                     give one with MockNetBuilder::callback_base",
                    route.name, self.scenario.name
                ),
            }));
        }
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|err| Error::io(ErrorKind::Bind, err))?;
        let addr = listener
            .local_addr()
            .map_err(|err| Error::io(ErrorKind::Bind, err))?;
        let matchers = self
            .scenario
            .routes
            .iter()
            .map(|route| route.matchers.iter().map(|spec| spec.build()).collect())
            .collect();
        let state = State {
            current: self.scenario.initial_state.clone(),
            calls: vec![0; self.scenario.routes.len()],
            journal: Vec::new(),
            unmatched_failures: Vec::new(),
            spans: Vec::new(),
            callbacks: JoinSet::new(),
            callbacks_done: 0,
        };
        let shared = Arc::new(Shared {
            scenario: self.scenario,
            matchers,
            rng,
            started: tokio::time::Instant::now(),
            fail_on_unmatched: self.fail_on_unmatched,
            otlp_collector: self.otlp_collector,
            callback_base,
            state: Mutex::new(state),
            arrived: watch::Sender::new(0),
            called_back: watch::Sender::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(MockNet {
            addr,
            shared,
            accept,
        })
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    // Dropping the set (when the accept task is aborted) aborts every connection with it.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                // A failed accept (out of descriptors, a connection reset while queued) only
                // loses that connection.
                if let Ok((stream, _)) = accepted {
                    // Small responses must not wait for Nagle's algorithm.
                    let _ = stream.set_nodelay(true);
                    connections.spawn(serve(stream, Arc::clone(&shared)));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let raw = match http1::read_request(&mut stream, &mut buf).await {
            Ok(raw) => raw,
            Err(ReadError::Closed | ReadError::Io) => return,
            Err(ReadError::Bad(why)) => {
                let mut out = http1::response_head(400, [], why.len(), true);
                out.extend_from_slice(why.as_bytes());
                let _ = stream.write_all(&out).await;
                return;
            }
        };
        let close = raw.close;
        // A response to HEAD has the head of the GET response and no body.
        let head_only = raw.method == "HEAD";
        let mut reply = shared.handle(raw);
        let callback = reply.callback.take();
        let sent = send(&mut stream, reply, close, head_only).await;
        // `handle` only plans a callback when the route's own response goes out unbroken.
        if let (Some(callback), Ok(_)) = (callback, &sent) {
            shared.spawn_callback(callback);
        }
        match sent {
            Ok(true) if !close => {}
            _ => return,
        }
    }
}

/// Writes the reply; `Ok(true)` when the connection can serve another request.
async fn send(
    stream: &mut TcpStream,
    reply: Reply,
    close: bool,
    head_only: bool,
) -> std::io::Result<bool> {
    let Reply {
        plan,
        response,
        mut rng,
        callback: _,
    } = reply;
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    let headers = || {
        response
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
    };
    match plan.outcome {
        Some(Effect::Hang) => std::future::pending().await,
        Some(Effect::Reset) => {
            // SO_LINGER 0 turns the close into an abortive one: the kernel sends RST.
            socket2::SockRef::from(&*stream).set_linger(Some(Duration::ZERO))?;
            Ok(false)
        }
        Some(Effect::Empty) => {
            stream.shutdown().await?;
            Ok(false)
        }
        Some(Effect::Malformed) => {
            let mut garbage = [0u8; 48];
            rng.fill_bytes(&mut garbage);
            // A first byte of 0 can never start a status line.
            garbage[0] = 0;
            stream.write_all(&garbage).await?;
            stream.shutdown().await?;
            Ok(false)
        }
        Some(Effect::Truncated) => {
            let promised = response.body.len().max(1);
            let mut out = http1::response_head(response.status, headers(), promised, false);
            out.extend_from_slice(&response.body[..response.body.len() / 2]);
            stream.write_all(&out).await?;
            stream.shutdown().await?;
            Ok(false)
        }
        Some(Effect::Status {
            status,
            retry_after,
        }) => {
            let retry_after = retry_after.map(|seconds| seconds.to_string());
            let extra = retry_after
                .as_deref()
                .map(|value| ("retry-after", value.as_bytes()));
            let out = http1::response_head(status, extra, 0, close);
            stream.write_all(&out).await?;
            Ok(true)
        }
        _ => {
            let head = http1::response_head(response.status, headers(), response.body.len(), close);
            let body = if head_only { &[][..] } else { &response.body };
            write_body(stream, head, body, &plan).await?;
            Ok(true)
        }
    }
}

/// Writes head and body, pacing the body by the dribble and bandwidth faults of the plan.
async fn write_body(
    stream: &mut TcpStream,
    mut head: Vec<u8>,
    body: &[u8],
    plan: &Plan,
) -> std::io::Result<()> {
    if plan.dribble.is_none() && plan.bandwidth.is_none() {
        head.extend_from_slice(body);
        return stream.write_all(&head).await;
    }
    stream.write_all(&head).await?;
    // Bandwidth alone sends a twentieth of a second's worth of bytes at a time.
    let chunk = match (plan.dribble, plan.bandwidth) {
        (Some((chunk, _)), _) => chunk,
        (None, Some(rate)) => usize::try_from(rate / 20).unwrap_or(usize::MAX).max(1),
        (None, None) => body.len().max(1),
    };
    let mut chunks = body.chunks(chunk).peekable();
    while let Some(piece) = chunks.next() {
        stream.write_all(piece).await?;
        if chunks.peek().is_none() {
            break;
        }
        let interval = plan
            .dribble
            .map(|(_, interval)| interval)
            .unwrap_or_default();
        let paced = plan
            .bandwidth
            .map(|rate| Duration::from_secs_f64(piece.len() as f64 / rate as f64))
            .unwrap_or_default();
        tokio::time::sleep(interval.max(paced)).await;
    }
    Ok(())
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Matches, journals and plans the reply to one request.
    fn handle(&self, raw: RawRequest) -> Reply {
        let at = self.started.elapsed();
        let request = to_wiremock(&raw);
        let traceparent = raw
            .headers
            .iter()
            .find(|(name, _)| name == "traceparent")
            .and_then(|(_, value)| TraceParent::parse(value).ok());
        let mut state = self.lock();
        let index = state.journal.len();
        let mut rng = self.rng.fork(&format!("request {index}"));
        let collected =
            (self.otlp_collector && raw.method == "POST" && request.url.path() == "/v1/traces")
                .then(|| otlp::decode(&raw.body));
        let matched = self
            .scenario
            .routes
            .iter()
            .enumerate()
            .position(|(i, route)| {
                route
                    .when_state
                    .as_ref()
                    .is_none_or(|wanted| *wanted == state.current)
                    && self.matchers[i]
                        .iter()
                        .all(|matcher| matcher.matches(&request))
            });
        let mut callback = None;
        let (route_name, response, plan) = match (collected, matched) {
            (Some(decoded), _) => {
                let response = match decoded {
                    Ok(spans) => {
                        state.spans.extend(spans);
                        text_response(200, "application/json", "{}".into())
                    }
                    Err(message) => text_response(
                        400,
                        "text/plain; charset=utf-8",
                        format!("invalid OTLP JSON export: {message}"),
                    ),
                };
                (
                    Some(OTLP_COLLECTOR_ROUTE.to_string()),
                    response,
                    Plan::default(),
                )
            }
            (None, Some(i)) => {
                let route = &self.scenario.routes[i];
                let call = state.calls[i];
                state.calls[i] += 1;
                if let Some(next) = &route.set_state {
                    state.current = next.clone();
                }
                let response = route.responses[call.min(route.responses.len() - 1)].clone();
                let plan = fault::plan(route.faults.iter().chain(&self.scenario.faults), &mut rng);
                // A fault that replaces or breaks the response also keeps the callback back.
                if plan.outcome.is_none() {
                    callback = route
                        .callback
                        .as_ref()
                        .and_then(|cb| self.pending_callback(index, cb, traceparent));
                }
                (Some(route.name.clone()), response, plan)
            }
            (None, None) => {
                let message = self.unmatched_message(&raw, &request, &state.current);
                if self.fail_on_unmatched {
                    state.unmatched_failures.push(message.clone());
                }
                let response = text_response(404, "text/plain; charset=utf-8", message);
                let plan = fault::plan(&self.scenario.faults, &mut rng);
                (None, response, plan)
            }
        };
        let status = match &plan.outcome {
            None => Some(response.status),
            Some(Effect::Status { status, .. }) => Some(*status),
            // The truncated response has its status line; the others never get one.
            Some(Effect::Truncated) => Some(response.status),
            Some(_) => None,
        };
        let (path, query) = match raw.target.split_once('?') {
            Some((path, query)) => (path.to_string(), Some(query.to_string())),
            None => (raw.target.clone(), None),
        };
        state.journal.push(JournalEntry {
            index,
            method: raw.method,
            path,
            query,
            headers: raw.headers,
            body: raw.body,
            at,
            route: route_name,
            faults: plan.applied.clone(),
            status,
            traceparent,
            callback: None,
        });
        let arrived = state.journal.len();
        drop(state);
        self.arrived.send_replace(arrived);
        Reply {
            plan,
            response,
            rng,
            callback,
        }
    }

    /// Resolves a route's callback for request `index`, continuing the request's trace with a
    /// span id from the request's own stream of the seed.
    fn pending_callback(
        &self,
        index: usize,
        callback: &Callback,
        incoming: Option<TraceParent>,
    ) -> Option<PendingCallback> {
        // `start` checked that every target resolves.
        let url = callback.target.resolve(self.callback_base.as_ref())?;
        let traceparent = incoming.and_then(|parent| {
            let mut rng = self.rng.fork(&format!("request {index} callback"));
            let mut ids = IdGenerator::new(move || rng.next_u64());
            TraceParent::new(parent.trace_id(), ids.span_id(), parent.flags()).ok()
        });
        Some(PendingCallback {
            index,
            callback: callback.clone(),
            url,
            traceparent,
        })
    }

    /// Sends a callback from a task on the server's runtime and records its outcome.
    fn spawn_callback(self: &Arc<Self>, pending: PendingCallback) {
        let shared = Arc::clone(self);
        let task = async move {
            let PendingCallback {
                index,
                callback,
                url,
                traceparent,
            } = pending;
            if !callback.delay.is_zero() {
                tokio::time::sleep(callback.delay).await;
            }
            let at = shared.started.elapsed();
            let outcome = callback::send(&callback, &url, traceparent).await;
            let (status, error) = match outcome {
                Ok(status) => (Some(status), None),
                Err(error) => (None, Some(error)),
            };
            let record = CallbackRecord {
                method: callback.method.to_string(),
                url: url.to_string(),
                at,
                traceparent,
                status,
                error,
            };
            let done = {
                let mut state = shared.lock();
                if let Some(entry) = state.journal.get_mut(index) {
                    entry.callback = Some(record);
                }
                state.callbacks_done += 1;
                state.callbacks_done
            };
            shared.called_back.send_replace(done);
        };
        let mut state = self.lock();
        // Reap finished callbacks so the set holds only live ones.
        while state.callbacks.try_join_next().is_some() {}
        state.callbacks.spawn(task);
    }

    /// Says which request matched nothing and which routes came nearest.
    fn unmatched_message(&self, raw: &RawRequest, request: &Request, current: &str) -> String {
        let mut nearest: Vec<(usize, usize)> = self
            .matchers
            .iter()
            .enumerate()
            .map(|(i, matchers)| (i, matchers.iter().filter(|m| m.matches(request)).count()))
            .collect();
        // Most matchers satisfied first; ties keep catalog order.
        nearest.sort_by_key(|&(i, hits)| (std::cmp::Reverse(hits), i));
        let mut message = format!(
            "steadfast: {} {} matched no route of scenario `{}` in state `{current}` (seed {}); nearest routes:",
            raw.method,
            raw.target,
            self.scenario.name,
            self.rng.seed()
        );
        for &(i, hits) in nearest.iter().take(3) {
            let route = &self.scenario.routes[i];
            let differs: Vec<String> = route
                .matchers
                .iter()
                .zip(&self.matchers[i])
                .filter(|(_, matcher)| !matcher.matches(request))
                .map(|(spec, _)| spec.to_string())
                .collect();
            let _ = write!(
                message,
                "\n  {}: {hits} of {} matchers hold",
                route.name,
                route.matchers.len()
            );
            if !differs.is_empty() {
                let _ = write!(message, "; wants {}", differs.join(", "));
            }
            if let Some(wanted) = route
                .when_state
                .as_ref()
                .filter(|wanted| *wanted != current)
            {
                let _ = write!(message, "; only in state `{wanted}`");
            }
        }
        if nearest.is_empty() {
            message.push_str(" (the scenario has no routes)");
        }
        message
    }
}

fn text_response(status: u16, content_type: &'static str, body: String) -> Response {
    Response {
        status,
        headers: vec![(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        )],
        body: body.into_bytes(),
    }
}

/// Builds wiremock's request type so its matchers apply unchanged.
fn to_wiremock(raw: &RawRequest) -> Request {
    // An absolute-form target keeps its own authority; an origin-form one gets a placeholder.
    let url = if raw.target.starts_with('/') {
        url::Url::parse(&format!("http://localhost{}", raw.target))
    } else {
        url::Url::parse(&raw.target)
    };
    // A target that is not a URL (`*`, garbage) can only match path-agnostic routes.
    let url = url.unwrap_or_else(|_| localhost_root());
    let mut headers = HeaderMap::with_capacity(raw.headers.len());
    for (name, value) in &raw.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    Request {
        url,
        method: Method::from_bytes(raw.method.as_bytes()).unwrap_or(Method::GET),
        headers,
        body: raw.body.clone(),
    }
}

fn localhost_root() -> url::Url {
    // OK because the literal is a valid URL; `Url` has no const constructor.
    url::Url::parse("http://localhost/").expect("a valid literal URL")
}
