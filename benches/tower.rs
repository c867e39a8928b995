//! The fault layer's overhead on a trivial axum handler: the same router bare, behind a
//! layer that does nothing (`tower`'s `Identity`: what axum's `Router::layer` costs by itself),
//! behind a disabled `FaultLayer`, behind an enabled one that finds no switch in the request,
//! and a disabled `FaultLayer` wrapped around the whole router instead of through
//! `Router::layer`.
//!
//! Target: a disabled layer adds under 5 % to the bare handler's time.
//!
//! Each request is polled by hand with a no-op waker (the handler is ready at once), so the
//! numbers are the services' own cost, without a runtime's.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use steadfast::tower::FaultLayer;
use tower::layer::util::Identity;
use tower::{Layer as _, ServiceExt as _};

fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

fn request() -> Request<Body> {
    Request::get("/orders")
        .body(Body::empty())
        .expect("a valid request")
}

fn layer(c: &mut Criterion) {
    let bare: Router = Router::new().route("/orders", get(|| async { "ok" }));
    let disabled = bare.clone().layer(FaultLayer::disabled());
    let enabled = bare.clone().layer(
        FaultLayer::builder()
            .build()
            .expect("no share, no seed to read"),
    );
    let identity = bare.clone().layer(Identity::new());
    let around = FaultLayer::disabled().layer(bare.clone());
    let mut group = c.benchmark_group("fault_layer");
    group.bench_function("bare_handler", |b| {
        b.iter(|| black_box(ready(bare.clone().oneshot(request()))))
    });
    group.bench_function("identity_layer", |b| {
        b.iter(|| black_box(ready(identity.clone().oneshot(request()))))
    });
    group.bench_function("disabled_around_router", |b| {
        b.iter(|| black_box(ready(around.clone().oneshot(request()))))
    });
    group.bench_function("disabled_layer", |b| {
        b.iter(|| black_box(ready(disabled.clone().oneshot(request()))))
    });
    group.bench_function("enabled_layer_no_switch", |b| {
        b.iter(|| black_box(ready(enabled.clone().oneshot(request()))))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).sample_size(100);
    targets = layer
}
criterion_main!(benches);
