//! Expectation-based waits: return as soon as a condition holds, fail with what was awaited.
//!
//! Never sleep a fixed time to "let things settle": wait for the thing itself. The sync waits
//! poll on real time with a short backoff; the async ones poll on tokio's clock, so under a
//! paused runtime the timeout is virtual time and costs no wall time.
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::time::Duration;
//! use steadfast_determinism::wait::{wait_for, wait_until};
//!
//! let done = AtomicUsize::new(0);
//! std::thread::scope(|s| {
//!     s.spawn(|| done.store(3, Ordering::SeqCst));
//!     wait_until(Duration::from_secs(5), || done.load(Ordering::SeqCst) == 3)
//! })?;
//!
//! let err = wait_for("the queue to drain", Duration::from_millis(20), || 4, |len| *len == 0)
//!     .unwrap_err();
//! assert!(err.to_string().contains("the queue to drain"));
//! assert!(err.to_string().contains("last observed: 4"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Debug;
#[cfg(feature = "tokio")]
use std::future::Future;
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::error::Error;

/// Waits on real time until `condition` returns true, checking it at once and then with a
/// backoff that starts at a few microseconds and never exceeds 5 ms.
///
/// # Errors
///
/// When `timeout` passes first: the error names the call site and the number of checks.
#[track_caller]
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> Result<(), Error> {
    let awaited = format!("the condition at {}", Location::caller());
    wait_for(awaited, timeout, &mut condition, |&held| held).map(|_| ())
}

/// Waits on real time until `accept` holds for the value `probe` returns, and gives that value.
///
/// # Errors
///
/// When `timeout` passes first: the error says what was awaited and the last observed value.
pub fn wait_for<T: Debug>(
    what: impl Into<String>,
    timeout: Duration,
    mut probe: impl FnMut() -> T,
    mut accept: impl FnMut(&T) -> bool,
) -> Result<T, Error> {
    let started = Instant::now();
    let mut backoff = Duration::from_micros(10);
    let mut attempts = 0u64;
    loop {
        let value = probe();
        attempts += 1;
        if accept(&value) {
            return Ok(value);
        }
        let elapsed = started.elapsed();
        if elapsed >= timeout {
            return Err(timed_out(what.into(), timeout, attempts, &value));
        }
        // Backing off between checks of an expectation, not waiting for a guessed duration.
        std::thread::sleep(backoff.min(timeout - elapsed));
        backoff = (backoff * 2).min(Duration::from_millis(5));
    }
}

/// How often the async waits check their condition, in tokio time.
#[cfg(feature = "tokio")]
fn poll_interval(timeout: Duration) -> Duration {
    (timeout / 100).clamp(Duration::from_millis(1), Duration::from_millis(50))
}

/// Waits on tokio's clock until the future returned by `check` resolves to true.
///
/// Under a paused runtime the timeout is virtual: an `eventually` over an hour costs
/// milliseconds. Checks happen at once and then every `timeout / 100` (1 ms to 50 ms).
///
/// # Errors
///
/// When `timeout` passes first: the error names the call site and the number of checks.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[track_caller]
pub fn eventually<F, Fut>(
    timeout: Duration,
    mut check: F,
) -> impl Future<Output = Result<(), Error>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let awaited = format!("the condition at {}", Location::caller());
    async move {
        eventually_value(awaited, timeout, &mut check, |&held| held)
            .await
            .map(|_| ())
    }
}

/// Waits on tokio's clock until `accept` holds for the value `probe` resolves to.
///
/// # Errors
///
/// When `timeout` passes first: the error says what was awaited and the last observed value.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub async fn eventually_value<T, F, Fut>(
    what: impl Into<String>,
    timeout: Duration,
    mut probe: F,
    mut accept: impl FnMut(&T) -> bool,
) -> Result<T, Error>
where
    T: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let started = tokio::time::Instant::now();
    let interval = poll_interval(timeout);
    let mut attempts = 0u64;
    loop {
        let value = probe().await;
        attempts += 1;
        if accept(&value) {
            return Ok(value);
        }
        let elapsed = started.elapsed();
        if elapsed >= timeout {
            return Err(timed_out(what.into(), timeout, attempts, &value));
        }
        tokio::time::sleep(interval.min(timeout - elapsed)).await;
    }
}

fn timed_out(awaited: String, timeout: Duration, attempts: u64, last: &dyn Debug) -> Error {
    Error::wait_timed_out(awaited, timeout, attempts, format!("{last:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[cfg(feature = "tokio")]
    fn paused_runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    }

    #[test]
    fn wait_until_returns_at_once_when_the_condition_already_holds() {
        let mut checks = 0;
        wait_until(Duration::ZERO, || {
            checks += 1;
            true
        })
        .unwrap();
        assert_eq!(checks, 1);
    }

    #[test]
    fn wait_until_timeout_names_the_call_site() {
        let err = wait_until(Duration::from_millis(5), || false).unwrap_err();
        assert!(err.is_timeout());
        assert!(err.to_string().contains(file!()), "{err}");
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn eventually_sees_a_value_set_by_another_task_in_virtual_time() {
        paused_runtime().block_on(async {
            let value = Arc::new(AtomicU32::new(0));
            let writer = Arc::clone(&value);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(30)).await;
                writer.store(7, Ordering::SeqCst);
            });
            let started = tokio::time::Instant::now();
            let seen = eventually_value(
                "the writer",
                Duration::from_secs(60),
                || {
                    let value = Arc::clone(&value);
                    async move { value.load(Ordering::SeqCst) }
                },
                |v| *v == 7,
            )
            .await
            .unwrap();
            assert_eq!(seen, 7);
            let waited = started.elapsed();
            assert!(
                waited >= Duration::from_secs(30) && waited <= Duration::from_millis(30_600),
                "{waited:?}"
            );
        });
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn eventually_times_out_after_exactly_the_virtual_timeout() {
        paused_runtime().block_on(async {
            let started = tokio::time::Instant::now();
            let err = eventually(Duration::from_secs(3600), || async { false })
                .await
                .unwrap_err();
            assert_eq!(started.elapsed(), Duration::from_secs(3600));
            assert_eq!(err.kind(), ErrorKind::WaitTimedOut, "{err}");
            // One check at once, then one every 50 ms (the interval's cap) for an hour.
            assert_eq!(err.attempts(), Some(1 + 3600 * 20));
            assert_eq!(err.last_observed(), Some("false"));
            assert_eq!(err.timeout(), Some(Duration::from_secs(3600)));
        });
    }
}
