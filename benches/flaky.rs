//! Speed and memory of `steadfast-flaky report` over a 100,000-testcase nextest JUnit file.
//!
//! The file is generated here in nextest's format: 100 binaries of 1,000 tests, 1 % failing
//! (with a steadfast seed line and a replay command in `system-err`) and 1 % passing on retry
//! (`flakyFailure`). Targets (issue #6): at most 1 s per report, peak heap at most 3x the file.
//! A counting allocator measures the peak heap of one `read_report`; it is printed once.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use steadfast::flaky::input::read_report;
use steadfast::flaky::render::{to_json, to_markdown};

/// The system allocator, counting live and peak bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const BINARIES: usize = 100;
const TESTS_PER_BINARY: usize = 1_000;

fn junit() -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"nextest-run\" tests=\"100000\" \
         failures=\"1000\" errors=\"0\" timestamp=\"2026-01-01T00:00:00.000+00:00\" time=\"60.0\">\n",
    );
    for binary in 0..BINARIES {
        let suite = format!("crate-{binary}::integration");
        let _ = writeln!(
            xml,
            "    <testsuite name=\"{suite}\" tests=\"{TESTS_PER_BINARY}\" skipped=\"0\" errors=\"0\" failures=\"10\">"
        );
        for test in 0..TESTS_PER_BINARY {
            let name = format!("module_{}::test_number_{test}", test % 17);
            let _ = write!(
                xml,
                "        <testcase name=\"{name}\" classname=\"{suite}\" \
                 timestamp=\"2026-01-01T00:00:{:02}.{:03}+00:00\" time=\"0.{:03}\"",
                test % 60,
                test % 1000,
                test % 997
            );
            match test % 100 {
                7 => {
                    let _ = write!(
                        xml,
                        ">\n            <failure message=\"thread &apos;{name}&apos; panicked at src/lib.rs:1:1\" \
                         type=\"test failure with exit code 101\">thread &apos;{name}&apos; (1) panicked at src/lib.rs:1:1:\n\
                         assertion failed: balance == 0\n</failure>\n            <system-err>\n\
                         steadfast: test {name} failed with seed 0x{:016x}: assertion failed: balance == 0; \
                         replay: STEADFAST_SEED=0x0000000000000000 cargo nextest run -p crate-{binary} --test integration -E &apos;test(={name})&apos;\n\
                         </system-err>\n        </testcase>\n",
                        binary * TESTS_PER_BINARY + test
                    );
                }
                13 => {
                    let _ = write!(
                        xml,
                        ">\n            <flakyFailure timestamp=\"2026-01-01T00:00:00.000+00:00\" time=\"0.010\" \
                         message=\"thread &apos;{name}&apos; panicked at src/lib.rs:2:2\" type=\"test failure\">\
                         thread &apos;{name}&apos; (2) panicked at src/lib.rs:2:2:\ntimed out\n</flakyFailure>\n        </testcase>\n"
                    );
                }
                _ => xml.push_str("/>\n"),
            }
        }
        xml.push_str("    </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

fn bench(c: &mut Criterion) {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("flaky-junit-100k.xml");
    let xml = junit();
    std::fs::write(&path, &xml).unwrap();
    let file_size = xml.len();
    drop(xml);

    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let report = read_report(&path).unwrap();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let kept = LIVE.load(Ordering::Relaxed) - before;
    assert_eq!(report.len(), BINARIES * TESTS_PER_BINARY);
    println!(
        "flaky/report-100k: file {:.1} MiB, peak heap {:.1} MiB ({:.2}x the file), report {:.1} MiB",
        file_size as f64 / 1048576.0,
        peak as f64 / 1048576.0,
        peak as f64 / file_size as f64,
        kept as f64 / 1048576.0
    );
    drop(report);

    let mut group = c.benchmark_group("flaky");
    group.sample_size(10);
    group.bench_function("read_report_100k_junit", |b| {
        b.iter(|| read_report(black_box(&path)).unwrap())
    });
    let report = read_report(&path).unwrap();
    group.bench_function("markdown_100k", |b| {
        b.iter(|| to_markdown(black_box(&report)))
    });
    group.bench_function("json_100k", |b| b.iter(|| to_json(black_box(&report))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
