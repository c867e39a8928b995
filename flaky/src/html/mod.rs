//! The HTML report: one self-contained file (inline CSS and JavaScript, images as `data:`
//! URIs, nothing fetched), to open from disk or from a CI run's artifacts.
//!
//! ```
//! use steadfast_flaky::html::{HtmlReport, RunLog};
//! use steadfast_flaky::{Failure, Observation, Outcome, Report};
//!
//! let mut retried = Observation::new("app::it checkout", Outcome::Passed);
//! retried.failures.push(Failure {
//!     seed: Some("0x000000000000002a".into()),
//!     message: Some("timed out <after 2 s>".into()),
//!     replay: Some("STEADFAST_SEED=0x0 cargo nextest run -E 'test(=checkout)'".into()),
//!     ..Failure::default()
//! });
//! let observations = [retried, Observation::new("app::it login", Outcome::Passed)];
//! let mut report = Report::new();
//! observations.iter().cloned().for_each(|observation| report.observe(observation));
//! let runs = RunLog::from_observations("junit.xml", &observations);
//!
//! let html = HtmlReport::new(&report).runs(&runs).render();
//! assert!(html.starts_with("<!doctype html>"));
//! assert!(html.contains(r#"data-status="flaky""#));
//! assert!(html.contains("timed out &lt;after 2 s&gt;")); // every string is escaped
//! assert!(html.contains(r#"data-copy="STEADFAST_SEED=0x0 cargo nextest run -E &#39;test(=checkout)&#39;""#));
//! assert!(!html.contains("<link") && !html.contains(" src=\"http")); // nothing to fetch
//! ```
//!
//! What the page holds:
//!
//! * a summary: failing, flaky, stable, skipped and quarantined tests, failed snapshots, the
//!   inputs and their warnings, expired quarantine entries;
//! * per test a strip of its runs, each run a group of attempts (passed, failed; a run that
//!   passed on retry is flaky), and every attempt's seed, message and replay command with a
//!   copy button; trace trees drawn in a failure message (steadfast-tracing-core's trace
//!   assertions draw them) as nested lists;
//! * filters (all, failing, flaky, quarantined, passing, skipped) and a search over test ids
//!   and failing seeds;
//! * per failed snapshot ([`VisualArtifacts`]) the expected, actual and diff images with a
//!   slider over the two, a side-by-side view, the figures of its JSON files, the image sizes
//!   and the command that accepts it.
//!
//! Every control is a button or form input, usable with the keyboard, with a visible focus
//! ring; the layout stacks on a narrow screen. Every string from the inputs is escaped.
//! `steadfast-flaky report --format html --output FILE` writes it; the README shows it.

mod escape;
mod page;
mod rows;
mod runs;
mod snapshots;
mod trace;
mod visual;

use std::collections::BTreeSet;

pub use runs::{Attempt, Detailed, Run, RunLog, read_detailed};
pub use visual::{
    ARTIFACT_FILES, ArtifactImage, EmbedLimits, SnapshotArtifacts, VisualArtifacts, visual_dir_with,
};

use crate::gate::{Quarantine, QuarantineEntry, gate};
use crate::input::Warning;
use crate::report::Report;
use crate::time::Date;

/// The report page's inputs; [`render`](Self::render) writes it.
#[derive(Debug, Clone)]
#[must_use]
pub struct HtmlReport<'a> {
    report: &'a Report,
    runs: Option<&'a RunLog>,
    quarantined: BTreeSet<String>,
    expired: Vec<QuarantineEntry>,
    visual: Option<&'a VisualArtifacts>,
    warnings: &'a [Warning],
    trend: Option<&'a str>,
}

impl<'a> HtmlReport<'a> {
    /// A page for `report`; without [`runs`](Self::runs) each test's strip shows its counts.
    pub fn new(report: &'a Report) -> Self {
        Self {
            report,
            runs: None,
            quarantined: BTreeSet::new(),
            expired: Vec::new(),
            visual: None,
            warnings: &[],
            trend: None,
        }
    }

    /// The runs and attempts behind the report, for the strips and attempt details.
    pub fn runs(mut self, runs: &'a RunLog) -> Self {
        self.runs = Some(runs);
        self
    }

    /// Marks the failing and flaky tests that `quarantine` holds on `today` as quarantined,
    /// as [`gate`] decides, and lists its expired entries.
    pub fn quarantine(mut self, quarantine: &Quarantine, today: Date) -> Self {
        let verdict = gate(self.report, quarantine, usize::MAX, today);
        self.quarantined = verdict.quarantined.into_iter().map(|(id, _)| id).collect();
        self.expired = verdict.expired;
        self
    }

    /// The failed snapshots to show.
    pub fn visual(mut self, visual: &'a VisualArtifacts) -> Self {
        self.visual = Some(visual);
        self
    }

    /// What the inputs could not show, listed in the summary.
    pub fn warnings(mut self, warnings: &'a [Warning]) -> Self {
        self.warnings = warnings;
        self
    }

    /// The flake trend across CI runs, an inline SVG chart as `history::trend_svg` draws it
    /// (trusted markup: it is put in the page as it is), shown before the tests.
    pub fn trend(mut self, chart: &'a str) -> Self {
        self.trend = Some(chart);
        self
    }

    /// The whole page.
    pub fn render(&self) -> String {
        page::render(self)
    }
}
