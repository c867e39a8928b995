//! Links: a TCP proxy on 127.0.0.1 in front of an upstream, with seeded faults per direction
//! and per connection, partitions, holds and a journal.
//!
//! A [`Link`] moves bytes and knows nothing of the protocol above them, so the same faults
//! apply to HTTP, gRPC, PostgreSQL, Redis or a protocol of your own. It runs on the caller's
//! tokio runtime: under a paused clock (`#[deterministic_test]`, or a runtime built with
//! `start_paused(true)` as here) every delay is virtual time.
//!
//! ```
//! use std::time::Duration;
//! use steadfast_determinism::Seed;
//! use steadfast_mocknet::link::{Link, LinkFault, LinkFaults};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
//! // An echo server stands in for the upstream.
//! let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = upstream.local_addr()?;
//! tokio::spawn(async move {
//!     let (mut stream, _) = upstream.accept().await?;
//!     let (mut read, mut write) = stream.split();
//!     tokio::io::copy(&mut read, &mut write).await?;
//!     Ok::<_, std::io::Error>(())
//! });
//! let faults = LinkFaults::new().with(LinkFault::latency(Duration::from_millis(150)));
//! let link = Link::builder(addr).faults(faults).seed(Seed::new(7)).start().await?;
//!
//! let started = tokio::time::Instant::now();
//! let mut stream = tokio::net::TcpStream::connect(link.addr()).await?;
//! stream.write_all(b"ping").await?;
//! let mut answer = [0u8; 4];
//! stream.read_exact(&mut answer).await?;
//!
//! assert_eq!(&answer, b"ping");
//! // 150 ms there and 150 ms back, on virtual time.
//! assert_eq!(started.elapsed(), Duration::from_millis(300));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! | fault | what the client sees |
//! | --- | --- |
//! | [`latency`](LinkFault::latency), [`jitter_uniform`](LinkFault::jitter_uniform), [`jitter_lognormal`](LinkFault::jitter_lognormal) | every byte, later (one delay drawn per connection and direction) |
//! | [`bandwidth`](LinkFault::bandwidth) | bytes paced to a rate |
//! | [`slice`](LinkFault::slice) | bytes in writes of a few bytes each |
//! | [`reset`](LinkFault::reset), [`reset_after`](LinkFault::reset_after) | `ConnectionReset`, at once or after N bytes |
//! | [`refuse`](LinkFault::refuse) | `ConnectionReset` before a byte reaches the upstream |
//! | [`black_hole`](LinkFault::black_hole) | nothing, ever: not a byte, not the end of the stream |
//! | [`Link::hold`] / [`Link::release`] | nothing until released, then everything, in order |
//! | [`Link::partition`] | nothing until healed ([`PartitionMode::Stall`]) or `ConnectionReset` ([`PartitionMode::Reset`]) |
//!
//! An upstream that refuses the connection is passed on as a reset: the client never hangs
//! on it.
//!
//! ## Same seed, same journal
//!
//! On a paused runtime the journal follows from the seed and the traffic, with two limits
//! that come from real sockets and from tokio rather than from the link:
//!
//! * The kernel completes TCP handshakes outside the runtime. Hundreds of connects issued at
//!   one virtual instant can be accepted at different virtual times from run to run; clients
//!   that connect as the test proceeds (one after another, or a pool) are not affected.
//! * tokio's `select!` polls its branches in a random order unless it says `biased;`, and a
//!   `watch` channel wakes its waiters in a random order. Code under test that relies on
//!   either (when two branches are ready at once, or two waiters race) can take another path
//!   under the same seed; the links themselves use neither.

mod connection;
mod faults;
mod journal;
mod pump;
mod state;
pub(crate) mod timeline;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use steadfast_determinism::{DetRng, Seed, TestContext};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::error::{Error, ErrorKind};
pub(crate) use connection::LinkCore;
pub use faults::{Direction, LinkFault, LinkFaultKind, LinkFaults};
pub use journal::{NetEvent, NetEventKind};
pub(crate) use journal::{Recorder, Scope};
use state::LinkState;
pub use state::PartitionMode;

