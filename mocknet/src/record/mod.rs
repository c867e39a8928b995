//! Recording: a reverse proxy to a real HTTP/1.1 service that writes each exchange into a
//! catalog scenario, secrets replaced, so the scenario replays what the service really said.
//!
//! A [`Recorder`] names the upstream, the catalog file and the scenario;
//! [`start`](Recorder::start) binds a proxy on 127.0.0.1 on the caller's tokio runtime, and
//! [`Recording::finish`] writes the catalog. Each exchange becomes a route matching the method,
//! the exact path and query, the JSON body of JSON requests and the secret headers present;
//! its response keeps the status, a minimal header set (`content-type`, `content-encoding`,
//! `location`, `retry-after`, `set-cookie`) and the body (see below). The same request
//! answered differently in turn becomes a `responses` sequence.
//!
//! **Secrets never reach the file.** `Authorization`, `Proxy-Authorization`, `Cookie`,
//! `Set-Cookie`, every header steadfast-tracing-core's scrubber denies (`X-Api-Key`,
//! `X-Auth-Token`, …) and the headers given to [`Recorder::secret_header`] are matched as
//! `headers_present` (any value) and never written. JSON fields under denied keys keep their
//! type with a placeholder (`"[REDACTED]"`, `0`, `false`), and strings go through the
//! scrubber's value detectors (emails, card numbers, bearer tokens, JWTs, URL credentials,
//! signature parameters); a request body with a secret is matched by its other fields
//! (`body_partial_json`). Last, the catalog's text (and every base64 body) is searched for the
//! value of every secret header seen: one the scrubber left in place, say a marked header
//! echoed under an innocent field, makes [`finish`](Recording::finish) refuse with
//! [`ErrorKind::SecretInCatalog`] and write nothing.
//!
//! **Bodies.** Chunked bodies are recorded de-chunked (replay sends a `Content-Length`).
//! Gzip bodies keep their compressed bytes as `base64` with their `content-encoding`, unless
//! scrubbing redacted something in the decoded body: then the scrubbed body is recorded
//! decoded, without the encoding. JSON that re-serialises to the same bytes is `json`, other
//! text is `text`, anything else (or an untyped body) is `base64`.
//!
//! **Deterministic files.** Routes are named from the method and path (`post-v1-charges`,
//! then `-2`, …), ordered by specificity then first arrival, keys sorted, pretty-printed with a
//! trailing newline and no timestamps: the same traffic gives the same bytes.
//!
//! # Example
//!
//! A [`MockNet`](crate::MockNet) stands in for the live service here:
//!
//! ```
//! use steadfast_determinism::Seed;
//! use steadfast_mocknet::record::{RecordMode, Recorder};
//! use steadfast_mocknet::{Catalog, MockNet};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let live = Catalog::from_json("live.json", r#"{"scenarios": {"live": {"routes": [
//!     {"name": "me", "path": "/v1/me", "response": {"json": {"name": "ann"}}}]}}}"#)?;
//! let live = MockNet::builder().scenario(live.scenario("live")?).seed(Seed::new(1)).start().await?;
//! let out = std::env::temp_dir().join(format!("steadfast-record-doc-{}.json", std::process::id()));
//!
//! let recording = Recorder::new(live.uri(), &out, "recorded").mode(RecordMode::All).start().await?;
//! let body = reqwest::Client::new()
//!     .get(format!("{}/v1/me", recording.uri()))
//!     .header("authorization", "Bearer s3cr3t-token")
//!     .send().await?.text().await?;
//! let summary = recording.finish().await?;
//!
//! assert_eq!(body, r#"{"name":"ann"}"#);
//! assert_eq!(summary.routes_added(), 1);
//! let text = std::fs::read_to_string(&out)?;
//! assert!(!text.contains("s3cr3t-token"));
//! assert!(text.contains(r#""headers_present": ["#));
//! let replayed = Catalog::from_file(&out)?.scenario("recorded")?;
//! assert_eq!(replayed.route_names().collect::<Vec<_>>(), ["get-v1-me"]);
//! # std::fs::remove_file(&out)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod body;
pub(crate) mod proxy;
pub(crate) mod redact;
mod write;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::error::{Error, ErrorKind};
pub(crate) use body::{essence, gunzip, is_gzip, is_json as is_json_type};
use proxy::{Log, ProxyState};
use redact::Redactor;
use write::Writer;

