//! How a recorded response is written: its status, a minimal header set and the body as
//! `json`, `text` or `base64`, chosen so that replay sends the bytes the upstream sent.
//!
//! * Framing is not recorded: a chunked body is recorded de-chunked, and replay sends it with a
//!   `Content-Length`. A client reads the same bytes either way.
//! * A compressed body (`Content-Encoding: gzip`) is decoded to be scrubbed. When scrubbing
//!   changes nothing, the compressed bytes are recorded as they came (`base64`, with the
//!   `content-encoding` header), so replay is byte-equal on the wire. When it redacts
//!   something, the decoded, scrubbed body is recorded without `content-encoding`: a secret
//!   cannot hide inside compressed bytes.
//! * JSON is recorded as `json` when serialising it again gives the upstream's exact bytes
//!   (compact, sorted keys), as `text` when it does not, and as `json` whenever a secret was
//!   redacted. Other UTF-8 bodies are `text` (scrubbed with the value detectors); anything
//!   else, and any body without a `Content-Type`, is `base64`.

use std::io::Read as _;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::redact::{PLACEHOLDER, Redactor};

/// The response headers a recording keeps: what a client needs to read the body the same way
/// and to follow the exchange. Everything else (dates, server names, request ids) would make
/// two recordings of the same traffic differ.
const KEPT_HEADERS: &[&str] = &[
    "content-encoding",
    "content-type",
    "location",
    "retry-after",
    "set-cookie",
];

/// A response as the catalog holds it, with the bytes its body is written as.
pub(crate) struct RecordedResponse {
    pub(crate) value: Value,
    /// A `base64` body's bytes, and decoded when compressed: what the secret check searches
    /// besides the catalog's text.
    pub(crate) bodies: Vec<Vec<u8>>,
}

/// The catalog form of a response.
pub(crate) fn response(
    redactor: &Redactor,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> RecordedResponse {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    };
    let content_type = header("content-type");
    let gzip = is_gzip(header("content-encoding"));
    let decoded = if gzip { gunzip(body) } else { None };
    let plain = decoded.as_deref().unwrap_or(body);
    let encoded = decoded.is_some();

    let mut out = Map::new();
    out.insert("status".into(), status.into());
    let mut bodies = Vec::new();
    let mut keep_encoding = true;
    if !body.is_empty() {
        let text = std::str::from_utf8(plain);
        let parsed = match (content_type, text) {
            (Some(kind), Ok(text)) if is_json(kind) => serde_json::from_str::<Value>(text).ok(),
            _ => None,
        };
        let (key, value) = match (parsed, content_type, text) {
            (Some(mut json), _, Ok(text)) => {
                if redactor.scrub_json(&mut json) {
                    keep_encoding = false;
                    ("json", json)
                } else if encoded {
                    ("base64", encode(body))
                } else if serde_json::to_vec(&json).is_ok_and(|again| again == plain) {
                    ("json", json)
                } else {
                    ("text", Value::String(text.to_string()))
                }
            }
            (None, Some(_), Ok(text)) => {
                let mut text = text.to_string();
                if redactor.scrub_text(&mut text) {
                    keep_encoding = false;
                    ("text", Value::String(text))
                } else if encoded {
                    ("base64", encode(body))
                } else {
                    ("text", Value::String(text))
                }
            }
            _ => ("base64", encode(body)),
        };
        if key == "base64" {
            bodies.push(body.to_vec());
            bodies.push(plain.to_vec());
        }
        out.insert(key.into(), value);
    }
    let mut kept = Map::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if !KEPT_HEADERS.contains(&name.as_str()) || kept.contains_key(&name) {
            continue;
        }
        // A body decoded to be scrubbed goes out without its encoding.
        if name == "content-encoding" && encoded && !keep_encoding {
            continue;
        }
        let value = match name.as_str() {
            // The cookie's name stays, so a client still sees which cookie was set.
            "set-cookie" => match value.split(';').next().and_then(|p| p.split_once('=')) {
                Some((cookie, _)) => format!("{}={PLACEHOLDER}", cookie.trim()),
                None => PLACEHOLDER.to_string(),
            },
            _ => {
                let mut value = value.clone();
                redactor.scrub_text(&mut value);
                value
            }
        };
        kept.insert(name, Value::String(value));
    }
    if !kept.is_empty() {
        out.insert("headers".into(), Value::Object(kept));
    }
    RecordedResponse {
        value: Value::Object(out),
        bodies,
    }
}

/// Whether a content type is JSON (`application/json`, `application/problem+json`, …).
pub(crate) fn is_json(content_type: &str) -> bool {
    let essence = essence(Some(content_type));
    essence == "application/json" || essence.ends_with("+json")
}

/// The media type of a content type, lowercase, without parameters (empty for none).
pub(crate) fn essence(content_type: Option<&str>) -> String {
    content_type
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether a `Content-Encoding` value says gzip.
pub(crate) fn is_gzip(content_encoding: Option<&str>) -> bool {
    content_encoding.is_some_and(|value| value.trim() == "gzip")
}

/// The decoded bytes of a gzip body, or `None` when they are not gzip.
pub(crate) fn gunzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

fn encode(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;
    use serde_json::json;

    fn record(headers: &[(&str, &str)], body: &[u8]) -> Value {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        response(&Redactor::new(&[]), 200, &headers, body).value
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).expect("in memory");
        encoder.finish().expect("in memory")
    }

    #[test]
    fn compact_json_is_json_and_indented_json_keeps_its_bytes_as_text() {
        let compact = record(&[("Content-Type", "application/json")], br#"{"a":1}"#);
        let indented = record(&[("content-type", "application/json")], b"{\n  \"a\": 1\n}");

        assert_eq!(compact["json"], json!({"a": 1}));
        assert_eq!(indented["text"], "{\n  \"a\": 1\n}");
        assert_eq!(
            indented["headers"],
            json!({"content-type": "application/json"})
        );
    }

    #[test]
    fn non_utf8_and_untyped_bodies_are_base64() {
        let binary = record(&[("content-type", "image/png")], &[0x89, b'P', 0xff]);
        let untyped = record(&[], b"plain");

        assert_eq!(binary["base64"], "iVD/");
        assert_eq!(untyped["base64"], "cGxhaW4=");
    }

    #[test]
    fn gzip_without_secrets_keeps_the_compressed_bytes_and_its_encoding() {
        let wire = gzip(br#"{"a":1}"#);
        let value = record(
            &[
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            &wire,
        );

        let stored = base64::engine::general_purpose::STANDARD
            .decode(value["base64"].as_str().expect("base64 body"))
            .expect("valid base64");
        assert_eq!(stored, wire);
        assert_eq!(value["headers"]["content-encoding"], "gzip");
    }

    #[test]
    fn gzip_with_a_secret_is_recorded_decoded_and_scrubbed() {
        let wire = gzip(br#"{"token":"abcdef"}"#);
        let value = record(
            &[
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            &wire,
        );

        assert_eq!(value["json"], json!({"token": "[REDACTED]"}));
        assert_eq!(
            value["headers"],
            json!({"content-type": "application/json"})
        );
    }

    #[test]
    fn set_cookie_keeps_the_cookie_name_only() {
        let value = record(&[("Set-Cookie", "sid=s3cr3t; Path=/; HttpOnly")], b"");

        assert_eq!(
            value,
            json!({"status": 200, "headers": {"set-cookie": "sid=[REDACTED]"}})
        );
    }
}
