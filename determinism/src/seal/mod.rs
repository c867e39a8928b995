//! Sealing a test's thread: code under test reads the test's clock, seed, time zone and locale,
//! not the operating system's.
//!
//! With the `seal` feature, `#[deterministic_test]` runs each run of a test on a fresh thread
//! that is *sealed* while the test body runs. On that thread, and only there:
//!
//! | what the code under test calls | what it gets |
//! | --- | --- |
//! | `SystemTime::now()`, `chrono::Utc::now()`, `jiff::Timestamp::now()`, `time::OffsetDateTime::now_utc()`, C's `time()` and `gettimeofday()` | the test clock's wall time |
//! | `Instant::now()` (`CLOCK_MONOTONIC` and its coarse, raw and boot-time variants) | a reading that moves exactly with the test's virtual time |
//! | `getrandom` and `getentropy` (so `rand::rng()`, `HashMap`'s `RandomState`, `uuid::Uuid::new_v4()`) | bytes from the `"os-random"` stream of the test's seed |
//! | `std::env::var("TZ")`, `"LANG"`, `"LC_ALL"` (so chrono's and jiff's local time zone) | the pinned time zone (default `UTC`) and locale (default `C.UTF-8`) |
//! | `std::thread::sleep` in a sync test | the manual clock moves by the duration at once |
//!
//! Other threads, and code outside a sealed run, see the real operating system: the functions
//! below pass straight through to glibc when the calling thread is not sealed.
//!
//! ```
//! # #[cfg(all(target_os = "linux", target_env = "gnu"))] {
//! use std::sync::Arc;
//! use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
//! use steadfast_determinism::seal::Seal;
//! use steadfast_determinism::{Clock, Seed, TestContext};
//!
//! let ctx = Arc::new(TestContext::new("docs::sealed", Seed::new(7)));
//! let guard = Seal::new().enter(&ctx)?;
//! // 2026-01-01T00:00:00Z, the test clock's start, whatever the real date is.
//! let wall = SystemTime::now().duration_since(UNIX_EPOCH)?;
//! assert_eq!(wall, Duration::from_secs(1_767_225_600));
//! let before = Instant::now();
//! ctx.clock().advance(Duration::from_secs(3600));
//! assert_eq!(before.elapsed(), Duration::from_secs(3600));
//! drop(guard);
//! assert!(SystemTime::now().duration_since(UNIX_EPOCH)? != Duration::from_secs(1_767_225_600 + 3600));
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## How it works, and what it does not cover
//!
//! Rust's standard library on Linux reads time with glibc's `clock_gettime` (which answers from
//! the vDSO without a system call) and randomness with glibc's `getrandom`, found with
//! `dlsym(RTLD_DEFAULT, "getrandom")` by std and by the `getrandom` crate 0.3 and 0.4;
//! `getrandom` 0.2 (behind `rand` 0.8) makes the raw system call through glibc's `syscall`.
//! This module defines `clock_gettime`, `gettimeofday`, `time`, `getrandom`, `getentropy`,
//! `syscall`, `getenv`, `nanosleep` and `clock_nanosleep` in the test binary. The static linker
//! binds the binary's own calls to these definitions, and because glibc defines the same names
//! they are exported, so `dlsym(RTLD_DEFAULT, …)` finds them too. Each one checks a
//! thread-local flag and either answers for the sealed test or calls glibc's own function
//! (found once with `dlsym(RTLD_NEXT, …)`). `syscall` is defined with six `long` arguments, the
//! register layout glibc's own assembly uses on x86_64 and aarch64; it answers `getrandom` and
//! `clock_gettime` itself and rewrites the deadline of timed `futex` waits from the sealed
//! clock back to the real one, so a `Condvar::wait_timeout` waits as long as it asked to.
//!
//! Not covered, with the reason:
//! * calls made inside glibc itself (`localtime_r` reading `TZ`, `setlocale(LC_ALL, "")`,
//!   `pthread_cond_timedwait`): glibc binds them to its internal aliases, which no definition in
//!   the binary can replace. Rust crates that read `TZ` through `std::env` (chrono, jiff) are
//!   covered.
//! * the `syscall` instruction executed directly (inline assembly, `rustix` with its
//!   `linux_raw` backend, `getrandom` built with `--cfg getrandom_backend="linux_raw"`) and
//!   `/dev/urandom` read as a file: they never enter glibc.
//! * `std::env::vars()` lists the real environment: it reads `environ` directly.
//! * in async tests, a blocking call on the test's thread (`std::thread::sleep`, a timed
//!   `recv_timeout`) waits in real time while virtual time stands still, because tokio cannot
//!   advance its paused clock while its only thread is blocked.
//!
//! In async tests the wall and monotonic readings follow tokio's paused clock as it was when
//! the test's future or the runtime last resumed (after each park of the driver and each
//! readiness poll); a task that calls `tokio::time::advance` sees the new time once it yields.
//!
//! The feature builds only for Linux with glibc on x86_64 and aarch64; elsewhere enabling it
//! is a compile error saying why.

