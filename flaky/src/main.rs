//! The `steadfast-flaky` command: `run`, `report` and `gate`. See the crate README.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use steadfast_determinism::Seed;
use steadfast_flaky::gate::{Quarantine, gate};
use steadfast_flaky::input::read_report;
use steadfast_flaky::render::{OutputFormat, render};
use steadfast_flaky::run::{RunConfig, run};
use steadfast_flaky::time::Date;
use steadfast_flaky::{Report, SeedMode};

const USAGE: &str = "\
usage:
  steadfast-flaky run --runs N [--retries R] [--seed-mode same|vary] [--seed S]
                      [--junit PATH] [--dir DIR] [--format markdown|json|junit] -- COMMAND...
  steadfast-flaky report [--format markdown|json|junit] [--output PATH] INPUT...
  steadfast-flaky gate REPORT... [--max-flaky N] [--quarantine FILE]

exit codes: 0 all stable, 1 a test failed in every run (gate: or a quarantine entry expired),
            3 flaky tests found (gate: more than --max-flaky), 2 usage or input error";

/// A usage or input error: printed, exit code 2.
struct Fail(String);

impl<E: std::error::Error> From<E> for Fail {
    fn from(err: E) -> Self {
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        Fail(text)
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match dispatch(args) {
        Ok(code) => ExitCode::from(code),
        Err(Fail(message)) => {
            eprintln!("steadfast-flaky: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(mut args: Vec<OsString>) -> Result<u8, Fail> {
    if args.is_empty() {
        return Err(Fail("no subcommand".into()));
    }
    let subcommand = args.remove(0);
    match subcommand.to_str() {
        Some("run") => cmd_run(args),
        Some("report") => cmd_report(args),
        Some("gate") => cmd_gate(args),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(0)
        }
        _ => Err(Fail(format!(
            "unknown subcommand {:?}",
            subcommand.to_string_lossy()
        ))),
    }
}

/// Splits `--flag value` / `--flag=value` options from positional arguments.
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
            return Err(Fail(format!("unknown option {name}")));
        }
        let value = match inline {
            Some(value) => value,
            None => iter
                .next()
                .and_then(|value| value.into_string().ok())
                .ok_or_else(|| Fail(format!("{name} needs a value")))?,
        };
        options.pairs.push((name, value));
    }
    Ok(options)
}

impl Options {
    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn number(&self, name: &str) -> Result<Option<u32>, Fail> {
        self.get(name)
            .map(|value| {
                value
                    .parse()
                    .map_err(|_| Fail(format!("{name} must be a whole number, got {value:?}")))
            })
            .transpose()
    }

    fn format(&self) -> Result<OutputFormat, Fail> {
        match self.get("--format") {
            None => Ok(OutputFormat::Markdown),
            Some(name) => OutputFormat::parse(name).ok_or_else(|| {
                Fail(format!(
                    "--format must be markdown, json or junit, got {name:?}"
                ))
            }),
        }
    }
}

fn cmd_run(mut args: Vec<OsString>) -> Result<u8, Fail> {
    let Some(separator) = args.iter().position(|arg| arg == "--") else {
        return Err(Fail("run needs `-- COMMAND...` after its options".into()));
    };
    let command = args.split_off(separator + 1);
    args.pop();
    if command.is_empty() {
        return Err(Fail("run needs a command after `--`".into()));
    }
    let options = parse_options(
        args,
        &[
            "--runs",
            "--retries",
            "--seed-mode",
            "--seed",
            "--junit",
            "--dir",
            "--format",
        ],
    )?;
    if let Some(extra) = options.positional.first() {
        return Err(Fail(format!(
            "unexpected argument {:?} before `--`",
            extra.to_string_lossy()
        )));
    }
    let runs = options.number("--runs")?.unwrap_or(1);
    if runs == 0 {
        return Err(Fail("--runs must be at least 1".into()));
    }
    let mut config = RunConfig::new(command).runs(runs);
    if let Some(retries) = options.number("--retries")? {
        config = config.retries(retries);
    }
    config = config.seed_mode(match options.get("--seed-mode") {
        None | Some("same") => SeedMode::Same,
        Some("vary") => SeedMode::Vary,
        Some(other) => {
            return Err(Fail(format!(
                "--seed-mode must be same or vary, got {other:?}"
            )));
        }
    });
    if let Some(seed) = options.get("--seed") {
        config = config.seed(seed.parse::<Seed>()?);
    }
    if let Some(junit) = options.get("--junit") {
        config = config.junit(junit);
    }
    if let Some(dir) = options.get("--dir") {
        config = config.dir(dir);
    }
    let format = options.format()?;
    let report = run(&config)?;
    print!("{}", render(&report, format));
    Ok(exit_code(report.exit_code()))
}

fn exit_code(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(2)
}

fn read_inputs(inputs: &[OsString]) -> Result<Report, Fail> {
    if inputs.is_empty() {
        return Err(Fail("no input files".into()));
    }
    let mut report = Report::new();
    for input in inputs {
        report.merge(read_report(&PathBuf::from(input))?);
    }
    Ok(report)
}

fn cmd_report(args: Vec<OsString>) -> Result<u8, Fail> {
    let options = parse_options(args, &["--format", "--output"])?;
    let format = options.format()?;
    let report = read_inputs(&options.positional)?;
    let text = render(&report, format);
    match options.get("--output") {
        Some(path) => std::fs::write(path, text)
            .map_err(|err| Fail(format!("could not write {path}: {err}")))?,
        None => print!("{text}"),
    }
    Ok(0)
}

fn cmd_gate(args: Vec<OsString>) -> Result<u8, Fail> {
    let options = parse_options(args, &["--max-flaky", "--quarantine"])?;
    let report = read_inputs(&options.positional)?;
    let quarantine = match options.get("--quarantine") {
        Some(path) => Quarantine::read(&PathBuf::from(path))?,
        None => Quarantine::default(),
    };
    let max_flaky = options.number("--max-flaky")?.unwrap_or(0);
    let verdict = gate(&report, &quarantine, max_flaky as usize, Date::today());
    print!("{}", verdict.summary());
    Ok(exit_code(verdict.exit_code()))
}
