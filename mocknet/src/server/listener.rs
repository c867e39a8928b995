//! The listening socket, which can be closed for a while and opened again on the same port so
//! that clients meet a real connection refusal in between.

use std::net::SocketAddr;

use socket2::{Domain, Socket, Type};
use tokio::net::TcpListener;

/// The backlog of the listening socket.
const BACKLOG: i32 = 1024;

/// Binds and listens on `addr` (port 0 for a free one), with `SO_REUSEADDR` so that the port
/// can be bound again after a refusal even while closed connections linger in `TIME_WAIT`.
pub(super) fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    TcpListener::from_std(socket.into())
}
