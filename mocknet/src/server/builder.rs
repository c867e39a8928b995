//! Configuring and starting a [`MockNet`].

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use steadfast_determinism::{DetRng, Seed, TestContext};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::connection::accept_loop;
use super::{Background, BuiltMatchers, MockNet, SeedOrigin, Shared, State};
use crate::callback;
use crate::error::{Error, ErrorKind};
use crate::scenario::Scenario;

/// Configures a [`MockNet`] before it starts.
#[must_use = "a builder does nothing until `start` is awaited"]
#[derive(Debug)]
pub struct MockNetBuilder {
    pub(super) scenario: Option<Scenario>,
    pub(super) seed: Option<Seed>,
    /// Outside a test context without a seed, use the fixed seed 0 instead of failing.
    pub(super) fixed_seed_fallback: bool,
    pub(super) fail_on_unmatched: bool,
    pub(super) request_timeout: Option<std::time::Duration>,
    pub(super) otlp_collector: bool,
    pub(super) callback_base: Option<String>,
}

impl MockNetBuilder {
    /// Serves the routes of `scenario` (from a [`Catalog`](crate::Catalog)), before any mock
    /// mounted later. Without one the server starts empty, as wiremock's does.
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.scenario = Some(scenario);
        self
    }

    /// Draws faults from `seed` instead of the running test's RNG.
    pub fn seed(mut self, seed: impl Into<Seed>) -> Self {
        self.seed = Some(seed.into());
        self
    }

    /// Fail fast: an unmatched request gets a 404 and makes the next assertion panic (or check
    /// fail), or else dropping the server panic, with the request and the nearest routes; once
    /// reported it is not reported again. Off by default; without it, check with
    /// [`MockNet::assert_no_unmatched`].
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
    /// let net = MockNet::builder().scenario(catalog.scenario("up")?)
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

    /// Closes a connection that has not delivered a whole request within `timeout` of
    /// connecting or of its previous response, so slow or idle clients (slowloris) cannot hold
    /// the server's connections: a connection that sent part of a request is answered `408`,
    /// an idle keep-alive one is closed. The timeout runs on the server's runtime clock, so on
    /// a paused clock it is virtual time and fires whenever the runtime idles that long. None
    /// by default: a connection may wait for its request as long as it likes.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast_mocknet::MockNet;
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let net = MockNet::builder()
    ///     .seed(1)
    ///     .request_timeout(Duration::from_secs(10))
    ///     .start()
    ///     .await?;
    /// let mut slow = tokio::net::TcpStream::connect(net.address()).await?;
    /// slow.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n").await?; // and never the rest
    /// let started = tokio::time::Instant::now();
    /// let mut answer = String::new();
    /// slow.read_to_string(&mut answer).await?;
    ///
    /// assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    /// assert_eq!(started.elapsed(), Duration::from_secs(10));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Serves an OTLP/HTTP JSON collector at `POST /v1/traces` and `POST /v1/metrics` before the
    /// scenario's routes: exported spans are decoded into steadfast-tracing-core
    /// [`Span`](steadfast_tracing_core::span::Span)s and kept in [`MockNet::spans`], exported
    /// metrics into [`Metric`](steadfast_tracing_core::otlp_metrics::Metric)s kept in
    /// [`MockNet::metrics`]; each export is answered with `200 {}` (or `400` saying what could
    /// not be decoded, and where). The collector is an observer: faults never apply to it. Its requests
    /// are journaled under the route name [`OTLP_COLLECTOR_ROUTE`](super::OTLP_COLLECTOR_ROUTE). Off by default.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast_determinism::Seed;
    /// use steadfast_mocknet::{Catalog, MockNet};
    /// use steadfast_tracing_core::otlp_metrics::{MetricData, Number};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let catalog = Catalog::from_json("c.json", r#"{"scenarios": {"up": {"routes": [
    ///     {"name": "health", "path": "/health", "response": {"text": "ok"}}]}}}"#)?;
    /// let net = MockNet::builder().scenario(catalog.scenario("up")?)
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
    ///
    /// let export = r#"{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{
    ///     "name": "requests", "sum": {"aggregationTemporality": 2, "isMonotonic": true,
    ///     "dataPoints": [{"asInt": "3", "timeUnixNano": "1700000000000000000"}]}}]}]}]}"#;
    /// reqwest::Client::new()
    ///     .post(format!("{}/v1/metrics", net.uri()))
    ///     .body(export)
    ///     .send()
    ///     .await?;
    ///
    /// let metrics = net.metrics();
    /// assert_eq!(metrics[0].name, "requests");
    /// let MetricData::Sum { points, .. } = &metrics[0].data else { panic!("a sum") };
    /// assert_eq!(points[0].value, Number::Int(3));
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
    /// See [`CallbackRecord`](crate::CallbackRecord).
    pub fn callback_base(mut self, base: impl Into<String>) -> Self {
        self.callback_base = Some(base.into());
        self
    }

    /// Binds 127.0.0.1 on a free port and starts serving on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NoSeed`] outside a deterministic test without [`seed`](Self::seed) (the
    /// builder of [`MockNet::start`] falls back to the fixed seed 0 instead);
    /// [`ErrorKind::CallbackBase`] when the callback base is not a loopback `http://` URL, or a
    /// route has a relative callback URL and there is no base;
    /// [`ErrorKind::Bind`] when no loopback port can be bound (the cause is the I/O error).
    /// Each names the [scenario](Error::scenario).
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime (as `tokio::spawn` does).
    pub async fn start(mut self) -> Result<MockNet, Error> {
        let scenario = self.scenario.take().unwrap_or_else(Scenario::empty);
        let context = TestContext::try_current();
        let (rng, origin) = match (self.seed, context) {
            (Some(seed), _) => (DetRng::from_seed(seed), SeedOrigin::Explicit),
            (None, Some(ctx)) => {
                let origin = SeedOrigin::Test {
                    name: ctx.name().to_string(),
                    run_seed: ctx.run_seed(),
                };
                (ctx.fork_rng("mocknet"), origin)
            }
            (None, None) if self.fixed_seed_fallback => {
                (DetRng::from_seed(Seed::new(0)), SeedOrigin::Fixed)
            }
            (None, None) => {
                return Err(Error::new(ErrorKind::NoSeed).in_scenario(scenario.name.clone()));
            }
        };
        self.start_with(scenario, rng, origin).await
    }

    /// Starts the server on a runtime of its own, on a thread of its own, in real time, for a
    /// plain `#[test]` with a blocking client; mount mocks with
    /// [`Mock::mount_blocking`](crate::Mock::mount_blocking). Call it outside any runtime. The
    /// seed comes as for [`start`](Self::start), from the calling thread's test context.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start), and [`ErrorKind::Bind`] when the runtime or its thread
    /// cannot be made (the cause is the I/O error).
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_mocknet::{Mock, MockNet};
    /// use wiremock::matchers::path;
    /// use wiremock::ResponseTemplate;
    ///
    /// let net = MockNet::builder().seed(3).start_blocking()?;
    /// Mock::given(path("/health"))
    ///     .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
    ///     .expect(1)
    ///     .mount_blocking(&net)?;
    ///
    /// let mut stream = std::net::TcpStream::connect(net.addr())?;
    /// std::io::Write::write_all(&mut stream, b"GET /health HTTP/1.1\r\nconnection: close\r\n\r\n")?;
    /// let mut response = String::new();
    /// std::io::Read::read_to_string(&mut stream, &mut response)?;
    ///
    /// assert!(response.starts_with("HTTP/1.1 200 OK") && response.ends_with("ok"), "{response}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start_blocking(self) -> Result<MockNet, Error> {
        let name = self
            .scenario
            .as_ref()
            .map_or("mocks", |s| s.name.as_str())
            .to_string();
        let context = TestContext::try_current();
        let background = Background::spawn(context).map_err(|err| {
            Error::new(ErrorKind::Bind)
                .in_scenario(name)
                .with_source(err)
        })?;
        // `Handle::block_on` polls `start` on this thread, where the test context is, while
        // the runtime's own thread drives its I/O and timers.
        let mut net = background.handle().block_on(self.start())?;
        net.background = Some(background);
        Ok(net)
    }

    async fn start_with(
        self,
        scenario: Scenario,
        rng: DetRng,
        origin: SeedOrigin,
    ) -> Result<MockNet, Error> {
        let callback_base = match &self.callback_base {
            Some(base) => Some(callback::loopback_url(base).map_err(|message| {
                Error::new(ErrorKind::CallbackBase)
                    .in_scenario(scenario.name.clone())
                    .with_value(base.clone())
                    .with_detail(message)
            })?),
            None => None,
        };
        let unresolved = scenario.routes.iter().find(|route| {
            route
                .callback
                .as_ref()
                .is_some_and(|cb| cb.target.resolve(callback_base.as_ref()).is_none())
        });
        if let Some(route) = unresolved {
            return Err(Error::new(ErrorKind::CallbackBase)
                .in_scenario(scenario.name.clone())
                .in_route(Some(route.name.clone())));
        }
        let bind_failed = |err| {
            Error::new(ErrorKind::Bind)
                .in_scenario(scenario.name.clone())
                .with_source(err)
        };
        let listener = crate::listener::bind(([127, 0, 0, 1], 0).into()).map_err(bind_failed)?;
        let addr = listener.local_addr().map_err(bind_failed)?;
        let mut matchers = BuiltMatchers::default();
        for route in &scenario.routes {
            matchers.push(&route.matchers);
        }
        let mut state = State {
            current: scenario.initial_state.clone(),
            calls: vec![0; scenario.routes.len()],
            order: Vec::new(),
            retired: vec![false; scenario.routes.len()],
            close_on_accept: 0,
            catalog_routes: scenario.routes.len(),
            generation: 0,
            matchers,
            scenario,
            journal: Vec::new(),
            unmatched_failures: Vec::new(),
            spans: Vec::new(),
            metrics: Vec::new(),
            callbacks: JoinSet::new(),
            callbacks_done: 0,
        };
        let name = state.scenario.name.clone();
        state.reorder();
        let shared = Arc::new(Shared {
            name,
            rng,
            origin,
            started: tokio::time::Instant::now(),
            fail_on_unmatched: self.fail_on_unmatched,
            request_timeout: self.request_timeout,
            otlp_collector: self.otlp_collector,
            callback_base,
            state: Mutex::new(state),
            arrived: watch::Sender::new(0),
            called_back: watch::Sender::new(0),
            refuse_until: watch::Sender::new(None),
            stopped: AtomicBool::new(false),
            renderer: tokio::sync::OnceCell::new(),
        });
        let accept = tokio::spawn(accept_loop(listener, addr, Arc::clone(&shared)));
        Ok(MockNet {
            addr,
            shared,
            accept,
            background: None,
        })
    }
}
