//! The journal: every request a [`MockNet`](crate::MockNet) received, in order.

use std::fmt::{self, Write as _};
use std::time::Duration;

use steadfast_tracing_core::TraceParent;

use crate::callback::CallbackRecord;
use crate::fault::FaultKind;

/// One request as the server saw it, with what it did about it.
///
/// # Example
///
/// ```
/// use steadfast_mocknet::{Catalog, MockNet};
/// use steadfast_determinism::Seed;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let catalog = Catalog::from_json("c.json", r#"{"scenarios": {"up": {"routes": [
///     {"name": "health", "path": "/health", "response": {"text": "ok"}}]}}}"#)?;
/// let net = MockNet::builder().scenario(catalog.scenario("up")?).seed(Seed::new(1)).start().await?;
/// let mut stream = tokio::net::TcpStream::connect(net.addr()).await?;
/// stream.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await?;
/// stream.read_to_end(&mut Vec::new()).await?;
///
/// let entry = &net.journal()[0];
/// assert_eq!((entry.method.as_str(), entry.path.as_str()), ("GET", "/health"));
/// assert_eq!((entry.route.as_deref(), entry.status), (Some("health"), Some(200)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JournalEntry {
    /// Position in the journal, from 0.
    pub index: usize,
    /// The request method, such as `POST`.
    pub method: String,
    /// The request path, without the query.
    pub path: String,
    /// The query string, without the `?`.
    pub query: Option<String>,
    /// The request headers in the order received, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
    /// When the request arrived, since the server started, on tokio's clock (virtual time
    /// under a paused runtime).
    pub at: Duration,
    /// The route that matched, or `None` for an unmatched request.
    pub route: Option<String>,
    /// Every fault that applied, in the order drawn.
    pub faults: Vec<FaultKind>,
    /// The status sent, or `None` when a fault left the client without one (reset, hang, …).
    pub status: Option<u16>,
    /// The `traceparent` header, when present and valid.
    pub traceparent: Option<TraceParent>,
    /// The route's callback, once it has been sent and has a status or an error (see
    /// [`MockNet::wait_for_callbacks`](crate::MockNet::wait_for_callbacks)).
    pub callback: Option<CallbackRecord>,
}

impl JournalEntry {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The fault that replaced the response, if any (the last non-delay fault).
    pub fn replacing_fault(&self) -> Option<FaultKind> {
        self.faults.iter().copied().find(|kind| {
            !matches!(
                kind,
                FaultKind::Latency
                    | FaultKind::Jitter
                    | FaultKind::Dribble
                    | FaultKind::Bandwidth
                    | FaultKind::Refused
                    | FaultKind::CloseOnAccept
            )
        })
    }

    /// The request as wiremock's `Request`, as matchers and responders see it.
    pub(crate) fn to_request(&self) -> wiremock::Request {
        let target = match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        };
        crate::server::to_wiremock(&crate::http1::RawRequest {
            method: self.method.clone(),
            target,
            headers: self.headers.clone(),
            body: self.body.clone(),
            close: false,
        })
    }
}

impl fmt::Display for JournalEntry {
    /// One line: `#3 POST /v1/charges at 1.2s -> charge 503 [status]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {} {}", self.index, self.method, self.path)?;
        if let Some(query) = &self.query {
            write!(f, "?{query}")?;
        }
        write!(f, " at {:?} -> ", self.at)?;
        match &self.route {
            Some(route) => f.write_str(route)?,
            None => f.write_str("(unmatched)")?,
        }
        match self.status {
            Some(status) => write!(f, " {status}")?,
            None => f.write_str(" (no status)")?,
        }
        if !self.faults.is_empty() {
            let names: Vec<&str> = self.faults.iter().map(|kind| kind.as_str()).collect();
            write!(f, " [{}]", names.join(", "))?;
        }
        if let Some(callback) = &self.callback {
            write!(f, "; callback {callback}")?;
        }
        Ok(())
    }
}

/// Formats a journal for assertion messages, one entry a line.
pub(crate) fn render(entries: &[JournalEntry]) -> String {
    if entries.is_empty() {
        return "  (no requests)".into();
    }
    let mut out = String::new();
    for entry in entries {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "  {entry}");
    }
    out.truncate(out.trim_end().len());
    out
}
