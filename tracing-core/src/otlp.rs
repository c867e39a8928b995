//! OTLP/HTTP JSON encoding of `ExportTraceServiceRequest`, by hand.
//!
//! Follows the OTLP JSON mapping: lowerCamelCase field names, trace and span
//! ids as lowercase hex, enums as integers, 64-bit integers as decimal
//! strings, an empty `parentSpanId` for roots, and JSON string escaping.
//!
//! ```
//! use steadfast_tracing_core::otlp::{encode_request, Resource};
//! use steadfast_tracing_core::span::Span;
//! use steadfast_tracing_core::{SpanId, TraceId};
//!
//! let span = Span::new(TraceId::from_u128(1), SpanId::from_u64(2), "root");
//! let json = encode_request(&Resource::new("checkout"), &[span]);
//! assert!(json.starts_with(r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]}"#));
//! assert!(json.contains(r#""parentSpanId":"""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write as _;

use crate::span::{KeyValue, Span, Value, unix_nanos};

/// Name of the instrumentation scope spans are reported under.
pub const SCOPE_NAME: &str = "steadfast-tracing-core";

/// The entity producing the spans, described by attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// Resource attributes; `service.name` first by convention.
    pub attributes: Vec<KeyValue>,
}

impl Resource {
    /// A resource with `service.name` set to `service_name`.
    pub fn new(service_name: impl Into<String>) -> Self {
        Resource {
            attributes: vec![KeyValue::new("service.name", service_name.into())],
        }
    }

    /// Adds an attribute.
    #[must_use]
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.attributes.push(KeyValue::new(key, value));
        self
    }
}

/// Encodes one `ExportTraceServiceRequest` holding `spans` under one
/// resource and one scope.
pub fn encode_request(resource: &Resource, spans: &[Span]) -> String {
    let mut out = String::with_capacity(256 + spans.len() * 320);
    encode_request_into(resource, spans, &mut out);
    out
}

/// As [`encode_request`], appending to `out` (reuse one buffer for many
/// batches).
pub fn encode_request_into(resource: &Resource, spans: &[Span], out: &mut String) {
    out.push_str(r#"{"resourceSpans":[{"resource":{"attributes":"#);
    attributes(&resource.attributes, out);
    out.push_str(r#"},"scopeSpans":[{"scope":{"name":"#);
    string(SCOPE_NAME, out);
    out.push_str(r#","version":"#);
    string(env!("CARGO_PKG_VERSION"), out);
    out.push_str(r#"},"spans":["#);
    for (i, s) in spans.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        span(s, out);
    }
    out.push_str("]}]}]}");
}

fn span(s: &Span, out: &mut String) {
    out.push_str(r#"{"traceId":""#);
    push_ascii(&s.trace_id.to_hex(), out);
    out.push_str(r#"","spanId":""#);
    push_ascii(&s.span_id.to_hex(), out);
    out.push_str(r#"","traceState":"#);
    string(s.trace_state.as_str(), out);
    out.push_str(r#","parentSpanId":""#);
    if let Some(p) = s.parent_span_id {
        push_ascii(&p.to_hex(), out);
    }
    // `flags` is a fixed32, so a JSON number: the W3C trace flags byte.
    let _ = write!(out, r#"","flags":{},"name":"#, s.flags.bits());
    string(&s.name, out);
    let _ = write!(
        out,
        r#","kind":{},"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":"#,
        s.kind.otlp_code(),
        unix_nanos(s.start),
        unix_nanos(s.end)
    );
    attributes(&s.attributes, out);
    out.push_str(r#","events":["#);
    for (i, e) in s.events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, r#"{{"timeUnixNano":"{}","name":"#, unix_nanos(e.time));
        string(&e.name, out);
        out.push_str(r#","attributes":"#);
        attributes(&e.attributes, out);
        out.push('}');
    }
    out.push_str(r#"],"links":["#);
    for (i, l) in s.links.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"traceId":""#);
        push_ascii(&l.trace_id.to_hex(), out);
        out.push_str(r#"","spanId":""#);
        push_ascii(&l.span_id.to_hex(), out);
        out.push_str(r#"","traceState":"#);
        string(l.trace_state.as_str(), out);
        out.push_str(r#","attributes":"#);
        attributes(&l.attributes, out);
        out.push('}');
    }
    out.push_str(r#"],"status":{"#);
    if let crate::span::Status::Error(msg) = &s.status {
        out.push_str(r#""message":"#);
        string(msg, out);
        out.push(',');
    }
    let _ = write!(out, r#""code":{}}}}}"#, s.status.otlp_code());
}

fn push_ascii(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        out.push(char::from(b));
    }
}

pub(crate) fn attributes(attrs: &[KeyValue], out: &mut String) {
    out.push('[');
    for (i, kv) in attrs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"key":"#);
        string(&kv.key, out);
        out.push_str(r#","value":"#);
        value(&kv.value, out);
        out.push('}');
    }
    out.push(']');
}

fn value(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(r#"{"stringValue":"#);
            string(s, out);
            out.push('}');
        }
        Value::Bool(b) => {
            let _ = write!(out, r#"{{"boolValue":{b}}}"#);
        }
        Value::Int(i) => {
            let _ = write!(out, r#"{{"intValue":"{i}"}}"#);
        }
        Value::Float(f) => {
            // Protobuf JSON spells non-finite doubles as strings.
            if f.is_nan() {
                out.push_str(r#"{"doubleValue":"NaN"}"#);
            } else if f.is_infinite() {
                let sign = if *f > 0.0 { "" } else { "-" };
                let _ = write!(out, r#"{{"doubleValue":"{sign}Infinity"}}"#);
            } else {
                let _ = write!(out, r#"{{"doubleValue":{f:?}}}"#);
            }
        }
        Value::Array(items) => {
            out.push_str(r#"{"arrayValue":{"values":["#);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                value(item, out);
            }
            out.push_str("]}}");
        }
    }
}

/// Appends `s` as a JSON string literal (RFC 8259 escaping).
pub(crate) fn string(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{08}' => Some("\\b"),
            '\u{0c}' => Some("\\f"),
            c if c < ' ' => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_quotes_and_backslashes_are_escaped() {
        let mut out = String::new();
        string("a\"b\\c\n\u{1}é", &mut out);
        assert_eq!(out, r#""a\"b\\c\n\u0001é""#);
    }
}
