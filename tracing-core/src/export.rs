//! An OTLP/HTTP JSON exporter over `std::net`: batching, and retries with
//! exponential backoff on 429/502/503/504 honouring `Retry-After` (seconds or
//! an HTTP-date).
//!
//! Plain `http://` only; no TLS, no proxy.
//!
//! ```no_run
//! use steadfast_tracing_core::export::OtlpHttpExporter;
//! use steadfast_tracing_core::otlp::Resource;
//!
//! let exporter = OtlpHttpExporter::builder("http://127.0.0.1:4318")
//!     .resource(Resource::new("checkout"))
//!     .build()?;
//! exporter.export(&[])?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::ffi::OsString;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::error::{Error, ErrorKind};
use crate::http_date;
use crate::otlp::{Resource, encode_request_into};
use crate::sink::SpanSink;
use crate::span::Span;

/// Environment variable naming the default collector endpoint for
/// [`OtlpHttpExporter::from_env`].
pub const ENDPOINT_ENV: &str = "STEADFAST_OTLP_ENDPOINT";

/// A parsed `http://HOST:PORT/PATH` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    host: String,
    port: u16,
    path: String,
}

fn parse_endpoint(url: &str) -> Result<Endpoint, Error> {
    let bad = |what| Error::new(ErrorKind::Endpoint, what).detail(format!("{url:?}"));
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("only http:// endpoints are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or_else(|| bad("expected HOST:PORT"))?;
    if host.is_empty() || host.contains('@') {
        return Err(bad("expected a host name or address"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| bad("port is not a number from 0 to 65535"))?;
    let path = if path.is_empty() || path == "/" {
        "/v1/traces".to_string()
    } else {
        path.to_string()
    };
    Ok(Endpoint {
        host: host.to_string(),
        port,
        path,
    })
}

type Sleep = Box<dyn Fn(Duration) + Send + Sync>;
type Now = Box<dyn Fn() -> SystemTime + Send + Sync>;

/// Builds an [`OtlpHttpExporter`].
#[must_use]
pub struct OtlpHttpExporterBuilder {
    endpoint: String,
    resource: Resource,
    batch_size: usize,
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    timeout: Duration,
    sleep: Sleep,
    now: Now,
}

impl fmt::Debug for OtlpHttpExporterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpHttpExporterBuilder")
            .field("endpoint", &self.endpoint)
            .field("batch_size", &self.batch_size)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl OtlpHttpExporterBuilder {
    /// Resource the spans are reported under (default: `service.name` =
    /// `unknown_service`).
    pub fn resource(mut self, resource: Resource) -> Self {
        self.resource = resource;
        self
    }

    /// Most spans per request (default 512; 0 is treated as 1).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// Retries after the first attempt on a retryable status (default 5).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Wait before the first retry, doubled for each next one (default 100 ms).
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// Longest wait between attempts, also capping `Retry-After` (default 30 s).
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// Connect, read and write timeout per request (default 10 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// How to wait between attempts (default [`std::thread::sleep`]); tests
    /// pass a recorder to check the backoff without waiting.
    pub fn sleep_with(mut self, sleep: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        self.sleep = Box::new(sleep);
        self
    }

    /// How to read the wall clock (default [`SystemTime::now`]): a
    /// `Retry-After` date is waited for until this clock reaches it, so a
    /// test clock makes that wait exact.
    pub fn now_with(mut self, now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.now = Box::new(now);
        self
    }

    /// The exporter.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Endpoint`] when the endpoint is not
    /// `http://HOST:PORT[/PATH]` (the path defaults to `/v1/traces`).
    pub fn build(self) -> Result<OtlpHttpExporter, Error> {
        Ok(OtlpHttpExporter {
            endpoint: parse_endpoint(&self.endpoint)?,
            resource: self.resource,
            batch_size: self.batch_size,
            max_retries: self.max_retries,
            initial_backoff: self.initial_backoff,
            max_backoff: self.max_backoff,
            timeout: self.timeout,
            sleep: self.sleep,
            now: self.now,
            pending: Mutex::new(Vec::new()),
            failures: Mutex::new(Vec::new()),
        })
    }
}

/// What one [`OtlpHttpExporter::export`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ExportReport {
    /// Requests that the collector accepted.
    pub requests: usize,
    /// Spans in those requests.
    pub spans: usize,
    /// Attempts that were retried.
    pub retries: usize,
}

/// Sends spans to an OTLP/HTTP collector as JSON.
///
/// As a [`SpanSink`] it buffers ended spans and exports a batch whenever
/// `batch_size` are pending; call [`OtlpHttpExporter::flush`] at the end.
pub struct OtlpHttpExporter {
    endpoint: Endpoint,
    resource: Resource,
    batch_size: usize,
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    timeout: Duration,
    sleep: Sleep,
    now: Now,
    pending: Mutex<Vec<Span>>,
    failures: Mutex<Vec<Error>>,
}

impl fmt::Debug for OtlpHttpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpHttpExporter")
            .field("endpoint", &self.endpoint)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl OtlpHttpExporter {
    /// A builder for `endpoint` (`http://HOST:PORT[/PATH]`).
    pub fn builder(endpoint: impl Into<String>) -> OtlpHttpExporterBuilder {
        OtlpHttpExporterBuilder {
            endpoint: endpoint.into(),
            resource: Resource::new("unknown_service"),
            batch_size: 512,
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            sleep: Box::new(std::thread::sleep),
            now: Box::new(SystemTime::now),
        }
    }

    /// A builder for the endpoint in `STEADFAST_OTLP_ENDPOINT`, or `None`
    /// when the variable is unset.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Env`] naming the variable when it is set but not a valid
    /// `http://HOST:PORT[/PATH]` endpoint or not UTF-8.
    pub fn from_env() -> Result<Option<OtlpHttpExporterBuilder>, Error> {
        Self::from_env_with(|name| std::env::var_os(name))
    }

    /// Like [`from_env`](Self::from_env), with the environment read through `lookup`, which
    /// answers as [`std::env::var_os`] does.
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    ///
    /// # Example
    ///
    /// ```
    /// use std::ffi::OsString;
    /// use steadfast_tracing_core::export::OtlpHttpExporter;
    ///
    /// let env = |value: &'static str| move |_: &str| Some(OsString::from(value));
    /// assert!(OtlpHttpExporter::from_env_with(env("http://127.0.0.1:4318"))?.is_some());
    /// assert!(OtlpHttpExporter::from_env_with(|_| None)?.is_none());
    /// let err = OtlpHttpExporter::from_env_with(env("localhost:4318")).unwrap_err();
    /// assert!(err.to_string().starts_with(
    ///     "environment variable STEADFAST_OTLP_ENDPOINT has invalid value \"localhost:4318\": \
    ///      expected an http://HOST:PORT[/PATH] endpoint"
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_env_with(
        lookup: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Option<OtlpHttpExporterBuilder>, Error> {
        const EXPECTED: &str = "an http://HOST:PORT[/PATH] endpoint";
        let Some(raw) = lookup(ENDPOINT_ENV) else {
            return Ok(None);
        };
        let Some(value) = raw.to_str() else {
            return Err(Error::invalid_env(
                ENDPOINT_ENV,
                &raw.to_string_lossy(),
                EXPECTED,
            ));
        };
        parse_endpoint(value)
            .map_err(|e| Error::invalid_env(ENDPOINT_ENV, value, &format!("{EXPECTED} ({e})")))?;
        Ok(Some(OtlpHttpExporter::builder(value)))
    }

    /// Exports `spans` now, in batches of `batch_size`, stopping at the first
    /// batch that fails.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the collector cannot be reached,
    /// [`ErrorKind::HttpStatus`] for a non-2xx answer (after the retries, for
    /// 429/502/503/504), [`ErrorKind::HttpResponse`] for a garbled answer.
    pub fn export(&self, spans: &[Span]) -> Result<ExportReport, Error> {
        let mut report = ExportReport::default();
        let mut body = String::new();
        for batch in spans.chunks(self.batch_size) {
            body.clear();
            encode_request_into(&self.resource, batch, &mut body);
            report.retries += self.send_with_retry(body.as_bytes())?;
            report.requests += 1;
            report.spans += batch.len();
        }
        Ok(report)
    }

    /// Exports every buffered span.
    ///
    /// # Errors
    ///
    /// As [`OtlpHttpExporter::export`], or the first error of an automatic
    /// batch export since the last flush.
    pub fn flush(&self) -> Result<ExportReport, Error> {
        let spans =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        let earlier =
            std::mem::take(&mut *self.failures.lock().unwrap_or_else(PoisonError::into_inner));
        let report = self.export(&spans)?;
        match earlier.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    fn send_with_retry(&self, body: &[u8]) -> Result<usize, Error> {
        let mut backoff = self.initial_backoff;
        let mut retries = 0;
        loop {
            let (status, retry_after) = self.send_once(body)?;
            if (200..300).contains(&status) {
                return Ok(retries);
            }
            let retryable = matches!(status, 429 | 502 | 503 | 504);
            if !retryable || retries >= self.max_retries as usize {
                return Err(Error::new(ErrorKind::HttpStatus, "non-success status")
                    .found(usize::from(status))
                    .detail(format!(
                        "POST http://{}:{}{} after {} attempt(s)",
                        self.endpoint.host,
                        self.endpoint.port,
                        self.endpoint.path,
                        retries + 1
                    )));
            }
            let wait = retry_after.unwrap_or(backoff).min(self.max_backoff);
            (self.sleep)(wait);
            backoff = backoff.saturating_mul(2).min(self.max_backoff);
            retries += 1;
        }
    }

    /// The wait a `Retry-After` value asks for: delay-seconds, or the time
    /// until an HTTP-date (zero once the date has passed). `None` for
    /// anything else, which falls back to the exponential backoff.
    fn retry_delay(&self, value: &str) -> Option<Duration> {
        if !value.is_empty() && value.bytes().all(|c| c.is_ascii_digit()) {
            // Too many digits for a u64 is still a long wait: the cap applies.
            return Some(value.parse().map_or(Duration::MAX, Duration::from_secs));
        }
        let now = (self.now)();
        let date = http_date::parse(value, now)?;
        Some(date.duration_since(now).unwrap_or(Duration::ZERO))
    }

    /// One POST; returns the status and the `Retry-After` delay, if any.
    fn send_once(&self, body: &[u8]) -> Result<(u16, Option<Duration>), Error> {
        let ep = &self.endpoint;
        let io = |what: &'static str, e: std::io::Error| {
            Error::new(ErrorKind::Io, what)
                .detail(format!("{}:{}", ep.host, ep.port))
                .source(e)
        };
        let addrs = (ep.host.as_str(), ep.port)
            .to_socket_addrs()
            .map_err(|e| io("cannot resolve the collector address", e))?;
        let mut last = None;
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let mut stream = match (stream, last) {
            (Some(s), _) => s,
            (None, Some(e)) => return Err(io("cannot connect to the collector", e)),
            (None, None) => {
                return Err(Error::new(
                    ErrorKind::Io,
                    "the collector address resolved to nothing",
                ));
            }
        };
        stream
            .set_read_timeout(Some(self.timeout))
            .and_then(|()| stream.set_write_timeout(Some(self.timeout)))
            .map_err(|e| io("cannot set socket timeouts", e))?;
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            ep.path,
            ep.host,
            ep.port,
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body))
            .and_then(|()| stream.flush())
            .map_err(|e| io("cannot send the request", e))?;
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .map_err(|e| io("cannot read the response", e))?;
        let status = parse_status_line(&line)?;
        let mut retry_after = None;
        let mut content_length = None;
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| io("cannot read the response headers", e))?;
            let header = line.trim_end_matches(['\r', '\n']);
            if n == 0 || header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("retry-after") {
                    retry_after = self.retry_delay(value);
                } else if name.eq_ignore_ascii_case("content-length") {
                    content_length = value.parse::<u64>().ok();
                }
            }
        }
        // Drain a small declared body so the server sees a clean close.
        if let Some(len) = content_length {
            let _ = std::io::copy(&mut reader.take(len.min(1 << 20)), &mut std::io::sink());
        }
        Ok((status, retry_after))
    }
}

