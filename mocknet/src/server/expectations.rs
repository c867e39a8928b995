//! Expectations: each mock's [`expect`](crate::Mock::expect)ed request count, checked by
//! [`MockNet::verify`], by dropping the server and by dropping a scoped mock's guard.

use std::fmt::Write as _;

use super::verify::Failure;
use super::{MockNet, Shared, State};
use crate::error::{Error, ErrorKind};
use crate::journal::{self, JournalEntry};

/// Requests listed as having come closest to a mock that matched too few.
const CLOSEST: usize = 3;

/// A mock whose expectation failed: the one-line error and the requests that came closest.
struct Unmet {
    route: String,
    headline: String,
    closest: String,
}

impl MockNet {
    /// Verifies every mock's expectation, as wiremock's `MockServer::verify` does:
    /// [`assert_expectations`](Self::assert_expectations), awaitable.
    ///
    /// # Panics
    ///
    /// As [`assert_expectations`](Self::assert_expectations).
    pub async fn verify(&self) {
        if let Err(failure) = self.verify_expectations() {
            self.fail(failure);
        }
    }

    /// Checks, without panicking, that every mounted mock with an
    /// [`expect`](crate::Mock::expect)ation matched as many requests as it expects.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Expectation`] naming the first failing [mock](Error::route), its expected
    /// range, the count and the [seed](Error::seed).
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_mocknet::{ErrorKind, Mock, MockNet};
    /// use wiremock::matchers::path;
    /// use wiremock::ResponseTemplate;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let net = MockNet::builder().seed(7).start().await?;
    /// Mock::given(path("/v1/charges"))
    ///     .respond_with(ResponseTemplate::new(201))
    ///     .expect(1..)
    ///     .named("charge")
    ///     .mount(&net)
    ///     .await;
    ///
    /// let err = net.check_expectations().unwrap_err();
    /// assert_eq!((err.kind(), err.route()), (ErrorKind::Expectation, Some("charge")));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "mock `charge` of scenario `mocks` matched 0 requests, expected at least 1 \
    ///      (seed 0x0000000000000007)"
    /// );
    /// reqwest::get(format!("{}/v1/charges", net.uri())).await?;
    /// net.check_expectations()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_expectations(&self) -> Result<(), Error> {
        self.verify_expectations().map_err(|failure| failure.error)
    }

    /// Asserts every mock's expectation: [`check_expectations`] that panics.
    ///
    /// [`check_expectations`]: Self::check_expectations
    ///
    /// # Panics
    ///
    /// When a mock's expectation is not met (unless the thread is already panicking), with a
    /// `steadfast:` message naming each failing mock, its expected range and count, the
    /// requests that came closest (or those it matched, when it matched too many), how to
    /// reproduce (the seed) and the journal.
    #[track_caller]
    pub fn assert_expectations(&self) {
        if let Err(failure) = self.verify_expectations() {
            self.fail(failure);
        }
    }

    fn verify_expectations(&self) -> Result<(), Failure> {
        let unmet = {
            let state = self.shared.lock();
            self.shared.unmet(&state, None)
        };
        let Some(first) = unmet.first() else {
            return Ok(());
        };
        let details = unmet
            .iter()
            .map(|unmet| format!("{}\n{}", unmet.headline, unmet.closest))
            .collect::<Vec<_>>()
            .join("\n");
        Err(Failure {
            error: self
                .server_error(ErrorKind::Expectation)
                .in_route(Some(first.route.clone()))
                .with_detail(first.headline.clone()),
            details: Some(if unmet.len() == 1 {
                first.closest.clone()
            } else {
                details
            }),
        })
    }
}

