//! A failing deterministic test prints its seed, and rerunning with that seed replays it.
//!
//! The probe test below fails on purpose, but only in a child process started by these tests
//! (the variable `DETERMINISM_REPLAY_CHILD` marks it); elsewhere it passes without checking.

use std::process::Command;

use steadfast_determinism::{Clock, TestContext, deterministic_test};

const CHILD: &str = "DETERMINISM_REPLAY_CHILD";
const PROBE: &str = "replay::probe_prints_draws_then_fails";

#[deterministic_test]
async fn probe_prints_draws_then_fails(ctx: &TestContext) {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let draws: Vec<String> = (0..4)
        .map(|_| format!("{:x}", ctx.rng().next_u64()))
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(ctx.rng().below(5000))).await;
    let now = steadfast_determinism::timestamp::format(ctx.clock().now());
    eprintln!("PROBE draws={} now={now}", draws.join(","));
    panic!("probe failed on purpose");
}

struct ChildRun {
    stderr: String,
    success: bool,
}

fn run_probe(seed: Option<&str>) -> ChildRun {
    run_probe_under(seed, None)
}

/// Runs the probe in a child; `nextest` says whether the child believes nextest started it
/// (nextest sets `NEXTEST=1`, and the replay command follows the runner).
fn run_probe_under(seed: Option<&str>, nextest: Option<&str>) -> ChildRun {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([PROBE, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env_remove("STEADFAST_SEED")
        .env_remove("NEXTEST");
    if let Some(value) = nextest {
        command.env("NEXTEST", value);
    }
    if let Some(seed) = seed {
        command.env("STEADFAST_SEED", seed);
    }
    let output = command.output().unwrap();
    ChildRun {
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        success: output.status.success(),
    }
}

fn line_with<'a>(stderr: &'a str, needle: &str) -> &'a str {
    stderr
        .lines()
        .find(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{stderr}"))
}

#[test]
fn failure_prints_the_seed_and_replaying_it_reproduces_the_run() {
    let first = run_probe(Some("0x5eed"));
    assert!(!first.success, "the probe must fail:\n{}", first.stderr);
    let report = line_with(&first.stderr, "steadfast: test");
    assert!(report.contains(PROBE), "{report}");
    assert!(report.contains("probe failed on purpose"), "{report}");
    let seed = report
        .split_whitespace()
        .find_map(|word| word.strip_prefix("STEADFAST_SEED="))
        .unwrap_or_else(|| panic!("no STEADFAST_SEED= in {report}"));
    assert_eq!(seed, "0x0000000000005eed");
    assert!(
        report.contains(&format!("--test integration -- {PROBE} --exact")),
        "{report}"
    );

    let replay = run_probe(Some(seed));
    assert_eq!(
        line_with(&replay.stderr, "PROBE draws="),
        line_with(&first.stderr, "PROBE draws="),
        "the same seed must replay the same draws and virtual times"
    );

    let other = run_probe(Some("0x5eee"));
    assert_ne!(
        line_with(&other.stderr, "PROBE draws="),
        line_with(&first.stderr, "PROBE draws="),
        "another seed must give other draws"
    );
}

#[test]
fn a_malformed_seed_variable_fails_naming_the_variable() {
    let run = run_probe(Some("0xnot-a-seed"));
    assert!(!run.success);
    assert!(
        run.stderr
            .contains("environment variable STEADFAST_SEED has invalid value \"0xnot-a-seed\""),
        "{}",
        run.stderr
    );
}

#[test]
fn under_nextest_the_replay_command_is_a_nextest_command() {
    let run = run_probe_under(Some("7"), Some("1"));
    let report = line_with(&run.stderr, "steadfast: test");
    assert!(
        report.contains(&format!(
            "replay: STEADFAST_SEED=0x0000000000000007 cargo nextest run -p steadfast-determinism --test integration -E 'test(={PROBE})'"
        )),
        "{report}"
    );
}
