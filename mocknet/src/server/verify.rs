//! The checks of a [`MockNet`]: call counts, unmatched requests and trace propagation, each as
//! a `check_*` returning an [`Error`] and an `assert_*` that panics with the whole story.

use std::collections::HashMap;

use super::MockNet;
use super::OTLP_COLLECTOR_ROUTE;
use crate::error::{Error, ErrorKind};
use crate::journal::{self, JournalEntry};

/// A failed check: the error a `check_*` returns, and what the panic of its `assert_*` shows
/// besides the journal.
pub(super) struct Failure {
    pub(super) error: Error,
    pub(super) details: Option<String>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            error,
            details: None,
        }
    }
}

/// Unmatched requests named in a check's one-line message; the panic lists them all.
const NAMED_STRAYS: usize = 5;

impl MockNet {
    /// Checks that route `route` matched exactly `times` requests, without panicking.
    ///
    /// In [fail-fast](crate::MockNetBuilder::fail_on_unmatched) mode, an unmatched request no
    /// check has reported yet fails this check first (and counts as reported).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::CallCount`] when the count differs, naming the
    /// [route](Error::route), both counts and the [seed](Error::seed), and listing the
    /// scenario's routes when it has none of that name; [`ErrorKind::Unmatched`] in fail-fast
    /// mode as above.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_determinism::Seed;
    /// use steadfast_mocknet::{Catalog, ErrorKind, MockNet};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let catalog = Catalog::from_json("c.json", r#"{"scenarios": {"up": {"routes": [
    ///     {"name": "health", "path": "/health", "response": {"text": "ok"}}]}}}"#)?;
    /// let net = MockNet::builder().scenario(catalog.scenario("up")?).seed(Seed::new(1)).start().await?;
    /// reqwest::get(format!("{}/health", net.uri())).await?;
    ///
    /// net.check_called("health", 1)?;
    /// let err = net.check_called("health", 2).unwrap_err();
    /// assert_eq!((err.kind(), err.route()), (ErrorKind::CallCount, Some("health")));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "route `health` of scenario `up` was called 1 times, expected 2 (seed 0x0000000000000001)"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_called(&self, route: &str, times: usize) -> Result<(), Error> {
        self.verify_called(route, times)
            .map_err(|failure| failure.error)
    }

    /// Asserts that route `route` matched exactly `times` requests: [`check_called`] that
    /// panics.
    ///
    /// [`check_called`]: Self::check_called
    ///
    /// # Panics
    ///
    /// When the check fails (unless the thread is already panicking), with a `steadfast:`
    /// message saying what differed, how to reproduce it (the seed) and the journal.
    ///
    /// # Example
    ///
    /// ```should_panic
    /// use steadfast_determinism::Seed;
    /// use steadfast_mocknet::{Catalog, MockNet};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let catalog = Catalog::from_json("c.json", r#"{"scenarios": {"up": {"routes": [
    ///     {"name": "health", "path": "/health", "response": {"text": "ok"}}]}}}"#)?;
    /// let net = MockNet::builder().scenario(catalog.scenario("up")?).seed(Seed::new(1)).start().await?;
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
        if let Err(failure) = self.verify_called(route, times) {
            self.fail(failure);
        }
    }

    /// Checks that every request matched a route, without panicking.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unmatched`] naming the requests that matched none (the first
    /// few) and the [seed](Error::seed).
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_determinism::Seed;
    /// use steadfast_mocknet::{Catalog, ErrorKind, MockNet};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let catalog = Catalog::from_json("c.json", r#"{"scenarios": {"up": {"routes": [
    ///     {"name": "health", "path": "/health", "response": {"text": "ok"}}]}}}"#)?;
    /// let net = MockNet::builder().scenario(catalog.scenario("up")?).seed(Seed::new(1)).start().await?;
    /// net.check_no_unmatched()?;
    ///
    /// reqwest::get(format!("{}/healthz", net.uri())).await?;
    ///
    /// let err = net.check_no_unmatched().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Unmatched);
    /// assert_eq!(
    ///     err.to_string(),
    ///     "1 requests matched no route of scenario `up` (seed 0x0000000000000001): GET /healthz"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_no_unmatched(&self) -> Result<(), Error> {
        self.verify_no_unmatched().map_err(|failure| failure.error)
    }

    /// Asserts that every request matched a route: [`check_no_unmatched`] that panics.
    ///
    /// [`check_no_unmatched`]: Self::check_no_unmatched
    ///
    /// # Panics
    ///
    /// When a request matched none (unless the thread is already panicking), with a
    /// `steadfast:` message listing the unmatched requests, how to reproduce them (the seed)
    /// and the journal.
    #[track_caller]
    pub fn assert_no_unmatched(&self) {
        if let Err(failure) = self.verify_no_unmatched() {
            self.fail(failure);
        }
    }

    /// Checks, without panicking, that every request carried a valid `traceparent` of one
    /// trace, each with a distinct parent id (each request was sent from its own span).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::TracePropagation`] when there were no requests, a request had no valid
    /// `traceparent`, requests belong to different traces, or two requests share a parent id;
    /// the message says which requests.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_determinism::Seed;
    /// use steadfast_mocknet::{Catalog, ErrorKind, MockNet};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let catalog = Catalog::from_json("c.json", r#"{"scenarios": {"up": {"routes": [
    ///     {"name": "health", "path": "/health", "response": {"text": "ok"}}]}}}"#)?;
    /// let net = MockNet::builder().scenario(catalog.scenario("up")?).seed(Seed::new(1)).start().await?;
    /// reqwest::get(format!("{}/health", net.uri())).await?;
    ///
    /// let err = net.check_trace_propagated().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::TracePropagation);
    /// assert_eq!(
    ///     err.to_string(),
    ///     "trace context was not propagated in scenario `up`: request #0 has no traceparent"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_trace_propagated(&self) -> Result<(), Error> {
        self.verify_trace_propagated()
            .map_err(|failure| failure.error)
    }

    /// Asserts that every request carried a valid `traceparent` of one trace, each with a
    /// distinct parent id: [`check_trace_propagated`] that panics.
    ///
    /// [`check_trace_propagated`]: Self::check_trace_propagated
    ///
    /// # Panics
    ///
    /// When the check fails (unless the thread is already panicking), with a `steadfast:`
    /// message saying which requests broke the trace, how to reproduce it (the seed) and the
    /// journal.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_determinism::Seed;
    /// use steadfast_mocknet::{Catalog, MockNet};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let catalog = Catalog::from_json("c.json", r#"{"scenarios": {"up": {"routes": [
    ///     {"name": "health", "path": "/health", "response": {"text": "ok"}}]}}}"#)?;
    /// let net = MockNet::builder().scenario(catalog.scenario("up")?).seed(Seed::new(1)).start().await?;
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
        if let Err(failure) = self.verify_trace_propagated() {
            self.fail(failure);
        }
    }

    fn verify_called(&self, route: &str, times: usize) -> Result<(), Failure> {
        self.verify_fail_fast()?;
        let actual = self
            .shared
            .lock()
            .journal
            .iter()
            .filter(|entry| entry.route.as_deref() == Some(route))
            .count();
        if actual == times {
            return Ok(());
        }
        let names: Vec<String> = self
            .shared
            .lock()
            .scenario
            .route_names()
            .map(str::to_string)
            .collect();
        let known = names.iter().any(|name| name == route)
            || (self.shared.otlp_collector && route == OTLP_COLLECTOR_ROUTE);
        let hint = if known {
            String::new()
        } else {
            format!(
                "; the scenario has no such route, only: {}",
                names.join(", ")
            )
        };
        let error = self
            .server_error(ErrorKind::CallCount)
            .in_route(Some(route.to_string()))
            .with_detail(format!(
                "was called {actual} times, expected {times} (seed {}){hint}",
                self.seed()
            ));
        Err(error.into())
    }

    fn verify_no_unmatched(&self) -> Result<(), Failure> {
        self.verify_fail_fast()?;
        let unmatched: Vec<JournalEntry> = self
            .shared
            .lock()
            .journal
            .iter()
            .filter(|entry| entry.route.is_none())
            .cloned()
            .collect();
        if unmatched.is_empty() {
            return Ok(());
        }
        let mut named: Vec<String> = unmatched
            .iter()
            .take(NAMED_STRAYS)
            .map(|entry| format!("{} {}", entry.method, target(entry)))
            .collect();
        if unmatched.len() > NAMED_STRAYS {
            named.push("…".into());
        }
        let error = self.server_error(ErrorKind::Unmatched).with_detail(format!(
            "{} requests matched no route of scenario `{}` (seed {}): {}",
            unmatched.len(),
            self.shared.name,
            self.seed(),
            named.join(", ")
        ));
        Err(Failure {
            error,
            details: Some(format!("unmatched:\n{}", journal::render(&unmatched))),
        })
    }

    fn verify_trace_propagated(&self) -> Result<(), Failure> {
        let problem = trace_problem(&self.shared.lock().journal);
        problem.map_err(|problem| {
            self.server_error(ErrorKind::TracePropagation)
                .with_detail(problem)
                .into()
        })
    }

    /// In fail-fast mode, the first unmatched request no check has reported yet; taking it
    /// reports them all, so dropping the server does not panic over them again.
    fn verify_fail_fast(&self) -> Result<(), Failure> {
        let failures = std::mem::take(&mut self.shared.lock().unmatched_failures);
        match failures.first() {
            None => Ok(()),
            Some(first) => Err(Failure {
                error: self
                    .server_error(ErrorKind::Unmatched)
                    .with_detail(first.headline.clone()),
                details: Some(first.nearest.clone()),
            }),
        }
    }

    /// Panics with a failed check: what differed, its details, how to reproduce it and the
    /// journal. Never while already panicking, so a failing test reports its first failure.
    #[track_caller]
    pub(super) fn fail(&self, failure: Failure) {
        if std::thread::panicking() {
            return;
        }
        let details = failure
            .details
            .map(|details| format!("\n{details}"))
            .unwrap_or_default();
        panic!(
            "steadfast: {}{details}\n{}\njournal:\n{}",
            failure.error,
            self.shared.reproduce(),
            journal::render(&self.journal())
        );
    }
}

/// The request target as sent: the path and, if any, the query.
fn target(entry: &JournalEntry) -> String {
    match &entry.query {
        Some(query) => format!("{}?{query}", entry.path),
        None => entry.path.clone(),
    }
}

fn trace_problem(journal: &[JournalEntry]) -> Result<(), String> {
    let Some(first) = journal.first() else {
        return Err("no requests were received".into());
    };
    let mut trace_id = None;
    let mut parents = HashMap::new();
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
