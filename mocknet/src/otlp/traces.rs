//! Decoding OTLP/HTTP JSON trace exports (`ExportTraceServiceRequest`) into
//! steadfast-tracing-core [`Span`]s, for the collector route of a [`MockNet`](crate::MockNet),
//! and checking metrics exports (`ExportMetricsServiceRequest`) posted to `/v1/metrics`, which
//! are kept in the journal as they came (a test decodes the entry's body).
//!
//! Follows the OTLP JSON mapping: lowerCamelCase field names, ids as hex strings (an empty
//! `parentSpanId` for roots), 64-bit integers as decimal strings or numbers, enums as integers
//! or their names. Resource and scope attributes are not kept; spans are returned in the order
//! they appear.

use std::time::SystemTime;

use serde_json::{Map, Value as Json};
use steadfast_tracing_core::span::{
    Event, KeyValue, Link, Span, SpanKind, Status, Value, system_time_from_unix_nanos,
};
use steadfast_tracing_core::{SpanId, TraceFlags, TraceId, TraceState};

/// What the collector does with a body POSTed to `path`: `/v1/traces` decodes spans,
/// `/v1/metrics` checks a metrics export (no spans; the journal keeps the body); `None` for
/// any other path, which the scenario's routes answer.
pub(crate) fn collect(path: &str, body: &[u8]) -> Option<Result<Vec<Span>, String>> {
    match path {
        "/v1/traces" => Some(decode(body)),
        "/v1/metrics" => Some(check_metrics(body).map(|_| Vec::new())),
        _ => None,
    }
}

/// Checks an `ExportMetricsServiceRequest` in OTLP JSON: every metric has one data kind whose
/// points have well-formed attributes, times and values. Returns how many points there are.
///
/// The error names the JSON path, such as
/// `resourceMetrics[0].scopeMetrics[0].metrics[1].sum.dataPoints[0].asInt`.
fn check_metrics(body: &[u8]) -> Result<usize, String> {
    let root: Json = serde_json::from_slice(body).map_err(|err| format!("not JSON: {err}"))?;
    let mut points = 0;
    for (r, resource) in array(&root, "resourceMetrics", "")?.iter().enumerate() {
        let at = format!("resourceMetrics[{r}]");
        for (s, scope) in array(resource, "scopeMetrics", &at)?.iter().enumerate() {
            let at = format!("{at}.scopeMetrics[{s}]");
            for (i, metric) in array(scope, "metrics", &at)?.iter().enumerate() {
                points += check_metric(metric, &format!("{at}.metrics[{i}]"))?;
            }
        }
    }
    Ok(points)
}

fn check_metric(json: &Json, at: &str) -> Result<usize, String> {
    let object = object_of(json, at)?;
    if text(object, "name", at)?.is_empty() {
        return Err(format!("{at}.name: a metric needs a name"));
    }
    let kinds = [
        "sum",
        "gauge",
        "histogram",
        "exponentialHistogram",
        "summary",
    ];
    let present: Vec<&str> = kinds
        .into_iter()
        .filter(|kind| object.get(*kind).is_some_and(|v| !v.is_null()))
        .collect();
    let [kind] = present[..] else {
        return Err(format!(
            "{at}: a metric needs exactly one of {}, found {}",
            kinds.join(", "),
            present.len()
        ));
    };
    let at = format!("{at}.{kind}");
    let points = array(&object[kind], "dataPoints", &at)?;
    for (i, point) in points.iter().enumerate() {
        let at = format!("{at}.dataPoints[{i}]");
        let point_object = object_of(point, &at)?;
        attributes(point_object, &at)?;
        time(point_object, "startTimeUnixNano", &at)?;
        time(point_object, "timeUnixNano", &at)?;
        match kind {
            "sum" | "gauge" => check_number_value(point_object, &at)?,
            _ => {
                if let Some(count) = point_object.get("count") {
                    integer(count, &format!("{at}.count"))?;
                }
                for (b, count) in optional_array(point_object, "bucketCounts", &at)?
                    .iter()
                    .enumerate()
                {
                    integer(count, &format!("{at}.bucketCounts[{b}]"))?;
                }
                for (b, bound) in optional_array(point_object, "explicitBounds", &at)?
                    .iter()
                    .enumerate()
                {
                    double(bound, &format!("{at}.explicitBounds[{b}]"))?;
                }
                for field in ["sum", "min", "max"] {
                    if let Some(value) = point_object.get(field) {
                        double(value, &format!("{at}.{field}"))?;
                    }
                }
            }
        }
    }
    Ok(points.len())
}

