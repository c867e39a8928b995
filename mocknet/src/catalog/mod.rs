//! Catalogs: named scenarios and overlays as JSON, validated when loaded.
//!
//! ```json
//! {
//!   "scenarios": {
//!     "happy-path": {
//!       "routes": [
//!         {"name": "charge", "method": "POST", "path": "/v1/charges",
//!          "response": {"status": 201, "json": {"id": "ch_1"}}}
//!       ]
//!     },
//!     "charge-failure": {
//!       "extends": "happy-path",
//!       "routes": [
//!         {"name": "charge-503-then-402", "method": "POST", "path": "/v1/charges",
//!          "responses": [{"status": 503, "headers": {"retry-after": "1"}}, {"status": 402}]}
//!       ]
//!     },
//!     "degraded-network": {"extends": "happy-path", "overlays": ["degraded-network"]}
//!   },
//!   "overlays": {"flaky-dns": {"faults": [{"kind": "reset", "probability": 0.2}]}}
//! }
//! ```
//!
//! A **scenario** has `routes` (tried in order; a scenario's own routes come before those of
//! the scenario it `extends`), scenario-wide `faults`, `overlays` by name, and an
//! `initial_state` (default `"started"`).
//!
//! A **route** has a `name`; matchers `method`, one of `path` / `path_prefix` / `path_regex`,
//! `headers` and `query` (exact values), `headers_present` (names of headers that must be
//! there with any value: how recordings match redacted secrets), `body_json` (exact) or
//! `body_partial_json`;
//! `when_state` (only matches in that state) and `set_state` (moves the scenario on); one
//! `response` or a sequence of `responses` (the last repeats); `faults`; and a `callback`.
//! As in the [`Mock`](crate::Mock) builder, it may also have `up_to_n_times` (it stops matching
//! after that many requests), `priority` (1 first, 255 last, default 5), `expect` (a count, or
//! `{"min": a, "max": b}` with either bound left out; checked by
//! [`MockNet::verify`](crate::MockNet::verify) and when the server is dropped) and a
//! `sequence`.
//!
//! A **sequence** is a non-empty list of steps: the `n`-th request the route matches gets step
//! `n`, and the last step repeats. A step has `faults` (drawn before the route's own) and
//! maybe its own `response`; `{}` is the route's response as it is. "Reset twice, then 201":
//! `"response": {"status": 201}, "sequence": [{"faults": [{"kind": "reset"}]},
//! {"faults": [{"kind": "reset"}]}, {}]`.
//!
//! A **callback** is a webhook the server sends after answering the route (see
//! [the `callback` module](crate::callback)): `url` (a loopback `http://` URL, or a path
//! starting with `/` resolved against
//! [`MockNetBuilder::callback_base`](crate::MockNetBuilder::callback_base)), `method` (default
//! `POST`), `headers`, a `json` or `text` body, and `delay_ms` (default 0). A URL that is not
//! loopback HTTP is an error at load time.
//!
//! A **response** has `status` (default 200), `headers`, and a `json`, `text` or `base64`
//! body (standard alphabet, padded: bytes that are not text, such as a recorded gzip body;
//! it implies no `content-type`).
//!
//! A **fault** has a `kind`, a `probability` (default 1) and the kind's fields:
//! `latency` (`ms`), `jitter-uniform` (`min_ms`, `max_ms`), `jitter-lognormal` (`p50_ms`,
//! `p99_ms`), `status` (`status`, optional `retry_after_s`), `reset`, `empty`, `malformed`,
//! `truncated`, `dribble` (`chunk_bytes`, `interval_ms`), `bandwidth` (`bytes_per_second`),
//! `hang`, and two that act on the connections after the request rather than on its answer:
//! `refused` (`for_ms`: the server stops listening for that long, so new connections get a
//! real `ECONNREFUSED`) and `close-on-accept` (`connections`: the next ones are closed as soon
//! as they are accepted, before a byte is read).
//!
//! [`Scenario::to_catalog_json`](crate::Scenario::to_catalog_json) writes a scenario (one built
//! with [`Mock`](crate::Mock)s too) out in this format.
//!
//! A **network** (in the `networks` section, next to `scenarios`) describes the links of a
//! [`Network`](crate::network::Network): its `nodes`, `faults` for every link, `links` with
//! faults of their own (`{"from": "a", "to": "b", "faults": [...]}`), and a `timeline` of
//! events at `at_ms` milliseconds of virtual time after the network starts: `partition`
//! (groups `a` and `b`, optional `one_way` and `mode` `stall` or `reset`), `heal` (every
//! partition the timeline began), `crash` and `restart` (`node`), and `faults` (new faults,
//! for link `from`/`to` or every link). Link faults are `latency`, `jitter-uniform`,
//! `jitter-lognormal`, `bandwidth`, `slice` (`bytes`, optional `interval_ms`), `dribble`,
//! `reset` (optional `after_bytes`), `refuse` and `black-hole` (or `hang`), each with an
//! optional `probability` and `direction` (`both`, `upstream`, `downstream`); see
//! [`LinkFaults::from_json`](crate::link::LinkFaults::from_json). Every node name is checked
//! against `nodes` when the catalog loads. [`Catalog::selected_network`] picks one by
//! `STEADFAST_SCENARIO`.
//!
//! The built-in overlays are `degraded-network` (lognormal jitter with p50 80 ms and p99
//! 1200 ms, 10 % of 503s with `Retry-After: 1`, 5 % of resets), `offline` (every request
//! reset) and `slow` (16 KiB/s). A catalog's overlay of the same name replaces a built-in one.

