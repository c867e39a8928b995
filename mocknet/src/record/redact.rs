//! Keeping secrets out of recorded catalogs: which headers are secret, scrubbing JSON and text
//! with steadfast-tracing-core's rules, and the last check that no secret value is written.

use serde_json::{Map, Value};
use steadfast_tracing_core::scrub::{Replacement, Scrubber};

/// What replaces a secret string in a recorded body.
pub(crate) const PLACEHOLDER: &str = "[REDACTED]";

/// Headers that are always secret, whatever the scrubber's deny list says.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// Secret values shorter than this are not searched for in the written catalog: they would be
/// found everywhere (a cookie `n=1`), and are no secret worth the name.
const MIN_SEARCHED_SECRET: usize = 4;

/// Marks the parts of a string that the value detectors redact, for path regexes.
const MARK: &str = "\u{0}";

#[derive(Debug, Clone)]
pub(crate) struct Redactor {
    scrubber: Scrubber,
    /// Only marks what the detectors find, so the pieces around it can be kept.
    marker: Scrubber,
    /// Header names the user marked secret, lowercase.
    marked: Vec<String>,
}

/// A secret seen in the traffic: what it came in (`header `x`` or `field `y``), the name
/// alone, and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Secret {
    pub(crate) source: String,
    pub(crate) name: String,
    pub(crate) value: String,
}

impl Redactor {
    pub(crate) fn new(marked: &[String]) -> Self {
        Redactor {
            scrubber: Scrubber::new().replacement(Replacement::Text(PLACEHOLDER.into())),
            marker: Scrubber::new().replacement(Replacement::Text(MARK.into())),
            marked: marked
                .iter()
                .map(|name| name.to_ascii_lowercase())
                .collect(),
        }
    }

    /// Authorization, cookies, any header the scrubber denies (`x-api-key`, `x-auth-token`)
    /// and the headers the user marked.
    pub(crate) fn is_secret_header(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        SECRET_HEADERS.contains(&name.as_str())
            || self.marked.contains(&name)
            || self.scrubber.is_denied(&name)
    }

    /// Whether a query parameter's value must not be written: a denied name, or a value the
    /// detectors flag.
    pub(crate) fn is_secret_param(&self, name: &str, value: &str) -> bool {
        let mut as_query = format!("?{name}={value}");
        self.scrubber.is_denied(name) || self.scrubber.scrub_str(&mut as_query) > 0
    }

    /// Scrubs a string with the value detectors; true when something was replaced.
    pub(crate) fn scrub_text(&self, text: &mut String) -> bool {
        self.scrubber.scrub_str(text) > 0
    }

    /// A regex for a path whose secret parts (an email, a token) match any segment text, or
    /// `None` when the path holds no secret.
    pub(crate) fn path_regex(&self, path: &str) -> Option<String> {
        let mut marked = path.to_string();
        if self.marker.scrub_str(&mut marked) == 0 {
            return None;
        }
        let pieces: Vec<String> = marked.split(MARK).map(regex::escape).collect();
        Some(format!("^{}$", pieces.join("[^/]+")))
    }

    /// Scrubs a JSON value in place: under a denied key every scalar is replaced by one of the
    /// same type (strings by the placeholder, numbers by 0, booleans by false), so the shape
    /// stays checkable; elsewhere strings go through the value detectors. True when something
    /// changed.
    pub(crate) fn scrub_json(&self, value: &mut Value) -> bool {
        match value {
            Value::String(text) => self.scrub_text(text),
            Value::Array(items) => items
                .iter_mut()
                .fold(false, |changed, item| self.scrub_json(item) | changed),
            Value::Object(fields) => fields.iter_mut().fold(false, |changed, (key, field)| {
                let redacted = if self.scrubber.is_denied(key) {
                    blank(field)
                } else {
                    self.scrub_json(field)
                };
                redacted | changed
            }),
            Value::Null | Value::Bool(_) | Value::Number(_) => false,
        }
    }

    /// The fields of a request body that hold no secret, as a partial-body matcher: denied
    /// keys and strings the detectors flag are left out (array items stay, scrubbed, since a
    /// partial matcher compares arrays whole).
    pub(crate) fn without_secrets(&self, value: &Value) -> Value {
        match value {
            Value::Object(fields) => {
                let mut kept = Map::new();
                for (key, field) in fields {
                    if self.scrubber.is_denied(key) {
                        continue;
                    }
                    if let Value::String(text) = field
                        && self.scrub_text(&mut text.clone())
                    {
                        continue;
                    }
                    kept.insert(key.clone(), self.without_secrets(field));
                }
                Value::Object(kept)
            }
            other => {
                let mut scrubbed = other.clone();
                self.scrub_json(&mut scrubbed);
                scrubbed
            }
        }
    }

