//! The `seal` feature: code that never heard of steadfast reads the test's clock and seed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use steadfast_determinism::seal::{Seal, is_sealed};
use steadfast_determinism::{Clock, Seed, TestContext, deterministic_test, timestamp};

/// What third-party code draws from the OS on a sealed thread.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Draws {
    rand: [u64; 3],
    rand_0_8: u64,
    map_order: Vec<String>,
    uuid: String,
    chrono: String,
}

fn draw() -> Draws {
    let mut rng = rand::rng();
    let rand = [0; 3].map(|_: u64| rand::Rng::random::<u64>(&mut rng));
    let rand_0_8 = rand08::Rng::r#gen::<u64>(&mut rand08::thread_rng());
    let map: HashMap<String, u32> = (0..16).map(|i| (format!("key-{i}"), i)).collect();
    Draws {
        rand,
        rand_0_8,
        map_order: map.into_keys().collect(),
        uuid: uuid::Uuid::new_v4().to_string(),
        chrono: chrono::Utc::now().to_rfc3339(),
    }
}

/// Draws on a fresh thread sealed for a context with `seed`, as one run of a test would.
fn draws_with(seed: u64) -> Draws {
    std::thread::spawn(move || {
        let ctx = Arc::new(TestContext::new("seal::draws", Seed::new(seed)));
        let _seal = Seal::new().enter(&ctx).unwrap();
        draw()
    })
    .join()
    .unwrap()
}

#[test]
fn one_seed_gives_the_same_os_randomness_and_another_seed_does_not() {
    let first = draws_with(1);
    assert_eq!(draws_with(1), first);
    let other = draws_with(2);
    assert_ne!(other.rand, first.rand);
    assert_ne!(other.rand_0_8, first.rand_0_8);
    assert_ne!(other.map_order, first.map_order);
    assert_ne!(other.uuid, first.uuid);
    // The clock does not depend on the seed: both start at the default start.
    assert_eq!(other.chrono, "2026-01-01T00:00:00+00:00");
    assert_eq!(first.chrono, other.chrono);
}

#[test]
fn an_unsealed_thread_draws_from_the_os() {
    assert!(!is_sealed());
    let a = std::thread::spawn(draw).join().unwrap();
    let b = std::thread::spawn(draw).join().unwrap();
    assert_ne!(a.rand, b.rand);
    assert_ne!(a.uuid, b.uuid);
    assert_ne!(a.chrono, "2026-01-01T00:00:00+00:00");
}

/// The draws of each call of the test below, to compare the two runs of `check_determinism`.
static RUNS: Mutex<Vec<Draws>> = Mutex::new(Vec::new());

#[deterministic_test(seed = 0x5eed, check_determinism = true)]
fn both_runs_of_check_determinism_draw_the_same_os_randomness(_ctx: &TestContext) {
    let draws = draw();
    let mut runs = RUNS.lock().unwrap();
    if let Some(first) = runs.first() {
        assert_eq!(&draws, first, "the second run drew differently");
    }
    runs.push(draws);
}

#[deterministic_test]
fn a_sync_test_reads_its_manual_clock_through_std(ctx: &TestContext) {
    assert!(is_sealed());
    let start = timestamp::parse(timestamp::DEFAULT_START).unwrap();
    assert_eq!(SystemTime::now(), start);
    let before = Instant::now();
    ctx.clock().advance(Duration::from_secs(3600));
    assert_eq!(before.elapsed(), Duration::from_secs(3600));
    assert_eq!(
        SystemTime::now().duration_since(start).unwrap(),
        Duration::from_secs(3600)
    );
    assert_eq!(SystemTime::now(), ctx.clock().now());
}

#[deterministic_test]
async fn an_async_test_reads_tokio_s_paused_clock_through_std(ctx: &TestContext) {
    let start = SystemTime::now();
    assert_eq!(start, ctx.clock().now());
    let before = Instant::now();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(before.elapsed(), Duration::from_secs(3600));
    assert_eq!(
        SystemTime::now().duration_since(start).unwrap(),
        Duration::from_secs(3600)
    );
    assert_eq!(chrono::Utc::now().to_rfc3339(), "2026-01-01T01:00:00+00:00");
}

#[deterministic_test]
async fn a_spawned_task_sees_the_time_its_timer_fired_at(_ctx: &TestContext) {
    let start = Instant::now();
    let task = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(90)).await;
        start.elapsed()
    });
    assert_eq!(task.await.unwrap(), Duration::from_secs(90));
}

