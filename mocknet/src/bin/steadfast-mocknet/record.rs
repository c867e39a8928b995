//! `steadfast-mocknet record`: a recording reverse proxy until SIGINT or SIGTERM.

use std::ffi::OsString;
use std::net::SocketAddr;

use steadfast_mocknet::record::{RecordMode, Recorder};

use crate::cli::{Fail, Options, Stop, announce, runtime};

pub(crate) fn run(args: Vec<OsString>) -> Result<u8, Fail> {
    let options = Options::parse(
        args,
        &[
            "--upstream",
            "--out",
            "--scenario",
            "--listen",
            "--mode",
            "--secret-header",
        ],
    )?;
    if let Some(extra) = options.positional.first() {
        return Err(Fail::Usage(format!("unexpected argument {:?}", extra)));
    }
    let mode = match options.get("--mode") {
        None | Some("new") => RecordMode::New,
        Some("all") => RecordMode::All,
        Some(other) => {
            return Err(Fail::Usage(format!(
                "--mode must be new or all, got {other:?}"
            )));
        }
    };
    let mut recorder = Recorder::new(
        options.required("--upstream")?,
        options.required("--out")?,
        options.required("--scenario")?,
    )
    .mode(mode);
    if let Some(listen) = options.get("--listen") {
        let addr: SocketAddr = listen.parse().map_err(|_| {
            Fail::Usage(format!(
                "--listen must be an address like 127.0.0.1:8080, got {listen:?}"
            ))
        })?;
        recorder = recorder.listen(addr);
    }
    for name in options.all("--secret-header") {
        recorder = recorder.secret_header(name);
    }
    runtime()?.block_on(async {
        // Listen for the signals before announcing the port, so no early signal is lost.
        let stop = Stop::install()?;
        let recording = recorder.start().await?;
        announce(&recording.uri())?;
        stop.wait().await;
        let summary = recording.finish().await?;
        eprintln!(
            "steadfast-mocknet: recorded {} exchanges, {} routes added, into {}",
            summary.exchanges(),
            summary.routes_added(),
            summary.file().display()
        );
        Ok(0)
    })
}
