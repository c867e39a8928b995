//! The fault layer's overhead on a trivial axum handler, every way of adding it, in one run:
//!
//! * `bare`: the router alone;
//! * `identity_layer`: `Router::layer(Identity)`, what axum's `Router::layer` costs by itself
//!   (it boxes the layered route once more, whatever the layer);
//! * `disabled_layer`, `disabled_route_layer`: a disabled `FaultLayer::for_axum` through
//!   `Router::layer` and `Router::route_layer`;
//! * `enabled_layer_no_switch`: an enabled `for_axum` layer through `Router::layer`, for a
//!   request that asks for no fault;
//! * `disabled_layer_wrap_body`: a disabled layer of the default body mode (`FaultBody`)
//!   through `Router::layer`, which axum boxes into its own `Body` on every response;
//! * `disabled_around_router`: a disabled `for_axum` layer wrapped around the whole router.
//!
//! Target: a disabled layer adds under 5 % to the bare handler's time; through
//! `Router::layer` that is compared with `identity_layer`, axum's own cost of any layer.
//!
//! A request is what a server does with it: the service's future, polled by hand with a no-op
//! waker (the handler is ready at once, so no runtime's cost is counted), then the response
//! body drained frame by frame, then dropped, all in one never-inlined function that
//! `valgrind --tool=callgrind` counts the instructions of, one variant per run;
//! `benches/tower.sh` runs this bench and those counts and prints the ratios.

use std::future::Future;
use std::hint::black_box;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::http::{Request, Response};
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use steadfast::tower::FaultLayer;
use tower::layer::util::Identity;
use tower::{Layer as _, Service, ServiceExt as _};

/// Polls `future` with a no-op waker until it is ready.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// Serves one request: calls `service`, then drains the response body as a server would.
/// Returns the number of body bytes. Never inlined: the function callgrind counts.
#[inline(never)]
fn serve_one_request<S, B>(service: &S) -> usize
where
    S: Service<Request<Body>, Response = Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    B: HttpBody<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let request = Request::get("/orders")
        .body(Body::empty())
        .expect("a valid request");
    let response = ready(service.clone().oneshot(request)).expect("the handler answers");
    let mut body = pin!(response.into_body());
    let mut cx = Context::from_waker(Waker::noop());
    let mut bytes = 0;
    loop {
        match Pin::as_mut(&mut body).poll_frame(&mut cx) {
            Poll::Ready(Some(frame)) => {
                bytes += frame
                    .expect("the body reads")
                    .into_data()
                    .map_or(0, |data| data.len());
            }
            Poll::Ready(None) => return bytes,
            Poll::Pending => {}
        }
    }
}

/// The router as `axum::serve` runs it: `with_state(())` turns the handlers into routes once
/// per connection; a router that skipped it would convert its handler on every request.
fn as_served(router: Router) -> Router {
    router.with_state(())
}

fn layer(c: &mut Criterion) {
    let router: Router = Router::new().route("/orders", get(|| async { "ok" }));
    let disabled = || FaultLayer::disabled().for_axum();
    let variants = [
        ("bare", as_served(router.clone())),
        (
            "identity_layer",
            as_served(router.clone().layer(Identity::new())),
        ),
        (
            "disabled_layer",
            as_served(router.clone().layer(disabled())),
        ),
        (
            "disabled_route_layer",
            as_served(router.clone().route_layer(disabled())),
        ),
        (
            "enabled_layer_no_switch",
            as_served(
                router.clone().layer(
                    FaultLayer::builder()
                        .build()
                        .expect("no share, no seed to read")
                        .for_axum(),
                ),
            ),
        ),
        (
            "disabled_layer_wrap_body",
            as_served(router.clone().layer(FaultLayer::disabled())),
        ),
    ];
    let around = disabled().layer(as_served(router.clone()));
    let mut group = c.benchmark_group("fault_layer");
    for (name, service) in &variants {
        group.bench_function(*name, |b| b.iter(|| black_box(serve_one_request(service))));
    }
    group.bench_function("disabled_around_router", |b| {
        b.iter(|| black_box(serve_one_request(&around)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).sample_size(100);
    targets = layer
}
criterion_main!(benches);
