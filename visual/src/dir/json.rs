//! The JSON form of a [`DirReport`], schema `steadfast-visual/diff-dir/v1`.
//!
//! Every key is always present (`null` where it does not apply), so a
//! reader such as the HTML report needs no optional handling. The crate
//! README documents the schema.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::{DirReport, DirStatus};

/// The schema name written into every report.
pub(super) const SCHEMA: &str = "steadfast-visual/diff-dir/v1";

/// A folder or file path as the caller gave it (`null` when absent).
fn path_value(path: Option<&Path>) -> Value {
    path.map_or(Value::Null, |p| Value::from(p.to_string_lossy()))
}

/// A relative `path` with `/` between its components on every platform,
/// the form of the keys of `images`.
fn slashed(path: &Path) -> String {
    let parts: Vec<_> = path.iter().map(|c| c.to_string_lossy()).collect();
    parts.join("/")
}

/// One line with the error and its causes, `: `-separated.
fn error_text(error: &crate::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

pub(super) fn report(report: &DirReport) -> String {
    let mut images = Map::new();
    for entry in &report.entries {
        images.insert(
            slashed(&entry.path),
            json!({
                "status": entry.status.as_str(),
                "diff_pixels": entry.diff_pixels(),
                "total_pixels": entry.total_pixels(),
                "ratio": entry.ratio(),
                "diff_image": path_value(entry.diff_image()),
                "error": entry.error().map(error_text),
            }),
        );
    }
    let mut totals = Map::new();
    totals.insert("images".into(), report.entries.len().into());
    for status in DirStatus::ALL {
        let key = status.as_str().replace('-', "_");
        totals.insert(key, report.count(status).into());
    }
    let diff_pixels: u64 = report.entries.iter().filter_map(|e| e.diff_pixels()).sum();
    totals.insert("diff_pixels".into(), diff_pixels.into());
    json!({
        "schema": SCHEMA,
        "expected_dir": path_value(Some(&report.expected)),
        "actual_dir": path_value(Some(&report.actual)),
        "diff_dir": path_value(report.output.as_deref()),
        "passed": report.is_passed(),
        "totals": totals,
        "images": images,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::{DirEntry, Measure};
    use super::*;
    use crate::error::{Error, ErrorKind};

    #[test]
    fn every_key_is_present_and_totals_count_each_status() {
        let report = DirReport {
            expected: "e".into(),
            actual: "a".into(),
            output: Some("d".into()),
            entries: vec![
                DirEntry::compared(
                    Path::new("x/changed.png"),
                    DirStatus::Different,
                    Measure {
                        diff_pixels: 3,
                        total_pixels: 4,
                    },
                    Some(PathBuf::from("d/x/changed.png")),
                ),
                DirEntry::alone("gone.png".into(), DirStatus::Missing),
                DirEntry::failed(
                    "bad.png".into(),
                    Error::new(ErrorKind::Image, "cannot decode image")
                        .with_source(std::io::Error::other("unexpected end of file")),
                ),
            ],
        };
        let v: Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["diff_dir"], "d");
        assert_eq!(v["passed"], false);
        let changed = &v["images"]["x/changed.png"];
        assert_eq!(changed["status"], "different");
        assert_eq!(changed["diff_pixels"], 3);
        assert_eq!(changed["ratio"], 0.75);
        assert_eq!(changed["diff_image"], "d/x/changed.png");
        assert_eq!(v["images"]["gone.png"]["diff_pixels"], Value::Null);
        assert_eq!(
            v["images"]["bad.png"]["error"],
            "cannot decode image: unexpected end of file"
        );
        let totals = &v["totals"];
        assert_eq!(totals["images"], 3);
        assert_eq!(totals["different"], 1);
        assert_eq!(totals["within_tolerance"], 0);
        assert_eq!(totals["missing"], 1);
        assert_eq!(totals["error"], 1);
        assert_eq!(totals["diff_pixels"], 3);
    }
}