mod compile;
mod export;
mod networks;
mod overlays;
mod schema;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, ErrorKind, Place};
use crate::network::NetworkScenario;
use crate::scenario::{Overlay, Scenario};
use compile::Compiler;
use schema::RawCatalog;

/// The environment variable that selects a scenario by name (see [`Catalog::selected`]).
pub const SCENARIO_ENV: &str = "STEADFAST_SCENARIO";

/// Named scenarios and overlays, loaded from JSON and validated as a whole.
///
/// # Example
///
/// ```
/// use steadfast_mocknet::Catalog;
///
/// let catalog = Catalog::from_json("payments.json", r#"{"scenarios": {
///     "happy-path": {"routes": [{"name": "charge", "method": "POST", "path": "/v1/charges",
///                                "response": {"status": 201, "json": {"id": "ch_1"}}}]},
///     "degraded-network": {"extends": "happy-path", "overlays": ["degraded-network"]}
/// }}"#)?;
/// assert_eq!(catalog.scenario_names().collect::<Vec<_>>(), ["degraded-network", "happy-path"]);
///
/// let err = catalog.scenario("offline-mode").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "unknown scenario `offline-mode` in catalog payments.json; \
///      known scenarios: degraded-network, happy-path"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Catalog {
    file: String,
    scenarios: BTreeMap<String, Scenario>,
    overlays: BTreeMap<String, Overlay>,
    networks: BTreeMap<String, NetworkScenario>,
}

