//! The `steadfast-flaky` command: `run`, `report`, `gate` and `history`. See the crate README.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use steadfast_determinism::Seed;
use steadfast_flaky::gate::{Quarantine, gate};
use steadfast_flaky::html::{EmbedLimits, HtmlReport, RunLog, VisualArtifacts, read_detailed};
use steadfast_flaky::input::{Input, Warning, read_input};
use steadfast_flaky::render::{OutputFormat, error_line, render};
use steadfast_flaky::run::{RunConfig, run};
use steadfast_flaky::time::{Date, parse_duration};
use steadfast_flaky::{Report, SeedMode};

const USAGE: &str = "\
usage:
  steadfast-flaky run --runs N [--retries R] [--seed-mode same|vary] [--seed S]
                      [--junit PATH] [--dir DIR] [--timeout DURATION]
                      [--format markdown|json|junit] -- COMMAND...
  steadfast-flaky report [--format markdown|json|junit|html] [--output PATH] [--keep-going]
                         [--quarantine FILE] [--visual DIR] [--max-image-bytes N]
                         [--max-embed-bytes N] [--history DB] INPUT...
  steadfast-flaky gate [--max-flaky N] [--quarantine FILE] [--keep-going] REPORT...
  steadfast-flaky history add --db URL [--commit SHA] [--branch B] [--run-id ID] REPORT...
  steadfast-flaky history show --db URL [--since DAYS] [--format markdown|json|html]
                  [--output PATH] [--min-results N] [--max-disrupted SHARE] [--green-streak N]

  URL: sqlite:PATH, a file path, or postgres://USER@HOST:PORT/DB

--timeout is per run, such as 90s, 30m or 1h30m: the command runs in a process group of its
own, which gets SIGTERM at the timeout and SIGKILL 5 s later.

exit codes:
  run     0 every test stable, 1 a test failed in every run, 3 flaky tests found,
          2 also when a run did not finish (killed by a signal, timed out, interrupted,
          no JUnit report or one that cannot be read): the report holds the runs before it
  report  0 the report was written, whatever it says
  gate    0 passed, 1 a test failed in every run or a quarantine entry expired,
          3 more flaky tests than --max-flaky
  history 0 the run was added (or was there already), or the summary was written
  all     2 a usage or input error";

/// Why a command stopped: printed as one line, exit code 2.
enum Fail {
    /// The command line is wrong: the usage text follows the message.
    Usage(String),
    /// An input, a file to write or the test command failed.
    Input(String),
}

