//! The accept loop of a link and the life of one proxied connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use steadfast_determinism::DetRng;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::faults::ConnectionPlan;
use super::journal::{NetEvent, NetEventKind, Recorder, Scope};
use super::pump::{Stop, pump};
use super::state::Switch;
use crate::listener::{ACCEPT_BACKOFF, is_connection_error};

/// What a connection task needs of its link.
#[derive(Debug)]
pub(crate) struct LinkCore {
    pub(crate) name: String,
    /// The link's number in its network's journal (from 1).
    pub(crate) id: u32,
    pub(crate) upstream: SocketAddr,
    pub(crate) rng: DetRng,
    pub(crate) state: Switch,
    pub(crate) recorder: Arc<Recorder>,
}

impl LinkCore {
    pub(crate) fn record(&self, connection: Option<u64>, mut event: NetEvent) {
        event.link = Some(self.name.clone());
        event.connection = connection;
        let scope = Scope {
            link: self.id,
            connection: connection.map_or(0, |n| n + 1),
        };
        self.recorder.record(scope, event);
    }
}

/// Accepts connections until the link stops, then waits for the open ones to end.
pub(crate) async fn accept_loop(listener: TcpListener, core: Arc<LinkCore>) {
    // Dropping the set (when the accept task is aborted) aborts every connection with it.
    let mut connections = JoinSet::new();
    let mut next = 0u64;
    // Off for a while after an accept failed for want of descriptors (see ACCEPT_BACKOFF):
    // until a connection ends, or the backoff passes.
    let mut accepting = true;
    let backoff = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(backoff);
    loop {
        tokio::select! {
            biased;
            () = core.state.wait_stopping() => break,
            accepted = listener.accept(), if accepting => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve(stream, next, Arc::clone(&core)));
                    next += 1;
                }
                // A connection reset or aborted while queued only loses that connection.
                Err(err) if is_connection_error(&err) => {}
                Err(_) => {
                    accepting = false;
                    backoff.as_mut().reset(tokio::time::Instant::now() + ACCEPT_BACKOFF);
                }
            },
            () = &mut backoff, if !accepting => accepting = true,
            Some(_) = connections.join_next(), if !connections.is_empty() => accepting = true,
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Closes `stream` abortively: the kernel sends RST, the peer sees `ConnectionReset`.
fn reset(stream: TcpStream) {
    // If SO_LINGER cannot be set the close is an orderly one, which still ends the stream.
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

async fn serve(client: TcpStream, id: u64, core: Arc<LinkCore>) {
    let state = &core.state;
    let (epoch, faults, refusal) = {
        let now = state.read();
        (now.epoch, Arc::clone(&now.faults), now.refusal())
    };
    let mut rng = core.rng.fork(&format!("connection {id}"));
    let plan = faults.plan(&mut rng);
    let mut opened = NetEvent::new(NetEventKind::Opened);
    opened.faults.clone_from(&plan.applied);
    core.record(Some(id), opened);
    let refused = |why: &str| {
        core.record(Some(id), NetEvent::new(NetEventKind::Refused).detail(why));
    };
    if let Some(why) = refusal {
        refused(why);
        return reset(client);
    }
    if plan.refuse || plan.reset_at_open {
        refused("a fault");
        return reset(client);
    }
    // Waiting to dial while the link is held or partitioned is how a new connection stalls.
    let dialled = tokio::select! {
        // Biased: the order of the checks must not depend on tokio's random branch choice.
        biased;
        () = state.wait_reset(epoch) => None,
        () = state.wait_open() => Some(()),
    };
    let refusal = state.read().refusal();
    if dialled.is_none() || refusal.is_some() {
        refused(refusal.unwrap_or("the link was reset while the connection waited"));
        return reset(client);
    }
    // A slow dial is reset as a connection waiting to dial is: the client never waits on it.
    let connected = tokio::select! {
        biased;
        () = state.wait_reset(epoch) => None,
        connected = TcpStream::connect(core.upstream) => Some(connected),
    };
    let upstream = match connected {
        Some(Ok(upstream)) => upstream,
        Some(Err(err)) => {
            refused(&format!("the upstream refused: {}", err.kind()));
            return reset(client);
        }
        None => {
            let refusal = state.read().refusal();
            refused(refusal.unwrap_or("the link was reset while the connection dialled"));
            return reset(client);
        }
    };
    // Small messages must not wait for Nagle's algorithm on either leg.
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let streams = (rng.fork("upstream"), rng.fork("downstream"));
    proxy(client, upstream, id, (&plan, streams), epoch, &core).await;
}

async fn proxy(
    mut client: TcpStream,
    mut upstream: TcpStream,
    id: u64,
    (plan, (up_rng, down_rng)): (&ConnectionPlan, (DetRng, DetRng)),
    epoch: u64,
    core: &LinkCore,
) {
    let state = &core.state;
    let (up, down) = (AtomicU64::new(0), AtomicU64::new(0));
    let outcome = {
        let (client_read, client_write) = client.split();
        let (upstream_read, upstream_write) = upstream.split();
        let both = async {
            tokio::try_join!(
                pump(
                    client_read,
                    upstream_write,
                    &plan.upstream,
                    state,
                    &up,
                    up_rng,
                ),
                pump(
                    upstream_read,
                    client_write,
                    &plan.downstream,
                    state,
                    &down,
                    down_rng,
                ),
            )
        };
        tokio::select! {
            biased;
            done = both => done.err().map(|stop| match stop {
                Stop::Io(kind) => format!("an end of the connection failed: {kind}"),
                Stop::ResetAfter(bytes) => format!("a fault, after {bytes} bytes"),
            }),
            () = state.wait_reset(epoch) => {
                Some(reset_reason(&state.read()).into())
            }
        }
    };
    let kind = match outcome {
        Some(_) => NetEventKind::Reset,
        None => NetEventKind::Closed,
    };
    let mut event = NetEvent::new(kind);
    event.bytes_up = up.load(Ordering::Relaxed);
    event.bytes_down = down.load(Ordering::Relaxed);
    event.detail = outcome;
    core.record(Some(id), event);
    if kind == NetEventKind::Reset {
        reset(client);
        reset(upstream);
    }
}

fn reset_reason(state: &super::state::LinkState) -> &'static str {
    state.refusal().unwrap_or("the link was reset")
}
