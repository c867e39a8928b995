//! Scenarios: validated routes, responses, states and faults, ready to serve.
//!
//! Scenarios come from a [`Catalog`](crate::Catalog); [`Overlay`]s add faults to any of them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use serde_json::Value;
use wiremock::matchers;
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::callback::Callback;
use crate::error::{Error, ErrorKind};
use crate::fault::{Effect, Fault};
use crate::mock::Times;

/// A named scenario: ordered routes with responses, sequences, states and faults.
///
/// # Example
///
/// ```
/// use steadfast_mocknet::Catalog;
///
/// let catalog = Catalog::from_json("inline.json", r#"{"scenarios": {"up": {"routes": [
///     {"name": "health", "method": "GET", "path": "/health", "response": {"text": "ok"}}
/// ]}}}"#)?;
/// let scenario = catalog.scenario("up")?;
/// assert_eq!(scenario.name(), "up");
/// assert_eq!(scenario.route_names().collect::<Vec<_>>(), ["health"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub(crate) name: String,
    pub(crate) initial_state: String,
    pub(crate) routes: Vec<Route>,
    pub(crate) faults: Vec<Fault>,
}

/// Scenario-wide faults that can be added to any scenario, such as the built-in
/// `degraded-network`, `offline` and `slow`, or one defined in a catalog.
///
/// # Example
///
/// ```
/// use steadfast_mocknet::Catalog;
///
/// let catalog = Catalog::from_json("inline.json", r#"{"scenarios": {"up": {}}}"#)?;
/// let offline = catalog.scenario("up")?.with_overlay(&catalog.overlay("offline")?);
/// assert_eq!(offline.name(), "up+offline");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Overlay {
    pub(crate) name: String,
    pub(crate) faults: Vec<Fault>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Route {
    pub(crate) name: String,
    pub(crate) matchers: Vec<MatcherSpec>,
    pub(crate) when_state: Option<String>,
    pub(crate) set_state: Option<String>,
    /// Served in order; the last one repeats. Shared, so that a template mounted on many
    /// mocks and each reply that serves one copy nothing.
    pub(crate) responses: Vec<Arc<Response>>,
    pub(crate) faults: Vec<Fault>,
    /// The webhook sent after the route's response, if any.
    pub(crate) callback: Option<Callback>,
    /// After this many matches the route stops matching (wiremock's `up_to_n_times`).
    pub(crate) max_calls: Option<u64>,
    /// Lower numbers are tried first; ties keep their order (wiremock's `with_priority`).
    pub(crate) priority: u8,
    /// How many requests the route must match, checked when the server is verified.
    pub(crate) expect: Option<Times>,
    /// Per-call steps: the `n`-th matching request gets step `n` (the last repeats).
    pub(crate) sequence: Vec<Step>,
    /// A wiremock responder that answers instead of `responses`.
    pub(crate) responder: Option<Responder>,
}

/// The priority of a route that sets none, as in wiremock.
pub(crate) const DEFAULT_PRIORITY: u8 = 5;

/// One step of a route's sequence: faults for that call, and maybe its own response.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    pub(crate) faults: Vec<Fault>,
    pub(crate) response: Option<Arc<Response>>,
}

/// A `wiremock::Respond`, asked for a `ResponseTemplate` per request.
#[derive(Clone)]
pub(crate) struct Responder {
    pub(crate) respond: Arc<dyn Respond>,
    /// The responder's type, to name it in messages.
    pub(crate) type_name: &'static str,
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name)
    }
}

impl PartialEq for Responder {
    /// The same responder, not one that answers alike: a responder is code.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.respond, &other.respond)
    }
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.respond.respond(request)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Vec<u8>,
}

/// One request matcher of a route, kept as data so it can be built for mocknet and for
/// wiremock alike. Every value was validated at load time, so building never panics.
#[derive(Clone)]
pub(crate) enum MatcherSpec {
    Method(Method),
    Path(String),
    PathPrefix(String),
    PathRegex(regex::Regex),
    Header(HeaderName, HeaderValue),
    /// The header is present, with any value (a recorded secret).
    HeaderPresent(HeaderName),
    Query(String, String),
    BodyJson(Value),
    BodyPartialJson(Value),
    /// Any other `wiremock::Match`, kept as it is; it cannot be written as catalog JSON.
    Custom {
        matcher: Arc<dyn Match>,
        type_name: &'static str,
    },
}

