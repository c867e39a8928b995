//! Mounting [`Mock`]s on a running [`MockNet`].

use super::MockNet;
use crate::error::{Error, ErrorKind};
use crate::mock::Mock;

impl MockNet {
    /// Unmounts every mock and forgets every request, as wiremock's `MockServer::reset` does:
    /// the catalog scenario's routes stay, with their counts, sequences and state back at the
    /// start. Guards of scoped mocks mounted before no longer check or unmount anything.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_mocknet::{Mock, MockNet};
    /// use wiremock::matchers::path;
    /// use wiremock::ResponseTemplate;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let net = MockNet::builder().seed(1).start().await?;
    /// Mock::given(path("/a")).respond_with(ResponseTemplate::new(200)).expect(1).mount(&net).await;
    ///
    /// net.reset().await;
    ///
    /// assert_eq!(reqwest::get(format!("{}/a", net.uri())).await?.status(), 404);
    /// net.reset().await; // the unmatched request is forgotten too
    /// assert!(net.journal().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn reset(&self) {
        let mut state = self.shared.lock();
        let keep = state.catalog_routes;
        state.scenario.routes.truncate(keep);
        state.matchers.truncate(keep);
        // Cleared in place: the next mocks reuse the room the last ones took.
        state.calls.truncate(keep);
        state.calls.fill(0);
        state.retired.truncate(keep);
        state.retired.fill(false);
        state.reorder();
        state.journal.clear();
        state.unmatched_failures.clear();
        state.spans.clear();
        state.metrics.clear();
        state.close_on_accept = 0;
        state.current = state.scenario.initial_state.clone();
        state.generation += 1;
        drop(state);
        self.shared.arrived.send_replace(0);
    }

    /// Adds `mock` as the last route and returns its index and the mount generation.
    pub(crate) async fn mount(&self, mock: Mock) -> Result<(usize, u64), Error> {
        if self.is_stopped() {
            return Err(self
                .server_error(ErrorKind::Stopped)
                .in_route(Some(mock.name_at(self.shared.lock().scenario.routes.len())))
                .with_detail("cannot mount a mock on it"));
        }
        if mock.renders() {
            self.shared.renderer().await;
        }
        let mut state = self.shared.lock();
        let index = state.scenario.routes.len();
        let route = mock.compile(index).map_err(|err| {
            err.in_scenario(self.shared.name.clone())
                .with_seed(self.seed())
        })?;
        state.matchers.push(&route.matchers);
        // Tried after every route of its priority or a higher one.
        let priority = route.priority;
        let at = state
            .order
            .partition_point(|&i| state.scenario.routes[i].priority <= priority);
        state.order.insert(at, index);
        state.scenario.routes.push(route);
        state.calls.push(0);
        state.retired.push(false);
        Ok((index, state.generation))
    }
}
