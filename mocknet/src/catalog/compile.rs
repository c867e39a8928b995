//! Compiling a parsed catalog: checking every value and resolving `extends` and overlays.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use serde_json::Value;

use super::Catalog;
use super::overlays::builtin_overlays;
use super::schema::{
    RawCallback, RawCatalog, RawFault, RawResponse, RawRoute, RawScenario, RawStep, RawTimes,
};
use crate::callback::{self, Callback};
use crate::error::{Error, ErrorKind, Place};
use crate::fault::{Effect, Fault, check_status};
use crate::mock::Times;
use crate::scenario::{DEFAULT_PRIORITY, MatcherSpec, Overlay, Response, Route, Scenario, Step};

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
                let interval = ms(interval_ms);
                let chunk = chunk_bytes;
                (probability, Effect::Dribble { chunk, interval })
            }
            RawFault::Bandwidth {
                bytes_per_second,
                probability,
            } => (probability, Effect::Bandwidth { bytes_per_second }),
            RawFault::Hang { probability } => (probability, Effect::Hang),
            RawFault::Refused {
                for_ms,
                probability,
            } => (probability, Effect::Refuse(ms(for_ms))),
            RawFault::CloseOnAccept {
                connections,
                probability,
            } => (probability, Effect::CloseOnAccept(connections)),
        };
        Fault::checked(probability, effect)
    }
}

pub(super) struct Compiler<'a> {
    pub(super) file: String,
    pub(super) raw: &'a RawCatalog,
}

