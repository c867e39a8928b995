//! Webhook callbacks: a request the server sends after answering a route, continuing the
//! incoming request's trace.
//!
//! A route's `callback` is sent once the route's own response has been written in full (a fault
//! that replaces or breaks the response sends none), after `delay_ms` on the runtime's clock,
//! from a task on the same runtime. Its `traceparent` keeps the incoming request's trace id and
//! sampled flag with a new span id drawn from the request's stream of the seed; a request
//! without a valid `traceparent` gets a callback without one. The outcome (the status, or why
//! there is none) is recorded on the request's [journal entry](crate::JournalEntry) as a
//! [`CallbackRecord`].
//!
//! Callbacks go to loopback only (`127.0.0.0/8`, `::1` or `localhost`) over plain HTTP/1.1,
//! with `connection: close` and a 30 s timeout on the runtime's clock.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use steadfast_tracing_core::TraceParent;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

/// How long a callback may take, from connecting to the receiver's status line.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);

/// Where a callback goes: a loopback URL, or a path resolved against the server's callback
/// base (see [`MockNetBuilder::callback_base`](crate::MockNetBuilder::callback_base)).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    Absolute(Url),
    Relative(String),
}

/// A validated callback of a route.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Callback {
    pub(crate) method: Method,
    pub(crate) target: Target,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Vec<u8>,
    pub(crate) delay: Duration,
}

/// A callback the server sent (or tried to send), as recorded in the
/// [journal](crate::JournalEntry::callback).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use steadfast_determinism::Seed;
/// use steadfast_mocknet::{Catalog, MockNet};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
/// let catalog = Catalog::from_json("c.json", r#"{"scenarios": {
///     "service": {"routes": [{"name": "charge", "method": "POST", "path": "/v1/charges",
///         "response": {"status": 201},
///         "callback": {"url": "/webhooks/charge", "json": {"type": "charge.succeeded"},
///                      "delay_ms": 500}}]},
///     "receiver": {"routes": [{"name": "webhook", "path": "/webhooks/charge",
///         "response": {"status": 204}}]}}}"#)?;
/// let receiver = MockNet::builder().scenario(catalog.scenario("receiver")?).seed(Seed::new(1)).start().await?;
/// let service = MockNet::builder().scenario(catalog.scenario("service")?)
///     .seed(Seed::new(1))
///     .callback_base(receiver.uri())
///     .start()
///     .await?;
/// reqwest::Client::new()
///     .post(format!("{}/v1/charges", service.uri()))
///     .header("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
///     .send()
///     .await?;
///
/// let journal = service.wait_for_callbacks(1, Duration::from_secs(60)).await?;
/// let callback = journal[0].callback.as_ref().expect("sent");
/// assert_eq!((callback.status, callback.at), (Some(204), Duration::from_millis(500)));
/// let sent = callback.traceparent.expect("continues the trace");
/// assert_eq!(sent.trace_id().to_string(), "0af7651916cd43dd8448eb211c80319c");
/// assert_eq!(receiver.journal()[0].traceparent, Some(sent));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CallbackRecord {
    /// The method, such as `POST`.
    pub method: String,
    /// The full URL the callback went to.
    pub url: String,
    /// When it was sent, since the server started, on tokio's clock.
    pub at: Duration,
    /// The `traceparent` it carried: the incoming trace with a new span id.
    pub traceparent: Option<TraceParent>,
    /// The receiver's status, or `None` when there was none (see [`error`](Self::error)).
    pub status: Option<u16>,
    /// Why no status came back: the connection failed, timed out or was not HTTP.
    pub error: Option<String>,
}

impl fmt::Display for CallbackRecord {
    /// `POST http://127.0.0.1:4000/hook at 1.5s -> 204`, or `-> error: …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} at {:?} -> ", self.method, self.url, self.at)?;
        match (self.status, &self.error) {
            (Some(status), _) => write!(f, "{status}"),
            (None, Some(error)) => write!(f, "error: {error}"),
            (None, None) => f.write_str("(no status)"),
        }
    }
}

/// Checks that `url` is a plain-HTTP loopback URL; the message says what is wrong.
pub(crate) fn loopback_url(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|err| format!("`{url}` is not a URL: {err}"))?;
    if parsed.scheme() != "http" {
        return Err(format!("`{url}` is not an http:// URL"));
    }
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if !loopback {
        return Err(format!(
            "`{url}` is not on loopback (127.0.0.0/8, [::1] or localhost)"
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("`{url}` has credentials"));
    }
    Ok(parsed)
}

/// Parses a catalog's callback `url`: a loopback URL or a path starting with `/`.
pub(crate) fn target(url: &str) -> Result<Target, String> {
    if url.starts_with('/') && !url.starts_with("//") {
        // Resolving against any base shows whether the path is usable.
        let base = Url::parse("http://127.0.0.1/").map_err(|err| err.to_string())?;
        base.join(url)
            .map_err(|err| format!("`{url}` is not a usable path: {err}"))?;
        return Ok(Target::Relative(url.to_string()));
    }
    loopback_url(url).map(Target::Absolute)
}

