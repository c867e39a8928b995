//! A walk through steadfast: `cargo run --example tour`.
//!
//! Every figure it prints comes from the seed (`STEADFAST_SEED`, or 0), so two runs with the
//! same seed print the same text; only the lines that start with `wall` (wall-clock time)
//! differ. It writes its artifacts under `target/steadfast/tour/` and lists them at the end.

#[path = "payments/client.rs"]
mod client;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use image::{Rgba, RgbaImage};
use steadfast::determinism::{
    Clock, DetRng, LatencyBudget, Seed, TestClock, TestContext, timestamp,
};
use steadfast::flaky::{Report, RetryPolicy, SeedMode, retry};
use steadfast::mocknet::{Catalog, JournalEntry, MockNet};
use steadfast::tracing_core::IdGenerator;
use steadfast::tracing_core::sink::{Forest, InMemorySink, SpanSink};
use steadfast::tracing_core::span::{Span, SpanKind, Status};
use steadfast::visual::Options;

use client::PaymentsClient;

const CATALOG: &str = include_str!("payments/catalog.json");
const SCENARIOS: [&str; 3] = ["happy-path", "charge-failure", "degraded-network"];
/// Checkouts (a charge, then a refund) per scenario.
const CHECKOUTS: u64 = 4;

type TourResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> TourResult<()> {
    let run_seed = Seed::run_seed()?;
    let out = output_dir()?;
    println!("steadfast tour (run seed {run_seed}; set STEADFAST_SEED to explore another)");
    let mut written = Vec::new();

    determinism_chapter(run_seed)?;
    let runs = mocknet_chapter(run_seed)?;
    tracing_chapter(&runs[2]);
    written.extend(visual_chapter(&runs, &out)?);
    written.extend(flaky_chapter(run_seed, &out)?);

    println!();
    println!("== what the tour wrote");
    for path in written {
        println!("{}", display_path(&path));
    }
    Ok(())
}

/// Chapter 1: a seed decides every random value and every timestamp; replaying it repeats them.
fn determinism_chapter(run_seed: Seed) -> TourResult<()> {
    println!();
    println!("== 1. determinism: one seed, replayed");
    let test_path = "tour::checkout_assigns_order_ids";
    let seed = run_seed.derive(test_path);
    println!("test {test_path} gets seed {seed} (the run seed derived by its path)");

    let order_ids = |seed: Seed| {
        let ctx = TestContext::new(test_path, seed);
        (0..3)
            .map(|_| ctx.rng().next_u64() % 100_000)
            .collect::<Vec<_>>()
    };
    let first = order_ids(seed);
    let replay = order_ids(seed);
    let other = order_ids(seed.derive("another seed"));
    println!("order ids:           {first:?}");
    println!(
        "replayed, same seed: {replay:?} (identical: {})",
        first == replay
    );
    println!(
        "another seed:        {other:?} (identical: {})",
        first == other
    );

    println!("a virtual hour: 3600 one-second tokio sleeps on a paused runtime");
    let runtime = paused_runtime()?;
    let wall = Instant::now();
    let (started, ended) = runtime.block_on(async {
        let clock = TestClock::tokio(timestamp::parse(timestamp::DEFAULT_START)?);
        let started = clock.now();
        for _ in 0..3600 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Ok::<_, steadfast::determinism::Error>((started, clock.now()))
    })?;
    println!(
        "test clock: {} -> {} ({:?} of virtual time)",
        timestamp::format(started),
        timestamp::format(ended),
        ended.duration_since(started)?
    );
    println!("wall {:.1} ms for the virtual hour", millis(wall.elapsed()));
    println!(
        "a failing #[deterministic_test] prints: steadfast: test {test_path} failed with seed \
         {seed}: ...; replay: STEADFAST_SEED={run_seed} cargo test -p my-crate --test integration \
         -- {test_path} --exact"
    );
    Ok(())
}

/// What one scenario run left behind.
struct ScenarioRun {
    scenario: &'static str,
    seed: Seed,
    journal: Vec<JournalEntry>,
    budget: LatencyBudget,
    start: SystemTime,
}

/// Chapter 2: the payments client against three named scenarios, on virtual time.
fn mocknet_chapter(run_seed: Seed) -> TourResult<Vec<ScenarioRun>> {
    println!();
    println!("== 2. mocknet: the payments client under three scenarios, on virtual time");
    let catalog = Catalog::from_json("examples/payments/catalog.json", CATALOG)?;
    let mut runs = Vec::new();
    for scenario in SCENARIOS {
        let seed = run_seed.derive(&format!("tour::payments::{scenario}"));
        let runtime = paused_runtime()?;
        let wall = Instant::now();
        let run = runtime.block_on(run_scenario(&catalog, scenario, seed))?;
        let wall = wall.elapsed();
        let (ok, failed) = run.outcomes;
        let summary = run.run.budget.summary();
        println!(
            "{scenario:<17} seed {seed}: {} requests, {ok} checkouts ok, {failed} failed, {:?} of virtual time",
            run.run.journal.len(),
            run.virtual_time
        );
        if let Some(summary) = summary {
            println!(
                "{:<17} per-operation latency p50 {:?}, p99 {:?}, max {:?}",
                "", summary.p50, summary.p99, summary.max
            );
        }
        println!("wall {:.1} ms for {scenario}", millis(wall));
        runs.push(run.run);
    }
    println!(
        "same seed, same journal: rerun with the same STEADFAST_SEED and every line above repeats"
    );
    Ok(runs)
}

