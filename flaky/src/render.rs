//! Writing reports: Markdown (for CI step summaries), JSON (stable schema) and JUnit.
//!
//! ```
//! use steadfast_flaky::{Observation, Outcome, Report};
//! use steadfast_flaky::render::{to_json, to_markdown};
//!
//! let mut report = Report::new();
//! report.observe(Observation::new("app login", Outcome::Failed));
//! report.observe(Observation::new("app login", Outcome::Passed));
//! assert!(to_markdown(&report).contains("| flaky | `app login` | 1/2 |"));
//! assert!(to_json(&report).contains(r#""status": "flaky""#));
//! ```
//!
//! # JSON schema (`steadfast-flaky/report/v1`)
//!
//! ```text
//! { "schema": "steadfast-flaky/report/v1",
//!   "summary": { "tests", "stable_pass", "stable_fail", "flaky", "skipped" },
//!   "tests": [ {                                  // sorted by id
//!       "id": "<binary id> <test name>",
//!       "status": "stable-pass" | "stable-fail" | "flaky" | "skipped",
//!       "flake_rate", "flake_rate_low", "flake_rate_high",   // Wilson 95 % interval
//!       "runs", "passes", "failures", "passed_on_retry", "attempts", "same_seed_retries",
//!       "skipped",
//!       "first_seen_ms", "last_seen_ms",              // Unix ms or null
//!       "failing_seeds": ["0x…"],
//!       "last_failure": { "at_ms", "seed", "message", "replay" } | null } ],
//!   "unfinished_run": { "run", "of", "seed", "reason" } }   // only from `run`, see below
//! ```
//!
//! `unfinished_run` is there only when a run of `steadfast-flaky run` did not finish (see
//! [`run`](crate::run)): its number (from 1) of how many were asked for, its seed and why, on
//! one line; `tests` then hold the runs before it.
//!
//! Fields are only ever added. `report` reads this format back, so JSON reports of many runs
//! merge like any other input.

use std::fmt::Write as _;

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestRerun, TestSuite};
use serde::Serialize;

use crate::input::REPORT_SCHEMA;
use crate::report::{Report, Status, TestStats};
use crate::time::format_millis;

/// The output formats of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputFormat {
    /// A Markdown table, for `$GITHUB_STEP_SUMMARY`.
    Markdown,
    /// JSON, schema `steadfast-flaky/report/v1`.
    Json,
    /// JUnit XML: flaky tests as passes with `flakyFailure`.
    Junit,
}

impl OutputFormat {
    /// `markdown`, `json` or `junit`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "markdown" | "md" => Some(Self::Markdown),
            "json" => Some(Self::Json),
            "junit" | "xml" => Some(Self::Junit),
            _ => None,
        }
    }
}

