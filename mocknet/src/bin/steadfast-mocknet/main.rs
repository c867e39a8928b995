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
        Some("link") => cli::exit(link::run(args)),
        Some("serve") => cli::exit(serve::run(args)),
        Some("record") => exit(record::run(args)),
        Some("verify") => exit(verify::run(args)),
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

/// The exit code of `record` or `verify`, printing a failure first.
fn exit(outcome: Result<u8, Fail>) -> ExitCode {
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(Fail { message, usage }) => {
            if usage {
                eprintln!("steadfast-mocknet: {message}\n\n{}", cli::USAGE);
            } else {
                eprintln!("steadfast-mocknet: {message}");
            }
            ExitCode::from(2)
        }
    }
}

/// An error that ends the command with exit code 2; usage errors also print the usage.
struct Fail {
    message: String,
    usage: bool,
}

impl Fail {
    fn usage(message: impl Into<String>) -> Self {
        Fail {
            message: message.into(),
            usage: true,
        }
    }
}

impl From<steadfast_mocknet::Error> for Fail {
    fn from(err: steadfast_mocknet::Error) -> Self {
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Fail {
            message,
            usage: false,
        }
    }
}

/// `--flag value` / `--flag=value` options (repeatable) and positional arguments.
struct Options {
    pairs: Vec<(String, String)>,
    positional: Vec<OsString>,
}

fn parse_options(args: Vec<OsString>, flags: &[&str]) -> Result<Options, Fail> {
    let mut options = Options {
        pairs: Vec::new(),
        positional: Vec::new(),
    };
    let mut iter = args.into_iter();
    while let Some(arg) = iter.next() {
        let Some(text) = arg.to_str().filter(|text| text.starts_with("--")) else {
            options.positional.push(arg);
            continue;
        };
        let (name, inline) = match text.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (text.to_owned(), None),
        };
        if !flags.contains(&name.as_str()) {
            return Err(Fail::usage(format!("unknown option {name}")));
        }
        let value = match inline {
            Some(value) => value,
            None => iter
                .next()
                .and_then(|value| value.into_string().ok())
                .ok_or_else(|| Fail::usage(format!("{name} needs a value")))?,
        };
        options.pairs.push((name, value));
    }
    Ok(options)
}

impl Options {
    /// The last value given for `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.all(name).pop()
    }

    /// Every value given for `name`, in order.
    fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    fn required(&self, name: &str) -> Result<&str, Fail> {
        self.get(name)
            .ok_or_else(|| Fail::usage(format!("{name} is required")))
    }
}

/// The current-thread runtime the subcommands run on.
fn runtime() -> Result<tokio::runtime::Runtime, Fail> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Fail {
            message: format!("could not start the tokio runtime: {err}"),
            usage: false,
        })
}