/// A sum or gauge point holds its value in exactly one of `asInt` and `asDouble`.
fn check_number_value(object: &Map<String, Json>, at: &str) -> Result<(), String> {
    match (object.get("asInt"), object.get("asDouble")) {
        (Some(int), None) => {
            let valid = match int {
                Json::String(text) => text.parse::<i64>().is_ok(),
                Json::Number(number) => number.as_i64().is_some(),
                _ => false,
            };
            valid
                .then_some(())
                .ok_or_else(|| format!("{at}.asInt: not a 64-bit integer: {int}"))
        }
        (None, Some(value)) => double(value, &format!("{at}.asDouble")),
        _ => Err(format!(
            "{at}: a point needs exactly one of asInt and asDouble"
        )),
    }
}

/// A double: a JSON number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
fn double(json: &Json, at: &str) -> Result<(), String> {
    match json {
        Json::Number(_) => Ok(()),
        Json::String(text) if matches!(text.as_str(), "NaN" | "Infinity" | "-Infinity") => Ok(()),
        other => Err(format!("{at}: not a double: {other}")),
    }
}

/// Decodes an `ExportTraceServiceRequest` in OTLP JSON.
///
/// The error says what was wrong and where, as a JSON path such as
/// `resourceSpans[0].scopeSpans[0].spans[2].traceId`.
pub(crate) fn decode(body: &[u8]) -> Result<Vec<Span>, String> {
    let root: Json = serde_json::from_slice(body).map_err(|err| format!("not JSON: {err}"))?;
    let mut spans = Vec::new();
    for (r, resource) in array(&root, "resourceSpans", "")?.iter().enumerate() {
        let at = format!("resourceSpans[{r}]");
        for (s, scope) in array(resource, "scopeSpans", &at)?.iter().enumerate() {
            let at = format!("{at}.scopeSpans[{s}]");
            for (i, span) in array(scope, "spans", &at)?.iter().enumerate() {
                spans.push(decode_span(span, &format!("{at}.spans[{i}]"))?);
            }
        }
    }
    Ok(spans)
}

fn decode_span(json: &Json, at: &str) -> Result<Span, String> {
    let object = object_of(json, at)?;
    let trace_id = id(object, "traceId", at, TraceId::from_hex)?;
    let span_id = id(object, "spanId", at, SpanId::from_hex)?;
    let parent = text(object, "parentSpanId", at)?;
    let parent_span_id = if parent.is_empty() {
        None
    } else {
        Some(SpanId::from_hex(parent).map_err(|err| format!("{at}.parentSpanId: {err}"))?)
    };
    let flags = match object.get("flags") {
        None | Some(Json::Null) => 0,
        Some(flags) => integer(flags, &format!("{at}.flags"))?,
    };
    let kind = match object.get("kind") {
        None | Some(Json::Null) => SpanKind::Internal,
        Some(kind) => span_kind(kind, &format!("{at}.kind"))?,
    };
    let mut span = Span::new(trace_id, span_id, text(object, "name", at)?);
    span.parent_span_id = parent_span_id;
    span.trace_state = trace_state(object, at)?;
    // The low byte of `flags` holds the W3C trace flags.
    span.flags = TraceFlags::from_bits((flags & 0xff) as u8);
    span.kind = kind;
    span.start = time(object, "startTimeUnixNano", at)?;
    span.end = time(object, "endTimeUnixNano", at)?;
    span.attributes = attributes(object, at)?;
    for (i, event) in optional_array(object, "events", at)?.iter().enumerate() {
        let at = format!("{at}.events[{i}]");
        let event_object = object_of(event, &at)?;
        span.events.push(Event {
            name: text(event_object, "name", &at)?.to_string(),
            time: time(event_object, "timeUnixNano", &at)?,
            attributes: attributes(event_object, &at)?,
        });
    }
    for (i, link) in optional_array(object, "links", at)?.iter().enumerate() {
        let at = format!("{at}.links[{i}]");
        let link_object = object_of(link, &at)?;
        span.links.push(Link {
            trace_id: id(link_object, "traceId", &at, TraceId::from_hex)?,
            span_id: id(link_object, "spanId", &at, SpanId::from_hex)?,
            trace_state: trace_state(link_object, &at)?,
            attributes: attributes(link_object, &at)?,
        });
    }
    span.status = match object.get("status") {
        None | Some(Json::Null) => Status::Unset,
        Some(status) => decode_status(status, &format!("{at}.status"))?,
    };
    Ok(span)
}

