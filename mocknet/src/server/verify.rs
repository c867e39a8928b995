//! The assertions of a [`MockNet`]: call counts, unmatched requests and trace propagation.

use super::{MockNet, OTLP_COLLECTOR_ROUTE};
use crate::journal::{self, JournalEntry};

impl MockNet {
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
