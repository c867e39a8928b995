//! The one error type of this crate.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use steadfast_determinism::Seed;

/// An error from `steadfast-mocknet`: a catalog that could not be loaded, a scenario that does
/// not exist, a server that could not start, a wait that ran out of time, or a check of the
/// journal that failed.
///
/// The error is opaque: [`kind`](Error::kind) says what went wrong, accessors such as
/// [`file`](Error::file), [`scenario`](Error::scenario), [`route`](Error::route) and
/// [`serde_path`](Error::serde_path) give the details that apply, and
/// [`Display`](fmt::Display) says it all in one lowercase line. The cause (an I/O or JSON
/// error) is the [`source`](StdError::source).
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
/// assert_eq!(err.kind(), ErrorKind::InvalidRoute);
/// assert_eq!((err.scenario(), err.route()), (Some("s"), Some("charge")));
/// assert_eq!(
///     err.to_string(),
///     "invalid catalog payments.json: scenario `s`, route `charge`: \
///      faults[0]: reset fault: probability 2 is outside 0..=1"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Error {
    // Boxed so `Result<_, Error>` stays one pointer wide.
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    file: Option<String>,
    place: Option<Place>,
    route: Option<String>,
    serde_path: Option<String>,
    /// The name looked up and not found.
    name: Option<String>,
    known: Vec<String>,
    variable: Option<&'static str>,
    value: Option<String>,
    seed: Option<Seed>,
    /// The network scenario of a catalog the error is in.
    network: Option<String>,
    /// What is wrong, in words, where the kind alone does not say it.
    detail: String,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

/// The section of a catalog an error is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Place {
    Scenario(String),
    Overlay(String),
}

