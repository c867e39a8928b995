//! The replicated key-value store of `examples/replicated_kv` on a steadfast `Network`: the
//! acceptance criteria of a replication milestone, as budgets on virtual time.

use std::time::Duration;

use steadfast::determinism::TestContext;
use steadfast::determinism::budget::LatencyBudget;
use steadfast::deterministic_test;
use steadfast::mocknet::Catalog;

use crate::kv_run::{self, CATALOG, Summary};

async fn run(scenario: &str, writes: usize) -> (Vec<String>, Summary) {
    let catalog = Catalog::from_json("examples/replicated_kv/network.json", CATALOG)
        .unwrap_or_else(|err| panic!("{err}"));
    let scenario = catalog
        .network(scenario)
        .unwrap_or_else(|err| panic!("{err}"));
    let (journal, summary) = kv_run::run(scenario, writes, None)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let lines = journal
        .iter()
        .map(|event| event.to_json().to_string())
        .collect();
    (lines, summary)
}

#[deterministic_test]
async fn replication_p99_stays_under_two_seconds_over_1000_degraded_writes(_ctx: &TestContext) {
    let (_, summary) = run("degraded-replication", 1000).await;

    assert_eq!(summary.replication.samples().len(), 1000);
    summary.replication.assert_p99_below(Duration::from_secs(2));
    assert!(summary.converged);
    assert_eq!(summary.lost_acknowledged_writes, 0);
}

#[deterministic_test]
async fn failover_completes_within_ten_seconds_after_the_leader_crashes(_ctx: &TestContext) {
    let (journal, summary) = run("leader-crash", 200).await;

    let failover = LatencyBudget::new("failover");
    failover.record(
        summary
            .failover
            .expect("a write was acknowledged after the crash"),
    );
    failover.assert_max_below(Duration::from_secs(10));
    assert!(
        journal
            .iter()
            .any(|line| line.contains(r#""event":"crash""#))
    );
    assert!(summary.converged, "the restarted leader caught up");
    assert_eq!(summary.lost_acknowledged_writes, 0);
}

#[deterministic_test]
async fn after_the_partition_heals_every_node_converges_and_no_acknowledged_write_is_lost(
    _ctx: &TestContext,
) {
    let (_, summary) = run("partition-heal", 200).await;

    let reconcile = LatencyBudget::new("reconcile");
    reconcile.record(
        summary
            .reconcile
            .expect("the nodes reconciled after the heal"),
    );
    reconcile.assert_max_below(Duration::from_secs(10));
    assert!(summary.converged);
    assert_eq!(summary.lost_acknowledged_writes, 0);
}

#[deterministic_test(runs = 5, check_determinism = true)]
async fn a_crash_and_a_partition_pass_on_every_seed_and_repeat_exactly(_ctx: &TestContext) {
    let (crash_journal, crash) = run("leader-crash", 50).await;
    let (heal_journal, heal) = run("partition-heal", 50).await;
    let (again, _) = run("leader-crash", 50).await;

    for summary in [&crash, &heal] {
        assert!(summary.converged, "{}", summary.to_json_line());
        assert_eq!(
            summary.lost_acknowledged_writes,
            0,
            "{}",
            summary.to_json_line()
        );
    }
    assert!(
        crash
            .failover
            .is_some_and(|failover| failover < Duration::from_secs(10))
    );
    assert!(heal.reconcile.is_some());
    assert!(
        heal_journal
            .iter()
            .any(|line| line.contains(r#""event":"heal""#))
    );
    assert_eq!(crash_journal, again, "the same seed gave another journal");
}
