//! The `steadfast-mocknet` command: a seeded link in front of a service that runs as its own
//! process (`link`), and a catalog scenario served over HTTP (`serve`), both in real time.
//! See `cli::USAGE`.

mod cli;
mod link;
mod serve;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<_> = std::env::args_os().skip(1).collect();
    let subcommand = (!args.is_empty()).then(|| args.remove(0));
    let outcome = match subcommand.as_ref().and_then(|name| name.to_str()) {
        Some("link") => link::run(args),
        Some("serve") => serve::run(args),
        Some("help" | "--help" | "-h") => {
            println!("{}", cli::USAGE);
            Ok(())
        }
        Some(other) => Err(cli::Fail::Usage(format!("unknown subcommand {other:?}"))),
        None => Err(cli::Fail::Usage(match subcommand {
            Some(name) => format!("unknown subcommand {:?}", name.to_string_lossy()),
            None => "no subcommand".into(),
        })),
    };
    cli::exit(outcome)
}
