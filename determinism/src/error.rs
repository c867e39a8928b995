//! The one error type of this crate.

use std::fmt;
use std::time::Duration;

/// What went wrong, without the details (see [`Error`]'s accessors for those).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A seed was not a decimal `u64` or `0x`-prefixed hexadecimal `u64`.
    InvalidSeed,
    /// A timestamp was not an RFC 3339 time such as `2026-01-01T00:00:00Z`.
    InvalidTimestamp,
    /// A `STEADFAST_*` environment variable held a value that could not be used.
    InvalidEnv,
    /// An expectation-based wait ran out of time.
    WaitTimedOut,
    /// A thread could not be sealed (see the `seal` module).
    Seal,
}

/// An error from `steadfast-determinism`: a malformed seed, timestamp or environment variable,
/// an expectation that was not met in time, or a seal that could not be entered.
///
/// It is opaque: [`kind`](Error::kind) says what went wrong, the accessors give the details,
/// and [`Display`](fmt::Display) says it in one lowercase line that names the input (and the
/// variable, for environment errors).
///
/// ```
/// use steadfast_determinism::{ErrorKind, Seed};
///
/// let err = "ten".parse::<Seed>().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidSeed);
/// assert_eq!(err.input(), Some("ten"));
/// assert_eq!(
///     err.to_string(),
///     "invalid seed \"ten\": expected a decimal u64 or 0x followed by up to 16 hex digits"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    /// The text that was given (seed, timestamp, variable value), or what was awaited.
    input: Option<String>,
    /// The variable, for environment errors.
    variable: Option<&'static str>,
    /// What the input should have looked like, or what was wrong with it.
    expected: Option<&'static str>,
    /// Free-form detail: the last observed value of a wait, the reason a seal failed.
    detail: Option<String>,
    timeout: Option<Duration>,
    attempts: Option<u64>,
}

impl Error {
    fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            input: None,
            variable: None,
            expected: None,
            detail: None,
            timeout: None,
            attempts: None,
        }
    }

    pub(crate) fn invalid_seed(input: &str) -> Self {
        Self {
            input: Some(input.to_owned()),
            ..Self::new(ErrorKind::InvalidSeed)
        }
    }

    pub(crate) fn invalid_timestamp(input: &str, reason: &'static str) -> Self {
        Self {
            input: Some(input.to_owned()),
            expected: Some(reason),
            ..Self::new(ErrorKind::InvalidTimestamp)
        }
    }

    pub(crate) fn invalid_env(
        variable: &'static str,
        value: String,
        expected: &'static str,
    ) -> Self {
        Self {
            input: Some(value),
            variable: Some(variable),
            expected: Some(expected),
            ..Self::new(ErrorKind::InvalidEnv)
        }
    }

    pub(crate) fn wait_timed_out(
        awaited: String,
        timeout: Duration,
        attempts: u64,
        last_observed: String,
    ) -> Self {
        Self {
            input: Some(awaited),
            detail: Some(last_observed),
            timeout: Some(timeout),
            attempts: Some(attempts),
            ..Self::new(ErrorKind::WaitTimedOut)
        }
    }

    #[cfg_attr(not(feature = "seal"), allow(dead_code))]
    pub(crate) fn seal(reason: String) -> Self {
        Self {
            detail: Some(reason),
            ..Self::new(ErrorKind::Seal)
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// True when an expectation-based wait ran out of time.
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::WaitTimedOut
    }

    /// The text that was rejected (a seed, a timestamp, a variable's value, lossily converted to
    /// UTF-8), or for a wait, what was awaited.
    pub fn input(&self) -> Option<&str> {
        self.input.as_deref()
    }

    /// The environment variable whose value was rejected, such as `STEADFAST_SEED`.
    pub fn variable(&self) -> Option<&'static str> {
        self.variable
    }

    /// How long a wait lasted before it gave up (virtual time for async waits under a paused
    /// clock).
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// How many times a wait checked its expectation.
    pub fn attempts(&self) -> Option<u64> {
        self.attempts
    }

    /// The last value a wait observed, formatted with `Debug`.
    pub fn last_observed(&self) -> Option<&str> {
        match self.kind {
            ErrorKind::WaitTimedOut => self.detail.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let input = self.input.as_deref().unwrap_or("");
        let expected = self.expected.unwrap_or("");
        let detail = self.detail.as_deref().unwrap_or("");
        match self.kind {
            ErrorKind::InvalidSeed => write!(
                f,
                "invalid seed {input:?}: expected a decimal u64 or 0x followed by up to 16 hex digits"
            ),
            ErrorKind::InvalidTimestamp => write!(
                f,
                "invalid timestamp {input:?}: {expected} (expected RFC 3339 UTC such as 2026-01-01T00:00:00Z)"
            ),
            ErrorKind::InvalidEnv => write!(
                f,
                "environment variable {} has invalid value {input:?}: expected {expected}",
                self.variable.unwrap_or("")
            ),
            ErrorKind::WaitTimedOut => write!(
                f,
                "timed out after {:?} waiting for {input} ({} checks, last observed: {detail})",
                self.timeout.unwrap_or_default(),
                self.attempts.unwrap_or(0)
            ),
            ErrorKind::Seal => write!(f, "cannot seal the test's thread: {detail}"),
        }
    }
}

impl std::error::Error for Error {}
