//! The layer around a plain hyper service (no axum), served by hyper's HTTP/1 connection.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use steadfast_determinism::{TestContext, deterministic_test};
use steadfast_tower::FaultLayer;
use tower::Layer as _;

use crate::{Answer, get};

async fn serve(layer: FaultLayer) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = layer.layer(tower::service_fn(|_req: Request<Incoming>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hyper"))))
    }));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                // An aborted connection ends in an error here; that is the point.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

#[deterministic_test]
async fn hyper_serves_the_service_and_the_faults(_ctx: &TestContext) {
    let layer = FaultLayer::builder().build().unwrap();
    let addr = serve(layer.clone()).await;
    match get(addr, "/", &[]).await {
        Answer::Response(200, body) => assert_eq!(body, "hyper"),
        other => panic!("{other:?}"),
    }
    match get(addr, "/?steadfast_fault=fail", &[]).await {
        Answer::Response(503, _) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        get(addr, "/", &[("x-steadfast-fault", "abort")]).await,
        Answer::Closed
    ));
    assert_eq!(layer.journal().len(), 2);
}
