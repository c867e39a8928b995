//! The sealed thread's state: one pointer in a thread-local, read by every interposed call.

use std::cell::{Cell, RefCell};
use std::ffi::{CStr, CString};
use std::ptr;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::interpose::real;
use super::peers::{Peers, SlowPeer};
use crate::clock::{Clock, Reading};
use crate::context::{TestClock, TestContext};
use crate::error::Error;
use crate::rng::DetRng;

/// Everything an interposed call needs to answer for the sealed test.
pub(super) struct SealState {
    clock: TestClock,
    /// Real readings of each monotonic-family clock when the seal began; sealed readings are
    /// these plus the test's virtual elapsed time.
    origins: [Duration; CLOCK_IDS],
    /// TAI minus UTC, as the kernel reported it when the seal began.
    tai_offset: Duration,
    /// The tokio clock's reading at the last refresh (async tests only).
    followed: Cell<Option<Reading>>,
    os_random: RefCell<DetRng>,
    time_zone: CString,
    locale: CString,
    /// `clock = "real-peers"`: how long an idle runtime waits for a real peer's answer.
    grace: Option<Duration>,
    /// True between the runtime's park and unpark callbacks.
    parking: Cell<bool>,
    peers: RefCell<Peers>,
}

/// `CLOCK_*` ids below this are known to the sealed clock.
pub(super) const CLOCK_IDS: usize = 12;

thread_local! {
    /// The sealed state of this thread, or null. `const` and without a destructor, so an
    /// interposed call reads it at any point of the thread's life, even during its teardown.
    static SEALED: Cell<*const SealState> = const { Cell::new(ptr::null()) };
    /// Set while an interposed call computes its answer, so calls it makes itself (tokio reading
    /// `Instant::now()` when its clock is not paused) go to the real OS instead of recursing.
    static BUSY: Cell<bool> = const { Cell::new(false) };
}

pub(super) fn install(
    ctx: &Arc<TestContext>,
    time_zone: CString,
    locale: CString,
    grace: Option<Duration>,
) -> Result<(), Error> {
    if is_sealed() {
        return Err(Error::seal(
            "this thread is already sealed: drop the first SealGuard before entering another"
                .to_owned(),
        ));
    }
    let mut origins = [Duration::ZERO; CLOCK_IDS];
    for (id, origin) in origins.iter_mut().enumerate() {
        *origin = real::clock_duration(id as libc::clockid_t).unwrap_or_default();
    }
    let tai_offset = origins[libc::CLOCK_TAI as usize]
        .saturating_sub(real::clock_duration(libc::CLOCK_REALTIME).unwrap_or_default());
    let clock = ctx.clock().clone();
    let followed = Cell::new(clock.follows_tokio().then(|| clock.read_unrecorded()));
    let state = Box::new(SealState {
        clock,
        origins,
        tai_offset,
        followed,
        os_random: RefCell::new(ctx.fork_rng("os-random")),
        time_zone,
        locale,
        grace,
        parking: Cell::new(false),
        peers: RefCell::new(Peers::default()),
    });
    SEALED.with(|sealed| sealed.set(Box::into_raw(state)));
    super::interpose::keep_linked();
    Ok(())
}

pub(super) fn uninstall() {
    let state = SEALED.with(|sealed| sealed.replace(ptr::null()));
    if !state.is_null() {
        // SAFETY: `install` made the pointer with `Box::into_raw`, and it was just taken out of
        // the thread-local, so no interposed call can reach it any more.
        drop(unsafe { Box::from_raw(state.cast_mut()) });
    }
}

/// The real peers that had not answered within the grace when virtual time moved on.
pub(super) fn slow_peers() -> Vec<SlowPeer> {
    with_sealed(|state| {
        state
            .peers
            .try_borrow()
            .map(|peers| peers.slow())
            .unwrap_or_default()
    })
    .unwrap_or_default()
}

/// The runtime's driver is about to park (`true`) or has unparked (`false`).
#[cfg(feature = "tokio")]
pub(crate) fn parking(parking: bool) {
    let _ = with_sealed(|state| state.parking.set(parking));
    if !parking {
        refresh();
    }
}

pub(super) fn is_sealed() -> bool {
    !SEALED.with(Cell::get).is_null()
}

/// Runs `f` with this thread's sealed state, unless the thread is not sealed or is already
/// inside an interposed call.
#[inline]
pub(super) fn with_sealed<R>(f: impl FnOnce(&SealState) -> R) -> Option<R> {
    let state = SEALED.with(Cell::get);
    if state.is_null() || BUSY.with(Cell::get) {
        return None;
    }
    BUSY.with(|busy| busy.set(true));
    // SAFETY: a non-null pointer stays valid until `uninstall` on this same thread takes it
    // out of the thread-local, and `uninstall` is not called from inside an interposed call.
    let answer = f(unsafe { &*state });
    BUSY.with(|busy| busy.set(false));
    Some(answer)
}

