//! Speed of `steadfast-flaky history` on SQLite (issue #19): `history add` of a
//! 100,000-testcase report, target under 2 s, and `history show` over 1,000 such runs, target
//! under 1 s.
//!
//! The suite: 100 binaries of 1,000 tests; 1 % of the tests are flaky (each run, one of them
//! fails or passes on retry with probability 1 in 5, drawn from a fixed seed), 0.1 % fail every
//! time. The add is measured as the CLI does it: read the JSON report (`report --format json`,
//! written once) and add it, each iteration under a new run id, to a history that already
//! holds 10 runs. The show history has 1,000 runs spread over the last 28 days (36 a day); it is
//! built once, before the measurements, by one `History::add_all` (the same planning as `add`,
//! summed per test and day and written in one transaction). Show is measured as
//! `History::summary` over the 28 days, then with the Markdown and the JSON rendering.
//!
//! Each also prints the median thread CPU time of 5 runs (`CLOCK_THREAD_CPUTIME_ID`): on a
//! machine shared with other work, wall time measures the neighbours too.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use steadfast::determinism::{DetRng, Seed};
use steadfast::flaky::history::{History, Query, RunInfo, to_json, to_markdown};
use steadfast::flaky::input::read_report;
use steadfast::flaky::{Failure, Report, TestStats};

const BINARIES: usize = 100;
const TESTS_PER_BINARY: usize = 1_000;
const RUNS: usize = 1_000;
const DAYS: i64 = 28;
const DAY: i64 = 86_400_000;
/// The day of the last run: 2026-01-28; the first is 27 days before.
const LAST_DAY: i64 = 20_481;

/// The suite's test ids, and which are flaky (every 100th) or broken (every 1,000th).
struct Suite {
    names: Vec<String>,
}

impl Suite {
    fn new() -> Self {
        let names = (0..BINARIES)
            .flat_map(|binary| {
                (0..TESTS_PER_BINARY).map(move |test| {
                    format!(
                        "crate-{binary}::integration module_{}::test_number_{test}",
                        test % 17
                    )
                })
            })
            .collect();
        Self { names }
    }

    /// The report of run `run` at `at_ms`.
    fn report(&self, run: usize, at_ms: i64) -> Report {
        let mut rng = DetRng::from_seed(Seed::new(19).derive(&format!("run {run}")));
        let mut report = Report::new();
        for (index, name) in self.names.iter().enumerate() {
            let broken = index % 1_000 == 999;
            let flaky = !broken && index % 100 == 42 && rng.below(5) == 0;
            let failed = broken || (flaky && rng.below(2) == 0);
            let retried = flaky && !failed;
            let failure = (failed || retried).then(|| {
                Box::new(Failure {
                    at_ms: Some(at_ms),
                    seed: Some(format!("0x{:016x}", rng.next_u64())),
                    message: Some("assertion failed: balance == 0".into()),
                    replay: None,
                })
            });
            let stats = TestStats {
                runs: 1,
                passes: u32::from(!failed),
                failures: u32::from(failed),
                passed_on_retry: u32::from(retried),
                attempts: 1 + u32::from(retried),
                first_seen_ms: Some(at_ms),
                last_seen_ms: Some(at_ms),
                failing_seeds: failure
                    .iter()
                    .filter_map(|failure| failure.seed.clone())
                    .collect(),
                last_failure: failure,
                ..TestStats::default()
            };
            report.insert_stats(name.clone(), stats);
        }
        report
    }
}

/// Run `run` of `RUNS`, spread evenly over the `DAYS` days up to `LAST_DAY`.
fn run_time(run: usize) -> i64 {
    (LAST_DAY - DAYS + 1) * DAY + run as i64 * DAYS * DAY / RUNS as i64
}

/// The CPU time this thread has used.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec, and a clock id every Linux has.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Prints the median thread CPU time of 5 calls of `work`.
fn print_cpu_time(name: &str, mut work: impl FnMut()) {
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let before = thread_cpu_time();
            work();
            thread_cpu_time() - before
        })
        .collect();
    times.sort();
    println!(
        "flaky_history/{name}: median CPU time {:.1} ms",
        times[2].as_secs_f64() * 1000.0
    );
}

