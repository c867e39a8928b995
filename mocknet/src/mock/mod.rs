//! The Rust builder of mocks, with wiremock's shape and names: [`Mock::given`], `and`,
//! `respond_with`, `up_to_n_times`, `with_priority`, `expect`, `named`, then
//! [`mount`](Mock::mount) or [`mount_as_scoped`](Mock::mount_as_scoped) on a
//! [`MockNet`](crate::MockNet). Mocknet adds [faults](Mock::fault), [sequences](Mock::sequence)
//! and scenario states.
//!
//! Matchers are any `wiremock::Match` (wiremock's own `wiremock::matchers::*`, or
//! [`crate::matchers`] for scenarios that are also written out as JSON); responders are any
//! `wiremock::Respond`, or mocknet's own [`ResponseTemplate`].

mod guard;
mod steps;
mod template;
mod times;

use std::any::Any;
use std::sync::Arc;

use wiremock::{Match, Respond};

pub use guard::MockGuard;
pub use steps::{Fault, Step};
pub use template::ResponseTemplate;
pub use times::Times;

use crate::error::{Error, ErrorKind};
use crate::matchers::Matcher;
use crate::scenario::{DEFAULT_PRIORITY, MatcherSpec, Responder, Route};
use crate::server::MockNet;

/// The first half of a [`Mock`]: its matchers, waiting for a responder.
///
/// # Example
///
/// See [`Mock`].
#[must_use = "a MockBuilder does nothing until `respond_with` makes it a Mock"]
#[derive(Debug)]
pub struct MockBuilder {
    matchers: Matchers,
}

/// A mock: requests it matches, what they get, how often it may and must match, and its faults.
///
/// The names and arguments are wiremock's, so a wiremock test ports by changing its imports:
/// `use steadfast_mocknet::{Mock, MockNet as MockServer};` next to `wiremock::matchers::*` and
/// `wiremock::ResponseTemplate` (see the crate README's "Coming from wiremock").
///
/// Mocks are tried in order of [priority](Self::with_priority), then of mounting, after the
/// routes of the server's catalog scenario; the first that matches answers.
///
/// # Example
///
/// ```
/// use steadfast_mocknet::{Mock, MockNet};
/// use wiremock::matchers::{body_partial_json, method, path};
/// use wiremock::ResponseTemplate;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
/// let net = MockNet::builder().seed(7).start().await?;
/// Mock::given(method("POST"))
///     .and(path("/v1/charges"))
///     .and(body_partial_json(serde_json::json!({"amount": 500})))
///     .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({"id": "ch_1"})))
///     .expect(1)
///     .named("charge")
///     .mount(&net)
///     .await;
///
/// let response = reqwest::Client::new()
///     .post(format!("{}/v1/charges", net.uri()))
///     .body(r#"{"amount": 500, "currency": "eur"}"#)
///     .send()
///     .await?;
///
/// assert_eq!(response.status(), 201);
/// assert_eq!(response.text().await?, r#"{"id":"ch_1"}"#);
/// net.verify().await;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a Mock does nothing until it is mounted"]
#[derive(Debug)]
pub struct Mock {
    matchers: Matchers,
    answer: Answer,
    name: Option<String>,
    max_calls: Option<u64>,
    priority: u8,
    expect: Option<Times>,
    faults: Vec<Fault>,
    sequence: Option<Vec<Step>>,
    when_state: Option<String>,
    set_state: Option<String>,
}

#[derive(Debug)]
enum Answer {
    Template(ResponseTemplate),
    Wiremock(Responder),
}

/// The matchers given to a mock, kept as they will be served, and what was wrong with the
/// first bad one.
#[derive(Debug)]
struct Matchers {
    specs: Vec<MatcherSpec>,
    invalid: Option<String>,
}

impl Matchers {
    fn first(spec: Result<MatcherSpec, String>) -> Matchers {
        // Room for the few `and`s a mock usually has, so that they do not regrow the list.
        let mut matchers = Matchers {
            specs: Vec::with_capacity(4),
            invalid: None,
        };
        matchers.push(spec);
        matchers
    }

    fn push(&mut self, spec: Result<MatcherSpec, String>) {
        match spec {
            Ok(spec) => self.specs.push(spec),
            // Every matcher before the first bad one is good, so it is number `specs.len()`.
            Err(why) => {
                let index = self.specs.len();
                self.invalid
                    .get_or_insert_with(|| format!("matchers[{index}]: {why}"));
            }
        }
    }
}

