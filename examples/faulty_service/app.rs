//! The service of the `faulty_service` example: an axum router whose handlers record their own
//! metrics through the `metrics` facade, behind the steadfast fault layer. The end-to-end suite
//! (`tests/e2e/faulty_service.rs`) runs this same router on a test's runtime.

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use steadfast::tower::FaultLayer;

/// Counts every answered order request, labelled by tenant.
pub const EVENTS_EMITTED: &str = "orders.events.emitted";
/// How many order requests are being handled right now.
pub const IN_FLIGHT: &str = "orders.requests.in_flight";
/// How long a handler took, in seconds on tokio's clock.
pub const HANDLER_DURATION: &str = "orders.handler.duration";

/// The router: `GET /orders/{tenant}` answers after a simulated 20 ms of work per tenant name
/// letter, recording one event per order it returns. `GET /health` answers `ok`. The fault
/// layer goes in as `for_axum`, so its responses keep axum's own body type.
pub fn app(faults: FaultLayer) -> Router {
    Router::new()
        .route("/orders/{tenant}", get(orders))
        .route("/health", get(|| async { "ok" }))
        .layer(faults.for_axum())
}

async fn orders(Path(tenant): Path<String>) -> Result<String, StatusCode> {
    if tenant.is_empty() || !tenant.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(StatusCode::BAD_REQUEST);
    }
    metrics::gauge!(IN_FLIGHT).increment(1.0);
    let started = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(20 * tenant.len() as u64)).await;
    let orders = tenant.len() as u64;
    metrics::counter!(EVENTS_EMITTED, "tenant" => tenant.clone()).increment(orders);
    metrics::histogram!(HANDLER_DURATION).record(started.elapsed());
    metrics::gauge!(IN_FLIGHT).decrement(1.0);
    Ok(format!("{orders} orders for {tenant}\n"))
}