impl Compiler<'_> {
    pub(super) fn compile(self) -> Result<Catalog, Error> {
        let mut overlays = builtin_overlays();
        for (name, raw) in &self.raw.overlays {
            let faults = self.faults(Place::Overlay(name.clone()), None, &raw.faults)?;
            let name = name.clone();
            overlays.insert(name.clone(), Overlay { name, faults });
        }
        let mut scenarios = BTreeMap::new();
        for (name, raw) in &self.raw.scenarios {
            let scenario = self.scenario(name, raw, &overlays, &mut Vec::new())?;
            scenarios.insert(name.clone(), scenario);
        }
        let networks = super::networks::compile(&self.file, &self.raw.networks)?;
        Ok(Catalog {
            file: self.file,
            scenarios,
            overlays,
            networks,
        })
    }

    /// An [`ErrorKind::InvalidRoute`] error in `place` (and `route`, if the value is in one).
    fn invalid(&self, place: Place, route: Option<&str>, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidRoute)
            .in_file(self.file.clone())
            .at(Some(place))
            .in_route(route.map(str::to_string))
            .with_detail(message)
    }

    fn faults(
        &self,
        place: Place,
        route: Option<&str>,
        raw: &[RawFault],
    ) -> Result<Vec<Fault>, Error> {
        raw.iter()
            .enumerate()
            .map(|(index, fault)| {
                fault.compile().map_err(|message| {
                    self.invalid(place.clone(), route, format!("faults[{index}]: {message}"))
                })
            })
            .collect()
    }

    /// Compiles scenario `name`, following `extends`; `chain` holds the scenarios that extend
    /// it, to catch cycles.
    fn scenario(
        &self,
        name: &str,
        raw: &RawScenario,
        overlays: &BTreeMap<String, Overlay>,
        chain: &mut Vec<String>,
    ) -> Result<Scenario, Error> {
        let place = || Place::Scenario(name.to_string());
        let closes_cycle = chain.iter().any(|seen| seen == name);
        chain.push(name.to_string());
        if closes_cycle {
            let message = format!("`extends` goes round in a cycle: {}", chain.join(" -> "));
            return Err(self.invalid(place(), None, message));
        }
        let base = match &raw.extends {
            Some(base) => {
                let base_raw = self.raw.scenarios.get(base).ok_or_else(|| {
                    Error::new(ErrorKind::UnknownScenario)
                        .in_file(self.file.clone())
                        .at(Some(place()))
                        .looking_for(base.clone())
                        .with_known(self.raw.scenarios.keys().cloned().collect())
                })?;
                Some(self.scenario(base, base_raw, overlays, chain)?)
            }
            None => None,
        };
        let mut routes = Vec::new();
        for route in &raw.routes {
            routes.push(self.route(name, route)?);
        }
        let mut faults = self.faults(place(), None, &raw.faults)?;
        let mut initial_state = raw.initial_state.clone();
        if let Some(base) = base {
            routes.extend(base.routes);
            faults.splice(0..0, base.faults);
            initial_state = initial_state.or(Some(base.initial_state));
        }
        for overlay in &raw.overlays {
            let overlay = overlays.get(overlay).ok_or_else(|| {
                Error::new(ErrorKind::UnknownOverlay)
                    .in_file(self.file.clone())
                    .at(Some(place()))
                    .looking_for(overlay.clone())
                    .with_known(overlays.keys().cloned().collect())
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
        let invalid = |message: String| {
            let place = Place::Scenario(scenario.to_string());
            self.invalid(place, Some(&raw.name), message)
        };
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
        for name in &raw.headers_present {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("`{name}` is not a valid header name")))?;
            matchers.push(MatcherSpec::HeaderPresent(name));
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
        let sequence = match &raw.sequence {
            None => Vec::new(),
            Some(steps) if steps.is_empty() => return Err(invalid("sequence is empty".into())),
            Some(steps) => steps
                .iter()
                .enumerate()
                .map(|(index, step)| {
                    self.step(step)
                        .map_err(|message| invalid(format!("sequence[{index}].{message}")))
                })
                .collect::<Result<_, _>>()?,
        };
        let expect = raw.expect.as_ref().map(|times| match *times {
            RawTimes::Exactly(count) => Times::from(count),
            RawTimes::Range { min, max } => Times::between(min, max),
        });
        if let Some(times) = expect.filter(Times::is_empty) {
            return Err(invalid(format!("expect: {times} can never be met")));
        }
        Ok(Route {
            name: raw.name.clone(),
            matchers,
            when_state: raw.when_state.clone(),
            set_state: raw.set_state.clone(),
            responses,
            faults: self.faults(
                Place::Scenario(scenario.into()),
                Some(&raw.name),
                &raw.faults,
            )?,
            callback,
            max_calls: raw.up_to_n_times,
            priority: raw.priority.unwrap_or(DEFAULT_PRIORITY),
            expect,
            sequence,
            responder: None,
        })
    }

    /// A step of a route's sequence; errors start with the field, after `sequence[i].`.
    fn step(&self, raw: &RawStep) -> Result<Step, String> {
        let faults = raw
            .faults
            .iter()
            .enumerate()
            .map(|(index, fault)| {
                fault
                    .compile()
                    .map_err(|message| format!("faults[{index}]: {message}"))
            })
            .collect::<Result<_, _>>()?;
        let response = match &raw.response {
            Some(response) => Some(
                self.response(response)
                    .map_err(|message| format!("response: {message}"))?,
            ),
            None => None,
        };
        Ok(Step { faults, response })
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

    fn response(&self, raw: &RawResponse) -> Result<Arc<Response>, String> {
        check_status(raw.status)?;
        let mut headers = Vec::new();
        for (name, value) in &raw.headers {
            headers.push(header(name, value)?);
        }
        let (body, content_type) = match &raw.base64 {
            None => body(raw.json.as_ref(), raw.text.as_ref())?,
            Some(_) if raw.json.is_some() || raw.text.is_some() => {
                return Err("give one of json, text and base64, not two".into());
            }
            // A base64 body implies no content type: its headers say what it is.
            Some(encoded) => (decode_base64(encoded)?, ""),
        };
        if matches!(raw.status, 204 | 304) && !body.is_empty() {
            return Err(format!("a {} response cannot have a body", raw.status));
        }
        add_content_type(&mut headers, content_type);
        Ok(Arc::new(Response {
            status: raw.status,
            headers,
            body,
        }))
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

/// The bytes of a `base64` body (standard alphabet, padded).
fn decode_base64(encoded: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|err| format!("base64 body does not decode: {err}"))
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
    // Sorted by name, as the builder's are, so a scenario written out reads back equal.
    headers.sort_by(|(a, _), (b, _)| a.as_str().cmp(b.as_str()));
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
    use crate::catalog::tests::{load, message};
    use crate::error::ErrorKind;
    use crate::fault::Effect;

    #[test]
    fn probability_outside_unit_interval_names_scenario_and_route() {
        let err = load(
            r#"{"scenarios": {"s": {"routes": [{"name": "charge", "response": {},
                "faults": [{"kind": "reset", "probability": 1.5}]}]}}}"#,
        )
        .expect_err("probability 1.5");

        assert_eq!(err.kind(), ErrorKind::InvalidRoute);
        assert_eq!(
            (err.file(), err.scenario(), err.route()),
            (Some("test.json"), Some("s"), Some("charge"))
        );
        assert_eq!(
            err.to_string(),
            "invalid catalog test.json: scenario `s`, route `charge`: \
             faults[0]: reset fault: probability 1.5 is outside 0..=1"
        );
    }

    #[test]
    fn scenario_wide_and_overlay_faults_name_their_section_and_no_route() {
        let scenario = load(
            r#"{"scenarios": {"s": {"faults": [{"kind": "dribble",
            "chunk_bytes": 0, "interval_ms": 5}]}}}"#,
        )
        .expect_err("chunk_bytes 0");
        let overlay = load(
            r#"{"overlays": {"flaky-dns": {"faults": [{"kind": "reset",
            "probability": -1}]}}}"#,
        )
        .expect_err("probability -1");

        assert_eq!(
            (scenario.kind(), scenario.scenario(), scenario.route()),
            (ErrorKind::InvalidRoute, Some("s"), None)
        );
        assert_eq!(
            scenario.to_string(),
            "invalid catalog test.json: scenario `s`: faults[0]: dribble needs chunk_bytes >= 1"
        );
        assert_eq!(
            (overlay.kind(), overlay.overlay(), overlay.route()),
            (ErrorKind::InvalidRoute, Some("flaky-dns"), None)
        );
        assert_eq!(
            overlay.to_string(),
            "invalid catalog test.json: overlay `flaky-dns`: \
             faults[0]: reset fault: probability -1 is outside 0..=1"
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
    fn base64_body_decodes_and_implies_no_content_type() {
        let catalog = load(
            r#"{"scenarios": {"s": {"routes": [{"name": "r",
                "response": {"headers": {"content-type": "image/png"}, "base64": "iVD/"}}]}}}"#,
        )
        .expect("valid catalog");
        let bad = message(
            r#"{"scenarios": {"s": {"routes": [{"name": "r", "response": {"base64": "!!"}}]}}}"#,
        );
        let both = message(
            r#"{"scenarios": {"s": {"routes": [{"name": "r", "response": {"base64": "", "text": ""}}]}}}"#,
        );

        let response = &catalog.scenario("s").expect("known").routes[0].responses[0];
        assert_eq!(response.body, [0x89, b'P', 0xff]);
        assert_eq!(response.headers.len(), 1);
        assert!(
            bad.contains("responses[0]: base64 body does not decode"),
            "{bad}"
        );
        assert!(
            both.ends_with("give one of json, text and base64, not two"),
            "{both}"
        );
    }

    #[test]
    fn headers_present_become_any_value_matchers_and_names_are_checked() {
        let catalog = load(
            r#"{"scenarios": {"s": {"routes": [{"name": "r", "headers_present": ["authorization"],
                "response": {}}]}}}"#,
        )
        .expect("valid catalog");
        let bad = message(
            r#"{"scenarios": {"s": {"routes": [{"name": "r", "headers_present": ["a b"], "response": {}}]}}}"#,
        );

        let route = &catalog.scenario("s").expect("known").routes[0];
        assert_eq!(
            route.matchers[0].to_string(),
            "header authorization (any value)"
        );
        assert!(bad.ends_with("`a b` is not a valid header name"), "{bad}");
    }

    #[test]
    fn extends_cycle_is_an_error() {
        let err = load(r#"{"scenarios": {"a": {"extends": "b"}, "b": {"extends": "a"}}}"#)
            .expect_err("a cycle");

        assert_eq!(
            (err.kind(), err.scenario(), err.route()),
            (ErrorKind::InvalidRoute, Some("a"), None)
        );
        assert_eq!(
            err.to_string(),
            "invalid catalog test.json: scenario `a`: `extends` goes round in a cycle: a -> b -> a"
        );
    }

    #[test]
    fn unknown_base_names_the_scenario_extending_it() {
        let err = load(r#"{"scenarios": {"child": {"extends": "bsae"}, "base": {}}}"#)
            .expect_err("unknown base");

        assert_eq!(err.kind(), ErrorKind::UnknownScenario);
        assert_eq!((err.scenario(), err.name()), (Some("child"), Some("bsae")));
        assert_eq!(err.known(), ["base", "child"]);
        assert_eq!(
            err.to_string(),
            "invalid catalog test.json: scenario `child` extends unknown scenario `bsae`; \
             known scenarios: base, child"
        );
    }

    #[test]
    fn unknown_overlay_lists_the_known_ones() {
        let err =
            load(r#"{"scenarios": {"a": {"overlays": ["lossy"]}}}"#).expect_err("unknown overlay");

        assert_eq!(err.kind(), ErrorKind::UnknownOverlay);
        assert_eq!((err.scenario(), err.name()), (Some("a"), Some("lossy")));
        assert_eq!(err.known(), ["degraded-network", "offline", "slow"]);
        assert_eq!(
            err.to_string(),
            "invalid catalog test.json: scenario `a` has unknown overlay `lossy`; \
             known overlays: degraded-network, offline, slow"
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
}