/// What a recording does with the scenario's routes already in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RecordMode {
    /// Keeps the scenario as it is (routes, faults, overlays, edits) and adds routes only for
    /// requests none of its routes match. The default.
    #[default]
    New,
    /// Re-records the scenario's routes; its other fields (faults, overlays, `extends`) and
    /// every other scenario stay.
    All,
}

/// Configures a recording proxy; [`start`](Self::start) runs it.
///
/// # Example
///
/// ```
/// use steadfast_mocknet::record::{RecordMode, Recorder};
///
/// let recorder = Recorder::new("http://127.0.0.1:8080", "cassettes/payments.json", "happy-path")
///     .mode(RecordMode::All)
///     .secret_header("x-tenant");
/// assert_eq!(recorder.scenario(), "happy-path");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a recorder does nothing until `start` is awaited"]
#[derive(Debug, Clone)]
pub struct Recorder {
    upstream: String,
    out: PathBuf,
    scenario: String,
    mode: RecordMode,
    listen: SocketAddr,
    secret_headers: Vec<String>,
    secret_values: Vec<String>,
}

impl Recorder {
    /// A recorder proxying to `upstream` (an `http://` URL whose path, if any, prefixes every
    /// request) that writes scenario `scenario` into the catalog file `out`, in
    /// [`RecordMode::New`], listening on an ephemeral port of 127.0.0.1.
    pub fn new(
        upstream: impl Into<String>,
        out: impl Into<PathBuf>,
        scenario: impl Into<String>,
    ) -> Recorder {
        Recorder {
            upstream: upstream.into(),
            out: out.into(),
            scenario: scenario.into(),
            mode: RecordMode::default(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            secret_headers: Vec::new(),
            secret_values: Vec::new(),
        }
    }

    /// Re-records the scenario or only adds what is new (default [`RecordMode::New`]).
    pub fn mode(mut self, mode: RecordMode) -> Self {
        self.mode = mode;
        self
    }

    /// Listens on `addr` instead of an ephemeral port of 127.0.0.1.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Treats header `name` as secret: matched with any value, never written, and its value
    /// searched for in the catalog before it is written.
    pub fn secret_header(mut self, name: impl Into<String>) -> Self {
        self.secret_headers.push(name.into());
        self
    }

    /// A value that must never be written (a test account's password, say), wherever it
    /// shows up; values shorter than four bytes are not searched.
    pub fn secret_value(mut self, value: impl Into<String>) -> Self {
        self.secret_values.push(value.into());
        self
    }

    /// The scenario this recorder writes.
    pub fn scenario(&self) -> &str {
        &self.scenario
    }

    /// Binds the proxy and starts serving on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Upstream`] when the upstream is not an `http://` URL or nothing accepts a
    /// connection at its address ([`Error::value`] is the URL), and [`ErrorKind::Bind`] when
    /// the listener cannot be bound.
    pub async fn start(self) -> Result<Recording, Error> {
        let upstream = check_upstream(&self.upstream).await?;
        let client = proxy::client().map_err(|err| {
            Error::new(ErrorKind::Upstream)
                .with_value(self.upstream.clone())
                .with_detail("needs an HTTP client, which could not be built")
                .with_source(err)
        })?;
        let listener = TcpListener::bind(self.listen).await.map_err(|err| {
            Error::new(ErrorKind::Bind)
                .in_scenario(self.scenario.clone())
                .with_source(err)
        })?;
        let addr = listener.local_addr().map_err(|err| {
            Error::new(ErrorKind::Bind)
                .in_scenario(self.scenario.clone())
                .with_source(err)
        })?;
        let state = Arc::new(ProxyState {
            upstream,
            client,
            log: Mutex::new(Log::default()),
        });
        let task = tokio::spawn(proxy::accept_loop(listener, Arc::clone(&state)));
        Ok(Recording {
            addr,
            state,
            task,
            config: self,
        })
    }
}

/// Parses the upstream URL and checks that something accepts connections there.
pub(crate) async fn check_upstream(upstream: &str) -> Result<url::Url, Error> {
    let invalid = |detail: &str| {
        Error::new(ErrorKind::Upstream)
            .with_value(upstream)
            .with_detail(detail.to_string())
    };
    let url = url::Url::parse(upstream).map_err(|err| invalid("is not a URL").with_source(err))?;
    if url.scheme() != "http" {
        return Err(invalid(
            "is not an http:// URL (TLS upstreams are not supported)",
        ));
    }
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|err| invalid("is unreachable").with_source(err))?;
    Ok(url)
}

