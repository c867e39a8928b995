//! Configuring and starting a [`MockNet`].

use std::sync::{Arc, Mutex};

use steadfast_determinism::{DetRng, Seed, TestContext};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::connection::accept_loop;
use super::{MockNet, SeedOrigin, Shared, State};
use crate::callback;
use crate::error::{Error, ErrorKind};
use crate::scenario::Scenario;

/// Configures a [`MockNet`] before it starts.
#[must_use = "a builder does nothing until `start` is awaited"]
#[derive(Debug)]
pub struct MockNetBuilder {
    pub(super) scenario: Scenario,
    pub(super) seed: Option<Seed>,
    pub(super) fail_on_unmatched: bool,
    pub(super) otlp_collector: bool,
    pub(super) callback_base: Option<String>,
}

impl MockNetBuilder {
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
    /// exported spans are decoded into steadfast-tracing-core [`Span`](steadfast_tracing_core::span::Span)s, kept in
    /// [`MockNet::spans`], and answered with `200 {}` (or `400` saying what could not be
    /// decoded, and where). The collector is an observer: faults never apply to it. Its requests
    /// are journaled under the route name [`OTLP_COLLECTOR_ROUTE`](super::OTLP_COLLECTOR_ROUTE). Off by default.
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
    /// See [`CallbackRecord`](crate::CallbackRecord).
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
    /// [`ErrorKind::Bind`] when no loopback port can be bound (the cause is the I/O error).
    /// Each names the [scenario](Error::scenario).
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime (as `tokio::spawn` does).
    pub async fn start(self) -> Result<MockNet, Error> {
        let (rng, origin) = match self.seed {
            Some(seed) => (DetRng::from_seed(seed), SeedOrigin::Explicit),
            None => TestContext::try_current()
                .map(|ctx| {
                    let origin = SeedOrigin::Test {
                        name: ctx.name().to_string(),
                        run_seed: ctx.run_seed(),
                    };
                    (ctx.fork_rng("mocknet"), origin)
                })
                .ok_or_else(|| {
                    Error::new(ErrorKind::NoSeed).in_scenario(self.scenario.name.clone())
                })?,
        };
        let callback_base = match &self.callback_base {
            Some(base) => Some(callback::loopback_url(base).map_err(|message| {
                Error::new(ErrorKind::CallbackBase)
                    .in_scenario(self.scenario.name.clone())
                    .with_value(base.clone())
                    .with_detail(message)
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
            return Err(Error::new(ErrorKind::CallbackBase)
                .in_scenario(self.scenario.name.clone())
                .in_route(Some(route.name.clone())));
        }
        let bind_failed = |err| {
            Error::new(ErrorKind::Bind)
                .in_scenario(self.scenario.name.clone())
                .with_source(err)
        };
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(bind_failed)?;
        let addr = listener.local_addr().map_err(bind_failed)?;
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
            origin,
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