    /// The secret values a header carries: the whole value, an `Authorization` credential
    /// without its scheme, and each cookie's value.
    pub(crate) fn secrets_of(&self, name: &str, value: &str) -> Vec<Secret> {
        let name = name.to_ascii_lowercase();
        let mut values = vec![value.trim().to_string()];
        match name.as_str() {
            "cookie" => values.extend(
                value
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(_, value)| value.trim().to_string()),
            ),
            "set-cookie" => values.extend(
                value
                    .split(';')
                    .next()
                    .and_then(|pair| pair.split_once('='))
                    .map(|(_, value)| value.trim().to_string()),
            ),
            _ => values.extend(
                value
                    .trim()
                    .split_once(' ')
                    .map(|(_, credential)| credential.trim().to_string()),
            ),
        }
        values
            .into_iter()
            .filter(|value| value.len() >= MIN_SEARCHED_SECRET)
            .map(|value| Secret {
                source: format!("header `{name}`"),
                name: name.clone(),
                value,
            })
            .collect()
    }

    /// The strings of a request body under denied keys: a service that echoes the body
    /// (`{"data": "{\"password\": …}"}`) would otherwise carry them past the scrubber.
    pub(crate) fn body_secrets(&self, value: &Value) -> Vec<Secret> {
        let mut out = Vec::new();
        self.collect_denied(value, None, &mut out);
        out
    }

    fn collect_denied(&self, value: &Value, denied: Option<&str>, out: &mut Vec<Secret>) {
        match value {
            Value::String(text) => {
                if let Some(key) = denied.filter(|_| text.len() >= MIN_SEARCHED_SECRET) {
                    out.push(Secret {
                        source: format!("field `{key}`"),
                        name: key.to_string(),
                        value: text.clone(),
                    });
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.collect_denied(item, denied, out);
                }
            }
            Value::Object(fields) => {
                for (key, field) in fields {
                    let denied = denied.or(self.scrubber.is_denied(key).then_some(key.as_str()));
                    self.collect_denied(field, denied, out);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// Replaces every scalar under `value` by a placeholder of its type; true when any was there.
fn blank(value: &mut Value) -> bool {
    match value {
        Value::String(text) => {
            *text = PLACEHOLDER.into();
            true
        }
        Value::Number(number) => {
            *number = 0.into();
            true
        }
        Value::Bool(flag) => {
            *flag = false;
            true
        }
        Value::Array(items) => items.iter_mut().fold(false, |any, item| blank(item) | any),
        Value::Object(fields) => fields
            .values_mut()
            .fold(false, |any, item| blank(item) | any),
        Value::Null => false,
    }
}

/// The first secret whose value appears in `haystack` (the catalog's text or a body's
/// bytes), also in its JSON-escaped form.
pub(crate) fn find_leak<'a>(secrets: &'a [Secret], haystack: &[u8]) -> Option<&'a Secret> {
    secrets.iter().find(|secret| {
        let escaped = Value::String(secret.value.clone()).to_string();
        let escaped = &escaped[1..escaped.len() - 1];
        contains(haystack, secret.value.as_bytes()) || contains(haystack, escaped.as_bytes())
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn denied_fields_keep_their_type_and_detected_values_are_replaced() {
        let redactor = Redactor::new(&[]);
        let mut body = json!({"password": "hunter22", "pin_token": 1234, "note": "mail ann@example.com",
                              "id": 7});

        assert!(redactor.scrub_json(&mut body));

        assert_eq!(
            body,
            json!({"password": "[REDACTED]", "pin_token": 0, "note": "mail [REDACTED]", "id": 7})
        );
    }

    #[test]
    fn partial_matcher_leaves_out_the_secret_fields() {
        let redactor = Redactor::new(&[]);
        let body = json!({"user": "ann", "password": "hunter22", "contact": "ann@example.com"});

        assert_eq!(redactor.without_secrets(&body), json!({"user": "ann"}));
    }

    #[test]
    fn marked_and_denied_headers_are_secret() {
        let redactor = Redactor::new(&["X-Tenant".into()]);

        assert!(redactor.is_secret_header("x-tenant"));
        assert!(redactor.is_secret_header("X-Api-Key"));
        assert!(redactor.is_secret_header("Cookie"));
        assert!(!redactor.is_secret_header("accept"));
    }

    #[test]
    fn cookie_and_bearer_values_are_searched_for() {
        let redactor = Redactor::new(&[]);
        let cookie = redactor.secrets_of("Cookie", "session_id=abc123; theme=dark");
        let bearer = redactor.secrets_of("authorization", "Bearer tok-9");

        let values: Vec<&str> = cookie.iter().map(|s| s.value.as_str()).collect();
        assert_eq!(values, ["session_id=abc123; theme=dark", "abc123", "dark"]);
        let values: Vec<&str> = bearer.iter().map(|s| s.value.as_str()).collect();
        assert_eq!(values, ["Bearer tok-9", "tok-9"]);
        assert_eq!(
            find_leak(&cookie, br#"{"theme": "dark"}"#).map(|s| s.value.as_str()),
            Some("dark")
        );
        assert_eq!(find_leak(&bearer, b"nothing here"), None);
    }

    #[test]
    fn strings_under_denied_request_fields_are_searched_for() {
        let redactor = Redactor::new(&[]);
        let secrets =
            redactor.body_secrets(&json!({"user": "ann", "auth": {"password": "hunter22"}}));

        let found = find_leak(&secrets, br#"{"data": "{\"password\": \"hunter22\"}"}"#);
        assert_eq!(found.map(|s| s.source.as_str()), Some("field `password`"));
    }

    #[test]
    fn a_path_with_an_email_becomes_a_regex_around_it() {
        let redactor = Redactor::new(&[]);

        assert_eq!(redactor.path_regex("/v1/users"), None);
        assert_eq!(
            redactor
                .path_regex("/v1/users/ann@example.com/orders")
                .as_deref(),
            Some(r"^/v1/users/[^/]+/orders$")
        );
    }
}
