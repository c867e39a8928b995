//! Faults for a share of requests, drawn from the seed.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use steadfast_determinism::{Seed, TestContext, deterministic_test};
use steadfast_tower::{Fault, FaultLayer, Trigger};
use tower::{Layer as _, ServiceExt as _};

/// The statuses of 200 requests through a layer failing `share` of them under `seed`.
async fn statuses(seed: Seed, share: f64) -> Vec<StatusCode> {
    let layer = FaultLayer::builder()
        .seed(seed)
        .share(share, Fault::fail())
        .build()
        .unwrap();
    let service = layer.layer(tower::service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
    }));
    let mut out = Vec::new();
    for _ in 0..200 {
        let request = Request::get("/").body(Full::default()).unwrap();
        out.push(service.clone().oneshot(request).await.unwrap().status());
    }
    let journal = layer.journal().entries();
    assert!(journal.iter().all(|e| e.trigger == Trigger::Share));
    assert_eq!(
        journal.len(),
        out.iter()
            .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
            .count()
    );
    out
}

#[deterministic_test]
async fn the_same_seed_fails_the_same_requests(_ctx: &TestContext) {
    let first = statuses(Seed::new(1), 0.2).await;
    assert_eq!(first, statuses(Seed::new(1), 0.2).await);
    assert_ne!(first, statuses(Seed::new(2), 0.2).await);
    let failed = first
        .iter()
        .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert!(
        (20..=60).contains(&failed),
        "{failed} of 200 failed at a 20 % share"
    );
}

#[deterministic_test]
async fn shares_of_zero_and_one_fail_none_and_all(_ctx: &TestContext) {
    assert!(
        statuses(Seed::new(3), 0.0)
            .await
            .iter()
            .all(|s| *s == StatusCode::OK)
    );
    assert!(
        statuses(Seed::new(3), 1.0)
            .await
            .iter()
            .all(|s| *s == StatusCode::SERVICE_UNAVAILABLE)
    );
}

#[deterministic_test(seed = 0x51)]
async fn without_a_seed_the_layer_draws_from_the_current_test(ctx: &TestContext) {
    let from_test = FaultLayer::builder()
        .share(0.5, Fault::fail())
        .build()
        .unwrap();
    let service = from_test.layer(tower::service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
    }));
    let mut implicit = Vec::new();
    for _ in 0..200 {
        let request = Request::get("/").body(Full::default()).unwrap();
        implicit.push(service.clone().oneshot(request).await.unwrap().status());
    }
    assert_eq!(implicit, statuses(ctx.seed(), 0.5).await);
}
