//! Verifying a scenario against the live service: every route's request is sent again and the
//! live response compared with the recorded one, so a cassette that no longer tells the truth
//! is caught.
//!
//! A [`Verifier`] sends each route's request (its method, exact path, query, exact headers and
//! JSON body, rebuilt from the route's matchers) once per recorded response, in order, and
//! reports as [`Drift`]s: a different status, a different content type (media type only), and
//! for JSON bodies each field missing or added and each type changed, with its JSON pointer.
//! Values are compared only at the pointers given to
//! [`compare_value`](Verifier::compare_value); [`ignore`](Verifier::ignore) leaves a pointer
//! and everything under it out. Secret headers were not recorded: give the live service its
//! credentials with [`header`](Verifier::header). Routes matching by `path_prefix` or
//! `path_regex` have no one request to send and are [skipped](DriftReport::skipped).
//!
//! # Example
//!
//! ```
//! use steadfast_determinism::Seed;
//! use steadfast_mocknet::verify_live::{DriftKind, Verifier};
//! use steadfast_mocknet::{Catalog, MockNet};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let live = Catalog::from_json("live.json", r#"{"scenarios": {"live": {"routes": [
//!     {"name": "me", "path": "/v1/me", "response": {"json": {"id": "7", "full_name": "ann"}}}]}}}"#)?;
//! let live = MockNet::builder().scenario(live.scenario("live")?).seed(Seed::new(1)).start().await?;
//! let cassette = Catalog::from_json("cassette.json", r#"{"scenarios": {"recorded": {"routes": [
//!     {"name": "get-v1-me", "method": "GET", "path": "/v1/me",
//!      "response": {"json": {"id": 7, "name": "ann"}}}]}}}"#)?;
//!
//! let report = Verifier::new(live.uri()).run(&cassette.scenario("recorded")?).await?;
//!
//! let found: Vec<(DriftKind, Option<&str>)> =
//!     report.drifts().iter().map(|d| (d.kind(), d.pointer())).collect();
//! assert_eq!(found, [
//!     (DriftKind::TypeChanged, Some("/id")),
//!     (DriftKind::FieldMissing, Some("/name")),
//!     (DriftKind::FieldAdded, Some("/full_name")),
//! ]);
//! assert_eq!(report.exit_code(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod report;
mod shape;

use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::record::proxy::{client, upstream_url};
use crate::record::{check_upstream, essence, is_gzip};
use crate::scenario::{MatcherSpec, Response, Route, Scenario};
pub use report::{Drift, DriftKind, DriftReport, ReportFormat};
use shape::Rules;

/// Sends a scenario's requests to the live service and reports drift.
///
/// # Example
///
/// ```
/// use steadfast_mocknet::verify_live::Verifier;
///
/// let verifier = Verifier::new("http://127.0.0.1:8080")
///     .ignore("/meta")
///     .compare_value("/currency")
///     .header("authorization", "Bearer test-account-token");
/// assert_eq!(verifier.against(), "http://127.0.0.1:8080");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a verifier does nothing until `run` is awaited"]
#[derive(Debug, Clone)]
pub struct Verifier {
    against: String,
    ignore: Vec<String>,
    compare: Vec<String>,
    headers: Vec<(String, String)>,
}

