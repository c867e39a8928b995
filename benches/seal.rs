//! What the `seal` feature costs: `SystemTime::now()`, `Instant::now()` and a 32-byte
//! `getrandom` on a thread that is not sealed (passed through to glibc) and on a sealed one,
//! against glibc's own functions called directly.
//!
//! Run: `cargo bench --bench seal`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use steadfast::determinism::seal::Seal;
use steadfast::determinism::{Seed, TestContext};

type ClockGettime = unsafe extern "C" fn(libc::clockid_t, *mut libc::timespec) -> libc::c_int;
type Getrandom =
    unsafe extern "C" fn(*mut libc::c_void, libc::size_t, libc::c_uint) -> libc::ssize_t;

/// Glibc's own definition of `name`, bypassing the test binary's.
fn glibc(name: &std::ffi::CStr) -> usize {
    // SAFETY: a NUL-terminated name; RTLD_NEXT finds glibc's definition.
    let address = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) } as usize;
    assert_ne!(address, 0, "glibc has no {name:?}");
    address
}

/// Real monotonic time from glibc's own `clock_gettime`, which the seal does not answer.
fn real_monotonic(clock_gettime: ClockGettime) -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec.
    unsafe { clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn bench(c: &mut Criterion) {
    // SAFETY: glibc's functions have these signatures.
    let clock_gettime: ClockGettime = unsafe { std::mem::transmute(glibc(c"clock_gettime")) };
    let getrandom: Getrandom = unsafe { std::mem::transmute(glibc(c"getrandom")) };
    let mut group = c.benchmark_group("seal");
    let through_the_seal = |group: &mut criterion::BenchmarkGroup<'_, _>, suffix: &str| {
        group.bench_function(format!("SystemTime::now {suffix}"), |b| {
            b.iter(|| black_box(SystemTime::now()))
        });
        group.bench_function(format!("Instant::now {suffix}"), |b| {
            b.iter(|| black_box(Instant::now()))
        });
        group.bench_function(format!("getrandom 32 bytes {suffix}"), |b| {
            let mut buf = [0u8; 32];
            b.iter(|| {
                // SAFETY: a 32-byte buffer.
                let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), 32, 0) };
                black_box((n, buf))
            })
        });
    };
    group.bench_function("glibc clock_gettime(REALTIME)", |b| {
        b.iter(|| {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: a valid timespec.
            black_box(unsafe { clock_gettime(libc::CLOCK_REALTIME, &mut ts) });
            black_box(ts)
        })
    });
    group.bench_function("glibc clock_gettime(MONOTONIC)", |b| {
        b.iter(|| {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: a valid timespec.
            black_box(unsafe { clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) });
            black_box(ts)
        })
    });
    group.bench_function("glibc getrandom 32 bytes", |b| {
        let mut buf = [0u8; 32];
        b.iter(|| {
            // SAFETY: a 32-byte buffer.
            let n = unsafe { getrandom(buf.as_mut_ptr().cast(), 32, 0) };
            black_box((n, buf))
        })
    });
    through_the_seal(&mut group, "(thread not sealed)");
    // Criterion times with Instant::now(), which a sealed thread answers from its frozen manual
    // clock: each measured batch seals the thread only while it runs and times itself with
    // glibc's clock.
    let ctx = Arc::new(TestContext::new("bench::seal", Seed::new(1)));
    let sealed = |call: fn()| {
        let ctx = Arc::clone(&ctx);
        move |iters: u64| {
            let seal = Seal::new()
                .enter(&ctx)
                .expect("the bench thread is not sealed yet");
            let start = real_monotonic(clock_gettime);
            for _ in 0..iters {
                call();
            }
            let took = real_monotonic(clock_gettime) - start;
            drop(seal);
            took
        }
    };
    group.bench_function("SystemTime::now (sealed thread)", |b| {
        b.iter_custom(sealed(|| {
            black_box(SystemTime::now());
        }))
    });
    group.bench_function("Instant::now (sealed thread)", |b| {
        b.iter_custom(sealed(|| {
            black_box(Instant::now());
        }))
    });
    group.bench_function("getrandom 32 bytes (sealed thread)", |b| {
        b.iter_custom(sealed(|| {
            let mut buf = [0u8; 32];
            // SAFETY: a 32-byte buffer.
            let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), 32, 0) };
            black_box((n, buf));
        }))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
