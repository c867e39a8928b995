//! `steadfast-mocknet serve`: a catalog scenario served by a [`MockNet`], until a signal stops
//! it. With `--listen`, a fault-free [`Link`] on that address fronts the server.

use std::ffi::OsString;

use serde_json::json;
use steadfast_mocknet::link::Link;
use steadfast_mocknet::{Catalog, JournalEntry, MockNet};

use crate::cli::{self, Fail, Options};

pub fn run(args: Vec<OsString>) -> Result<(), Fail> {
    let options = Options::parse(args, &["--scenario", "--listen", "--seed", "--journal"])?;
    let [catalog] = options.positional.as_slice() else {
        return Err(Fail::Usage("serve takes exactly one CATALOG file".into()));
    };
    let catalog = Catalog::from_file(catalog).map_err(|err| Fail::Usage(cli::chain(&err)))?;
    let scenario = catalog
        .scenario(options.required("--scenario")?)
        .map_err(|err| Fail::Usage(cli::chain(&err)))?;
    let listen = options
        .get("--listen")
        .map(|_| options.listen())
        .transpose()?;
    let seed = options.seed()?;
    cli::runtime()?.block_on(async {
        // Signals must be caught before the first line tells the parent we are up.
        let stop = cli::Stop::install()?;
        let net = MockNet::builder()
            .scenario(scenario)
            .seed(seed)
            .start()
            .await
            .map_err(|err| Fail::Run(cli::chain(&err)))?;
        let front = match listen {
            Some(addr) => Some(
                Link::builder(net.addr())
                    .name("serve")
                    .listen(addr)
                    .seed(seed)
                    .start()
                    .await
                    .map_err(|err| Fail::Run(cli::chain(&err)))?,
            ),
            None => None,
        };
        let addr = front.as_ref().map_or(net.addr(), Link::addr);
        cli::announce(&format!("http://{addr}"))?;
        stop.wait().await;
        let lines: Vec<String> = net.journal().iter().map(line).collect();
        cli::write_journal(options.get("--journal"), &lines)
    })
}

/// One journal entry as a JSON object.
fn line(entry: &JournalEntry) -> String {
    let faults: Vec<&str> = entry.faults.iter().map(|kind| kind.as_str()).collect();
    json!({
        "index": entry.index,
        "at_ms": entry.at.as_secs_f64() * 1e3,
        "method": entry.method,
        "path": entry.path,
        "query": entry.query,
        "route": entry.route,
        "status": entry.status,
        "faults": faults,
    })
    .to_string()
}
