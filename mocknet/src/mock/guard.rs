//! [`MockGuard`]: a scoped mock, verified and unmounted when dropped.

use std::fmt;
use std::sync::Arc;

use crate::journal::JournalEntry;
use crate::server::{MockNet, Shared};

/// A mock mounted with [`Mock::mount_as_scoped`](crate::Mock::mount_as_scoped): it serves
/// until the guard is dropped, and dropping it checks the mock's expectation.
///
/// # Panics
///
/// Dropping the guard panics (unless the thread is already panicking) when the mock's
/// [expectation](crate::Mock::expect) is not met, with the message [`MockNet::verify`] gives.
///
/// # Example
///
/// ```should_panic
/// use steadfast_mocknet::{Mock, MockNet};
/// use wiremock::matchers::path;
/// use wiremock::ResponseTemplate;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
/// let net = MockNet::builder().seed(1).start().await?;
/// {
///     let _guard = Mock::given(path("/ping"))
///         .respond_with(ResponseTemplate::new(204))
///         .expect(1)
///         .named("ping")
///         .mount_as_scoped(&net)
///         .await;
/// } // panics: mock `ping` … matched 0 requests, expected exactly 1
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping the guard unmounts the mock at once"]
pub struct MockGuard {
    shared: Arc<Shared>,
    route: usize,
    /// The server's mount generation when the mock was mounted (see `MockNet::reset`).
    generation: u64,
}

impl MockGuard {
    pub(crate) fn new(net: &MockNet, route: usize, generation: u64) -> MockGuard {
        MockGuard {
            shared: Arc::clone(net.shared()),
            route,
            generation,
        }
    }

    /// The requests the mock matched so far, in order of arrival.
    pub async fn received_requests(&self) -> Vec<wiremock::Request> {
        self.shared
            .matched(self.route, self.generation)
            .iter()
            .map(JournalEntry::to_request)
            .collect()
    }
}

impl fmt::Debug for MockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockGuard")
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

impl Drop for MockGuard {
    /// Unmounts the mock, then panics (unless already panicking) if its expectation failed.
    fn drop(&mut self) {
        let failure = self.shared.retire(self.route, self.generation);
        if let Some(message) = failure
            && !std::thread::panicking()
        {
            panic!("{message}");
        }
    }
}
