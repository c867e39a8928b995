//! The tests section: filters, search, and one row per test with its strip of runs and the
//! details of its attempts.

use std::fmt::Write as _;

use super::HtmlReport;
use super::escape::Esc;
use super::page::Counts;
use super::runs::{Attempt, Run};
use super::trace::{TraceTree, split_trees};
use crate::report::{Failure, Outcome, Status, TestStats};
use crate::time::format_millis;

/// Runs drawn per strip; older ones are counted, not drawn.
const STRIP_RUNS: usize = 60;

pub(super) fn section(out: &mut String, page: &HtmlReport<'_>, counts: &Counts) {
    let total = page.report.len();
    out.push_str(
        "<section id=\"tests\" aria-labelledby=\"tests-heading\">\n\
         <h2 id=\"tests-heading\">Tests</h2>\n<form class=\"filters\" role=\"search\">\n\
         <fieldset><legend>Show</legend>\n",
    );
    let filters = [
        ("all", "All", total),
        ("failing", "Failing", counts.failing),
        ("flaky", "Flaky", counts.flaky),
        ("quarantined", "Quarantined", counts.quarantined),
        ("passing", "Passing", counts.passing),
        ("skipped", "Skipped", counts.skipped),
    ];
    for (value, label, count) in filters {
        let checked = if value == "all" { " checked" } else { "" };
        let _ = writeln!(
            out,
            "<label class=\"filter\"><input type=\"radio\" name=\"filter\" value=\"{value}\"{checked}> \
             {label} <span class=\"count\">{count}</span></label>"
        );
    }
    let _ = write!(
        out,
        "</fieldset>\n<label class=\"search\">Search <input type=\"search\" id=\"search\" \
         placeholder=\"test id or seed\" autocomplete=\"off\" spellcheck=\"false\"></label>\n\
         </form>\n<p id=\"shown\" role=\"status\">{total} of {total} tests shown</p>\n\
         <ol class=\"tests\">\n"
    );
    let mut tests: Vec<(&str, &TestStats)> = page.report.tests().collect();
    tests.sort_by_key(|(id, stats)| (stats.status(), *id));
    for (index, (id, stats)) in tests.into_iter().enumerate() {
        row(out, page, index, id, stats);
    }
    out.push_str(
        "</ol>\n<p class=\"empty\" hidden>No test matches the filter and search.</p>\n</section>\n",
    );
}

/// The filter name and label of a status.
fn status_names(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::StableFail => ("failing", "failing"),
        Status::Flaky => ("flaky", "flaky"),
        Status::StablePass => ("passing", "stable"),
        _ => ("skipped", "skipped"),
    }
}

fn row(out: &mut String, page: &HtmlReport<'_>, index: usize, id: &str, stats: &TestStats) {
    let (status, label) = status_names(stats.status());
    let quarantined = page.quarantined.contains(id);
    let _ = write!(
        out,
        "<li class=\"test\" id=\"test-{index}\" data-status=\"{status}\""
    );
    if quarantined {
        out.push_str(" data-quarantined=\"true\"");
    }
    if !stats.failing_seeds.is_empty() {
        let seeds: Vec<&str> = stats.failing_seeds.iter().map(String::as_str).collect();
        let _ = write!(out, " data-seeds=\"{}\"", Esc(&seeds.join(" ")));
    }
    let _ = write!(
        out,
        ">\n<div class=\"head\"><span class=\"badge {status}\">{label}</span>"
    );
    if quarantined {
        out.push_str("<span class=\"badge quarantined\">quarantined</span>");
    }
    let _ = write!(out, "<code class=\"id\">{}</code>", Esc(id));
    figures(out, stats);
    let runs = page.runs.map_or(&[][..], |log| log.runs(id));
    let inputs = page.runs.map_or(&[][..], |log| log.inputs());
    if runs.is_empty() {
        counted_strip(out, stats);
    } else {
        strip(out, runs, inputs, stats);
    }
    out.push_str("</div>\n");
    details(out, page, runs, inputs, stats);
    out.push_str("</li>\n");
}

fn figures(out: &mut String, stats: &TestStats) {
    let mut parts = vec![format!("{} of {} runs failed", stats.failures, stats.runs)];
    if stats.passed_on_retry > 0 {
        parts.push(format!("{} passed on retry", stats.passed_on_retry));
    }
    if stats.skipped > 0 {
        parts.push(format!("{} skipped", stats.skipped));
    }
    if stats.runs > 0 {
        let (rate, low, high) = stats.flake_rate();
        parts.push(format!(
            "flake rate {} (95 % CI {}–{})",
            percent(rate),
            percent(low),
            percent(high)
        ));
    }
    match (stats.first_seen_ms, stats.last_seen_ms) {
        (Some(first), Some(last)) if first != last => parts.push(format!(
            "seen {} – {}",
            format_millis(first),
            format_millis(last)
        )),
        (Some(at), _) | (None, Some(at)) => parts.push(format!("seen {}", format_millis(at))),
        (None, None) => {}
    }
    let _ = write!(out, "<span class=\"figures\">{}</span>", parts.join(" · "));
}