impl Verifier {
    /// A verifier against the live service at `against` (an `http://` URL whose path, if any,
    /// prefixes every request).
    pub fn new(against: impl Into<String>) -> Verifier {
        Verifier {
            against: against.into(),
            ignore: Vec::new(),
            compare: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Leaves the JSON pointer `pointer` (`/meta`; `""` for the whole body) and everything
    /// under it out of the comparison.
    pub fn ignore(mut self, pointer: impl Into<String>) -> Self {
        self.ignore.push(pointer.into());
        self
    }

    /// Also compares the value at `pointer`, not only its type.
    pub fn compare_value(mut self, pointer: impl Into<String>) -> Self {
        self.compare.push(pointer.into());
        self
    }

    /// Sends `name: value` with every request, in place of any recorded header of that name:
    /// the credentials that recordings leave out.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The live service's URL.
    pub fn against(&self) -> &str {
        &self.against
    }

    /// Sends every route's request and compares the answers.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Upstream`] naming the live URL ([`Error::value`]) when it is not an
    /// `http://` URL, cannot be reached, or fails to answer a request.
    pub async fn run(&self, scenario: &Scenario) -> Result<DriftReport, Error> {
        let base = check_upstream(&self.against).await?;
        let failed = |detail: String| {
            Error::new(ErrorKind::Upstream)
                .with_value(self.against.clone())
                .with_detail(detail)
        };
        let client = client().map_err(|err| {
            failed("needs an HTTP client, which could not be built".into()).with_source(err)
        })?;
        let rules = Rules {
            ignore: &self.ignore,
            compare: &self.compare,
        };
        let mut report = DriftReport {
            scenario: scenario.name().to_string(),
            against: self.against.clone(),
            requests: 0,
            drifts: Vec::new(),
            skipped: Vec::new(),
        };
        for route in &scenario.routes {
            let Some(request) = self.request(&client, &base, route) else {
                let reason = "matches no single path (path_prefix, path_regex or none)";
                report.skipped.push((route.name.clone(), reason.into()));
                continue;
            };
            for (index, recorded) in route.responses.iter().enumerate() {
                // OK to expect: a request with a plain bytes body can always be cloned.
                let request = request
                    .try_clone()
                    .expect("a request without a stream body");
                let response = client.execute(request).await.map_err(|err| {
                    failed(format!("did not answer route `{}`", route.name)).with_source(err)
                })?;
                report.requests += 1;
                let status = response.status().as_u16();
                let content_type = header(response.headers(), "content-type");
                let gzip = is_gzip(header(response.headers(), "content-encoding").as_deref());
                let body = response.bytes().await.map_err(|err| {
                    failed(format!("broke off its answer to route `{}`", route.name))
                        .with_source(err)
                })?;
                let live = Live {
                    status,
                    content_type,
                    gzip,
                    body: &body,
                };
                compare(route, index + 1, recorded, &live, &rules, &mut report);
            }
        }
        Ok(report)
    }

    /// The request a route stands for, or `None` when it has no exact path.
    fn request(
        &self,
        client: &reqwest::Client,
        base: &url::Url,
        route: &Route,
    ) -> Option<reqwest::Request> {
        let mut method = http::Method::GET;
        let mut path = None;
        let mut query = Vec::new();
        let mut headers = Vec::new();
        let mut body = None;
        for matcher in &route.matchers {
            match matcher {
                MatcherSpec::Method(wanted) => method = wanted.clone(),
                MatcherSpec::Path(wanted) => path = Some(wanted.clone()),
                MatcherSpec::Query(name, value) => query.push((name.clone(), value.clone())),
                MatcherSpec::Header(name, value) => {
                    headers.push((
                        name.to_string(),
                        value.to_str().unwrap_or_default().to_string(),
                    ));
                }
                MatcherSpec::BodyJson(json) | MatcherSpec::BodyPartialJson(json) => {
                    body = Some(json.to_string());
                }
                MatcherSpec::HeaderPresent(_)
                | MatcherSpec::PathPrefix(_)
                | MatcherSpec::PathRegex(_)
                | MatcherSpec::Custom { .. } => {}
            }
        }
        let mut url = url::Url::parse(&upstream_url(base, &path?)).ok()?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(&query);
        }
        let mut builder = client.request(method, url);
        for (name, value) in &headers {
            if !self
                .headers
                .iter()
                .any(|(given, _)| given.eq_ignore_ascii_case(name))
            {
                builder = builder.header(name.as_str(), value.as_str());
            }
        }
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = body {
            builder = builder
                .header("content-type", "application/json")
                .body(body);
        }
        builder.build().ok()
    }
}

struct Live<'a> {
    status: u16,
    content_type: Option<String>,
    gzip: bool,
    body: &'a [u8],
}

fn header(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

/// Compares call `call` of `route` with its recorded response.
fn compare(
    route: &Route,
    call: usize,
    recorded: &Response,
    live: &Live<'_>,
    rules: &Rules<'_>,
    report: &mut DriftReport,
) {
    let mut push = |kind, pointer, was: String, now: String| {
        report.drifts.push(Drift {
            route: route.name.clone(),
            call,
            kind,
            pointer,
            recorded: was,
            live: now,
        });
    };
    if recorded.status != live.status {
        push(
            DriftKind::Status,
            None,
            recorded.status.to_string(),
            live.status.to_string(),
        );
    }
    let recorded_header = |name: &str| {
        recorded
            .headers
            .iter()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| value.to_str().ok())
            .map(str::to_string)
    };
    let recorded_type = recorded_header("content-type");
    let (was, now) = (
        essence(recorded_type.as_deref()),
        essence(live.content_type.as_deref()),
    );
    if was != now {
        push(DriftKind::ContentType, None, was, now);
        return;
    }
    if !crate::record::is_json_type(&was) {
        return;
    }
    let recorded_gzip = is_gzip(recorded_header("content-encoding").as_deref());
    let (Some(was), Some(now)) = (
        json_body(&recorded.body, recorded_gzip),
        json_body(live.body, live.gzip),
    ) else {
        return;
    };
    for drift in shape::diff(&was, &now, rules) {
        push(drift.kind, Some(drift.pointer), drift.recorded, drift.live);
    }
}

fn json_body(body: &[u8], gzip: bool) -> Option<Value> {
    let decoded;
    let bytes = if gzip {
        decoded = crate::record::gunzip(body)?;
        &decoded[..]
    } else {
        body
    };
    serde_json::from_slice(bytes).ok()
}