impl Target {
    /// The URL to send to; `None` for a relative target without a base.
    pub(crate) fn resolve(&self, base: Option<&Url>) -> Option<Url> {
        match self {
            Target::Absolute(url) => Some(url.clone()),
            Target::Relative(path) => base?.join(path).ok(),
        }
    }
}

/// Sends one callback and returns the receiver's status.
pub(crate) async fn send(
    callback: &Callback,
    url: &Url,
    traceparent: Option<TraceParent>,
) -> Result<u16, String> {
    let exchange = async {
        let port = url.port_or_known_default().unwrap_or(80);
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            // `localhost` is the only name a validated URL can hold.
            _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        let mut stream = TcpStream::connect(SocketAddr::new(ip, port))
            .await
            .map_err(|err| format!("could not connect: {err}"))?;
        stream
            .write_all(&request_bytes(callback, url, traceparent))
            .await
            .map_err(|err| format!("could not send: {err}"))?;
        read_status(&mut stream).await
    };
    match tokio::time::timeout(TIMEOUT, exchange).await {
        Ok(result) => result,
        Err(_) => Err(format!("no response within {TIMEOUT:?}")),
    }
}

fn request_bytes(callback: &Callback, url: &Url, traceparent: Option<TraceParent>) -> Vec<u8> {
    let mut target = url.path().to_string();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let mut out = format!(
        "{} {target} HTTP/1.1\r\nhost: {host}\r\ncontent-length: {}\r\nconnection: close\r\n",
        callback.method,
        callback.body.len()
    )
    .into_bytes();
    if let Some(traceparent) = traceparent {
        out.extend_from_slice(format!("traceparent: {traceparent}\r\n").as_bytes());
    }
    for (name, value) in &callback.headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&callback.body);
    out
}

/// Reads up to the end of the status line and parses its code.
async fn read_status(stream: &mut TcpStream) -> Result<u16, String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        if line.len() > 1024 {
            return Err("the status line is longer than 1024 bytes".into());
        }
        let read = stream
            .read(&mut byte)
            .await
            .map_err(|err| format!("could not read the response: {err}"))?;
        if read == 0 {
            return Err("the receiver closed the connection without a status line".into());
        }
        line.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&line);
    let mut parts = text.split_whitespace();
    match (parts.next(), parts.next().map(str::parse::<u16>)) {
        (Some(version), Some(Ok(status))) if version.starts_with("HTTP/1.") => Ok(status),
        _ => Err(format!(
            "not an HTTP/1.x status line: {:?}",
            text.trim_end()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_loopback_and_non_http_urls_are_rejected() {
        assert!(target("http://127.0.0.1:8080/hook").is_ok());
        assert!(target("http://localhost:8080/hook").is_ok());
        assert!(target("http://[::1]:8080/hook").is_ok());
        assert!(target("/webhooks/charge").is_ok());

        let remote = target("http://example.com/hook").expect_err("remote");
        let https = target("https://127.0.0.1/hook").expect_err("https");
        let garbage = target("webhooks").expect_err("not a URL");
        let protocol_relative = target("//example.com/hook").expect_err("protocol-relative");

        assert!(remote.contains("is not on loopback"), "{remote}");
        assert!(https.contains("is not an http:// URL"), "{https}");
        assert!(garbage.contains("is not a URL"), "{garbage}");
        assert!(
            protocol_relative.contains("is not a URL"),
            "{protocol_relative}"
        );
    }

    #[test]
    fn relative_target_needs_a_base_and_joins_it() {
        let target = target("/webhooks/charge?attempt=1").expect("path");
        let base = Url::parse("http://127.0.0.1:4000").expect("base");

        assert_eq!(target.resolve(None), None);
        assert_eq!(
            target.resolve(Some(&base)).map(String::from),
            Some("http://127.0.0.1:4000/webhooks/charge?attempt=1".to_string())
        );
    }

    #[test]
    fn request_carries_traceparent_headers_and_body() {
        let callback = Callback {
            method: Method::POST,
            target: Target::Relative("/hook".into()),
            headers: vec![(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body: b"{}".to_vec(),
            delay: Duration::ZERO,
        };
        let url = Url::parse("http://127.0.0.1:4000/hook?x=1").expect("url");
        let traceparent: TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            .parse()
            .expect("valid");

        let bytes = request_bytes(&callback, &url, Some(traceparent));

        assert_eq!(
            String::from_utf8(bytes).expect("ascii"),
            "POST /hook?x=1 HTTP/1.1\r\nhost: 127.0.0.1:4000\r\ncontent-length: 2\r\n\
             connection: close\r\n\
             traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\
             content-type: application/json\r\n\r\n{}"
        );
    }
}
