//! # steadfast-tower
//!
//! Fault injection inside the service under test: a tower [`Layer`](tower_layer::Layer),
//! [`FaultLayer`], that makes the real server fail, answer late, never answer or drop the
//! connection — per request, when the request asks for it, or for a seeded share of requests.
//! Mocking failures from outside the service misses what the service itself does with them;
//! this layer sits in the service's own stack (axum, tonic, hyper services).
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::{BodyExt as _, Full};
//! use bytes::Bytes;
//! use steadfast_determinism::Seed;
//! use steadfast_tower::{Fault, FaultLayer, Trigger};
//! use tower::{Layer as _, ServiceExt as _};
//!
//! let handler = tower::service_fn(|_req: Request<Full<Bytes>>| async {
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("ok"))))
//! });
//! let layer = FaultLayer::builder().seed(Seed::new(7)).build()?;
//! let service = layer.layer(handler);
//!
//! tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build()?.block_on(async {
//!     let asked = Request::get("/orders?steadfast_fault=fail").body(Full::default())?;
//!     let response = service.clone().oneshot(asked).await?;
//!     assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
//!
//!     let unknown = Request::get("/orders").header("x-steadfast-fault", "explode").body(Full::default())?;
//!     let response = service.clone().oneshot(unknown).await?;
//!     assert_eq!(response.status(), StatusCode::BAD_REQUEST);
//!     let text = response.into_body().collect().await?.to_bytes();
//!     assert!(String::from_utf8_lossy(&text).contains("expected one of fail, status:CODE, delay:MS, drop, abort"));
//!
//!     let plain = Request::get("/orders").body(Full::default())?;
//!     assert_eq!(service.clone().oneshot(plain).await?.status(), StatusCode::OK);
//!     Ok::<(), steadfast_tower::BoxError>(())
//! })
//! .map_err(|err| err as Box<dyn std::error::Error>)?;
//!
//! let journal = layer.journal().entries();
//! assert_eq!(journal.len(), 1);
//! assert_eq!((journal[0].fault, journal[0].trigger), (Fault::fail(), Trigger::Query));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Switching a fault on
//!
//! * Per request: the header [`FAULT_HEADER`] (`x-steadfast-fault: delay:250`) or the query
//!   parameter [`FAULT_QUERY`] (`?steadfast_fault=abort`); the header wins when both are
//!   there. The values are the [`Fault`] names `fail` (503), `status:CODE`, `delay:MS`, `drop`
//!   (never answer) and `abort` (close the connection without a response). An unknown or
//!   malformed name is answered with a 400 whose text names the known faults; it is never
//!   ignored.
//! * For a share of requests: [`FaultLayerBuilder::share`], drawn from the test's seed (the
//!   [`RNG_STREAM`] stream), so the same seed picks the same requests.
//!
//! Every injected fault is written to the layer's [`Journal`] with the request's method,
//! path, trigger and the test clock's time.
//!
//! ## In production builds
//!
//! [`FaultLayer::disabled`], or `FaultLayer::builder().enabled(false)`, is a no-op: the
//! service reads no header, draws nothing and returns the inner service's own future (one
//! branch per request). Keep one stack and wire `enabled` to a test-only setting, so no client
//! can switch faults on in production.
//!
//! ## In an axum `Router`
//!
//! With the `axum` feature, add the layer as `.layer(faults.for_axum())`
//! ([`FaultLayer::for_axum`]): its responses keep axum's own `Body`. The default
//! [`mode::Wrap`] answers with a [`FaultBody`] around the service's body, which works for any
//! tower HTTP service (hyper, tonic), but axum's `Router::layer` and `Router::route_layer` box
//! every response body that is not a `Body` into a new one, enabled or not. What each way
//! costs a trivial axum handler is in the README (the workspace's `tower` bench).
//!
//! ## How the faults reach the client
//!
//! `delay` sleeps on tokio's clock before the service is polled (virtual time in a paused
//! test, so a 30 s delay takes no real time) and needs a tokio runtime with time enabled.
//! `abort` answers with a body that fails on its first poll ([`Aborted`]), on which hyper
//! (and so axum) closes the connection without writing the response. `drop` returns a future
//! that never resolves.
//!
//! ## Crate features
//!
//! * `axum` (off by default): [`FaultLayer::for_axum`] and [`mode::Axum`], which answer with
//!   `axum::body::Body` (a dependency on `axum-core`).
//!
//! ## Supported Rust versions
//!
//! The workspace's `rust-version` (1.95) and newer.

// Every public item is documented (also denied workspace-wide).
#![deny(missing_docs)]
// Public types must be printable in test failure output.
#![warn(missing_debug_implementations)]
// docs.rs builds with `--cfg docsrs` (nightly) and marks the `axum` feature's items.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod decide;
mod error;
mod fault;
mod journal;
mod layer;
pub mod mode;
mod service;

pub use body::{Aborted, BoxError, FaultBody};
pub use decide::{FAULT_HEADER, FAULT_QUERY};
pub use error::{Error, ErrorKind};
pub use fault::{Fault, KNOWN_FAULTS};
pub use journal::{Journal, JournalEntry, Trigger};
pub use layer::{FaultLayer, FaultLayerBuilder, RNG_STREAM};
pub use service::{FaultFuture, FaultService};
