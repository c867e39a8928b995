//! Networks: the user's own services as named nodes, a [`Link`](crate::link::Link) for every
//! ordered pair of them, partitions that heal when dropped, crashes and restarts.
//!
//! A node is the user's server, an `async fn(listener)`: the network binds its listener once
//! (the address survives restarts) and runs the function as a task it owns. Node `a` reaches
//! node `b` at [`network.addr("a", "b")`](Network::addr), the address of the link from `a` to
//! `b`, so every byte between nodes crosses a link with its faults, and partitions can be one
//! way.
//!
//! ```
//! use std::time::Duration;
//! use steadfast_determinism::Seed;
//! use steadfast_mocknet::network::{Network, Partition};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tokio::net::TcpListener;
//!
//! async fn echo(listener: TcpListener) {
//!     while let Ok((mut stream, _)) = listener.accept().await {
//!         let _ = stream.write_all(b"pong").await;
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
//! let net = Network::builder().nodes(["client", "server"]).seed(Seed::new(3)).start().await?;
//! net.run("server", echo)?;
//! let ping = || async {
//!     let mut stream = tokio::net::TcpStream::connect(net.addr("client", "server")?).await?;
//!     let mut answer = [0u8; 4];
//!     stream.read_exact(&mut answer).await?;
//!     Ok::<_, Box<dyn std::error::Error>>(answer)
//! };
//! assert_eq!(&ping().await?, b"pong");
//!
//! let partition = net.partition(Partition::symmetric(["client"], ["server"]))?;
//! let cut = tokio::time::timeout(Duration::from_secs(5), ping()).await;
//! assert!(cut.is_err(), "the partition stalls the connection");
//! drop(partition);
//! assert_eq!(&ping().await?, b"pong");
//!
//! net.crash("server")?;
//! assert!(ping().await.is_err(), "a crashed node resets its connections");
//! net.restart("server")?;
//! assert_eq!(&ping().await?, b"pong");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Tasks a node keeps in a `JoinSet` (or otherwise owns in its future) are aborted with it on
//! a crash; tasks it detaches with `tokio::spawn` keep running, but every connection through
//! the network's links to or from the node is reset and new ones are refused until the
//! restart.

mod node;
mod partition;
mod timeline;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use steadfast_determinism::{DetRng, Seed, TestContext};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::error::{Error, ErrorKind};
use crate::link::{
    self, LinkFaults, LinkShared, NetEvent, NetEventKind, PartitionGuard, Recorder, Scope,
};
use node::{Node, NodeStatus};
pub use partition::Partition;
pub use timeline::NetworkScenario;
pub(crate) use timeline::{NetAction, TimelineEvent};

/// A running network of named nodes and the links between them.
///
/// Link `from->to` draws its faults from the stream `fork("link FROM->TO")` of the network's
/// seed: the one given with [`NetworkBuilder::seed`], or else the running test's
/// `TestContext::current().fork_rng("mocknet-network")`. Dropping the network stops every node
/// and link.
///
/// # Example
///
/// See [the module](self).
pub struct Network {
    shared: Arc<NetworkShared>,
    tasks: Vec<JoinHandle<()>>,
}

pub(crate) struct NetworkShared {
    nodes: Vec<Node>,
    /// By (from, to) node index.
    links: BTreeMap<(usize, usize), Arc<LinkShared>>,
    recorder: Arc<Recorder>,
    seed: Seed,
    next_partition: AtomicU64,
    /// The cut links of each active partition.
    partitions: Mutex<BTreeMap<u64, Vec<(usize, usize)>>>,
}

/// Configures a [`Network`] before it starts.
#[must_use = "a builder does nothing until `start` is awaited"]
#[derive(Debug, Default)]
pub struct NetworkBuilder {
    nodes: Vec<String>,
    faults: LinkFaults,
    link_faults: Vec<(String, String, LinkFaults)>,
    timeline: Vec<TimelineEvent>,
    scenario: Option<String>,
    seed: Option<Seed>,
}

impl Network {
    /// A builder for a network.
    pub fn builder() -> NetworkBuilder {
        NetworkBuilder::default()
    }

    /// The address node `from` dials to reach node `to`: the link from `from` to `to`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownNode`] for a name the network does not have, and
    /// [`ErrorKind::InvalidNetwork`] when `from` and `to` are the same node; both list the
    /// [known](Error::known) nodes.
    pub fn addr(&self, from: &str, to: &str) -> Result<SocketAddr, Error> {
        Ok(self.shared.link(from, to)?.addr)
    }

