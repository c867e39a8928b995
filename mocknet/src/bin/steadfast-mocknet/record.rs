//! `steadfast-mocknet record`: a recording reverse proxy until SIGINT or SIGTERM.

use std::ffi::OsString;
use std::io::Write as _;
use std::net::SocketAddr;

use steadfast_mocknet::record::{RecordMode, Recorder};
use tokio::signal::unix::{SignalKind, signal};

use super::{Fail, parse_options, runtime};

pub(crate) fn run(args: Vec<OsString>) -> Result<u8, Fail> {
    let options = parse_options(
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
        return Err(Fail::usage(format!(
            "unexpected argument {:?}",
            extra.to_string_lossy()
        )));
    }
    let mode = match options.get("--mode") {
        None | Some("new") => RecordMode::New,
        Some("all") => RecordMode::All,
        Some(other) => {
            return Err(Fail::usage(format!(
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
            Fail::usage(format!(
                "--listen must be an address like 127.0.0.1:8080, got {listen:?}"
            ))
        })?;
        recorder = recorder.listen(addr);
    }
    for name in options.all("--secret-header") {
        recorder = recorder.secret_header(name);
    }
    runtime()?.block_on(async {
        let fail = |what: &str, err: std::io::Error| Fail {
            message: format!("could not {what}: {err}"),
            usage: false,
        };
        // Listen for the signals before announcing the port, so no early signal is lost.
        let mut interrupt =
            signal(SignalKind::interrupt()).map_err(|err| fail("handle SIGINT", err))?;
        let mut terminate =
            signal(SignalKind::terminate()).map_err(|err| fail("handle SIGTERM", err))?;
        let recording = recorder.start().await?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {}", recording.uri())
            .and_then(|()| stdout.flush())
            .map_err(|err| fail("write to stdout", err))?;
        drop(stdout);
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
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
