//! `#[deterministic_test]` as users write it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use steadfast_determinism::{Clock, DetRng, Seed, TestContext, deterministic_test, timestamp};

#[deterministic_test]
fn sync_test_gets_a_manual_clock_at_the_default_start(ctx: &TestContext) {
    assert_eq!(
        ctx.clock().now(),
        timestamp::parse(timestamp::DEFAULT_START).unwrap()
    );
    ctx.clock().advance(Duration::from_secs(30));
    assert_eq!(ctx.clock().monotonic(), Duration::from_secs(30));
}

#[deterministic_test]
fn test_seed_is_the_run_seed_derived_by_the_full_path(ctx: &TestContext) {
    let run = Seed::run_seed().unwrap();
    assert_eq!(ctx.run_seed(), run);
    assert_eq!(
        ctx.seed(),
        run.derive("integration::attribute::test_seed_is_the_run_seed_derived_by_the_full_path")
    );
    assert_eq!(
        ctx.name(),
        "integration::attribute::test_seed_is_the_run_seed_derived_by_the_full_path"
    );
}

#[deterministic_test(seed = 0x2a)]
fn pinned_seed_keys_the_rng(ctx: &TestContext) {
    assert_eq!(ctx.seed(), Seed::new(42));
    let expected = DetRng::from_seed(Seed::new(42)).next_u64();
    assert_eq!(ctx.rng().next_u64(), expected);
}

#[deterministic_test(start = "2030-05-01T12:00:00Z")]
fn start_sets_the_wall_time(ctx: &TestContext) {
    assert_eq!(timestamp::format(ctx.clock().now()), "2030-05-01T12:00:00Z");
}

fn helper_deep_in_the_code() -> (Seed, SystemTime) {
    let ctx = TestContext::current();
    (ctx.seed(), ctx.clock().now())
}

#[deterministic_test]
fn helpers_reach_the_context_without_an_argument() {
    let ctx = TestContext::current();
    ctx.clock().advance(Duration::from_secs(1));
    let (seed, now) = helper_deep_in_the_code();
    assert_eq!(seed, ctx.seed());
    assert_eq!(now, ctx.clock().now());
}

#[deterministic_test]
async fn an_hour_of_tokio_sleep_moves_the_wall_clock_exactly(ctx: &TestContext) {
    // Read on another thread: with the `seal` feature this thread's Instant is virtual too.
    let real_now = || std::thread::spawn(std::time::Instant::now).join().unwrap();
    let wall_started = real_now();
    let before = ctx.clock().now();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        ctx.clock().now().duration_since(before).unwrap(),
        Duration::from_secs(3600)
    );
    assert_eq!(ctx.clock().monotonic(), Duration::from_secs(3600));
    // Virtual time: the hour must not be spent for real.
    assert!(real_now().duration_since(wall_started) < Duration::from_secs(60));
}

#[deterministic_test(start = "2026-06-01T00:00:00Z")]
async fn async_tests_reach_the_context_from_spawned_tasks() {
    let seen = tokio::spawn(async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let ctx = TestContext::current();
        timestamp::format(ctx.clock().now())
    })
    .await
    .unwrap();
    assert_eq!(seen, "2026-06-01T00:00:05Z");
}

#[deterministic_test]
async fn client_timeouts_fire_at_their_virtual_deadline() {
    let started = tokio::time::Instant::now();
    let never = std::future::pending::<()>();
    let outcome = tokio::time::timeout(Duration::from_secs(10), never).await;
    assert!(outcome.is_err());
    assert_eq!(started.elapsed(), Duration::from_secs(10));
}

#[deterministic_test]
fn tests_may_return_results(ctx: &TestContext) -> Result<(), steadfast_determinism::Error> {
    let parsed: Seed = ctx.seed().to_string().parse()?;
    assert_eq!(parsed, ctx.seed());
    Ok(())
}

#[deterministic_test]
#[should_panic(expected = "expected failure")]
fn panics_propagate_as_test_failures() {
    panic!("expected failure");
}

#[deterministic_test(check_determinism = true)]
async fn check_determinism_accepts_a_deterministic_test(ctx: &TestContext) {
    let mut stream = ctx.fork_rng("network");
    for _ in 0..10 {
        let delay = stream.below(1000);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let _ = ctx.clock().now();
    }
}

static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[deterministic_test(check_determinism = true)]
#[should_panic(expected = "is not deterministic under seed")]
fn check_determinism_rejects_draws_that_depend_on_outside_state(ctx: &TestContext) {
    // Outside state (a global counter) decides how many values are drawn: the second run
    // draws one more than the first.
    let extra = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    for _ in 0..=extra {
        ctx.rng().next_u64();
    }
}

#[deterministic_test]
fn contexts_are_shared_through_arc_for_threads() {
    let ctx: Arc<TestContext> = TestContext::current();
    let worker = Arc::clone(&ctx);
    let drawn = std::thread::spawn(move || worker.fork_rng("worker").next_u64())
        .join()
        .unwrap();
    assert_eq!(
        drawn,
        DetRng::from_seed(ctx.seed()).fork("worker").next_u64()
    );
}

#[deterministic_test]
async fn a_test_may_return_an_error_that_is_not_send() -> Result<(), Box<dyn std::error::Error>> {
    let seed: Seed = "0x2a".parse()?;
    assert_eq!(seed, Seed::new(42));
    Ok(())
}

#[deterministic_test(flavor = "current_thread")]
async fn the_current_thread_flavor_is_accepted(ctx: &TestContext) {
    ctx.clock().sleep(Duration::from_secs(5)).await;
    assert_eq!(ctx.clock().monotonic(), Duration::from_secs(5));
}