    /// Node `name`'s own listening address (stable across restarts), for clients outside the
    /// network: they reach the node without a link.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownNode`], listing the known nodes.
    pub fn node_addr(&self, name: &str) -> Result<SocketAddr, Error> {
        Ok(self.shared.node(name)?.1.addr)
    }

    /// The network's node names, in the order given.
    pub fn node_names(&self) -> impl Iterator<Item = &str> {
        self.shared.nodes.iter().map(|node| node.name.as_str())
    }

    /// The seed the links' fault draws come from.
    pub fn seed(&self) -> Seed {
        self.shared.seed
    }

    /// Runs `serve` as node `name`, on the node's listener, as a task the network owns; a
    /// [`restart`](Self::restart) calls it again.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownNode`]; [`ErrorKind::InvalidNetwork`] when the node already runs or
    /// crashed (restart it instead); [`ErrorKind::LinkStart`] when its listener cannot be
    /// handed over (the cause is the I/O error).
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime.
    pub fn run<F, Fut>(&self, name: &str, serve: F) -> Result<(), Error>
    where
        F: Fn(TcpListener) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
    {
        let (_, node) = self.shared.node(name)?;
        if node.status() != NodeStatus::NeverRun {
            return Err(self.shared.invalid(format!(
                "node `{name}` already ran; crash and restart it instead"
            )));
        }
        node.start(Some(node::program(serve)))
            .map_err(|err| listener_failed(name, err))
    }

    /// Aborts node `name`'s task and resets every connection through a link to or from it;
    /// until [`restart`](Self::restart), new connections to or from it are refused.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownNode`]; [`ErrorKind::InvalidNetwork`] when the node is not running.
    pub fn crash(&self, name: &str) -> Result<(), Error> {
        self.shared.crash(name)
    }

    /// Runs a crashed node again, at the same address.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownNode`]; [`ErrorKind::InvalidNetwork`] when the node has not
    /// crashed; [`ErrorKind::LinkStart`] when its listener cannot be handed over.
    pub fn restart(&self, name: &str) -> Result<(), Error> {
        self.shared.restart(name)
    }

    /// Cuts the links `partition` names until the guard is dropped.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownNode`] for a name the network does not have;
    /// [`ErrorKind::InvalidNetwork`] for an empty group or a node named twice (in one group,
    /// or in both). Both list the [known](Error::known) nodes.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_determinism::Seed;
    /// use steadfast_mocknet::network::{Network, Partition};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let net = Network::builder().nodes(["a", "b", "c"]).seed(Seed::new(1)).start().await?;
    /// let err = net.partition(Partition::symmetric(["a", "b"], ["b", "c"])).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid network: partition a, b | b, c names node `b` twice; known nodes: a, b, c"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn partition(&self, partition: Partition) -> Result<PartitionGuard, Error> {
        let id = self.shared.partition_begin(&partition)?;
        let network = Arc::downgrade(&self.shared);
        Ok(PartitionGuard::new(move || {
            if let Some(network) = network.upgrade() {
                network.partition_end(id);
            }
        }))
    }

    /// Holds the bytes of link `from->to` until [`release`](Self::release).
    ///
    /// # Errors
    ///
    /// As [`addr`](Self::addr).
    pub fn hold(&self, from: &str, to: &str) -> Result<(), Error> {
        self.shared.link(from, to)?.hold();
        Ok(())
    }

    /// Releases the bytes held on link `from->to`.
    ///
    /// # Errors
    ///
    /// As [`addr`](Self::addr).
    pub fn release(&self, from: &str, to: &str) -> Result<(), Error> {
        self.shared.link(from, to)?.release();
        Ok(())
    }

    /// Replaces the faults of link `from->to` for the connections opened from now on.
    ///
    /// # Errors
    ///
    /// As [`addr`](Self::addr), and [`ErrorKind::InvalidFaults`] when a fault cannot be used.
    pub fn set_faults(&self, from: &str, to: &str, faults: LinkFaults) -> Result<(), Error> {
        let link = self.shared.link(from, to)?;
        faults.check().map_err(|why| {
            Error::new(ErrorKind::InvalidFaults)
                .looking_for(link.core.name.clone())
                .with_detail(why)
        })?;
        link.set_faults(faults);
        Ok(())
    }

    /// The network's journal so far, in canonical order.
    pub fn journal(&self) -> Vec<NetEvent> {
        self.shared.recorder.events()
    }
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("nodes", &self.shared.nodes)
            .field("seed", &self.shared.seed)
            .finish_non_exhaustive()
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        for node in &self.shared.nodes {
            node.stop();
        }
    }
}

