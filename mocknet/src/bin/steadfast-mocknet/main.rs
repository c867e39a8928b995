//! The `steadfast-mocknet` command: `record` and `verify`. See the crate README.

use std::ffi::OsString;
use std::process::ExitCode;

mod record;
mod verify;

const USAGE: &str = "\
usage:
  steadfast-mocknet record --upstream URL --out CATALOG --scenario NAME
                           [--listen 127.0.0.1:PORT] [--mode new|all] [--secret-header NAME]...
  steadfast-mocknet verify CATALOG --scenario NAME --against URL [--ignore POINTER]...
                           [--compare POINTER]... [--header 'NAME: VALUE']...
                           [--format text|markdown|json]

record prints `listening on http://127.0.0.1:PORT` first and writes the catalog on SIGINT or
SIGTERM. exit codes: 0 done (verify: no drift), 1 verify found drift, 2 usage, input,
upstream or catalog error";

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

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match dispatch(args) {
        Ok(code) => ExitCode::from(code),
        Err(Fail { message, usage }) => {
            if usage {
                eprintln!("steadfast-mocknet: {message}\n\n{USAGE}");
            } else {
                eprintln!("steadfast-mocknet: {message}");
            }
            ExitCode::from(2)
        }
    }
}

fn dispatch(mut args: Vec<OsString>) -> Result<u8, Fail> {
    if args.is_empty() {
        return Err(Fail::usage("no subcommand"));
    }
    let subcommand = args.remove(0);
    match subcommand.to_str() {
        Some("record") => record::run(args),
        Some("verify") => verify::run(args),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(0)
        }
        _ => Err(Fail::usage(format!(
            "unknown subcommand {:?}",
            subcommand.to_string_lossy()
        ))),
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
