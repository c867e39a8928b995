//! Writing a scenario out as catalog JSON that reads back as the same scenario.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::callback::{Callback, Target};
use crate::error::{Error, ErrorKind};
use crate::fault::{Effect, Fault};
use crate::scenario::{DEFAULT_PRIORITY, MatcherSpec, Response, Route, Scenario, Step};

/// The 0.99 quantile of the standard normal distribution, as [`Effect::lognormal`] uses it.
const Z_99: f64 = 2.326_347_874_040_840_8;

impl Scenario {
    /// The scenario as a catalog holding it alone, in JSON with sorted keys: the same scenario
    /// always gives the same text, and [`Catalog::from_json`](crate::Catalog::from_json) reads
    /// it back equal. Built-in overlays it was given are written out as its own faults.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotRepresentable`] naming the [route](Error::route) that holds what the
    /// catalog cannot express: a matcher that is not one of [`crate::matchers`], a wiremock
    /// responder, two path or body matchers, two headers or query parameters of one name, a
    /// body that is not UTF-8 or has no content type, or a duration that is not whole
    /// milliseconds.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_mocknet::matchers::{method, path};
    /// use steadfast_mocknet::{Catalog, ErrorKind, Fault, Mock, MockNet, ResponseTemplate, Step};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
    /// let net = MockNet::builder().seed(1).start().await?;
    /// Mock::given(method("POST"))
    ///     .and(path("/v1/charges"))
    ///     .respond_with(ResponseTemplate::new(201).set_body_string("ok"))
    ///     .sequence([Step::fault(Fault::reset()), Step::respond()])
    ///     .expect(0..=2)
    ///     .named("charge")
    ///     .mount(&net)
    ///     .await;
    ///
    /// let json = net.scenario().to_catalog_json()?;
    /// let again = Catalog::from_json("mocks.json", &json)?.scenario("mocks")?;
    /// assert_eq!(again, net.scenario());
    ///
    /// Mock::given(wiremock::matchers::path("/other"))
    ///     .respond_with(ResponseTemplate::new(200))
    ///     .named("other")
    ///     .mount(&net)
    ///     .await;
    /// let err = net.scenario().to_catalog_json().unwrap_err();
    /// assert_eq!((err.kind(), err.route()), (ErrorKind::NotRepresentable, Some("other")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_catalog_json(&self) -> Result<String, Error> {
        let mut scenario = Map::new();
        scenario.insert("initial_state".into(), json!(self.initial_state));
        let routes = self
            .routes
            .iter()
            .map(|route| {
                route_json(route).map_err(|why| {
                    Error::new(ErrorKind::NotRepresentable)
                        .in_scenario(self.name.clone())
                        .in_route(Some(route.name.clone()))
                        .with_detail(why)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        scenario.insert("routes".into(), Value::Array(routes));
        let faults = faults_json(&self.faults).map_err(|why| {
            Error::new(ErrorKind::NotRepresentable)
                .in_scenario(self.name.clone())
                .with_detail(format!("scenario-wide {why}"))
        })?;
        if !faults.is_empty() {
            scenario.insert("faults".into(), Value::Array(faults));
        }
        let catalog = json!({"scenarios": {self.name.clone(): scenario}});
        // OK because a `Value` always serializes.
        Ok(serde_json::to_string_pretty(&sorted(catalog)).expect("JSON values serialize"))
    }
}

/// `value` with the keys of every object in sorted order, whatever map serde_json was built
/// with.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.cmp(b));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn route_json(route: &Route) -> Result<Value, String> {
    let mut out = Map::new();
    out.insert("name".into(), json!(route.name));
    let mut headers = Map::new();
    let mut headers_present = Vec::new();
    let mut query = Map::new();
    for matcher in &route.matchers {
        let (field, value) = match matcher {
            MatcherSpec::Method(method) => ("method", json!(method.as_str())),
            MatcherSpec::Path(path) => ("path", json!(path)),
            MatcherSpec::PathPrefix(prefix) => ("path_prefix", json!(prefix)),
            MatcherSpec::PathRegex(regex) => ("path_regex", json!(regex.as_str())),
            MatcherSpec::BodyJson(body) => ("body_json", body.clone()),
            MatcherSpec::BodyPartialJson(body) => ("body_partial_json", body.clone()),
            MatcherSpec::Header(name, value) => {
                let value = value
                    .to_str()
                    .map_err(|_| format!("the value of header matcher `{name}` is not text"))?;
                if headers.insert(name.to_string(), json!(value)).is_some() {
                    return Err(format!("two header matchers for `{name}`"));
                }
                continue;
            }
            MatcherSpec::HeaderPresent(name) => {
                headers_present.push(json!(name.as_str()));
                continue;
            }
            MatcherSpec::Query(name, value) => {
                if query.insert(name.clone(), json!(value)).is_some() {
                    return Err(format!("two query matchers for `{name}`"));
                }
                continue;
            }
            MatcherSpec::Custom { type_name, .. } => {
                return Err(format!(
                    "custom matcher {type_name}; use steadfast_mocknet::matchers"
                ));
            }
        };
        let clash = match field {
            "path" | "path_prefix" | "path_regex" => ["path", "path_prefix", "path_regex"]
                .iter()
                .any(|path| out.contains_key(*path)),
            "body_json" | "body_partial_json" => {
                out.contains_key("body_json") || out.contains_key("body_partial_json")
            }
            _ => out.contains_key(field),
        };
        if clash {
            return Err(format!("a second matcher for `{field}`"));
        }
        out.insert(field.into(), value);
    }
    if !headers.is_empty() {
        out.insert("headers".into(), Value::Object(headers));
    }
    if !headers_present.is_empty() {
        out.insert("headers_present".into(), Value::Array(headers_present));
    }
    if !query.is_empty() {
        out.insert("query".into(), Value::Object(query));
    }
    if let Some(responder) = &route.responder {
        return Err(format!(
            "wiremock responder {responder:?}; use steadfast_mocknet::ResponseTemplate"
        ));
    }
    match route.responses.as_slice() {
        [one] => {
            out.insert("response".into(), response_json(one)?);
        }
        many => {
            let many = many
                .iter()
                .map(|response| response_json(response))
                .collect::<Result<_, _>>()?;
            out.insert("responses".into(), Value::Array(many));
        }
    }
    let optional = [
        ("when_state", route.when_state.as_ref().map(|s| json!(s))),
        ("set_state", route.set_state.as_ref().map(|s| json!(s))),
        ("up_to_n_times", route.max_calls.map(|n| json!(n))),
        (
            "priority",
            (route.priority != DEFAULT_PRIORITY).then(|| json!(route.priority)),
        ),
        (
            "expect",
            route.expect.map(|times| match times.max() {
                Some(max) if max == times.min() => json!(max),
                max => json!({"min": times.min(), "max": max}),
            }),
        ),
    ];
    for (field, value) in optional {
        if let Some(value) = value {
            out.insert(field.into(), value);
        }
    }
    let faults = faults_json(&route.faults)?;
    if !faults.is_empty() {
        out.insert("faults".into(), Value::Array(faults));
    }
    if !route.sequence.is_empty() {
        let steps = route
            .sequence
            .iter()
            .enumerate()
            .map(|(index, step)| step_json(step).map_err(|why| format!("sequence[{index}]: {why}")))
            .collect::<Result<_, _>>()?;
        out.insert("sequence".into(), Value::Array(steps));
    }
    if let Some(callback) = &route.callback {
        out.insert("callback".into(), callback_json(callback)?);
    }
    Ok(Value::Object(out))
}

fn step_json(step: &Step) -> Result<Value, String> {
    let mut out = Map::new();
    let faults = faults_json(&step.faults)?;
    if !faults.is_empty() {
        out.insert("faults".into(), Value::Array(faults));
    }
    if let Some(response) = &step.response {
        out.insert("response".into(), response_json(response)?);
    }
    Ok(Value::Object(out))
}

/// Headers as a JSON object, and whether they have a content type.
fn headers_json(
    headers: &[(http::HeaderName, http::HeaderValue)],
) -> Result<(Value, bool), String> {
    let mut out = Map::new();
    for (name, value) in headers {
        let value = value
            .to_str()
            .map_err(|_| format!("the value of header `{name}` is not text"))?;
        if out.insert(name.to_string(), json!(value)).is_some() {
            return Err(format!("two `{name}` headers"));
        }
    }
    let typed = out.contains_key(http::header::CONTENT_TYPE.as_str());
    Ok((Value::Object(out), typed))
}

/// A body as the `text` field; the catalog would add a content type to a body without one.
fn body_json(body: &[u8], typed: bool) -> Result<Option<Value>, String> {
    if body.is_empty() {
        return Ok(None);
    }
    if !typed {
        return Err("a body without a content-type header".into());
    }
    let text = std::str::from_utf8(body).map_err(|_| "a body that is not UTF-8".to_string())?;
    Ok(Some(json!(text)))
}

fn response_json(response: &Response) -> Result<Value, String> {
    let (headers, typed) = headers_json(&response.headers)?;
    let mut out = Map::new();
    out.insert("status".into(), json!(response.status));
    out.insert("headers".into(), headers);
    if let Some(text) = body_json(&response.body, typed)? {
        out.insert("text".into(), text);
    }
    Ok(Value::Object(out))
}

fn callback_json(callback: &Callback) -> Result<Value, String> {
    let (headers, typed) = headers_json(&callback.headers)?;
    let url = match &callback.target {
        Target::Absolute(url) => url.to_string(),
        Target::Relative(path) => path.clone(),
    };
    let mut out = Map::new();
    out.insert("method".into(), json!(callback.method.as_str()));
    out.insert("url".into(), json!(url));
    out.insert("headers".into(), headers);
    out.insert("delay_ms".into(), json!(millis(callback.delay)?));
    if let Some(text) =
        body_json(&callback.body, typed).map_err(|why| format!("callback: {why}"))?
    {
        out.insert("text".into(), text);
    }
    Ok(Value::Object(out))
}

fn faults_json(faults: &[Fault]) -> Result<Vec<Value>, String> {
    faults
        .iter()
        .enumerate()
        .map(|(index, fault)| fault_json(fault).map_err(|why| format!("faults[{index}]: {why}")))
        .collect()
}

fn fault_json(fault: &Fault) -> Result<Value, String> {
    let mut out = match &fault.effect {
        Effect::Latency(delay) => json!({"kind": "latency", "ms": millis(*delay)?}),
        Effect::UniformJitter { min, max } => {
            json!({"kind": "jitter-uniform", "min_ms": millis(*min)?, "max_ms": millis(*max)?})
        }
        Effect::LogNormalJitter { mu, sigma } => {
            let p50 = whole(mu.exp())?;
            let p99 = whole((mu + sigma * Z_99).exp())?;
            json!({"kind": "jitter-lognormal", "p50_ms": p50, "p99_ms": p99})
        }
        Effect::Status {
            status,
            retry_after,
        } => json!({"kind": "status", "status": status, "retry_after_s": retry_after}),
        Effect::Reset => json!({"kind": "reset"}),
        Effect::Empty => json!({"kind": "empty"}),
        Effect::Malformed => json!({"kind": "malformed"}),
        Effect::Truncated => json!({"kind": "truncated"}),
        Effect::Dribble { chunk, interval } => {
            json!({"kind": "dribble", "chunk_bytes": chunk, "interval_ms": millis(*interval)?})
        }
        Effect::Bandwidth { bytes_per_second } => {
            json!({"kind": "bandwidth", "bytes_per_second": bytes_per_second})
        }
        Effect::Hang => json!({"kind": "hang"}),
        Effect::Refuse(period) => json!({"kind": "refused", "for_ms": millis(*period)?}),
        Effect::CloseOnAccept(connections) => {
            json!({"kind": "close-on-accept", "connections": connections})
        }
    };
    if let Value::Object(map) = &mut out {
        map.retain(|_, value| !value.is_null());
        if fault.probability != 1.0 {
            map.insert("probability".into(), json!(fault.probability));
        }
    }
    Ok(out)
}

/// A duration in whole milliseconds, as the catalog writes durations.
fn millis(duration: Duration) -> Result<u64, String> {
    let ms = duration.as_millis();
    if !duration.subsec_nanos().is_multiple_of(1_000_000) {
        return Err(format!(
            "{duration:?} is not a whole number of milliseconds"
        ));
    }
    u64::try_from(ms).map_err(|_| format!("{duration:?} is too long"))
}

/// A lognormal quantile in whole milliseconds, recovered from its parameters.
fn whole(ms: f64) -> Result<u64, String> {
    let rounded = ms.round();
    if (ms - rounded).abs() > 1e-6 || !(0.0..=u64::MAX as f64).contains(&rounded) {
        return Err(format!(
            "a lognormal quantile of {ms} ms is not a whole number of milliseconds"
        ));
    }
    // `rounded` is a whole, non-negative number in range.
    Ok(rounded as u64)
}
