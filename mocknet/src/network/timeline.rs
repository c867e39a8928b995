//! Network scenarios as data: link faults and a timeline of events at set times, loaded from
//! a catalog's `networks` section and played by a [`Network`](super::Network).

use std::sync::Weak;
use std::time::Duration;

use super::{NetworkShared, Partition};
use crate::link::{LinkFaults, NetEventKind};

/// A network scenario from a catalog's `networks` section: faults for every link, faults for
/// some links, and a timeline. Give it to [`NetworkBuilder::scenario`](super::NetworkBuilder::scenario).
///
/// # Example
///
/// ```
/// use steadfast_mocknet::Catalog;
///
/// let catalog = Catalog::from_json("c.json", r#"{"networks": {"split": {
///     "nodes": ["a", "b"],
///     "faults": [{"kind": "latency", "ms": 5}],
///     "timeline": [{"at_ms": 1000, "event": "partition", "a": ["a"], "b": ["b"]},
///                  {"at_ms": 3000, "event": "heal"}]
/// }}}"#)?;
/// let split = catalog.network("split")?;
/// assert_eq!((split.name(), split.nodes()), ("split", &["a".to_string(), "b".to_string()][..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkScenario {
    pub(crate) name: String,
    pub(crate) nodes: Vec<String>,
    pub(crate) faults: LinkFaults,
    pub(crate) links: Vec<(String, String, LinkFaults)>,
    pub(crate) timeline: Vec<TimelineEvent>,
}

impl NetworkScenario {
    /// The scenario's name in its catalog.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The nodes the scenario names.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    /// When the timeline makes events of `kind` (partition, heal, crash, restart or
    /// faults-changed), sorted, since the network starts; so a test can measure from them.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast_mocknet::Catalog;
    /// use steadfast_mocknet::link::NetEventKind;
    ///
    /// let catalog = Catalog::from_json("c.json", r#"{"networks": {"crash": {"nodes": ["db"],
    ///     "timeline": [{"at_ms": 5000, "event": "crash", "node": "db"}]}}}"#)?;
    /// let crash = catalog.network("crash")?;
    /// assert_eq!(crash.event_times(NetEventKind::Crash), [Duration::from_secs(5)]);
    /// assert!(crash.event_times(NetEventKind::Heal).is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn event_times(&self, kind: NetEventKind) -> Vec<Duration> {
        self.timeline
            .iter()
            .filter(|event| event.action.kind() == kind)
            .map(|event| event.at)
            .collect()
    }
}

/// One event of a network's timeline.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TimelineEvent {
    /// Since the network started.
    pub(crate) at: Duration,
    pub(crate) action: NetAction,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NetAction {
    Partition(Partition),
    /// Heals every partition the timeline began.
    Heal,
    Crash(String),
    Restart(String),
    /// New faults for one link, or for every link.
    Faults(Option<(String, String)>, LinkFaults),
}

impl NetAction {
    fn kind(&self) -> NetEventKind {
        match self {
            NetAction::Partition(_) => NetEventKind::Partition,
            NetAction::Heal => NetEventKind::Heal,
            NetAction::Crash(_) => NetEventKind::Crash,
            NetAction::Restart(_) => NetEventKind::Restart,
            NetAction::Faults(..) => NetEventKind::FaultsChanged,
        }
    }
}

/// Plays `events` (sorted by time) on the network, for as long as it lives. The scenario was
/// checked against the network's nodes at start, so the actions cannot fail on names; a crash
/// of a node that is not running or a restart of one that is are skipped.
pub(crate) async fn play(network: Weak<NetworkShared>, events: Vec<TimelineEvent>) {
    let mut partitions = Vec::new();
    for event in events {
        let Some(due) = network
            .upgrade()
            .map(|net| net.recorder.started() + event.at)
        else {
            return;
        };
        tokio::time::sleep_until(due).await;
        let Some(net) = network.upgrade() else {
            return;
        };
        match event.action {
            NetAction::Partition(partition) => {
                if let Ok(id) = net.partition_begin(&partition) {
                    partitions.push(id);
                }
            }
            NetAction::Heal => {
                for id in partitions.drain(..) {
                    net.partition_end(id);
                }
            }
            NetAction::Crash(node) => {
                let _ = net.crash(&node);
            }
            NetAction::Restart(node) => {
                let _ = net.restart(&node);
            }
            NetAction::Faults(Some((from, to)), faults) => {
                if let Ok(link) = net.link(&from, &to) {
                    link.set_faults(faults);
                }
            }
            NetAction::Faults(None, faults) => {
                for link in net.links.values() {
                    link.set_faults(faults.clone());
                }
            }
        }
    }
}
