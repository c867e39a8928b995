//! `steadfast-mocknet link`: a [`Link`] in front of an upstream, until a signal stops it.

use std::ffi::OsString;
use std::net::{SocketAddr, ToSocketAddrs};

use steadfast_mocknet::link::{Link, LinkFaults};

use crate::cli::{self, Fail, Options};

pub fn run(args: Vec<OsString>) -> Result<(), Fail> {
    let options = Options::parse(
        args,
        &["--upstream", "--listen", "--faults", "--seed", "--journal"],
    )?;
    if let Some(extra) = options.positional.first() {
        return Err(Fail::Usage(format!("link takes no argument {extra:?}")));
    }
    let upstream = resolve(options.required("--upstream")?)?;
    let listen = options.listen()?;
    let seed = options.seed()?;
    let faults = match options.get("--faults") {
        Some(path) => LinkFaults::from_file(path).map_err(|err| Fail::Usage(cli::chain(&err)))?,
        None => LinkFaults::new(),
    };
    cli::runtime()?.block_on(async {
        // Signals must be caught before the first line tells the parent we are up.
        let stop = cli::Stop::install()?;
        let link = Link::builder(upstream)
            .listen(listen)
            .faults(faults)
            .seed(seed)
            .start()
            .await
            .map_err(|err| Fail::Run(cli::chain(&err)))?;
        cli::announce(&link.addr().to_string())?;
        stop.wait().await;
        // Connections still open end first, so the journal has an end for each.
        let lines: Vec<String> = link
            .stop()
            .await
            .iter()
            .map(|event| event.to_json().to_string())
            .collect();
        cli::write_journal(options.get("--journal"), &lines)
    })
}

/// The first address `HOST:PORT` resolves to.
fn resolve(upstream: &str) -> Result<SocketAddr, Fail> {
    let bad = |why: String| Fail::Usage(format!("--upstream {upstream:?}: {why}"));
    let mut addrs = upstream
        .to_socket_addrs()
        .map_err(|err| bad(format!("not a HOST:PORT that resolves ({err})")))?;
    addrs
        .next()
        .ok_or_else(|| bad("resolves to no address".into()))
}
