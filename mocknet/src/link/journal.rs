//! The network journal: connections, bytes, faults, partitions, crashes and restarts, with
//! their times on tokio's clock.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};

use super::faults::LinkFaultKind;

/// What happened, in a [`NetEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NetEventKind {
    /// A client connected to a link; [`NetEvent::faults`] lists the faults drawn for it.
    Opened,
    /// A connection ended with both streams closed; the bytes say how much went each way.
    Closed,
    /// A connection was reset: by a fault, a partition, a crash, or a reset by one of its ends.
    Reset,
    /// A new connection was reset at once: a `refuse` fault, a partition that resets, a node
    /// that is down, or an upstream that refused.
    Refused,
    /// A partition began; the detail names the groups.
    Partition,
    /// A partition healed.
    Heal,
    /// A link began holding bytes.
    Hold,
    /// A link released what it held.
    Release,
    /// A link's faults changed (for new connections).
    FaultsChanged,
    /// A node's task was aborted and its connections reset.
    Crash,
    /// A node's task ran again at the same address.
    Restart,
}

impl NetEventKind {
    /// The name in the JSON lines, such as `"opened"`.
    pub fn as_str(self) -> &'static str {
        match self {
            NetEventKind::Opened => "opened",
            NetEventKind::Closed => "closed",
            NetEventKind::Reset => "reset",
            NetEventKind::Refused => "refused",
            NetEventKind::Partition => "partition",
            NetEventKind::Heal => "heal",
            NetEventKind::Hold => "hold",
            NetEventKind::Release => "release",
            NetEventKind::FaultsChanged => "faults-changed",
            NetEventKind::Crash => "crash",
            NetEventKind::Restart => "restart",
        }
    }
}

impl fmt::Display for NetEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event of a [`Link`](super::Link) or a [`Network`](crate::network::Network).
///
/// The journal is in a canonical order, by time and then by link, connection and the order
/// within each, so the same seed and the same traffic always give the same journal, however
/// the connections' I/O interleaved.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetEvent {
    /// Position in the journal, from 0.
    pub index: usize,
    /// When, since the link or network started, on tokio's clock (virtual time under a paused
    /// runtime).
    pub at: Duration,
    /// What happened.
    pub kind: NetEventKind,
    /// The link, such as `leader->follower-1` (`None` for a network-wide event).
    pub link: Option<String>,
    /// The connection on the link, numbered from 0 in the order accepted.
    pub connection: Option<u64>,
    /// The node crashed or restarted.
    pub node: Option<String>,
    /// Bytes delivered from client to upstream (for `closed` and `reset`).
    pub bytes_up: u64,
    /// Bytes delivered from upstream to client (for `closed` and `reset`).
    pub bytes_down: u64,
    /// The faults drawn for a connection (for `opened`), in drawing order.
    pub faults: Vec<LinkFaultKind>,
    /// Why, in words: what reset a connection, the groups of a partition.
    pub detail: Option<String>,
}

impl NetEvent {
    pub(crate) fn new(kind: NetEventKind) -> Self {
        Self {
            index: 0,
            at: Duration::ZERO,
            kind,
            link: None,
            connection: None,
            node: None,
            bytes_up: 0,
            bytes_down: 0,
            faults: Vec::new(),
            detail: None,
        }
    }

    pub(crate) fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub(crate) fn node(mut self, node: impl Into<String>) -> Self {
        self.node = Some(node.into());
        self
    }

    /// The event as one JSON object, with `at_ms` in (fractional) milliseconds; fields that do
    /// not apply are left out.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast_determinism::Seed;
    /// use steadfast_mocknet::link::Link;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let link = Link::builder(upstream.local_addr()?).seed(Seed::new(1)).start().await?;
    /// tokio::time::sleep(Duration::from_millis(5)).await;
    /// link.hold();
    ///
    /// let line = link.journal()[0].to_json().to_string();
    /// assert_eq!(line, r#"{"at_ms":5.0,"event":"hold","link":"link"}"#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_json(&self) -> Value {
        let mut object = serde_json::Map::new();
        object.insert("at_ms".into(), json!(self.at.as_secs_f64() * 1e3));
        object.insert("event".into(), json!(self.kind.as_str()));
        if let Some(link) = &self.link {
            object.insert("link".into(), json!(link));
        }
        if let Some(connection) = self.connection {
            object.insert("connection".into(), json!(connection));
        }
        if let Some(node) = &self.node {
            object.insert("node".into(), json!(node));
        }
        if matches!(self.kind, NetEventKind::Closed | NetEventKind::Reset) {
            object.insert("bytes_up".into(), json!(self.bytes_up));
            object.insert("bytes_down".into(), json!(self.bytes_down));
        }
        if !self.faults.is_empty() {
            let names: Vec<&str> = self.faults.iter().map(|kind| kind.as_str()).collect();
            object.insert("faults".into(), json!(names));
        }
        if let Some(detail) = &self.detail {
            object.insert("detail".into(), json!(detail));
        }
        Value::Object(object)
    }
}

impl fmt::Display for NetEvent {
    /// One line: `#4 at 1.2s leader->follower-1 #3 closed up 120 down 48`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} at {:?}", self.index, self.at)?;
        if let Some(link) = &self.link {
            write!(f, " {link}")?;
        }
        if let Some(connection) = self.connection {
            write!(f, " #{connection}")?;
        }
        write!(f, " {}", self.kind)?;
        if let Some(node) = &self.node {
            write!(f, " {node}")?;
        }
        if matches!(self.kind, NetEventKind::Closed | NetEventKind::Reset) {
            write!(f, " up {} down {}", self.bytes_up, self.bytes_down)?;
        }
        if !self.faults.is_empty() {
            let names: Vec<&str> = self.faults.iter().map(|kind| kind.as_str()).collect();
            write!(f, " [{}]", names.join(", "))?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

/// Where an event belongs, for the canonical order: the network (`link` 0), a link
/// (`connection` 0) or one connection of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Scope {
    pub(crate) link: u32,
    pub(crate) connection: u64,
}

impl Scope {
    pub(crate) const NETWORK: Scope = Scope {
        link: 0,
        connection: 0,
    };
}

/// The shared journal of a link or a whole network.
#[derive(Debug)]
pub(crate) struct Recorder {
    started: tokio::time::Instant,
    /// Orders the events of one scope (each scope is driven by one task, or by the test).
    sequence: AtomicU64,
    entries: Mutex<Vec<(Duration, Scope, u64, NetEvent)>>,
}

impl Recorder {
    pub(crate) fn new() -> Self {
        Self {
            started: tokio::time::Instant::now(),
            sequence: AtomicU64::new(0),
            entries: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn started(&self) -> tokio::time::Instant {
        self.started
    }

    pub(crate) fn record(&self, scope: Scope, mut event: NetEvent) {
        event.at = self.started.elapsed();
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.push((event.at, scope, sequence, event));
    }

    /// The events in canonical order, numbered.
    pub(crate) fn events(&self) -> Vec<NetEvent> {
        let mut entries: Vec<_> = self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        entries.sort_by_key(|(at, scope, sequence, _)| (*at, *scope, *sequence));
        entries
            .into_iter()
            .enumerate()
            .map(|(index, (.., mut event))| {
                event.index = index;
                event
            })
            .collect()
    }
}
