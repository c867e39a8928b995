//! The `steadfast-mocknet` command, in real time: a seeded link in front of a service that runs
//! as its own process (`link`), a catalog scenario served over HTTP (`serve`), a recording proxy
//! to a live service (`record`) and the check of a recorded scenario against it (`verify`).
//! See `cli::USAGE`.

use std::ffi::OsString;
use std::process::ExitCode;

mod cli;
mod link;
mod record;
mod serve;
mod verify;

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let subcommand = (!args.is_empty()).then(|| args.remove(0));
    match subcommand.as_ref().and_then(|name| name.to_str()) {
        Some("link") => cli::exit(link::run(args).map(|()| 0)),
        Some("serve") => cli::exit(serve::run(args).map(|()| 0)),
        Some("record") => cli::exit(record::run(args)),
        Some("verify") => cli::exit(verify::run(args)),
        Some("help" | "--help" | "-h") => {
            println!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        _ => cli::exit(Err(cli::Fail::Usage(match subcommand {
            Some(name) => format!("unknown subcommand {:?}", name.to_string_lossy()),
            None => "no subcommand".into(),
        }))),
    }
}
