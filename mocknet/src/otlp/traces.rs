//! Decoding OTLP/HTTP JSON trace exports (`ExportTraceServiceRequest`) into
//! steadfast-tracing-core [`Span`]s: an empty `parentSpanId` for roots, the W3C trace flags in
//! the low byte of `flags`, unset kinds read as internal.

use serde_json::{Map, Value as Json};
use steadfast_tracing_core::span::{Event, Link, Span, SpanKind, Status};
use steadfast_tracing_core::{SpanId, TraceFlags, TraceId, TraceState};

use super::{attributes, each_item, integer, object_of, optional_array, text, time};

/// Decodes an `ExportTraceServiceRequest` in OTLP JSON.
///
/// The error says what was wrong and where, as a JSON path such as
/// `resourceSpans[0].scopeSpans[0].spans[2].traceId`.
pub(crate) fn decode(body: &[u8]) -> Result<Vec<Span>, String> {
    let mut spans = Vec::new();
    each_item(
        body,
        ["resourceSpans", "scopeSpans", "spans"],
        |span, at| {
            spans.push(decode_span(span, at)?);
            Ok(())
        },
    )?;
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

fn id<T, E: std::fmt::Display>(
    object: &Map<String, Json>,
    field: &str,
    at: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, String> {
    parse(text(object, field, at)?).map_err(|err| format!("{at}.{field}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;
    use steadfast_tracing_core::otlp::{Resource, encode_request};
    use steadfast_tracing_core::span::{Value, system_time_from_unix_nanos};

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
