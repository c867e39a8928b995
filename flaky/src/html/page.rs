//! The document around the sections: head, inline assets, the summary and the inputs.

use std::fmt::Write as _;

use super::HtmlReport;
use super::escape::Esc;
use super::rows;
use super::snapshots;
use crate::report::Status;

/// The page's style sheet, inlined into `<style>`.
const CSS: &str = include_str!("report.css");
/// The page's script (filters, search, copy buttons, views, sliders), inlined into `<script>`.
const JS: &str = include_str!("report.js");

/// How many tests have each status, and how many are quarantined.
pub(super) struct Counts {
    pub failing: usize,
    pub flaky: usize,
    pub passing: usize,
    pub skipped: usize,
    pub quarantined: usize,
}

impl Counts {
    fn of(page: &HtmlReport<'_>) -> Self {
        let mut counts = Counts {
            failing: 0,
            flaky: 0,
            passing: 0,
            skipped: 0,
            quarantined: page.quarantined.len(),
        };
        for (_, stats) in page.report.tests() {
            match stats.status() {
                Status::StableFail => counts.failing += 1,
                Status::Flaky => counts.flaky += 1,
                Status::StablePass => counts.passing += 1,
                _ => counts.skipped += 1,
            }
        }
        counts
    }
}

pub(super) fn render(page: &HtmlReport<'_>) -> String {
    let counts = Counts::of(page);
    let snapshots = page.visual.map_or(0, |visual| visual.snapshots().len());
    let total = page.report.len();
    let headline = format!(
        "{} failing, {} flaky, {} stable, {} skipped of {total} tests",
        counts.failing, counts.flaky, counts.passing, counts.skipped
    );
    let mut out = String::with_capacity(64 * 1024 + total * 400);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"steadfast-flaky {}\">\n\
         <title>steadfast-flaky: {}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n\
         <a class=\"skip\" href=\"#tests\">Skip to the tests</a>\n<header class=\"top\">\n\
         <h1>steadfast-flaky report</h1>\n<p class=\"headline\">{}</p>\n",
        env!("CARGO_PKG_VERSION"),
        Esc(&headline),
        Esc(&headline),
    );
    summary_cards(&mut out, &counts, snapshots);
    inputs(&mut out, page);
    out.push_str("</header>\n<main>\n");
    if let Some(chart) = page.trend {
        let _ = write!(
            out,
            "<section id=\"trend\" aria-labelledby=\"trend-h\">\n\
             <h2 id=\"trend-h\">Flake trend across CI runs</h2>\n{chart}\n</section>\n"
        );
    }
    rows::section(&mut out, page, &counts);
    if let Some(visual) = page.visual {
        snapshots::section(&mut out, visual);
    }
    let _ = write!(
        out,
        "</main>\n<p id=\"copy-status\" class=\"vh\" role=\"status\"></p>\n\
         <script>\n{JS}</script>\n</body>\n</html>\n"
    );
    out
}

fn summary_cards(out: &mut String, counts: &Counts, snapshots: usize) {
    out.push_str("<ul class=\"summary\" aria-label=\"Summary\">\n");
    let cards = [
        ("failing", counts.failing, "failing in every run"),
        ("flaky", counts.flaky, "flaky"),
        ("passing", counts.passing, "stable"),
        ("skipped", counts.skipped, "skipped"),
        ("quarantined", counts.quarantined, "quarantined"),
        ("snapshots", snapshots, "snapshots failed"),
    ];
    for (class, count, label) in cards {
        let _ = writeln!(
            out,
            "<li class=\"card {class}\"><span class=\"n\">{count}</span> {label}</li>"
        );
    }
    out.push_str("</ul>\n");
}

fn inputs(out: &mut String, page: &HtmlReport<'_>) {
    if let Some(runs) = page.runs {
        let inputs = runs.inputs();
        let plural = if inputs.len() == 1 { "" } else { "s" };
        let _ = writeln!(
            out,
            "<details class=\"inputs\"><summary>{} input{plural}</summary><ul>",
            inputs.len()
        );
        for input in inputs {
            let _ = writeln!(out, "<li><code>{}</code></li>", Esc(input));
        }
        out.push_str("</ul></details>\n");
    }
    if !page.warnings.is_empty() {
        out.push_str(
            "<div class=\"notes\" role=\"note\"><h2>Inputs that cannot show passes on retry</h2><ul>\n",
        );
        for warning in page.warnings {
            let _ = writeln!(out, "<li>{}</li>", Esc(&warning.to_string()));
        }
        out.push_str("</ul></div>\n");
    }
    if !page.expired.is_empty() {
        out.push_str(
            "<div class=\"notes expired\" role=\"note\"><h2>Expired quarantine entries</h2><ul>\n",
        );
        for entry in &page.expired {
            let until = entry
                .expires
                .map(|date| date.to_string())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "<li><code>{}</code> (line {}, until {})</li>",
                Esc(&entry.test),
                entry.line,
                Esc(&until)
            );
        }
        out.push_str("</ul></div>\n");
    }
}
