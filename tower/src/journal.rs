//! What the layer injected, request by request.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::fault::Fault;

/// What switched a fault on for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Trigger {
    /// The `x-steadfast-fault` request header.
    Header,
    /// The `steadfast_fault` query parameter.
    Query,
    /// The seeded draw for a share of requests ([`FaultLayerBuilder::share`](crate::FaultLayerBuilder::share)).
    Share,
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalEntry {
    /// The request's method, such as `GET`.
    pub method: String,
    /// The request's path, without the query.
    pub path: String,
    /// The fault injected.
    pub fault: Fault,
    /// What switched it on.
    pub trigger: Trigger,
    /// The test clock's time since its origin when the request came in, if a test context was
    /// current (in a test, the server task runs on the test's runtime).
    pub at: Option<Duration>,
}

/// The faults a layer injected, in request order. Clones share the entries.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    entries: Arc<Mutex<Vec<JournalEntry>>>,
}

impl Journal {
    /// A copy of the entries so far.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many faults were injected.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True when no fault was injected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn push(&self, entry: JournalEntry) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
    }
}
