//! `history show`'s output: Markdown (for `$GITHUB_STEP_SUMMARY`), JSON and a self-contained
//! HTML page with an inline SVG trend chart ([`trend_svg`] draws it alone, for other pages).
//!
//! # JSON schema (`steadfast-flaky/history/v1`)
//!
//! ```text
//! { "schema": "steadfast-flaky/history/v1",
//!   "window": { "since_days", "first_day", "last_day", "runs" },   // days as YYYY-MM-DD
//!   "rule": { "min_results", "max_disrupted", "green_streak" },
//!   "summary": { "tests", "disrupted", "stable_fail", "quarantine", "green" },
//!   "quarantine": ["<test id>"], "green": ["<test id>"],
//!   "trend": [ { "day", "runs", "results", "disrupted_results", "disrupted_tests" } ],
//!   "tests": [ {                                     // every test with results, by id
//!       "test", "status",                            // stable-pass | stable-fail | flaky
//!       "runs", "failed_runs", "flaky_runs",
//!       "flake_rate", "flake_rate_low", "flake_rate_high",  // Wilson 95 % interval
//!       "green_streak", "quarantine", "green",
//!       "turned_flaky": { "run", "run_id", "commit", "branch", "at" } | null,
//!       "last_disruption": { "run", "run_id", "commit", "branch", "at", "seed", "message" }
//!                          | null } ] }
//! ```
//!
//! `at` is `YYYY-MM-DDTHH:MM:SSZ`. Fields are only ever added.

mod html;

use std::fmt::Write as _;

use serde::Serialize;

pub use html::{to_html, trend_svg};

use super::summary::{Disruption, RunRef, Summary, TestHistory};
use crate::render::percent;
use crate::report::Status;
use crate::time::format_millis;

/// The JSON schema name.
const SCHEMA: &str = "steadfast-flaky/history/v1";

/// The output formats of `history show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HistoryFormat {
    /// Markdown tables.
    Markdown,
    /// JSON, schema `steadfast-flaky/history/v1`.
    Json,
    /// One self-contained HTML page.
    Html,
}

impl HistoryFormat {
    /// `markdown` (or `md`), `json` or `html`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "markdown" | "md" => Some(Self::Markdown),
            "json" => Some(Self::Json),
            "html" => Some(Self::Html),
            _ => None,
        }
    }
}

/// Renders a summary in a format.
pub fn render(summary: &Summary, format: HistoryFormat) -> String {
    match format {
        HistoryFormat::Markdown => to_markdown(summary),
        HistoryFormat::Json => to_json(summary),
        HistoryFormat::Html => to_html(summary),
    }
}

/// What a disrupted test is called in the tables, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Verdict {
    Quarantine,
    Failing,
    Flaky,
    Green,
}

impl Verdict {
    pub(crate) fn of(test: &TestHistory) -> Self {
        if test.quarantine {
            Verdict::Quarantine
        } else if test.green {
            Verdict::Green
        } else if test.status() == Status::StableFail {
            Verdict::Failing
        } else {
            Verdict::Flaky
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verdict::Quarantine => "quarantine",
            Verdict::Failing => "failing",
            Verdict::Flaky => "flaky",
            Verdict::Green => "green",
        }
    }
}

/// The disrupted tests, most urgent verdict first, then highest flake rate, then by id.
pub(crate) fn disrupted_by_verdict(summary: &Summary) -> Vec<(Verdict, &TestHistory)> {
    let mut tests: Vec<(Verdict, &TestHistory)> = summary
        .disrupted()
        .map(|test| (Verdict::of(test), test))
        .collect();
    tests.sort_by(|(va, a), (vb, b)| {
        va.cmp(vb)
            .then(b.flake_rate().0.total_cmp(&a.flake_rate().0))
            .then(a.test.cmp(&b.test))
    });
    tests
}

/// The headline counts: to quarantine, flaky, failing in every result, green.
pub(crate) fn headline(summary: &Summary) -> String {
    let verdicts: Vec<Verdict> = summary.disrupted().map(Verdict::of).collect();
    let count = |verdict| verdicts.iter().filter(|v| **v == verdict).count();
    format!(
        "{} to quarantine, {} flaky, {} failing every time, {} green {} runs in a row",
        count(Verdict::Quarantine),
        count(Verdict::Flaky),
        count(Verdict::Failing),
        count(Verdict::Green),
        summary.green_streak
    )
}

