//! `#[deterministic_test(retries = N)]`: the attribute's expansion runs through
//! `steadfast_flaky::__macro_support::retry_test`.
//!
//! The attributed tests are ignored and run in a child process of this binary, so each gets a
//! fresh attempt counter and its own `STEADFAST_FLAKY_DIR` without touching this process's
//! environment.

use std::sync::atomic::{AtomicU32, Ordering};

use steadfast_determinism::{Seed, TestContext, deterministic_test};
use steadfast_flaky::attempts::{AttemptOutcome, read_attempts};

use crate::support::{fresh_dir, panic_location, run_ignored_test};

static FIRST_FAILS: AtomicU32 = AtomicU32::new(0);

#[deterministic_test(retries = 2)]
#[ignore = "run in a child process by the tests below"]
fn fails_on_first_attempt_only(ctx: &TestContext) {
    let attempt = FIRST_FAILS.fetch_add(1, Ordering::SeqCst);
    assert!(attempt > 0, "first attempt fails with seed {}", ctx.seed());
}

#[deterministic_test(retries = 1)]
#[ignore = "run in a child process by the tests below"]
fn always_fails_with_one_retry() {
    panic!("never passes");
}

static ERR_FIRST: AtomicU32 = AtomicU32::new(0);

#[deterministic_test(retries = 3)]
#[ignore = "run in a child process by the tests below"]
fn returns_err_on_first_attempt() -> Result<(), String> {
    match ERR_FIRST.fetch_add(1, Ordering::SeqCst) {
        0 => Err("not yet".to_owned()),
        _ => Ok(()),
    }
}

const RUN_SEED: &str = "0x000000000000002a";

fn expected_seed(name: &str) -> String {
    Seed::new(0x2a)
        .derive(&format!("integration::retry_macro::{name}"))
        .to_string()
}

#[test]
fn the_attribute_records_a_pass_on_retry_with_seed_and_replay() {
    let dir = fresh_dir("macro-flaky");
    let output = run_ignored_test(
        "retry_macro::fails_on_first_attempt_only",
        &[
            ("STEADFAST_FLAKY_DIR", dir.to_str().unwrap()),
            ("STEADFAST_SEED", RUN_SEED),
        ],
    );

    assert!(output.status.success(), "{output:?}");
    let records = read_attempts(&dir.join("attempts.jsonl")).unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    let seed = expected_seed("fails_on_first_attempt_only");
    assert_eq!(
        records[0].test,
        "steadfast-flaky::integration retry_macro::fails_on_first_attempt_only"
    );
    assert_eq!(records[0].outcome, AttemptOutcome::Failed);
    assert_eq!(
        records[0].message.as_deref(),
        Some(format!("first attempt fails with seed {seed}").as_str())
    );
    assert_eq!(records[1].outcome, AttemptOutcome::Passed);
    for record in &records {
        assert_eq!(record.seed.as_deref(), Some(seed.as_str()));
        assert_eq!(record.run_seed.as_deref(), Some(RUN_SEED));
        assert!(record.same_seed_as_first);
        assert_eq!(record.max_attempts, 3);
        assert_eq!(
            record.replay.as_deref(),
            Some(
                // The test is #[ignore]d, so its replay must ask for ignored tests to run it.
                "STEADFAST_SEED=0x000000000000002a cargo test -p steadfast-flaky --test integration \
                 -- retry_macro::fails_on_first_attempt_only --exact --include-ignored"
            )
        );
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("passed only on attempt 2 of 3, so it is flaky"),
        "{stderr}"
    );
}

#[test]
fn fail_on_flaky_from_the_environment_fails_the_attributed_test() {
    let dir = fresh_dir("macro-fail-on-flaky");
    let output = run_ignored_test(
        "retry_macro::fails_on_first_attempt_only",
        &[
            ("STEADFAST_FLAKY_DIR", dir.to_str().unwrap()),
            ("STEADFAST_SEED", RUN_SEED),
            ("STEADFAST_FAIL_ON_FLAKY", "1"),
        ],
    );

    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let both = format!("{stdout}{stderr}");
    assert!(
        both.contains("so it fails because STEADFAST_FAIL_ON_FLAKY is on"),
        "{both}"
    );
    assert!(both.contains("attempt 1: failed"), "{both}");
    assert!(both.contains("attempt 2: passed"), "{both}");
    // How to reproduce: the replay command and the recorded attempts.
    assert!(
        both.contains(
            "replay: STEADFAST_SEED=0x000000000000002a cargo test -p steadfast-flaky --test \
             integration -- retry_macro::fails_on_first_attempt_only --exact --include-ignored"
        ),
        "{both}"
    );
    let log = dir.join("attempts.jsonl");
    assert!(
        both.contains(&format!("attempts: {}", log.display())),
        "{both}"
    );
    // The fail-on-flaky panic points at the test, not into steadfast-flaky.
    let location = panic_location(&both, "steadfast: test ").unwrap_or_default();
    assert!(
        location.starts_with("flaky/tests/retry_macro.rs:"),
        "{location}: {both}"
    );
    assert_eq!(read_attempts(&log).unwrap().len(), 2);
}

#[test]
fn a_malformed_fail_on_flaky_value_names_the_variable() {
    let dir = fresh_dir("macro-bad-env");
    let output = run_ignored_test(
        "retry_macro::fails_on_first_attempt_only",
        &[
            ("STEADFAST_FLAKY_DIR", dir.to_str().unwrap()),
            ("STEADFAST_FAIL_ON_FLAKY", "sometimes"),
        ],
    );

    assert!(!output.status.success());
    let both = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        both.contains(
            "steadfast: environment variable STEADFAST_FAIL_ON_FLAKY has invalid value \
             \"sometimes\": expected 1, true, 0 or false"
        ),
        "{both}"
    );
}

#[test]
fn an_always_failing_attributed_test_fails_after_recording_every_attempt() {
    let dir = fresh_dir("macro-fail");
    let output = run_ignored_test(
        "retry_macro::always_fails_with_one_retry",
        &[("STEADFAST_FLAKY_DIR", dir.to_str().unwrap())],
    );

    assert!(!output.status.success());
    let records = read_attempts(&dir.join("attempts.jsonl")).unwrap();
    let outcomes: Vec<_> = records.iter().map(|r| (r.attempt, r.outcome)).collect();
    assert_eq!(
        outcomes,
        [(1, AttemptOutcome::Failed), (2, AttemptOutcome::Failed)]
    );
    assert!(
        records
            .iter()
            .all(|r| r.message.as_deref() == Some("never passes"))
    );
}

#[test]
fn an_attributed_test_returning_err_is_retried() {
    let dir = fresh_dir("macro-err");
    let output = run_ignored_test(
        "retry_macro::returns_err_on_first_attempt",
        &[("STEADFAST_FLAKY_DIR", dir.to_str().unwrap())],
    );

    assert!(output.status.success(), "{output:?}");
    let records = read_attempts(&dir.join("attempts.jsonl")).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].message.as_deref(), Some("\"not yet\""));
    assert_eq!(records[1].outcome, AttemptOutcome::Passed);
}
