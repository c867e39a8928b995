//! `retry` with an explicit policy: attempts, seeds, panics and fail-on-flaky.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering};

use steadfast_determinism::Seed;
use steadfast_flaky::attempts::{AttemptOutcome, read_attempts};
use steadfast_flaky::{ErrorKind, RetryPolicy, SeedMode, retry, try_retry};

use crate::support::{fresh_dir, panic_location, run_ignored_test};

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    steadfast_determinism::__macro_support::panic_message(payload).to_owned()
}

#[test]
fn a_first_time_pass_records_one_attempt() {
    let dir = fresh_dir("first-pass");
    let policy = RetryPolicy::new(3)
        .named("app passes")
        .seeds(Seed::new(1), Seed::new(2))
        .record_to(&dir);

    let value: Result<u64, String> = retry(&policy, |seed| Ok(seed.value() * 10));

    assert_eq!(value, Ok(20));
    let records = read_attempts(&dir.join("attempts.jsonl")).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, AttemptOutcome::Passed);
    assert_eq!(records[0].seed.as_deref(), Some("0x0000000000000002"));
    assert_eq!(records[0].run_seed.as_deref(), Some("0x0000000000000001"));
    assert_eq!(records[0].max_attempts, 4);
}

#[test]
fn a_pass_on_retry_records_both_attempts_with_the_same_seed() {
    let dir = fresh_dir("same-seed");
    let calls = AtomicU32::new(0);
    let seen = std::sync::Mutex::new(Vec::new());
    let policy = RetryPolicy::new(2)
        .named("app flaky")
        .seeds(Seed::new(7), Seed::new(8))
        .replay("replay me")
        .fail_on_flaky(false)
        .record_to(&dir);

    retry(&policy, |seed| {
        seen.lock().unwrap().push(seed);
        assert!(
            calls.fetch_add(1, Ordering::SeqCst) > 0,
            "boom on the first call"
        );
    });

    assert_eq!(*seen.lock().unwrap(), [Seed::new(8), Seed::new(8)]);
    let records = read_attempts(&dir.join("attempts.jsonl")).unwrap();
    let outcomes: Vec<_> = records.iter().map(|r| (r.attempt, r.outcome)).collect();
    assert_eq!(
        outcomes,
        [(1, AttemptOutcome::Failed), (2, AttemptOutcome::Passed)]
    );
    assert_eq!(
        records[0].message.as_deref(),
        Some("boom on the first call")
    );
    assert!(records.iter().all(|r| r.same_seed_as_first));
    assert!(
        records
            .iter()
            .all(|r| r.replay.as_deref() == Some("replay me"))
    );
    assert_eq!(records[0].invocation, records[1].invocation);
    assert!(records[0].duration_ms >= 0.0);
}

#[test]
fn vary_mode_derives_a_seed_per_retry() {
    let dir = fresh_dir("vary");
    let seen = std::sync::Mutex::new(Vec::new());
    let first = Seed::new(0x2a);
    let policy = RetryPolicy::new(2)
        .named("app vary")
        .seed_mode(SeedMode::Vary)
        .seeds(Seed::new(0), first)
        .record_to(&dir);

    let result: std::thread::Result<()> = panic::catch_unwind(AssertUnwindSafe(|| {
        retry(&policy, |seed| {
            seen.lock().unwrap().push(seed);
            panic!("always");
        })
    }));

    assert!(result.is_err());
    let expected = [first, first.derive("attempt 2"), first.derive("attempt 3")];
    assert_eq!(*seen.lock().unwrap(), expected);
    let records = read_attempts(&dir.join("attempts.jsonl")).unwrap();
    let same: Vec<bool> = records.iter().map(|r| r.same_seed_as_first).collect();
    assert_eq!(same, [true, false, false]);
    let seeds: Vec<String> = expected.iter().map(ToString::to_string).collect();
    let recorded: Vec<String> = records.iter().map(|r| r.seed.clone().unwrap()).collect();
    assert_eq!(recorded, seeds);
}

#[test]
fn when_every_attempt_panics_the_last_panic_is_resumed() {
    let dir = fresh_dir("all-fail");
    let calls = AtomicU32::new(0);
    let policy = RetryPolicy::new(2).named("app broken").record_to(&dir);

    let result: std::thread::Result<()> = panic::catch_unwind(AssertUnwindSafe(|| {
        retry(&policy, |_| {
            let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
            panic!("failure number {call}");
        })
    }));
    let payload = result.unwrap_err();

    assert_eq!(panic_text(&*payload), "failure number 3");
    let records = read_attempts(&dir.join("attempts.jsonl")).unwrap();
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r.outcome == AttemptOutcome::Failed));
}

