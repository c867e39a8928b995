//! A link's switchable state: held, partitioned, down, its faults, and the epoch whose change
//! resets every open connection. Connections wait on its changes through a [`Switch`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use super::faults::LinkFaults;

/// What a partition does to the connections already open on the links it cuts.
///
/// New connections during a partition do the same: they stall until it heals, or are reset.
///
/// # Example
///
/// ```
/// use steadfast_mocknet::link::PartitionMode;
///
/// assert_eq!(PartitionMode::default(), PartitionMode::Stall);
/// assert_eq!(PartitionMode::Reset.as_str(), "reset");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PartitionMode {
    /// Bytes stop flowing and wait, as packets of a lost route do; they flow again once the
    /// partition heals, unless a client timeout ends the wait first.
    #[default]
    Stall,
    /// Open connections are reset (a TCP RST both ways).
    Reset,
}

impl PartitionMode {
    /// The name in catalogs and fault files: `"stall"` or `"reset"`.
    pub fn as_str(self) -> &'static str {
        match self {
            PartitionMode::Stall => "stall",
            PartitionMode::Reset => "reset",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct LinkState {
    pub(crate) held: bool,
    /// Active partitions cutting the link, by id.
    pub(crate) cuts: BTreeMap<u64, PartitionMode>,
    /// Whether a node at either end is down (crashed, or not running yet).
    pub(crate) down: bool,
    /// Bumped to reset every connection opened before.
    pub(crate) epoch: u64,
    pub(crate) faults: Arc<LinkFaults>,
    /// Whether the link is stopping ([`Link::stop`](super::Link::stop)): it accepts no more
    /// connections, and resets the open ones.
    pub(crate) stopping: bool,
}

impl LinkState {
    pub(crate) fn new(faults: LinkFaults) -> Self {
        Self {
            held: false,
            cuts: BTreeMap::new(),
            down: false,
            epoch: 0,
            faults: Arc::new(faults),
            stopping: false,
        }
    }

    /// Whether bytes must wait.
    pub(crate) fn stalls(&self) -> bool {
        self.held || !self.cuts.is_empty()
    }

    /// Why a new connection is reset at once, if it is.
    pub(crate) fn refusal(&self) -> Option<&'static str> {
        if self.stopping {
            Some("the link stopped")
        } else if self.down {
            Some("a node at an end of the link is down")
        } else if self.cuts.values().any(|mode| *mode == PartitionMode::Reset) {
            Some("the link is partitioned")
        } else {
            None
        }
    }
}

/// A link's state with change notification, in place of a `watch` channel: tokio's `watch`
/// wakes its waiters in a random order, and the order in which released connections move on
/// must follow from the seed alone. `Notify` wakes them in the order they began to wait.
#[derive(Debug)]
pub(crate) struct Switch {
    state: Mutex<LinkState>,
    version: AtomicU64,
    changed: Notify,
}

impl Switch {
    pub(crate) fn new(state: LinkState) -> Self {
        Self {
            state: Mutex::new(state),
            version: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    pub(crate) fn read(&self) -> MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Changes the state and wakes every waiter.
    pub(crate) fn modify(&self, change: impl FnOnce(&mut LinkState)) {
        self.modify_if(|state| {
            change(state);
            true
        });
    }

    /// Changes the state and wakes every waiter if `change` says it changed anything.
    pub(crate) fn modify_if(&self, change: impl FnOnce(&mut LinkState) -> bool) -> bool {
        let changed = change(&mut self.read());
        if changed {
            self.version.fetch_add(1, Ordering::AcqRel);
            self.changed.notify_waiters();
        }
        changed
    }

    /// Waits until `done` holds for the state (at once if it does).
    async fn wait_until(&self, done: impl Fn(&LinkState) -> bool) {
        loop {
            let notified = self.changed.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the check, so a change between the two is not missed.
            notified.as_mut().enable();
            if done(&self.read()) {
                return;
            }
            notified.await;
        }
    }

    /// Waits until bytes may flow (at once if they may).
    pub(crate) async fn wait_open(&self) {
        self.wait_until(|state| !state.stalls()).await;
    }

    /// Resolves when the link begins to stop.
    pub(crate) async fn wait_stopping(&self) {
        self.wait_until(|state| state.stopping).await;
    }

    /// Resolves when the connection opened at `epoch` must be reset.
    pub(crate) async fn wait_reset(&self, epoch: u64) {
        self.wait_until(|state| state.epoch != epoch).await;
    }
}
