//! The one error type of this crate.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::time::Duration;

/// An error from `steadfast-mocknet`: a catalog that could not be loaded, a scenario that does
/// not exist, a server that could not start, or a wait that ran out of time.
///
/// [`kind`](Error::kind) says what went wrong; [`Display`](fmt::Display) says it in one lowercase
/// line naming the file, scenario, route and serde path where they apply.
///
/// # Example
///
/// ```
/// use steadfast_mocknet::{Catalog, ErrorKind};
///
/// let err = Catalog::from_json("payments.json", r#"{"scenarios": {"s": {"routes": [
///     {"name": "charge", "response": {}, "faults": [{"kind": "reset", "probability": 2}]}
/// ]}}}"#)
/// .unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::InvalidRoute { route, .. } if route == "charge"));
/// assert_eq!(
///     err.to_string(),
///     "invalid catalog payments.json: scenario `s`, route `charge`: \
///      faults[0]: reset fault: probability 2 is outside 0..=1"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Error {
    // Boxed so `Result<_, Error>` stays one pointer wide.
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

/// What went wrong, for callers that want to react to a particular failure.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A catalog file could not be read.
    ReadCatalog {
        /// The file.
        file: String,
    },
    /// A catalog is not valid JSON or does not have the catalog's shape.
    InvalidCatalog {
        /// The file, as named when loading.
        file: String,
        /// The scenario (or overlay) the offending value is in, if it is in one.
        scenario: Option<String>,
        /// The name of the route the offending value is in, if it is in one and has a name.
        route: Option<String>,
        /// The serde path of the offending value, such as `scenarios.happy-path.routes[0].status`.
        path: String,
        /// What is wrong there.
        message: String,
    },
    /// A route (or the scenario around it) parsed but holds a value that cannot be used.
    InvalidRoute {
        /// The file, as named when loading.
        file: String,
        /// The scenario or overlay holding the route.
        scenario: String,
        /// The route's name, or `(scenario faults)` for scenario-wide faults.
        route: String,
        /// What is wrong.
        message: String,
    },
    /// No scenario (or overlay) of that name is in the catalog.
    UnknownScenario {
        /// The name that was asked for.
        name: String,
        /// The names the catalog knows, sorted.
        known: Vec<String>,
    },
    /// An environment variable held a value that could not be used.
    InvalidEnv {
        /// The variable, such as `STEADFAST_SCENARIO`.
        var: &'static str,
        /// Its value, lossily converted to UTF-8.
        value: String,
        /// What the value should have been.
        expected: String,
    },
    /// The server was started outside a deterministic test without an explicit seed.
    NoSeed,
    /// The loopback listener could not be bound.
    Bind,
    /// A scenario holds something a plain wiremock server cannot express.
    Unsupported {
        /// The route's name.
        route: String,
        /// What cannot be expressed.
        what: String,
    },
    /// The callback base given to
    /// [`MockNetBuilder::callback_base`](crate::MockNetBuilder::callback_base) is not a loopback
    /// `http://` URL, or a route has a relative callback URL and no base was given.
    CallbackBase {
        /// The base, or `None` when none was given.
        base: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// [`MockNet::wait_for_requests`](crate::MockNet::wait_for_requests) or
    /// [`wait_for_callbacks`](crate::MockNet::wait_for_callbacks) ran out of time.
    WaitTimedOut {
        /// What was awaited: `requests` or `callbacks`.
        what: &'static str,
        /// How many were awaited.
        wanted: usize,
        /// How many had arrived (or, for callbacks, finished).
        seen: usize,
        /// How long the wait lasted (virtual time under a paused clock).
        timeout: Duration,
    },
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self {
            inner: Box::new(Inner { kind, source: None }),
        }
    }

    pub(crate) fn with_source(
        kind: ErrorKind,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                source: Some(Box::new(source)),
            }),
        }
    }

    pub(crate) fn io(kind: ErrorKind, source: io::Error) -> Self {
        Self::with_source(kind, source)
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.kind {
            ErrorKind::ReadCatalog { file } => write!(f, "could not read catalog {file}"),
            ErrorKind::InvalidCatalog {
                file,
                scenario,
                route,
                path,
                message,
            } => {
                write!(f, "invalid catalog {file}")?;
                if let Some(scenario) = scenario {
                    write!(f, ": scenario `{scenario}`")?;
                }
                if let Some(route) = route {
                    write!(f, ", route `{route}`")?;
                }
                write!(f, " at `{path}`: {message}")
            }
            ErrorKind::InvalidRoute {
                file,
                scenario,
                route,
                message,
            } => write!(
                f,
                "invalid catalog {file}: scenario `{scenario}`, route `{route}`: {message}"
            ),
            ErrorKind::UnknownScenario { name, known } => write!(
                f,
                "unknown scenario `{name}`; known scenarios: {}",
                known.join(", ")
            ),
            ErrorKind::InvalidEnv {
                var,
                value,
                expected,
            } => write!(f, "invalid {var}={value:?}: expected {expected}"),
            ErrorKind::NoSeed => f.write_str(
                "no seed for fault draws: start the server inside a #[deterministic_test] \
                 or give one with MockNetBuilder::seed",
            ),
            ErrorKind::Bind => f.write_str("could not bind a listener on 127.0.0.1"),
            ErrorKind::Unsupported { route, what } => {
                write!(f, "route `{route}` cannot be mounted on wiremock: {what}")
            }
            ErrorKind::CallbackBase {
                base: Some(base),
                message,
            } => write!(f, "invalid callback base {base:?}: {message}"),
            ErrorKind::CallbackBase {
                base: None,
                message,
            } => write!(f, "no callback base: {message}"),
            ErrorKind::WaitTimedOut {
                what,
                wanted,
                seen,
                timeout,
            } => write!(f, "waited {timeout:?} for {wanted} {what} but saw {seen}"),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}
