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
//! `headers` and `query` (exact values), `body_json` (exact) or `body_partial_json`;
//! `when_state` (only matches in that state) and `set_state` (moves the scenario on); one
//! `response` or a sequence of `responses` (the last repeats); `faults`; and a `callback`.
//!
//! A **callback** is a webhook the server sends after answering the route (see
//! [the `callback` module](crate::callback)): `url` (a loopback `http://` URL, or a path
//! starting with `/` resolved against
//! [`MockNetBuilder::callback_base`](crate::MockNetBuilder::callback_base)), `method` (default
//! `POST`), `headers`, a `json` or `text` body, and `delay_ms` (default 0). A URL that is not
//! loopback HTTP is an error at load time.
//!
//! A **response** has `status` (default 200), `headers`, and a `json` or `text` body.
//!
//! A **fault** has a `kind`, a `probability` (default 1) and the kind's fields:
//! `latency` (`ms`), `jitter-uniform` (`min_ms`, `max_ms`), `jitter-lognormal` (`p50_ms`,
//! `p99_ms`), `status` (`status`, optional `retry_after_s`), `reset`, `empty`, `malformed`,
//! `truncated`, `dribble` (`chunk_bytes`, `interval_ms`), `bandwidth` (`bytes_per_second`),
//! `hang`.
//!
//! The built-in overlays are `degraded-network` (lognormal jitter with p50 80 ms and p99
//! 1200 ms, 10 % of 503s with `Retry-After: 1`, 5 % of resets), `offline` (every request
//! reset) and `slow` (16 KiB/s). A catalog's overlay of the same name replaces a built-in one.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use serde::Deserialize;
use serde_json::Value;

use crate::callback::{self, Callback};
use crate::error::{Error, ErrorKind};
use crate::fault::{Effect, Fault};
use crate::scenario::{MatcherSpec, Overlay, Response, Route, Scenario};

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
///     "unknown scenario `offline-mode`; known scenarios: degraded-network, happy-path"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Catalog {
    file: String,
    scenarios: BTreeMap<String, Scenario>,
    overlays: BTreeMap<String, Overlay>,
}