struct Finished {
    run: ScenarioRun,
    outcomes: (u64, u64),
    virtual_time: Duration,
}

async fn run_scenario(
    catalog: &Catalog,
    scenario: &'static str,
    seed: Seed,
) -> TourResult<Finished> {
    let clock = TestClock::tokio(timestamp::parse(timestamp::DEFAULT_START)?);
    let start = clock.now();
    let net = MockNet::builder()
        .scenario(catalog.scenario(scenario)?)
        .seed(seed)
        .start()
        .await?;
    let mut ids = DetRng::from_seed(seed).fork("payments-client");
    let mut client = PaymentsClient::new(net.uri(), move || ids.next_u64())?;
    let budget = LatencyBudget::new(scenario);
    let started = tokio::time::Instant::now();
    let (mut ok, mut failed) = (0, 0);
    for i in 0..CHECKOUTS {
        let charged = budget.time_async(&clock, client.charge(1_000 + i)).await;
        let refunded = match charged {
            Ok(id) => budget.time_async(&clock, client.refund(&id)).await.is_ok(),
            Err(_) => false,
        };
        if refunded {
            ok += 1;
        } else {
            failed += 1;
        }
    }
    Ok(Finished {
        virtual_time: started.elapsed(),
        outcomes: (ok, failed),
        run: ScenarioRun {
            scenario,
            seed,
            journal: net.journal(),
            budget,
            start,
        },
    })
}

/// Chapter 3: the requests the mock service received, as a trace tree.
fn tracing_chapter(run: &ScenarioRun) {
    println!();
    println!(
        "== 3. tracing-core: the trace the client propagated under {}",
        run.scenario
    );
    let sink = InMemorySink::new();
    let mut root_rng = DetRng::from_seed(run.seed).fork("tour-root");
    let mut ids = IdGenerator::new(move || root_rng.next_u64());
    let Some(trace_id) = run
        .journal
        .iter()
        .find_map(|e| e.traceparent)
        .map(|p| p.trace_id())
    else {
        println!("(no request carried a traceparent)");
        return;
    };
    let root_id = ids.span_id();
    let end = run.journal.last().map_or(run.start, |e| run.start + e.at);
    sink.on_end(
        Span::new(trace_id, root_id, format!("checkout x{CHECKOUTS}"))
            .with_kind(SpanKind::Internal)
            .with_times(run.start, end),
    );
    for entry in &run.journal {
        let Some(parent) = entry.traceparent else {
            continue;
        };
        let failed = entry.replacing_fault().is_some() || entry.status.is_none_or(|s| s >= 500);
        let status = match (entry.replacing_fault(), entry.status) {
            (Some(fault), _) => Status::error(format!("fault: {}", fault.as_str())),
            (None, Some(code)) if failed => Status::error(format!("status {code}")),
            _ => Status::Ok,
        };
        let at = run.start + entry.at;
        sink.on_end(
            Span::new(
                parent.trace_id(),
                parent.parent_id(),
                format!("{} {}", entry.method, entry.path),
            )
            .with_kind(SpanKind::Client)
            .with_parent(root_id)
            .with_times(at, at)
            .with_status(status),
        );
    }
    let forest: Forest = sink.forest();
    print!("{forest}");
    match forest.check_single_trace().and(forest.check_well_formed()) {
        Ok(()) => println!("one trace, every parent present, exactly one root"),
        Err(problem) => println!("trace problem: {problem}"),
    }
}

/// Chapter 4: a chart of the latencies, drawn twice and compared pixel by pixel.
fn visual_chapter(runs: &[ScenarioRun], out: &Path) -> TourResult<Vec<PathBuf>> {
    println!();
    println!("== 4. visual: the latency chart compared with a baseline");
    let baseline = latency_chart(runs, None);
    let slower = latency_chart(runs, Some(2));
    let identical =
        steadfast::visual::compare(&baseline, &latency_chart(runs, None), &Options::new())?;
    println!(
        "chart vs. a redraw:            {} of {} pixels differ (passed: {})",
        identical.diff_pixels(),
        identical.total_pixels(),
        identical.is_passed()
    );
    let options = Options::new().max_diff_ratio(0.001);
    let changed = steadfast::visual::compare(&baseline, &slower, &options)?;
    println!(
        "chart vs. one bar 40 px taller: {} of {} pixels differ, ratio {:.4} (passed: {}, tolerance 0.1 %)",
        changed.diff_pixels(),
        changed.total_pixels(),
        changed.ratio(),
        changed.is_passed()
    );
    let dir = out.join("visual");
    std::fs::create_dir_all(&dir)?;
    let paths = [
        dir.join("expected.png"),
        dir.join("actual.png"),
        dir.join("diff.png"),
    ];
    baseline.save(&paths[0])?;
    slower.save(&paths[1])?;
    if let Some(diff) = changed.diff_image() {
        diff.save(&paths[2])?;
    }
    Ok(paths.into())
}

