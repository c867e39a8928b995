//! The glibc functions a sealed thread answers itself. Every definition here is exported from
//! the test binary under glibc's name; on a thread that is not sealed it calls glibc's own
//! function, found with `dlsym(RTLD_NEXT, …)`.
//!
//! None of these functions may panic: a panic cannot unwind through `extern "C"`.

use std::ffi::CStr;
use std::time::Duration;

use libc::{c_char, c_int, c_long, c_uint, c_void, clockid_t, size_t, ssize_t, time_t, timespec};

use super::state::with_sealed;

/// Calls glibc's function `real` with the given signature, or fails with `ENOSYS` when glibc
/// does not have it.
macro_rules! call_real_impl {
    ($real:expr, fn($($ty:ty),*) -> $ret:ty, ($($arg:expr),*), $fail:expr) => {
        match $real.address() {
            0 => {
                $crate::seal::interpose::set_errno(libc::ENOSYS);
                $fail
            }
            address => {
                // SAFETY: `address` is glibc's definition of the function with this signature,
                // and the arguments are the caller's, passed on unchanged.
                let f: unsafe extern "C" fn($($ty),*) -> $ret = unsafe { std::mem::transmute(address) };
                unsafe { f($($arg),*) }
            }
        }
    };
}

/// Glibc's own functions, resolved once.
pub(super) mod real {
    use std::ffi::CStr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use libc::{c_int, c_long, clockid_t, timespec};

    /// A glibc function found with `dlsym(RTLD_NEXT, name)` on first use.
    pub(in super::super) struct Real {
        address: AtomicUsize,
        name: &'static CStr,
    }

    impl Real {
        const fn new(name: &'static CStr) -> Self {
            Self {
                address: AtomicUsize::new(0),
                name,
            }
        }

        /// The function's address, or 0 if glibc does not have it.
        #[inline]
        pub(in super::super) fn address(&self) -> usize {
            match self.address.load(Ordering::Relaxed) {
                0 => self.resolve(),
                address => address,
            }
        }

        #[cold]
        fn resolve(&self) -> usize {
            // SAFETY: `name` is NUL-terminated; RTLD_NEXT searches the objects loaded after the
            // test binary, which is where glibc's definitions are.
            let address = unsafe { libc::dlsym(libc::RTLD_NEXT, self.name.as_ptr()) } as usize;
            self.address.store(address, Ordering::Relaxed);
            address
        }
    }

    pub(in super::super) static CLOCK_GETTIME: Real = Real::new(c"clock_gettime");
    pub(in super::super) static GETTIMEOFDAY: Real = Real::new(c"gettimeofday");
    pub(in super::super) static TIME: Real = Real::new(c"time");
    pub(in super::super) static GETRANDOM: Real = Real::new(c"getrandom");
    pub(in super::super) static GETENTROPY: Real = Real::new(c"getentropy");
    pub(in super::super) static SYSCALL: Real = Real::new(c"syscall");
    pub(in super::super) static GETENV: Real = Real::new(c"getenv");
    pub(in super::super) static NANOSLEEP: Real = Real::new(c"nanosleep");
    pub(in super::super) static CLOCK_NANOSLEEP: Real = Real::new(c"clock_nanosleep");
    pub(in super::super) static EPOLL_WAIT: Real = Real::new(c"epoll_wait");
    pub(in super::super) static CONNECT: Real = Real::new(c"connect");
    pub(in super::super) static LISTEN: Real = Real::new(c"listen");
    pub(in super::super) static CLOSE: Real = Real::new(c"close");
    pub(in super::super) static WRITE: Real = Real::new(c"write");
    pub(in super::super) static WRITEV: Real = Real::new(c"writev");
    pub(in super::super) static SEND: Real = Real::new(c"send");
    pub(in super::super) static SENDTO: Real = Real::new(c"sendto");
    pub(in super::super) static SENDMSG: Real = Real::new(c"sendmsg");
    pub(in super::super) static READ: Real = Real::new(c"read");
    pub(in super::super) static READV: Real = Real::new(c"readv");
    pub(in super::super) static RECV: Real = Real::new(c"recv");
    pub(in super::super) static RECVFROM: Real = Real::new(c"recvfrom");
    pub(in super::super) static RECVMSG: Real = Real::new(c"recvmsg");

