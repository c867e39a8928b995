//! What every subcommand shares: the usage text, option parsing, the stop signal, journal
//! files and exit codes.

use std::ffi::OsString;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use steadfast_determinism::Seed;
use tokio::signal::unix::{Signal, SignalKind, signal};

pub const USAGE: &str = "\
usage:
  steadfast-mocknet link --upstream HOST:PORT [--listen 127.0.0.1:PORT] [--faults FILE]
                         [--seed S] [--journal FILE]
  steadfast-mocknet serve CATALOG --scenario NAME [--listen 127.0.0.1:PORT] [--seed S]
                          [--journal FILE]
  steadfast-mocknet record --upstream URL --out CATALOG --scenario NAME
                           [--listen 127.0.0.1:PORT] [--mode new|all] [--secret-header NAME]...
  steadfast-mocknet verify CATALOG --scenario NAME --against URL [--ignore POINTER]...
                           [--compare POINTER]... [--header 'NAME: VALUE']...
                           [--format text|markdown|json]

link, serve and record print `listening on ADDRESS` as their first line and run in real time
until SIGINT or SIGTERM; link and serve then write the journal (JSON lines) to --journal
(link first resets the connections still open, journaled as such), record writes the catalog. --listen defaults to a free port of 127.0.0.1; --seed to
STEADFAST_SEED.

exit codes:
  link, serve: 0 stopped by a signal, 1 could not run (a port that cannot be bound),
               2 usage or input error (a bad flag, a bad fault or catalog file)
  record:      0 catalog written, 2 usage, upstream or catalog error
  verify:      0 no drift, 1 drift, 2 usage, upstream or catalog error";

/// Why a subcommand failed, and so the exit code.
#[derive(Debug)]
pub enum Fail {
    /// A bad flag or input file: the message, then the usage, exit code 2.
    Usage(String),
    /// Could not run: the message, exit code 1.
    Run(String),
    /// A bad input or upstream of `record` or `verify`: the message, exit code 2.
    Input(String),
}

impl From<steadfast_mocknet::Error> for Fail {
    fn from(err: steadfast_mocknet::Error) -> Self {
        Fail::Input(chain(&err))
    }
}

/// Every message in `err`'s source chain, joined with `: `.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Our errors often say their cause already; do not repeat it.
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Prints a failure and turns the outcome (the exit code of a subcommand that ran) into the
/// exit code.
pub fn exit(outcome: Result<u8, Fail>) -> ExitCode {
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(Fail::Usage(message)) => {
            eprintln!("steadfast-mocknet: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Fail::Run(message)) => {
            eprintln!("steadfast-mocknet: {message}");
            ExitCode::FAILURE
        }
        Err(Fail::Input(message)) => {
            eprintln!("steadfast-mocknet: {message}");
            ExitCode::from(2)
        }
    }
}

/// `--flag value` / `--flag=value` options and positional arguments.
pub struct Options {
    pairs: Vec<(String, String)>,
    pub positional: Vec<String>,
}

impl Options {
    /// Parses `args`, accepting only `flags` (each of which takes a value).
    pub fn parse(args: Vec<OsString>, flags: &[&str]) -> Result<Options, Fail> {
        let mut options = Options {
            pairs: Vec::new(),
            positional: Vec::new(),
        };
        let mut iter = args.into_iter();
        while let Some(arg) = iter.next() {
            let arg = arg
                .into_string()
                .map_err(|arg| Fail::Usage(format!("argument {arg:?} is not UTF-8")))?;
            if !arg.starts_with("--") {
                options.positional.push(arg);
                continue;
            }
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                None => (arg.clone(), None),
            };
            if !flags.contains(&name.as_str()) {
                return Err(Fail::Usage(format!("unknown option {name}")));
            }
            let value = match inline {
                Some(value) => value,
                None => iter
                    .next()
                    .and_then(|value| value.into_string().ok())
                    .ok_or_else(|| Fail::Usage(format!("{name} needs a value")))?,
            };
            options.pairs.push((name, value));
        }
        Ok(options)
    }

    /// The last value given for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.all(name).last().copied()
    }

    /// Every value given for `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    pub fn required(&self, name: &str) -> Result<&str, Fail> {
        self.get(name)
            .ok_or_else(|| Fail::Usage(format!("{name} is required")))
    }

    /// `--listen`, or a free port of 127.0.0.1.
    pub fn listen(&self) -> Result<SocketAddr, Fail> {
        match self.get("--listen") {
            Some(value) => value.parse().map_err(|_| {
                Fail::Usage(format!(
                    "--listen needs an IP address and port such as 127.0.0.1:8080, got {value:?}"
                ))
            }),
            None => Ok(SocketAddr::from(([127, 0, 0, 1], 0))),
        }
    }

    /// `--seed`, or the run seed (`STEADFAST_SEED`).
    pub fn seed(&self) -> Result<Seed, Fail> {
        match self.get("--seed") {
            Some(value) => value.parse().map_err(|_| {
                Fail::Usage(format!(
                    "--seed needs a decimal u64 or 0x followed by up to 16 hex digits, got {value:?}"
                ))
            }),
            None => Seed::run_seed().map_err(|err| Fail::Usage(chain(&err))),
        }
    }
}

/// Prints the first line and flushes it, so a parent process can read it at once.
pub fn announce(address: &str) -> Result<(), Fail> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {address}")
        .and_then(|()| stdout.flush())
        .map_err(|err| Fail::Run(format!("could not write to stdout: {err}")))
}

/// A current-thread runtime on real time.
pub fn runtime() -> Result<tokio::runtime::Runtime, Fail> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Fail::Run(format!("could not start a tokio runtime: {err}")))
}

/// SIGINT and SIGTERM, caught from [`install`](Self::install) on, so a signal sent as soon as
/// the first line is read stops the command cleanly instead of killing it.
pub struct Stop {
    interrupt: Signal,
    terminate: Signal,
}

impl Stop {
    pub fn install() -> Result<Stop, Fail> {
        let listen = |kind| {
            signal(kind).map_err(|err| Fail::Run(format!("could not listen for signals: {err}")))
        };
        Ok(Stop {
            interrupt: listen(SignalKind::interrupt())?,
            terminate: listen(SignalKind::terminate())?,
        })
    }

    /// Resolves when either signal arrives.
    pub async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// Writes `lines` to `path` as JSON lines, when a journal file was asked for.
pub fn write_journal(path: Option<&str>, lines: &[String]) -> Result<(), Fail> {
    let Some(path) = path else {
        return Ok(());
    };
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    std::fs::write(Path::new(path), text)
        .map_err(|err| Fail::Run(format!("could not write journal {path}: {err}")))
}