/// The sentence under the headline: window, runs, tests and the rules.
pub(crate) fn scope(summary: &Summary) -> String {
    let plural = |n: usize, word: &str| match n {
        1 => format!("1 {word}"),
        n => format!("{n} {word}s"),
    };
    format!(
        "{} and {} from {} to {} (the last {} days). Quarantine: at least {} results \
         and more than {} disrupted; victory gate: green {} runs in a row.",
        plural(summary.runs as usize, "run"),
        plural(summary.tests.len(), "test"),
        summary.first_day,
        summary.last_day,
        summary.since_days,
        summary.rule.min_results,
        percent(summary.rule.max_disrupted),
        summary.green_streak
    )
}

/// `run N (commit, time)`.
pub(crate) fn run_text(run: &RunRef) -> String {
    let mut text = format!("run {}", run.run);
    let mut details = Vec::new();
    if let Some(commit) = &run.commit {
        details.push(commit.clone());
    }
    if let Some(branch) = &run.branch {
        details.push(branch.clone());
    }
    details.push(format_millis(run.at_ms));
    let _ = write!(text, " ({})", details.join(", "));
    text
}

/// `run N: message (seed S)`.
pub(crate) fn disruption_text(disruption: &Disruption) -> String {
    let mut text = format!("run {}", disruption.run.run);
    if let Some(message) = &disruption.message {
        let _ = write!(text, ": {message}");
    }
    if let Some(seed) = &disruption.seed {
        let _ = write!(text, " (seed {seed})");
    }
    text
}

/// One line of `text` for a Markdown table cell: no pipe, backtick or tag breaks the table
/// or disappears into HTML.
fn cell(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .replace('|', "\\|")
        .replace('`', "'")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The Markdown summary: a headline, one table of the disrupted tests (verdict, results,
/// failed runs, passes on retry, flake rate with its 95 % interval, green streak, the run that
/// turned it flaky and the latest disruption), and the daily trend.
pub fn to_markdown(summary: &Summary) -> String {
    let mut out = format!(
        "## steadfast-flaky history: {}\n\n{}\n\n",
        headline(summary),
        scope(summary)
    );
    let disrupted = disrupted_by_verdict(summary);
    if disrupted.is_empty() {
        out.push_str("No test failed or passed only on retry in the window.\n");
    } else {
        out.push_str(
            "| verdict | test | results | failed | passed on retry | flake rate (95% CI) | green streak | turned flaky | last disruption |\n\
             | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
        );
        for (verdict, test) in &disrupted {
            let (rate, low, high) = test.flake_rate();
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} | {} ({}–{}) | {} | {} | {} |",
                verdict.as_str(),
                cell(&test.test),
                test.runs,
                test.failed_runs,
                test.flaky_runs,
                percent(rate),
                percent(low),
                percent(high),
                test.green_streak,
                test.turned_flaky
                    .as_ref()
                    .map(|run| cell(&run_text(run)))
                    .unwrap_or_default(),
                test.last_disruption
                    .as_ref()
                    .map(|d| cell(&disruption_text(d)))
                    .unwrap_or_default(),
            );
        }
    }
    if !summary.trend.is_empty() {
        out.push_str(
            "\n<details><summary>Trend by day</summary>\n\n\
             | day | runs | results | disrupted results | tests disrupted |\n\
             | --- | --- | --- | --- | --- |\n",
        );
        for point in &summary.trend {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                point.day,
                point.runs,
                point.results,
                point.disrupted_results,
                point.disrupted_tests
            );
        }
        out.push_str("\n</details>\n");
    }
    out
}

#[derive(Serialize)]
struct JsonHistory<'a> {
    schema: &'static str,
    window: JsonWindow,
    rule: JsonRule,
    summary: JsonCounts,
    quarantine: Vec<&'a str>,
    green: Vec<&'a str>,
    trend: Vec<JsonPoint>,
    tests: Vec<JsonTest<'a>>,
}

#[derive(Serialize)]
struct JsonWindow {
    since_days: u32,
    first_day: String,
    last_day: String,
    runs: u64,
}

