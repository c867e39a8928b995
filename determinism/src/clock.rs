//! Clocks that give wall time and monotonic time together, real or under the test's control.
//!
//! Code that takes a [`Clock`] instead of calling `SystemTime::now()` can be tested on exact
//! times: a [`ManualClock`] moves only when told to, a [`FrozenClock`] never moves, and inside an
//! async `#[deterministic_test]` the test clock follows tokio's paused clock, so an hour of
//! `tokio::time::sleep` moves the wall time by exactly one hour.
//!
//! ```
//! use std::time::Duration;
//! use steadfast_determinism::{Clock, ManualClock, timestamp};
//!
//! let clock = ManualClock::starting_at(timestamp::parse("2026-01-01T00:00:00Z")?);
//! let handle = clock.clone(); // clones share one time
//! handle.advance(Duration::from_secs(90));
//! assert_eq!(timestamp::format(clock.now()), "2026-01-01T00:01:30Z");
//! assert_eq!(clock.monotonic(), Duration::from_secs(90));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::timestamp;

/// One reading of a clock: wall time and monotonic time taken together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reading {
    /// Calendar time, as `SystemTime::now()` would give it.
    pub wall: SystemTime,
    /// Time since the clock's origin; never goes backwards.
    pub monotonic: Duration,
}

/// A source of wall time and monotonic time.
///
/// Implemented by [`SystemClock`] (the real clocks), [`ManualClock`], [`FrozenClock`],
/// [`TokioClock`] and the test's own [`TestClock`](crate::TestClock). Take `&dyn Clock`,
/// `impl Clock` or `Arc<dyn Clock>` in code that needs the time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Wall time and monotonic time, read together.
    fn read(&self) -> Reading;

    /// Wall time.
    fn now(&self) -> SystemTime {
        self.read().wall
    }

    /// Monotonic time since the clock's origin.
    fn monotonic(&self) -> Duration {
        self.read().monotonic
    }
}

/// Pointers to clocks are clocks, so `&dyn Clock`, `Arc<ManualClock>` and the like can be passed
/// wherever an `impl Clock` is expected.
macro_rules! forward_clock {
    ($($pointer:ty),*) => {$(
        impl<C: Clock + ?Sized> Clock for $pointer {
            fn read(&self) -> Reading {
                (**self).read()
            }
            fn now(&self) -> SystemTime {
                (**self).now()
            }
            fn monotonic(&self) -> Duration {
                (**self).monotonic()
            }
        }
    )*};
}

forward_clock!(&C, Arc<C>, Box<C>);

/// The real clocks: `SystemTime::now()` and `Instant::now()` (measured from the first use of any
/// `SystemClock` in the process).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn read(&self) -> Reading {
        Reading {
            wall: SystemTime::now(),
            monotonic: self.monotonic(),
        }
    }

    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn monotonic(&self) -> Duration {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed()
    }
}

/// A clock that moves only when told to. Clones share the same time, so a test can keep one
/// handle and give another to the code under test.
///
/// [`advance`](ManualClock::advance) moves both wall and monotonic time;
/// [`set`](ManualClock::set) jumps the wall time (forwards or backwards, as NTP can) and leaves
/// monotonic time alone. Reading is two atomic loads: cheaper than `SystemTime::now()`.
#[derive(Clone)]
pub struct ManualClock {
    state: Arc<ManualState>,
}

struct ManualState {
    start: SystemTime,
    /// Nanoseconds advanced since the start.
    elapsed_nanos: AtomicU64,
    /// Nanoseconds by which `set` moved the wall time away from `start + elapsed`.
    wall_shift_nanos: AtomicI64,
}

impl ManualClock {
    /// A clock reading `start` as wall time and zero as monotonic time.
    pub fn starting_at(start: SystemTime) -> Self {
        Self {
            state: Arc::new(ManualState {
                start,
                elapsed_nanos: AtomicU64::new(0),
                wall_shift_nanos: AtomicI64::new(0),
            }),
        }
    }

    /// Moves wall and monotonic time forward by `by` (saturating after about 584 years).
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update never fails with a closure that always returns Some.
        let _ = self
            .state
            .elapsed_nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_add(nanos))
            });
    }

    /// Sets the wall time to `to`; monotonic time does not change.
    ///
    /// Offsets beyond about ±292 years from the clock's course saturate.
    pub fn set(&self, to: SystemTime) {
        let course = self.state.start + Duration::from_nanos(self.elapsed());
        let shift = match to.duration_since(course) {
            Ok(ahead) => i64::try_from(ahead.as_nanos()).unwrap_or(i64::MAX),
            Err(behind) => i64::try_from(behind.duration().as_nanos())
                .map(|n| -n)
                .unwrap_or(i64::MIN),
        };
        self.state.wall_shift_nanos.store(shift, Ordering::Release);
    }

    /// The wall time this clock started at.
    pub fn start(&self) -> SystemTime {
        self.state.start
    }

    fn elapsed(&self) -> u64 {
        self.state.elapsed_nanos.load(Ordering::Acquire)
    }
}