fn parse_status_line(line: &str) -> Result<u16, Error> {
    let mut parts = line.split_whitespace();
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") || code.len() != 3 {
        return Err(
            Error::new(ErrorKind::HttpResponse, "expected an HTTP/1.x status line")
                .detail(format!("{:?}", line.trim_end())),
        );
    }
    code.parse().map_err(|_| {
        Error::new(ErrorKind::HttpResponse, "status code is not a number")
            .detail(format!("{:?}", line.trim_end()))
    })
}

impl SpanSink for OtlpHttpExporter {
    fn on_end(&self, span: Span) {
        let batch = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            pending.push(span);
            if pending.len() < self.batch_size {
                return;
            }
            std::mem::take(&mut *pending)
        };
        if let Err(e) = self.export(&batch) {
            self.failures
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_without_path_posts_to_v1_traces() {
        let ep = parse_endpoint("http://127.0.0.1:4318").unwrap();
        assert_eq!(
            (ep.host.as_str(), ep.port, ep.path.as_str()),
            ("127.0.0.1", 4318, "/v1/traces")
        );
        assert!(parse_endpoint("https://127.0.0.1:4318").is_err());
        assert!(parse_endpoint("http://127.0.0.1").is_err());
        assert!(parse_endpoint("http://127.0.0.1:99999").is_err());
    }

    #[test]
    fn malformed_env_value_is_an_error_naming_the_variable() {
        use std::os::unix::ffi::OsStringExt;
        let garbled = |_: &str| Some(OsString::from_vec(vec![b'h', 0xff]));
        let err = OtlpHttpExporter::from_env_with(garbled).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Env);
        assert_eq!(err.variable(), Some(ENDPOINT_ENV));
        assert_eq!(
            err.to_string(),
            "environment variable STEADFAST_OTLP_ENDPOINT has invalid value \"h\u{fffd}\": \
             expected an http://HOST:PORT[/PATH] endpoint"
        );
    }

    #[test]
    fn garbled_status_line_is_a_response_error() {
        assert_eq!(parse_status_line("HTTP/1.1 503 Busy\r\n").unwrap(), 503);
        assert_eq!(
            parse_status_line("SSH-2.0\r\n").unwrap_err().kind(),
            ErrorKind::HttpResponse
        );
    }
}