#[test]
fn returned_errors_are_failed_attempts_and_the_last_one_is_returned() {
    let dir = fresh_dir("err");
    let calls = AtomicU32::new(0);
    let policy = RetryPolicy::new(1).named("app err").record_to(&dir);

    let result: Result<(), String> = retry(&policy, |_| {
        Err(format!("error {}", calls.fetch_add(1, Ordering::SeqCst)))
    });

    assert_eq!(result, Err("error 1".to_owned()));
    let records = read_attempts(&dir.join("attempts.jsonl")).unwrap();
    let messages: Vec<_> = records.iter().map(|r| r.message.clone().unwrap()).collect();
    assert_eq!(messages, ["\"error 0\"", "\"error 1\""]);
}

#[test]
fn fail_on_flaky_turns_a_pass_on_retry_into_a_panic_listing_every_attempt() {
    let dir = fresh_dir("fail-on-flaky");
    let calls = AtomicU32::new(0);
    let policy = RetryPolicy::new(2)
        .named("app flaky")
        .seeds(Seed::new(0), Seed::new(5))
        .replay("STEADFAST_SEED=0x0 cargo test")
        .fail_on_flaky(true)
        .record_to(&dir);

    let payload = panic::catch_unwind(AssertUnwindSafe(|| {
        retry(&policy, |_| {
            assert!(calls.fetch_add(1, Ordering::SeqCst) > 0, "first try fails");
        })
    }))
    .unwrap_err();

    let message = panic_text(&*payload);
    assert!(
        message.starts_with(
            "steadfast: test app flaky passed only on attempt 2 of 3, so it fails because \
             STEADFAST_FAIL_ON_FLAKY is on:"
        ),
        "{message}"
    );
    assert!(message.contains("attempt 1: failed in "), "{message}");
    assert!(
        message.contains("with seed 0x0000000000000005: first try fails"),
        "{message}"
    );
    assert!(message.contains("attempt 2: passed in "), "{message}");
    assert!(
        message.contains("every attempt used the same seed"),
        "{message}"
    );
    assert!(
        message.contains("replay: STEADFAST_SEED=0x0 cargo test"),
        "{message}"
    );
    assert_eq!(read_attempts(&dir.join("attempts.jsonl")).unwrap().len(), 2);
}

#[test]
fn an_unwritable_attempt_log_never_fails_the_test() {
    let dir = fresh_dir("unwritable");
    let blocker = dir.join("file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let policy = RetryPolicy::new(0)
        .named("app ok")
        .record_to(blocker.join("sub"));

    assert_eq!(retry(&policy, |_| Ok::<_, String>(5)), Ok(5));
}

#[test]
fn try_retry_returns_a_pass_on_retry_under_fail_on_flaky_as_an_error() {
    let dir = fresh_dir("try-flaky");
    let calls = AtomicU32::new(0);
    let policy = RetryPolicy::new(2)
        .named("app flaky")
        .seeds(Seed::new(0), Seed::new(5))
        .replay("STEADFAST_SEED=0x0 cargo test")
        .fail_on_flaky(true)
        .record_to(&dir);

    let err = try_retry(&policy, |_| {
        assert!(calls.fetch_add(1, Ordering::SeqCst) > 0, "first try fails");
    })
    .unwrap_err();

    let log = dir.join("attempts.jsonl");
    assert_eq!(err.kind(), ErrorKind::Flaky);
    assert_eq!(err.test(), Some("app flaky"));
    assert_eq!(err.path(), Some(log.as_path()));
    assert_eq!(
        err.to_string(),
        format!(
            "test app flaky passed only on attempt 2 of 3 and fail-on-flaky is on; failed with \
             seed 0x0000000000000005; replay: STEADFAST_SEED=0x0 cargo test; attempts in {}",
            log.display()
        )
    );
    assert_eq!(read_attempts(&log).unwrap().len(), 2);
}

#[test]
fn try_retry_returns_what_the_passing_attempt_returned() {
    let dir = fresh_dir("try-pass");
    let calls = AtomicU32::new(0);
    let policy = RetryPolicy::new(1)
        .named("app eventually")
        .seeds(Seed::new(0), Seed::new(1))
        .fail_on_flaky(false)
        .record_to(&dir);

    let value = try_retry(&policy, |seed| match calls.fetch_add(1, Ordering::SeqCst) {
        0 => Err("not yet".to_owned()),
        _ => Ok(seed.value()),
    });

    assert_eq!(value.unwrap(), Ok(1));
}

#[test]
#[ignore = "run in a child process by the test below"]
fn fails_on_flaky_when_retried() {
    let calls = AtomicU32::new(0);
    let policy = RetryPolicy::new(1)
        .named("app flaky")
        .fail_on_flaky(true)
        .record_to(fresh_dir("caller-child"));
    retry(&policy, |_| {
        assert!(calls.fetch_add(1, Ordering::SeqCst) > 0, "first try fails");
    });
}

#[test]
fn the_fail_on_flaky_panic_points_at_the_caller_of_retry() {
    let output = run_ignored_test("retry_api::fails_on_flaky_when_retried", &[]);

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let location = panic_location(
        &stderr,
        "steadfast: test app flaky passed only on attempt 2",
    );
    assert!(
        location.is_some_and(|at| at.starts_with("flaky/tests/retry_api.rs:")),
        "{location:?}: {stderr}"
    );
}