#[cfg(not(all(
    target_os = "linux",
    target_env = "gnu",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
compile_error!(
    "steadfast-determinism's `seal` feature needs Linux with glibc on x86_64 or aarch64: it \
     replaces glibc's clock_gettime, getrandom and getenv inside the test binary, which other \
     platforms do not allow in the same way; build without the `seal` feature there"
);

mod interpose;
mod peers;
mod sockets;
mod state;

use std::ffi::CString;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::context::TestContext;
use crate::error::Error;

pub use peers::SlowPeer;
#[cfg(feature = "tokio")]
pub(crate) use state::parking;
pub(crate) use state::refresh;

/// How to seal a thread: the time zone and locale the code under test sees.
///
/// The defaults are `UTC` and `C.UTF-8`. `#[deterministic_test(tz = "Europe/Berlin")]` sets the
/// time zone and checks the name at compile time; [`Seal::time_zone`] checks only that the name
/// is non-empty and holds no NUL byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Seal {
    time_zone: &'static str,
    locale: &'static str,
    grace: Option<Duration>,
}

impl Seal {
    /// `TZ=UTC`, `LANG=LC_ALL=C.UTF-8`.
    pub const fn new() -> Self {
        Self {
            time_zone: "UTC",
            locale: "C.UTF-8",
            grace: None,
        }
    }

    /// The `clock = "real-peers"` policy: while a real peer (a socket this thread connected to
    /// an address none of its listeners has) owes an answer, an idle runtime waits up to
    /// `grace` of real time for it before its paused clock moves on to the next timer. An
    /// answer within the grace takes no virtual time; a peer that never answers lets timeouts
    /// fire after the grace.
    pub const fn real_peers(mut self, grace: Duration) -> Self {
        self.grace = Some(grace);
        self
    }

    /// The value of `TZ` on the sealed thread, such as `"Europe/Berlin"`.
    pub const fn time_zone(mut self, time_zone: &'static str) -> Self {
        self.time_zone = time_zone;
        self
    }

    /// The value of `LANG` and `LC_ALL` on the sealed thread, such as `"de_DE.UTF-8"`.
    pub const fn locale(mut self, locale: &'static str) -> Self {
        self.locale = locale;
        self
    }

    /// The time zone this seal pins.
    pub const fn pinned_time_zone(&self) -> &'static str {
        self.time_zone
    }

    /// Seals the calling thread for `ctx` until the guard is dropped: clock readings follow
    /// `ctx.clock()`, OS randomness comes from `ctx`'s seed (stream `"os-random"`).
    ///
    /// For async tests, call it inside the test's runtime (the clock follows tokio's paused
    /// clock there) and wrap the test's future with [`SealGuard::follow`].
    ///
    /// # Errors
    ///
    /// When the thread is already sealed, or the time zone or locale is empty or holds a NUL
    /// byte.
    pub fn enter(&self, ctx: &Arc<TestContext>) -> Result<SealGuard, Error> {
        let time_zone = pinned_value("time zone", self.time_zone)?;
        let locale = pinned_value("locale", self.locale)?;
        state::install(ctx, time_zone, locale, self.grace)?;
        Ok(SealGuard {
            _not_send: PhantomData,
        })
    }
}

impl Default for Seal {
    fn default() -> Self {
        Self::new()
    }
}

fn pinned_value(what: &'static str, value: &'static str) -> Result<CString, Error> {
    if value.is_empty() {
        return Err(Error::seal(format!("the pinned {what} is empty")));
    }
    CString::new(value)
        .map_err(|_| Error::seal(format!("the pinned {what} {value:?} holds a NUL byte")))
}

/// True while the calling thread is sealed.
pub fn is_sealed() -> bool {
    state::is_sealed()
}

/// Keeps the calling thread sealed; dropping it gives the thread back the real clock,
/// randomness and environment. Not `Send`: a seal belongs to one thread.
#[must_use = "the thread is sealed only while the guard lives"]
#[derive(Debug)]
pub struct SealGuard {
    _not_send: PhantomData<*const ()>,
}

impl SealGuard {
    /// The real peers that had not answered within the grace when virtual time moved on
    /// (`clock = "real-peers"`), oldest first: what to blame when a timeout fired.
    pub fn slow_peers(&self) -> Vec<SlowPeer> {
        state::slow_peers()
    }

    /// Wraps an async test's future so the sealed clock catches up with tokio's clock each
    /// time the future is polled.
    pub fn follow<F: std::future::Future>(
        &self,
        future: F,
    ) -> impl std::future::Future<Output = F::Output> {
        let mut future = Box::pin(future);
        std::future::poll_fn(move |cx| {
            refresh();
            future.as_mut().poll(cx)
        })
    }
}

impl Drop for SealGuard {
    fn drop(&mut self) {
        state::uninstall();
    }
}