impl Catalog {
    /// Parses and validates a catalog; `file` names it in errors.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidCatalog`] with the [serde path](Error::serde_path) when the JSON is
    /// malformed or has an unknown field or a wrong type (the cause is serde's error, with the
    /// line and column); [`ErrorKind::InvalidRoute`] when a value cannot be used (a
    /// probability outside 0..=1, an invalid regex, method or header, two path matchers, a
    /// missing response, an `extends` cycle); [`ErrorKind::UnknownScenario`] for an unknown
    /// `extends` and [`ErrorKind::UnknownOverlay`] for an unknown overlay. Each names the
    /// [file](Error::file), and the [scenario](Error::scenario) or [overlay](Error::overlay)
    /// and [route](Error::route) where they apply.
    pub fn from_json(file: impl Into<String>, json: &str) -> Result<Catalog, Error> {
        let file = file.into();
        let deserializer = &mut serde_json::Deserializer::from_str(json);
        let raw: RawCatalog = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let (place, route) = locate(json, err.path());
            let path = err.path().to_string();
            let inner = err.into_inner();
            Error::new(ErrorKind::InvalidCatalog)
                .in_file(file.clone())
                .at(place)
                .in_route(route)
                .at_serde_path(path)
                .with_detail(without_position(&inner))
                .with_source(inner)
        })?;
        Compiler { file, raw: &raw }.compile()
    }

    /// Reads, parses and validates a catalog file.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::ReadCatalog`] when the file cannot be read (the cause is the I/O error),
    /// then as [`from_json`](Self::from_json).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Catalog, Error> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let json = std::fs::read_to_string(path).map_err(|err| {
            Error::new(ErrorKind::ReadCatalog)
                .in_file(file.clone())
                .with_source(err)
        })?;
        Catalog::from_json(file, &json)
    }

    /// The file the catalog came from, as given to [`from_json`](Self::from_json).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The scenario called `name`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownScenario`], naming the file and listing the
    /// [known](Error::known) scenarios.
    pub fn scenario(&self, name: &str) -> Result<Scenario, Error> {
        self.scenarios.get(name).cloned().ok_or_else(|| {
            Error::new(ErrorKind::UnknownScenario)
                .in_file(self.file.clone())
                .looking_for(name)
                .with_known(self.scenarios.keys().cloned().collect())
        })
    }

    /// The overlay called `name`: one of the catalog's or a built-in one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownOverlay`], naming the file and listing the [known](Error::known)
    /// overlays.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_mocknet::{Catalog, ErrorKind};
    ///
    /// let catalog = Catalog::from_json("c.json", r#"{"scenarios": {}}"#)?;
    /// assert_eq!(catalog.overlay("slow")?.name(), "slow");
    /// let err = catalog.overlay("lossy").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::UnknownOverlay);
    /// assert_eq!(
    ///     err.to_string(),
    ///     "unknown overlay `lossy` in catalog c.json; known overlays: degraded-network, offline, slow"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn overlay(&self, name: &str) -> Result<Overlay, Error> {
        self.overlays.get(name).cloned().ok_or_else(|| {
            Error::new(ErrorKind::UnknownOverlay)
                .in_file(self.file.clone())
                .looking_for(name)
                .with_known(self.overlays.keys().cloned().collect())
        })
    }

    /// The names of the scenarios, sorted.
    pub fn scenario_names(&self) -> impl Iterator<Item = &str> {
        self.scenarios.keys().map(String::as_str)
    }

    /// The scenario named by `STEADFAST_SCENARIO`, or `default` when the variable is unset, so
    /// one suite runs as a matrix over scenarios.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidEnv`] naming the [variable](Error::variable) when it is empty or
    /// not UTF-8, and [`ErrorKind::UnknownScenario`] (naming the variable too, and listing the
    /// [known](Error::known) scenarios) when no scenario has that name.
    pub fn selected(&self, default: &str) -> Result<Scenario, Error> {
        self.selected_with(|name| std::env::var_os(name), default)
    }

    /// Like [`selected`](Self::selected), with the environment read through `lookup`, which
    /// answers as [`std::env::var_os`] does.
    ///
    /// # Errors
    ///
    /// As [`selected`](Self::selected).
    ///
    /// # Example
    ///
    /// ```
    /// use std::ffi::OsString;
    /// use steadfast_mocknet::Catalog;
    ///
    /// let catalog = Catalog::from_json("c.json", r#"{"scenarios": {"a": {}, "b": {}}}"#)?;
    /// let env = |value: &'static str| move |_: &str| Some(OsString::from(value));
    /// assert_eq!(catalog.selected_with(|_| None, "a")?.name(), "a");
    /// assert_eq!(catalog.selected_with(env("b"), "a")?.name(), "b");
    /// let err = catalog.selected_with(env(""), "a").unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"environment variable STEADFAST_SCENARIO has invalid value "": expected one of the scenario names: a, b"#
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn selected_with(
        &self,
        lookup: impl Fn(&str) -> Option<OsString>,
        default: &str,
    ) -> Result<Scenario, Error> {
        let Some(value) = lookup(SCENARIO_ENV) else {
            return self.scenario(default);
        };
        let lossy = value.to_string_lossy();
        match value.to_str().map(str::trim) {
            Some(name) if !name.is_empty() => self
                .scenario(name)
                .map_err(|err| err.with_variable(SCENARIO_ENV).with_value(lossy)),
            _ => {
                let known: Vec<String> = self.scenarios.keys().cloned().collect();
                Err(Error::new(ErrorKind::InvalidEnv)
                    .with_variable(SCENARIO_ENV)
                    .with_value(lossy)
                    .with_detail(format!("one of the scenario names: {}", known.join(", ")))
                    .with_known(known))
            }
        }
    }
}

