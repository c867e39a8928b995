//! The layer, its builder and the service it wraps around the user's.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body::Body;
use pin_project_lite::pin_project;
use steadfast_determinism::{Clock, DetRng, Seed, TestContext};
use tower_layer::Layer;
use tower_service::Service;

use crate::body::{BoxError, FaultBody};
use crate::error::{Error, ErrorKind};
use crate::fault::{Fault, KNOWN_FAULTS, Kind};
use crate::journal::{Journal, JournalEntry, Trigger};

/// The request header that switches a fault on: `x-steadfast-fault: delay:250`.
pub const FAULT_HEADER: &str = "x-steadfast-fault";

/// The query parameter that switches a fault on: `?steadfast_fault=fail`.
pub const FAULT_QUERY: &str = "steadfast_fault";

/// The label of the [`DetRng`] stream the share of faulty requests is drawn from.
pub const RNG_STREAM: &str = "steadfast-tower";

/// A tower [`Layer`] that injects faults into the service it wraps.
///
/// Built with [`FaultLayer::builder`] it is enabled: each request may switch a fault on with
/// the [`FAULT_HEADER`] header or the [`FAULT_QUERY`] query parameter, and a
/// [`share`](FaultLayerBuilder::share) of requests drawn from the seed get a fault without
/// asking. [`FaultLayer::disabled`] (or `.enabled(false)`) is a no-op: it reads no header,
/// draws nothing and hands the service's own future back, so the layer can stay in the
/// production stack behind a flag.
#[derive(Debug, Clone)]
pub struct FaultLayer {
    shared: Option<Arc<Shared>>,
}

#[derive(Debug)]
struct Shared {
    share: Option<(f64, Fault)>,
    rng: Mutex<DetRng>,
    journal: Journal,
}

impl FaultLayer {
    /// A builder for an enabled layer.
    pub fn builder() -> FaultLayerBuilder {
        FaultLayerBuilder {
            enabled: true,
            share: None,
            seed: None,
        }
    }

    /// A layer that does nothing.
    pub fn disabled() -> Self {
        Self { shared: None }
    }

    /// True unless the layer is a no-op.
    pub fn is_enabled(&self) -> bool {
        self.shared.is_some()
    }

    /// The faults injected so far by every service this layer made; empty when disabled.
    pub fn journal(&self) -> Journal {
        self.shared
            .as_ref()
            .map(|shared| shared.journal.clone())
            .unwrap_or_default()
    }
}

/// Builds a [`FaultLayer`]; see [`FaultLayer::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct FaultLayerBuilder {
    enabled: bool,
    share: Option<(f64, Fault)>,
    seed: Option<Seed>,
}

impl FaultLayerBuilder {
    /// Whether the layer does anything (default `true`). Wire it to a flag to keep one service
    /// stack for tests and production: `.enabled(cfg!(debug_assertions))`, or a setting of
    /// your own.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Injects `fault` into a `share` (0 to 1) of the requests that ask for none. Each request
    /// draws one number from the seed's [`RNG_STREAM`] stream, in the order requests reach the
    /// layer, also those that ask for a fault, so the same seed and the same request order
    /// pick the same requests.
    pub fn share(mut self, share: f64, fault: Fault) -> Self {
        self.share = Some((share, fault));
        self
    }

