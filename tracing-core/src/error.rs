//! The crate's one error type.

use std::fmt;
use std::sync::Arc;

/// What went wrong, without the details (see [`Error`] for those).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A `traceparent` header or one of its fields was malformed.
    TraceParent,
    /// A `tracestate` header, key or value was malformed.
    TraceState,
    /// A trace id, span id or flags value was malformed.
    Id,
    /// A `baggage` header, key or value was malformed or over a limit.
    Baggage,
    /// A sampler setting (ratio, threshold, randomness) was out of range.
    Sampling,
    /// An exporter endpoint URL was not `http://HOST:PORT/...`.
    Endpoint,
    /// Talking to the collector failed at the socket level.
    Io,
    /// The collector answered with a status that is not a success.
    HttpStatus,
    /// The collector's answer was not a well-formed HTTP/1.1 response.
    HttpResponse,
    /// A `STEADFAST_*` environment variable held a malformed value.
    Env,
    /// Recorded spans did not form the trace a check expected (one trace
    /// id, one root, every parent present, the expected names and kinds).
    TraceShape,
}

/// The error type of every fallible operation in this crate.
///
/// It is opaque: ask [`Error::kind`] what went wrong; the [`Display`](fmt::Display)
/// text says what was wrong and where, and [`source`](std::error::Error::source)
/// gives the underlying I/O error where there is one. Parse errors carry only
/// static text and a byte offset, so rejecting a header never allocates.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::{ErrorKind, TraceParent};
///
/// let err = "00-abc".parse::<TraceParent>().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::TraceParent);
/// assert_eq!(err.to_string(), "invalid traceparent: expected at least 55 characters, found 6");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    what: &'static str,
    at: Option<usize>,
    found: Option<usize>,
    detail: Option<String>,
    // Shared so that an error can be cloned (a sampler reports one in each
    // result it applies to).
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    pub(crate) const fn new(kind: ErrorKind, what: &'static str) -> Self {
        Error {
            kind,
            what,
            at: None,
            found: None,
            detail: None,
            source: None,
        }
    }

    pub(crate) const fn at(mut self, at: usize) -> Self {
        self.at = Some(at);
        self
    }

    pub(crate) const fn found(mut self, found: usize) -> Self {
        self.found = Some(found);
        self
    }

    /// A malformed environment variable, worded as every steadfast crate words it:
    /// `environment variable NAME has invalid value "VALUE": expected WHAT`.
    pub(crate) fn invalid_env(variable: &'static str, value: &str, expected: &str) -> Self {
        Error::new(ErrorKind::Env, variable)
            .detail(format!("has invalid value {value:?}: expected {expected}"))
    }

    pub(crate) fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub(crate) fn source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// What kind of error this is.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::{ErrorKind, TraceId};
    ///
    /// let err = TraceId::from_hex("00000000000000000000000000000000").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Id);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The byte offset in the input where the problem was found, if the error
    /// comes from parsing.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::TraceParent;
    ///
    /// let err = "00-1234567890123456789012345678901g-1234567890123456-01"
    ///     .parse::<TraceParent>()
    ///     .unwrap_err();
    /// assert_eq!(err.offset(), Some(34));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn offset(&self) -> Option<usize> {
        self.at
    }

    /// The HTTP status the collector answered with, for
    /// [`ErrorKind::HttpStatus`] errors.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_tracing_core::TraceParent;
    ///
    /// let err = "".parse::<TraceParent>().unwrap_err();
    /// assert_eq!(err.status(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            ErrorKind::HttpStatus => self.found.and_then(|s| u16::try_from(s).ok()),
            _ => None,
        }
    }

    /// The environment variable, for [`ErrorKind::Env`] errors.
    ///
    /// # Example
    ///
    /// ```
    /// use std::ffi::OsString;
    /// use steadfast_tracing_core::export::OtlpHttpExporter;
    ///
    /// let env = |_: &str| Some(OsString::from("localhost:4318"));
    /// let err = OtlpHttpExporter::from_env_with(env).unwrap_err();
    /// assert_eq!(err.variable(), Some("STEADFAST_OTLP_ENDPOINT"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn variable(&self) -> Option<&'static str> {
        match self.kind {
            ErrorKind::Env => Some(self.what),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.kind {
            ErrorKind::TraceParent => "invalid traceparent",
            ErrorKind::TraceState => "invalid tracestate",
            ErrorKind::Id => "invalid id",
            ErrorKind::Baggage => "invalid baggage",
            ErrorKind::Sampling => "invalid sampler setting",
            ErrorKind::Endpoint => "invalid exporter endpoint",
            ErrorKind::Io => "exporter i/o failed",
            ErrorKind::HttpStatus => "collector rejected the export",
            ErrorKind::HttpResponse => "malformed collector response",
            ErrorKind::Env => "invalid environment variable",
            ErrorKind::TraceShape => "unexpected trace",
        };
        if self.kind == ErrorKind::Env {
            // `invalid_env` keeps the variable in `what` and the rest in `detail`.
            write!(f, "environment variable {}", self.what)?;
            if let Some(detail) = &self.detail {
                write!(f, " {detail}")?;
            }
            return Ok(());
        }
        write!(f, "{prefix}: {}", self.what)?;
        if let Some(found) = self.found {
            write!(f, ", found {found}")?;
        }
        if let Some(at) = self.at {
            write!(f, " at byte {at}")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
