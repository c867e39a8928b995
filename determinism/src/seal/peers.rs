//! Real peers of a sealed async test: which sockets talk to another process, which of them are
//! waiting for an answer, and how long the runtime may wait for it before virtual time moves on.
//!
//! A connection counts as a real peer when the address it connects to is not a listener this
//! thread opened (MockNet and the user's in-process servers listen on the sealed thread). It
//! *owes an answer* from its connect or a write until data comes back; after data comes back,
//! more may follow (a response's body after its headers, a protocol's trailing message), so it
//! is also waited for until it has been quiet for [`QUIET`].

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// How long a real peer that just sent data may stay quiet before its answer counts as
/// complete: the gap between the segments of one answer on a loopback or LAN connection.
pub(super) const QUIET: Duration = Duration::from_millis(50);

/// One socket connected to a real peer; times are real monotonic time.
#[derive(Debug, Clone, Copy)]
struct PeerSocket {
    peer: SocketAddr,
    /// The connect or latest write.
    last_write: Duration,
    /// The latest read that returned data.
    last_read: Option<Duration>,
}

impl PeerSocket {
    fn owes_answer(&self) -> bool {
        self.last_read.is_none_or(|read| read < self.last_write)
    }

    /// Until when the runtime should wait for this peer before its paused clock moves on.
    fn wait_until(&self, grace: Duration) -> Duration {
        match self.last_read {
            Some(read) if !self.owes_answer() => read + QUIET.min(grace),
            _ => self.last_write + grace,
        }
    }
}

/// A real peer that had not answered within the grace when virtual time moved on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowPeer {
    peer: SocketAddr,
    /// Real monotonic time of the request it had not answered: one entry per request.
    since: Duration,
    unanswered_for: Duration,
    grace: Duration,
}

impl SlowPeer {
    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// How long, in real time, it had not answered when virtual time last moved on.
    pub fn unanswered_for(&self) -> Duration {
        self.unanswered_for
    }

    /// The grace it was given.
    pub fn grace(&self) -> Duration {
        self.grace
    }
}

impl fmt::Display for SlowPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} had not answered after {:.3} s of real time (grace {:.3} s)",
            self.peer,
            self.unanswered_for.as_secs_f64(),
            self.grace.as_secs_f64()
        )
    }
}

/// The sockets and listeners of one sealed thread.
#[derive(Debug, Default)]
pub(super) struct Peers {
    listeners: Vec<SocketAddr>,
    sockets: BTreeMap<i32, PeerSocket>,
    slow: Vec<SlowPeer>,
}

impl Peers {
    pub(super) fn listening(&mut self, addr: SocketAddr) {
        self.listeners.push(addr);
    }

    /// A connect to `peer` on `fd`: a real peer unless one of this thread's listeners has
    /// that address (a listener on 0.0.0.0 or :: has every local address of its port).
    pub(super) fn connecting(&mut self, fd: i32, peer: SocketAddr, now: Duration) {
        let local = self.listeners.iter().any(|listener| {
            listener.port() == peer.port()
                && (listener.ip() == peer.ip() || listener.ip().is_unspecified())
        });
        if local {
            self.sockets.remove(&fd);
        } else {
            self.sockets.insert(
                fd,
                PeerSocket {
                    peer,
                    last_write: now,
                    last_read: None,
                },
            );
        }
    }

    /// A write on `fd`; `now` is read only if `fd` is a real peer's socket.
    pub(super) fn wrote(&mut self, fd: i32, now: &dyn Fn() -> Duration) {
        if let Some(socket) = self.sockets.get_mut(&fd)
            && !socket.owes_answer()
        {
            socket.last_write = now();
        }
    }

    /// A read that returned data on `fd`; `now` is read only if `fd` is a real peer's socket.
    pub(super) fn read(&mut self, fd: i32, now: &dyn Fn() -> Duration) {
        if let Some(socket) = self.sockets.get_mut(&fd) {
            socket.last_read = Some(now());
        }
    }

