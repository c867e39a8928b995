//! Decoding the OTLP/HTTP JSON exports a [`MockNet`](crate::MockNet)'s collector route receives:
//! trace exports (`ExportTraceServiceRequest`, POSTed to `/v1/traces`) into steadfast-tracing-core
//! [`Span`]s ([`traces`]), and metrics exports (`ExportMetricsServiceRequest`, POSTed to
//! `/v1/metrics`) into steadfast-tracing-core [`Metric`]s ([`metrics`]).
//!
//! Both follow the OTLP JSON mapping: lowerCamelCase field names, ids as hex strings, 64-bit
//! integers as decimal strings or numbers, doubles as numbers or `"NaN"`, `"Infinity"` and
//! `"-Infinity"`, enums as integers or their names. Resource and scope attributes are not kept;
//! spans and metrics are returned in the order they appear. An error names the JSON path of what
//! was wrong, such as `resourceSpans[0].scopeSpans[0].spans[2].traceId`.

mod metrics;
mod traces;

use std::time::SystemTime;

use serde_json::{Map, Value as Json};
use steadfast_tracing_core::otlp_metrics::Metric;
use steadfast_tracing_core::span::{KeyValue, Span, Value, system_time_from_unix_nanos};

pub(crate) use metrics::decode as decode_metrics;
pub(crate) use traces::decode as decode_spans;

/// What the collector route took from one export.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Collected {
    /// The spans of a `/v1/traces` export.
    Spans(Vec<Span>),
    /// The metrics of a `/v1/metrics` export.
    Metrics(Vec<Metric>),
}

/// What the collector does with a body POSTed to `path`: `/v1/traces` decodes spans,
/// `/v1/metrics` decodes metrics; `None` for any other path, which the scenario's routes answer.
pub(crate) fn collect(path: &str, body: &[u8]) -> Option<Result<Collected, String>> {
    match path {
        "/v1/traces" => Some(decode_spans(body).map(Collected::Spans)),
        "/v1/metrics" => Some(decode_metrics(body).map(Collected::Metrics)),
        _ => None,
    }
}

/// Parses `body` as JSON and calls `item` for each item of an export, in order, with its JSON
/// path: `levels` names the resource, scope and item arrays, such as
/// `["resourceSpans", "scopeSpans", "spans"]`.
fn each_item(
    body: &[u8],
    levels: [&str; 3],
    mut item: impl FnMut(&Json, &str) -> Result<(), String>,
) -> Result<(), String> {
    let [resources, scopes, items] = levels;
    let root: Json = serde_json::from_slice(body).map_err(|err| format!("not JSON: {err}"))?;
    for (r, resource) in array(&root, resources, "")?.iter().enumerate() {
        let at = format!("{resources}[{r}]");
        for (s, scope) in array(resource, scopes, &at)?.iter().enumerate() {
            let at = format!("{at}.{scopes}[{s}]");
            for (i, json) in array(scope, items, &at)?.iter().enumerate() {
                item(json, &format!("{at}.{items}[{i}]"))?;
            }
        }
    }
    Ok(())
}

/// The `attributes` of an object (a span, an event, a data point): key-value pairs.
fn attributes(object: &Map<String, Json>, at: &str) -> Result<Vec<KeyValue>, String> {
    optional_array(object, "attributes", at)?
        .iter()
        .enumerate()
        .map(|(i, pair)| {
            let at = format!("{at}.attributes[{i}]");
            let pair = object_of(pair, &at)?;
            let key = text(pair, "key", &at)?.to_string();
            let value = pair
                .get("value")
                .ok_or_else(|| format!("{at}.value: missing"))?;
            Ok(KeyValue {
                key,
                value: any_value(value, &format!("{at}.value"))?,
            })
        })
        .collect()
}

fn any_value(json: &Json, at: &str) -> Result<Value, String> {
    let object = object_of(json, at)?;
    let Some((kind, inner)) = object.iter().next() else {
        return Err(format!("{at}: empty AnyValue"));
    };
    let at = format!("{at}.{kind}");
    match (kind.as_str(), inner) {
        ("stringValue", Json::String(text)) => Ok(Value::String(text.clone())),
        ("boolValue", Json::Bool(flag)) => Ok(Value::Bool(*flag)),
        ("intValue", json) => signed(json, &at).map(Value::Int),
        ("doubleValue", json) => double(json, &at).map(Value::Float),
        ("arrayValue", json) => {
            let values = match object_of(json, &at)?.get("values") {
                None => Vec::new(),
                Some(Json::Array(values)) => values.clone(),
                Some(_) => return Err(format!("{at}.values: not an array")),
            };
            values
                .iter()
                .enumerate()
                .map(|(i, value)| any_value(value, &format!("{at}.values[{i}]")))
                .collect::<Result<_, _>>()
                .map(Value::Array)
        }
        (other, _) => Err(format!(
            "{at}: unsupported attribute value `{other}` (expected stringValue, boolValue, intValue, doubleValue or arrayValue)"
        )),
    }
}