    /// The seed of the share draws (default: the seed of the test current when
    /// [`build`](Self::build) runs, else the run seed from `STEADFAST_SEED`, else 0).
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The layer.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidShare`] for a share that is not a number from 0 to 1;
    /// [`ErrorKind::InvalidEnv`] when the seed comes from a malformed `STEADFAST_SEED`.
    pub fn build(self) -> Result<FaultLayer, Error> {
        if !self.enabled {
            return Ok(FaultLayer::disabled());
        }
        if let Some((share, _)) = self.share
            && !(0.0..=1.0).contains(&share)
        {
            return Err(Error::new(
                ErrorKind::InvalidShare,
                &share.to_string(),
                "a number from 0 to 1",
            ));
        }
        let share = self.share;
        let seed = match self.seed {
            Some(seed) => seed,
            None => match TestContext::try_current() {
                Some(ctx) => ctx.seed(),
                None => Seed::run_seed().map_err(|err| {
                    Error::invalid_env(
                        "STEADFAST_SEED",
                        err.input().unwrap_or(""),
                        "a decimal u64 or 0x followed by up to 16 hex digits",
                    )
                })?,
            },
        };
        Ok(FaultLayer {
            shared: Some(Arc::new(Shared {
                share,
                rng: Mutex::new(DetRng::from_seed(seed).fork(RNG_STREAM)),
                journal: Journal::default(),
            })),
        })
    }
}

impl<S> Layer<S> for FaultLayer {
    type Service = FaultService<S>;

    fn layer(&self, inner: S) -> FaultService<S> {
        FaultService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service a [`FaultLayer`] wraps around the user's.
#[derive(Debug, Clone)]
pub struct FaultService<S> {
    inner: S,
    shared: Option<Arc<Shared>>,
}

/// What a request asked for.
enum Decision {
    Pass,
    Inject(Fault, Trigger),
    Reject(String),
}

impl Shared {
    fn decide<B>(&self, req: &Request<B>) -> Decision {
        // Drawn for every request, so an explicit switch does not shift the sequence.
        let drawn = self.share.and_then(|(share, fault)| {
            let draw = self
                .rng
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .unit_f64();
            (draw < share).then_some(fault)
        });
        let (asked, trigger, place) = if let Some(value) = req.headers().get(FAULT_HEADER) {
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (Some(text), Trigger::Header, "the x-steadfast-fault header")
        } else if let Some(text) = query_value(req.uri().query().unwrap_or(""), FAULT_QUERY) {
            (
                Some(text),
                Trigger::Query,
                "the steadfast_fault query parameter",
            )
        } else {
            (None, Trigger::Share, "")
        };
        match (asked, drawn) {
            (Some(text), _) => match text.parse::<Fault>() {
                Ok(fault) => Decision::Inject(fault, trigger),
                Err(err) if err.kind() == ErrorKind::UnknownFault => {
                    Decision::Reject(format!("steadfast: {err} (from {place})\n"))
                }
                Err(err) => Decision::Reject(format!(
                    "steadfast: {err} (from {place}); known faults: {KNOWN_FAULTS}\n"
                )),
            },
            (None, Some(fault)) => Decision::Inject(fault, Trigger::Share),
            (None, None) => Decision::Pass,
        }
    }
}

/// The percent-decoded value of `name` in a query string (`+` is a space).
fn query_value(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| percent_decode(value))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|hex| bytes[i] == b'%' && hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn text_response<B>(status: StatusCode, text: String) -> Response<FaultBody<B>> {
    let mut response = Response::new(FaultBody::text(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for FaultService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<FaultBody<ResBody>>;
    type Error = S::Error;
    type Future = FaultFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let Some(shared) = &self.shared else {
            return FaultFuture::pass(self.inner.call(req));
        };
        let (fault, trigger) = match shared.decide(&req) {
            Decision::Pass => return FaultFuture::pass(self.inner.call(req)),
            Decision::Reject(text) => {
                return FaultFuture::ready(text_response(StatusCode::BAD_REQUEST, text));
            }
            Decision::Inject(fault, trigger) => (fault, trigger),
        };
        shared.journal.push(JournalEntry {
            method: req.method().to_string(),
            path: req.uri().path().to_owned(),
            fault,
            trigger,
            at: TestContext::try_current().map(|ctx| ctx.clock().monotonic()),
        });
        match fault.0 {
            Kind::Status(status) => FaultFuture::ready(text_response(
                status,
                format!("steadfast: injected fault {fault}\n"),
            )),
            Kind::Delay(by) => FaultFuture {
                state: State::Delayed {
                    sleep: tokio::time::sleep(by),
                    future: self.inner.call(req),
                },
            },
            Kind::Drop => FaultFuture {
                state: State::Never,
            },
            Kind::Abort => FaultFuture::ready(Response::new(FaultBody::abort())),
        }
    }
}

pin_project! {
    /// The response future of a [`FaultService`].
    #[derive(Debug)]
    pub struct FaultFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    #[derive(Debug)]
    enum State<F, B> {
        // The service's own future, unchanged.
        Pass { #[pin] future: F },
        // The service's future, polled once the delay has passed.
        Delayed { #[pin] sleep: tokio::time::Sleep, #[pin] future: F },
        // A response of the layer's own.
        Ready { response: Option<Response<FaultBody<B>>> },
        // Never resolves: the `drop` fault.
        Never,
    }
}

impl<F, B> FaultFuture<F, B> {
    fn pass(future: F) -> Self {
        Self {
            state: State::Pass { future },
        }
    }

    fn ready(response: Response<FaultBody<B>>) -> Self {
        Self {
            state: State::Ready {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for FaultFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<FaultBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Pass { future } => future
                .poll(cx)
                .map_ok(|response| response.map(FaultBody::service)),
            StateProj::Delayed { sleep, future } => {
                if sleep.poll(cx).is_pending() {
                    return Poll::Pending;
                }
                future
                    .poll(cx)
                    .map_ok(|response| response.map(FaultBody::service))
            }
            StateProj::Ready { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polled again after it resolved: futures may do anything then; stay pending.
                None => Poll::Pending,
            },
            StateProj::Never => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(
            query_value("a=1&steadfast_fault=delay%3A250", FAULT_QUERY).as_deref(),
            Some("delay:250")
        );
        assert_eq!(
            query_value("steadfast_fault=fail", FAULT_QUERY).as_deref(),
            Some("fail")
        );
        assert_eq!(query_value("steadfast_faults=fail", FAULT_QUERY), None);
        assert_eq!(
            query_value("steadfast_fault", FAULT_QUERY).as_deref(),
            Some("")
        );
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz+x"), "%zz x");
    }

    #[test]
    fn a_share_outside_zero_to_one_is_refused() {
        let err = FaultLayer::builder()
            .seed(Seed::new(1))
            .share(1.5, Fault::fail())
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidShare);
        assert_eq!(
            err.to_string(),
            "invalid share of requests 1.5: expected a number from 0 to 1"
        );
    }
}