impl Catalog {
    /// The network scenario called `name`, from the catalog's `networks` section.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownNetwork`], naming the file and listing the [known](Error::known)
    /// network scenarios.
    pub fn network(&self, name: &str) -> Result<NetworkScenario, Error> {
        self.networks.get(name).cloned().ok_or_else(|| {
            Error::new(ErrorKind::UnknownNetwork)
                .in_file(self.file.clone())
                .looking_for(name)
                .with_known(self.networks.keys().cloned().collect())
        })
    }

    /// The names of the network scenarios, sorted.
    pub fn network_names(&self) -> impl Iterator<Item = &str> {
        self.networks.keys().map(String::as_str)
    }

    /// The network scenario named by `STEADFAST_SCENARIO`, or `default` when the variable is
    /// unset.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidEnv`] naming the [variable](Error::variable) when it is empty or
    /// not UTF-8, and [`ErrorKind::UnknownNetwork`] (naming the variable too) when no network
    /// scenario has that name.
    pub fn selected_network(&self, default: &str) -> Result<NetworkScenario, Error> {
        self.selected_network_with(|name| std::env::var_os(name), default)
    }

    /// Like [`selected_network`](Self::selected_network), with the environment read through
    /// `lookup`, which answers as [`std::env::var_os`] does.
    ///
    /// # Errors
    ///
    /// As [`selected_network`](Self::selected_network).
    ///
    /// # Example
    ///
    /// ```
    /// use std::ffi::OsString;
    /// use steadfast_mocknet::Catalog;
    ///
    /// let catalog = Catalog::from_json("c.json", r#"{"networks": {"calm": {}, "split": {}}}"#)?;
    /// let env = |value: &'static str| move |_: &str| Some(OsString::from(value));
    /// assert_eq!(catalog.selected_network_with(|_| None, "calm")?.name(), "calm");
    /// assert_eq!(catalog.selected_network_with(env("split"), "calm")?.name(), "split");
    /// let err = catalog.selected_network_with(env("storm"), "calm").unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "unknown network `storm` in catalog c.json (from STEADFAST_SCENARIO); known networks: calm, split"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn selected_network_with(
        &self,
        lookup: impl Fn(&str) -> Option<OsString>,
        default: &str,
    ) -> Result<NetworkScenario, Error> {
        let Some(value) = lookup(SCENARIO_ENV) else {
            return self.network(default);
        };
        let lossy = value.to_string_lossy();
        match value.to_str().map(str::trim) {
            Some(name) if !name.is_empty() => self
                .network(name)
                .map_err(|err| err.with_variable(SCENARIO_ENV).with_value(lossy)),
            _ => {
                let known: Vec<String> = self.networks.keys().cloned().collect();
                Err(Error::new(ErrorKind::InvalidEnv)
                    .with_variable(SCENARIO_ENV)
                    .with_value(lossy)
                    .with_detail(format!("one of the network names: {}", known.join(", ")))
                    .with_known(known))
            }
        }
    }
}

/// serde's message without the ` at line L column C` it ends with: the serde path says where,
/// and the position stays in the error's source.
fn without_position(err: &serde_json::Error) -> String {
    let message = err.to_string();
    let position = format!(" at line {} column {}", err.line(), err.column());
    match message.strip_suffix(&position) {
        Some(stripped) => stripped.to_string(),
        None => message,
    }
}