/// A running TCP proxy from [`addr`](Link::addr) to its upstream, with seeded faults.
///
/// Connection `i` of the link draws its faults from the stream `fork("connection i")` of the
/// link's seed, which is the one given with [`LinkBuilder::seed`], or else the running test's
/// `TestContext::current().fork_rng("mocknet-link NAME")`. The link stops when dropped, and
/// its open connections close with it; [`stop`](Link::stop) ends them first, so that the
/// journal has an end for each.
///
/// # Example
///
/// See [the module](self).
pub struct Link {
    shared: Arc<LinkShared>,
    accept: JoinHandle<()>,
    timeline: JoinHandle<()>,
}

/// The part of a link its timeline and its network share.
#[derive(Debug)]
pub(crate) struct LinkShared {
    pub(crate) core: Arc<LinkCore>,
    pub(crate) addr: SocketAddr,
    next_partition: AtomicU64,
}

/// Configures a [`Link`] before it starts.
#[must_use = "a builder does nothing until `start` is awaited"]
#[derive(Debug)]
pub struct LinkBuilder {
    upstream: SocketAddr,
    listen: SocketAddr,
    name: String,
    faults: LinkFaults,
    seed: Option<Seed>,
}

impl Link {
    /// A builder for a link in front of `upstream`.
    pub fn builder(upstream: SocketAddr) -> LinkBuilder {
        LinkBuilder {
            upstream,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            name: "link".into(),
            faults: LinkFaults::new(),
            seed: None,
        }
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The address the link forwards to.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.core.upstream
    }

    /// The link's name in the journal.
    pub fn name(&self) -> &str {
        &self.shared.core.name
    }

    /// The seed the link's fault draws come from.
    pub fn seed(&self) -> Seed {
        self.shared.core.rng.seed()
    }

    /// Stops delivering bytes, both ways, until [`release`](Self::release); new connections
    /// wait too. Nothing is lost: what was sent is delivered, in order, on release.
    pub fn hold(&self) {
        self.shared.hold();
    }

    /// Delivers what was held and lets bytes flow again.
    pub fn release(&self) {
        self.shared.release();
    }

    /// Cuts the link until the returned guard is dropped (or [healed](PartitionGuard::heal)).
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast_determinism::Seed;
    /// use steadfast_mocknet::link::{Link, PartitionMode};
    /// use tokio::io::AsyncReadExt;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let link = Link::builder(upstream.local_addr()?).seed(Seed::new(1)).start().await?;
    /// let mut stream = tokio::net::TcpStream::connect(link.addr()).await?;
    /// let _accepted = upstream.accept().await?;
    ///
    /// let partition = link.partition(PartitionMode::Reset);
    /// let err = stream.read(&mut [0; 8]).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
    /// partition.heal();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn partition(&self, mode: PartitionMode) -> PartitionGuard {
        let id = self.shared.partition_begin(mode);
        let link = Arc::downgrade(&self.shared);
        PartitionGuard::new(move || {
            if let Some(link) = link.upgrade() {
                link.partition_end(id);
            }
        })
    }

    /// Replaces the link's faults; connections opened from now on draw from them.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidFaults`] naming the fault and its value when one cannot be used (a
    /// probability outside 0..=1, a zero bandwidth or slice, jitter bounds the wrong way).
    pub fn set_faults(&self, faults: LinkFaults) -> Result<(), Error> {
        check(&self.shared.core.name, &faults)?;
        self.shared.set_faults(faults);
        Ok(())
    }

    /// The link's journal so far, in canonical order.
    pub fn journal(&self) -> Vec<NetEvent> {
        self.shared.core.recorder.events()
    }

    /// Stops the link and returns its whole journal. Unlike dropping it, this first resets
    /// every open connection (the journal says `reset` with the detail `the link stopped`,
    /// and the bytes that went each way) and waits until each is journaled, so every
    /// connection's `opened` has an end. New connections are no longer accepted, and its
    /// timeline stops.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_determinism::Seed;
    /// use steadfast_mocknet::link::{Link, NetEventKind};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let link = Link::builder(upstream.local_addr()?).seed(Seed::new(1)).start().await?;
    /// let mut client = tokio::net::TcpStream::connect(link.addr()).await?;
    /// let (mut accepted, _) = upstream.accept().await?;
    /// accepted.write_all(b"hi").await?;
    /// client.read_exact(&mut [0; 2]).await?; // the connection is open, and stays so
    ///
    /// let journal = link.stop().await;
    /// let kinds: Vec<_> = journal.iter().map(|event| event.kind).collect();
    /// assert_eq!(kinds, [NetEventKind::Opened, NetEventKind::Reset]);
    /// assert_eq!(journal[1].detail.as_deref(), Some("the link stopped"));
    /// assert_eq!((journal[1].bytes_up, journal[1].bytes_down), (0, 2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn stop(mut self) -> Vec<NetEvent> {
        self.timeline.abort();
        self.shared.core.state.modify(|state| {
            state.stopping = true;
            state.epoch += 1;
        });
        // The accept loop ends once every connection has journaled its end.
        let _ = (&mut self.accept).await;
        self.journal()
    }
}

