//! The drift report: what differed, where, and its text, markdown and JSON renderings.

use std::fmt::Write as _;

use serde_json::{Value, json};

/// What kind of difference a [`Drift`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DriftKind {
    /// The live status differs from the recorded one.
    Status,
    /// The live `Content-Type` (its media type, without parameters) differs.
    ContentType,
    /// A recorded JSON field is missing from the live body.
    FieldMissing,
    /// The live JSON body has a field the recording does not.
    FieldAdded,
    /// A JSON value has another type (`null`, `boolean`, `number`, `string`, `array`,
    /// `object`) than recorded.
    TypeChanged,
    /// A JSON value differs at a pointer given to
    /// [`Verifier::compare_value`](super::Verifier::compare_value).
    ValueChanged,
}

impl DriftKind {
    /// The kind's name in reports: `status`, `content-type`, `field-missing`, `field-added`,
    /// `type-changed` or `value-changed`.
    pub fn name(self) -> &'static str {
        match self {
            DriftKind::Status => "status",
            DriftKind::ContentType => "content-type",
            DriftKind::FieldMissing => "field-missing",
            DriftKind::FieldAdded => "field-added",
            DriftKind::TypeChanged => "type-changed",
            DriftKind::ValueChanged => "value-changed",
        }
    }
}

/// One difference between a recorded response and the live service's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub(crate) route: String,
    pub(crate) call: usize,
    pub(crate) kind: DriftKind,
    pub(crate) pointer: Option<String>,
    pub(crate) recorded: String,
    pub(crate) live: String,
}

impl Drift {
    /// The route whose request was sent.
    pub fn route(&self) -> &str {
        &self.route
    }

    /// Which of the route's responses (1 for the first) was compared.
    pub fn call(&self) -> usize {
        self.call
    }

    /// What differed.
    pub fn kind(&self) -> DriftKind {
        self.kind
    }

    /// The JSON pointer of a body drift (`/user/name`; empty for the whole body), `None` for a
    /// status or content-type drift.
    pub fn pointer(&self) -> Option<&str> {
        self.pointer.as_deref()
    }

    /// The recorded side: a status, a media type, or a JSON type (a value for
    /// [`DriftKind::ValueChanged`]); empty for [`DriftKind::FieldAdded`].
    pub fn recorded(&self) -> &str {
        &self.recorded
    }

    /// The live side, like [`recorded`](Self::recorded); empty for
    /// [`DriftKind::FieldMissing`].
    pub fn live(&self) -> &str {
        &self.live
    }

    fn sentence(&self) -> String {
        let at = self.pointer.as_deref().map(|pointer| {
            if pointer.is_empty() {
                "the body".to_string()
            } else {
                pointer.to_string()
            }
        });
        let at = at.unwrap_or_default();
        match self.kind {
            DriftKind::Status => format!("status {} -> {}", self.recorded, self.live),
            DriftKind::ContentType => {
                format!(
                    "content type {} -> {}",
                    or_none(&self.recorded),
                    or_none(&self.live)
                )
            }
            DriftKind::FieldMissing => format!("field missing at {at} (was {})", self.recorded),
            DriftKind::FieldAdded => format!("field added at {at} ({})", self.live),
            DriftKind::TypeChanged => {
                format!("type changed at {at}: {} -> {}", self.recorded, self.live)
            }
            DriftKind::ValueChanged => {
                format!("value changed at {at}: {} -> {}", self.recorded, self.live)
            }
        }
    }
}

fn or_none(text: &str) -> &str {
    if text.is_empty() { "(none)" } else { text }
}

/// How [`DriftReport::render`] writes a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReportFormat {
    /// One line per drift (the default).
    #[default]
    Text,
    /// A markdown table, for pull-request comments.
    Markdown,
    /// A JSON document, for tools.
    Json,
}

impl ReportFormat {
    /// The format called `name` (`text`, `markdown` or `json`).
    pub fn parse(name: &str) -> Option<ReportFormat> {
        match name {
            "text" => Some(ReportFormat::Text),
            "markdown" => Some(ReportFormat::Markdown),
            "json" => Some(ReportFormat::Json),
            _ => None,
        }
    }
}

/// What [`Verifier::run`](super::Verifier::run) found: every drift, in route order, and the
/// routes it could not send a request for.
#[derive(Debug, Clone)]
pub struct DriftReport {
    pub(crate) scenario: String,
    pub(crate) against: String,
    pub(crate) requests: usize,
    pub(crate) drifts: Vec<Drift>,
    pub(crate) skipped: Vec<(String, String)>,
}

impl DriftReport {
    /// True when nothing drifted.
    pub fn is_clean(&self) -> bool {
        self.drifts.is_empty()
    }

    /// The drifts, in route and call order.
    pub fn drifts(&self) -> &[Drift] {
        &self.drifts
    }

    /// How many requests were sent.
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// The routes no request could be built for (a `path_prefix` or `path_regex` route), with
    /// the reason.
    pub fn skipped(&self) -> impl Iterator<Item = (&str, &str)> {
        self.skipped
            .iter()
            .map(|(route, reason)| (route.as_str(), reason.as_str()))
    }

    /// The exit code of `steadfast-mocknet verify`: 0 without drift, 1 with.
    pub fn exit_code(&self) -> i32 {
        i32::from(!self.is_clean())
    }

