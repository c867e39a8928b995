//! A walk through steadfast: `cargo run --example tour`.
//!
//! Every figure it prints comes from the seed (`STEADFAST_SEED`, or 0), so two runs with the
//! same seed print the same text; only lines about wall-clock time (marked `wall`) differ.

use std::time::{Duration, Instant};

use steadfast_determinism::{Clock, Seed, TestClock, TestContext, timestamp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let run_seed = Seed::run_seed()?;
    println!("steadfast tour (run seed {run_seed}; set STEADFAST_SEED to explore another)");
    determinism_chapter(run_seed)?;
    Ok(())
}

/// Chapter 1: a seed decides every random value and every timestamp; replaying it repeats them.
fn determinism_chapter(run_seed: Seed) -> Result<(), Box<dyn std::error::Error>> {
    println!();
    println!("== 1. determinism: one seed, replayed");
    let test_path = "tour::checkout_assigns_order_ids";
    let seed = run_seed.derive(test_path);
    println!("test {test_path} gets seed {seed} (run seed derived by its path)");

    let order_ids = |seed: Seed| {
        let ctx = TestContext::new(test_path, seed);
        (0..3)
            .map(|_| ctx.rng().next_u64() % 100_000)
            .collect::<Vec<_>>()
    };
    let first = order_ids(seed);
    let replay = order_ids(seed);
    let other = order_ids(seed.derive("another seed"));
    println!("order ids:            {first:?}");
    println!(
        "replayed, same seed:  {replay:?} (identical: {})",
        first == replay
    );
    println!(
        "another seed:         {other:?} (identical: {})",
        first == other
    );

    println!();
    println!("a virtual hour: 3600 one-second tokio sleeps on a paused runtime");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;
    let wall = Instant::now();
    let (started, ended) = runtime.block_on(async {
        let clock = TestClock::tokio(timestamp::parse(timestamp::DEFAULT_START)?);
        let started = clock.now();
        for _ in 0..3600 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Ok::<_, steadfast_determinism::Error>((started, clock.now()))
    })?;
    let wall = wall.elapsed();
    println!(
        "test clock: {} -> {} ({:?} of virtual time)",
        timestamp::format(started),
        timestamp::format(ended),
        ended.duration_since(started)?
    );
    println!(
        "wall {:.1} ms for the virtual hour",
        wall.as_secs_f64() * 1000.0
    );
    println!(
        "a failing #[deterministic_test] prints: steadfast: test {test_path} failed with seed {seed}: ...; \
         replay: STEADFAST_SEED={run_seed} cargo test -p my-crate --test integration -- {test_path} --exact"
    );
    Ok(())
}
