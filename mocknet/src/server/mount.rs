//! Mounting [`Mock`]s on a running [`MockNet`].

use super::MockNet;
use crate::error::{Error, ErrorKind};
use crate::mock::Mock;

impl MockNet {
    /// Adds `mock` as the last route and returns its index.
    pub(crate) async fn mount(&self, mock: Mock) -> Result<usize, Error> {
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
        state
            .matchers
            .push(route.matchers.iter().map(|spec| spec.build()).collect());
        state.scenario.routes.push(route);
        state.calls.push(0);
        state.retired.push(false);
        state.reorder();
        Ok(index)
    }
}