fn check(name: &str, faults: &LinkFaults) -> Result<(), Error> {
    faults.check().map_err(|why| {
        Error::new(ErrorKind::InvalidFaults)
            .looking_for(name)
            .with_detail(why)
    })
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("name", &self.name())
            .field("addr", &self.addr())
            .field("upstream", &self.upstream())
            .field("seed", &self.seed())
            .finish_non_exhaustive()
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.accept.abort();
        self.timeline.abort();
    }
}

impl LinkShared {
    fn record(&self, event: NetEvent) {
        self.core.record(None, event);
    }

    pub(crate) fn hold(&self) {
        self.core.state.modify(|state| state.held = true);
        self.record(NetEvent::new(NetEventKind::Hold));
    }

    pub(crate) fn release(&self) {
        self.core.state.modify(|state| state.held = false);
        self.record(NetEvent::new(NetEventKind::Release));
    }

    pub(crate) fn set_faults(&self, faults: LinkFaults) {
        let faults = Arc::new(faults);
        self.core.state.modify(|state| state.faults = faults);
        self.record(NetEvent::new(NetEventKind::FaultsChanged));
    }

    /// Begins a partition of this link alone, journaled as the link's.
    pub(crate) fn partition_begin(&self, mode: PartitionMode) -> u64 {
        let id = self.next_partition.fetch_add(1, Ordering::Relaxed);
        self.cut(id, mode);
        let detail = format!("existing connections {}", mode_words(mode));
        self.record(NetEvent::new(NetEventKind::Partition).detail(detail));
        id
    }

    pub(crate) fn partition_end(&self, id: u64) {
        if self.uncut(id) {
            self.record(NetEvent::new(NetEventKind::Heal));
        }
    }

    /// Cuts the link for partition `id`, without a journal entry.
    pub(crate) fn cut(&self, id: u64, mode: PartitionMode) {
        self.core.state.modify(|state| {
            state.cuts.insert(id, mode);
            if mode == PartitionMode::Reset {
                state.epoch += 1;
            }
        });
    }

    /// Ends partition `id`'s cut; whether it was there.
    pub(crate) fn uncut(&self, id: u64) -> bool {
        self.core
            .state
            .modify_if(|state| state.cuts.remove(&id).is_some())
    }

    /// Marks a node at an end of the link down (resetting every connection) or up again.
    pub(crate) fn set_down(&self, down: bool) {
        self.core.state.modify(|state| {
            state.down = down;
            if down {
                state.epoch += 1;
            }
        });
    }
}

pub(crate) fn mode_words(mode: PartitionMode) -> &'static str {
    match mode {
        PartitionMode::Stall => "stall",
        PartitionMode::Reset => "are reset",
    }
}

impl LinkBuilder {
    /// Listens on `addr` instead of a free port of 127.0.0.1.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The link's name in the journal and in its default seed's label (default `"link"`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The faults of every connection, and a timeline when they came from a fault file.
    pub fn faults(mut self, faults: LinkFaults) -> Self {
        self.faults = faults;
        self
    }

