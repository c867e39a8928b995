//! Serves one scenario of a recorded catalog (a cassette) on 127.0.0.1 until SIGINT or SIGTERM.
//!
//! ```text
//! cargo run --example cassette_replay -- CATALOG SCENARIO
//! ```
//!
//! The first line on stdout is `listening on http://127.0.0.1:PORT`; on a signal it prints how
//! many requests it served and how many matched no route. `mocknet/tests/live/httpbin.sh`
//! replays the traffic it recorded from httpbin through it, with httpbin stopped.

use std::io::Write as _;

use steadfast::determinism::Seed;
use steadfast::mocknet::{Catalog, MockNet};
use tokio::signal::unix::{SignalKind, signal};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [catalog, scenario] = args.as_slice() else {
        return Err("usage: cassette_replay CATALOG SCENARIO".into());
    };
    let scenario = Catalog::from_file(catalog)?.scenario(scenario)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        // A recorded scenario has no faults of its own; the seed only matters with an overlay.
        let net = MockNet::builder()
            .scenario(scenario)
            .seed(Seed::new(0))
            .start()
            .await?;
        println!("listening on {}", net.uri());
        std::io::stdout().flush()?;
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        let journal = net.journal();
        let unmatched = journal.iter().filter(|entry| entry.route.is_none()).count();
        println!("served {} requests, {unmatched} unmatched", journal.len());
        Ok(())
    })
}
