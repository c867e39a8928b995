//! Real peers of a sealed async test: which sockets talk to another process, which of them are
//! waiting for an answer, and how long the runtime may wait for it before virtual time moves on.
//!
//! A connection counts as a real peer when the address it connects to is not a listener this
//! thread opened (MockNet and the user's in-process servers listen on the sealed thread). It is
//! *waiting* from its connect or its latest write until a read returns data.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// One socket connected to a real peer.
#[derive(Debug, Clone, Copy)]
struct PeerSocket {
    peer: SocketAddr,
    /// The real monotonic time of the connect or write that the peer has not answered yet.
    waiting_since: Option<Duration>,
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
                    waiting_since: Some(now),
                },
            );
        }
    }

    pub(super) fn wrote(&mut self, fd: i32, now: Duration) {
        if let Some(socket) = self.sockets.get_mut(&fd) {
            socket.waiting_since.get_or_insert(now);
        }
    }

    pub(super) fn read(&mut self, fd: i32) {
        if let Some(socket) = self.sockets.get_mut(&fd) {
            socket.waiting_since = None;
        }
    }

    pub(super) fn closed(&mut self, fd: i32) {
        self.sockets.remove(&fd);
    }

    /// The peer that has waited longest for an answer, and since when.
    pub(super) fn longest_waiting(&self) -> Option<(SocketAddr, Duration)> {
        self.sockets
            .values()
            .filter_map(|socket| Some((socket.peer, socket.waiting_since?)))
            .min_by_key(|(_, since)| *since)
    }

    /// Virtual time moves on while `peer` has not answered the request it got at `since`.
    pub(super) fn gave_up_on(
        &mut self,
        peer: SocketAddr,
        since: Duration,
        now: Duration,
        grace: Duration,
    ) {
        let unanswered_for = now.saturating_sub(since);
        match self
            .slow
            .iter_mut()
            .find(|slow| slow.peer == peer && slow.since == since)
        {
            Some(slow) => slow.unanswered_for = unanswered_for,
            None => self.slow.push(SlowPeer {
                peer,
                since,
                unanswered_for,
                grace,
            }),
        }
    }

    pub(super) fn slow(&self) -> Vec<SlowPeer> {
        self.slow.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_connection_to_an_own_listener_is_not_a_real_peer() {
        let mut peers = Peers::default();
        peers.listening(addr("127.0.0.1:4000"));
        peers.listening(addr("0.0.0.0:5000"));
        peers.connecting(3, addr("127.0.0.1:4000"), Duration::ZERO);
        peers.connecting(4, addr("127.0.0.1:5000"), Duration::ZERO);
        assert_eq!(peers.longest_waiting(), None);
        peers.connecting(5, addr("127.0.0.1:5432"), Duration::from_secs(1));
        assert_eq!(
            peers.longest_waiting(),
            Some((addr("127.0.0.1:5432"), Duration::from_secs(1)))
        );
    }

    #[test]
    fn a_peer_waits_from_its_write_until_a_read_returns_data() {
        let mut peers = Peers::default();
        peers.connecting(7, addr("10.0.0.1:80"), Duration::from_secs(1));
        peers.read(7);
        assert_eq!(peers.longest_waiting(), None);
        peers.wrote(7, Duration::from_secs(5));
        peers.wrote(7, Duration::from_secs(6));
        assert_eq!(
            peers.longest_waiting().map(|(_, since)| since),
            Some(Duration::from_secs(5))
        );
        peers.closed(7);
        assert_eq!(peers.longest_waiting(), None);
    }

    #[test]
    fn one_unanswered_request_is_one_slow_peer_however_often_time_moves_on() {
        let mut peers = Peers::default();
        let (peer, grace) = (addr("127.0.0.1:5432"), Duration::from_millis(500));
        peers.gave_up_on(
            peer,
            Duration::from_secs(1),
            Duration::from_millis(1500),
            grace,
        );
        peers.gave_up_on(peer, Duration::from_secs(1), Duration::from_secs(4), grace);
        peers.gave_up_on(peer, Duration::from_secs(9), Duration::from_secs(10), grace);
        let slow = peers.slow();
        assert_eq!(slow.len(), 2);
        assert_eq!(slow[0].unanswered_for(), Duration::from_secs(3));
        assert_eq!(
            slow[0].to_string(),
            "127.0.0.1:5432 had not answered after 3.000 s of real time (grace 0.500 s)"
        );
    }
}