    /// Draws faults from `seed` instead of the running test's RNG.
    pub fn seed(mut self, seed: impl Into<Seed>) -> Self {
        self.seed = Some(seed.into());
        self
    }

    /// Binds the listener and starts forwarding on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidFaults`] when a fault cannot be used; [`ErrorKind::LinkStart`]
    /// outside a deterministic test without [`seed`](Self::seed), or when the listen address
    /// cannot be bound (the cause is the I/O error).
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime (as `tokio::spawn` does).
    pub async fn start(self) -> Result<Link, Error> {
        check(&self.name, &self.faults)?;
        let rng = match self.seed {
            Some(seed) => DetRng::from_seed(seed),
            None => TestContext::try_current()
                .map(|ctx| ctx.fork_rng(&format!("mocknet-link {}", self.name)))
                .ok_or_else(|| {
                    Error::new(ErrorKind::LinkStart)
                        .looking_for(self.name.clone())
                        .with_detail(
                            "no seed for its fault draws: start it inside a \
                             #[deterministic_test] or give one with LinkBuilder::seed",
                        )
                })?,
        };
        let listener = bind(&self.name, self.listen)?;
        let recorder = Arc::new(Recorder::new());
        let mut faults = self.faults;
        let timeline = std::mem::take(&mut faults.timeline);
        let (link, accept) =
            start_on(listener, self.upstream, self.name, 1, rng, recorder, faults)?;
        let play = tokio::spawn(timeline::play(Arc::downgrade(&link), timeline));
        Ok(Link {
            shared: link,
            accept,
            timeline: play,
        })
    }
}

/// Binds `addr` for link `name`.
pub(crate) fn bind(name: &str, addr: SocketAddr) -> Result<TcpListener, Error> {
    crate::listener::bind(addr).map_err(|err| {
        Error::new(ErrorKind::LinkStart)
            .looking_for(name)
            .with_value(addr.to_string())
            .with_detail(format!("could not listen on {addr}"))
            .with_source(err)
    })
}

/// Starts the accept loop of a link on `listener`; the network starts its links this way.
pub(crate) fn start_on(
    listener: TcpListener,
    upstream: SocketAddr,
    name: String,
    id: u32,
    rng: DetRng,
    recorder: Arc<Recorder>,
    faults: LinkFaults,
) -> Result<(Arc<LinkShared>, JoinHandle<()>), Error> {
    let addr = listener.local_addr().map_err(|err| {
        Error::new(ErrorKind::LinkStart)
            .looking_for(name.clone())
            .with_detail("could not read its listen address")
            .with_source(err)
    })?;
    let core = Arc::new(LinkCore {
        name,
        id,
        upstream,
        rng,
        state: state::Switch::new(LinkState::new(faults)),
        recorder,
    });
    let accept = tokio::spawn(connection::accept_loop(listener, Arc::clone(&core)));
    let shared = Arc::new(LinkShared {
        core,
        addr,
        next_partition: AtomicU64::new(0),
    });
    Ok((shared, accept))
}

/// Heals a partition when dropped, or when [`heal`](Self::heal) is called.
///
/// # Example
///
/// See [`Link::partition`] and [`Network::partition`](crate::network::Network::partition).
#[must_use = "dropping the guard heals the partition at once"]
pub struct PartitionGuard {
    heal: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl PartitionGuard {
    pub(crate) fn new(heal: impl FnOnce() + Send + Sync + 'static) -> Self {
        Self {
            heal: Some(Box::new(heal)),
        }
    }

    /// Heals the partition now.
    pub fn heal(mut self) {
        if let Some(heal) = self.heal.take() {
            heal();
        }
    }
}

impl fmt::Debug for PartitionGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartitionGuard")
            .field("healed", &self.heal.is_none())
            .finish()
    }
}

impl Drop for PartitionGuard {
    fn drop(&mut self) {
        if let Some(heal) = self.heal.take() {
            heal();
        }
    }
}