    /// Resolves every function before `main`, while the process has one thread.
    extern "C" fn resolve_all() {
        for real in [
            &CLOCK_GETTIME,
            &GETTIMEOFDAY,
            &TIME,
            &GETRANDOM,
            &GETENTROPY,
            &SYSCALL,
            &GETENV,
            &NANOSLEEP,
            &CLOCK_NANOSLEEP,
            &EPOLL_WAIT,
            &CONNECT,
            &LISTEN,
            &CLOSE,
            &WRITE,
            &WRITEV,
            &SEND,
            &SENDTO,
            &SENDMSG,
            &READ,
            &READV,
            &RECV,
            &RECVFROM,
            &RECVMSG,
        ] {
            real.address();
        }
    }

    #[used]
    #[unsafe(link_section = ".init_array")]
    static RESOLVE_AT_START: extern "C" fn() = resolve_all;

    /// Glibc's `clock_gettime`.
    ///
    /// # Safety
    ///
    /// `tp` must be valid for a write of a `timespec`.
    pub(in super::super) unsafe fn clock_gettime(clock: clockid_t, tp: *mut timespec) -> c_int {
        call_real_impl!(
            CLOCK_GETTIME,
            fn(clockid_t, *mut timespec) -> c_int,
            (clock, tp),
            -1
        )
    }

    /// A real reading of `clock` as a duration, if the clock exists.
    pub(in super::super) fn clock_duration(clock: clockid_t) -> Option<Duration> {
        let mut ts = timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid timespec to write.
        (unsafe { clock_gettime(clock, &mut ts) } == 0).then(|| super::to_duration(&ts))?
    }

    /// Glibc's `syscall` with all six argument registers.
    ///
    /// # Safety
    ///
    /// As for the system call `number` with these arguments.
    pub(in super::super) unsafe fn syscall(number: c_long, args: [c_long; 6]) -> c_long {
        // Glibc's `syscall` reads exactly these registers: its assembly moves the number and
        // six arguments into the kernel's registers.
        let [a, b, c, d, e, g] = args;
        call_real_impl!(
            SYSCALL,
            fn(c_long, c_long, c_long, c_long, c_long, c_long, c_long) -> c_long,
            (number, a, b, c, d, e, g),
            -1
        )
    }
}

pub(super) use call_real_impl as call_real;

pub(super) fn set_errno(value: c_int) {
    // SAFETY: glibc's errno location is valid for the calling thread.
    unsafe { *libc::__errno_location() = value };
}

pub(super) fn errno() -> c_int {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() }
}

fn to_duration(ts: &timespec) -> Option<Duration> {
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u32::try_from(ts.tv_nsec)
        .ok()
        .filter(|n| *n < 1_000_000_000)?;
    Some(Duration::new(secs, nanos))
}

fn to_timespec(duration: Duration) -> timespec {
    timespec {
        tv_sec: time_t::try_from(duration.as_secs()).unwrap_or(time_t::MAX),
        tv_nsec: duration.subsec_nanos().into(),
    }
}

/// Makes sure the linker keeps this object, so its definitions replace glibc's in every test
/// binary that seals a thread.
pub(super) fn keep_linked() {
    use super::sockets;
    let definitions: [*const (); 23] = [
        clock_gettime as *const (),
        gettimeofday as *const (),
        time as *const (),
        getrandom as *const (),
        getentropy as *const (),
        syscall as *const (),
        getenv as *const (),
        nanosleep as *const (),
        clock_nanosleep as *const (),
        sockets::epoll_wait as *const (),
        sockets::connect as *const (),
        sockets::listen as *const (),
        sockets::close as *const (),
        sockets::write as *const (),
        sockets::writev as *const (),
        sockets::send as *const (),
        sockets::sendto as *const (),
        sockets::sendmsg as *const (),
        sockets::read as *const (),
        sockets::readv as *const (),
        sockets::recv as *const (),
        sockets::recvfrom as *const (),
        sockets::recvmsg as *const (),
    ];
    std::hint::black_box(definitions);
}

/// `clock_gettime(3)`: the sealed clock on a sealed thread.
///
/// # Safety
///
/// `tp` must be valid for a write of a `timespec`, as for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn clock_gettime(clock: clockid_t, tp: *mut timespec) -> c_int {
    if let Some(Some(reading)) = with_sealed(|state| state.clock(clock)) {
        if tp.is_null() {
            set_errno(libc::EFAULT);
            return -1;
        }
        // SAFETY: the caller passes a valid timespec.
        unsafe { tp.write(to_timespec(reading)) };
        return 0;
    }
    // SAFETY: passed on unchanged.
    unsafe { real::clock_gettime(clock, tp) }
}

