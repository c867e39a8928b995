//! Which body type a [`FaultService`](crate::FaultService)'s responses carry.
//!
//! The layer answers some requests itself (a 503, a 400 naming the known faults, a body that
//! aborts the connection), so its responses need a body type that holds either the service's
//! own body or one of those. [`Wrap`], the default, wraps the service's body in a
//! [`FaultBody`], which works for every tower HTTP service (hyper, tonic, axum).
//!
//! [`Axum`] (the `axum` feature, [`FaultLayer::for_axum`](crate::FaultLayer::for_axum)) answers
//! with `axum::body::Body` instead, and hands a service's `Body` back as it came. That is the
//! one axum's `Router::layer` and `Router::route_layer` need: any other body type is boxed into
//! a new `Body` on every response (one allocation, and one more indirection on every poll of
//! the body). For a trivial handler that is 6 % more instructions per request than with
//! `Axum` (the workspace's `tower` bench).
//!
//! The trait is sealed: these two are the modes there are.
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::{BodyExt as _, Full};
//! use steadfast_tower::{FaultBody, FaultLayer};
//! use tower::{Layer as _, ServiceExt as _};
//!
//! let handler = tower::service_fn(|_req: Request<Full<Bytes>>| async {
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("ok"))))
//! });
//! tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//!     // Wrap: the handler's `Full` body, inside a `FaultBody`.
//!     let wrapped: Response<FaultBody<Full<Bytes>>> = FaultLayer::disabled()
//!         .layer(handler.clone())
//!         .oneshot(Request::new(Full::default()))
//!         .await?;
//!     assert_eq!(wrapped.into_body().collect().await?.to_bytes(), "ok");
//!
//!     // Axum: an `axum::body::Body`, for the layer's own answers too.
//!     #[cfg(feature = "axum")]
//!     {
//!         let request = Request::get("/?steadfast_fault=fail").body(Full::default())?;
//!         let answered: Response<axum::body::Body> = FaultLayer::builder()
//!             .build()?
//!             .for_axum()
//!             .layer(handler)
//!             .oneshot(request)
//!             .await?;
//!         assert_eq!(answered.status(), StatusCode::SERVICE_UNAVAILABLE);
//!         let text = answered.into_body().collect().await?.to_bytes();
//!         assert_eq!(text, "steadfast: injected fault fail\n");
//!     }
//!     Ok::<(), steadfast_tower::BoxError>(())
//! })
//! .map_err(|err| err as Box<dyn std::error::Error>)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::body::FaultBody;

mod sealed {
    pub trait Sealed {}
}

/// How a [`FaultService`](crate::FaultService) whose inner service answers with body `B` builds
/// its responses' bodies. Implemented by [`Wrap`] and [`Axum`] only.
pub trait BodyMode<B>: sealed::Sealed {
    /// The body of the layer's responses.
    type Body;

    /// The body of a response the inner service gave.
    fn service(body: B) -> Self::Body;

    /// The body of an answer of the layer's own: `text`, complete.
    fn text(text: String) -> Self::Body;

    /// A body that fails on its first poll with [`Aborted`](crate::Aborted), on which the server
    /// closes the connection without a response.
    fn abort() -> Self::Body;
}

/// The default [`BodyMode`]: responses carry a [`FaultBody`] around the service's own body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wrap;

impl sealed::Sealed for Wrap {}

impl<B> BodyMode<B> for Wrap {
    type Body = FaultBody<B>;

    fn service(body: B) -> FaultBody<B> {
        FaultBody::service(body)
    }

    fn text(text: String) -> FaultBody<B> {
        FaultBody::text(text)
    }

    fn abort() -> FaultBody<B> {
        FaultBody::abort()
    }
}

#[cfg(feature = "axum")]
pub use axum_mode::Axum;

#[cfg(feature = "axum")]
mod axum_mode {
    use axum_core::body::Body;
    use bytes::Bytes;

    use super::{BodyMode, sealed};
    use crate::body::{BoxError, FaultBody};

    /// The [`BodyMode`] for axum: responses carry `axum::body::Body`. A service's `Body` is
    /// handed back as it came (`Body::new` of a `Body` is that body), so a disabled layer, or
    /// a request without a fault, adds no allocation and no indirection to the response.
    /// Another body type is boxed into a `Body` once, as axum itself would.
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Axum;

    impl sealed::Sealed for Axum {}

    impl<B> BodyMode<B> for Axum
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        type Body = Body;

        fn service(body: B) -> Body {
            Body::new(body)
        }

        fn text(text: String) -> Body {
            Body::from(text)
        }

        fn abort() -> Body {
            Body::new(FaultBody::<Body>::abort())
        }
    }
}
