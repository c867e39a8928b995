//! The one error type of this crate.

use std::fmt;
use std::time::Duration;

/// An error from `steadfast-determinism`: a malformed seed, timestamp or environment variable, or
/// an expectation that was not met in time.
///
/// The kind says what went wrong; [`Display`](fmt::Display) says it in one lowercase line that
/// names the input (and the variable, for environment errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
}

/// What went wrong, for callers that want to react to a particular failure.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A seed was not a decimal `u64` or `0x`-prefixed hexadecimal `u64`.
    InvalidSeed {
        /// The text that was given.
        input: String,
    },
    /// A timestamp was not an RFC 3339 UTC time such as `2026-01-01T00:00:00Z`.
    InvalidTimestamp {
        /// The text that was given.
        input: String,
        /// Which part of it was wrong.
        reason: &'static str,
    },
    /// An environment variable held a value that could not be used.
    InvalidEnv {
        /// The variable, such as `STEADFAST_SEED`.
        var: &'static str,
        /// Its value, lossily converted to UTF-8.
        value: String,
        /// What the value should have looked like.
        expected: &'static str,
    },
    /// An expectation-based wait ran out of time.
    WaitTimedOut {
        /// What was awaited: the expectation's description or its call site.
        awaited: String,
        /// How long the wait lasted (virtual time for async waits under a paused clock).
        timeout: Duration,
        /// How many times the expectation was checked.
        attempts: u64,
        /// The last value observed, formatted with `Debug`.
        last_observed: String,
    },
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self { kind }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// True when an expectation-based wait ran out of time.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, ErrorKind::WaitTimedOut { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::InvalidSeed { input } => write!(
                f,
                "invalid seed {input:?}: expected a decimal u64 or 0x followed by up to 16 hex digits"
            ),
            ErrorKind::InvalidTimestamp { input, reason } => write!(
                f,
                "invalid timestamp {input:?}: {reason} (expected RFC 3339 UTC such as 2026-01-01T00:00:00Z)"
            ),
            ErrorKind::InvalidEnv {
                var,
                value,
                expected,
            } => write!(
                f,
                "environment variable {var} has invalid value {value:?}: expected {expected}"
            ),
            ErrorKind::WaitTimedOut {
                awaited,
                timeout,
                attempts,
                last_observed,
            } => write!(
                f,
                "timed out after {timeout:?} waiting for {awaited} ({attempts} checks, last observed: {last_observed})"
            ),
        }
    }
}

impl std::error::Error for Error {}