fn decode_status(json: &Json, at: &str) -> Result<Status, String> {
    let object = object_of(json, at)?;
    let code = match object.get("code") {
        None | Some(Json::Null) => 0,
        Some(Json::String(name)) => match name.as_str() {
            "STATUS_CODE_UNSET" => 0,
            "STATUS_CODE_OK" => 1,
            "STATUS_CODE_ERROR" => 2,
            _ => return Err(format!("{at}.code: unknown status code {name:?}")),
        },
        Some(code) => integer(code, &format!("{at}.code"))?,
    };
    match code {
        0 => Ok(Status::Unset),
        1 => Ok(Status::Ok),
        2 => Ok(Status::Error(text(object, "message", at)?.to_string())),
        other => Err(format!("{at}.code: unknown status code {other}")),
    }
}

fn span_kind(json: &Json, at: &str) -> Result<SpanKind, String> {
    let code = match json {
        Json::String(name) => match name.as_str() {
            "SPAN_KIND_INTERNAL" => 1,
            "SPAN_KIND_SERVER" => 2,
            "SPAN_KIND_CLIENT" => 3,
            "SPAN_KIND_PRODUCER" => 4,
            "SPAN_KIND_CONSUMER" => 5,
            // SPAN_KIND_UNSPECIFIED is read as internal, as the OTLP spec advises.
            "SPAN_KIND_UNSPECIFIED" => 1,
            _ => return Err(format!("{at}: unknown span kind {name:?}")),
        },
        other => integer(other, at)?,
    };
    if code == 0 {
        return Ok(SpanKind::Internal);
    }
    u8::try_from(code)
        .ok()
        .and_then(SpanKind::from_otlp_code)
        .ok_or_else(|| format!("{at}: unknown span kind {code}"))
}

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
        ("intValue", json) => {
            let value = match json {
                Json::String(text) => text.parse::<i64>().ok(),
                Json::Number(number) => number.as_i64(),
                _ => None,
            };
            value
                .map(Value::Int)
                .ok_or_else(|| format!("{at}: not a 64-bit integer"))
        }
        ("doubleValue", json) => {
            let value = match json {
                Json::Number(number) => number.as_f64(),
                // NaN and the infinities are strings in proto3 JSON.
                Json::String(text) => text.parse::<f64>().ok(),
                _ => None,
            };
            value
                .map(Value::Float)
                .ok_or_else(|| format!("{at}: not a double"))
        }
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

fn trace_state(object: &Map<String, Json>, at: &str) -> Result<TraceState, String> {
    match object.get("traceState") {
        None | Some(Json::Null) => Ok(TraceState::new()),
        Some(Json::String(value)) if value.is_empty() => Ok(TraceState::new()),
        Some(Json::String(value)) => {
            TraceState::parse(value).map_err(|err| format!("{at}.traceState: {err}"))
        }
        Some(_) => Err(format!("{at}.traceState: not a string")),
    }
}