/// A bar chart of each scenario's p50 and max latency; `taller` grows one bar by 40 px.
fn latency_chart(runs: &[ScenarioRun], taller: Option<usize>) -> RgbaImage {
    const WIDTH: u32 = 240;
    const HEIGHT: u32 = 160;
    let mut image = RgbaImage::from_pixel(WIDTH, HEIGHT, Rgba([255, 255, 255, 255]));
    let longest = runs
        .iter()
        .filter_map(|run| run.budget.summary())
        .map(|s| s.max)
        .max()
        .unwrap_or(Duration::from_millis(1))
        .max(Duration::from_millis(1));
    let mut bar = 0;
    for run in runs {
        let Some(summary) = run.budget.summary() else {
            continue;
        };
        for (value, colour) in [(summary.p50, [40, 110, 200]), (summary.max, [230, 120, 40])] {
            let mut height = (value.as_secs_f64() / longest.as_secs_f64() * 120.0) as u32 + 2;
            if taller == Some(bar) {
                height += 40;
            }
            let x0 = 20 + bar as u32 * 36;
            for x in x0..x0 + 28 {
                for y in HEIGHT - 10 - height.min(HEIGHT - 10)..HEIGHT - 10 {
                    image.put_pixel(x, y, Rgba([colour[0], colour[1], colour[2], 255]));
                }
            }
            bar += 1;
        }
    }
    for x in 10..WIDTH - 10 {
        image.put_pixel(x, HEIGHT - 10, Rgba([0, 0, 0, 255]));
    }
    image
}

/// Chapter 5: a test that passes only on retry is caught and its seed recorded.
fn flaky_chapter(run_seed: Seed, out: &Path) -> TourResult<Vec<PathBuf>> {
    println!();
    println!("== 5. flaky: a pass on retry is flagged, with the seed of the failed attempt");
    let dir = out.join("flaky");
    let log = dir.join("attempts.jsonl");
    if log.exists() {
        std::fs::remove_file(&log)?;
    }
    let test = "tour::charge_survives_a_cold_cache";
    let seed = run_seed.derive(test);
    let policy = RetryPolicy::new(2)
        .named(test)
        .seed_mode(SeedMode::Same)
        .seeds(run_seed, seed)
        .fail_on_flaky(false)
        .record_to(&dir);
    let mut cache_warm = false;
    // The failure depends on state outside the seed (a cache warmed by the first attempt), the
    // classic cause of a test that passes on retry with the same seed.
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    retry(&policy, |attempt_seed| {
        let was_warm = std::mem::replace(&mut cache_warm, true);
        assert!(
            was_warm,
            "cache miss: charge timed out (seed {attempt_seed})"
        );
    });
    std::panic::set_hook(quiet);

    let attempts = steadfast::flaky::attempts::read_attempts(&log)?;
    for attempt in &attempts {
        println!(
            "attempt {}/{}: {:?}, seed {}, same seed as the first: {}{}",
            attempt.attempt,
            attempt.max_attempts,
            attempt.outcome,
            attempt.seed.as_deref().unwrap_or("-"),
            attempt.same_seed_as_first,
            attempt
                .message
                .as_deref()
                .map(|m| format!(", message: {m}"))
                .unwrap_or_default()
        );
    }
    let mut report = Report::new();
    for observation in steadfast::flaky::input::attempts_to_observations(attempts) {
        report.observe(observation);
    }
    for (name, stats) in report.tests() {
        println!(
            "{name}: {} ({} passed on retry, {} of them with the same seed: the cause is outside the seed)",
            stats.status().as_str(),
            stats.passed_on_retry,
            stats.same_seed_retries
        );
        println!("failing seeds: {:?}", stats.failing_seeds);
    }
    println!(
        "steadfast-flaky run --runs N -- cargo nextest run ... does the same across whole runs"
    );
    Ok(vec![log])
}

fn paused_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
}

/// `target/steadfast/tour` of this workspace (or of `CARGO_TARGET_DIR`).
fn output_dir() -> TourResult<PathBuf> {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
    };
    let dir = target.join("steadfast").join("tour");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Paths under the workspace are shown relative to it, so the output does not depend on where
/// the repository was cloned.
fn display_path(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string()
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
