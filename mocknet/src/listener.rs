//! Listening sockets: MockNet's, which can be closed for a while and opened again on the same
//! port so that clients meet a real connection refusal in between, and those of links and
//! network nodes. All take a backlog of 1,024 (std's `bind` takes 128): a burst of
//! connections overflowing the accept queue loses their handshakes' last ACK, and a client
//! that waits for the server to speak first then waits forever.

use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use tokio::net::TcpListener;

/// The backlog of the listening socket.
const BACKLOG: i32 = 1024;

/// How long an accept loop pauses after an accept failed for want of resources (descriptors,
/// memory), unless a connection ends and frees some first. Out of descriptors, accept fails
/// at once for as long as a connection waits in the backlog: retrying at once would spin.
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Whether an accept error is about the one connection it would have accepted (reset or
/// aborted while queued), so that accepting can go on at once.
pub(crate) fn is_connection_error(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionRefused
    )
}

/// Binds and listens on `addr` (port 0 for a free one), with `SO_REUSEADDR` so that the port
/// can be bound again after a refusal even while closed connections linger in `TIME_WAIT`.
pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::from_std(bind_std(addr)?)
}

/// [`bind`], as a non-blocking std listener (a network node's, handed to each of its runs).
pub(crate) fn bind_std(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}