fn fresh(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

fn open(path: &Path) -> History {
    History::open(path.to_str().unwrap()).unwrap()
}

fn bench_add(c: &mut Criterion, suite: &Suite) {
    let report_path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("flaky-history-100k.json");
    std::fs::write(
        &report_path,
        steadfast::flaky::render::to_json(&suite.report(RUNS, run_time(RUNS - 1))),
    )
    .unwrap();
    let mut history = open(&fresh("flaky-history-add.db"));
    history
        .add_all((0..10).map(|run| (RunInfo::new(), suite.report(run, run_time(run)))))
        .unwrap();

    let mut next = 0;
    print_cpu_time("add_100k_report_file", || {
        next += 1;
        let report = read_report(&report_path).unwrap();
        let info = RunInfo::new().run_id(format!("bench {next}"));
        assert!(history.add(&info, &report).unwrap().is_new);
    });
    let mut group = c.benchmark_group("flaky_history");
    group.sample_size(10);
    group.bench_function("add_100k_report_file", |b| {
        b.iter(|| {
            next += 1;
            let report = read_report(black_box(&report_path)).unwrap();
            let info = RunInfo::new().run_id(format!("bench {next}"));
            assert!(history.add(&info, &report).unwrap().is_new);
        })
    });
    let report = read_report(&report_path).unwrap();
    group.bench_function("add_100k_report_parsed", |b| {
        b.iter(|| {
            next += 1;
            let info = RunInfo::new().run_id(format!("bench {next}"));
            assert!(history.add(&info, black_box(&report)).unwrap().is_new);
        })
    });
    group.bench_function("read_100k_report_file", |b| {
        b.iter(|| read_report(black_box(&report_path)).unwrap())
    });
    group.finish();
}

fn bench_show(c: &mut Criterion, suite: &Suite) {
    let path = fresh("flaky-history-show.db");
    let started = Instant::now();
    // Named runs, as CI names them (`--run-id`), so the build spends no time on content ids.
    let added = open(&path)
        .add_all((0..RUNS).map(|run| {
            let info = RunInfo::new().run_id(format!("run {run}"));
            (info, suite.report(run, run_time(run)))
        }))
        .unwrap();
    assert_eq!(added.len(), RUNS);
    let size = std::fs::metadata(&path).map_or(0, |meta| meta.len());
    println!(
        "flaky_history/show: built {RUNS} runs of {} tests in {:.1} s, {:.0} MiB",
        suite.names.len(),
        started.elapsed().as_secs_f64(),
        size as f64 / 1_048_576.0
    );

    let query = Query::new()
        .since_days(DAYS as u32)
        .now_ms(LAST_DAY * DAY + DAY / 2);
    let mut history = open(&path);
    let summary = history.summary(&query).unwrap();
    assert_eq!(summary.runs, RUNS as u64);
    assert_eq!(summary.tests.len(), suite.names.len());
    println!(
        "flaky_history/show: {} disrupted tests, {} to quarantine",
        summary.disrupted().count(),
        summary.quarantine().count()
    );

    print_cpu_time("show_1000_runs_summary", || {
        history.summary(&query).unwrap();
    });
    print_cpu_time("show_1000_runs_markdown", || {
        to_markdown(&history.summary(&query).unwrap());
    });
    let mut group = c.benchmark_group("flaky_history");
    group.sample_size(10);
    group.bench_function("show_1000_runs_summary", |b| {
        b.iter(|| history.summary(black_box(&query)).unwrap())
    });
    group.bench_function("show_1000_runs_markdown", |b| {
        b.iter(|| to_markdown(&history.summary(black_box(&query)).unwrap()))
    });
    group.bench_function("show_1000_runs_json", |b| {
        b.iter(|| to_json(&history.summary(black_box(&query)).unwrap()))
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    let suite = Suite::new();
    bench_add(c, &suite);
    bench_show(c, &suite);
}

criterion_group!(benches, bench);
criterion_main!(benches);