impl fmt::Debug for MatcherSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl PartialEq for MatcherSpec {
    fn eq(&self, other: &Self) -> bool {
        use MatcherSpec as M;
        match (self, other) {
            (M::Method(a), M::Method(b)) => a == b,
            (M::Path(a), M::Path(b)) | (M::PathPrefix(a), M::PathPrefix(b)) => a == b,
            (M::PathRegex(a), M::PathRegex(b)) => a.as_str() == b.as_str(),
            (M::Header(n1, v1), M::Header(n2, v2)) => n1 == n2 && v1 == v2,
            (M::HeaderPresent(a), M::HeaderPresent(b)) => a == b,
            (M::Query(n1, v1), M::Query(n2, v2)) => n1 == n2 && v1 == v2,
            (M::BodyJson(a), M::BodyJson(b)) | (M::BodyPartialJson(a), M::BodyPartialJson(b)) => {
                a == b
            }
            (M::Custom { matcher: a, .. }, M::Custom { matcher: b, .. }) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl MatcherSpec {
    pub(crate) fn build(&self) -> Arc<dyn Match> {
        match self {
            MatcherSpec::Method(method) => Arc::new(matchers::method(method.as_str())),
            MatcherSpec::Path(path) => Arc::new(matchers::path(path.as_str())),
            MatcherSpec::PathPrefix(prefix) => Arc::new(PathPrefix(prefix.clone())),
            // The regex compiled at load time, so wiremock's constructor cannot panic here.
            MatcherSpec::PathRegex(regex) => Arc::new(matchers::path_regex(regex.as_str())),
            MatcherSpec::Header(name, value) => {
                Arc::new(matchers::header(name.clone(), value.clone()))
            }
            MatcherSpec::HeaderPresent(name) => Arc::new(matchers::header_exists(name.clone())),
            MatcherSpec::Query(name, value) => {
                Arc::new(matchers::query_param(name.as_str(), value.as_str()))
            }
            MatcherSpec::BodyJson(value) => Arc::new(matchers::body_json(value)),
            MatcherSpec::BodyPartialJson(value) => Arc::new(matchers::body_partial_json(value)),
            // Shared, not rebuilt: it is the user's own matcher.
            MatcherSpec::Custom { matcher, .. } => Arc::clone(matcher),
        }
    }
}

impl MatcherSpec {
    /// Where the matcher goes in the catalog's order of matchers (method, path, headers,
    /// present headers and query by name, body, then custom ones as given), so a route reads back equal.
    pub(crate) fn catalog_order(&self) -> (u8, &str) {
        match self {
            MatcherSpec::Method(_) => (0, ""),
            MatcherSpec::Path(_) | MatcherSpec::PathPrefix(_) | MatcherSpec::PathRegex(_) => {
                (1, "")
            }
            MatcherSpec::Header(name, _) => (2, name.as_str()),
            MatcherSpec::HeaderPresent(name) => (3, name.as_str()),
            MatcherSpec::Query(name, _) => (4, name.as_str()),
            MatcherSpec::BodyJson(_) | MatcherSpec::BodyPartialJson(_) => (5, ""),
            MatcherSpec::Custom { .. } => (6, ""),
        }
    }
}

impl fmt::Display for MatcherSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatcherSpec::Method(method) => write!(f, "method {method}"),
            MatcherSpec::Path(path) => write!(f, "path {path}"),
            MatcherSpec::PathPrefix(prefix) => write!(f, "path prefix {prefix}"),
            MatcherSpec::PathRegex(regex) => write!(f, "path regex {regex}"),
            MatcherSpec::Header(name, value) => write!(f, "header {name}: {value:?}"),
            MatcherSpec::HeaderPresent(name) => write!(f, "header {name} (any value)"),
            MatcherSpec::Query(name, value) => write!(f, "query {name}={value}"),
            MatcherSpec::BodyJson(value) => write!(f, "json body {value}"),
            MatcherSpec::BodyPartialJson(value) => write!(f, "json body containing {value}"),
            MatcherSpec::Custom { type_name, .. } => write!(f, "custom matcher {type_name}"),
        }
    }
}

/// Matches requests whose path starts with a prefix (wiremock has exact and regex only).
#[derive(Debug)]
struct PathPrefix(String);

impl Match for PathPrefix {
    fn matches(&self, request: &Request) -> bool {
        request.url.path().starts_with(&self.0)
    }
}

/// Lets a built matcher be handed to wiremock's `Mock::given`, which wants a sized type.
struct Boxed(Arc<dyn Match>);

impl Match for Boxed {
    fn matches(&self, request: &Request) -> bool {
        self.0.matches(request)
    }
}

impl Scenario {
    /// The scenario of a server started without one: `mocks`, with no routes.
    pub(crate) fn empty() -> Scenario {
        Scenario {
            name: "mocks".into(),
            initial_state: "started".into(),
            routes: Vec::new(),
            faults: Vec::new(),
        }
    }

