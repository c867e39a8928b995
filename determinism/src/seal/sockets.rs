//! The socket calls a sealed async test's thread watches, to know when a real peer owes an
//! answer, and the readiness poll that waits for it (the `clock = "real-peers"` policy).
//!
//! Tokio's paused clock jumps to the next timer when its runtime is idle: the driver polls for
//! readiness with a zero timeout (`epoll_wait(…, 0)`) and, when nothing is ready, advances the
//! clock. While a real peer owes an answer, that poll here waits up to the grace in real time
//! instead, so an answer that comes within it takes no virtual time at all; past the grace the
//! poll returns empty and virtual time moves on, so timeouts still fire.

use libc::{c_int, c_void, size_t, sockaddr, socklen_t, ssize_t};

use super::interpose::{call_real, errno, real, set_errno};
use super::state::{refresh, with_sealed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// The address in a `sockaddr`, for IPv4 and IPv6.
///
/// # Safety
///
/// `addr` null or valid for `len` bytes.
unsafe fn socket_addr(addr: *const sockaddr, len: socklen_t) -> Option<SocketAddr> {
    if addr.is_null() {
        return None;
    }
    let len = len as usize;
    // SAFETY: the caller's address of `len` bytes; each family is read only when long enough.
    unsafe {
        match c_int::from((*addr).sa_family) {
            libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
                let v4 = &*addr.cast::<libc::sockaddr_in>();
                Some(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr)),
                    u16::from_be(v4.sin_port),
                )))
            }
            libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
                let v6 = &*addr.cast::<libc::sockaddr_in6>();
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(v6.sin6_addr.s6_addr),
                    u16::from_be(v6.sin6_port),
                    v6.sin6_flowinfo,
                    v6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }
}

/// The address `fd` is bound to.
fn local_addr(fd: c_int) -> Option<SocketAddr> {
    // SAFETY: zeroed storage is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as socklen_t;
    let addr = (&raw mut storage).cast::<sockaddr>();
    // SAFETY: storage of `len` bytes for the kernel to fill; getsockname is not interposed.
    if unsafe { libc::getsockname(fd, addr, &mut len) } != 0 {
        return None;
    }
    // SAFETY: the kernel filled `len` bytes.
    unsafe { socket_addr(addr, len) }
}

/// Passes a socket call on to glibc and tells the sealed thread's peers what it did, keeping
/// the call's `errno`.
macro_rules! watched {
    ($real:expr, fn($($ty:ty),*) -> $ret:ty, ($($arg:expr),*), |$result:ident| $after:expr) => {{
        let $result = call_real!($real, fn($($ty),*) -> $ret, ($($arg),*), -1);
        let saved = errno();
        $after;
        set_errno(saved);
        $result
    }};
}

/// `connect(2)`: a connection to an address no listener of this thread has is a real peer.
///
/// # Safety
///
/// As for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    // SAFETY: the caller's address.
    let peer = unsafe { socket_addr(addr, len) };
    watched!(
        real::CONNECT,
        fn(c_int, *const sockaddr, socklen_t) -> c_int,
        (fd, addr, len),
        |result| {
            if let Some(peer) = peer
                && (result == 0 || errno() == libc::EINPROGRESS)
            {
                let _ = with_sealed(|state| {
                    state.peers(|peers, now| peers.connecting(fd, peer, now()))
                });
            }
        }
    )
}

/// `listen(2)`: connections to this address stay inside the test.
///
/// # Safety
///
/// As for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn listen(fd: c_int, backlog: c_int) -> c_int {
    watched!(
        real::LISTEN,
        fn(c_int, c_int) -> c_int,
        (fd, backlog),
        |result| {
            if result == 0
                && let Some(addr) = local_addr(fd)
            {
                let _ = with_sealed(|state| state.peers(|peers, _| peers.listening(addr)));
            }
        }
    )
}

/// `close(2)`: forgets the socket.
///
/// # Safety
///
/// As for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    let _ = with_sealed(|state| state.peers(|peers, _| peers.closed(fd)));
    call_real!(real::CLOSE, fn(c_int) -> c_int, (fd), -1)
}

fn note_write(fd: c_int, result: ssize_t) {
    if result > 0 {
        let _ = with_sealed(|state| state.peers(|peers, now| peers.wrote(fd, now)));
    }
}

fn note_read(fd: c_int, result: ssize_t) {
    if result > 0 {
        let _ = with_sealed(|state| state.peers(|peers, now| peers.read(fd, now)));
    }
}

/// `write(2)`, watched for real peers.
///
/// # Safety
///
/// As for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t {
    watched!(
        real::WRITE,
        fn(c_int, *const c_void, size_t) -> ssize_t,
        (fd, buf, count),
        |result| note_write(fd, result)
    )
}

