//! A small payments client: charges and refunds over HTTP with timeouts, retries that honour
//! `Retry-After`, and a W3C `traceparent` on every attempt.
//!
//! Shared by `examples/payments.rs` and the tests of steadfast-mocknet.

use std::fmt;
use std::time::Duration;

use steadfast_tracing_core::{IdGenerator, SpanId, TraceFlags, TraceId, TraceParent};

/// Per-attempt timeout.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts per operation.
pub const ATTEMPTS: u32 = 3;
/// Backoff before the second attempt when the server gives no `Retry-After`; doubles after.
pub const BACKOFF: Duration = Duration::from_millis(250);

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentError {
    /// The processor answered with a final refusal (4xx).
    Declined { status: u16 },
    /// Every attempt failed with a 5xx, a transport error or a timeout; the last one is given.
    Unavailable { attempts: u32, last: String },
}

impl fmt::Display for PaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PaymentError::Declined { status } => write!(f, "declined with status {status}"),
            PaymentError::Unavailable { attempts, last } => {
                write!(f, "unavailable after {attempts} attempts: {last}")
            }
        }
    }
}

/// A payments client bound to one base URL; all its requests belong to one trace.
pub struct PaymentsClient {
    http: reqwest::Client,
    base: String,
    trace_id: TraceId,
    ids: IdGenerator<Box<dyn FnMut() -> u64 + Send>>,
}

impl PaymentsClient {
    /// A client for `base` whose trace and span ids come from `next_u64`.
    ///
    /// # Errors
    ///
    /// When reqwest cannot build its client.
    pub fn new(
        base: impl Into<String>,
        next_u64: impl FnMut() -> u64 + Send + 'static,
    ) -> Result<Self, reqwest::Error> {
        let mut ids: IdGenerator<Box<dyn FnMut() -> u64 + Send>> =
            IdGenerator::new(Box::new(next_u64));
        let http = reqwest::Client::builder().timeout(TIMEOUT).build()?;
        Ok(Self {
            http,
            base: base.into(),
            trace_id: ids.trace_id(),
            ids,
        })
    }

    /// Charges `amount_cents`; returns the charge id.
    pub async fn charge(&mut self, amount_cents: u64) -> Result<String, PaymentError> {
        let body = format!(r#"{{"amount":{amount_cents},"currency":"eur"}}"#);
        self.post("/v1/charges".into(), body).await
    }

    /// Refunds a charge in full; returns the refund id.
    pub async fn refund(&mut self, charge_id: &str) -> Result<String, PaymentError> {
        self.post(format!("/v1/charges/{charge_id}/refunds"), "{}".into())
            .await
    }

    async fn post(&mut self, path: String, body: String) -> Result<String, PaymentError> {
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            let span = self.span_id();
            let traceparent = TraceParent::new(self.trace_id, span, TraceFlags::SAMPLED)
                .map(|parent| parent.to_string())
                .unwrap_or_default();
            let sent = self
                .http
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .header("traceparent", traceparent)
                .body(body.clone())
                .send()
                .await;
            let mut wait = BACKOFF * 2u32.pow(attempt - 1);
            match sent {
                Ok(response) if response.status().is_success() => match response.bytes().await {
                    Ok(bytes) => return Ok(id_of(&bytes)),
                    Err(err) => last = describe(&err),
                },
                Ok(response) if response.status().is_client_error() => {
                    return Err(PaymentError::Declined {
                        status: response.status().as_u16(),
                    });
                }
                Ok(response) => {
                    last = format!("status {}", response.status().as_u16());
                    if let Some(seconds) = response
                        .headers()
                        .get("retry-after")
                        .and_then(|value| value.to_str().ok())
                        .and_then(|value| value.parse::<u64>().ok())
                    {
                        wait = Duration::from_secs(seconds);
                    }
                }
                Err(err) => last = describe(&err),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(wait).await;
            }
        }
        Err(PaymentError::Unavailable {
            attempts: ATTEMPTS,
            last,
        })
    }

    fn span_id(&mut self) -> SpanId {
        self.ids.span_id()
    }
}

/// The `"id"` of a JSON object, or the whole body when it has none.
fn id_of(bytes: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|value| value.get("id")?.as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned())
}

/// A reqwest error as the kind of the I/O error under it, if any, else as reqwest says it.
pub fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return "timed out".into();
    }
    match io_kind(err) {
        Some(kind) => format!("io: {kind:?}"),
        None => err.to_string(),
    }
}

/// The kind of the first I/O error in the source chain of `err`.
pub fn io_kind(err: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut source = Some(err);
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = current.source();
    }
    None
}