/// The spec of a matcher: a [`crate::matchers`] one as data, any other kept as it is.
fn spec<M: Match + 'static>(matcher: M) -> Result<MatcherSpec, String> {
    if let Some(ours) = (&matcher as &dyn Any).downcast_ref::<Matcher>() {
        return ours.spec.clone();
    }
    Ok(MatcherSpec::Custom {
        matcher: Arc::new(matcher),
        type_name: std::any::type_name::<M>(),
    })
}

impl Mock {
    /// Starts a mock matching requests that `matcher` matches.
    pub fn given<M: Match + 'static>(matcher: M) -> MockBuilder {
        MockBuilder {
            matchers: Matchers::first(spec(matcher)),
        }
    }

    /// Stops matching after `n` requests, so later ones fall through to the next mock.
    pub fn up_to_n_times(mut self, n: u64) -> Mock {
        self.max_calls = Some(n);
        self
    }

    /// Sets the priority: 1 is tried first, 255 last; the default is 5, as in wiremock.
    pub fn with_priority(mut self, priority: u8) -> Mock {
        self.priority = priority;
        self
    }

    /// Expects this many requests (a count or a range): [`MockNet::verify`], dropping the
    /// server or the [`MockGuard`] of a scoped mock panics otherwise. A range no count is in,
    /// such as `2..1`, is an error when mounted.
    pub fn expect<T: Into<Times>>(mut self, times: T) -> Mock {
        self.expect = Some(times.into());
        self
    }

    /// Names the mock in the journal, in [`MockNet::assert_called`] and in failure messages;
    /// unnamed mocks are `mock #i`, `i` counting the server's routes from 0.
    pub fn named<T: Into<String>>(mut self, name: T) -> Mock {
        self.name = Some(name.into());
        self
    }

    /// Adds a fault, drawn for every matching request from the server's seed.
    pub fn fault(mut self, fault: Fault) -> Mock {
        self.faults.push(fault);
        self
    }

    /// What successive matching requests get: the first request step 0, the second step 1,
    /// and so on; the last step repeats. The mock's own faults apply to every step. An empty
    /// list is an error when mounted.
    pub fn sequence<I: IntoIterator<Item = Step>>(mut self, steps: I) -> Mock {
        self.sequence = Some(steps.into_iter().collect());
        self
    }

    /// Matches only while the server's scenario is in state `state` (catalog `when_state`).
    pub fn when_state<T: Into<String>>(mut self, state: T) -> Mock {
        self.when_state = Some(state.into());
        self
    }

    /// Moves the scenario to state `state` when the mock matches (catalog `set_state`).
    pub fn set_state<T: Into<String>>(mut self, state: T) -> Mock {
        self.set_state = Some(state.into());
        self
    }

    /// Mounts the mock on `net`: [`try_mount`](Self::try_mount) that panics.
    ///
    /// # Panics
    ///
    /// When `try_mount` fails: the mock is invalid or the server has stopped.
    pub async fn mount(self, net: &MockNet) {
        if let Err(err) = net.mount(self).await {
            panic!("steadfast: {err}");
        }
    }

    /// Mounts the mock on `net`; it serves the next request.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidMock`] naming the [mock](Error::route) when a matcher, the response,
    /// a fault or a step holds a bad value, the sequence is empty or the expected range is
    /// empty; [`ErrorKind::Stopped`] when the server has stopped.
    pub async fn try_mount(self, net: &MockNet) -> Result<(), Error> {
        net.mount(self).await.map(|_| ())
    }

    /// Mounts the mock until the returned guard is dropped; dropping it verifies the mock's
    /// expectation (panicking, unless already panicking, as [`MockNet::verify`] does) and
    /// unmounts it, as in wiremock.
    ///
    /// # Panics
    ///
    /// As [`mount`](Self::mount).
    pub async fn mount_as_scoped(self, net: &MockNet) -> MockGuard {
        match self.try_mount_as_scoped(net).await {
            Ok(guard) => guard,
            Err(err) => panic!("steadfast: {err}"),
        }
    }

    /// [`mount_as_scoped`](Self::mount_as_scoped) returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// As [`try_mount`](Self::try_mount).
    pub async fn try_mount_as_scoped(self, net: &MockNet) -> Result<MockGuard, Error> {
        let (index, generation) = net.mount(self).await?;
        Ok(MockGuard::new(net, index, generation))
    }

    /// Mounts the mock on a server started with
    /// [`start_blocking`](crate::MockNetBuilder::start_blocking), from a thread outside any
    /// runtime.
    ///
    /// # Errors
    ///
    /// As [`try_mount`](Self::try_mount), and [`ErrorKind::Stopped`] when `net` does not run
    /// on a runtime of its own.
    pub fn mount_blocking(self, net: &MockNet) -> Result<(), Error> {
        let handle = net.own_runtime().ok_or_else(|| {
            net.server_error(ErrorKind::Stopped).with_detail(
                "mount_blocking needs a MockNet started with MockNetBuilder::start_blocking",
            )
        })?;
        handle.block_on(self.try_mount(net))
    }

    /// Whether the mock answers with a wiremock responder that must be rendered.
    pub(crate) fn renders(&self) -> bool {
        matches!(self.answer, Answer::Wiremock(_))
    }

    /// The mock's name, or the one it gets as route `index`.
    pub(crate) fn name_at(&self, index: usize) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("mock #{index}"))
    }

    /// The checked route, as route `index` of the server.
    pub(crate) fn compile(self, index: usize) -> Result<Route, Error> {
        let name = self.name_at(index);
        let invalid = |why: String| {
            Error::new(ErrorKind::InvalidMock)
                .in_route(Some(name.clone()))
                .with_detail(why)
        };
        if let Some(why) = self.matchers.invalid {
            return Err(invalid(why));
        }
        let mut matchers = self.matchers.specs;
        // All must hold, so the order is only the catalog's, for routes that read back equal.
        if !matchers.is_sorted_by_key(MatcherSpec::catalog_order) {
            matchers.sort_by(|a, b| a.catalog_order().cmp(&b.catalog_order()));
        }
        let mut faults = Vec::new();
        let (responses, responder) = match self.answer {
            Answer::Template(template) => {
                let (response, latency) = template.compile().map_err(&invalid)?;
                faults.extend(latency);
                (vec![response], None)
            }
            Answer::Wiremock(responder) => (Vec::new(), Some(responder)),
        };
        for (i, fault) in self.faults.iter().enumerate() {
            faults.push(
                fault
                    .compile()
                    .map_err(|why| invalid(format!("faults[{i}]: {why}")))?,
            );
        }
        let sequence = match self.sequence {
            Some(steps) if steps.is_empty() => return Err(invalid("sequence is empty".into())),
            Some(steps) => steps
                .iter()
                .enumerate()
                .map(|(i, step)| {
                    step.compile()
                        .map_err(|why| format!("sequence[{i}]: {why}"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(&invalid)?,
            None => Vec::new(),
        };
        if let Some(times) = self.expect.filter(Times::is_empty) {
            return Err(invalid(format!("expect: {times} can never be met")));
        }
        Ok(Route {
            name,
            matchers,
            when_state: self.when_state,
            set_state: self.set_state,
            responses,
            faults,
            callback: None,
            max_calls: self.max_calls,
            priority: self.priority,
            expect: self.expect,
            sequence,
            responder,
        })
    }
}

impl MockBuilder {
    /// Adds a matcher: the mock matches requests that all its matchers match.
    pub fn and<M: Match + 'static>(mut self, matcher: M) -> MockBuilder {
        self.matchers.push(spec(matcher));
        self
    }

    /// Answers with `responder`: mocknet's [`ResponseTemplate`], wiremock's, or any
    /// `wiremock::Respond`, asked for each request.
    pub fn respond_with<R: Respond + 'static>(self, responder: R) -> Mock {
        let answer = match (&responder as &dyn Any).downcast_ref::<ResponseTemplate>() {
            Some(template) => Answer::Template(template.clone()),
            None => Answer::Wiremock(Responder {
                respond: Arc::new(responder),
                type_name: std::any::type_name::<R>(),
            }),
        };
        Mock {
            matchers: self.matchers,
            answer,
            name: None,
            max_calls: None,
            priority: DEFAULT_PRIORITY,
            expect: None,
            faults: Vec::new(),
            sequence: None,
            when_state: None,
            set_state: None,
        }
    }
}