fn percent(value: f64) -> String {
    format!("{:.0} %", value * 100.0)
}

/// The class and the words for one run.
fn run_kind(run: &Run) -> (&'static str, String) {
    let attempts = run.attempts.len();
    let failed = run
        .attempts
        .iter()
        .filter(|attempt| !attempt.passed)
        .count();
    match run.outcome {
        Outcome::Passed if failed > 0 => (
            "flaky",
            format!("passed on attempt {attempts} after {failed} failed"),
        ),
        Outcome::Passed => ("pass", "passed".to_owned()),
        Outcome::Failed if attempts > 1 => ("fail", format!("failed all {attempts} attempts")),
        Outcome::Failed => ("fail", "failed".to_owned()),
        _ => ("skip", "skipped".to_owned()),
    }
}

fn strip(out: &mut String, runs: &[Run], inputs: &[String], stats: &TestStats) {
    out.push_str("<ol class=\"strip\" aria-label=\"Runs in input order\">");
    let hidden = runs.len().saturating_sub(STRIP_RUNS);
    if hidden > 0 {
        let _ = write!(out, "<li class=\"more\">+{hidden} earlier</li>");
    }
    for (number, run) in runs.iter().enumerate().skip(hidden) {
        let (class, words) = run_kind(run);
        let input = inputs.get(run.input).map_or("", String::as_str);
        let _ = write!(
            out,
            "<li class=\"run {class}\" title=\"run {}: {words} ({})\"><span class=\"vh\">run {}: {words}</span>",
            number + 1,
            Esc(input),
            number + 1
        );
        if run.attempts.is_empty() {
            out.push_str("<span class=\"a skip\"></span>");
        }
        for attempt in &run.attempts {
            let class = if attempt.passed { "pass" } else { "fail" };
            let _ = write!(out, "<span class=\"a {class}\"></span>");
        }
        out.push_str("</li>");
    }
    // A JSON report among the inputs adds counts without runs.
    let known = u32::try_from(runs.len()).unwrap_or(u32::MAX);
    let without = (stats.runs + stats.skipped).saturating_sub(known);
    if without > 0 {
        let _ = write!(out, "<li class=\"more\">+{without} without detail</li>");
    }
    out.push_str("</ol>");
}

/// The strip of a test whose inputs gave counts only: one cell per run, grouped by kind.
fn counted_strip(out: &mut String, stats: &TestStats) {
    out.push_str("<ol class=\"strip\" aria-label=\"Runs by kind, order unknown\">");
    let clean = stats.passes.saturating_sub(stats.passed_on_retry);
    let kinds = [
        ("fail", stats.failures, "failed"),
        ("flaky", stats.passed_on_retry, "passed on retry"),
        ("pass", clean, "passed"),
        ("skip", stats.skipped, "skipped"),
    ];
    for (class, count, words) in kinds {
        let drawn = usize::try_from(count).unwrap_or(usize::MAX).min(STRIP_RUNS);
        for _ in 0..drawn {
            let _ = write!(
                out,
                "<li class=\"run {class}\" title=\"{words}\"><span class=\"vh\">{words}</span><span class=\"a {class}\"></span></li>"
            );
        }
    }
    out.push_str("</ol>");
}

/// Whether an attempt has anything to show beyond its outcome.
fn has_detail(attempt: &Attempt) -> bool {
    !attempt.passed
        || attempt.seed.is_some()
        || attempt.message.is_some()
        || attempt.replay.is_some()
}

