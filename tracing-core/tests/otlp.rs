//! OTLP JSON: a golden request written from the OTLP/JSON encoding rules,
//! and a decode of our output with an independent decoder
//! (`opentelemetry-proto`'s serde mapping).

use std::time::{Duration, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as PValue;
use steadfast_tracing_core::otlp::{Resource, encode_request};
use steadfast_tracing_core::span::{Event, Link, Span, SpanKind, Status, Value};
use steadfast_tracing_core::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

fn at(nanos: u64) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

fn sample_span() -> Span {
    let link_cx = SpanContext::new(
        "0af7651916cd43dd8448eb211c80319c".parse().unwrap(),
        "b7ad6b7169203331".parse().unwrap(),
        TraceFlags::SAMPLED,
        TraceState::parse("congo=t61rcWkgMzE").unwrap(),
    );
    Span::new(
        "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap(),
        "00f067aa0ba902b7".parse().unwrap(),
        "GET /orders/{id}",
    )
    .with_parent("53995c3f42cd8ad8".parse().unwrap())
    .with_kind(SpanKind::Server)
    .with_flags(TraceFlags::SAMPLED)
    .with_trace_state(TraceState::parse("rojo=00f067aa0ba902b7").unwrap())
    .with_times(at(1_700_000_000_000_000_000), at(1_700_000_000_250_000_000))
    .with_attribute("http.request.method", "GET")
    .with_attribute("http.response.status_code", 500)
    .with_attribute("retry", true)
    .with_attribute("ratio", 0.25)
    .with_attribute("big", i64::MAX)
    .with_attribute("tags", vec!["a", "b"])
    .with_event(
        Event::new("exception", at(1_700_000_000_100_000_000)).with_attribute(
            "exception.message",
            "quote \" backslash \\ newline \n tab \t bell \u{7}",
        ),
    )
    .with_link(Link::new(&link_cx))
    .with_status(Status::error("boom"))
}

#[test]
fn request_matches_the_golden_json_written_from_the_encoding_rules() {
    let json = encode_request(&Resource::new("shop"), &[sample_span()]);
    let golden = r#"{
      "resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
        "scopeSpans": [{
          "scope": {"name": "steadfast-tracing-core", "version": "VERSION"},
          "spans": [{
            "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
            "spanId": "00f067aa0ba902b7",
            "traceState": "rojo=00f067aa0ba902b7",
            "parentSpanId": "53995c3f42cd8ad8",
            "flags": 1,
            "name": "GET /orders/{id}",
            "kind": 2,
            "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000000250000000",
            "attributes": [
              {"key": "http.request.method", "value": {"stringValue": "GET"}},
              {"key": "http.response.status_code", "value": {"intValue": "500"}},
              {"key": "retry", "value": {"boolValue": true}},
              {"key": "ratio", "value": {"doubleValue": 0.25}},
              {"key": "big", "value": {"intValue": "9223372036854775807"}},
              {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}}}
            ],
            "events": [{
              "timeUnixNano": "1700000000100000000",
              "name": "exception",
              "attributes": [{"key": "exception.message",
                              "value": {"stringValue": "quote \" backslash \\ newline \n tab \t bell \u0007"}}]
            }],
            "links": [{
              "traceId": "0af7651916cd43dd8448eb211c80319c",
              "spanId": "b7ad6b7169203331",
              "traceState": "congo=t61rcWkgMzE",
              "attributes": []
            }],
            "status": {"message": "boom", "code": 2}
          }]
        }]
      }]
    }"#
    .replace("VERSION", env!("CARGO_PKG_VERSION"));
    let ours: serde_json::Value = serde_json::from_str(&json).expect("our output is valid JSON");
    let expected: serde_json::Value = serde_json::from_str(&golden).unwrap();
    assert_eq!(ours, expected, "ours:\n{json}");
}

#[test]
fn root_spans_have_an_empty_parent_span_id_and_unset_status_has_code_0() {
    let span = Span::new(TraceId::from_u128(1), SpanId::from_u64(1), "root");
    let json: serde_json::Value =
        serde_json::from_str(&encode_request(&Resource::new("s"), &[span])).unwrap();
    let s = &json["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(s["parentSpanId"], "");
    assert_eq!(s["status"], serde_json::json!({"code": 0}));
    assert_eq!(s["kind"], 1);
}

#[test]
fn an_independent_otlp_decoder_reads_back_every_field() {
    let span = sample_span();
    let json = encode_request(
        &Resource::new("shop"),
        &[span.clone(), span.clone().with_kind(SpanKind::Client)],
    );
    let req: ExportTraceServiceRequest =
        serde_json::from_str(&json).expect("opentelemetry-proto decodes our JSON");
    let rs = &req.resource_spans[0];
    let resource_attr = &rs.resource.as_ref().unwrap().attributes[0];
    assert_eq!(resource_attr.key, "service.name");
    let spans = &rs.scope_spans[0].spans;
    assert_eq!(spans.len(), 2);
    let p = &spans[0];
    assert_eq!(p.trace_id, span.trace_id.to_bytes().to_vec());
    assert_eq!(p.span_id, span.span_id.to_bytes().to_vec());
    assert_eq!(
        p.parent_span_id,
        span.parent_span_id.unwrap().to_bytes().to_vec()
    );
    assert_eq!(p.trace_state, "rojo=00f067aa0ba902b7");
    assert_eq!(p.flags, 1);
    assert_eq!(p.name, span.name);
    assert_eq!(p.kind, 2);
    assert_eq!(spans[1].kind, 3);
    assert_eq!(p.start_time_unix_nano, 1_700_000_000_000_000_000);
    assert_eq!(p.end_time_unix_nano, 1_700_000_000_250_000_000);
    let values: Vec<(String, Option<PValue>)> = p
        .attributes
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().and_then(|v| v.value.clone()),
            )
        })
        .collect();
    assert_eq!(
        values[0],
        (
            "http.request.method".into(),
            Some(PValue::StringValue("GET".into()))
        )
    );
    assert_eq!(
        values[1],
        (
            "http.response.status_code".into(),
            Some(PValue::IntValue(500))
        )
    );
    assert_eq!(values[2], ("retry".into(), Some(PValue::BoolValue(true))));
    assert_eq!(values[3], ("ratio".into(), Some(PValue::DoubleValue(0.25))));
    assert_eq!(values[4], ("big".into(), Some(PValue::IntValue(i64::MAX))));
    match &values[5].1 {
        Some(PValue::ArrayValue(a)) => assert_eq!(a.values.len(), 2),
        other => panic!("tags decoded as {other:?}"),
    }
    let e = &p.events[0];
    assert_eq!(
        (e.name.as_str(), e.time_unix_nano),
        ("exception", 1_700_000_000_100_000_000)
    );
    let Some(Value::String(msg)) = span.events[0].attributes.first().map(|kv| kv.value.clone())
    else {
        unreachable!()
    };
    assert_eq!(
        e.attributes[0].value.as_ref().and_then(|v| v.value.clone()),
        Some(PValue::StringValue(msg))
    );
    let l = &p.links[0];
    assert_eq!(l.span_id, span.links[0].span_id.to_bytes().to_vec());
    assert_eq!(l.trace_state, "congo=t61rcWkgMzE");
    let status = p.status.as_ref().unwrap();
    assert_eq!((status.code, status.message.as_str()), (2, "boom"));
}