    /// Panics unless the report is clean.
    ///
    /// # Panics
    ///
    /// With `steadfast: ` and the text report when something drifted.
    #[track_caller]
    pub fn assert_clean(&self) {
        if !self.is_clean() && !std::thread::panicking() {
            panic!(
                "steadfast: the recording drifted from the live service; \
                 re-record with STEADFAST_MOCKNET_MODE=record\n{}",
                self.render(ReportFormat::Text)
            );
        }
    }

    /// The report as text, markdown or JSON, ending with a newline.
    pub fn render(&self, format: ReportFormat) -> String {
        match format {
            ReportFormat::Text => self.text(),
            ReportFormat::Markdown => self.markdown(),
            ReportFormat::Json => {
                let mut text = serde_json::to_string_pretty(&self.json())
                    .unwrap_or_else(|_| String::from("{}"));
                text.push('\n');
                text
            }
        }
    }

    fn headline(&self) -> String {
        let drifts = match self.drifts.len() {
            0 => "no drift".to_string(),
            1 => "1 drift".to_string(),
            n => format!("{n} drifts"),
        };
        format!(
            "scenario `{}` against {}: {drifts} in {} requests",
            self.scenario, self.against, self.requests
        )
    }

    fn text(&self) -> String {
        let mut out = self.headline();
        out.push('\n');
        for drift in &self.drifts {
            let _ = writeln!(
                out,
                "  route `{}` (call {}): {}",
                drift.route,
                drift.call,
                drift.sentence()
            );
        }
        for (route, reason) in &self.skipped {
            let _ = writeln!(out, "  skipped route `{route}`: {reason}");
        }
        out
    }

    fn markdown(&self) -> String {
        let mut out = format!("### {}\n", self.headline());
        if !self.drifts.is_empty() {
            out.push_str("\n| route | call | drift | pointer | recorded | live |\n");
            out.push_str("| --- | --- | --- | --- | --- | --- |\n");
            for drift in &self.drifts {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} | {} | {} |",
                    drift.route,
                    drift.call,
                    drift.kind.name(),
                    drift
                        .pointer
                        .as_deref()
                        .map(|p| format!("`{p}`"))
                        .unwrap_or_default(),
                    cell(&drift.recorded),
                    cell(&drift.live)
                );
            }
        }
        if !self.skipped.is_empty() {
            out.push('\n');
            for (route, reason) in &self.skipped {
                let _ = writeln!(out, "- skipped `{route}`: {reason}");
            }
        }
        out
    }

    fn json(&self) -> Value {
        let drifts: Vec<Value> = self
            .drifts
            .iter()
            .map(|drift| {
                json!({
                    "route": drift.route,
                    "call": drift.call,
                    "kind": drift.kind.name(),
                    "pointer": drift.pointer,
                    "recorded": drift.recorded,
                    "live": drift.live,
                })
            })
            .collect();
        let skipped: Vec<Value> = self
            .skipped
            .iter()
            .map(|(route, reason)| json!({"route": route, "reason": reason}))
            .collect();
        json!({
            "scenario": self.scenario,
            "against": self.against,
            "requests": self.requests,
            "drifts": drifts,
            "skipped": skipped,
        })
    }
}

/// A table cell: pipes escaped, empty shown as a dash.
fn cell(text: &str) -> String {
    if text.is_empty() {
        "–".into()
    } else {
        text.replace('|', "\\|")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> DriftReport {
        DriftReport {
            scenario: "s".into(),
            against: "http://127.0.0.1:1".into(),
            requests: 2,
            drifts: vec![
                Drift {
                    route: "get-user".into(),
                    call: 1,
                    kind: DriftKind::FieldMissing,
                    pointer: Some("/name".into()),
                    recorded: "string".into(),
                    live: String::new(),
                },
                Drift {
                    route: "get-user".into(),
                    call: 1,
                    kind: DriftKind::Status,
                    pointer: None,
                    recorded: "200".into(),
                    live: "404".into(),
                },
            ],
            skipped: vec![("search".into(), "matches no single path".into())],
        }
    }

    #[test]
    fn text_report_has_a_headline_and_a_line_per_drift() {
        assert_eq!(
            report().render(ReportFormat::Text),
            "scenario `s` against http://127.0.0.1:1: 2 drifts in 2 requests\n  \
             route `get-user` (call 1): field missing at /name (was string)\n  \
             route `get-user` (call 1): status 200 -> 404\n  \
             skipped route `search`: matches no single path\n"
        );
    }

    #[test]
    fn markdown_and_json_reports_list_the_same_drifts() {
        let markdown = report().render(ReportFormat::Markdown);
        let json: Value =
            serde_json::from_str(&report().render(ReportFormat::Json)).expect("valid JSON");

        assert!(
            markdown.contains("| `get-user` | 1 | field-missing | `/name` | string | – |"),
            "{markdown}"
        );
        assert_eq!(json["drifts"][1]["kind"], "status");
        assert_eq!(json["drifts"][1]["pointer"], Value::Null);
        assert_eq!(json["skipped"][0]["route"], "search");
    }

    #[test]
    #[should_panic(expected = "steadfast: the recording drifted from the live service")]
    fn assert_clean_panics_with_the_report() {
        report().assert_clean();
    }
}
