//! The layer in an axum service (`for_axum`, the `axum` feature), over real loopback
//! connections on the test's runtime.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get as route;
use steadfast_determinism::{TestContext, deterministic_test};
use steadfast_tower::{Fault, FaultLayer, JournalEntry, Trigger};

use crate::{Answer, get};

async fn serve(layer: FaultLayer) -> SocketAddr {
    serve_router(
        Router::new()
            .route("/orders", route(|| async { "orders" }))
            .layer(layer.for_axum()),
    )
    .await
}

async fn serve_router(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[deterministic_test]
async fn requests_without_a_fault_reach_the_handler(_ctx: &TestContext) {
    let layer = FaultLayer::builder().build().unwrap();
    let addr = serve(layer.clone()).await;
    match get(addr, "/orders", &[]).await {
        Answer::Response(200, body) => assert_eq!(body, "orders"),
        other => panic!("{other:?}"),
    }
    assert!(layer.journal().is_empty());
}

#[deterministic_test]
async fn fail_in_the_header_answers_503_without_calling_the_handler(_ctx: &TestContext) {
    let layer = FaultLayer::builder().build().unwrap();
    let addr = serve(layer.clone()).await;
    match get(addr, "/orders", &[("x-steadfast-fault", "fail")]).await {
        Answer::Response(503, body) => assert_eq!(body, "steadfast: injected fault fail\n"),
        other => panic!("{other:?}"),
    }
    let journal = layer.journal().entries();
    assert_eq!(journal.len(), 1);
    let JournalEntry {
        method,
        path,
        fault,
        trigger,
        at,
        ..
    } = &journal[0];
    assert_eq!(
        (method.as_str(), path.as_str(), *fault, *trigger),
        ("GET", "/orders", Fault::fail(), Trigger::Header)
    );
    assert!(at.is_some(), "the server runs on the test's runtime");
}

#[deterministic_test]
async fn status_in_the_query_answers_that_status(_ctx: &TestContext) {
    let addr = serve(FaultLayer::builder().build().unwrap()).await;
    match get(addr, "/orders?page=2&steadfast_fault=status%3A429", &[]).await {
        Answer::Response(429, _) => {}
        other => panic!("{other:?}"),
    }
}

#[deterministic_test]
async fn delay_answers_late_on_virtual_time(_ctx: &TestContext) {
    let addr = serve(FaultLayer::builder().build().unwrap()).await;
    let started = tokio::time::Instant::now();
    match get(addr, "/orders", &[("x-steadfast-fault", "delay:2500")]).await {
        Answer::Response(200, body) => assert_eq!(body, "orders"),
        other => panic!("{other:?}"),
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(2500) && elapsed < Duration::from_millis(2600),
        "{elapsed:?}"
    );
}

#[deterministic_test]
async fn abort_closes_the_connection_without_a_response(_ctx: &TestContext) {
    let layer = FaultLayer::builder().build().unwrap();
    let addr = serve(layer.clone()).await;
    assert!(
        matches!(
            get(addr, "/orders?steadfast_fault=abort", &[]).await,
            Answer::Closed
        ),
        "abort must close the connection before any byte"
    );
    assert_eq!(layer.journal().entries()[0].fault, Fault::abort());
}

#[deterministic_test]
async fn drop_never_answers_and_keeps_the_connection_open(_ctx: &TestContext) {
    let addr = serve(FaultLayer::builder().build().unwrap()).await;
    assert!(matches!(
        get(addr, "/orders", &[("x-steadfast-fault", "drop")]).await,
        Answer::Silent
    ));
}

#[deterministic_test]
async fn an_unknown_fault_is_a_400_naming_the_known_ones(_ctx: &TestContext) {
    let layer = FaultLayer::builder().build().unwrap();
    let addr = serve(layer.clone()).await;
    match get(addr, "/orders", &[("x-steadfast-fault", "explode")]).await {
        Answer::Response(400, body) => assert_eq!(
            body,
            "steadfast: unknown fault \"explode\": expected one of fail, status:CODE, \
             delay:MS, drop, abort (from the x-steadfast-fault header)\n"
        ),
        other => panic!("{other:?}"),
    }
    match get(addr, "/orders?steadfast_fault=delay:soon", &[]).await {
        Answer::Response(400, body) => {
            assert!(
                body.ends_with(
                    "(from the steadfast_fault query parameter); known faults: fail, \
                     status:CODE, delay:MS, drop, abort\n"
                ),
                "{body}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(
        layer.journal().is_empty(),
        "a rejected name injects nothing"
    );
}

#[deterministic_test]
async fn a_disabled_layer_ignores_the_switches(_ctx: &TestContext) {
    let layer = FaultLayer::disabled();
    let addr = serve(layer.clone()).await;
    for fault in ["fail", "abort", "explode"] {
        match get(addr, "/orders", &[("x-steadfast-fault", fault)]).await {
            Answer::Response(200, body) => assert_eq!(body, "orders"),
            other => panic!("{fault}: {other:?}"),
        }
    }
    assert!(!layer.is_enabled());
    assert!(layer.journal().is_empty());
}

#[deterministic_test]
async fn route_layer_injects_into_the_routes_it_wraps_only(_ctx: &TestContext) {
    let layer = FaultLayer::builder().build().unwrap();
    let addr = serve_router(
        Router::new()
            .route("/orders", route(|| async { "orders" }))
            .route_layer(layer.clone().for_axum())
            .route("/health", route(|| async { "ok" })),
    )
    .await;
    match get(addr, "/orders?steadfast_fault=fail", &[]).await {
        Answer::Response(503, _) => {}
        other => panic!("{other:?}"),
    }
    match get(addr, "/health?steadfast_fault=fail", &[]).await {
        Answer::Response(200, body) => assert_eq!(body, "ok"),
        other => panic!("{other:?}"),
    }
    assert_eq!(layer.journal().len(), 1);
}

#[deterministic_test]
async fn the_default_body_mode_works_in_a_router_too(_ctx: &TestContext) {
    // Without `for_axum` axum boxes the layer's FaultBody into its own Body: slower, same answers.
    let layer = FaultLayer::builder().build().unwrap();
    let addr = serve_router(
        Router::new()
            .route("/orders", route(|| async { "orders" }))
            .layer(layer.clone()),
    )
    .await;
    match get(addr, "/orders", &[]).await {
        Answer::Response(200, body) => assert_eq!(body, "orders"),
        other => panic!("{other:?}"),
    }
    match get(addr, "/orders", &[("x-steadfast-fault", "explode")]).await {
        Answer::Response(400, body) => assert!(body.contains("known"), "{body}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        get(addr, "/orders?steadfast_fault=abort", &[]).await,
        Answer::Closed
    ));
    assert_eq!(layer.journal().len(), 1);
}

#[deterministic_test]
async fn a_layer_around_the_whole_router_serves_with_axum_serve(_ctx: &TestContext) {
    use tower::Layer as _;

    let layer = FaultLayer::builder().build().unwrap();
    let router: Router = Router::new().route("/orders", route(|| async { "orders" }));
    let service = layer.clone().for_axum().layer(router.with_state(()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service(service),
        )
        .await
        .unwrap()
    });
    match get(addr, "/orders", &[("x-steadfast-fault", "delay:100")]).await {
        Answer::Response(200, body) => assert_eq!(body, "orders"),
        other => panic!("{other:?}"),
    }
    match get(addr, "/nowhere?steadfast_fault=status:418", &[]).await {
        Answer::Response(418, _) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(layer.journal().len(), 2, "every route, also unrouted paths");
}
