//! The payments client through each scenario, with the webhooks the service sends back, and a
//! latency budget on the degraded network.

use std::time::Duration;

use steadfast::determinism::TestContext;
use steadfast::determinism::budget::LatencyBudget;
use steadfast::deterministic_test;

use crate::client::{ATTEMPTS, PaymentError, TIMEOUT};
use crate::flow::{self, WEBHOOK_DELAY};

#[deterministic_test]
async fn happy_path_charges_and_refunds_every_order_and_each_is_called_back(ctx: &TestContext) {
    let run = flow::run("happy-path", ctx.seed(), 3, ctx.clock().clone()).await;

    let results: Vec<_> = run
        .operations
        .iter()
        .map(|op| (op.name, op.result.clone(), op.latency))
        .collect();
    let ok = |name, id: &str| (name, Ok(id.to_string()), Duration::ZERO);
    assert_eq!(
        results,
        [
            ok("charge", "ch_1"),
            ok("refund", "re_1"),
            ok("charge", "ch_1"),
            ok("refund", "re_1"),
            ok("charge", "ch_1"),
            ok("refund", "re_1"),
        ]
    );
    run.service.assert_called("charge", 3);
    run.service.assert_called("refund", 3);
    run.service.assert_no_unmatched();
    for entry in run
        .service
        .journal()
        .iter()
        .filter(|e| e.route.as_deref() != Some("otlp-collector"))
    {
        let callback = entry
            .callback
            .as_ref()
            .expect("every answered request is called back");
        assert_eq!(callback.status, Some(204), "{entry}");
        assert_eq!(callback.at, entry.at + WEBHOOK_DELAY, "{entry}");
    }
    run.receiver.assert_called("webhook", 6);
    let paths: Vec<String> = run
        .receiver
        .journal()
        .iter()
        .map(|e| e.path.clone())
        .collect();
    assert_eq!(
        paths,
        ["charge", "refund", "charge", "refund", "charge", "refund"]
            .map(|r| format!("/webhooks/{r}"))
    );
}

#[deterministic_test]
async fn charge_failure_waits_out_retry_after_then_is_declined(ctx: &TestContext) {
    let run = flow::run("charge-failure", ctx.seed(), 2, ctx.clock().clone()).await;

    // The catalog: 503 with `Retry-After: 1`, then 402 (repeated). The client waits the 1 s the
    // server asked for, then stops at the final refusal; the next order is refused at once.
    let declined = Err(PaymentError::Declined { status: 402 });
    let results: Vec<_> = run
        .operations
        .iter()
        .map(|op| (op.name, op.result.clone(), op.latency))
        .collect();
    assert_eq!(
        results,
        [
            ("charge", declined.clone(), Duration::from_secs(1)),
            ("charge", declined, Duration::ZERO),
        ]
    );
    let journal = run.service.journal();
    let statuses: Vec<_> = journal
        .iter()
        .take(3)
        .map(|e| (e.route.clone(), e.status, e.at))
        .collect();
    let declined_route = || Some("charge-declined".to_string());
    assert_eq!(
        statuses,
        [
            (declined_route(), Some(503), Duration::ZERO),
            (declined_route(), Some(402), Duration::from_secs(1)),
            (declined_route(), Some(402), Duration::from_secs(1)),
        ]
    );
    // Each answer, the 503 included, went out whole, so each is called back.
    run.receiver.assert_called("webhook", 3);
    for delivered in run.receiver.journal() {
        assert_eq!(delivered.path, "/webhooks/charge-declined");
        assert_eq!(delivered.body, br#"{"event":"charge-declined.processed"}"#);
    }
}

#[deterministic_test]
async fn degraded_network_keeps_checkout_latency_within_budget(ctx: &TestContext) {
    let run = flow::run("degraded-network", ctx.seed(), 20, ctx.clock().clone()).await;
    let budget = LatencyBudget::new("degraded-network checkout operations");
    for operation in &run.operations {
        budget.record(operation.latency);
    }

    // Virtual time makes these exact: the same seed always gives the same distribution.
    // The median operation needs no retry, so it ends within one attempt's timeout; none can
    // outlast the client's retry budget (every attempt timing out, each wait at most the 1 s of
    // `Retry-After` the overlay sends).
    let retry_budget = TIMEOUT * ATTEMPTS + Duration::from_secs(1) * (ATTEMPTS - 1);
    budget.assert_p50_below(TIMEOUT);
    budget.assert_p99_below(retry_budget);
    budget.assert_max_below(retry_budget);
    for operation in &run.operations {
        assert!(
            !matches!(operation.result, Err(PaymentError::Declined { .. })),
            "the degraded network only fails with 5xx and transport errors: {operation:?}"
        );
    }
    // A fault that replaces the answer keeps its webhook back; every other answer has one.
    for entry in run
        .service
        .journal()
        .iter()
        .filter(|e| e.route.as_deref() != Some("otlp-collector"))
    {
        assert_eq!(
            entry.callback.is_some(),
            entry.replacing_fault().is_none(),
            "{entry}"
        );
    }
}