fn time(object: &Map<String, Json>, field: &str, at: &str) -> Result<SystemTime, String> {
    match object.get(field) {
        None | Some(Json::Null) => Ok(system_time_from_unix_nanos(0)),
        Some(json) => integer(json, &format!("{at}.{field}")).map(system_time_from_unix_nanos),
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

fn id<T, E: std::fmt::Display>(
    object: &Map<String, Json>,
    field: &str,
    at: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, String> {
    parse(text(object, field, at)?).map_err(|err| format!("{at}.{field}: {err}"))
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
    let path = if at.is_empty() {
        field.to_string()
    } else {
        format!("{at}.{field}")
    };
    match object.get(field) {
        None | Some(Json::Null) => Ok(&[]),
        Some(Json::Array(items)) => Ok(items),
        Some(_) => Err(format!("{path}: not an array")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;
    use steadfast_tracing_core::otlp::{Resource, encode_request};
    use steadfast_tracing_core::otlp_metrics::{
        HistogramPoint, Metric, NumberPoint, encode_metrics_request,
    };

    #[test]
    fn metrics_exports_from_tracing_core_pass_the_check() {
        let at = system_time_from_unix_nanos(1_700_000_000_000_000_000);
        let metrics = [
            Metric::sum(
                "requests",
                vec![NumberPoint::int(at, 3).with_attribute("route", "/")],
                true,
            ),
            Metric::gauge("open", vec![NumberPoint::double(at, f64::NAN)]),
            Metric::histogram(
                "latency",
                vec![HistogramPoint::from_samples(at, at, &[0.1, 2.0], &[1.0])],
            ),
        ];
        let body = encode_metrics_request(&Resource::new("svc"), &metrics);
        assert_eq!(check_metrics(body.as_bytes()), Ok(3));
        assert_eq!(
            collect("/v1/metrics", body.as_bytes()),
            Some(Ok(Vec::new()))
        );
        assert_eq!(collect("/v1/logs", body.as_bytes()), None);
    }

    #[test]
    fn a_malformed_metrics_export_names_the_json_path() {
        let body = |metric: &str| {
            format!(r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{metric}]}}]}}]}}"#)
        };
        let check = |metric: &str| check_metrics(body(metric).as_bytes()).unwrap_err();
        assert_eq!(
            check(r#"{"name":"x","sum":{"dataPoints":[{"asInt":"ten"}]}}"#),
            "resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0].asInt: not a 64-bit integer: \"ten\""
        );
        assert!(check(r#"{"name":"x"}"#).ends_with("found 0"));
        assert!(check(r#"{"sum":{}}"#).ends_with(".name: a metric needs a name"));
        assert!(
            check(r#"{"name":"h","histogram":{"dataPoints":[{"bucketCounts":[1,"x"]}]}}"#)
                .contains("histogram.dataPoints[0].bucketCounts[1]")
        );
        assert!(
            check(r#"{"name":"g","gauge":{"dataPoints":[{}]}}"#)
                .ends_with("exactly one of asInt and asDouble")
        );
    }

    fn sample_spans() -> Vec<Span> {
        let trace = TraceId::from_u128(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736);
        let start = system_time_from_unix_nanos(1_700_000_000_123_456_789);
        let root = Span::new(trace, SpanId::from_u64(0xa1), "POST /v1/charges")
            .with_kind(SpanKind::Server)
            .with_flags(TraceFlags::SAMPLED)
            .with_times(start, start + Duration::from_millis(30))
            .with_attribute("http.status_code", 201)
            .with_attribute("retry", true)
            .with_attribute("ratio", 0.5)
            .with_attribute("tags", vec!["a", "b"])
            .with_event(Event::new("retrying", start).with_attribute("attempt", 2))
            .with_status(Status::error("declined \"card\""));
        let child = Span::new(trace, SpanId::from_u64(0xb2), "db.query")
            .with_parent(SpanId::from_u64(0xa1))
            .with_kind(SpanKind::Client)
            .with_trace_state(TraceState::parse("vendor=x").expect("valid"))
            .with_status(Status::Ok);
        vec![root, child]
    }

    #[test]
    fn spans_encoded_by_tracing_core_decode_to_the_same_spans() {
        let spans = sample_spans();
        let json = encode_request(&Resource::new("payments"), &spans);

        let decoded = decode(json.as_bytes()).expect("decodes");

        assert_eq!(decoded, spans);
    }

    #[test]
    fn spec_style_request_with_numbers_and_enum_names_decodes() {
        // The shape of the OTLP specification's examples/trace.json, with the optional forms.
        let json = r#"{"resourceSpans": [{"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "my.service"}}]},
          "scopeSpans": [{"scope": {"name": "my.library", "version": "1.0.0"},
            "spans": [{"traceId": "5b8efff798038103d269b633813fc60c",
                       "spanId": "eee19b7ec3c1b174", "parentSpanId": "eee19b7ec3c1b173",
                       "name": "I'm a server span", "startTimeUnixNano": 1544712660000000000,
                       "endTimeUnixNano": "1544712661000000000", "kind": "SPAN_KIND_SERVER",
                       "attributes": [{"key": "my.span.attr", "value": {"intValue": 42}}]}]}]}]}"#;

        let spans = decode(json.as_bytes()).expect("decodes");

        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(
            span.trace_id.to_string(),
            "5b8efff798038103d269b633813fc60c"
        );
        assert_eq!(
            span.parent_span_id.map(|id| id.to_string()).as_deref(),
            Some("eee19b7ec3c1b173")
        );
        assert_eq!(span.kind, SpanKind::Server);
        assert_eq!(span.duration(), Duration::from_secs(1));
        assert_eq!(span.attribute("my.span.attr"), Some(&Value::Int(42)));
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<String>().prop_map(Value::String),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            (-1e12f64..1e12).prop_map(Value::Float),
            proptest::collection::vec(any::<i64>().prop_map(Value::Int), 0..3)
                .prop_map(Value::Array),
        ]
    }

    prop_compose! {
        fn arb_span()(trace in 1u128.., id in 1u64.., parent in proptest::option::of(1u64..),
                      name in any::<String>(), kind in 1u8..=5, start in 0u64..4_000_000_000_000_000_000,
                      length in 0u64..1_000_000_000_000,
                      attributes in proptest::collection::vec((any::<String>(), arb_value()), 0..4),
                      error in proptest::option::of(any::<String>())) -> Span {
            let start_time = system_time_from_unix_nanos(start);
            let mut span = Span::new(TraceId::from_u128(trace), SpanId::from_u64(id), name)
                .with_kind(SpanKind::from_otlp_code(kind).unwrap_or_default())
                .with_times(start_time, start_time + Duration::from_nanos(length));
            span.parent_span_id = parent.map(SpanId::from_u64);
            for (key, value) in attributes {
                span = span.with_attribute(key, value);
            }
            if let Some(message) = error {
                span = span.with_status(Status::error(message));
            }
            span
        }
    }

    proptest! {
        #[test]
        fn decoding_inverts_tracing_core_encoding(spans in proptest::collection::vec(arb_span(), 0..4)) {
            let json = encode_request(&Resource::new("svc"), &spans);
            prop_assert_eq!(decode(json.as_bytes()), Ok(spans));
        }
    }

    #[test]
    fn bad_trace_id_is_reported_with_its_path() {
        let json = r#"{"resourceSpans": [{"scopeSpans": [{"spans": [
            {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174"},
            {"traceId": "xyz", "spanId": "eee19b7ec3c1b174"}]}]}]}"#;

        let err = decode(json.as_bytes()).expect_err("bad id");

        assert!(
            err.starts_with("resourceSpans[0].scopeSpans[0].spans[1].traceId: "),
            "{err}"
        );
    }
}