/// What went wrong, without the details (see [`Error`] for those).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A catalog file could not be read; the cause is the I/O error.
    ReadCatalog,
    /// A catalog is not valid JSON or does not have the catalog's shape (an unknown field, a
    /// wrong type); [`Error::serde_path`] says where, and the cause is serde's error.
    InvalidCatalog,
    /// A route parsed but holds a value that cannot be used (a probability outside 0..=1, an
    /// invalid regex, method or header, a missing response), or so do the scenario-wide or
    /// overlay faults or the `extends` chain of a scenario (then [`Error::route`] is `None`).
    InvalidRoute,
    /// No scenario of that name is in the catalog ([`Error::name`]; [`Error::known`] lists
    /// the ones there are).
    UnknownScenario,
    /// No overlay of that name is in the catalog or built in ([`Error::name`];
    /// [`Error::known`] lists the ones there are).
    UnknownOverlay,
    /// An environment variable held a value that cannot be used ([`Error::variable`],
    /// [`Error::value`]).
    InvalidEnv,
    /// The server was started outside a deterministic test without an explicit seed.
    NoSeed,
    /// The loopback listener could not be bound; the cause is the I/O error.
    Bind,
    /// A scenario holds something a plain wiremock server cannot express.
    Unsupported,
    /// The callback base given to
    /// [`MockNetBuilder::callback_base`](crate::MockNetBuilder::callback_base) is not a loopback
    /// `http://` URL ([`Error::value`]), or a route has a relative callback URL and no base was
    /// given ([`Error::route`]).
    CallbackBase,
    /// [`MockNet::wait_for_requests`](crate::MockNet::wait_for_requests) or
    /// [`wait_for_callbacks`](crate::MockNet::wait_for_callbacks) ran out of time.
    WaitTimedOut,
    /// [`MockNet::check_called`](crate::MockNet::check_called): a route matched another number
    /// of requests than expected.
    CallCount,
    /// [`MockNet::check_no_unmatched`](crate::MockNet::check_no_unmatched), or a check in
    /// fail-fast mode: a request matched no route.
    Unmatched,
    /// [`MockNet::check_trace_propagated`](crate::MockNet::check_trace_propagated): the
    /// requests did not carry one trace with a distinct parent each.
    TracePropagation,
    /// The [recorder](crate::record)'s or [verifier](crate::verify_live)'s upstream
    /// ([`Error::value`]) is not an `http://` URL, or could not be reached; the cause is the
    /// I/O or client error.
    Upstream,
    /// A recorded catalog would hold a secret value that the scrubber left in place, such as
    /// the value of a header marked secret, or of a redacted request field, echoed in a
    /// response body. [`Error::name`] is the header or field it came in. Nothing is written.
    SecretInCatalog,
    /// A recorded catalog could not be written ([`Error::file`]); the cause is the I/O error.
    WriteCatalog,
    /// A [cassette](crate::Cassette) in verify mode drifted from the live service; the
    /// message holds the drift report.
    Drift,
    /// A [`Mock`](crate::Mock) holds a bad value (a matcher, the response, a fault, a step),
    /// an empty sequence, or an expected range no count is in ([`Error::route`] names it).
    InvalidMock,
    /// The server has stopped ([`MockNet::stop`](crate::MockNet::stop), or its runtime shut
    /// down), so nothing can be mounted on it.
    Stopped,
    /// [`MockNet::check_expectations`](crate::MockNet::check_expectations): a mock matched a
    /// number of requests outside its expected range ([`Error::route`] names it).
    Expectation,
    /// A scenario written out as catalog JSON has a route holding what the catalog cannot
    /// express, such as a custom matcher or a wiremock responder
    /// ([`Error::route`] names it).
    NotRepresentable,
    /// A [`Link`](crate::link::Link) or a [`Network`](crate::network::Network) could not start:
    /// no seed outside a deterministic test, or a listener that could not be bound (the cause
    /// is the I/O error). [`Error::name`] is the link; it is `None` for the network and its
    /// nodes, which the message names.
    LinkStart,
    /// Link faults cannot be used: a fault file that is not JSON of the link-fault shape
    /// ([`Error::file`], [`Error::serde_path`]), or a value out of range.
    InvalidFaults,
    /// A node name the network does not have ([`Error::name`]; [`Error::known`] lists the
    /// nodes).
    UnknownNode,
    /// A network that cannot be built or used that way: a node named twice, a link from a
    /// node to itself, a partition naming a node twice or on both sides, a timeline event
    /// missing a field ([`Error::known`] lists the nodes).
    InvalidNetwork,
    /// No network scenario of that name is in the catalog ([`Error::name`]; [`Error::known`]
    /// lists the ones there are).
    UnknownNetwork,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                file: None,
                place: None,
                route: None,
                serde_path: None,
                name: None,
                known: Vec::new(),
                variable: None,
                value: None,
                seed: None,
                network: None,
                detail: String::new(),
                source: None,
            }),
        }
    }

    /// The catalog file (as named when loading) the error is in.
    pub(crate) fn in_file(mut self, file: impl Into<String>) -> Self {
        self.inner.file = Some(file.into());
        self
    }

    /// The scenario or overlay the error is in.
    pub(crate) fn at(mut self, place: Option<Place>) -> Self {
        self.inner.place = place;
        self
    }

    pub(crate) fn in_scenario(self, scenario: impl Into<String>) -> Self {
        self.at(Some(Place::Scenario(scenario.into())))
    }

    pub(crate) fn in_route(mut self, route: Option<String>) -> Self {
        self.inner.route = route;
        self
    }

    pub(crate) fn at_serde_path(mut self, path: impl Into<String>) -> Self {
        self.inner.serde_path = Some(path.into());
        self
    }

    /// The name that was looked up and not found.
    pub(crate) fn looking_for(mut self, name: impl Into<String>) -> Self {
        self.inner.name = Some(name.into());
        self
    }

    /// The names (or values) that would have done.
    pub(crate) fn with_known(mut self, known: Vec<String>) -> Self {
        self.inner.known = known;
        self
    }

    /// The environment variable the offending value came from.
    pub(crate) fn with_variable(mut self, variable: &'static str) -> Self {
        self.inner.variable = Some(variable);
        self
    }

    pub(crate) fn with_value(mut self, value: impl Into<String>) -> Self {
        self.inner.value = Some(value.into());
        self
    }

    pub(crate) fn with_seed(mut self, seed: Seed) -> Self {
        self.inner.seed = Some(seed);
        self
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.inner.detail = detail.into();
        self
    }

    pub(crate) fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// A wait for `wanted` `what` (`requests` or `callbacks`) that saw only `seen`.
    pub(crate) fn wait_timed_out(
        what: &str,
        wanted: usize,
        seen: usize,
        timeout: Duration,
    ) -> Self {
        Self::new(ErrorKind::WaitTimedOut).with_detail(format!(
            "waited {timeout:?} for {wanted} {what} but saw {seen}"
        ))
    }

    /// What went wrong.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_mocknet::{Catalog, ErrorKind};
    ///
    /// let err = Catalog::from_file("/no/such/catalog.json").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::ReadCatalog);
    /// assert_eq!(err.file(), Some("/no/such/catalog.json"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The catalog file the error is in, as named when loading
    /// ([`Catalog::file`](crate::Catalog::file)).
    pub fn file(&self) -> Option<&str> {
        self.inner.file.as_deref()
    }

    /// The scenario the error is in or about: the one holding the offending value, the one
    /// naming an unknown base or overlay, or the one a server serves. `None` for an error in
    /// an overlay (see [`overlay`](Self::overlay)).
    pub fn scenario(&self) -> Option<&str> {
        match &self.inner.place {
            Some(Place::Scenario(name)) => Some(name),
            _ => None,
        }
    }

    /// The overlay of the catalog holding the offending value.
    pub fn overlay(&self) -> Option<&str> {
        match &self.inner.place {
            Some(Place::Overlay(name)) => Some(name),
            _ => None,
        }
    }

    /// The route the error is in or about.
    pub fn route(&self) -> Option<&str> {
        self.inner.route.as_deref()
    }

    /// For [`ErrorKind::InvalidCatalog`], the serde path of the offending value, such as
    /// `scenarios.happy-path.routes[0].response.status`.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_mocknet::{Catalog, ErrorKind};
    ///
    /// let err = Catalog::from_json("c.json", r#"{"scenarios": {"s": {"route": []}}}"#)
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidCatalog);
    /// assert_eq!(err.serde_path(), Some("scenarios.s.route"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn serde_path(&self) -> Option<&str> {
        self.inner.serde_path.as_deref()
    }

    /// For [`ErrorKind::UnknownScenario`] and [`ErrorKind::UnknownOverlay`], the name that was
    /// asked for.
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// For [`ErrorKind::UnknownScenario`] and [`ErrorKind::UnknownOverlay`], the names the
    /// catalog knows, sorted; for [`ErrorKind::InvalidEnv`], the values that would do.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_mocknet::{Catalog, ErrorKind};
    ///
    /// let catalog = Catalog::from_json("c.json", r#"{"scenarios": {"b": {}, "a": {}}}"#)?;
    /// let err = catalog.scenario("c").unwrap_err();
    /// assert_eq!((err.kind(), err.name()), (ErrorKind::UnknownScenario, Some("c")));
    /// assert_eq!(err.known(), ["a", "b"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn known(&self) -> &[String] {
        &self.inner.known
    }

    /// The environment variable the offending value came from, such as `STEADFAST_SCENARIO`.
    pub fn variable(&self) -> Option<&str> {
        self.inner.variable
    }

    /// The offending value: an environment variable's (lossily converted to UTF-8) or the
    /// callback base, or the upstream URL of [`ErrorKind::Upstream`].
    pub fn value(&self) -> Option<&str> {
        self.inner.value.as_deref()
    }

    /// The seed of the server's fault draws, for errors about a running server: a rerun with
    /// it draws the same faults.
    pub fn seed(&self) -> Option<Seed> {
        self.inner.seed
    }

    /// The network scenario of the catalog the error is in, for errors in a catalog's
    /// `networks` section.
    pub fn network(&self) -> Option<&str> {
        self.inner.network.as_deref()
    }

    pub(crate) fn in_network(mut self, network: impl Into<String>) -> Self {
        self.inner.network = Some(network.into());
        self
    }

    /// Writes `invalid catalog FILE: network `N`: ` for errors in a catalog's networks.
    fn write_network_place(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.inner.file {
            write!(f, "invalid catalog {file}: ")?;
        }
        if let Some(network) = &self.inner.network {
            write!(f, "network `{network}`: ")?;
        }
        Ok(())
    }

    /// Writes where the error is: ``scenario `s`, route `r` ``, or parts of it.
    fn write_place(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.place {
            Some(Place::Scenario(name)) => write!(f, "scenario `{name}`")?,
            Some(Place::Overlay(name)) => write!(f, "overlay `{name}`")?,
            None => {}
        }
        if let Some(route) = &self.inner.route {
            let separator = if self.inner.place.is_some() { ", " } else { "" };
            write!(f, "{separator}route `{route}`")?;
        }
        Ok(())
    }

    fn file_name(&self) -> &str {
        self.inner.file.as_deref().unwrap_or("(unnamed)")
    }

    fn scenario_name(&self) -> &str {
        match &self.inner.place {
            Some(Place::Scenario(name) | Place::Overlay(name)) => name,
            None => "(unnamed)",
        }
    }

    fn known_list(&self) -> String {
        if self.inner.known.is_empty() {
            "(none)".into()
        } else {
            self.inner.known.join(", ")
        }
    }

    fn write_unknown(&self, f: &mut fmt::Formatter<'_>, what: &str) -> fmt::Result {
        let name = self.inner.name.as_deref().unwrap_or_default();
        let known = self.known_list();
        if self.inner.place.is_some() {
            // Named by a scenario while the catalog loaded.
            let relation = if what == "scenario" { "extends" } else { "has" };
            write!(f, "invalid catalog {}: ", self.file_name())?;
            self.write_place(f)?;
            return write!(
                f,
                " {relation} unknown {what} `{name}`; known {what}s: {known}"
            );
        }
        write!(f, "unknown {what} `{name}`")?;
        if let Some(file) = &self.inner.file {
            write!(f, " in catalog {file}")?;
        }
        if let Some(variable) = self.inner.variable {
            write!(f, " (from {variable})")?;
        }
        write!(f, "; known {what}s: {known}")
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let mut debug = f.debug_struct("Error");
        debug.field("kind", &self.kind());
        let strings = [
            ("file", &inner.file),
            ("route", &inner.route),
            ("serde_path", &inner.serde_path),
            ("name", &inner.name),
            ("value", &inner.value),
            ("network", &inner.network),
        ];
        if let Some(place) = &inner.place {
            debug.field("place", place);
        }
        for (name, value) in strings {
            if let Some(value) = value {
                debug.field(name, value);
            }
        }
        if !inner.known.is_empty() {
            debug.field("known", &inner.known);
        }
        if let Some(variable) = inner.variable {
            debug.field("variable", &variable);
        }
        if let Some(seed) = inner.seed {
            debug.field("seed", &seed);
        }
        if !inner.detail.is_empty() {
            debug.field("detail", &inner.detail);
        }
        if let Some(source) = &inner.source {
            debug.field("source", source);
        }
        debug.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let detail = &inner.detail;
        match self.kind() {
            ErrorKind::ReadCatalog => write!(f, "could not read catalog {}", self.file_name()),
            ErrorKind::InvalidCatalog => {
                write!(f, "invalid catalog {}", self.file_name())?;
                if inner.place.is_some() || inner.route.is_some() {
                    f.write_str(": ")?;
                    self.write_place(f)?;
                }
                let path = inner.serde_path.as_deref().unwrap_or_default();
                write!(f, " at `{path}`: {detail}")
            }
            ErrorKind::InvalidRoute => {
                write!(f, "invalid catalog {}: ", self.file_name())?;
                self.write_place(f)?;
                write!(f, ": {detail}")
            }
            ErrorKind::UnknownScenario => self.write_unknown(f, "scenario"),
            ErrorKind::UnknownOverlay => self.write_unknown(f, "overlay"),
            ErrorKind::InvalidEnv => write!(
                f,
                "environment variable {} has invalid value {:?}: expected {detail}",
                inner.variable.unwrap_or_default(),
                inner.value.as_deref().unwrap_or_default(),
            ),
            ErrorKind::NoSeed => write!(
                f,
                "no seed for fault draws of scenario `{}`: start the server inside a \
                 #[deterministic_test] or give one with MockNetBuilder::seed",
                self.scenario_name()
            ),
            ErrorKind::Bind => write!(
                f,
                "could not bind a listener on 127.0.0.1 for scenario `{}`",
                self.scenario_name()
            ),
            ErrorKind::Unsupported => {
                if let Some(route) = &inner.route {
                    write!(f, "route `{route}` of ")?;
                }
                write!(
                    f,
                    "scenario `{}` cannot be mounted on wiremock: {detail}",
                    self.scenario_name()
                )
            }
            ErrorKind::CallbackBase => match (&inner.value, &inner.route) {
                (Some(base), _) => write!(f, "invalid callback base {base:?}: {detail}"),
                (None, route) => write!(
                    f,
                    "no callback base: route `{}` of scenario `{}` has a relative callback URL; \
                     give one with MockNetBuilder::callback_base",
                    route.as_deref().unwrap_or_default(),
                    self.scenario_name()
                ),
            },
            ErrorKind::WaitTimedOut | ErrorKind::Unmatched => f.write_str(detail),
            ErrorKind::TracePropagation => write!(
                f,
                "trace context was not propagated in scenario `{}`: {detail}",
                self.scenario_name()
            ),
            ErrorKind::CallCount => write!(
                f,
                "route `{}` of scenario `{}` {detail}",
                inner.route.as_deref().unwrap_or_default(),
                self.scenario_name()
            ),
            ErrorKind::Upstream => write!(
                f,
                "upstream {} {detail}",
                inner.value.as_deref().unwrap_or_default()
            ),
            ErrorKind::SecretInCatalog => write!(
                f,
                "refusing to write catalog {}: scenario `{}` would hold {detail}",
                self.file_name(),
                self.scenario_name(),
            ),
            ErrorKind::WriteCatalog => write!(f, "could not write catalog {}", self.file_name()),
            ErrorKind::Drift => write!(
                f,
                "cassette {} drifted from the live service: {detail}",
                self.file_name()
            ),
            ErrorKind::InvalidMock => write!(
                f,
                "invalid mock `{}`: {detail}",
                inner.route.as_deref().unwrap_or_default()
            ),
            ErrorKind::Stopped => write!(
                f,
                "the server of scenario `{}` has stopped: {detail}",
                self.scenario_name()
            ),
            ErrorKind::Expectation => f.write_str(detail),
            ErrorKind::NotRepresentable => write!(
                f,
                "route `{}` of scenario `{}` cannot be written as catalog JSON: {detail}",
                inner.route.as_deref().unwrap_or_default(),
                self.scenario_name()
            ),
            ErrorKind::LinkStart => match &inner.name {
                Some(name) => write!(f, "could not start link `{name}`: {detail}"),
                None => write!(f, "could not start the network: {detail}"),
            },
            ErrorKind::InvalidFaults => match (&inner.file, &inner.serde_path) {
                (Some(file), Some(path)) => {
                    write!(f, "invalid fault file {file} at `{path}`: {detail}")
                }
                (Some(file), None) => write!(f, "invalid fault file {file}: {detail}"),
                (None, _) => write!(
                    f,
                    "invalid faults for link `{}`: {detail}",
                    inner.name.as_deref().unwrap_or_default()
                ),
            },
            ErrorKind::UnknownNode => {
                self.write_network_place(f)?;
                if !detail.is_empty() {
                    write!(f, "{detail}: ")?;
                }
                write!(
                    f,
                    "unknown node `{}`; known nodes: {}",
                    inner.name.as_deref().unwrap_or_default(),
                    self.known_list()
                )
            }
            ErrorKind::InvalidNetwork => {
                if inner.file.is_none() && inner.network.is_none() {
                    f.write_str("invalid network: ")?;
                }
                self.write_network_place(f)?;
                f.write_str(detail)?;
                if !inner.known.is_empty() {
                    write!(f, "; known nodes: {}", self.known_list())?;
                }
                Ok(())
            }
            ErrorKind::UnknownNetwork => {
                write!(
                    f,
                    "unknown network `{}`",
                    inner.name.as_deref().unwrap_or_default()
                )?;
                if let Some(file) = &inner.file {
                    write!(f, " in catalog {file}")?;
                }
                if let Some(variable) = inner.variable {
                    write!(f, " (from {variable})")?;
                }
                write!(f, "; known networks: {}", self.known_list())
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_env_is_worded_as_everywhere_in_steadfast() {
        let err = Error::new(ErrorKind::InvalidEnv)
            .with_variable("STEADFAST_SCENARIO")
            .with_value("x\ny")
            .with_detail("one of the scenario names: a, b");

        assert_eq!(
            err.to_string(),
            "environment variable STEADFAST_SCENARIO has invalid value \"x\\ny\": \
             expected one of the scenario names: a, b"
        );
        assert_eq!(
            (err.variable(), err.value()),
            (Some("STEADFAST_SCENARIO"), Some("x\ny"))
        );
    }

    #[test]
    fn overlay_errors_name_the_overlay_not_a_scenario() {
        let err = Error::new(ErrorKind::InvalidRoute)
            .in_file("c.json")
            .at(Some(Place::Overlay("flaky-dns".into())))
            .with_detail("faults[0]: reset fault: probability 2 is outside 0..=1");

        assert_eq!(
            err.to_string(),
            "invalid catalog c.json: overlay `flaky-dns`: \
             faults[0]: reset fault: probability 2 is outside 0..=1"
        );
        assert_eq!((err.overlay(), err.scenario()), (Some("flaky-dns"), None));
    }

    #[test]
    fn unknown_name_in_an_empty_catalog_says_there_are_none() {
        let err = Error::new(ErrorKind::UnknownScenario)
            .in_file("empty.json")
            .looking_for("happy-path");

        assert_eq!(
            err.to_string(),
            "unknown scenario `happy-path` in catalog empty.json; known scenarios: (none)"
        );
    }

    #[test]
    fn source_is_the_cause_and_display_stays_one_line() {
        let io = std::io::Error::new(std::io::ErrorKind::AddrInUse, "in use");
        let err = Error::new(ErrorKind::Bind).in_scenario("s").with_source(io);

        assert_eq!(
            err.to_string(),
            "could not bind a listener on 127.0.0.1 for scenario `s`"
        );
        assert_eq!(
            err.source().map(ToString::to_string).as_deref(),
            Some("in use")
        );
    }
}
