//! [`ResponseTemplate`]: wiremock's response builder, answered by mocknet itself.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::{HeaderName, HeaderValue, StatusCode};
use serde::Serialize;
use wiremock::{Request, Respond};

use crate::fault::{self, Effect, Fault};
use crate::scenario::Response;

/// The response a [`Mock`](crate::Mock) sends: wiremock's `ResponseTemplate` with the same
/// methods, answered by mocknet itself and written out in catalog JSON.
///
/// `wiremock::ResponseTemplate` works with [`MockBuilder::respond_with`](crate::MockBuilder::respond_with)
/// too, but wiremock shows nothing of it, so mocknet renders each one through wiremock's own
/// server, one loopback round trip per request, and its `set_delay` waits in real time. This
/// type costs nothing extra, its [`set_delay`](Self::set_delay) is a latency on the test's
/// clock (virtual under `#[deterministic_test]`), and it can be written out as JSON.
///
/// Bad input (a status that is not a final HTTP status, an invalid header, a body that does
/// not serialize, a body on a 204) is not a panic, as in wiremock, but an
/// [`ErrorKind::InvalidMock`](crate::ErrorKind::InvalidMock) when the mock is mounted.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use steadfast_mocknet::matchers::path;
/// use steadfast_mocknet::{Mock, MockNet, ResponseTemplate};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
/// let net = MockNet::builder().seed(1).start().await?;
/// Mock::given(path("/v1/charges"))
///     .respond_with(
///         ResponseTemplate::new(201)
///             .insert_header("x-request-id", "req_1")
///             .set_body_json(serde_json::json!({"id": "ch_1"}))
///             .set_delay(Duration::from_secs(2)),
///     )
///     .mount(&net)
///     .await;
///
/// let started = tokio::time::Instant::now();
/// let response = reqwest::get(format!("{}/v1/charges", net.uri())).await?;
/// assert_eq!(started.elapsed(), Duration::from_secs(2));
/// assert_eq!(response.status(), 201);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// assert_eq!(response.text().await?, r#"{"id":"ch_1"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ResponseTemplate {
    /// Shared by clones until one of them changes, so a template cloned for many mocks is
    /// checked and compiled once and every route it answers holds the same response.
    parts: Arc<Parts>,
}

#[derive(Clone)]
struct Parts {
    status: u16,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The content type a `set_body_*` call implies; it replaces any `content-type` header.
    mime: Option<HeaderValue>,
    body: Vec<u8>,
    delay: Option<Duration>,
    /// The first bad input, reported when the mock is mounted.
    invalid: Option<String>,
    /// What [`Parts::compile`] made of the fields above; every change empties it.
    compiled: OnceLock<Compiled>,
}

/// The response as the server serves it and the latency fault of its delay, or what is wrong.
type Compiled = Result<(Arc<Response>, Option<Fault>), String>;

impl ResponseTemplate {
    /// A response with status `status` and no headers or body.
    pub fn new<S: TryInto<StatusCode>>(status: S) -> Self {
        let (status, invalid) = match status.try_into() {
            Ok(status) => (status.as_u16(), None),
            Err(_) => (
                500,
                Some("the status is not a valid HTTP status".to_string()),
            ),
        };
        ResponseTemplate {
            parts: Arc::new(Parts {
                status,
                headers: Vec::new(),
                mime: None,
                body: Vec::new(),
                delay: None,
                invalid,
                compiled: OnceLock::new(),
            }),
        }
    }

