//! The payments client of `examples/payments.rs` under each scenario of its catalog.

use std::time::Duration;

use steadfast_determinism::{TestContext, deterministic_test};
use steadfast_mocknet::{Catalog, FaultKind, MockNet};
use tokio::time::Instant;

use crate::client::{self, PaymentError, PaymentsClient};

const CATALOG: &str = include_str!("../../examples/payments/catalog.json");

fn catalog() -> Catalog {
    Catalog::from_json("examples/payments/catalog.json", CATALOG)
        .unwrap_or_else(|err| panic!("{err}"))
}

async fn start(ctx: &TestContext, scenario: &str) -> (MockNet, PaymentsClient) {
    let net = MockNet::builder()
        .scenario(catalog().scenario(scenario).expect("scenario"))
        .start()
        .await
        .expect("starts");
    let mut ids = ctx.fork_rng("payments-client");
    let client = PaymentsClient::new(net.uri(), move || ids.next_u64()).expect("client builds");
    (net, client)
}

#[test]
fn catalog_defines_exactly_the_three_scenarios() {
    assert_eq!(
        catalog().scenario_names().collect::<Vec<_>>(),
        ["charge-failure", "degraded-network", "happy-path"]
    );
}

#[deterministic_test]
async fn happy_path_charges_and_refunds_at_once_in_one_trace(ctx: &TestContext) {
    let (net, mut client) = start(ctx, "happy-path").await;

    let started = Instant::now();
    let charge = client.charge(1250).await;
    let refund = client.refund("ch_1").await;

    assert_eq!(charge, Ok("ch_1".to_string()));
    assert_eq!(refund, Ok("re_1".to_string()));
    assert_eq!(started.elapsed(), Duration::ZERO);
    net.assert_called("charge", 1);
    net.assert_called("refund", 1);
    net.assert_no_unmatched();
    net.assert_trace_propagated();
}

#[deterministic_test]
async fn charge_failure_retries_after_retry_after_then_is_declined(ctx: &TestContext) {
    let (net, mut client) = start(ctx, "charge-failure").await;

    let started = Instant::now();
    let charge = client.charge(1250).await;

    assert_eq!(charge, Err(PaymentError::Declined { status: 402 }));
    // The 503 said `Retry-After: 1`; the client waited exactly that long.
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    let journal = net.journal();
    assert_eq!(
        journal
            .iter()
            .map(|entry| (entry.at, entry.status))
            .collect::<Vec<_>>(),
        [
            (Duration::ZERO, Some(503)),
            (Duration::from_secs(1), Some(402))
        ]
    );
    net.assert_called("charge-declined", 2);
    net.assert_trace_propagated();
}

/// What the client saw for each of `n` charges (and the refund of each success).
async fn run_degraded(
    ctx: &TestContext,
    n: usize,
) -> (Vec<String>, Vec<steadfast_mocknet::JournalEntry>) {
    let (net, mut client) = start(ctx, "degraded-network").await;
    let mut outcomes = Vec::new();
    for i in 0..n {
        let outcome = match client.charge(100 + i as u64).await {
            Ok(id) => format!("charged {id}, refund {:?}", client.refund(&id).await),
            Err(err) => format!("charge failed: {err}"),
        };
        outcomes.push(outcome);
    }
    net.assert_no_unmatched();
    net.assert_trace_propagated();
    (outcomes, net.journal())
}

#[deterministic_test]
async fn degraded_network_gives_the_same_run_for_the_same_seed(ctx: &TestContext) {
    let (first, first_journal) = run_degraded(ctx, 20).await;
    let (second, second_journal) = run_degraded(ctx, 20).await;

    assert_eq!(first, second);
    let faults = |journal: &[steadfast_mocknet::JournalEntry]| {
        journal
            .iter()
            .map(|entry| entry.faults.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(faults(&first_journal), faults(&second_journal));
    // Every request of the degraded network is delayed by its jitter.
    assert!(
        first_journal
            .iter()
            .all(|entry| entry.faults.contains(&FaultKind::Jitter))
    );
}

/// Runs under whichever scenario `STEADFAST_SCENARIO` names (`happy-path` when unset), so the
/// suite runs as a matrix: `STEADFAST_SCENARIO=degraded-network cargo test …`.
#[deterministic_test]
async fn client_keeps_its_contract_under_the_selected_scenario(ctx: &TestContext) {
    let scenario = catalog()
        .selected("happy-path")
        .unwrap_or_else(|err| panic!("{err}"));
    let net = MockNet::builder()
        .scenario(scenario)
        .start()
        .await
        .expect("starts");
    let mut ids = ctx.fork_rng("payments-client");
    let mut client = PaymentsClient::new(net.uri(), move || ids.next_u64()).expect("client builds");

    let mut operations = 0;
    for amount in [100, 250, 999] {
        operations += 1;
        if let Ok(id) = client.charge(amount).await {
            operations += 1;
            let _ = client.refund(&id).await;
        }
    }

    // Every operation made between one and ATTEMPTS requests, all in one trace.
    let requests = net.journal().len();
    assert!(
        (operations..=operations * client::ATTEMPTS as usize).contains(&requests),
        "{requests}"
    );
    net.assert_no_unmatched();
    net.assert_trace_propagated();
}