/// `writev(2)`, watched for real peers.
///
/// # Safety
///
/// As for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const libc::iovec, count: c_int) -> ssize_t {
    watched!(
        real::WRITEV,
        fn(c_int, *const libc::iovec, c_int) -> ssize_t,
        (fd, iov, count),
        |result| note_write(fd, result)
    )
}

/// `send(2)`, watched for real peers.
///
/// # Safety
///
/// As for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
    watched!(
        real::SEND,
        fn(c_int, *const c_void, size_t, c_int) -> ssize_t,
        (fd, buf, len, flags),
        |result| note_write(fd, result)
    )
}

/// `sendmsg(2)`, watched for real peers.
///
/// # Safety
///
/// As for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const libc::msghdr, flags: c_int) -> ssize_t {
    watched!(
        real::SENDMSG,
        fn(c_int, *const libc::msghdr, c_int) -> ssize_t,
        (fd, msg, flags),
        |result| note_write(fd, result)
    )
}

/// `read(2)`, watched for real peers.
///
/// # Safety
///
/// As for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t {
    watched!(
        real::READ,
        fn(c_int, *mut c_void, size_t) -> ssize_t,
        (fd, buf, count),
        |result| note_read(fd, result)
    )
}

/// `readv(2)`, watched for real peers.
///
/// # Safety
///
/// As for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const libc::iovec, count: c_int) -> ssize_t {
    watched!(
        real::READV,
        fn(c_int, *const libc::iovec, c_int) -> ssize_t,
        (fd, iov, count),
        |result| note_read(fd, result)
    )
}

/// `recv(2)`, watched for real peers.
///
/// # Safety
///
/// As for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t {
    watched!(
        real::RECV,
        fn(c_int, *mut c_void, size_t, c_int) -> ssize_t,
        (fd, buf, len, flags),
        |result| {
            // A peek leaves the answer in the socket: the reader has not had it yet.
            if flags & libc::MSG_PEEK == 0 {
                note_read(fd, result)
            }
        }
    )
}

/// `recvfrom(2)`, watched for real peers.
///
/// # Safety
///
/// As for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    addr_len: *mut socklen_t,
) -> ssize_t {
    watched!(
        real::RECVFROM,
        fn(c_int, *mut c_void, size_t, c_int, *mut sockaddr, *mut socklen_t) -> ssize_t,
        (fd, buf, len, flags, addr, addr_len),
        |result| {
            if flags & libc::MSG_PEEK == 0 {
                note_read(fd, result)
            }
        }
    )
}

/// `recvmsg(2)`, watched for real peers.
///
/// # Safety
///
/// As for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut libc::msghdr, flags: c_int) -> ssize_t {
    watched!(
        real::RECVMSG,
        fn(c_int, *mut libc::msghdr, c_int) -> ssize_t,
        (fd, msg, flags),
        |result| {
            if flags & libc::MSG_PEEK == 0 {
                note_read(fd, result)
            }
        }
    )
}

/// `sendto(2)`, watched for real peers.
///
/// # Safety
///
/// As for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    addr_len: socklen_t,
) -> ssize_t {
    watched!(
        real::SENDTO,
        fn(c_int, *const c_void, size_t, c_int, *const sockaddr, socklen_t) -> ssize_t,
        (fd, buf, len, flags, addr, addr_len),
        |result| note_write(fd, result)
    )
}

/// `epoll_wait(2)`. After each readiness poll an async test's sealed clock catches up with
/// tokio's clock. Under `clock = "real-peers"`, the zero-timeout poll an idle runtime makes
/// before it advances its paused clock waits up to the grace for a real peer that owes an
/// answer.
///
/// # Safety
///
/// As for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn epoll_wait(
    epfd: c_int,
    events: *mut libc::epoll_event,
    maxevents: c_int,
    timeout: c_int,
) -> c_int {
    let poll = |timeout: c_int| {
        call_real!(
            real::EPOLL_WAIT,
            fn(c_int, *mut libc::epoll_event, c_int, c_int) -> c_int,
            (epfd, events, maxevents, timeout),
            -1
        )
    };
    let mut ready = poll(timeout);
    if ready == 0 && timeout == 0 {
        while let Some(Some(remaining)) = with_sealed(|state| state.peer_wait()) {
            if remaining.is_zero() {
                let _ = with_sealed(|state| state.moving_on());
                break;
            }
            let millis = remaining.as_millis().clamp(1, c_int::MAX as u128) as c_int;
            ready = poll(millis);
            if ready != 0 {
                break;
            }
        }
    }
    let saved = errno();
    refresh();
    set_errno(saved);
    ready
}