/// Lets the sealed clock of an async test catch up with tokio's paused clock.
///
/// Called where reading tokio's clock is safe: when the test's future is polled, after the
/// runtime's driver parks, and after each readiness poll.
pub(crate) fn refresh() {
    let _ = with_sealed(|state| {
        if state.clock.follows_tokio() {
            state.followed.set(Some(state.clock.read_unrecorded()));
        }
    });
}

impl SealState {
    fn reading(&self) -> Reading {
        match self.followed.get() {
            Some(reading) => reading,
            None => self.clock.read(),
        }
    }

    /// The sealed reading of `clock`, or `None` for clocks the seal leaves alone (CPU time).
    pub(super) fn clock(&self, clock: libc::clockid_t) -> Option<Duration> {
        match clock {
            libc::CLOCK_REALTIME | libc::CLOCK_REALTIME_COARSE | libc::CLOCK_REALTIME_ALARM => {
                Some(self.wall())
            }
            libc::CLOCK_TAI => Some(self.wall() + self.tai_offset),
            libc::CLOCK_MONOTONIC
            | libc::CLOCK_MONOTONIC_RAW
            | libc::CLOCK_MONOTONIC_COARSE
            | libc::CLOCK_BOOTTIME
            | libc::CLOCK_BOOTTIME_ALARM => {
                Some(self.origins[clock as usize] + self.reading().monotonic)
            }
            _ => None,
        }
    }

    /// The test clock's wall time since the Unix epoch (zero for times before it).
    pub(super) fn wall(&self) -> Duration {
        self.reading()
            .wall
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }

    pub(super) fn fill_random(&self, dest: &mut [u8]) {
        if let Ok(mut rng) = self.os_random.try_borrow_mut() {
            rng.fill_bytes(dest);
        }
    }

    /// The sealed and the real reading of `clock`, taken together; `None` for clocks the seal
    /// leaves alone.
    pub(super) fn readings(&self, clock: libc::clockid_t) -> Option<(Duration, Duration)> {
        let sealed = self.clock(clock)?;
        let real = real::clock_duration(clock)?;
        Some((sealed, real))
    }

    /// Lets `by` pass on a manual clock at once. False for a clock that follows tokio, which
    /// only moves while the runtime is idle.
    pub(super) fn sleep(&self, by: Duration) -> bool {
        match self.clock.as_manual() {
            Some(clock) => {
                clock.advance(by);
                true
            }
            None => false,
        }
    }

    pub(super) fn is_manual(&self) -> bool {
        self.clock.as_manual().is_some()
    }

    /// Tells this thread's peers about a socket call. The real monotonic time is read only when
    /// a call concerns a real peer: most reads and writes of a test's thread are on files,
    /// pipes and the runtime's own wake-up descriptor.
    pub(super) fn peers(&self, f: impl FnOnce(&mut Peers, &dyn Fn() -> Duration)) {
        if self.grace.is_none() {
            return;
        }
        let now = || real::clock_duration(libc::CLOCK_MONOTONIC).unwrap_or_default();
        if let Ok(mut peers) = self.peers.try_borrow_mut() {
            f(&mut peers, &now);
        }
    }

    /// How much longer an idle runtime should wait for real peers before its paused clock
    /// moves on: only while the driver parks under `clock = "real-peers"`.
    pub(super) fn peer_wait(&self) -> Option<Duration> {
        let grace = self.grace?;
        if !self.parking.get() {
            return None;
        }
        let until = self.peers.try_borrow().ok()?.wait_until(grace)?;
        let now = real::clock_duration(libc::CLOCK_MONOTONIC)?;
        Some(until.saturating_sub(now))
    }

    /// The paused clock is about to move on: remember the peers still owing an answer.
    pub(super) fn moving_on(&self) {
        let Some(grace) = self.grace else { return };
        let now = real::clock_duration(libc::CLOCK_MONOTONIC).unwrap_or_default();
        if let Ok(mut peers) = self.peers.try_borrow_mut() {
            peers.moving_on(now, grace);
        }
    }

    pub(super) fn env(&self, name: &CStr) -> Option<*const libc::c_char> {
        match name.to_bytes() {
            b"TZ" => Some(self.time_zone.as_ptr()),
            b"LANG" | b"LC_ALL" => Some(self.locale.as_ptr()),
            other if other.starts_with(b"LC_") || other == b"LANGUAGE" => Some(ptr::null()),
            _ => None,
        }
    }
}