impl Shared {
    /// The panic message of the failed expectations of route `only` (or of every mounted
    /// route), if any failed.
    pub(crate) fn expectation_report(&self, only: Option<usize>) -> Option<String> {
        let (unmet, journal) = {
            let state = self.lock();
            (self.unmet(&state, only), state.journal.clone())
        };
        if unmet.is_empty() {
            return None;
        }
        let mut report = String::from("steadfast: ");
        for unmet in &unmet {
            let _ = writeln!(report, "{}\n{}", unmet.headline, unmet.closest);
        }
        let _ = write!(
            report,
            "{}\njournal:\n{}",
            self.reproduce(),
            journal::render(&journal)
        );
        Some(report)
    }

    /// Unmounts route `route` (a scoped mock mounted in `generation`) and says, as a panic
    /// message, whether its expectation failed; nothing once the server was reset since.
    pub(crate) fn retire(&self, route: usize, generation: u64) -> Option<String> {
        if self.lock().generation != generation {
            return None;
        }
        let report = self.expectation_report(Some(route));
        let mut state = self.lock();
        if let Some(retired) = state.retired.get_mut(route) {
            *retired = true;
        }
        report
    }

    /// The journal entries of requests route `route` (mounted in `generation`) matched.
    pub(crate) fn matched(&self, route: usize, generation: u64) -> Vec<JournalEntry> {
        let state = self.lock();
        if state.generation != generation {
            return Vec::new();
        }
        let Some(name) = state.scenario.routes.get(route).map(|route| &route.name) else {
            return Vec::new();
        };
        state
            .journal
            .iter()
            .filter(|entry| entry.route.as_ref() == Some(name))
            .cloned()
            .collect()
    }

    fn unmet(&self, state: &State, only: Option<usize>) -> Vec<Unmet> {
        let routes = &state.scenario.routes;
        (0..routes.len())
            .filter(|&i| only.is_none_or(|only| only == i) && !state.retired[i])
            .filter_map(|i| {
                let times = routes[i].expect?;
                let actual = state.calls[i] as u64;
                (!times.contains(actual)).then(|| {
                    let route = routes[i].name.clone();
                    let headline = format!(
                        "mock `{route}` of scenario `{}` matched {actual} requests, expected \
                         {times} (seed {})",
                        self.name,
                        self.rng.seed()
                    );
                    let closest = if times.max().is_some_and(|max| actual > max) {
                        matched_requests(state, &route)
                    } else {
                        closest_requests(state, i, actual, times.min())
                    };
                    Unmet {
                        route,
                        headline,
                        closest,
                    }
                })
            })
            .collect()
    }
}

/// `requests it matched:` and a line per request route `name` matched.
fn matched_requests(state: &State, name: &str) -> String {
    let mut out = String::from("requests it matched:");
    for entry in state
        .journal
        .iter()
        .filter(|entry| entry.route.as_deref() == Some(name))
    {
        let _ = write!(out, "\n  {entry}");
    }
    out
}

/// `requests that came closest:` and, for the requests route `i` did not match (most of its
/// matchers holding first), what the route wanted of each.
fn closest_requests(state: &State, i: usize, actual: u64, min: u64) -> String {
    let name = &state.scenario.routes[i].name;
    let mut scored: Vec<(usize, &JournalEntry, wiremock::Request)> = state
        .journal
        .iter()
        .filter(|entry| entry.route.as_ref() != Some(name))
        .map(|entry| {
            let request = entry.to_request();
            let hits = state
                .matchers
                .route(i)
                .iter()
                .filter(|matcher| matcher.matches(&request))
                .count();
            (hits, entry, request)
        })
        .collect();
    // Most matchers holding first; ties in order of arrival.
    scored.sort_by_key(|(hits, entry, _)| (std::cmp::Reverse(*hits), entry.index));
    let mut out = format!(
        "requests that came closest ({} more needed):",
        min.saturating_sub(actual)
    );
    for (hits, entry, request) in scored.iter().take(CLOSEST) {
        let _ = write!(out, "\n  {entry}\n    {}", state.why_not(i, request, *hits));
    }
    if scored.is_empty() {
        out.push_str(" (no other requests arrived)");
    }
    out
}
