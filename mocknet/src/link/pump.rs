//! Moving the bytes of one direction of a connection, with that direction's faults.
//!
//! Without faults a direction is one buffer and a read/write loop: no allocation per chunk,
//! one atomic check of the link's state per chunk. With faults, a reader stamps each chunk
//! with the time it is due and a writer delivers it then (so latency delays bytes without
//! cutting throughput to one chunk per delay), sliced and paced as the plan says.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::{Duration, Instant};

use steadfast_determinism::DetRng;

use super::faults::DirectionPlan;
use super::state::Switch;
use crate::fault;

/// Bytes read at a time; large, so bulk transfers make few system calls.
const BUFFER: usize = 64 * 1024;

/// Chunks in flight between reader and writer of a faulty direction.
const IN_FLIGHT: usize = 64;

/// Why a direction stopped before the end of its stream: the connection is then reset.
#[derive(Debug)]
pub(crate) enum Stop {
    /// A read or write failed (the peer reset, most often).
    Io(io::ErrorKind),
    /// The plan's `reset_after` was reached.
    ResetAfter(u64),
}

/// Copies `from` to `to` until the end of `from`'s stream, then shuts `to` down; `sent`
/// counts the bytes delivered.
pub(crate) async fn pump<R, W>(
    mut from: R,
    mut to: W,
    plan: &DirectionPlan,
    state: &Switch,
    sent: &AtomicU64,
    rng: DetRng,
) -> Result<(), Stop>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut seen = state.version();
    state.wait_open().await;
    if plan.black_hole {
        return swallow(from).await;
    }
    if !plan.is_plain() {
        return paced(from, to, plan, state, seen, sent, rng).await;
    }
    let mut buf = vec![0u8; BUFFER].into_boxed_slice();
    loop {
        let n = from.read(&mut buf).await.map_err(io_stop)?;
        if n == 0 {
            return finish(&mut to).await;
        }
        if state.version() != seen {
            seen = state.version();
            state.wait_open().await;
        }
        to.write_all(&buf[..n]).await.map_err(io_stop)?;
        sent.fetch_add(n as u64, Ordering::Relaxed);
    }
}

fn io_stop(err: io::Error) -> Stop {
    Stop::Io(err.kind())
}

async fn finish<W: AsyncWrite + Unpin>(to: &mut W) -> Result<(), Stop> {
    // The peer may already be gone; the end of the stream then needs no delivery.
    let _ = to.shutdown().await;
    Ok(())
}

/// Reads and drops everything; the end of the stream is not passed on either.
async fn swallow<R: AsyncRead + Unpin>(mut from: R) -> Result<(), Stop> {
    let mut buf = vec![0u8; BUFFER].into_boxed_slice();
    while from.read(&mut buf).await.map_err(io_stop)? > 0 {}
    Ok(())
}

