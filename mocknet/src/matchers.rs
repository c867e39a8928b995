//! Request matchers that a scenario can write out as catalog JSON.
//!
//! They have the names and arguments of `wiremock::matchers`, and [`Mock::given`](crate::Mock::given)
//! takes either kind: wiremock's own matchers (or any `wiremock::Match`) serve requests just as
//! well, but only these can be written out as catalog JSON. Swapping
//! `use wiremock::matchers::{method, path};` for `use steadfast_mocknet::matchers::{method, path};`
//! is all it takes. Bad input (an invalid method, header or regex) is not a panic, as in
//! wiremock, but an [`ErrorKind::InvalidMock`](crate::ErrorKind::InvalidMock) when the mock is
//! mounted.
//!
//! # Example
//!
//! ```
//! use steadfast_mocknet::matchers::{method, path, query_param};
//! use steadfast_mocknet::{Mock, MockNet, ResponseTemplate};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
//! let net = MockNet::builder().seed(7).start().await?;
//! Mock::given(method("GET"))
//!     .and(path("/quote"))
//!     .and(query_param("currency", "EUR"))
//!     .respond_with(ResponseTemplate::new(200).set_body_string("1.08"))
//!     .named("quote")
//!     .mount(&net)
//!     .await;
//!
//! let body = reqwest::get(format!("{}/quote?currency=EUR", net.uri())).await?.text().await?;
//! assert_eq!(body, "1.08");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;

use http::{HeaderName, HeaderValue, Method};
use serde::Serialize;
use wiremock::{Match, Request};

use crate::scenario::MatcherSpec;

/// A matcher made by one of this module's functions: a `wiremock::Match` that the catalog can
/// also express.
#[derive(Clone)]
pub struct Matcher {
    pub(crate) spec: Result<MatcherSpec, String>,
    /// The wiremock matcher of the spec, for using this one where wiremock wants a `Match`.
    built: Option<Arc<dyn Match>>,
}

impl Matcher {
    fn new(spec: Result<MatcherSpec, String>) -> Matcher {
        let built = spec.as_ref().ok().map(MatcherSpec::build);
        Matcher { spec, built }
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.spec {
            Ok(spec) => write!(f, "Matcher({spec})"),
            Err(why) => write!(f, "Matcher(invalid: {why})"),
        }
    }
}

impl Match for Matcher {
    /// An invalid matcher matches nothing (mounting it is an error anyway).
    fn matches(&self, request: &Request) -> bool {
        self.built
            .as_ref()
            .is_some_and(|matcher| matcher.matches(request))
    }
}

/// Matches the request method, such as `"POST"` (catalog field `method`).
pub fn method<T: AsRef<str>>(method: T) -> Matcher {
    let method = method.as_ref();
    Matcher::new(
        Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map(MatcherSpec::Method)
            .map_err(|_| format!("`{method}` is not an HTTP method")),
    )
}

/// Matches the exact path, such as `"/v1/charges"` (catalog field `path`).
pub fn path<T: Into<String>>(path: T) -> Matcher {
    Matcher::new(Ok(MatcherSpec::Path(path.into())))
}

/// Matches paths starting with `prefix` (catalog field `path_prefix`; wiremock has no such
/// matcher).
pub fn path_prefix<T: Into<String>>(prefix: T) -> Matcher {
    Matcher::new(Ok(MatcherSpec::PathPrefix(prefix.into())))
}

/// Matches paths against a regular expression (catalog field `path_regex`).
pub fn path_regex<T: Into<String>>(regex: T) -> Matcher {
    let regex = regex.into();
    Matcher::new(
        regex::Regex::new(&regex)
            .map(MatcherSpec::PathRegex)
            .map_err(|err| format!("invalid path_regex `{regex}`: {err}")),
    )
}

/// Matches a header with exactly this value (catalog field `headers`).
pub fn header<K, V>(key: K, value: V) -> Matcher
where
    K: TryInto<HeaderName>,
    V: TryInto<HeaderValue>,
{
    let name = key
        .try_into()
        .map_err(|_| "a header name is not valid".to_string());
    let spec = name.and_then(|name| {
        let value = value
            .try_into()
            .map_err(|_| format!("the value of header `{name}` is not a valid header value"))?;
        Ok(MatcherSpec::Header(name, value))
    });
    Matcher::new(spec)
}

/// Matches a query parameter with exactly this value (catalog field `query`).
pub fn query_param<K: Into<String>, V: Into<String>>(key: K, value: V) -> Matcher {
    Matcher::new(Ok(MatcherSpec::Query(key.into(), value.into())))
}

/// Matches a JSON body equal to `body` (catalog field `body_json`).
pub fn body_json<T: Serialize>(body: T) -> Matcher {
    Matcher::new(
        serde_json::to_value(body)
            .map(MatcherSpec::BodyJson)
            .map_err(|err| format!("body_json: the body does not serialize as JSON: {err}")),
    )
}

/// Matches a JSON body that contains `body` (catalog field `body_partial_json`).
pub fn body_partial_json<T: Serialize>(body: T) -> Matcher {
    Matcher::new(
        serde_json::to_value(body)
            .map(MatcherSpec::BodyPartialJson)
            .map_err(|err| {
                format!("body_partial_json: the body does not serialize as JSON: {err}")
            }),
    )
}