fn details(
    out: &mut String,
    page: &HtmlReport<'_>,
    runs: &[Run],
    inputs: &[String],
    stats: &TestStats,
) {
    let shown: Vec<(usize, &Run, usize, &Attempt)> = runs
        .iter()
        .enumerate()
        .flat_map(|(number, run)| {
            run.attempts
                .iter()
                .enumerate()
                .filter(|(_, attempt)| has_detail(attempt))
                .map(move |(index, attempt)| (number, run, index, attempt))
        })
        .collect();
    let last_failure = stats.last_failure.as_deref().filter(|_| runs.is_empty());
    if shown.is_empty() && last_failure.is_none() {
        return;
    }
    let failed = shown
        .iter()
        .filter(|(_, _, _, attempt)| !attempt.passed)
        .count();
    let _ = writeln!(
        out,
        "<details class=\"attempts\"><summary>Attempts: seeds, messages, replay ({failed} failed)</summary>"
    );
    if stats.same_seed_retries > 0 {
        out.push_str(
            "<p class=\"note\">Passed on retry with the same seed: the nondeterminism is outside the seed.</p>\n",
        );
    }
    out.push_str("<ol class=\"cards\">\n");
    for (number, run, index, attempt) in shown {
        let input = inputs.get(run.input).map_or("", String::as_str);
        let class = if attempt.passed { "pass" } else { "fail" };
        let verdict = if attempt.passed { "passed" } else { "failed" };
        let _ = write!(
            out,
            "<li class=\"attempt {class}\"><p class=\"meta\"><strong>Run {}, attempt {} of {}: {verdict}</strong>",
            number + 1,
            index + 1,
            run.attempts.len()
        );
        if let Some(ms) = attempt.duration_ms {
            let _ = write!(out, " · {ms:.1} ms");
        }
        if let Some(at) = run.at_ms {
            let _ = write!(out, " · {}", format_millis(at));
        }
        let _ = writeln!(out, " · <code>{}</code></p>", Esc(input));
        attempt_body(out, page, &attempt.seed, &attempt.message, &attempt.replay);
        out.push_str("</li>\n");
    }
    if let Some(failure) = last_failure {
        last_failure_card(out, page, failure);
    }
    out.push_str("</ol></details>\n");
}

fn last_failure_card(out: &mut String, page: &HtmlReport<'_>, failure: &Failure) {
    out.push_str("<li class=\"attempt fail\"><p class=\"meta\"><strong>Last failure</strong>");
    if let Some(at) = failure.at_ms {
        let _ = write!(out, " · {}", format_millis(at));
    }
    out.push_str("</p>\n");
    attempt_body(out, page, &failure.seed, &failure.message, &failure.replay);
    out.push_str("</li>\n");
}

fn attempt_body(
    out: &mut String,
    page: &HtmlReport<'_>,
    seed: &Option<String>,
    message: &Option<String>,
    replay: &Option<String>,
) {
    if let Some(seed) = seed {
        let _ = writeln!(out, "<p class=\"seed\">Seed <code>{}</code></p>", Esc(seed));
    }
    if let Some(message) = message {
        let (text, trees) = split_trees(message);
        if !text.is_empty() {
            let _ = writeln!(out, "<pre class=\"message\">{}</pre>", Esc(&text));
        }
        for tree in &trees {
            trace_tree(out, tree);
        }
        snapshot_link(out, page, message);
    }
    if let Some(replay) = replay {
        command(out, replay, "Copy the replay command");
    }
}

/// A command line with its copy button.
pub(super) fn command(out: &mut String, command: &str, label: &str) {
    let _ = writeln!(
        out,
        "<div class=\"cmd\"><code>{}</code><button type=\"button\" class=\"copy\" data-copy=\"{}\" \
         aria-label=\"{label}\">Copy</button></div>",
        Esc(command),
        Esc(command)
    );
}

/// A drawn trace as nested lists, one level per depth.
fn trace_tree(out: &mut String, tree: &TraceTree) {
    let _ = write!(
        out,
        "<figure class=\"trace\"><figcaption>{}</figcaption>",
        Esc(&tree.header)
    );
    let mut depth = 0;
    out.push_str("<ul>");
    for (index, span) in tree.spans.iter().enumerate() {
        // A drawing goes at most one level deeper per line; anything else is drawn flat.
        let target = span.depth.min(depth + usize::from(index > 0));
        if index > 0 {
            if target > depth {
                out.push_str("<ul>");
            } else {
                out.push_str("</li>");
                for _ in target..depth {
                    out.push_str("</ul></li>");
                }
            }
        }
        depth = target;
        let _ = write!(out, "<li><code>{}</code>", Esc(&span.text));
    }
    if !tree.spans.is_empty() {
        out.push_str("</li>");
    }
    for _ in 0..depth {
        out.push_str("</ul></li>");
    }
    out.push_str("</ul></figure>\n");
}

/// A link to the snapshot a failure message names (steadfast-visual's "snapshot `NAME` …").
fn snapshot_link(out: &mut String, page: &HtmlReport<'_>, message: &str) {
    let Some(visual) = page.visual else {
        return;
    };
    let named = message
        .split("snapshot `")
        .skip(1)
        .filter_map(|rest| rest.split_once('`').map(|(name, _)| name));
    for name in named {
        if let Some(index) = visual
            .snapshots()
            .iter()
            .position(|snapshot| snapshot.name == name)
        {
            let _ = writeln!(
                out,
                "<p class=\"see\"><a href=\"#snapshot-{index}\">See snapshot <code>{}</code></a></p>",
                Esc(name)
            );
            return;
        }
    }
}
