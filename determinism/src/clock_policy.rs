//! How an async deterministic test's clock moves: `clock = "virtual" | "real-peers" | "real"`
//! on the attribute, or `STEADFAST_CLOCK` for every test that does not name one.
//!
//! ```
//! use std::time::Duration;
//! use steadfast_determinism::clock_policy::{ClockPolicy, DEFAULT_GRACE};
//!
//! assert_eq!("real-peers".parse::<ClockPolicy>()?, ClockPolicy::RealPeers);
//! assert_eq!(ClockPolicy::default(), ClockPolicy::Virtual);
//! assert_eq!(DEFAULT_GRACE, Duration::from_secs(2));
//! let err = "paused".parse::<ClockPolicy>().unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "environment variable STEADFAST_CLOCK has invalid value \"paused\": expected virtual, real-peers or real"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! | policy | tokio's clock | a real peer's answer | what stays a function of the seed |
//! | --- | --- | --- | --- |
//! | `virtual` (default) | paused; jumps to the next timer whenever the runtime is idle | waiting for it looks idle: timeouts fire at once | everything, for code that talks only to in-process peers (MockNet) |
//! | `real-peers` (needs `seal`) | paused; while a real peer owes an answer, an idle runtime waits up to the grace in real time before it jumps | takes no virtual time when it comes within the grace | every clock reading and draw, as long as each answer comes within the grace |
//! | `real` | real time | takes its real time | the seed's draws only; clock readings follow the machine |

use std::ffi::OsString;
use std::str::FromStr;
use std::time::Duration;

use crate::error::Error;

/// `STEADFAST_CLOCK`: the policy of tests whose attribute does not name one.
pub const CLOCK_ENV: &str = "STEADFAST_CLOCK";

/// `STEADFAST_GRACE_MS`: the grace of `real-peers` tests whose attribute does not set
/// `grace_ms`.
pub const GRACE_ENV: &str = "STEADFAST_GRACE_MS";

/// The grace when neither the attribute nor `STEADFAST_GRACE_MS` sets one.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// How an async deterministic test's clock moves. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ClockPolicy {
    /// Tokio's paused clock, jumping to the next timer whenever the runtime is idle.
    #[default]
    Virtual,
    /// The paused clock, but an idle runtime first waits up to the grace for real peers that
    /// owe an answer (sockets to other processes). Needs the `seal` feature.
    RealPeers,
    /// Real time.
    Real,
}

impl FromStr for ClockPolicy {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        match text {
            "virtual" => Ok(Self::Virtual),
            "real-peers" => Ok(Self::RealPeers),
            "real" => Ok(Self::Real),
            other => Err(Error::invalid_env(
                CLOCK_ENV,
                other.to_owned(),
                "virtual, real-peers or real",
            )),
        }
    }
}

impl ClockPolicy {
    /// The policy `STEADFAST_CLOCK` names, if it is set.
    ///
    /// # Errors
    ///
    /// When the variable holds anything but `virtual`, `real-peers` or `real`.
    pub fn from_env() -> Result<Option<Self>, Error> {
        Self::from_env_with(|name| std::env::var_os(name))
    }

    /// Like [`ClockPolicy::from_env`], with the environment read through `lookup`, which
    /// answers as [`std::env::var_os`] does.
    ///
    /// # Errors
    ///
    /// When `lookup` gives anything but `virtual`, `real-peers` or `real`.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Option<Self>, Error> {
        match lookup(CLOCK_ENV) {
            None => Ok(None),
            Some(value) => value
                .to_str()
                .ok_or_else(|| {
                    Error::invalid_env(
                        CLOCK_ENV,
                        value.to_string_lossy().into_owned(),
                        "virtual, real-peers or real",
                    )
                })?
                .parse()
                .map(Some),
        }
    }
}

/// The grace `STEADFAST_GRACE_MS` sets, if it is set.
///
/// # Errors
///
/// When the variable is not a whole number of milliseconds.
pub fn grace_from_env() -> Result<Option<Duration>, Error> {
    grace_from_env_with(|name| std::env::var_os(name))
}

/// Like [`grace_from_env`], with the environment read through `lookup`, which answers as
/// [`std::env::var_os`] does.
///
/// # Errors
///
/// When `lookup` gives something that is not a whole number of milliseconds.
pub fn grace_from_env_with(
    lookup: impl Fn(&str) -> Option<OsString>,
) -> Result<Option<Duration>, Error> {
    let Some(value) = lookup(GRACE_ENV) else {
        return Ok(None);
    };
    let invalid = || {
        Error::invalid_env(
            GRACE_ENV,
            value.to_string_lossy().into_owned(),
            "a whole number of milliseconds such as 2000",
        )
    };
    let millis: u64 = value
        .to_str()
        .ok_or_else(invalid)?
        .parse()
        .map_err(|_| invalid())?;
    Ok(Some(Duration::from_millis(millis)))
}