impl Default for ManualClock {
    /// A clock starting at [`timestamp::DEFAULT_START`] (2026-01-01T00:00:00Z).
    fn default() -> Self {
        Self::starting_at(default_start())
    }
}

/// 2026-01-01T00:00:00Z as a `SystemTime`.
pub(crate) fn default_start() -> SystemTime {
    // 20454 days after the Unix epoch; checked against the parser in the timestamp tests.
    UNIX_EPOCH + Duration::from_secs(20_454 * 86_400)
}

impl Clock for ManualClock {
    #[inline]
    fn read(&self) -> Reading {
        let elapsed = Duration::from_nanos(self.elapsed());
        let shift = self.state.wall_shift_nanos.load(Ordering::Acquire);
        let course = self.state.start + elapsed;
        let wall = if shift >= 0 {
            course + Duration::from_nanos(shift as u64)
        } else {
            course - Duration::from_nanos(shift.unsigned_abs())
        };
        Reading {
            wall,
            monotonic: elapsed,
        }
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &timestamp::format(self.now()))
            .field("monotonic", &self.monotonic())
            .finish()
    }
}

/// A clock stopped at one reading forever: for code that must see one consistent "now".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrozenClock {
    reading: Reading,
}

impl FrozenClock {
    /// A clock whose wall time is always `wall` and whose monotonic time is always zero.
    pub fn at(wall: SystemTime) -> Self {
        Self {
            reading: Reading {
                wall,
                monotonic: Duration::ZERO,
            },
        }
    }

    /// A clock stopped at `clock`'s current reading.
    pub fn freeze(clock: &dyn Clock) -> Self {
        Self {
            reading: clock.read(),
        }
    }
}

impl Default for FrozenClock {
    /// Stopped at 2026-01-01T00:00:00Z.
    fn default() -> Self {
        Self::at(default_start())
    }
}

impl Clock for FrozenClock {
    fn read(&self) -> Reading {
        self.reading
    }
}

/// A clock that follows tokio's clock: wall time is `start` plus the tokio time elapsed since
/// the clock was created.
///
/// Under a paused tokio runtime (as in an async `#[deterministic_test]`) that elapsed time is
/// virtual, so `SystemTime`-based code and `tokio::time::sleep` agree exactly. Outside a runtime
/// it follows real time.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start: SystemTime,
    origin: tokio::time::Instant,
}

#[cfg(feature = "tokio")]
impl TokioClock {
    /// A clock reading `start` now, moving with tokio's clock from here on.
    pub fn starting_at(start: SystemTime) -> Self {
        Self {
            start,
            origin: tokio::time::Instant::now(),
        }
    }
}

#[cfg(feature = "tokio")]
impl Clock for TokioClock {
    fn read(&self) -> Reading {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.origin);
        Reading {
            wall: self.start + elapsed,
            monotonic: elapsed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_clones_share_time() {
        let clock = ManualClock::default();
        let other = clock.clone();
        other.advance(Duration::from_millis(1500));
        assert_eq!(clock.monotonic(), Duration::from_millis(1500));
        assert_eq!(
            clock.now().duration_since(default_start()).unwrap(),
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn set_moves_wall_time_both_ways_but_not_monotonic() {
        let clock = ManualClock::default();
        clock.advance(Duration::from_secs(10));
        let earlier = default_start() - Duration::from_secs(3600);
        clock.set(earlier);
        assert_eq!(clock.now(), earlier);
        assert_eq!(clock.monotonic(), Duration::from_secs(10));
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), earlier + Duration::from_secs(5));
    }

    #[test]
    fn frozen_clock_never_moves() {
        let manual = ManualClock::default();
        manual.advance(Duration::from_secs(7));
        let frozen = FrozenClock::freeze(&manual);
        manual.advance(Duration::from_secs(7));
        assert_eq!(frozen.monotonic(), Duration::from_secs(7));
        assert_eq!(frozen.now(), default_start() + Duration::from_secs(7));
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn tokio_clock_follows_paused_time_exactly() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let clock = TokioClock::starting_at(default_start());
            tokio::time::sleep(Duration::from_secs(3600)).await;
            assert_eq!(clock.monotonic(), Duration::from_secs(3600));
            assert_eq!(clock.now(), default_start() + Duration::from_secs(3600));
        });
    }

    #[test]
    fn system_clock_monotonic_never_goes_back() {
        let a = SystemClock.monotonic();
        let b = SystemClock.monotonic();
        assert!(b >= a);
    }
}
