//! The cost of one `histogram!(…).record(…)` through the steadfast capture recorder against
//! metrics-util's `DebuggingRecorder` on the same call.
//!
//! Target: the capture recorder no slower than `DebuggingRecorder`.
//!
//! Both are set as the thread's local recorder, so the `metrics` facade takes the same path
//! to each; each sample starts from an empty recorder (a fresh test context, a fresh
//! `DebuggingRecorder`), so memory stays bounded and no sample pays for a bigger store.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use metrics_util::debugging::DebuggingRecorder;
use steadfast::determinism::{Seed, TestContext};
use steadfast::metrics::TestRecorder;

fn record(c: &mut Criterion) {
    let mut group = c.benchmark_group("histogram_record");
    group.bench_function("steadfast_capture", |b| {
        b.iter_custom(|iters| {
            let ctx = Arc::new(TestContext::new("bench::metrics", Seed::new(1)));
            let _local = metrics::set_default_local_recorder(&TestRecorder);
            let _current = ctx.enter();
            let started = Instant::now();
            for i in 0..iters {
                metrics::histogram!("bench.latency", "route" => "/orders")
                    .record(black_box(i as f64));
            }
            started.elapsed()
        });
    });
    group.bench_function("metrics_util_debugging", |b| {
        b.iter_custom(|iters| {
            let recorder = DebuggingRecorder::new();
            let _local = metrics::set_default_local_recorder(&recorder);
            let started = Instant::now();
            for i in 0..iters {
                metrics::histogram!("bench.latency", "route" => "/orders")
                    .record(black_box(i as f64));
            }
            started.elapsed()
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).sample_size(50);
    targets = record
}
criterion_main!(benches);
