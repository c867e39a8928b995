//! A link's timeline: partitions, heals, holds, releases and fault changes at set times after
//! the link starts, as a fault file gives them.

use std::sync::Weak;
use std::time::Duration;

use super::LinkShared;
use super::faults::{LinkFault, LinkFaults};
use super::state::PartitionMode;

/// One event of a link's timeline.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LinkEvent {
    /// Since the link started.
    pub(crate) at: Duration,
    pub(crate) action: LinkAction,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LinkAction {
    Partition(PartitionMode),
    /// Heals every partition the timeline began.
    Heal,
    Hold,
    Release,
    Faults(Vec<LinkFault>),
}

/// Plays `events` (sorted by time) on the link, for as long as it lives.
pub(crate) async fn play(link: Weak<LinkShared>, events: Vec<LinkEvent>) {
    let mut cuts = Vec::new();
    for event in events {
        let Some(due) = link
            .upgrade()
            .map(|link| link.core.recorder.started() + event.at)
        else {
            return;
        };
        tokio::time::sleep_until(due).await;
        let Some(link) = link.upgrade() else {
            return;
        };
        match event.action {
            LinkAction::Partition(mode) => cuts.push(link.partition_begin(mode)),
            LinkAction::Heal => {
                for id in cuts.drain(..) {
                    link.partition_end(id);
                }
            }
            LinkAction::Hold => link.hold(),
            LinkAction::Release => link.release(),
            LinkAction::Faults(faults) => link.set_faults(LinkFaults {
                faults,
                timeline: Vec::new(),
            }),
        }
    }
}
