//! Which test a record lands in, and what the queries read from it.

use std::sync::Arc;
use std::time::Duration;

use steadfast_determinism::{Seed, TestContext, deterministic_test};
use steadfast_metrics::{Captured, counter, gauge, histogram, records_outside_tests};

use crate::install;

#[deterministic_test]
fn counters_sum_the_series_a_label_filter_selects(_ctx: &TestContext) {
    install();
    metrics::counter!("sse.events.emitted", "tenant" => "a", "route" => "/live").increment(4);
    metrics::counter!("sse.events.emitted", "tenant" => "a", "route" => "/replay").increment(6);
    metrics::counter!("sse.events.emitted", "tenant" => "b", "route" => "/live").increment(1);

    counter("sse.events.emitted")
        .with_label("tenant", "a")
        .assert_eq(10);
    counter("sse.events.emitted")
        .with_label("tenant", "a")
        .with_label("route", "/replay")
        .assert_eq(6);
    assert_eq!(counter("sse.events.emitted").value().unwrap(), 11);
}

#[deterministic_test]
fn absolute_never_moves_a_counter_back(_ctx: &TestContext) {
    install();
    metrics::counter!("jobs.seen").absolute(9);
    metrics::counter!("jobs.seen").absolute(4);
    counter("jobs.seen").assert_eq(9);
}

#[deterministic_test]
fn gauge_history_follows_the_manual_test_clock(ctx: &TestContext) {
    install();
    let active = || metrics::gauge!("sse.connections.active");
    active().increment(1.0);
    ctx.clock().advance(Duration::from_secs(2));
    active().increment(1.0);
    ctx.clock().advance(Duration::from_secs(3));
    active().decrement(2.0);

    let g = gauge("sse.connections.active");
    assert_eq!(
        g.history().unwrap(),
        vec![
            (Duration::ZERO, 1.0),
            (Duration::from_secs(2), 2.0),
            (Duration::from_secs(5), 0.0)
        ]
    );
    g.assert_at(Duration::from_secs(4), 2.0);
    g.assert_never_above(2.0);
    g.assert_eq(0.0);
    assert_eq!(g.max().unwrap(), 2.0);
}

#[deterministic_test]
async fn spawned_tasks_on_the_test_runtime_record_into_the_test(_ctx: &TestContext) {
    install();
    let mut tasks = Vec::new();
    for i in 1..=20u64 {
        tasks.push(tokio::spawn(async move {
            metrics::gauge!("catchup.inflight").increment(1.0);
            // Virtual time: the duration is exactly what the task slept.
            let started = tokio::time::Instant::now();
            tokio::time::sleep(Duration::from_millis(10 * i)).await;
            metrics::histogram!("catchup.duration").record(started.elapsed());
            metrics::gauge!("catchup.inflight").decrement(1.0);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let h = histogram("catchup.duration");
    assert_eq!(h.p95().value().unwrap(), 0.19);
    h.p95().assert_below(Duration::from_millis(191));
    h.max().assert_below(Duration::from_millis(201));
    assert_eq!(h.p50().value().unwrap(), 0.1);
    assert_eq!(h.summary().unwrap().count, 20);
    // All 20 start at once; 50 ms in, the first five have finished.
    gauge("catchup.inflight").assert_at(Duration::from_millis(50), 15.0);
    gauge("catchup.inflight").assert_never_above(20.0);
    assert_eq!(gauge("catchup.inflight").max().unwrap(), 20.0);
    gauge("catchup.inflight").assert_eq(0.0);
}

#[test]
fn tests_on_parallel_threads_see_only_their_own_metrics() {
    install();
    let run = |tenant: &'static str, n: u64| {
        std::thread::spawn(move || {
            let ctx = Arc::new(TestContext::new(
                format!("parallel::{tenant}"),
                Seed::new(n),
            ));
            ctx.scope(|| {
                for _ in 0..n {
                    metrics::counter!("parallel.requests").increment(1);
                    std::thread::yield_now();
                }
                counter("parallel.requests").value().unwrap()
            })
        })
    };
    let (a, b) = (run("a", 300), run("b", 500));
    assert_eq!((a.join().unwrap(), b.join().unwrap()), (300, 500));
}

#[test]
fn another_thread_records_into_the_test_once_it_enters_the_context() {
    install();
    let ctx = Arc::new(TestContext::new("threads::entered", Seed::new(3)));
    let worker = {
        let ctx = Arc::clone(&ctx);
        std::thread::spawn(move || {
            let _guard = ctx.enter();
            metrics::counter!("worker.batches").increment(2);
        })
    };
    worker.join().unwrap();
    Captured::of(&ctx).counter("worker.batches").assert_eq(2);
}

#[test]
fn records_outside_any_test_are_counted_and_belong_to_no_test() {
    install();
    let before = records_outside_tests();
    metrics::counter!("outside.records").increment(1);
    metrics::histogram!("outside.records").record(1.0);
    assert!(records_outside_tests() >= before + 2);
    let ctx = Arc::new(TestContext::new("outside::none", Seed::new(4)));
    let err = Captured::of(&ctx)
        .counter("outside.records")
        .value()
        .unwrap_err();
    assert_eq!(err.kind(), steadfast_metrics::ErrorKind::NotRecorded);
}

#[test]
fn same_seed_and_clock_record_the_same_metrics() {
    install();
    let record = || {
        let ctx = Arc::new(TestContext::new("replay::same", Seed::new(11)));
        ctx.scope(|| {
            for _ in 0..5 {
                let ms = ctx.rng().next_u64() % 100;
                ctx.clock().advance(Duration::from_millis(ms));
                metrics::histogram!("replay.latency").record(ms as f64);
            }
        });
        Captured::of(&ctx).otlp_json(&steadfast_tracing_core::otlp::Resource::new("replay"))
    };
    assert_eq!(record(), record());
}
