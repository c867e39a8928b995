//! One run of the test command, to its end or to its timeout.
//!
//! Without a timeout the command runs as any child does, in this process's group, and is
//! waited for. With one it runs in a process group of its own, so that on expiry everything it
//! started can be stopped, nextest and its test processes included: the group gets SIGTERM
//! (nextest then stops its tests and exits), and SIGKILL [`GRACE`] later, or as soon as the
//! command itself has exited. A group of its own no longer gets the terminal's Ctrl-C, so
//! while it runs SIGINT, SIGTERM and SIGHUP sent to this process are passed on to it
//! ([`forward`](super::forward)).
//!
//! The command is waited for without being reaped (`waitid` with `WNOWAIT`) until its group
//! has had its last signal: while it is a zombie its process id, which is the group's id,
//! cannot be given to another process, so no signal can reach a stranger.

use std::io;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc;
use std::time::Duration;

use super::forward::Forwarding;

/// How long a timed-out command has between SIGTERM and SIGKILL.
pub(crate) const GRACE: Duration = Duration::from_secs(5);

/// How a run of the command ended.
#[derive(Debug)]
pub(crate) enum Ending {
    /// It exited, or was killed by a signal this process did not send.
    Exited(ExitStatus),
    /// It was still running at its timeout (this one), and its group was killed.
    TimedOut(Duration),
    /// This process received `signal` (its name) while it ran and passed it on.
    Interrupted(&'static str),
}

/// Runs `command` to its end, or until `timeout`.
pub(crate) fn run(command: &mut Command, timeout: Option<Duration>) -> io::Result<Ending> {
    let Some(timeout) = timeout else {
        return command.status().map(Ending::Exited);
    };
    let forwarding = Forwarding::begin()?;
    let mut child = command.process_group(0).spawn()?;
    let group = match libc::pid_t::try_from(child.id()) {
        Ok(group) => group,
        Err(_) => {
            // A process id is a pid_t; this cannot happen, but never signal a wrong group.
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other("the command's process id is out of range"));
        }
    };
    forwarding.watch(group);
    let (exited, ended) = mpsc::channel();
    let waiter = std::thread::Builder::new()
        .name("steadfast-flaky-wait".into())
        .spawn(move || {
            let result = wait_exited(group);
            // The receiver only goes away once the run is over.
            let _ = exited.send(());
            result
        });
    let waiter = match waiter {
        Ok(waiter) => waiter,
        Err(err) => {
            signal_group(group, libc::SIGKILL);
            drop(forwarding);
            let _ = child.wait();
            return Err(err);
        }
    };
    let timed_out = ended.recv_timeout(timeout).is_err();
    if timed_out {
        signal_group(group, libc::SIGTERM);
        let _ = ended.recv_timeout(GRACE);
    }
    if timed_out || forwarding.received().is_some() {
        // Whatever of the group outlived the command (or ignored SIGTERM) goes too.
        signal_group(group, libc::SIGKILL);
    }
    let waited = waiter.join().unwrap_or_else(|_| {
        Err(io::Error::other(
            "the thread waiting for the command panicked",
        ))
    });
    // No signal may reach the group once the command is reaped and its id can be reused.
    let interrupted = forwarding.end();
    let status = reap(&mut child, waited)?;
    Ok(match (interrupted, timed_out) {
        (Some(signal), _) => Ending::Interrupted(signal),
        (None, true) => Ending::TimedOut(timeout),
        (None, false) => Ending::Exited(status),
    })
}

fn reap(child: &mut Child, waited: io::Result<()>) -> io::Result<ExitStatus> {
    let status = child.wait();
    waited?;
    status
}

/// Waits until process `pid` has exited, leaving it unreaped.
fn wait_exited(pid: libc::pid_t) -> io::Result<()> {
    let id = libc::id_t::try_from(pid).map_err(|_| io::Error::other("negative process id"))?;
    loop {
        // SAFETY: an all-zero siginfo_t is a valid value of this plain C struct.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable siginfo_t for the duration of the call.
        let waited =
            unsafe { libc::waitid(libc::P_PID, id, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if waited == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Sends `signal` to process group `group`; a group already empty is no error.
pub(crate) fn signal_group(group: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill touches no memory of ours; `group` is our unreaped child's id, so the
    // group is the command's own.
    unsafe {
        libc::kill(-group, signal);
    }
}