/// `err` and its causes on one line, as the command and the reports print an error: each
/// cause once, and a cause whose text the line already holds adds nothing.
///
/// ```
/// use std::io;
///
/// let err = io::Error::new(io::ErrorKind::Other, "disk full");
/// assert_eq!(steadfast_flaky::render::error_line(&err), "disk full");
/// ```
pub fn error_line(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Renders a report in a format.
pub fn render(report: &Report, format: OutputFormat) -> String {
    match format {
        OutputFormat::Markdown => to_markdown(report),
        OutputFormat::Json => to_json(report),
        OutputFormat::Junit => to_junit(report),
    }
}

fn cell(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .replace('|', "\\|")
        .replace('`', "'")
}

/// A share as a whole percentage, as the Markdown tables write it: `0.25` → `25%`.
pub(crate) fn percent(value: f64) -> String {
    format!("{:.0}%", value * 100.0)
}

fn counts(report: &Report) -> [(Status, usize); 4] {
    let mut counts = [
        (Status::StableFail, 0),
        (Status::Flaky, 0),
        (Status::StablePass, 0),
        (Status::Skipped, 0),
    ];
    for (_, stats) in report.tests() {
        let status = stats.status();
        for (kind, count) in &mut counts {
            if *kind == status {
                *count += 1;
            }
        }
    }
    counts
}

/// A Markdown summary: a headline, a table of failing and flaky tests (with failed runs, passes
/// on retry, flake rate and its Wilson 95 % interval, failing seeds, the last failure and when
/// the test was first and last seen), replay commands, and the stable passes in a collapsed
/// list.
pub fn to_markdown(report: &Report) -> String {
    let [fail, flaky, pass, skipped] = counts(report).map(|(_, count)| count);
    let mut out = format!(
        "## steadfast-flaky: {flaky} flaky, {fail} failing in every run, {pass} stable, \
         {skipped} skipped ({} tests)\n\n",
        report.len()
    );
    out.push_str(
        "| status | test | failed runs | passed on retry | flake rate (95% CI) | failing seeds | last failure | seen |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut unstable: Vec<(&str, &TestStats)> = report
        .tests()
        .filter(|(_, stats)| matches!(stats.status(), Status::StableFail | Status::Flaky))
        .collect();
    unstable.sort_by_key(|(id, stats)| (stats.status(), *id));
    for (id, stats) in &unstable {
        let (rate, low, high) = stats.flake_rate();
        let seeds: Vec<String> = stats
            .failing_seeds
            .iter()
            .map(|seed| format!("`{seed}`"))
            .collect();
        let mut last = stats
            .last_failure
            .as_deref()
            .and_then(|failure| failure.message.as_deref())
            .map(cell)
            .unwrap_or_default();
        if stats.same_seed_retries > 0 {
            last.push_str(" (passed on retry with the same seed: nondeterminism outside the seed)");
        }
        let seen = match (stats.first_seen_ms, stats.last_seen_ms) {
            (Some(first), Some(last)) if first != last => {
                format!("{} – {}", format_millis(first), format_millis(last))
            }
            (Some(at), _) | (None, Some(at)) => format_millis(at),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {}/{} | {} | {} ({}–{}) | {} | {} | {seen} |",
            stats.status().as_str(),
            cell(id),
            stats.failures,
            stats.runs,
            stats.passed_on_retry,
            percent(rate),
            percent(low),
            percent(high),
            seeds.join(" "),
            last.trim()
        );
    }
    let replays: Vec<(&str, &str)> = unstable
        .iter()
        .filter_map(|(id, stats)| {
            let replay = stats.last_failure.as_deref()?.replay.as_deref()?;
            Some((*id, replay))
        })
        .collect();
    if !replays.is_empty() {
        out.push_str("\nReplay the last failure:\n\n");
        for (id, replay) in replays {
            let _ = writeln!(out, "- `{}`: `{}`", cell(id), cell(replay));
        }
    }
    let stable: Vec<&str> = report
        .with_status(Status::StablePass)
        .map(|(id, _)| id)
        .collect();
    if !stable.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>{} stable passes</summary>\n",
            stable.len()
        );
        for id in stable {
            let _ = writeln!(out, "- `{}`", cell(id));
        }
        out.push_str("\n</details>\n");
    }
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    schema: &'static str,
    summary: JsonSummary,
    tests: Vec<JsonTest<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unfinished_run: Option<&'a JsonUnfinished<'a>>,
}

/// The run that stopped `steadfast-flaky run`, as the JSON report says it.
#[derive(Serialize)]
pub(crate) struct JsonUnfinished<'a> {
    pub(crate) run: u32,
    pub(crate) of: u32,
    pub(crate) seed: String,
    pub(crate) reason: &'a str,
}

#[derive(Serialize)]
struct JsonSummary {
    tests: usize,
    stable_pass: usize,
    stable_fail: usize,
    flaky: usize,
    skipped: usize,
}

#[derive(Serialize)]
struct JsonTest<'a> {
    id: &'a str,
    status: &'static str,
    flake_rate: f64,
    flake_rate_low: f64,
    flake_rate_high: f64,
    #[serde(flatten)]
    stats: &'a TestStats,
}

