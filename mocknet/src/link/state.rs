//! A link's switchable state: held, partitioned, down, its faults, and the epoch whose change
//! resets every open connection. Connections watch it through a `watch` channel.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::watch;

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
}

impl LinkState {
    pub(crate) fn new(faults: LinkFaults) -> Self {
        Self {
            held: false,
            cuts: BTreeMap::new(),
            down: false,
            epoch: 0,
            faults: Arc::new(faults),
        }
    }

    /// Whether bytes must wait.
    pub(crate) fn stalls(&self) -> bool {
        self.held || !self.cuts.is_empty()
    }

    /// Why a new connection is reset at once, if it is.
    pub(crate) fn refusal(&self) -> Option<&'static str> {
        if self.down {
            Some("a node at an end of the link is down")
        } else if self.cuts.values().any(|mode| *mode == PartitionMode::Reset) {
            Some("the link is partitioned")
        } else {
            None
        }
    }
}

/// Waits until bytes may flow (at once if they may).
pub(crate) async fn wait_open(state: &mut watch::Receiver<LinkState>) {
    loop {
        if !state.borrow_and_update().stalls() {
            return;
        }
        if state.changed().await.is_err() {
            // The link is gone; its connections are being dropped with it.
            return std::future::pending().await;
        }
    }
}

/// Resolves when the connection opened at `epoch` must be reset.
pub(crate) async fn wait_reset(mut state: watch::Receiver<LinkState>, epoch: u64) {
    if state.wait_for(|now| now.epoch != epoch).await.is_err() {
        std::future::pending::<()>().await;
    }
}