    pub(super) fn closed(&mut self, fd: i32) {
        self.sockets.remove(&fd);
    }

    /// Until when an idle runtime should wait for real peers, if any is owed an answer or may
    /// still be sending one.
    pub(super) fn wait_until(&self, grace: Duration) -> Option<Duration> {
        self.sockets
            .values()
            .map(|socket| socket.wait_until(grace))
            .max()
    }

    /// Virtual time moves on at `now`: the peers still owing an answer past their grace are
    /// remembered as slow, once per request.
    pub(super) fn moving_on(&mut self, now: Duration, grace: Duration) {
        for socket in self.sockets.values() {
            if !socket.owes_answer() || now < socket.last_write + grace {
                continue;
            }
            let unanswered_for = now.saturating_sub(socket.last_write);
            match self
                .slow
                .iter_mut()
                .find(|slow| slow.peer == socket.peer && slow.since == socket.last_write)
            {
                Some(slow) => slow.unanswered_for = unanswered_for,
                None => self.slow.push(SlowPeer {
                    peer: socket.peer,
                    since: socket.last_write,
                    unanswered_for,
                    grace,
                }),
            }
        }
    }

    pub(super) fn slow(&self) -> Vec<SlowPeer> {
        self.slow.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(2);

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_connection_to_an_own_listener_is_not_a_real_peer() {
        let mut peers = Peers::default();
        peers.listening(addr("127.0.0.1:4000"));
        peers.listening(addr("0.0.0.0:5000"));
        peers.connecting(3, addr("127.0.0.1:4000"), Duration::ZERO);
        peers.connecting(4, addr("127.0.0.1:5000"), Duration::ZERO);
        assert_eq!(peers.wait_until(GRACE), None);
        peers.connecting(5, addr("127.0.0.1:5432"), secs(1.0));
        assert_eq!(peers.wait_until(GRACE), Some(secs(3.0)));
    }

    #[test]
    fn an_answer_is_waited_for_from_the_request_then_until_the_peer_is_quiet() {
        let mut peers = Peers::default();
        peers.connecting(7, addr("10.0.0.1:80"), secs(1.0));
        peers.read(7, &|| secs(1.2));
        assert_eq!(peers.wait_until(GRACE), Some(secs(1.2) + QUIET));
        peers.wrote(7, &|| secs(5.0));
        // A second write before the answer keeps the first request's deadline.
        peers.wrote(7, &|| secs(6.0));
        assert_eq!(peers.wait_until(GRACE), Some(secs(7.0)));
        // Headers, then the body: the peer stays waited for after each piece.
        peers.read(7, &|| secs(6.5));
        peers.read(7, &|| secs(6.6));
        assert_eq!(peers.wait_until(GRACE), Some(secs(6.6) + QUIET));
        peers.closed(7);
        assert_eq!(peers.wait_until(GRACE), None);
    }

    #[test]
    fn one_unanswered_request_is_one_slow_peer_however_often_time_moves_on() {
        let mut peers = Peers::default();
        let peer = addr("127.0.0.1:5432");
        peers.connecting(3, peer, secs(1.0));
        peers.moving_on(secs(2.0), GRACE);
        assert!(peers.slow().is_empty(), "within the grace");
        peers.moving_on(secs(3.5), GRACE);
        peers.moving_on(secs(4.0), GRACE);
        let slow = peers.slow();
        assert_eq!(slow.len(), 1);
        assert_eq!(slow[0].unanswered_for(), secs(3.0));
        assert_eq!(
            slow[0].to_string(),
            "127.0.0.1:5432 had not answered after 3.000 s of real time (grace 2.000 s)"
        );
        peers.read(3, &|| secs(4.5));
        peers.moving_on(secs(9.0), GRACE);
        assert_eq!(peers.slow().len(), 1, "an answered peer is not slow");
    }
}