fn listener_failed(name: &str, err: std::io::Error) -> Error {
    Error::new(ErrorKind::LinkStart)
        .with_detail(format!("could not hand node `{name}` its listener"))
        .with_source(err)
}

impl NetworkShared {
    fn known(&self) -> Vec<String> {
        self.nodes.iter().map(|node| node.name.clone()).collect()
    }

    fn invalid(&self, detail: String) -> Error {
        Error::new(ErrorKind::InvalidNetwork)
            .with_detail(detail)
            .with_known(self.known())
    }

    fn node(&self, name: &str) -> Result<(usize, &Node), Error> {
        self.nodes
            .iter()
            .enumerate()
            .find(|(_, node)| node.name == name)
            .ok_or_else(|| {
                Error::new(ErrorKind::UnknownNode)
                    .looking_for(name)
                    .with_known(self.known())
            })
    }

    fn link_index(&self, from: &str, to: &str) -> Result<(usize, usize), Error> {
        let (from_index, _) = self.node(from)?;
        let (to_index, _) = self.node(to)?;
        if from_index == to_index {
            return Err(self.invalid(format!("node `{from}` has no link to itself")));
        }
        Ok((from_index, to_index))
    }

    fn link(&self, from: &str, to: &str) -> Result<&Arc<LinkShared>, Error> {
        let pair = self.link_index(from, to)?;
        // OK because start made a link for every ordered pair of distinct nodes.
        Ok(&self.links[&pair])
    }

    fn record(&self, event: NetEvent) {
        self.recorder.record(Scope::NETWORK, event);
    }

    fn partition_begin(&self, partition: &Partition) -> Result<u64, Error> {
        if partition.a.is_empty() || partition.b.is_empty() {
            return Err(self.invalid(format!("partition {partition} has an empty group")));
        }
        if let Some(twice) = partition.named_twice() {
            return Err(self.invalid(format!("partition {partition} names node `{twice}` twice")));
        }
        let pairs = partition
            .pairs()
            .into_iter()
            .map(|(from, to)| self.link_index(from, to))
            .collect::<Result<Vec<_>, _>>()?;
        let id = self.next_partition.fetch_add(1, Ordering::Relaxed);
        for pair in &pairs {
            self.links[pair].cut(id, partition.mode);
        }
        self.lock_partitions().insert(id, pairs);
        self.record(NetEvent::new(NetEventKind::Partition).detail(partition.to_string()));
        Ok(id)
    }

    fn partition_end(&self, id: u64) {
        let Some(pairs) = self.lock_partitions().remove(&id) else {
            return;
        };
        for pair in &pairs {
            self.links[pair].uncut(id);
        }
        self.record(NetEvent::new(NetEventKind::Heal));
    }

