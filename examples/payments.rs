//! A payments client (charges and refunds with timeouts, retries and trace context) run
//! against a named mock-network scenario on virtual time.
//!
//! ```text
//! cargo run --example payments -- --scenario degraded-network --requests 10
//! STEADFAST_SEED=0x2a cargo run --example payments -- --scenario charge-failure
//! ```
//!
//! Scenarios (from `examples/payments/catalog.json`): `happy-path`, `charge-failure`,
//! `degraded-network`. Without `--scenario`, `STEADFAST_SCENARIO` picks one (default
//! `happy-path`). Prints one JSON object per request the server saw (method, path, status or
//! fault, virtual_ms, traceparent), then one summary object. The same seed prints the same
//! lines, however slow the machine.

#[path = "payments/client.rs"]
mod client;

use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use steadfast::determinism::{DetRng, Seed};
use steadfast::mocknet::{Catalog, MockNet};

use client::PaymentsClient;

const CATALOG: &str = include_str!("payments/catalog.json");

struct Args {
    scenario: Option<String>,
    requests: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        scenario: None,
        requests: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--scenario" => args.scenario = Some(it.next().ok_or("--scenario needs a name")?),
            "--requests" => {
                let value = it.next().ok_or("--requests needs a number")?;
                args.requests = value
                    .parse()
                    .map_err(|_| format!("--requests needs a number, got {value:?}"))?;
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: payments [--scenario NAME] [--requests N]"
                ));
            }
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("payments: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let catalog = Catalog::from_json("examples/payments/catalog.json", CATALOG)?;
    let scenario = match &args.scenario {
        Some(name) => catalog.scenario(name)?,
        None => catalog.selected("happy-path")?,
    };
    let seed = Seed::run_seed()?.derive("examples::payments");
    // Paused time: latencies, retries and timeouts run on virtual time, in milliseconds.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;
    runtime.block_on(async {
        let name = scenario.name().to_string();
        let net = MockNet::builder()
            .scenario(scenario)
            .seed(seed)
            .start()
            .await?;
        let mut ids = DetRng::from_seed(seed).fork("payments-client");
        let mut client = PaymentsClient::new(net.uri(), move || ids.next_u64())?;
        let started = tokio::time::Instant::now();
        let (mut charged, mut refunded, mut failed) = (0u64, 0u64, 0u64);
        for i in 0..args.requests {
            match client.charge(1000 + i).await {
                Ok(id) => {
                    charged += 1;
                    match client.refund(&id).await {
                        Ok(_) => refunded += 1,
                        Err(_) => failed += 1,
                    }
                }
                Err(_) => failed += 1,
            }
        }
        let journal = net.journal();
        for entry in &journal {
            let mut line = json!({
                "method": entry.method,
                "path": entry.path,
                "virtual_ms": millis(entry.at),
                "traceparent": entry.traceparent.map(|parent| parent.to_string()),
            });
            match (entry.replacing_fault(), entry.status) {
                (Some(fault), status) => {
                    line["fault"] = json!(fault.as_str());
                    line["status"] = json!(status);
                }
                (None, status) => line["status"] = json!(status),
            }
            println!("{line}");
        }
        let summary = json!({
            "summary": true,
            "scenario": name,
            "seed": seed.to_string(),
            "operations": args.requests,
            "requests": journal.len(),
            "charges_ok": charged,
            "refunds_ok": refunded,
            "failed": failed,
            "virtual_ms": millis(started.elapsed()),
        });
        println!("{summary}");
        Ok(())
    })
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
