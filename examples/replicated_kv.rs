//! A replicated key-value store (a leader and two followers, majority-acknowledged writes,
//! heartbeat failover) over a TCP protocol of its own, run on a steadfast `Network` on
//! virtual time.
//!
//! ```text
//! cargo run --example replicated_kv -- --scenario leader-crash --writes 1000
//! STEADFAST_SEED=0x2a cargo run --example replicated_kv -- --scenario partition-heal --writes 200
//! ```
//!
//! Scenarios (the `networks` of `examples/replicated_kv/network.json`): `steady`,
//! `degraded-replication`, `leader-crash`, `partition-heal`. Without `--scenario`,
//! `STEADFAST_SCENARIO` picks one (default `steady`). Prints the network's journal as JSON
//! lines, then one summary object: replication latency percentiles, the failover and
//! reconciliation times, whether the nodes converged and how many acknowledged writes were
//! lost. The same seed prints the same lines.

#[path = "replicated_kv/node.rs"]
mod node;
#[path = "replicated_kv/run.rs"]
mod run;

use std::process::ExitCode;

use steadfast::determinism::Seed;
use steadfast::mocknet::Catalog;

struct Args {
    scenario: Option<String>,
    writes: usize,
}

const USAGE: &str = "usage: replicated_kv [--scenario NAME] [--writes N]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        scenario: None,
        writes: 100,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--scenario" => args.scenario = Some(it.next().ok_or("--scenario needs a name")?),
            "--writes" => {
                let value = it.next().ok_or("--writes needs a number")?;
                args.writes = value
                    .parse()
                    .map_err(|_| format!("--writes needs a number, got {value:?}"))?;
            }
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    match main_result() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("replicated_kv: {err}");
            ExitCode::FAILURE
        }
    }
}

fn main_result() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let catalog = Catalog::from_json("examples/replicated_kv/network.json", run::CATALOG)?;
    let scenario = match &args.scenario {
        Some(name) => catalog.network(name)?,
        None => catalog.selected_network("steady")?,
    };
    let seed = Seed::run_seed()?;
    // Paused time: heartbeats, timeouts, link latencies and the timeline are virtual.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;
    let (journal, summary) = runtime.block_on(run::run(scenario, args.writes, Some(seed)))?;
    for event in &journal {
        println!("{}", event.to_json());
    }
    println!("{}", summary.to_json_line());
    Ok(())
}
