//! What a failing assertion says, and what bad queries are answered with.

use std::sync::Arc;
use std::time::Duration;

use steadfast_determinism::{Seed, TestContext, deterministic_test};
use steadfast_metrics::{Captured, ErrorKind, counter, gauge, histogram};

use crate::install;

fn panic_message(f: impl FnOnce()) -> String {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
    payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default()
}

#[deterministic_test(seed = 0x2a)]
#[should_panic(
    expected = "steadfast: counter `sse.events.emitted{tenant=a}` is 7, expected 10 in test \
                integration::failures::counter_mismatch_names_the_test_and_seed (seed \
                0x000000000000002a)"
)]
fn counter_mismatch_names_the_test_and_seed(_ctx: &TestContext) {
    install();
    metrics::counter!("sse.events.emitted", "tenant" => "a").increment(7);
    counter("sse.events.emitted")
        .with_label("tenant", "a")
        .assert_eq(10);
}

#[test]
fn asserting_a_metric_never_recorded_lists_the_recorded_ones() {
    install();
    let ctx = Arc::new(TestContext::new("failures::missing", Seed::new(5)));
    let message = ctx.scope(|| {
        metrics::counter!("orders.placed", "region" => "eu").increment(1);
        metrics::gauge!("orders.open").set(2.0);
        panic_message(|| counter("orders.shipped").assert_eq(1))
    });
    assert_eq!(
        message,
        "steadfast: counter `orders.shipped` was never recorded in test failures::missing \
         (seed 0x0000000000000005); recorded: counter `orders.placed{region=eu}`, gauge \
         `orders.open`"
    );
}

#[test]
fn a_label_no_series_carries_is_not_recorded_either() {
    install();
    let ctx = Arc::new(TestContext::new("failures::label", Seed::new(6)));
    ctx.scope(|| metrics::counter!("orders.placed", "region" => "eu").increment(1));
    let err = Captured::of(&ctx)
        .counter("orders.placed")
        .with_label("region", "us")
        .check_eq(1)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotRecorded);
    assert_eq!(err.metric(), Some("orders.placed{region=us}"));
    assert_eq!(err.seed(), Some(Seed::new(6)));
    assert!(
        err.to_string()
            .ends_with("recorded: counter `orders.placed{region=eu}`"),
        "{err}"
    );
}

#[test]
fn a_test_that_recorded_nothing_says_so() {
    install();
    let ctx = Arc::new(TestContext::new("failures::nothing", Seed::new(8)));
    let err = Captured::of(&ctx).histogram("x").summary().unwrap_err();
    assert!(
        err.to_string()
            .contains("histogram `x` was never recorded in test failures::nothing"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("; nothing was recorded in this test"),
        "{err}"
    );
}

#[test]
fn histogram_limit_failure_prints_the_distribution_like_a_latency_budget() {
    install();
    let ctx = Arc::new(TestContext::new("failures::slow", Seed::new(9)));
    let message = ctx.scope(|| {
        for ms in [100.0, 200.0, 300.0, 4000.0] {
            metrics::histogram!("catchup.ms").record(ms);
        }
        panic_message(|| histogram("catchup.ms").p99().assert_below(2000.0))
    });
    assert!(
        message.starts_with(
            "steadfast: histogram `catchup.ms` exceeded its limit in test failures::slow \
             (seed 0x0000000000000009): p99 is 4000, the limit is < 2000\n"
        ),
        "{message}"
    );
    assert!(
        message.contains("  4 samples: min 100, p50 200, p95 4000, p99 4000, max 4000, mean 1150"),
        "{message}"
    );
    assert!(message.contains("| ####"), "{message}");
}

#[test]
fn check_below_returns_the_failure_instead_of_panicking() {
    install();
    let ctx = Arc::new(TestContext::new("failures::check", Seed::new(10)));
    ctx.scope(|| metrics::histogram!("rtt").record(Duration::from_millis(150)));
    let h = Captured::of(&ctx).histogram("rtt");
    assert!(h.p95().check_below(Duration::from_millis(151)).is_ok());
    let err = h.p95().check_below(Duration::from_millis(150)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch);
    assert!(
        err.report().contains("1 samples: min 0.15"),
        "{}",
        err.report()
    );
    assert!(!err.to_string().contains('\n'), "one line: {err}");
}

#[test]
fn gauge_failure_shows_the_history() {
    install();
    let ctx = Arc::new(TestContext::new("failures::gauge", Seed::new(12)));
    let message = ctx.scope(|| {
        metrics::gauge!("pool.open").set(3.0);
        ctx.clock().advance(Duration::from_secs(1));
        metrics::gauge!("pool.open").set(5.0);
        panic_message(|| gauge("pool.open").assert_never_above(4.0))
    });
    assert!(
        message.starts_with(
            "steadfast: gauge `pool.open` went above 4: 5 at 1s in test failures::gauge"
        ),
        "{message}"
    );
    assert!(message.contains("history (2 changes):"), "{message}");
    assert!(message.contains("at           1s: 5"), "{message}");
}

#[test]
fn a_gauge_query_matching_several_series_is_ambiguous() {
    install();
    let ctx = Arc::new(TestContext::new("failures::ambiguous", Seed::new(13)));
    ctx.scope(|| {
        metrics::gauge!("pool.open", "db" => "main").set(1.0);
        metrics::gauge!("pool.open", "db" => "replica").set(2.0);
    });
    let captured = Captured::of(&ctx);
    let err = captured.gauge("pool.open").value().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert!(
        err.to_string()
            .contains("selects 2 series in test failures::ambiguous (seed 0x000000000000000d): pool.open{db=main}, pool.open{db=replica}"),
        "{err}"
    );
    assert_eq!(
        captured
            .gauge("pool.open")
            .with_label("db", "replica")
            .value()
            .unwrap(),
        2.0
    );
}

#[test]
fn a_query_without_a_current_test_says_how_to_make_one() {
    install();
    let err = counter("anything").value().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoTestContext);
    assert!(
        err.to_string().contains("no test context is current"),
        "{err}"
    );
}