    /// The scenario's name; overlays append `+overlay`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The names of the routes, in matching order.
    pub fn route_names(&self) -> impl Iterator<Item = &str> {
        self.routes.iter().map(|route| route.name.as_str())
    }

    /// This scenario with the overlay's faults added to every request.
    #[must_use]
    pub fn with_overlay(mut self, overlay: &Overlay) -> Self {
        self.name = format!("{}+{}", self.name, overlay.name);
        self.faults.extend(overlay.faults.iter().cloned());
        self
    }

    /// Mounts the scenario's routes on a plain wiremock server, for suites that already run one.
    ///
    /// Sequences become mocks limited to one call each; a fixed latency that always applies
    /// becomes wiremock's (real-time) delay.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] when a route uses something wiremock cannot express: states,
    /// callbacks, faults other than an always-on latency, or any scenario-wide fault. Nothing is mounted
    /// then.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_mocknet::Catalog;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let catalog = Catalog::from_json("inline.json", r#"{"scenarios": {"up": {"routes": [
    ///     {"name": "health", "path": "/health", "response": {"status": 204}}
    /// ]}}}"#)?;
    /// let server = wiremock::MockServer::start().await;
    /// catalog.scenario("up")?.mount_on(&server).await?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn mount_on(&self, server: &MockServer) -> Result<(), Error> {
        let mocks = self.wiremock_mocks()?;
        for mock in mocks {
            server.register(mock).await;
        }
        Ok(())
    }

    fn wiremock_mocks(&self) -> Result<Vec<Mock>, Error> {
        if let Some(fault) = self.faults.first() {
            return Err(Error::new(ErrorKind::Unsupported)
                .in_scenario(self.name.clone())
                .with_detail(format!("scenario-wide fault `{}`", fault.effect.kind())));
        }
        let mut mocks = Vec::new();
        for route in &self.routes {
            let unsupported = |what: String| {
                Error::new(ErrorKind::Unsupported)
                    .in_scenario(self.name.clone())
                    .in_route(Some(route.name.clone()))
                    .with_detail(what)
            };
            if route.when_state.is_some() || route.set_state.is_some() {
                return Err(unsupported("scenario states".into()));
            }
            if route.callback.is_some() {
                return Err(unsupported("callbacks".into()));
            }
            if !route.sequence.is_empty() {
                return Err(unsupported("sequences of steps".into()));
            }
            let mut delay = Duration::ZERO;
            for fault in &route.faults {
                match fault.effect {
                    Effect::Latency(by) if fault.probability >= 1.0 => delay += by,
                    _ => {
                        return Err(unsupported(format!(
                            "fault `{}` with probability {}",
                            fault.effect.kind(),
                            fault.probability
                        )));
                    }
                }
            }
            let given = || {
                let mut builder = Mock::given(Boxed(Arc::new(matchers::any())));
                for matcher in &route.matchers {
                    builder = builder.and(Boxed(matcher.build()));
                }
                builder
            };
            let limits = |mut mock: Mock| {
                mock = mock
                    .with_priority(route.priority)
                    .named(route.name.as_str());
                if let Some(times) = route.max_calls {
                    mock = mock.up_to_n_times(times);
                }
                if let Some(times) = &route.expect {
                    mock = mock.expect(times.to_wiremock());
                }
                mock
            };
            if let Some(responder) = &route.responder {
                mocks.push(limits(given().respond_with(responder.clone())));
                continue;
            }
            if route.max_calls.is_some() || route.expect.is_some() {
                if route.responses.len() > 1 {
                    return Err(unsupported(
                        "a response sequence with up_to_n_times or expect".into(),
                    ));
                }
                let response = &route.responses[0];
                mocks.push(limits(given().respond_with(template(response, delay))));
                continue;
            }
            let last = route.responses.len().saturating_sub(1);
            for (index, response) in route.responses.iter().enumerate() {
                let mock = given()
                    .respond_with(template(response, delay))
                    .with_priority(route.priority)
                    .named(route.name.as_str());
                // Every response but the last serves once; wiremock then falls through to the
                // next mock of the same route, mounted after it.
                mocks.push(if index < last {
                    mock.up_to_n_times(1)
                } else {
                    mock
                });
            }
        }
        Ok(mocks)
    }
}

/// The wiremock template of a response, delayed by `delay` in real time.
fn template(response: &Response, delay: Duration) -> ResponseTemplate {
    let mut template = ResponseTemplate::new(response.status)
        .set_body_bytes(response.body.clone())
        .set_delay(delay);
    for (name, value) in &response.headers {
        template = template.append_header(name.clone(), value.clone());
    }
    template
}

impl Overlay {
    /// The overlay's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}
