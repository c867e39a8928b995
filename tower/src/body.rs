//! The response body of the layer: the service's own, a short text of the layer's, or one
//! that fails at once so the server closes the connection.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

/// The error type of [`FaultBody`]: the inner body's error, boxed, or [`Aborted`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project! {
    /// The body of a response that passed through the fault layer: the service's own body
    /// unchanged, a short text of the layer's (a 503, a 400 naming the known faults), or, for
    /// `abort`, a body that fails on its first poll so the server drops the connection.
    #[derive(Debug)]
    pub struct FaultBody<B> {
        #[pin]
        inner: Inner<B>,
    }
}

pin_project! {
    #[project = InnerProj]
    #[derive(Debug)]
    enum Inner<B> {
        Service { #[pin] body: B },
        Text { text: Option<Bytes> },
        Abort,
    }
}

impl<B> FaultBody<B> {
    pub(crate) fn service(body: B) -> Self {
        Self {
            inner: Inner::Service { body },
        }
    }

    pub(crate) fn text(text: String) -> Self {
        Self {
            inner: Inner::Text {
                text: Some(Bytes::from(text)),
            },
        }
    }

    pub(crate) fn abort() -> Self {
        Self {
            inner: Inner::Abort,
        }
    }
}

/// The body error that makes the server abort the connection of an `abort` fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aborted;

impl fmt::Display for Aborted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection aborted by the injected fault `abort`")
    }
}

impl std::error::Error for Aborted {}

impl<B> Body for FaultBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project().inner.project() {
            InnerProj::Service { body } => body.poll_frame(cx).map_err(Into::into),
            InnerProj::Text { text } => Poll::Ready(text.take().map(|t| Ok(Frame::data(t)))),
            InnerProj::Abort => Poll::Ready(Some(Err(Box::new(Aborted)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Service { body } => body.is_end_stream(),
            Inner::Text { text } => text.is_none(),
            Inner::Abort => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Service { body } => body.size_hint(),
            Inner::Text { text } => {
                SizeHint::with_exact(text.as_ref().map_or(0, |t| t.len() as u64))
            }
            Inner::Abort => SizeHint::default(),
        }
    }
}
