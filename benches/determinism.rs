//! Criterion benchmarks of steadfast-determinism.
//!
//! * `rng`: `DetRng` against a raw `ChaCha8Rng` (target: within 5 %).
//! * `clock`: `ManualClock::now()` against `SystemTime::now()` (target: not slower).
//! * `virtual_hour`: an hour of one-second tokio sleeps on a paused runtime (target: < 5 ms).

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use steadfast::determinism::{Clock, DetRng, ManualClock, Seed};

const DRAWS: u64 = 4096;

fn rng(c: &mut Criterion) {
    let mut group = c.benchmark_group("rng");
    group.throughput(Throughput::Bytes(DRAWS * 8));
    group.bench_function("DetRng::next_u64", |b| {
        let mut rng = DetRng::from_seed(Seed::new(1));
        b.iter(|| {
            let mut acc = 0u64;
            for _ in 0..DRAWS {
                acc ^= rng.next_u64();
            }
            black_box(acc)
        });
    });
    group.bench_function("ChaCha8Rng::next_u64", |b| {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        b.iter(|| {
            let mut acc = 0u64;
            for _ in 0..DRAWS {
                acc ^= rng.next_u64();
            }
            black_box(acc)
        });
    });
    group.bench_function("DetRng::fill_bytes", |b| {
        let mut rng = DetRng::from_seed(Seed::new(1));
        let mut buf = vec![0u8; (DRAWS * 8) as usize];
        b.iter(|| {
            rng.fill_bytes(&mut buf);
            black_box(buf[0])
        });
    });
    group.bench_function("ChaCha8Rng::fill_bytes", |b| {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut buf = vec![0u8; (DRAWS * 8) as usize];
        b.iter(|| {
            rng.fill_bytes(&mut buf);
            black_box(buf[0])
        });
    });
    group.finish();
}

fn clock(c: &mut Criterion) {
    let mut group = c.benchmark_group("clock");
    let manual = ManualClock::default();
    group.bench_function("ManualClock::now", |b| b.iter(|| black_box(&manual).now()));
    group.bench_function("SystemTime::now", |b| b.iter(SystemTime::now));
    group.finish();
}

fn virtual_hour(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds");
    c.bench_function("virtual_hour/3600 sleeps of 1s", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..3600 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            })
        });
    });
}

criterion_group!(benches, rng, clock, virtual_hour);
criterion_main!(benches);