#[derive(Serialize)]
struct JsonRule {
    min_results: u64,
    max_disrupted: f64,
    green_streak: u32,
}

#[derive(Serialize)]
struct JsonCounts {
    tests: usize,
    disrupted: usize,
    stable_fail: usize,
    quarantine: usize,
    green: usize,
}

#[derive(Serialize)]
struct JsonPoint {
    day: String,
    runs: u64,
    results: u64,
    disrupted_results: u64,
    disrupted_tests: u64,
}

#[derive(Serialize)]
struct JsonTest<'a> {
    test: &'a str,
    status: &'static str,
    runs: u64,
    failed_runs: u64,
    flaky_runs: u64,
    flake_rate: f64,
    flake_rate_low: f64,
    flake_rate_high: f64,
    green_streak: u64,
    quarantine: bool,
    green: bool,
    turned_flaky: Option<JsonRun<'a>>,
    last_disruption: Option<JsonDisruption<'a>>,
}

#[derive(Serialize)]
struct JsonRun<'a> {
    run: i64,
    run_id: &'a str,
    commit: Option<&'a str>,
    branch: Option<&'a str>,
    at: String,
}

impl<'a> JsonRun<'a> {
    fn of(run: &'a RunRef) -> Self {
        Self {
            run: run.run,
            run_id: &run.run_id,
            commit: run.commit.as_deref(),
            branch: run.branch.as_deref(),
            at: format_millis(run.at_ms),
        }
    }
}

#[derive(Serialize)]
struct JsonDisruption<'a> {
    #[serde(flatten)]
    run: JsonRun<'a>,
    seed: Option<&'a str>,
    message: Option<&'a str>,
}

/// The JSON summary (see the module docs for the schema), pretty-printed.
pub fn to_json(summary: &Summary) -> String {
    let json = JsonHistory {
        schema: SCHEMA,
        window: JsonWindow {
            since_days: summary.since_days,
            first_day: summary.first_day.to_string(),
            last_day: summary.last_day.to_string(),
            runs: summary.runs,
        },
        rule: JsonRule {
            min_results: summary.rule.min_results,
            max_disrupted: summary.rule.max_disrupted,
            green_streak: summary.green_streak,
        },
        summary: JsonCounts {
            tests: summary.tests.len(),
            disrupted: summary.disrupted().count(),
            stable_fail: summary
                .tests
                .iter()
                .filter(|test| test.status() == Status::StableFail)
                .count(),
            quarantine: summary.quarantine().count(),
            green: summary.green().count(),
        },
        quarantine: summary
            .quarantine()
            .map(|test| test.test.as_str())
            .collect(),
        green: summary.green().map(|test| test.test.as_str()).collect(),
        trend: summary
            .trend
            .iter()
            .map(|point| JsonPoint {
                day: point.day.to_string(),
                runs: point.runs,
                results: point.results,
                disrupted_results: point.disrupted_results,
                disrupted_tests: point.disrupted_tests,
            })
            .collect(),
        tests: summary.tests.iter().map(json_test).collect(),
    };
    // OK because every field is a string, number, bool, option or sequence of them.
    let mut text = serde_json::to_string_pretty(&json).expect("a history serialises");
    text.push('\n');
    text
}

fn json_test(test: &TestHistory) -> JsonTest<'_> {
    let (rate, low, high) = test.flake_rate();
    JsonTest {
        test: &test.test,
        status: test.status().as_str(),
        runs: test.runs,
        failed_runs: test.failed_runs,
        flaky_runs: test.flaky_runs,
        flake_rate: rate,
        flake_rate_low: low,
        flake_rate_high: high,
        green_streak: test.green_streak,
        quarantine: test.quarantine,
        green: test.green,
        turned_flaky: test.turned_flaky.as_ref().map(JsonRun::of),
        last_disruption: test
            .last_disruption
            .as_ref()
            .map(|disruption| JsonDisruption {
                run: JsonRun::of(&disruption.run),
                seed: disruption.seed.as_deref(),
                message: disruption.message.as_deref(),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_keeps_one_line_and_breaks_neither_table_nor_html() {
        assert_eq!(cell("a|b `c` <d>\nsecond line"), "a\\|b 'c' &lt;d&gt;");
    }
}