#[deterministic_test(start = "2001-02-03T04:05:06Z")]
fn another_os_thread_sees_real_time(_ctx: &TestContext) {
    let sealed = SystemTime::now();
    assert_eq!(sealed, timestamp::parse("2001-02-03T04:05:06Z").unwrap());
    let (real, other_sealed) = std::thread::spawn(|| (SystemTime::now(), is_sealed()))
        .join()
        .unwrap();
    assert!(!other_sealed);
    // Real time on this machine is decades later than the sealed start.
    assert!(real.duration_since(sealed).unwrap() > Duration::from_secs(20 * 365 * 86_400));
}

#[deterministic_test]
fn thread_sleep_moves_a_sync_test_s_clock_at_once(ctx: &TestContext) {
    let real_before = std::thread::spawn(Instant::now).join().unwrap();
    std::thread::sleep(Duration::from_secs(600));
    let real_after = std::thread::spawn(Instant::now).join().unwrap();
    assert_eq!(ctx.clock().monotonic(), Duration::from_secs(600));
    assert!(real_after.duration_since(real_before) < Duration::from_secs(60));
}

#[deterministic_test]
fn a_timed_out_wait_moves_a_sync_test_s_clock_by_its_timeout(ctx: &TestContext) {
    let (_sender, receiver) = std::sync::mpsc::channel::<()>();
    let before = Instant::now();
    let waited = receiver.recv_timeout(Duration::from_millis(50));
    assert_eq!(waited, Err(std::sync::mpsc::RecvTimeoutError::Timeout));
    assert!(before.elapsed() >= Duration::from_millis(50));
    assert!(ctx.clock().monotonic() >= Duration::from_millis(50));
    assert_eq!(before.elapsed(), ctx.clock().monotonic());
}

#[deterministic_test]
fn the_default_time_zone_and_locale_are_pinned(_ctx: &TestContext) {
    assert_eq!(std::env::var("TZ").as_deref(), Ok("UTC"));
    assert_eq!(std::env::var("LANG").as_deref(), Ok("C.UTF-8"));
    assert_eq!(std::env::var("LC_ALL").as_deref(), Ok("C.UTF-8"));
    assert!(std::env::var_os("LC_TIME").is_none());
    // Everything else is the real environment.
    assert_eq!(std::env::var_os("PATH"), {
        std::thread::spawn(|| std::env::var_os("PATH"))
            .join()
            .unwrap()
    });
}

#[deterministic_test(tz = "Europe/Berlin")]
fn a_pinned_time_zone_is_what_chrono_calls_local(_ctx: &TestContext) {
    assert_eq!(std::env::var("TZ").as_deref(), Ok("Europe/Berlin"));
    // 2026-01-01T00:00:00Z is 01:00 in Berlin's winter time.
    assert_eq!(
        chrono::Local::now().to_rfc3339(),
        "2026-01-01T01:00:00+01:00"
    );
}

#[test]
fn a_thread_cannot_be_sealed_twice() {
    std::thread::spawn(|| {
        let ctx = Arc::new(TestContext::new("seal::twice", Seed::new(1)));
        let _first = Seal::new().enter(&ctx).unwrap();
        let err = Seal::new().enter(&ctx).unwrap_err();
        assert_eq!(err.kind(), steadfast_determinism::ErrorKind::Seal);
        assert_eq!(
            err.to_string(),
            "cannot seal the test's thread: this thread is already sealed: drop the first \
             SealGuard before entering another"
        );
    })
    .join()
    .unwrap();
}

#[test]
fn a_time_zone_with_a_nul_byte_is_refused() {
    let ctx = Arc::new(TestContext::new("seal::nul", Seed::new(1)));
    let err = Seal::new()
        .time_zone("Europe/\0Berlin")
        .enter(&ctx)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot seal the test's thread: the pinned time zone \"Europe/\\0Berlin\" holds a NUL byte"
    );
    assert!(!is_sealed());
}

#[test]
fn leaving_the_seal_gives_the_thread_back_the_real_clock() {
    std::thread::spawn(|| {
        let ctx = Arc::new(TestContext::new("seal::leave", Seed::new(1)));
        let guard = Seal::new().enter(&ctx).unwrap();
        let sealed = SystemTime::now();
        drop(guard);
        assert!(!is_sealed());
        let real = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        assert_ne!(real, sealed.duration_since(UNIX_EPOCH).unwrap());
        assert!(ctx.clock().monotonic() == Duration::ZERO);
    })
    .join()
    .unwrap();
}

static UUID_CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[deterministic_test(check_determinism = true)]
#[should_panic(
    expected = "first run nothing (the run ended), second run OS randomness (getrandom on the sealed thread"
)]
fn check_determinism_names_os_randomness_when_runs_diverge_there(_ctx: &TestContext) {
    // Outside state decides how many uuids the code under test makes: the second run makes one
    // more, and the message says the extra observation was OS randomness.
    let extra = UUID_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    for _ in 0..=extra {
        let _ = uuid::Uuid::new_v4();
    }
}