/// A time in Unix nanoseconds; a missing one is the epoch, as proto3 omits zeros.
fn time(object: &Map<String, Json>, field: &str, at: &str) -> Result<SystemTime, String> {
    Ok(optional(object, field, at, unix_time)?.unwrap_or(system_time_from_unix_nanos(0)))
}

/// A time in Unix nanoseconds, as [`integer`] reads it.
fn unix_time(json: &Json, at: &str) -> Result<SystemTime, String> {
    integer(json, at).map(system_time_from_unix_nanos)
}

/// The field `field` of `object` read with `read`; `None` when it is missing or null.
fn optional<T>(
    object: &Map<String, Json>,
    field: &str,
    at: &str,
    read: impl Fn(&Json, &str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match object.get(field) {
        None | Some(Json::Null) => Ok(None),
        Some(json) => read(json, &path(at, field)).map(Some),
    }
}

/// A non-negative 64-bit integer, as a decimal string or a JSON number.
fn integer(json: &Json, at: &str) -> Result<u64, String> {
    let value = match json {
        Json::String(text) => text.parse::<u64>().ok(),
        Json::Number(number) => number.as_u64(),
        _ => None,
    };
    value.ok_or_else(|| format!("{at}: not a non-negative integer: {json}"))
}

/// A signed 64-bit integer, as a decimal string or a JSON number.
fn signed(json: &Json, at: &str) -> Result<i64, String> {
    let value = match json {
        Json::String(text) => text.parse::<i64>().ok(),
        Json::Number(number) => number.as_i64(),
        _ => None,
    };
    value.ok_or_else(|| format!("{at}: not a 64-bit integer: {json}"))
}

/// A double: a JSON number, or a string holding one or `"NaN"`, `"Infinity"`, `"-Infinity"`
/// (proto3 JSON accepts either form).
fn double(json: &Json, at: &str) -> Result<f64, String> {
    match json {
        Json::Number(number) => number.as_f64(),
        Json::String(text) => match text.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            // Rust also reads `inf` and `nan`, which proto3 JSON does not allow.
            number => number.parse::<f64>().ok().filter(|value| value.is_finite()),
        },
        _ => None,
    }
    .ok_or_else(|| format!("{at}: not a double: {json}"))
}

fn text<'a>(object: &'a Map<String, Json>, field: &str, at: &str) -> Result<&'a str, String> {
    match object.get(field) {
        None | Some(Json::Null) => Ok(""),
        Some(Json::String(text)) => Ok(text),
        Some(_) => Err(format!("{at}.{field}: not a string")),
    }
}

fn object_of<'a>(json: &'a Json, at: &str) -> Result<&'a Map<String, Json>, String> {
    json.as_object().ok_or_else(|| {
        format!(
            "{}: not an object",
            if at.is_empty() { "(root)" } else { at }
        )
    })
}

fn array<'a>(json: &'a Json, field: &str, at: &str) -> Result<&'a [Json], String> {
    optional_array(object_of(json, at)?, field, at)
}

fn optional_array<'a>(
    object: &'a Map<String, Json>,
    field: &str,
    at: &str,
) -> Result<&'a [Json], String> {
    match object.get(field) {
        None | Some(Json::Null) => Ok(&[]),
        Some(Json::Array(items)) => Ok(items),
        Some(_) => Err(format!("{}: not an array", path(at, field))),
    }
}

/// `at.field`, or `field` at the root.
fn path(at: &str, field: &str) -> String {
    if at.is_empty() {
        field.to_string()
    } else {
        format!("{at}.{field}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_collector_decodes_traces_and_metrics_and_leaves_other_paths_to_the_routes() {
        let traces = br#"{"resourceSpans":[]}"#;
        let metrics = br#"{"resourceMetrics":[]}"#;
        assert_eq!(
            collect("/v1/traces", traces),
            Some(Ok(Collected::Spans(Vec::new())))
        );
        assert_eq!(
            collect("/v1/metrics", metrics),
            Some(Ok(Collected::Metrics(Vec::new())))
        );
        assert_eq!(collect("/v1/logs", metrics), None);
        assert!(
            collect("/v1/metrics", b"{")
                .unwrap()
                .unwrap_err()
                .starts_with("not JSON")
        );
    }

    #[test]
    fn doubles_take_numbers_and_proto3_spellings_and_integers_take_strings() {
        let at = "p";
        assert_eq!(double(&serde_json::json!(0.25), at), Ok(0.25));
        assert!(double(&serde_json::json!("NaN"), at).unwrap().is_nan());
        assert_eq!(
            double(&serde_json::json!("-Infinity"), at),
            Ok(f64::NEG_INFINITY)
        );
        assert_eq!(double(&serde_json::json!("1.5e3"), at), Ok(1500.0));
        assert_eq!(
            double(&serde_json::json!("inf"), at),
            Err("p: not a double: \"inf\"".into())
        );
        assert_eq!(signed(&serde_json::json!("-7"), at), Ok(-7));
        assert_eq!(integer(&serde_json::json!(7), at), Ok(7));
        assert_eq!(
            integer(&serde_json::json!(-7), at),
            Err("p: not a non-negative integer: -7".into())
        );
    }
}