async fn paced<R, W>(
    mut from: R,
    mut to: W,
    plan: &DirectionPlan,
    state: &Switch,
    mut seen: u64,
    sent: &AtomicU64,
    mut rng: DetRng,
) -> Result<(), Stop>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (chunks, mut due) = mpsc::channel::<(Instant, Vec<u8>)>(IN_FLIGHT);
    let delay = plan.delay;
    let reader = async move {
        let mut buf = vec![0u8; BUFFER].into_boxed_slice();
        let mut last = Instant::now();
        loop {
            let n = from.read(&mut buf).await.map_err(io_stop)?;
            if n == 0 {
                // Dropping the sender tells the writer the stream ended.
                return Ok::<(), Stop>(());
            }
            let jitter = match plan.jitter.as_slice() {
                [] => Duration::ZERO,
                jitter => fault::plan(jitter, &mut rng).delay,
            };
            // A chunk never overtakes the one before it: TCP keeps bytes in order.
            let at = (Instant::now() + delay + jitter).max(last);
            last = at;
            if chunks.send((at, buf[..n].to_vec())).await.is_err() {
                return Ok(());
            }
        }
    };
    let writer = async move {
        let started = Instant::now();
        let slice = match (plan.slice, plan.bytes_per_second) {
            (Some((bytes, _)), _) => bytes,
            // A twentieth of a second's worth of bytes at a time.
            (None, Some(rate)) => usize::try_from(rate / 20).unwrap_or(usize::MAX).max(1),
            (None, None) => usize::MAX,
        };
        let interval = plan.slice.map_or(Duration::ZERO, |(_, interval)| interval);
        let mut delivered = 0u64;
        while let Some((at, chunk)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            for piece in chunk.chunks(slice) {
                if state.version() != seen {
                    seen = state.version();
                    state.wait_open().await;
                }
                let piece = match plan.reset_after {
                    Some(limit) if delivered + piece.len() as u64 >= limit => {
                        let allowed = usize::try_from(limit - delivered).unwrap_or(piece.len());
                        to.write_all(&piece[..allowed]).await.map_err(io_stop)?;
                        sent.fetch_add(allowed as u64, Ordering::Relaxed);
                        return Err(Stop::ResetAfter(limit));
                    }
                    _ => piece,
                };
                to.write_all(piece).await.map_err(io_stop)?;
                delivered += piece.len() as u64;
                sent.fetch_add(piece.len() as u64, Ordering::Relaxed);
                if let Some(rate) = plan.bytes_per_second {
                    let paced = Duration::from_secs_f64(delivered as f64 / rate as f64);
                    tokio::time::sleep_until(started + paced).await;
                }
                if plan.slice.is_some() {
                    // Flush the slice as a write of its own before the next one.
                    to.flush().await.map_err(io_stop)?;
                    if interval.is_zero() {
                        tokio::task::yield_now().await;
                    } else {
                        tokio::time::sleep(interval).await;
                    }
                }
            }
        }
        finish(&mut to).await
    };
    tokio::try_join!(reader, writer).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::faults::LinkFaults;
    use crate::link::state::LinkState;

    fn test_rng() -> DetRng {
        DetRng::from_seed(steadfast_determinism::Seed::new(1))
    }

    fn open_state() -> Switch {
        Switch::new(LinkState::new(LinkFaults::new()))
    }

    #[tokio::test(start_paused = true)]
    async fn latency_delays_every_chunk_without_queueing_them_behind_each_other() {
        let (mut client, near) = tokio::io::duplex(1024);
        let (far, mut server) = tokio::io::duplex(1024);
        let plan = DirectionPlan {
            delay: Duration::from_millis(100),
            ..DirectionPlan::default()
        };
        let (sent, state) = (AtomicU64::new(0), open_state());
        let started = Instant::now();
        let pump = pump(near, far, &plan, &state, &sent, test_rng());
        let traffic = async {
            client.write_all(b"one").await.expect("write");
            tokio::time::sleep(Duration::from_millis(10)).await;
            client.write_all(b"two").await.expect("write");
            drop(client);
            let mut first = [0u8; 3];
            server.read_exact(&mut first).await.expect("first");
            let first_at = started.elapsed();
            let mut rest = Vec::new();
            server.read_to_end(&mut rest).await.expect("rest");
            (first, first_at, rest, started.elapsed())
        };
        let (pumped, (first, first_at, rest, done_at)) = tokio::join!(pump, traffic);

        assert!(pumped.is_ok());
        assert_eq!((&first, rest.as_slice()), (b"one", &b"two"[..]));
        assert_eq!(first_at, Duration::from_millis(100));
        assert_eq!(done_at, Duration::from_millis(110));
        assert_eq!(sent.load(Ordering::Relaxed), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn reset_after_delivers_exactly_the_allowed_bytes() {
        let (mut client, near) = tokio::io::duplex(1024);
        let (far, mut server) = tokio::io::duplex(1024);
        let plan = DirectionPlan {
            reset_after: Some(5),
            ..DirectionPlan::default()
        };
        let (sent, state) = (AtomicU64::new(0), open_state());
        client.write_all(b"0123456789").await.expect("write");
        let pumped = pump(near, far, &plan, &state, &sent, test_rng()).await;

        assert!(matches!(pumped, Err(Stop::ResetAfter(5))), "{pumped:?}");
        let mut got = [0u8; 5];
        server.read_exact(&mut got).await.expect("five bytes");
        assert_eq!(&got, b"01234");
        assert_eq!(sent.load(Ordering::Relaxed), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn bandwidth_paces_the_bytes_on_virtual_time() {
        let (mut client, near) = tokio::io::duplex(64 * 1024);
        let (far, mut server) = tokio::io::duplex(64 * 1024);
        let plan = DirectionPlan {
            bytes_per_second: Some(10_000),
            ..DirectionPlan::default()
        };
        let (sent, state) = (AtomicU64::new(0), open_state());
        client.write_all(&[7u8; 20_000]).await.expect("write");
        drop(client);
        let started = Instant::now();
        let (pumped, received) =
            tokio::join!(pump(near, far, &plan, &state, &sent, test_rng()), async {
                let mut all = Vec::new();
                server.read_to_end(&mut all).await.expect("read");
                all.len()
            });

        assert!(pumped.is_ok());
        assert_eq!(received, 20_000);
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }
}
