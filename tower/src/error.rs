//! The one error type of this crate.

use std::fmt;

/// What went wrong, without the details (see [`Error`]'s accessors for those).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A fault name was not one of the known ones (see [`Fault`](crate::Fault)).
    UnknownFault,
    /// A known fault had a malformed argument, such as `delay:soon`.
    InvalidFault,
    /// A share of requests was not a number from 0 to 1.
    InvalidShare,
    /// A `STEADFAST_*` environment variable held a value that could not be used.
    InvalidEnv,
}

/// An error from `steadfast-tower`: a fault that could not be parsed, or a layer that could
/// not be built.
///
/// It is opaque: [`kind`](Error::kind) says what went wrong and [`input`](Error::input) gives
/// the text that was rejected. [`Display`](fmt::Display) is one lowercase line saying what
/// was wrong; for a fault name it lists the known ones.
///
/// ```
/// use steadfast_tower::{ErrorKind, Fault};
///
/// let err = "explode".parse::<Fault>().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::UnknownFault);
/// assert_eq!(err.input(), Some("explode"));
/// assert_eq!(
///     err.to_string(),
///     "unknown fault \"explode\": expected one of fail, status:CODE, delay:MS, drop, abort"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    input: String,
    variable: Option<&'static str>,
    expected: &'static str,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, input: &str, expected: &'static str) -> Self {
        Self {
            kind,
            input: input.to_owned(),
            variable: None,
            expected,
        }
    }

    pub(crate) fn invalid_env(variable: &'static str, value: &str, expected: &'static str) -> Self {
        Self {
            variable: Some(variable),
            ..Self::new(ErrorKind::InvalidEnv, value, expected)
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The text that was rejected: the fault, the share, or the variable's value.
    pub fn input(&self) -> Option<&str> {
        Some(&self.input)
    }

    /// The environment variable whose value was rejected.
    pub fn variable(&self) -> Option<&'static str> {
        self.variable
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (input, expected) = (&self.input, self.expected);
        match self.kind {
            ErrorKind::UnknownFault => {
                write!(f, "unknown fault {input:?}: expected one of {expected}")
            }
            ErrorKind::InvalidFault => write!(f, "invalid fault {input:?}: expected {expected}"),
            ErrorKind::InvalidShare => {
                write!(f, "invalid share of requests {input}: expected {expected}")
            }
            ErrorKind::InvalidEnv => write!(
                f,
                "environment variable {} has invalid value {input:?}: expected {expected}",
                self.variable.unwrap_or("")
            ),
        }
    }
}

impl std::error::Error for Error {}