/// `gettimeofday(2)`: the test clock's wall time on a sealed thread.
///
/// # Safety
///
/// As for glibc's: `tv` null or valid for a write of a `timeval`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gettimeofday(tv: *mut libc::timeval, tz: *mut c_void) -> c_int {
    if let Some(wall) = with_sealed(|state| state.wall()) {
        if !tv.is_null() {
            let value = libc::timeval {
                tv_sec: time_t::try_from(wall.as_secs()).unwrap_or(time_t::MAX),
                tv_usec: (wall.subsec_micros()).into(),
            };
            // SAFETY: the caller passes a valid timeval.
            unsafe { tv.write(value) };
        }
        return 0;
    }
    call_real_impl!(
        real::GETTIMEOFDAY,
        fn(*mut libc::timeval, *mut c_void) -> c_int,
        (tv, tz),
        -1
    )
}

/// `time(2)`: the test clock's wall time in seconds on a sealed thread.
///
/// # Safety
///
/// As for glibc's: `tloc` null or valid for a write of a `time_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn time(tloc: *mut time_t) -> time_t {
    if let Some(wall) = with_sealed(|state| state.wall()) {
        let secs = time_t::try_from(wall.as_secs()).unwrap_or(time_t::MAX);
        if !tloc.is_null() {
            // SAFETY: the caller passes a valid time_t.
            unsafe { tloc.write(secs) };
        }
        return secs;
    }
    call_real_impl!(real::TIME, fn(*mut time_t) -> time_t, (tloc), -1)
}

/// Fills `len` bytes at `buf` from the sealed stream; false when the thread is not sealed.
///
/// # Safety
///
/// `buf` must be valid for `len` bytes of writes.
unsafe fn fill_sealed(buf: *mut c_void, len: usize) -> bool {
    with_sealed(|state| {
        if len > 0 {
            // SAFETY: the caller passes a buffer of `len` writable bytes; the sealed stream
            // initialises every byte of it.
            let dest = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
            state.fill_random(dest);
        }
    })
    .is_some()
}

/// `getrandom(2)`: bytes of the test's seed on a sealed thread.
///
/// # Safety
///
/// As for glibc's: `buf` valid for `len` bytes of writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn getrandom(buf: *mut c_void, len: size_t, flags: c_uint) -> ssize_t {
    // SAFETY: the caller's buffer, as glibc's contract requires.
    if unsafe { fill_sealed(buf, len) } {
        return ssize_t::try_from(len).unwrap_or(ssize_t::MAX);
    }
    call_real_impl!(
        real::GETRANDOM,
        fn(*mut c_void, size_t, c_uint) -> ssize_t,
        (buf, len, flags),
        -1
    )
}

/// `getentropy(3)`: bytes of the test's seed on a sealed thread (at most 256, as glibc's).
///
/// # Safety
///
/// As for glibc's: `buf` valid for `len` bytes of writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn getentropy(buf: *mut c_void, len: size_t) -> c_int {
    if len <= 256 {
        // SAFETY: the caller's buffer, as glibc's contract requires.
        if unsafe { fill_sealed(buf, len) } {
            return 0;
        }
    }
    call_real_impl!(
        real::GETENTROPY,
        fn(*mut c_void, size_t) -> c_int,
        (buf, len),
        -1
    )
}

/// `getenv(3)`: the pinned time zone and locale on a sealed thread.
///
/// # Safety
///
/// As for glibc's: `name` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn getenv(name: *const c_char) -> *mut c_char {
    if !name.is_null() {
        // SAFETY: the caller passes a NUL-terminated name.
        let key = unsafe { CStr::from_ptr(name) };
        if let Some(Some(value)) = with_sealed(|state| state.env(key)) {
            return value.cast_mut();
        }
    }
    call_real_impl!(
        real::GETENV,
        fn(*const c_char) -> *mut c_char,
        (name),
        std::ptr::null_mut()
    )
}

/// `nanosleep(2)`: on a sealed sync test's thread, the manual clock moves by `req` at once.
///
/// # Safety
///
/// As for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanosleep(req: *const timespec, rem: *mut timespec) -> c_int {
    // SAFETY: the caller passes a valid timespec or null.
    if let Some(duration) = unsafe { req.as_ref() }.and_then(to_duration)
        && with_sealed(|state| state.sleep(duration)) == Some(true)
    {
        return 0;
    }
    call_real_impl!(
        real::NANOSLEEP,
        fn(*const timespec, *mut timespec) -> c_int,
        (req, rem),
        -1
    )
}

