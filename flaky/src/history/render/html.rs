//! The HTML page and the SVG trend chart: no script, no network, no external file.

use std::fmt::Write as _;

use super::{disrupted_by_verdict, disruption_text, headline, percent, run_text, scope};
use crate::history::summary::{Summary, TrendPoint};

/// The chart's size in SVG user units (it scales to its container's width).
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
/// Room for the axis labels: left, right, top, bottom.
const MARGIN: (f64, f64, f64, f64) = (48.0, 48.0, 30.0, 28.0);

/// Escapes text for HTML and SVG content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// The daily trend as one inline `<svg>` element: a bar per day for the tests disrupted that
/// day (left axis) and a line for the share of results disrupted (right axis), a legend, and
/// each day's figures in its bar's `<title>` tooltip. Self-contained, so it can be put in any
/// page.
///
/// # Example
///
/// ```
/// use steadfast_flaky::history::{History, Query, RunInfo, trend_svg};
/// use steadfast_flaky::{Observation, Outcome, Report};
///
/// let dir = std::env::temp_dir().join(format!("steadfast-trend-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let mut history = History::open(dir.join("history.db").to_str().unwrap())?;
/// let mut report = Report::new();
/// report.observe(Observation::new("app login", Outcome::Failed));
/// history.add(&RunInfo::new().at_ms(1_767_225_600_000), &report)?;
/// let summary = history.summary(&Query::new().now_ms(1_767_225_600_000))?;
/// let svg = trend_svg(&summary.trend);
/// assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
/// assert!(svg.contains("<title>2026-01-01: 1 test disrupted, 1 of 1 results (100%), 1 run</title>"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn trend_svg(points: &[TrendPoint]) -> String {
    let (left, right, top, bottom) = MARGIN;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         role=\"img\" aria-label=\"tests disrupted per day\" class=\"trend\" \
         font-family=\"system-ui, sans-serif\" font-size=\"11\">"
    );
    let plot_width = WIDTH - left - right;
    let plot_height = HEIGHT - top - bottom;
    let base = top + plot_height;
    if points.is_empty() {
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no runs in the window</text></svg>",
            WIDTH / 2.0,
            HEIGHT / 2.0
        );
        return svg;
    }
    let most_tests = points
        .iter()
        .map(|point| point.disrupted_tests)
        .max()
        .unwrap_or(0)
        .max(1);
    let rate = |point: &TrendPoint| {
        if point.results == 0 {
            0.0
        } else {
            point.disrupted_results as f64 / point.results as f64
        }
    };
    let top_rate = points.iter().map(rate).fold(0.0, f64::max);
    let top_rate = if top_rate > 0.0 { top_rate } else { 1.0 };
    let slot = plot_width / points.len() as f64;
    // Axes and their extreme labels.
    let _ = write!(
        svg,
        "<line x1=\"{left}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#888\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#b34700\">{most_tests}</text>\
         <text x=\"{}\" y=\"{base}\" text-anchor=\"end\" fill=\"#b34700\">0</text>\
         <text x=\"{}\" y=\"{}\" fill=\"#1f5fa8\">{}</text>\
         <text x=\"{}\" y=\"{base}\" fill=\"#1f5fa8\">0%</text>",
        WIDTH - right,
        left - 4.0,
        top + 8.0,
        left - 4.0,
        WIDTH - right + 4.0,
        top + 8.0,
        escape(&percent_fine(top_rate)),
        WIDTH - right + 4.0,
    );
    let _ = write!(
        svg,
        "<rect x=\"{left}\" y=\"4\" width=\"10\" height=\"10\" fill=\"#f0a060\"/>\
         <text x=\"{}\" y=\"13\">tests disrupted</text>\
         <line x1=\"{}\" y1=\"9\" x2=\"{}\" y2=\"9\" stroke=\"#1f5fa8\" stroke-width=\"2\"/>\
         <text x=\"{}\" y=\"13\">share of results disrupted</text>",
        left + 14.0,
        left + 120.0,
        left + 134.0,
        left + 138.0,
    );
    let first = points[0].day.to_string();
    let last = points[points.len() - 1].day.to_string();
    let _ = write!(
        svg,
        "<text x=\"{left}\" y=\"{}\">{first}</text>",
        HEIGHT - 8.0
    );
    if points.len() > 1 {
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{last}</text>",
            WIDTH - right,
            HEIGHT - 8.0
        );
    }
    let mut line = Vec::with_capacity(points.len());
    for (i, point) in points.iter().enumerate() {
        let x = left + slot * i as f64;
        let height = plot_height * point.disrupted_tests as f64 / most_tests as f64;
        let plural = |n: u64, word: &str| {
            if n == 1 {
                format!("{n} {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#f0a060\">\
             <title>{}: {} disrupted, {} of {} results ({}), {}</title></rect>",
            x + slot * 0.1,
            base - height,
            slot * 0.8,
            height,
            point.day,
            plural(point.disrupted_tests, "test"),
            point.disrupted_results,
            point.results,
            percent_fine(rate(point)),
            plural(point.runs, "run"),
        );
        let y = base - plot_height * rate(point) / top_rate;
        line.push(format!("{:.1},{:.1}", x + slot / 2.0, y));
    }
    let _ = write!(
        svg,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\"/></svg>",
        line.join(" ")
    );
    svg
}

/// A share as a percentage with enough digits for the small rates of large suites.
fn percent_fine(value: f64) -> String {
    if value == 0.0 || value >= 0.1 {
        percent(value)
    } else if value >= 0.001 {
        format!("{:.1}%", value * 100.0)
    } else {
        format!("{:.3}%", value * 100.0)
    }
}

const STYLE: &str = "\
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1b1b;background:#fff}\
h1{font-size:1.3rem}p{max-width:60rem}\
.trend{width:100%;max-width:60rem;height:auto;display:block;margin:1rem 0}\
.table{overflow-x:auto}table{border-collapse:collapse;font-size:.9rem}\
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}\
code{font-size:.85rem}.quarantine{color:#a40000;font-weight:600}.green{color:#17692e}\
@media (prefers-color-scheme:dark){body{background:#161616;color:#e8e8e8}th{background:#262626}\
th,td{border-color:#444}.quarantine{color:#ff7b7b}.green{color:#6fd08c}}";

/// The whole summary as one HTML page: the headline, the trend chart ([`trend_svg`]) and
/// the table of disrupted tests, with inline CSS and nothing to fetch.
pub fn to_html(summary: &Summary) -> String {
    let title = format!("steadfast-flaky history: {}", headline(summary));
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n<p>{}</p>\n{}\n",
        escape(&title),
        escape(&title),
        escape(&scope(summary)),
        trend_svg(&summary.trend)
    );
    let disrupted = disrupted_by_verdict(summary);
    if disrupted.is_empty() {
        out.push_str("<p>No test failed or passed only on retry in the window.</p>\n");
    } else {
        out.push_str(
            "<div class=\"table\"><table>\n<thead><tr><th scope=\"col\">verdict</th>\
             <th scope=\"col\">test</th><th scope=\"col\">results</th><th scope=\"col\">failed</th>\
             <th scope=\"col\">passed on retry</th><th scope=\"col\">flake rate (95% CI)</th>\
             <th scope=\"col\">green streak</th><th scope=\"col\">turned flaky</th>\
             <th scope=\"col\">last disruption</th></tr></thead>\n<tbody>\n",
        );
        for (verdict, test) in disrupted {
            let (rate, low, high) = test.flake_rate();
            let _ = writeln!(
                out,
                "<tr><td class=\"{0}\">{0}</td><td><code>{1}</code></td><td class=\"n\">{2}</td>\
                 <td class=\"n\">{3}</td><td class=\"n\">{4}</td><td class=\"n\">{5} ({6}–{7})</td>\
                 <td class=\"n\">{8}</td><td>{9}</td><td>{10}</td></tr>",
                verdict.as_str(),
                escape(&test.test),
                test.runs,
                test.failed_runs,
                test.flaky_runs,
                percent(rate),
                percent(low),
                percent(high),
                test.green_streak,
                test.turned_flaky
                    .as_ref()
                    .map(|run| escape(&run_text(run)))
                    .unwrap_or_default(),
                test.last_disruption
                    .as_ref()
                    .map(|d| escape(&disruption_text(d)))
                    .unwrap_or_default(),
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_test_names_is_text() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
    }

    #[test]
    fn small_rates_keep_their_digits() {
        assert_eq!(percent_fine(0.0), "0%");
        assert_eq!(percent_fine(0.25), "25%");
        assert_eq!(percent_fine(0.012), "1.2%");
        assert_eq!(percent_fine(0.000_12), "0.012%");
    }
}
