//! Connection I/O: the accept loop, reading requests, writing replies with their faults, and
//! sending callbacks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::Shared;
use super::routing::{PendingCallback, Reply};
use crate::callback::{self, CallbackRecord};
use crate::fault::{Effect, Plan};
use crate::http1::{self, ReadError};
use crate::listener::{ACCEPT_BACKOFF, is_connection_error};

pub(super) async fn accept_loop(listener: TcpListener, addr: SocketAddr, shared: Arc<Shared>) {
    // Dropping the set (when the accept task is aborted) aborts every connection with it.
    let mut connections = JoinSet::new();
    let mut refuse = shared.refuse_until.subscribe();
    let mut listener = Some(listener);
    loop {
        let refusing = refuse
            .borrow_and_update()
            .filter(|until| *until > tokio::time::Instant::now());
        match (refusing, &listener) {
            (Some(until), _) => {
                // With no listening socket the kernel answers each SYN with a RST: the client
                // sees ECONNREFUSED. Open connections live on.
                listener = None;
                tokio::select! {
                    () = tokio::time::sleep_until(until) => {}
                    _ = refuse.changed() => {}
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
            (None, None) => match rebind(addr).await {
                Ok(again) => listener = Some(again),
                Err(err) => {
                    eprintln!(
                        "steadfast: mocknet could not listen on {addr} again after refusing \
                         connections, so it stops: {err}"
                    );
                    return;
                }
            },
            (None, Some(open)) => tokio::select! {
                accepted = open.accept() => match accepted {
                    Ok((stream, _)) => {
                        if shared.close_on_accept() {
                            // Closed before a byte is read.
                            drop(stream);
                            continue;
                        }
                        // Small responses must not wait for Nagle's algorithm.
                        let _ = stream.set_nodelay(true);
                        connections.spawn(serve(stream, Arc::clone(&shared)));
                    }
                    // A connection reset or aborted while queued only loses that connection.
                    Err(err) if is_connection_error(&err) => {}
                    // Out of descriptors: pause rather than spin (see ACCEPT_BACKOFF).
                    Err(_) => tokio::select! {
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                        Some(_) = connections.join_next(), if !connections.is_empty() => {}
                    },
                },
                _ = refuse.changed() => {}
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            },
        }
    }
}

/// Listens on `addr` again, retrying briefly should another socket hold the port a moment.
async fn rebind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let mut attempt = 0;
    loop {
        match crate::listener::bind(addr) {
            Ok(listener) => return Ok(listener),
            Err(err) if attempt >= 20 => return Err(err),
            Err(_) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let read = http1::read_request(&mut stream, &mut buf);
        let read = match shared.request_timeout {
            None => read.await,
            Some(limit) => match tokio::time::timeout(limit, read).await {
                Ok(read) => read,
                // An idle keep-alive connection is only closed; a started request is told why.
                Err(_) if buf.is_empty() => return,
                Err(_) => {
                    let why = "the request did not arrive within the server's request timeout";
                    let _ = stream.write_all(&http1::refusal(408, why)).await;
                    return;
                }
            },
        };
        let raw = match read {
            Ok(raw) => raw,
            Err(ReadError::Closed | ReadError::Io) => return,
            Err(ReadError::Bad(status, why)) => {
                let _ = stream.write_all(&http1::refusal(status, why)).await;
                return;
            }
        };
        let close = raw.close;
        // A response to HEAD has the head of the GET response and no body.
        let head_only = raw.method == "HEAD";
        let mut reply = shared.handle(raw);
        if let Some((template, index)) = reply.render.take() {
            reply.response = Arc::new(shared.render(template, index).await);
        }
        let callback = reply.callback.take();
        let sent = send(&mut stream, reply, close, head_only).await;
        // `handle` only plans a callback when the route's own response goes out unbroken.
        if let (Some(callback), Ok(_)) = (callback, &sent) {
            shared.spawn_callback(callback);
        }
        match sent {
            Ok(true) if !close => {}
            _ => return,
        }
    }
}

/// Writes the reply; `Ok(true)` when the connection can serve another request.
async fn send(
    stream: &mut TcpStream,
    reply: Reply,
    close: bool,
    head_only: bool,
) -> std::io::Result<bool> {
    let Reply {
        plan,
        response,
        mut rng,
        callback: _,
        render: _,
    } = reply;
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    let headers = || {
        response
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
    };
    match plan.outcome {
        Some(Effect::Hang) => std::future::pending().await,
        Some(Effect::Reset) => {
            // SO_LINGER 0 turns the close into an abortive one: the kernel sends RST.
            socket2::SockRef::from(&*stream).set_linger(Some(Duration::ZERO))?;
            Ok(false)
        }
        Some(Effect::Empty) => {
            stream.shutdown().await?;
            Ok(false)
        }
        Some(Effect::Malformed) => {
            let mut garbage = [0u8; 48];
            rng.fill_bytes(&mut garbage);
            // A first byte of 0 can never start a status line.
            garbage[0] = 0;
            stream.write_all(&garbage).await?;
            stream.shutdown().await?;
            Ok(false)
        }
        Some(Effect::Truncated) => {
            let promised = response.body.len().max(1);
            let mut out = http1::response_head(response.status, headers(), promised, false);
            out.extend_from_slice(&response.body[..response.body.len() / 2]);
            stream.write_all(&out).await?;
            stream.shutdown().await?;
            Ok(false)
        }
        Some(Effect::Status {
            status,
            retry_after,
        }) => {
            let retry_after = retry_after.map(|seconds| seconds.to_string());
            let extra = retry_after
                .as_deref()
                .map(|value| ("retry-after", value.as_bytes()));
            let out = http1::response_head(status, extra, 0, close);
            stream.write_all(&out).await?;
            Ok(true)
        }
        _ => {
            let head = http1::response_head(response.status, headers(), response.body.len(), close);
            let body = if head_only { &[][..] } else { &response.body };
            write_body(stream, head, body, &plan).await?;
            Ok(true)
        }
    }
}

/// Writes head and body, pacing the body by the dribble and bandwidth faults of the plan.
async fn write_body(
    stream: &mut TcpStream,
    mut head: Vec<u8>,
    body: &[u8],
    plan: &Plan,
) -> std::io::Result<()> {
    if plan.dribble.is_none() && plan.bandwidth.is_none() {
        head.extend_from_slice(body);
        return stream.write_all(&head).await;
    }
    stream.write_all(&head).await?;
    // Bandwidth alone sends a twentieth of a second's worth of bytes at a time.
    let chunk = match (plan.dribble, plan.bandwidth) {
        (Some((chunk, _)), _) => chunk,
        (None, Some(rate)) => usize::try_from(rate / 20).unwrap_or(usize::MAX).max(1),
        (None, None) => body.len().max(1),
    };
    let mut chunks = body.chunks(chunk).peekable();
    while let Some(piece) = chunks.next() {
        stream.write_all(piece).await?;
        if chunks.peek().is_none() {
            break;
        }
        let interval = plan
            .dribble
            .map(|(_, interval)| interval)
            .unwrap_or_default();
        let paced = plan
            .bandwidth
            .map(|rate| Duration::from_secs_f64(piece.len() as f64 / rate as f64))
            .unwrap_or_default();
        tokio::time::sleep(interval.max(paced)).await;
    }
    Ok(())
}

impl Shared {
    /// Whether to close the connection just accepted before reading, using up one of the
    /// closes `close-on-accept` faults asked for.
    fn close_on_accept(&self) -> bool {
        let mut state = self.lock();
        let close = state.close_on_accept > 0;
        state.close_on_accept = state.close_on_accept.saturating_sub(1);
        close
    }

    /// Sends a callback from a task on the server's runtime and records its outcome.
    pub(super) fn spawn_callback(self: &Arc<Self>, pending: PendingCallback) {
        let shared = Arc::clone(self);
        let task = async move {
            let PendingCallback {
                index,
                callback,
                url,
                traceparent,
            } = pending;
            if !callback.delay.is_zero() {
                tokio::time::sleep(callback.delay).await;
            }
            let at = shared.started.elapsed();
            let outcome = callback::send(&callback, &url, traceparent).await;
            let (status, error) = match outcome {
                Ok(status) => (Some(status), None),
                Err(error) => (None, Some(error)),
            };
            let record = CallbackRecord {
                method: callback.method.to_string(),
                url: url.to_string(),
                at,
                traceparent,
                status,
                error,
            };
            let done = {
                let mut state = shared.lock();
                if let Some(entry) = state.journal.get_mut(index) {
                    entry.callback = Some(record);
                }
                state.callbacks_done += 1;
                state.callbacks_done
            };
            shared.called_back.send_replace(done);
        };
        let mut state = self.lock();
        // Reap finished callbacks so the set holds only live ones.
        while state.callbacks.try_join_next().is_some() {}
        state.callbacks.spawn(task);
    }
}