    /// Adds a header, after any of the same name.
    #[must_use]
    pub fn append_header<K, V>(mut self, key: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
    {
        if let Some(header) = self.header(key, value) {
            self.parts_mut().headers.push(header);
        }
        self
    }

    /// Sets a header, replacing any of the same name.
    #[must_use]
    pub fn insert_header<K, V>(mut self, key: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
    {
        if let Some((name, value)) = self.header(key, value) {
            let headers = &mut self.parts_mut().headers;
            headers.retain(|(existing, _)| *existing != name);
            headers.push((name, value));
        }
        self
    }

    /// Adds every header of `headers`, as [`append_header`](Self::append_header) does.
    #[must_use]
    pub fn append_headers<K, V, I>(self, headers: I) -> Self
    where
        K: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
        I: IntoIterator<Item = (K, V)>,
    {
        headers.into_iter().fold(self, |template, (key, value)| {
            template.append_header(key, value)
        })
    }

    /// Sets the body to these bytes, with no content type.
    #[must_use]
    pub fn set_body_bytes<B: Into<Vec<u8>>>(mut self, body: B) -> Self {
        self.parts_mut().body = body.into();
        self
    }

    /// Sets the body to `body` as JSON, with `content-type: application/json`.
    #[must_use]
    pub fn set_body_json<B: Serialize>(mut self, body: B) -> Self {
        match serde_json::to_vec(&body) {
            Ok(bytes) => self.set_body_raw(bytes, "application/json"),
            Err(err) => {
                self.fail(format!("the body does not serialize as JSON: {err}"));
                self
            }
        }
    }

    /// Sets the body to `body`, with `content-type: text/plain`.
    #[must_use]
    pub fn set_body_string<T: Into<String>>(self, body: T) -> Self {
        self.set_body_raw(body.into().into_bytes(), "text/plain")
    }

    /// Sets the body to these bytes with content type `mime`.
    #[must_use]
    pub fn set_body_raw<B: Into<Vec<u8>>>(mut self, body: B, mime: &str) -> Self {
        self.parts_mut().body = body.into();
        match HeaderValue::from_str(mime) {
            Ok(mime) => self.parts_mut().mime = Some(mime),
            Err(_) => self.fail(format!("`{mime}` is not a valid content type")),
        }
        self
    }

    /// Delays the response by `delay` on the test's clock: a `latency` fault that always
    /// applies.
    #[must_use]
    pub fn set_delay(mut self, delay: Duration) -> Self {
        self.parts_mut().delay = Some(delay);
        self
    }

    /// The parts to change: this template's own (copied first if a clone shares them), with
    /// the compiled response forgotten.
    fn parts_mut(&mut self) -> &mut Parts {
        let parts = Arc::make_mut(&mut self.parts);
        parts.compiled = OnceLock::new();
        parts
    }

    fn header<K, V>(&mut self, key: K, value: V) -> Option<(HeaderName, HeaderValue)>
    where
        K: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
    {
        let Ok(name) = key.try_into() else {
            self.fail("a header name is not valid".into());
            return None;
        };
        let Ok(value) = value.try_into() else {
            self.fail(format!(
                "the value of header `{name}` is not a valid header value"
            ));
            return None;
        };
        Some((name, value))
    }

    fn fail(&mut self, why: String) {
        self.parts_mut().invalid.get_or_insert(why);
    }

    /// The response and the latency fault of its delay, as the server serves them: headers
    /// sorted by name (values of one name in the order given), the content type of the body
    /// in place of any `content-type` header. Compiled on the first call; later calls, on
    /// this template or its unchanged clones, share that response.
    pub(crate) fn compile(&self) -> Compiled {
        self.parts
            .compiled
            .get_or_init(|| self.parts.compile())
            .clone()
    }

    /// The same response as a wiremock template, for a plain wiremock server.
    fn to_wiremock(&self) -> wiremock::ResponseTemplate {
        let parts = &*self.parts;
        let mut template = wiremock::ResponseTemplate::new(parts.status);
        for (name, value) in &parts.headers {
            template = template.append_header(name.clone(), value.clone());
        }
        template = match &parts.mime {
            Some(mime) => template.set_body_raw(parts.body.clone(), mime.to_str().unwrap_or("")),
            None => template.set_body_bytes(parts.body.clone()),
        };
        match parts.delay {
            Some(delay) => template.set_delay(delay),
            None => template,
        }
    }
}

impl Parts {
    /// See [`ResponseTemplate::compile`].
    fn compile(&self) -> Compiled {
        if let Some(why) = &self.invalid {
            return Err(why.clone());
        }
        fault::check_status(self.status)?;
        if matches!(self.status, 204 | 304) && !self.body.is_empty() {
            return Err(format!("a {} response cannot have a body", self.status));
        }
        let mut headers = self.headers.clone();
        if let Some(mime) = &self.mime {
            headers.retain(|(name, _)| name != http::header::CONTENT_TYPE);
            headers.push((http::header::CONTENT_TYPE, mime.clone()));
        }
        if !headers.is_sorted_by(|(a, _), (b, _)| a.as_str() <= b.as_str()) {
            headers.sort_by(|(a, _), (b, _)| a.as_str().cmp(b.as_str()));
        }
        let latency = self
            .delay
            .map(|delay| Fault::checked(1.0, Effect::Latency(delay)))
            .transpose()?;
        let response = Response {
            status: self.status,
            headers,
            body: self.body.clone(),
        };
        Ok((Arc::new(response), latency))
    }
}

impl fmt::Debug for ResponseTemplate {
    /// The template's fields, without the compiled response they make.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = &*self.parts;
        f.debug_struct("ResponseTemplate")
            .field("status", &parts.status)
            .field("headers", &parts.headers)
            .field("mime", &parts.mime)
            .field("body", &parts.body)
            .field("delay", &parts.delay)
            .field("invalid", &parts.invalid)
            .finish()
    }
}

impl Respond for ResponseTemplate {
    /// The wiremock template of this response, so it also works on a plain wiremock server;
    /// there its delay is wiremock's, in real time.
    fn respond(&self, _request: &Request) -> wiremock::ResponseTemplate {
        self.to_wiremock()
    }
}