impl<E: std::error::Error> From<E> for Fail {
    fn from(err: E) -> Self {
        Fail::Input(error_line(&err))
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match dispatch(args) {
        Ok(code) => ExitCode::from(code),
        Err(Fail::Usage(message)) => {
            eprintln!("steadfast-flaky: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Fail::Input(message)) => {
            eprintln!("steadfast-flaky: {message}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(mut args: Vec<OsString>) -> Result<u8, Fail> {
    if args.is_empty() {
        return Err(Fail::Usage("no subcommand".into()));
    }
    let subcommand = args.remove(0);
    match subcommand.to_str() {
        Some("run") => cmd_run(args),
        Some("report") => cmd_report(args),
        Some("gate") => cmd_gate(args),
        Some("history") => cmd_history(args),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(0)
        }
        _ => Err(Fail::Usage(format!(
            "unknown subcommand {:?}",
            subcommand.to_string_lossy()
        ))),
    }
}

/// Splits `--flag value` / `--flag=value` options and `--switch`es from positional arguments.
struct Options {
    pairs: Vec<(String, String)>,
    switches: Vec<String>,
    positional: Vec<OsString>,
}

fn parse_options(args: Vec<OsString>, flags: &[&str], switches: &[&str]) -> Result<Options, Fail> {
    let mut options = Options {
        pairs: Vec::new(),
        switches: Vec::new(),
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
        if switches.contains(&name.as_str()) {
            if inline.is_some() {
                return Err(Fail::Usage(format!("{name} takes no value")));
            }
            options.switches.push(name);
            continue;
        }
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

impl Options {
    fn is_set(&self, switch: &str) -> bool {
        self.switches.iter().any(|name| name == switch)
    }

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
                value.parse().map_err(|_| {
                    Fail::Usage(format!("{name} must be a whole number, got {value:?}"))
                })
            })
            .transpose()
    }

    /// `--format`, one of `allowed` (the words of the error message).
    fn format(&self, allowed: &str) -> Result<OutputFormat, Fail> {
        match self.get("--format") {
            None => Ok(OutputFormat::Markdown),
            Some(name) => OutputFormat::parse(name)
                .ok_or_else(|| Fail::Usage(format!("--format must be {allowed}, got {name:?}"))),
        }
    }
}

fn cmd_run(mut args: Vec<OsString>) -> Result<u8, Fail> {
    let Some(separator) = args.iter().position(|arg| arg == "--") else {
        return Err(Fail::Usage(
            "run needs `-- COMMAND...` after its options".into(),
        ));
    };
    let command = args.split_off(separator + 1);
    args.pop();
    if command.is_empty() {
        return Err(Fail::Usage("run needs a command after `--`".into()));
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
            "--timeout",
            "--format",
        ],
        &[],
    )?;
    if let Some(extra) = options.positional.first() {
        return Err(Fail::Usage(format!(
            "unexpected argument {:?} before `--`",
            extra.to_string_lossy()
        )));
    }
    let runs = options.number("--runs")?.unwrap_or(1);
    if runs == 0 {
        return Err(Fail::Usage("--runs must be at least 1".into()));
    }
    let mut config = RunConfig::new(command).runs(runs);
    if let Some(retries) = options.number("--retries")? {
        config = config.retries(retries);
    }
    config = config.seed_mode(match options.get("--seed-mode") {
        None | Some("same") => SeedMode::Same,
        Some("vary") => SeedMode::Vary,
        Some(other) => {
            return Err(Fail::Usage(format!(
                "--seed-mode must be same or vary, got {other:?}"
            )));
        }
    });
    if let Some(seed) = options.get("--seed") {
        let seed = seed
            .parse::<Seed>()
            .map_err(|err| Fail::Usage(format!("--seed: {}", error_line(&err))))?;
        config = config.seed(seed);
    }
    if let Some(junit) = options.get("--junit") {
        config = config.junit(junit);
    }
    if let Some(dir) = options.get("--dir") {
        config = config.dir(dir);
    }
    if let Some(timeout) = options.get("--timeout") {
        let timeout = parse_duration(timeout)
            .filter(|timeout| !timeout.is_zero())
            .ok_or_else(|| {
                Fail::Usage(format!(
                    "--timeout must be a duration above 0 such as 90s, 30m or 1h30m, got {timeout:?}"
                ))
            })?;
        config = config.timeout(timeout);
    }
    let format = options.format("markdown, json or junit")?;
    let runs = run(&config)?;
    print!("{}", runs.render(format));
    if let Some(unfinished) = runs.unfinished() {
        eprintln!(
            "steadfast-flaky: {}; runs finished and reported: {} of {}",
            unfinished.reason(),
            runs.finished(),
            runs.planned()
        );
    }
    Ok(exit_code(runs.exit_code()))
}

fn exit_code(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(2)
}

/// Reads and merges the inputs, printing each file's warnings, which it returns too. A bad
/// input stops the command, unless `keep_going`: then it is reported and skipped.
fn read_inputs(inputs: &[OsString], keep_going: bool) -> Result<(Report, Vec<Warning>), Fail> {
    let mut report = Report::new();
    let mut warnings = Vec::new();
    read_each(
        inputs,
        keep_going,
        read_input,
        |input| input,
        |input| {
            report.merge(input.report);
            warnings.extend(input.warnings);
        },
    )?;
    Ok((report, warnings))
}

/// Reads each input with `read` and hands it to `add`, printing its warnings; see
/// [`read_inputs`].
fn read_each<T>(
    inputs: &[OsString],
    keep_going: bool,
    read: impl Fn(&Path) -> Result<T, steadfast_flaky::Error>,
    input_of: impl Fn(&T) -> &Input,
    mut add: impl FnMut(T),
) -> Result<(), Fail> {
    if inputs.is_empty() {
        return Err(Fail::Usage("no input files".into()));
    }
    let mut read_count = 0;
    for input in inputs {
        match read(Path::new(input)) {
            Ok(item) => {
                for warning in &input_of(&item).warnings {
                    eprintln!("steadfast-flaky: warning: {warning}");
                }
                add(item);
                read_count += 1;
            }
            Err(err) if keep_going => eprintln!("steadfast-flaky: skipped: {}", error_line(&err)),
            Err(err) => return Err(err.into()),
        }
    }
    if read_count == 0 {
        return Err(Fail::Input("no input could be read".into()));
    }
    Ok(())
}

/// The Markdown report's note on inputs that cannot show passes on retry, or nothing.
fn warnings_markdown(warnings: &[Warning]) -> String {
    if warnings.is_empty() {
        return String::new();
    }
    let mut text = String::from("\n### Inputs that cannot show passes on retry\n\n");
    for warning in warnings {
        text.push_str(&format!("- {warning}\n"));
    }
    text
}

/// The options of `report` that only `--format html` takes.
const HTML_OPTIONS: [&str; 5] = [
    "--history",
    "--quarantine",
    "--visual",
    "--max-image-bytes",
    "--max-embed-bytes",
];

fn cmd_report(args: Vec<OsString>) -> Result<u8, Fail> {
    let mut flags = vec!["--format", "--output"];
    flags.extend(HTML_OPTIONS);
    let options = parse_options(args, &flags, &["--keep-going"])?;
    let text = if options.get("--format") == Some("html") {
        html_report(&options)?
    } else {
        if let Some(option) = HTML_OPTIONS.iter().find(|name| options.get(name).is_some()) {
            return Err(Fail::Usage(format!("{option} is only for --format html")));
        }
        let format = options.format("markdown, json, junit or html")?;
        let (report, warnings) = read_inputs(&options.positional, options.is_set("--keep-going"))?;
        let mut text = render(&report, format);
        if format == OutputFormat::Markdown {
            text.push_str(&warnings_markdown(&warnings));
        }
        text
    };
    match options.get("--output") {
        Some(path) => std::fs::write(path, text)
            .map_err(|err| Fail::Input(format!("could not write {path}: {err}")))?,
        None => print!("{text}"),
    }
    Ok(0)
}

/// The HTML page of `report --format html`: every run of the inputs, the quarantine and the
/// visual artifacts.
fn html_report(options: &Options) -> Result<String, Fail> {
    let mut report = Report::new();
    let mut runs = RunLog::new();
    let mut warnings = Vec::new();
    read_each(
        &options.positional,
        options.is_set("--keep-going"),
        read_detailed,
        |detailed| &detailed.input,
        |detailed| {
            report.merge(detailed.input.report);
            warnings.extend(detailed.input.warnings);
            runs.merge(detailed.runs);
        },
    )?;
    let mut limits = EmbedLimits::default();
    if let Some(bytes) = options.number("--max-image-bytes")? {
        limits = limits.per_image(u64::from(bytes));
    }
    if let Some(bytes) = options.number("--max-embed-bytes")? {
        limits = limits.total(u64::from(bytes));
    }
    let visual_dir = match options.get("--visual") {
        Some(dir) => PathBuf::from(dir),
        None => steadfast_flaky::html::visual_dir_with(|name| std::env::var_os(name)),
    };
    let visual = VisualArtifacts::scan(&visual_dir, limits)?;
    let quarantine = match options.get("--quarantine") {
        Some(path) => Some(Quarantine::read(Path::new(path))?),
        None => None,
    };
    let trend = history_trend(options)?;
    let mut page = HtmlReport::new(&report)
        .runs(&runs)
        .visual(&visual)
        .warnings(&warnings);
    if let Some(quarantine) = &quarantine {
        page = page.quarantine(quarantine, Date::today());
    }
    if let Some(chart) = &trend {
        page = page.trend(chart);
    }
    Ok(page.render())
}

/// The trend chart of the history `--history DB` names, over `history show`'s default window.
#[cfg(feature = "history")]
fn history_trend(options: &Options) -> Result<Option<String>, Fail> {
    use steadfast_flaky::history::{History, Query, trend_svg};
    let Some(db) = options.get("--history") else {
        return Ok(None);
    };
    let summary = History::open_existing(db)?.summary(&Query::new())?;
    Ok(Some(trend_svg(&summary.trend)))
}

#[cfg(not(feature = "history"))]
fn history_trend(options: &Options) -> Result<Option<String>, Fail> {
    match options.get("--history") {
        Some(_) => Err(Fail::Input(
            "--history needs steadfast-flaky's `history` feature".into(),
        )),
        None => Ok(None),
    }
}

fn cmd_gate(args: Vec<OsString>) -> Result<u8, Fail> {
    let options = parse_options(args, &["--max-flaky", "--quarantine"], &["--keep-going"])?;
    let max_flaky = options.number("--max-flaky")?.unwrap_or(0);
    let quarantine = match options.get("--quarantine") {
        Some(path) => Quarantine::read(&PathBuf::from(path))?,
        None => Quarantine::default(),
    };
    let (report, _warnings) = read_inputs(&options.positional, options.is_set("--keep-going"))?;
    let verdict = gate(&report, &quarantine, max_flaky as usize, Date::today());
    print!("{}", verdict.summary());
    Ok(exit_code(verdict.exit_code()))
}

#[cfg(not(feature = "history"))]
fn cmd_history(_args: Vec<OsString>) -> Result<u8, Fail> {
    Err(Fail::Input(
        "this steadfast-flaky was built without its `history` feature".into(),
    ))
}

#[cfg(feature = "history")]
fn cmd_history(mut args: Vec<OsString>) -> Result<u8, Fail> {
    if args.is_empty() {
        return Err(Fail::Usage("history needs add or show".into()));
    }
    let action = args.remove(0);
    match action.to_str() {
        Some("add") => history_cli::add(args),
        Some("show") => history_cli::show(args),
        _ => Err(Fail::Usage(format!(
            "unknown history subcommand {:?}: expected add or show",
            action.to_string_lossy()
        ))),
    }
}

#[cfg(feature = "history")]
mod history_cli {
    //! `history add` and `history show`.

    use std::ffi::OsString;

    use steadfast_flaky::history::{
        History, HistoryFormat, QuarantineRule, Query, RunInfo, render,
    };

    use super::{Fail, Options, parse_options, read_inputs};

    fn db(options: &Options) -> Result<&str, Fail> {
        options
            .get("--db")
            .ok_or_else(|| Fail::Usage("history needs --db URL".into()))
    }

    pub(super) fn add(args: Vec<OsString>) -> Result<u8, Fail> {
        let options = parse_options(args, &["--db", "--commit", "--branch", "--run-id"], &[])?;
        let db = db(&options)?;
        let (report, _warnings) = read_inputs(&options.positional, false)?;
        let mut info = RunInfo::new();
        if let Some(commit) = options.get("--commit") {
            info = info.commit(commit);
        }
        if let Some(branch) = options.get("--branch") {
            info = info.branch(branch);
        }
        match options.get("--run-id") {
            Some(run_id) => info = info.run_id(run_id),
            None if report
                .tests()
                .all(|(_, stats)| stats.first_seen_ms.is_none()) =>
            {
                eprintln!(
                    "steadfast-flaky: warning: the report has no timestamps, so its run id comes \
                 from its results alone and a later run with the same results would not be \
                 counted: pass --run-id"
                )
            }
            None => {}
        }
        let mut history = History::open(db)?;
        let added = history.add(&info, &report)?;
        if added.is_new {
            println!(
                "steadfast-flaky: added run {} ({}) to {}: {} tests, {} disrupted",
                added.run,
                added.run_id,
                history.database(),
                added.tests,
                added.disrupted
            );
        } else {
            println!(
                "steadfast-flaky: {} already has run {} ({}): not counted again",
                history.database(),
                added.run,
                added.run_id
            );
        }
        Ok(0)
    }

    pub(super) fn show(args: Vec<OsString>) -> Result<u8, Fail> {
        let options = parse_options(
            args,
            &[
                "--db",
                "--since",
                "--format",
                "--output",
                "--min-results",
                "--max-disrupted",
                "--green-streak",
            ],
            &[],
        )?;
        if let Some(extra) = options.positional.first() {
            return Err(Fail::Usage(format!(
                "history show takes no argument, got {:?}",
                extra.to_string_lossy()
            )));
        }
        let db = db(&options)?;
        let format = match options.get("--format") {
            None => HistoryFormat::Markdown,
            Some(name) => HistoryFormat::parse(name).ok_or_else(|| {
                Fail::Usage(format!(
                    "--format must be markdown, json or html, got {name:?}"
                ))
            })?,
        };
        let at_least_one = |name: &str, value: Option<u32>| match value {
            Some(0) => Err(Fail::Usage(format!("{name} must be at least 1"))),
            _ => Ok(value),
        };
        let mut rule = QuarantineRule::default();
        if let Some(min) = options.number("--min-results")? {
            rule.min_results = u64::from(min);
        }
        if let Some(share) = options.get("--max-disrupted") {
            rule.max_disrupted = parse_share(share)?;
        }
        let mut query = Query::new().rule(rule);
        if let Some(days) = at_least_one("--since", options.number("--since")?)? {
            query = query.since_days(days);
        }
        if let Some(runs) = at_least_one("--green-streak", options.number("--green-streak")?)? {
            query = query.green_streak(runs);
        }
        let summary = History::open_existing(db)?.summary(&query)?;
        let text = render(&summary, format);
        match options.get("--output") {
            Some(path) => std::fs::write(path, text)
                .map_err(|err| Fail::Input(format!("could not write {path}: {err}")))?,
            None => print!("{text}"),
        }
        Ok(0)
    }

    /// `0.3` or `30%`: a share in `0..=1`.
    fn parse_share(text: &str) -> Result<f64, Fail> {
        let share = match text.strip_suffix('%') {
            Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
            None => text.parse::<f64>(),
        };
        match share {
            Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
            _ => Err(Fail::Usage(format!(
                "--max-disrupted must be a share from 0 to 1 (0.3) or a percentage (30%), got \
                 {text:?}"
            ))),
        }
    }
}