/// The JSON report (see the module docs for the schema), pretty-printed.
pub fn to_json(report: &Report) -> String {
    to_json_with(report, None)
}

/// The JSON report with the run that did not finish, if one did not.
pub(crate) fn to_json_with(report: &Report, unfinished: Option<&JsonUnfinished<'_>>) -> String {
    let [fail, flaky, pass, skipped] = counts(report).map(|(_, count)| count);
    let json = JsonReport {
        schema: REPORT_SCHEMA,
        summary: JsonSummary {
            tests: report.len(),
            stable_pass: pass,
            stable_fail: fail,
            flaky,
            skipped,
        },
        tests: report
            .tests()
            .map(|(id, stats)| {
                let (rate, low, high) = stats.flake_rate();
                JsonTest {
                    id,
                    status: stats.status().as_str(),
                    flake_rate: rate,
                    flake_rate_low: low,
                    flake_rate_high: high,
                    stats,
                }
            })
            .collect(),
        unfinished_run: unfinished,
    };
    // OK because every field is a string, number, bool, option or sequence of them.
    let mut text = serde_json::to_string_pretty(&json).expect("a report serialises");
    text.push('\n');
    text
}

/// A JUnit report: one suite per binary id, stable passes as passes, flaky tests as passes with
/// one `flakyFailure` (the last failure), stable failures as failures, and the counts as
/// testcase properties.
pub fn to_junit(report: &Report) -> String {
    let mut junit = quick_junit::Report::new("steadfast-flaky");
    let mut suites: Vec<TestSuite> = Vec::new();
    for (id, stats) in report.tests() {
        let (binary, name) = id.split_once(' ').unwrap_or(("", id));
        if suites
            .last()
            .is_none_or(|suite| suite.name.as_str() != binary)
        {
            suites.push(TestSuite::new(binary));
        }
        let failure = stats.last_failure.as_deref();
        let message = failure
            .and_then(|failure| failure.message.clone())
            .unwrap_or_else(|| "test failed".to_owned());
        let detail = failure.map(|failure| {
            let mut detail = String::new();
            if let Some(seed) = &failure.seed {
                let _ = writeln!(detail, "seed: {seed}");
            }
            if let Some(replay) = &failure.replay {
                let _ = writeln!(detail, "replay: {replay}");
            }
            detail
        });
        let status = match stats.status() {
            Status::StablePass => TestCaseStatus::success(),
            Status::Skipped => TestCaseStatus::skipped(),
            Status::Flaky => {
                let mut rerun = TestRerun::new(NonSuccessKind::Failure);
                rerun.set_message(message);
                if let Some(detail) = detail {
                    rerun.set_description(detail);
                }
                let mut status = TestCaseStatus::success();
                status.add_rerun(rerun);
                status
            }
            _ => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(message);
                if let Some(detail) = detail {
                    status.set_description(detail);
                }
                status
            }
        };
        let mut case = TestCase::new(name, status);
        case.set_classname(binary);
        let (rate, _, _) = stats.flake_rate();
        case.add_properties([
            Property::new("runs", stats.runs.to_string()),
            Property::new("failures", stats.failures.to_string()),
            Property::new("passed_on_retry", stats.passed_on_retry.to_string()),
            Property::new("flake_rate", format!("{rate:.4}")),
        ]);
        if let Some(first) = stats.first_seen_ms {
            case.add_property(Property::new("first_seen", format_millis(first)));
        }
        if let Some(last) = stats.last_seen_ms {
            case.add_property(Property::new("last_seen", format_millis(last)));
        }
        // OK because `suites` got a suite for this binary just above.
        suites.last_mut().expect("a suite").add_test_case(case);
    }
    junit.add_test_suites(suites);
    // OK because writing XML to a Vec cannot fail and quick-junit escapes every string.
    junit.to_string().expect("a JUnit report serialises")
}
