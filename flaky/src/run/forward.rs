//! Passing SIGINT, SIGTERM and SIGHUP on to the process groups of commands with a timeout.
//!
//! Such a command runs in a group of its own, which a terminal's Ctrl-C does not reach. While
//! one runs, this process handles the three signals itself: the handler sends each on to every
//! watched group and marks those runs interrupted. The first run to begin installs the
//! handler; the last to end puts back the handlers that were there before, so a caller's own
//! handling (or the default, terminating one) returns once the runs are over.
//!
//! The handler only loads and stores atomics and calls `kill`, which is async-signal-safe.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, PoisonError};

use super::child::signal_group;

/// The signals passed on, with their names.
const SIGNALS: [(libc::c_int, &str); 3] = [
    (libc::SIGINT, "SIGINT"),
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGHUP, "SIGHUP"),
];

/// Runs with a timeout that can be going on at once in one process.
const SLOTS: usize = 32;

/// A slot's `group` when no run holds it.
const FREE: libc::pid_t = 0;
/// A slot's `group` when its run has begun and its command is not started yet.
const RESERVED: libc::pid_t = -1;

/// One run's entry: its command's process group, and the last signal it was sent.
struct Slot {
    group: AtomicI32,
    signal: AtomicI32,
}

static RUNS: [Slot; SLOTS] = [const {
    Slot {
        group: AtomicI32::new(FREE),
        signal: AtomicI32::new(0),
    }
}; SLOTS];

/// How many runs are forwarding, and the handlers that were installed before the first.
struct Installed {
    runs: usize,
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

static INSTALLED: Mutex<Installed> = Mutex::new(Installed {
    runs: 0,
    previous: Vec::new(),
});

extern "C" fn forward(signal: libc::c_int) {
    for slot in &RUNS {
        let group = slot.group.load(Ordering::SeqCst);
        if group == FREE {
            continue;
        }
        slot.signal.store(signal, Ordering::SeqCst);
        // Loaded again: `watch` may have stored the group since. It reads `signal` after
        // storing the group, so one of the two sees the other and the signal is never lost.
        let group = slot.group.load(Ordering::SeqCst);
        if group > 0 {
            signal_group(group, signal);
        }
    }
}

/// A run's hold on forwarding, from before its command starts until it is reaped.
pub(crate) struct Forwarding {
    slot: &'static Slot,
}

impl Forwarding {
    /// Takes a slot and makes sure the handler is installed.
    pub(crate) fn begin() -> io::Result<Self> {
        let slot = RUNS
            .iter()
            .find(|slot| {
                slot.group
                    .compare_exchange(FREE, RESERVED, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            })
            .ok_or_else(|| {
                io::Error::other(format!("more than {SLOTS} runs with a timeout at once"))
            })?;
        slot.signal.store(0, Ordering::SeqCst);
        let forwarding = Self { slot };
        let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
        if installed.runs == 0 {
            installed.previous = install()?;
        }
        installed.runs += 1;
        Ok(forwarding)
    }

    /// Sends signals to `group` from now on, and at once the one that came before, if any.
    pub(crate) fn watch(&self, group: libc::pid_t) {
        self.slot.group.store(group, Ordering::SeqCst);
        let signal = self.slot.signal.load(Ordering::SeqCst);
        if signal != 0 {
            signal_group(group, signal);
        }
    }

    /// The name of the last signal passed on, if any was.
    pub(crate) fn received(&self) -> Option<&'static str> {
        let signal = self.slot.signal.load(Ordering::SeqCst);
        SIGNALS
            .iter()
            .find(|(number, _)| *number == signal)
            .map(|(_, name)| *name)
    }

    /// Stops forwarding to this run's group; the last signal passed on, if any was.
    pub(crate) fn end(self) -> Option<&'static str> {
        self.received()
    }
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        self.slot.group.store(FREE, Ordering::SeqCst);
        let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
        // A slot whose `begin` failed to install never counted itself.
        if installed.runs == 0 {
            return;
        }
        installed.runs -= 1;
        if installed.runs == 0 {
            restore(&std::mem::take(&mut installed.previous));
        }
    }
}

/// Installs `forward` for every signal of [`SIGNALS`]; the handlers it replaced.
fn install() -> io::Result<Vec<(libc::c_int, libc::sigaction)>> {
    // SAFETY: an all-zero sigaction is a valid value of this plain C struct.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = forward as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // Interrupted system calls (a `read`, the `waitid` of the waiting thread) restart.
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `action.sa_mask` is a valid sigset_t to write to.
    unsafe {
        libc::sigemptyset(&mut action.sa_mask);
    }
    let mut previous = Vec::with_capacity(SIGNALS.len());
    for (signal, _) in SIGNALS {
        // SAFETY: as above, a valid value to be overwritten.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers are to valid sigaction values; `forward` is async-signal-safe.
        if unsafe { libc::sigaction(signal, &action, &mut old) } != 0 {
            let err = io::Error::last_os_error();
            restore(&previous);
            return Err(err);
        }
        previous.push((signal, old));
    }
    Ok(previous)
}

/// Puts back the handlers `install` replaced.
fn restore(previous: &[(libc::c_int, libc::sigaction)]) {
    for (signal, old) in previous {
        // SAFETY: `old` is the action the kernel gave back for this signal.
        unsafe {
            libc::sigaction(*signal, old, std::ptr::null_mut());
        }
    }
}