/// A running recording proxy. Send the traffic to [`uri`](Self::uri), then
/// [`finish`](Self::finish) to write the catalog; dropping it stops the proxy and writes
/// nothing.
#[derive(Debug)]
pub struct Recording {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    task: JoinHandle<()>,
    config: Recorder,
}

/// What [`Recording::finish`] wrote.
#[derive(Debug, Clone)]
pub struct RecordSummary {
    file: PathBuf,
    exchanges: usize,
    routes_added: usize,
}

impl RecordSummary {
    /// The catalog file written.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// How many exchanges went through the proxy.
    pub fn exchanges(&self) -> usize {
        self.exchanges
    }

    /// How many routes the scenario gained (in [`RecordMode::All`], all of its routes).
    pub fn routes_added(&self) -> usize {
        self.routes_added
    }
}

impl Recording {
    /// The proxy's address on 127.0.0.1.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, to use in place of the upstream.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many exchanges the proxy has completed so far.
    pub fn exchanges(&self) -> usize {
        self.state.log().exchanges.len()
    }

    /// Stops the proxy and writes the scenario into the catalog file (created if missing,
    /// written whole through a temporary file beside it).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Upstream`] when the upstream failed to answer a request (nothing is
    /// written); [`ErrorKind::ReadCatalog`], [`ErrorKind::InvalidCatalog`] or
    /// [`ErrorKind::InvalidRoute`] when the existing file cannot be read as a catalog;
    /// [`ErrorKind::SecretInCatalog`] when a secret value would be written;
    /// [`ErrorKind::WriteCatalog`] when the file cannot be written.
    pub async fn finish(mut self) -> Result<RecordSummary, Error> {
        self.task.abort();
        // Wait for the abort, so no connection is still adding to the log.
        let _ = (&mut self.task).await;
        let config = &self.config;
        let file = config.out.display().to_string();
        let (exchanges, failures) = {
            let mut log = self.state.log();
            (
                std::mem::take(&mut log.exchanges),
                std::mem::take(&mut log.failures),
            )
        };
        if let Some(first) = failures.first() {
            return Err(Error::new(ErrorKind::Upstream)
                .with_value(config.upstream.clone())
                .with_detail(format!(
                    "failed to answer {} request(s), first {first}; nothing written to {file}",
                    failures.len()
                )));
        }
        let existing = match std::fs::read_to_string(&config.out) {
            Ok(text) => Some(text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => {
                return Err(Error::new(ErrorKind::ReadCatalog)
                    .in_file(file)
                    .with_source(err));
            }
        };
        let redactor = Redactor::new(&config.secret_headers);
        let count = exchanges.len();
        let merged = Writer {
            file: &file,
            scenario: &config.scenario,
            mode: config.mode,
            redactor: &redactor,
            secret_values: &config.secret_values,
        }
        .merge(existing.as_deref(), exchanges)?;
        write_atomically(&config.out, &merged.text).map_err(|err| {
            Error::new(ErrorKind::WriteCatalog)
                .in_file(file)
                .with_source(err)
        })?;
        Ok(RecordSummary {
            file: config.out.clone(),
            exchanges: count,
            routes_added: merged.added,
        })
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}