impl Catalog {
    /// Parses and validates a catalog; `file` names it in errors.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidCatalog`] with the serde path when the JSON is malformed or has an
    /// unknown field or a wrong type; [`ErrorKind::InvalidRoute`] when a value cannot be used
    /// (a probability outside 0..=1, an invalid regex, method or header, two path matchers, a
    /// missing response); [`ErrorKind::UnknownScenario`] for an unknown `extends` or overlay.
    pub fn from_json(file: impl Into<String>, json: &str) -> Result<Catalog, Error> {
        let file = file.into();
        let deserializer = &mut serde_json::Deserializer::from_str(json);
        let raw: RawCatalog = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let (scenario, route) = locate(json, err.path());
            let path = err.path().to_string();
            let inner = err.into_inner();
            let message = inner.to_string();
            Error::with_source(
                ErrorKind::InvalidCatalog {
                    file: file.clone(),
                    scenario,
                    route,
                    path,
                    message,
                },
                inner,
            )
        })?;
        Compiler { file, raw: &raw }.compile()
    }

    /// Reads, parses and validates a catalog file.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::ReadCatalog`] when the file cannot be read, then as [`from_json`](Self::from_json).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Catalog, Error> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let json = std::fs::read_to_string(path)
            .map_err(|err| Error::io(ErrorKind::ReadCatalog { file: file.clone() }, err))?;
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
    /// [`ErrorKind::UnknownScenario`], listing the known names.
    pub fn scenario(&self, name: &str) -> Result<Scenario, Error> {
        self.scenarios.get(name).cloned().ok_or_else(|| {
            Error::new(ErrorKind::UnknownScenario {
                name: name.into(),
                known: self.scenarios.keys().cloned().collect(),
            })
        })
    }

    /// The overlay called `name`: one of the catalog's or a built-in one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownScenario`], listing the known overlays.
    pub fn overlay(&self, name: &str) -> Result<Overlay, Error> {
        self.overlays.get(name).cloned().ok_or_else(|| {
            Error::new(ErrorKind::UnknownScenario {
                name: name.into(),
                known: self.overlays.keys().cloned().collect(),
            })
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
    /// [`ErrorKind::InvalidEnv`] naming the variable when it is empty or not UTF-8, and
    /// [`ErrorKind::UnknownScenario`] (listing the known ones) when no scenario has that name.
    pub fn selected(&self, default: &str) -> Result<Scenario, Error> {
        self.selected_from(std::env::var_os(SCENARIO_ENV).as_deref(), default)
    }

    /// Like [`selected`](Self::selected) with the variable's value given, for callers that read
    /// the environment themselves.
    ///
    /// # Errors
    ///
    /// As [`selected`](Self::selected).
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_mocknet::Catalog;
    ///
    /// let catalog = Catalog::from_json("c.json", r#"{"scenarios": {"a": {}, "b": {}}}"#)?;
    /// assert_eq!(catalog.selected_from(None, "a")?.name(), "a");
    /// assert_eq!(catalog.selected_from(Some("b".as_ref()), "a")?.name(), "b");
    /// let err = catalog.selected_from(Some("".as_ref()), "a").unwrap_err();
    /// assert!(err.to_string().starts_with("invalid STEADFAST_SCENARIO"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn selected_from(&self, value: Option<&OsStr>, default: &str) -> Result<Scenario, Error> {
        let Some(value) = value else {
            return self.scenario(default);
        };
        let known = || {
            self.scenarios
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        };
        match value.to_str().map(str::trim) {
            Some(name) if !name.is_empty() => self.scenario(name),
            _ => Err(Error::new(ErrorKind::InvalidEnv {
                var: SCENARIO_ENV,
                value: value.to_string_lossy().into_owned(),
                expected: format!("one of the scenario names: {}", known()),
            })),
        }
    }
}

/// The scenario (or overlay) and route name a serde error path points into, read from the
/// catalog as plain JSON (when it is JSON at all) so the error can name them.
fn locate(json: &str, path: &serde_path_to_error::Path) -> (Option<String>, Option<String>) {
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
    (Some(scenario), route)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    #[serde(default)]
    scenarios: BTreeMap<String, RawScenario>,
    #[serde(default)]
    overlays: BTreeMap<String, RawOverlay>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    #[serde(default, rename = "description")]
    _description: Option<String>,
    extends: Option<String>,
    initial_state: Option<String>,
    #[serde(default)]
    routes: Vec<RawRoute>,
    #[serde(default)]
    faults: Vec<RawFault>,
    #[serde(default)]
    overlays: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverlay {
    #[serde(default, rename = "description")]
    _description: Option<String>,
    faults: Vec<RawFault>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    name: String,
    method: Option<String>,
    path: Option<String>,
    path_prefix: Option<String>,
    path_regex: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    query: BTreeMap<String, String>,
    body_json: Option<Value>,
    body_partial_json: Option<Value>,
    when_state: Option<String>,
    set_state: Option<String>,
    response: Option<RawResponse>,
    responses: Option<Vec<RawResponse>>,
    #[serde(default)]
    faults: Vec<RawFault>,
    callback: Option<RawCallback>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCallback {
    method: Option<String>,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    json: Option<Value>,
    text: Option<String>,
    #[serde(default)]
    delay_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResponse {
    #[serde(default = "ok")]
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    json: Option<Value>,
    text: Option<String>,
}

fn ok() -> u16 {
    200
}

fn always() -> f64 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum RawFault {
    Latency {
        ms: u64,
        #[serde(default = "always")]
        probability: f64,
    },
    JitterUniform {
        min_ms: u64,
        max_ms: u64,
        #[serde(default = "always")]
        probability: f64,
    },
    JitterLognormal {
        p50_ms: u64,
        p99_ms: u64,
        #[serde(default = "always")]
        probability: f64,
    },
    Status {
        status: u16,
        retry_after_s: Option<u64>,
        #[serde(default = "always")]
        probability: f64,
    },
    Reset {
        #[serde(default = "always")]
        probability: f64,
    },
    Empty {
        #[serde(default = "always")]
        probability: f64,
    },
    Malformed {
        #[serde(default = "always")]
        probability: f64,
    },
    Truncated {
        #[serde(default = "always")]
        probability: f64,
    },
    Dribble {
        chunk_bytes: usize,
        interval_ms: u64,
        #[serde(default = "always")]
        probability: f64,
    },
    Bandwidth {
        bytes_per_second: u64,
        #[serde(default = "always")]
        probability: f64,
    },
    Hang {
        #[serde(default = "always")]
        probability: f64,
    },
}

impl RawFault {
    fn compile(&self) -> Result<Fault, String> {
        let ms = Duration::from_millis;
        let (probability, effect) = match *self {
            RawFault::Latency {
                ms: by,
                probability,
            } => (probability, Effect::Latency(ms(by))),
            RawFault::JitterUniform {
                min_ms,
                max_ms,
                probability,
            } => {
                if max_ms < min_ms {
                    return Err(format!(
                        "jitter-uniform needs min_ms <= max_ms, got {min_ms} and {max_ms}"
                    ));
                }
                let (min, max) = (ms(min_ms), ms(max_ms));
                (probability, Effect::UniformJitter { min, max })
            }
            RawFault::JitterLognormal {
                p50_ms,
                p99_ms,
                probability,
            } => (probability, Effect::lognormal(ms(p50_ms), ms(p99_ms))?),
            RawFault::Status {
                status,
                retry_after_s,
                probability,
            } => {
                check_status(status)?;
                let retry_after = retry_after_s;
                (
                    probability,
                    Effect::Status {
                        status,
                        retry_after,
                    },
                )
            }
            RawFault::Reset { probability } => (probability, Effect::Reset),
            RawFault::Empty { probability } => (probability, Effect::Empty),
            RawFault::Malformed { probability } => (probability, Effect::Malformed),
            RawFault::Truncated { probability } => (probability, Effect::Truncated),
            RawFault::Dribble {
                chunk_bytes,
                interval_ms,
                probability,
            } => {
                if chunk_bytes == 0 {
                    return Err("dribble needs chunk_bytes >= 1".into());
                }
                let interval = ms(interval_ms);
                let chunk = chunk_bytes;
                (probability, Effect::Dribble { chunk, interval })
            }
            RawFault::Bandwidth {
                bytes_per_second,
                probability,
            } => {
                if bytes_per_second == 0 {
                    return Err("bandwidth needs bytes_per_second >= 1".into());
                }
                (probability, Effect::Bandwidth { bytes_per_second })
            }
            RawFault::Hang { probability } => (probability, Effect::Hang),
        };
        if !(0.0..=1.0).contains(&probability) {
            return Err(format!(
                "{} fault: probability {probability} is outside 0..=1",
                effect.kind()
            ));
        }
        Ok(Fault {
            probability,
            effect,
        })
    }
}

fn check_status(status: u16) -> Result<(), String> {
    // 1xx responses are interim and cannot end an exchange.
    if (200..=999).contains(&status) {
        Ok(())
    } else {
        Err(format!(
            "status {status} is not a final HTTP status (200 to 999)"
        ))
    }
}

fn builtin_overlays() -> BTreeMap<String, Overlay> {
    let always = |effect| Fault {
        probability: 1.0,
        effect,
    };
    // log(1200/80) / z_0.99: the degraded network's tail is 15x its median.
    let degraded_jitter = Effect::LogNormalJitter {
        mu: 80f64.ln(),
        sigma: (1200f64 / 80.0).ln() / 2.326_347_874_040_840_8,
    };
    let overlays = [
        (
            "degraded-network",
            vec![
                always(degraded_jitter),
                Fault {
                    probability: 0.1,
                    effect: Effect::Status {
                        status: 503,
                        retry_after: Some(1),
                    },
                },
                Fault {
                    probability: 0.05,
                    effect: Effect::Reset,
                },
            ],
        ),
        ("offline", vec![always(Effect::Reset)]),
        (
            "slow",
            vec![always(Effect::Bandwidth {
                bytes_per_second: 16 * 1024,
            })],
        ),
    ];
    overlays
        .into_iter()
        .map(|(name, faults)| {
            let name = name.to_string();
            (name.clone(), Overlay { name, faults })
        })
        .collect()
}

struct Compiler<'a> {
    file: String,
    raw: &'a RawCatalog,
}

impl Compiler<'_> {
    fn compile(self) -> Result<Catalog, Error> {
        let mut overlays = builtin_overlays();
        for (name, raw) in &self.raw.overlays {
            let faults = self.faults(name, "(overlay faults)", &raw.faults)?;
            let name = name.clone();
            overlays.insert(name.clone(), Overlay { name, faults });
        }
        let mut scenarios = BTreeMap::new();
        for name in self.raw.scenarios.keys() {
            let scenario = self.scenario(name, &overlays, &mut BTreeSet::new())?;
            scenarios.insert(name.clone(), scenario);
        }
        Ok(Catalog {
            file: self.file,
            scenarios,
            overlays,
        })
    }

    fn invalid(&self, scenario: &str, route: &str, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidRoute {
            file: self.file.clone(),
            scenario: scenario.into(),
            route: route.into(),
            message: message.into(),
        })
    }

    fn faults(&self, scenario: &str, route: &str, raw: &[RawFault]) -> Result<Vec<Fault>, Error> {
        raw.iter()
            .enumerate()
            .map(|(index, fault)| {
                fault.compile().map_err(|message| {
                    self.invalid(scenario, route, format!("faults[{index}]: {message}"))
                })
            })
            .collect()
    }

    /// Compiles `name`, following `extends`; `seen` catches cycles.
    fn scenario(
        &self,
        name: &str,
        overlays: &BTreeMap<String, Overlay>,
        seen: &mut BTreeSet<String>,
    ) -> Result<Scenario, Error> {
        let Some(raw) = self.raw.scenarios.get(name) else {
            return Err(Error::new(ErrorKind::UnknownScenario {
                name: name.into(),
                known: self.raw.scenarios.keys().cloned().collect(),
            }));
        };
        if !seen.insert(name.to_string()) {
            return Err(self.invalid(name, "(extends)", "scenarios extend each other in a cycle"));
        }
        let base = match &raw.extends {
            Some(base) => Some(self.scenario(base, overlays, seen)?),
            None => None,
        };
        let mut routes = Vec::new();
        for route in &raw.routes {
            routes.push(self.route(name, route)?);
        }
        let mut faults = self.faults(name, "(scenario faults)", &raw.faults)?;
        let mut initial_state = raw.initial_state.clone();
        if let Some(base) = base {
            routes.extend(base.routes);
            faults.splice(0..0, base.faults);
            initial_state = initial_state.or(Some(base.initial_state));
        }
        for overlay in &raw.overlays {
            let overlay = overlays.get(overlay).ok_or_else(|| {
                Error::new(ErrorKind::UnknownScenario {
                    name: overlay.clone(),
                    known: overlays.keys().cloned().collect(),
                })
            })?;
            faults.extend(overlay.faults.iter().cloned());
        }
        Ok(Scenario {
            name: name.into(),
            initial_state: initial_state.unwrap_or_else(|| "started".into()),
            routes,
            faults,
        })
    }

    fn route(&self, scenario: &str, raw: &RawRoute) -> Result<Route, Error> {
        let invalid = |message: String| self.invalid(scenario, &raw.name, message);
        let mut matchers = Vec::new();
        if let Some(method) = &raw.method {
            let method = Method::from_bytes(method.as_bytes())
                .map_err(|_| invalid(format!("`{method}` is not an HTTP method")))?;
            matchers.push(MatcherSpec::Method(method));
        }
        match (&raw.path, &raw.path_prefix, &raw.path_regex) {
            (None, None, None) => {}
            (Some(path), None, None) => matchers.push(MatcherSpec::Path(path.clone())),
            (None, Some(prefix), None) => matchers.push(MatcherSpec::PathPrefix(prefix.clone())),
            (None, None, Some(regex)) => {
                let regex = regex::Regex::new(regex)
                    .map_err(|err| invalid(format!("invalid path_regex `{regex}`: {err}")))?;
                matchers.push(MatcherSpec::PathRegex(regex));
            }
            _ => {
                return Err(invalid(
                    "give at most one of path, path_prefix and path_regex".into(),
                ));
            }
        }
        for (name, value) in &raw.headers {
            let (name, value) = header(name, value).map_err(&invalid)?;
            matchers.push(MatcherSpec::Header(name, value));
        }
        for (name, value) in &raw.query {
            matchers.push(MatcherSpec::Query(name.clone(), value.clone()));
        }
        match (&raw.body_json, &raw.body_partial_json) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "give body_json or body_partial_json, not both".into(),
                ));
            }
            (Some(body), None) => matchers.push(MatcherSpec::BodyJson(body.clone())),
            (None, Some(body)) => matchers.push(MatcherSpec::BodyPartialJson(body.clone())),
            (None, None) => {}
        }
        let raw_responses = match (&raw.response, &raw.responses) {
            (Some(response), None) => std::slice::from_ref(response),
            (None, Some(responses)) if !responses.is_empty() => responses.as_slice(),
            (None, Some(_)) => return Err(invalid("responses is empty".into())),
            (None, None) => return Err(invalid("give a response or responses".into())),
            (Some(_), Some(_)) => {
                return Err(invalid("give response or responses, not both".into()));
            }
        };
        let responses = raw_responses
            .iter()
            .enumerate()
            .map(|(index, response)| {
                self.response(response)
                    .map_err(|message| invalid(format!("responses[{index}]: {message}")))
            })
            .collect::<Result<_, _>>()?;
        let callback = match &raw.callback {
            Some(callback) => Some(
                Self::callback(callback)
                    .map_err(|message| invalid(format!("callback: {message}")))?,
            ),
            None => None,
        };
        Ok(Route {
            name: raw.name.clone(),
            matchers,
            when_state: raw.when_state.clone(),
            set_state: raw.set_state.clone(),
            responses,
            faults: self.faults(scenario, &raw.name, &raw.faults)?,
            callback,
        })
    }

    fn callback(raw: &RawCallback) -> Result<Callback, String> {
        let method = match &raw.method {
            Some(method) => Method::from_bytes(method.as_bytes())
                .map_err(|_| format!("`{method}` is not an HTTP method"))?,
            None => Method::POST,
        };
        let target = callback::target(&raw.url)?;
        let mut headers = Vec::new();
        for (name, value) in &raw.headers {
            headers.push(header(name, value)?);
        }
        let (body, content_type) = body(raw.json.as_ref(), raw.text.as_ref())?;
        add_content_type(&mut headers, content_type);
        Ok(Callback {
            method,
            target,
            headers,
            body,
            delay: Duration::from_millis(raw.delay_ms),
        })
    }

    fn response(&self, raw: &RawResponse) -> Result<Response, String> {
        check_status(raw.status)?;
        let mut headers = Vec::new();
        for (name, value) in &raw.headers {
            headers.push(header(name, value)?);
        }
        let (body, content_type) = body(raw.json.as_ref(), raw.text.as_ref())?;
        if matches!(raw.status, 204 | 304) && !body.is_empty() {
            return Err(format!("a {} response cannot have a body", raw.status));
        }
        add_content_type(&mut headers, content_type);
        Ok(Response {
            status: raw.status,
            headers,
            body,
        })
    }
}

