//! The harness behind the attribute, driven directly to observe runs and seeds.

use std::sync::Mutex;

use steadfast_determinism::__macro_support::{TestSpec, run_sync};
use steadfast_determinism::{Seed, TestContext};

fn spec(runs: u32, seed: Option<u64>) -> TestSpec {
    TestSpec {
        path: "integration::harness::probe",
        seed,
        runs,
        start: None,
        check_determinism: false,
        package: "steadfast-determinism",
        crate_name: "integration",
        ignored: false,
        time_zone: None,
        clock: None,
        grace_ms: None,
    }
}

static SEEN: Mutex<Vec<(Seed, u64)>> = Mutex::new(Vec::new());

fn seen() -> std::sync::MutexGuard<'static, Vec<(Seed, u64)>> {
    SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn record(ctx: &TestContext) {
    let draw = ctx.rng().next_u64();
    seen().push((ctx.seed(), draw));
}

fn fail_on_third_run(ctx: &TestContext) {
    let runs_so_far = {
        let mut seen = seen();
        seen.push((ctx.seed(), 0));
        seen.len()
    };
    assert!(runs_so_far < 3, "third run fails");
}

// One test owns SEEN at a time.
static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn runs_use_distinct_derived_seeds_in_a_stable_order() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    seen().clear();
    run_sync(&spec(4, Some(7)), None, record);
    let first = std::mem::take(&mut *seen());
    let expected: Vec<Seed> = (0..4)
        .map(|i| Seed::new(7).derive(&format!("run {i}")))
        .collect();
    assert_eq!(first.iter().map(|(s, _)| *s).collect::<Vec<_>>(), expected);

    run_sync(&spec(4, Some(7)), None, record);
    assert_eq!(*seen(), first, "the same seeds replay the same draws");
}

#[test]
fn a_failing_run_stops_the_gate_at_that_run() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    seen().clear();
    let outcome =
        std::panic::catch_unwind(|| run_sync(&spec(10, Some(1)), None, fail_on_third_run));
    assert!(outcome.is_err());
    assert_eq!(seen().len(), 3, "runs after the failing one are skipped");
}

#[test]
fn an_explicit_attempt_seed_runs_once_with_that_seed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    seen().clear();
    run_sync(&spec(5, None), Some(Seed::new(99)), record);
    let seen = seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, Seed::new(99));
}

#[test]
fn replay_command_targets_only_this_test() {
    let command = spec(1, None).replay_command(Seed::new(0x2a));
    assert!(
        command.starts_with("STEADFAST_SEED=0x000000000000002a cargo "),
        "{command}"
    );
    assert!(
        command.contains("-p steadfast-determinism --test integration"),
        "{command}"
    );
    assert!(command.contains("harness::probe"), "{command}");
}

#[test]
fn the_replay_command_of_an_ignored_test_asks_for_ignored_tests() {
    let ignored = TestSpec {
        ignored: true,
        ..spec(1, None)
    };
    let command = ignored.replay_command(Seed::new(0x2a));
    if std::env::var_os("NEXTEST").is_some() {
        assert!(command.contains(" --run-ignored all -E "), "{command}");
    } else {
        assert!(command.ends_with(" --exact --include-ignored"), "{command}");
    }
    assert!(
        !spec(1, None)
            .replay_command(Seed::new(0x2a))
            .contains("ignored")
    );
}