/// `clock_nanosleep(2)`: as [`nanosleep`], for relative and absolute sleeps on sealed clocks.
///
/// # Safety
///
/// As for glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn clock_nanosleep(
    clock: clockid_t,
    flags: c_int,
    req: *const timespec,
    rem: *mut timespec,
) -> c_int {
    // SAFETY: the caller passes a valid timespec or null.
    if let Some(requested) = unsafe { req.as_ref() }.and_then(to_duration) {
        let slept = with_sealed(|state| {
            let by = if flags & libc::TIMER_ABSTIME != 0 {
                requested.saturating_sub(state.clock(clock)?)
            } else {
                requested
            };
            Some(state.sleep(by))
        });
        if slept == Some(Some(true)) {
            return 0;
        }
    }
    call_real_impl!(
        real::CLOCK_NANOSLEEP,
        fn(clockid_t, c_int, *const timespec, *mut timespec) -> c_int,
        (clock, flags, req, rem),
        libc::ENOSYS
    )
}

/// `syscall(2)`, defined with the six argument registers glibc's own assembly passes on.
///
/// On a sealed thread it answers `getrandom` and `clock_gettime` itself and moves the deadline
/// of a timed `futex` wait from the sealed clock to the real one.
///
/// # Safety
///
/// As for glibc's: the arguments must suit the system call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn syscall(
    number: c_long,
    a1: c_long,
    a2: c_long,
    a3: c_long,
    a4: c_long,
    a5: c_long,
    a6: c_long,
) -> c_long {
    match number {
        libc::SYS_getrandom => {
            let len = a2 as usize;
            // SAFETY: the caller's buffer, as the system call requires.
            if unsafe { fill_sealed(a1 as *mut c_void, len) } {
                return c_long::try_from(len).unwrap_or(c_long::MAX);
            }
        }
        libc::SYS_clock_gettime => {
            // SAFETY: as for the system call.
            return c_long::from(unsafe { clock_gettime(a1 as clockid_t, a2 as *mut timespec) });
        }
        libc::SYS_futex if a4 != 0 => {
            // SAFETY: as for the system call.
            if let Some(result) = unsafe { timed_futex([a1, a2, a3, a4, a5, a6]) } {
                return result;
            }
        }
        _ => {}
    }
    // SAFETY: passed on unchanged.
    unsafe { real::syscall(number, [a1, a2, a3, a4, a5, a6]) }
}

const FUTEX_WAIT: c_int = 0;
const FUTEX_WAIT_BITSET: c_int = 9;
const FUTEX_PRIVATE_FLAG: c_int = 128;
const FUTEX_CLOCK_REALTIME: c_int = 256;

/// A timed futex wait on a sealed thread: the caller computed an absolute deadline from the
/// sealed clock, so it is moved onto the real clock before the kernel sees it; when a sync
/// test's wait times out, its manual clock moves on by the time waited.
///
/// # Safety
///
/// `args` are the arguments of a `futex` system call whose fourth is not null.
unsafe fn timed_futex(mut args: [c_long; 6]) -> Option<c_long> {
    let op = args[1] as c_int;
    let command = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if command != FUTEX_WAIT && command != FUTEX_WAIT_BITSET {
        // Other operations do not take a timeout: their fourth register may hold anything.
        return None;
    }
    // SAFETY: both wait operations take a timespec (or null, excluded by the caller) as the
    // fourth argument.
    let timeout = to_duration(unsafe { &*(args[3] as *const timespec) })?;
    let (wait_for, kernel_timeout, manual) = with_sealed(|state| {
        let manual = state.is_manual();
        match command {
            FUTEX_WAIT => Some((timeout, timeout, manual)),
            FUTEX_WAIT_BITSET => {
                let clock = if op & FUTEX_CLOCK_REALTIME != 0 {
                    libc::CLOCK_REALTIME
                } else {
                    libc::CLOCK_MONOTONIC
                };
                let (sealed_now, real_now) = state.readings(clock)?;
                let wait_for = timeout.saturating_sub(sealed_now);
                Some((wait_for, real_now + wait_for, manual))
            }
            _ => None,
        }
    })
    .flatten()?;
    let kernel_timeout = to_timespec(kernel_timeout);
    args[3] = &kernel_timeout as *const timespec as c_long;
    // SAFETY: the caller's futex arguments with the timeout replaced by an equivalent one that
    // lives until the call returns.
    let result = unsafe { real::syscall(libc::SYS_futex, args) };
    if result == -1 && manual && errno() == libc::ETIMEDOUT {
        let _ = with_sealed(|state| state.sleep(wait_for));
        set_errno(libc::ETIMEDOUT);
    }
    Some(result)
}