    fn lock_partitions(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Vec<(usize, usize)>>> {
        self.partitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn crash(&self, name: &str) -> Result<(), Error> {
        let (index, node) = self.node(name)?;
        if node.status() != NodeStatus::Running {
            return Err(self.invalid(format!("node `{name}` is not running")));
        }
        node.crash();
        self.update_links_of(index);
        self.record(NetEvent::new(NetEventKind::Crash).node(name));
        Ok(())
    }

    fn restart(&self, name: &str) -> Result<(), Error> {
        let (index, node) = self.node(name)?;
        if node.status() != NodeStatus::Crashed {
            return Err(self.invalid(format!("node `{name}` has not crashed")));
        }
        node.start(None).map_err(|err| listener_failed(name, err))?;
        self.update_links_of(index);
        self.record(NetEvent::new(NetEventKind::Restart).node(name));
        Ok(())
    }

    /// Marks every link to or from node `index` down while either end is crashed.
    fn update_links_of(&self, index: usize) {
        for (&(from, to), link) in &self.links {
            if from == index || to == index {
                link.set_down(self.nodes[from].is_crashed() || self.nodes[to].is_crashed());
            }
        }
    }
}

impl NetworkBuilder {
    /// Adds a node.
    pub fn node(mut self, name: impl Into<String>) -> Self {
        self.nodes.push(name.into());
        self
    }

    /// Adds nodes.
    pub fn nodes<I>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item: Into<String>>,
    {
        self.nodes.extend(names.into_iter().map(Into::into));
        self
    }

    /// The faults of every link without faults of its own (none by default).
    pub fn faults(mut self, faults: LinkFaults) -> Self {
        self.faults = faults;
        self
    }

    /// The faults of link `from->to`.
    pub fn link_faults(
        mut self,
        from: impl Into<String>,
        to: impl Into<String>,
        faults: LinkFaults,
    ) -> Self {
        self.link_faults.push((from.into(), to.into(), faults));
        self
    }

    /// Takes the faults and the timeline of a catalog's network scenario; the timeline
    /// starts with the network. Its nodes must be among the network's.
    pub fn scenario(mut self, scenario: NetworkScenario) -> Self {
        self.faults = scenario.faults;
        self.link_faults.extend(scenario.links);
        self.timeline = scenario.timeline;
        self.scenario = Some(scenario.name);
        self.nodes.extend(
            scenario
                .nodes
                .into_iter()
                .filter(|name| !self.nodes.contains(name))
                .collect::<Vec<_>>(),
        );
        self
    }

    /// Draws faults from `seed` instead of the running test's RNG.
    pub fn seed(mut self, seed: impl Into<Seed>) -> Self {
        self.seed = Some(seed.into());
        self
    }

    /// Binds every node's listener and a link for every ordered pair of nodes, on 127.0.0.1,
    /// and starts the links (not the nodes: see [`Network::run`]) on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidNetwork`] for a node named twice or link faults from a node to
    /// itself; [`ErrorKind::UnknownNode`] for link faults naming an unknown node;
    /// [`ErrorKind::InvalidFaults`] for a fault that cannot be used; [`ErrorKind::LinkStart`]
    /// without a seed outside a deterministic test, or when a listener cannot be bound.
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime.
    pub async fn start(self) -> Result<Network, Error> {
        let rng = match self.seed {
            Some(seed) => DetRng::from_seed(seed),
            None => TestContext::try_current()
                .map(|ctx| ctx.fork_rng("mocknet-network"))
                .ok_or_else(|| {
                    Error::new(ErrorKind::LinkStart).with_detail(
                        "no seed for its fault draws: start it inside a \
                             #[deterministic_test] or give one with NetworkBuilder::seed",
                    )
                })?,
        };
        let mut nodes: Vec<Node> = Vec::new();
        for name in &self.nodes {
            if nodes.iter().any(|node| &node.name == name) {
                let known = self.nodes.clone();
                return Err(Error::new(ErrorKind::InvalidNetwork)
                    .with_detail(format!("node `{name}` is named twice"))
                    .with_known(known));
            }
            let node = Node::bind(name.clone()).map_err(|err| {
                Error::new(ErrorKind::LinkStart)
                    .with_detail(format!("could not bind node `{name}` on 127.0.0.1"))
                    .with_source(err)
            })?;
            nodes.push(node);
        }
        let mut shared = NetworkShared {
            nodes,
            links: BTreeMap::new(),
            recorder: Arc::new(Recorder::new()),
            seed: rng.seed(),
            next_partition: AtomicU64::new(0),
            partitions: Mutex::new(BTreeMap::new()),
        };
        let mut faults_of = BTreeMap::new();
        for (from, to, faults) in self.link_faults {
            let pair = shared
                .link_index(&from, &to)
                .map_err(|err| match &self.scenario {
                    Some(scenario) => err.in_network(scenario.clone()),
                    None => err,
                })?;
            faults_of.insert(pair, faults);
        }
        let mut tasks = Vec::new();
        let count = shared.nodes.len();
        for (from, to) in (0..count).flat_map(|a| (0..count).map(move |b| (a, b))) {
            if from == to {
                continue;
            }
            let name = format!("{}->{}", shared.nodes[from].name, shared.nodes[to].name);
            let faults = faults_of
                .remove(&(from, to))
                .unwrap_or_else(|| self.faults.clone());
            faults.check().map_err(|why| {
                Error::new(ErrorKind::InvalidFaults)
                    .looking_for(name.clone())
                    .with_detail(why)
            })?;
            let listener = link::bind(&name, SocketAddr::from(([127, 0, 0, 1], 0)))?;
            let id = u32::try_from(shared.links.len() + 1).unwrap_or(u32::MAX);
            let link_rng = rng.fork(&format!("link {name}"));
            let (link, accept) = link::start_on(
                listener,
                shared.nodes[to].addr,
                name,
                id,
                link_rng,
                Arc::clone(&shared.recorder),
                faults,
            )?;
            shared.links.insert((from, to), link);
            tasks.push(accept);
        }
        let shared = Arc::new(shared);
        tasks.push(tokio::spawn(timeline::play(
            Arc::downgrade(&shared),
            self.timeline,
        )));
        Ok(Network { shared, tasks })
    }
}