/// The scenario (or overlay) and route name a serde error path points into, read from the
/// catalog as plain JSON (when it is JSON at all) so the error can name them.
fn locate(json: &str, path: &serde_path_to_error::Path) -> (Option<Place>, Option<String>) {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let (section, scenario) = match segments.as_slice() {
        [
            Segment::Map { key: section },
            Segment::Map { key: name },
            ..,
        ] if section == "scenarios" || section == "overlays" => (section.as_str(), name.clone()),
        _ => return (None, None),
    };
    let route = match segments.as_slice() {
        [
            _,
            _,
            Segment::Map { key: routes },
            Segment::Seq { index },
            ..,
        ] if routes == "routes" => serde_json::from_str::<Value>(json).ok().and_then(|value| {
            value
                .get(section)?
                .get(&scenario)?
                .get("routes")?
                .get(*index)?
                .get("name")?
                .as_str()
                .map(str::to_string)
        }),
        _ => None,
    };
    let place = if section == "scenarios" {
        Place::Scenario(scenario)
    } else {
        Place::Overlay(scenario)
    };
    (Some(place), route)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn load(json: &str) -> Result<Catalog, Error> {
        Catalog::from_json("test.json", json)
    }

    pub(super) fn message(json: &str) -> String {
        load(json)
            .expect_err("catalog should be rejected")
            .to_string()
    }

    #[test]
    fn wrong_type_names_the_file_and_serde_path() {
        let err = load(
            r#"{"scenarios": {"happy-path": {"routes": [
                {"name": "charge", "response": {"status": "ok"}}]}}}"#,
        )
        .expect_err("a string status");

        assert_eq!(err.kind(), ErrorKind::InvalidCatalog);
        assert_eq!(
            (err.file(), err.scenario(), err.route()),
            (Some("test.json"), Some("happy-path"), Some("charge"))
        );
        assert_eq!(
            err.serde_path(),
            Some("scenarios.happy-path.routes[0].response.status")
        );
        assert_eq!(
            err.to_string(),
            "invalid catalog test.json: scenario `happy-path`, route `charge` \
             at `scenarios.happy-path.routes[0].response.status`: \
             invalid type: string \"ok\", expected u16"
        );
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("invalid type: string \"ok\", expected u16 at line 2 column 62")
        );
    }

    #[test]
    fn wrong_type_in_an_overlay_names_the_overlay() {
        let err = load(r#"{"overlays": {"flaky-dns": {"faults": 3}}}"#).expect_err("not a list");

        assert_eq!(err.kind(), ErrorKind::InvalidCatalog);
        assert_eq!((err.overlay(), err.scenario()), (Some("flaky-dns"), None));
        assert!(
            err.to_string().starts_with(
                "invalid catalog test.json: overlay `flaky-dns` at `overlays.flaky-dns.faults`: \
                 invalid type: integer `3`"
            ),
            "{err}"
        );
    }

    #[test]
    fn malformed_scenario_env_value_names_the_variable_and_known_scenarios() {
        let catalog = load(r#"{"scenarios": {"a": {}, "b": {}}}"#).expect("valid catalog");
        let err = catalog
            .selected_with(|_| Some(OsString::from("  ")), "a")
            .expect_err("blank");
        assert_eq!(
            err.to_string(),
            "environment variable STEADFAST_SCENARIO has invalid value \"  \": \
             expected one of the scenario names: a, b"
        );
        assert_eq!(err.kind(), ErrorKind::InvalidEnv);
        assert_eq!(
            (err.variable(), err.value()),
            (Some("STEADFAST_SCENARIO"), Some("  "))
        );
        let err = catalog
            .selected_with(|_| Some(OsString::from("c")), "a")
            .expect_err("unknown");
        assert_eq!(err.kind(), ErrorKind::UnknownScenario);
        assert_eq!(err.known(), ["a", "b"]);
        assert_eq!(
            (err.name(), err.variable()),
            (Some("c"), Some("STEADFAST_SCENARIO"))
        );
        assert_eq!(
            err.to_string(),
            "unknown scenario `c` in catalog test.json (from STEADFAST_SCENARIO); \
             known scenarios: a, b"
        );
    }
}