/// The bytes of a `json` or `text` body and the content type it implies (empty for none).
fn body(json: Option<&Value>, text: Option<&String>) -> Result<(Vec<u8>, &'static str), String> {
    match (json, text) {
        (Some(_), Some(_)) => Err("give a json or a text body, not both".into()),
        (Some(json), None) => Ok((json.to_string().into_bytes(), "application/json")),
        (None, Some(text)) => Ok((text.clone().into_bytes(), "text/plain; charset=utf-8")),
        (None, None) => Ok((Vec::new(), "")),
    }
}

/// Adds `content-type` unless the headers already have one or there is no body.
fn add_content_type(headers: &mut Vec<(HeaderName, HeaderValue)>, content_type: &'static str) {
    let has_content_type = headers
        .iter()
        .any(|(name, _)| name == http::header::CONTENT_TYPE);
    if !content_type.is_empty() && !has_content_type {
        headers.push((
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        ));
    }
}

fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), String> {
    let header_name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("`{name}` is not a valid header name"))?;
    let header_value = HeaderValue::from_str(value)
        .map_err(|_| format!("the value of header `{name}` is not a valid header value"))?;
    Ok((header_name, header_value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(json: &str) -> Result<Catalog, Error> {
        Catalog::from_json("test.json", json)
    }

    fn message(json: &str) -> String {
        load(json)
            .expect_err("catalog should be rejected")
            .to_string()
    }

    #[test]
    fn wrong_type_names_the_file_and_serde_path() {
        let text = message(
            r#"{"scenarios": {"happy-path": {"routes": [
                {"name": "charge", "response": {"status": "ok"}}]}}}"#,
        );
        assert!(
            text.starts_with(
                "invalid catalog test.json: scenario `happy-path`, route `charge` \
                 at `scenarios.happy-path.routes[0].response.status`: invalid type"
            ),
            "{text}"
        );
    }

    #[test]
    fn negative_duration_is_rejected_at_its_path() {
        let text = message(
            r#"{"scenarios": {"s": {"routes": [{"name": "r", "response": {},
                "faults": [{"kind": "latency", "ms": -5}]}]}}}"#,
        );
        assert!(text.contains("scenarios.s.routes[0].faults[0]"), "{text}");
        assert!(text.contains("-5"), "{text}");
    }

    #[test]
    fn probability_outside_unit_interval_names_scenario_and_route() {
        let text = message(
            r#"{"scenarios": {"s": {"routes": [{"name": "charge", "response": {},
                "faults": [{"kind": "reset", "probability": 1.5}]}]}}}"#,
        );
        assert_eq!(
            text,
            "invalid catalog test.json: scenario `s`, route `charge`: \
             faults[0]: reset fault: probability 1.5 is outside 0..=1"
        );
    }

    #[test]
    fn invalid_regex_is_rejected_at_load_time() {
        let text = message(
            r#"{"scenarios": {"s": {"routes": [{"name": "r", "path_regex": "(", "response": {}}]}}}"#,
        );
        assert!(text.contains("route `r`: invalid path_regex `(`"), "{text}");
    }

    #[test]
    fn unknown_fault_field_is_rejected() {
        let text =
            message(r#"{"scenarios": {"s": {"faults": [{"kind": "reset", "chance": 0.5}]}}}"#);
        assert!(text.contains("chance"), "{text}");
    }

    #[test]
    fn interim_status_and_body_on_204_are_rejected() {
        let interim = message(
            r#"{"scenarios": {"s": {"routes": [{"name": "r", "response": {"status": 101}}]}}}"#,
        );
        let no_content = message(
            r#"{"scenarios": {"s": {"routes": [{"name": "r", "response": {"status": 204, "text": "x"}}]}}}"#,
        );

        assert!(
            interim.ends_with("responses[0]: status 101 is not a final HTTP status (200 to 999)"),
            "{interim}"
        );
        assert!(
            no_content.ends_with("responses[0]: a 204 response cannot have a body"),
            "{no_content}"
        );
    }

    #[test]
    fn extends_cycle_is_an_error() {
        let text = message(r#"{"scenarios": {"a": {"extends": "b"}, "b": {"extends": "a"}}}"#);
        assert!(text.contains("cycle"), "{text}");
    }

    #[test]
    fn unknown_overlay_lists_the_known_ones() {
        let text = message(r#"{"scenarios": {"a": {"overlays": ["lossy"]}}}"#);
        assert_eq!(
            text,
            "unknown scenario `lossy`; known scenarios: degraded-network, offline, slow"
        );
    }

    #[test]
    fn extended_routes_follow_own_routes_and_overlay_adds_faults() {
        let catalog = load(
            r#"{"scenarios": {
                "base": {"routes": [{"name": "b", "response": {}}]},
                "child": {"extends": "base", "overlays": ["offline"],
                          "routes": [{"name": "c", "response": {}}]}}}"#,
        )
        .expect("valid catalog");
        let child = catalog.scenario("child").expect("known");
        assert_eq!(child.route_names().collect::<Vec<_>>(), ["c", "b"]);
        assert_eq!(child.faults.len(), 1);
        assert_eq!(child.faults[0].effect, Effect::Reset);
    }

    #[test]
    fn malformed_scenario_env_value_names_the_variable_and_known_scenarios() {
        let catalog = load(r#"{"scenarios": {"a": {}, "b": {}}}"#).expect("valid catalog");
        let err = catalog
            .selected_from(Some(OsStr::new("  ")), "a")
            .expect_err("blank");
        assert_eq!(
            err.to_string(),
            "invalid STEADFAST_SCENARIO=\"  \": expected one of the scenario names: a, b"
        );
        let err = catalog
            .selected_from(Some(OsStr::new("c")), "a")
            .expect_err("unknown");
        assert!(
            matches!(err.kind(), ErrorKind::UnknownScenario { known, .. } if known == &["a", "b"])
        );
    }
}
