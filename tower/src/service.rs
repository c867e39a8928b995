//! The service a [`FaultLayer`](crate::FaultLayer) wraps around the user's, and its future.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response, StatusCode, header};
use pin_project_lite::pin_project;
use steadfast_determinism::{Clock, TestContext};
use tower_service::Service;

use crate::decide::{Decision, Shared};
use crate::fault::Kind;
use crate::journal::JournalEntry;
use crate::mode::{BodyMode, Wrap};

/// The service a [`FaultLayer`](crate::FaultLayer) wraps around the user's. Its responses
/// carry the body type of its [`BodyMode`] `M`.
#[derive(Debug, Clone)]
pub struct FaultService<S, M = Wrap> {
    inner: S,
    shared: Option<Arc<Shared>>,
    mode: PhantomData<fn() -> M>,
}

impl<S, M> FaultService<S, M> {
    pub(crate) fn new(inner: S, shared: Option<Arc<Shared>>) -> Self {
        Self {
            inner,
            shared,
            mode: PhantomData,
        }
    }
}

impl<S, M, ReqBody, ResBody> Service<Request<ReqBody>> for FaultService<S, M>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    M: BodyMode<ResBody>,
{
    type Response = Response<M::Body>;
    type Error = S::Error;
    type Future = FaultFuture<S::Future, M>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let Some(shared) = &self.shared else {
            return FaultFuture::new(State::Pass {
                future: self.inner.call(req),
            });
        };
        let (fault, trigger) = match shared.decide(&req) {
            Decision::Pass => {
                return FaultFuture::new(State::Pass {
                    future: self.inner.call(req),
                });
            }
            Decision::Reject(text) => {
                return FaultFuture::answer(Answer::Text(StatusCode::BAD_REQUEST, text));
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
            Kind::Status(status) => FaultFuture::answer(Answer::Text(
                status,
                format!("steadfast: injected fault {fault}\n"),
            )),
            Kind::Delay(by) => FaultFuture::new(State::Delayed {
                // Boxed so the future of every other request stays small (tokio's `Sleep` is
                // most of the future otherwise), and only delayed requests allocate for it.
                sleep: Box::pin(tokio::time::sleep(by)),
                future: self.inner.call(req),
            }),
            Kind::Drop => FaultFuture::new(State::Never),
            Kind::Abort => FaultFuture::answer(Answer::Abort),
        }
    }
}

/// A response of the layer's own, built when its future is polled.
#[derive(Debug)]
enum Answer {
    /// `text/plain` with this status and text.
    Text(StatusCode, String),
    /// A body that fails at once, so the server closes the connection.
    Abort,
}

impl Answer {
    fn into_response<B, M: BodyMode<B>>(self) -> Response<M::Body> {
        match self {
            Answer::Text(status, text) => {
                let mut response = Response::new(M::text(text));
                *response.status_mut() = status;
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                response
            }
            Answer::Abort => Response::new(M::abort()),
        }
    }
}

pin_project! {
    /// The response future of a [`FaultService`].
    #[derive(Debug)]
    pub struct FaultFuture<F, M = Wrap> {
        #[pin]
        state: State<F>,
        mode: PhantomData<fn() -> M>,
    }
}

pin_project! {
    #[project = StateProj]
    #[derive(Debug)]
    enum State<F> {
        // The service's own future, unchanged.
        Pass { #[pin] future: F },
        // The service's future, polled once the delay has passed.
        Delayed { sleep: Pin<Box<tokio::time::Sleep>>, #[pin] future: F },
        // A response of the layer's own; `None` once it was returned.
        Answer { answer: Option<Answer> },
        // Never resolves: the `drop` fault.
        Never,
    }
}

impl<F, M> FaultFuture<F, M> {
    fn new(state: State<F>) -> Self {
        Self {
            state,
            mode: PhantomData,
        }
    }

    fn answer(answer: Answer) -> Self {
        Self::new(State::Answer {
            answer: Some(answer),
        })
    }
}

impl<F, M, B, E> Future for FaultFuture<F, M>
where
    F: Future<Output = Result<Response<B>, E>>,
    M: BodyMode<B>,
{
    type Output = Result<Response<M::Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Pass { future } => {
                future.poll(cx).map_ok(|response| response.map(M::service))
            }
            StateProj::Delayed { sleep, future } => {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                future.poll(cx).map_ok(|response| response.map(M::service))
            }
            StateProj::Answer { answer } => match answer.take() {
                Some(answer) => Poll::Ready(Ok(answer.into_response::<B, M>())),
                // Polled again after it resolved: futures may do anything then; stay pending.
                None => Poll::Pending,
            },
            StateProj::Never => Poll::Pending,
        }
    }
}
