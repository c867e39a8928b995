//! The HTML report: the same figures as the other formats, every string escaped, images
//! embedded within their limits, and the `report --format html` command line.

use std::path::{Path, PathBuf};
use std::process::Output;

use steadfast_flaky::attempts::{AttemptOutcome, AttemptRecord, append_to};
use steadfast_flaky::html::{EmbedLimits, HtmlReport, RunLog, VisualArtifacts, read_detailed};
use steadfast_flaky::input::read_input;
use steadfast_flaky::render::to_json;

use crate::dialects::ALL;
use crate::support::{clean_command, data, fresh_dir};

fn flaky_cli(args: &[&str]) -> Output {
    clean_command(env!("CARGO_BIN_EXE_steadfast-flaky"))
        .args(args)
        .output()
        .unwrap()
}

/// A 1 × 1 PNG (signature, IHDR, IDAT, IEND); the report reads only its header.
const PNG_1X1: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\x0dIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";

fn every_input() -> Vec<PathBuf> {
    let mut inputs: Vec<PathBuf> = ALL
        .iter()
        .map(|file| data(&format!("junit/{file}")))
        .collect();
    for file in ["partition-1-of-2.xml", "retries.xml", "seeded-failure.xml"] {
        inputs.push(data(&format!("nextest/{file}")));
    }
    inputs.push(data("libtest/fixture.txt"));
    inputs
}

#[test]
fn reading_every_run_gives_the_report_read_input_gives() {
    for path in every_input() {
        let detailed = read_detailed(&path).unwrap();
        let plain = read_input(&path).unwrap();

        assert_eq!(
            to_json(&detailed.input.report),
            to_json(&plain.report),
            "{}",
            path.display()
        );
        assert_eq!(
            detailed.input.warnings,
            plain.warnings,
            "{}",
            path.display()
        );
        for (id, stats) in plain.report.tests() {
            let runs = detailed.runs.runs(id);
            let ran = runs.iter().filter(|run| !run.attempts.is_empty()).count();
            assert_eq!(ran, stats.runs as usize, "{id} in {}", path.display());
        }
    }
}

#[test]
fn every_string_from_the_inputs_is_escaped() {
    let dir = fresh_dir("html-escape");
    let hostile = r#"<img src=x onerror="alert(1)">'&"#;
    let xml = format!(
        "<testsuites><testsuite name=\"app\"><testcase classname=\"app\" name=\"{0}\">\
         <failure message=\"{0} &lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt;\"/></testcase>\
         </testsuite></testsuites>",
        hostile
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    );
    let junit = dir.join("junit.xml");
    std::fs::write(&junit, xml).unwrap();
    let snapshot = dir.join("visual").join("<b>bold</b>");
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::write(snapshot.join("actual.png"), PNG_1X1).unwrap();
    std::fs::write(
        snapshot.join("figures.json"),
        r#"{"note": "<script>alert(3)</script>", "<key>": 1}"#,
    )
    .unwrap();
    let detailed = read_detailed(&junit).unwrap();
    let visual = VisualArtifacts::scan(&dir.join("visual"), EmbedLimits::default()).unwrap();

    let html = HtmlReport::new(&detailed.input.report)
        .runs(&detailed.runs)
        .visual(&visual)
        .render();

    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the page's own script"
    );
    assert!(!html.contains("<img src=x"));
    assert!(!html.contains("<b>bold"));
    assert!(!html.contains("<key>"));
    assert!(html.contains("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;"));
    assert!(html.contains("&lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt;"));
    assert!(html.contains("&lt;script&gt;alert(3)&lt;/script&gt;"));
    assert!(html.contains("steadfast-visual accept &#39;&lt;b&gt;bold&lt;/b&gt;&#39;"));
}

#[test]
fn images_over_a_limit_are_left_out_with_a_note_naming_the_file() {
    let root = fresh_dir("html-limits");
    let home = root.join("home");
    std::fs::create_dir_all(&home).unwrap();
    for file in ["expected.png", "actual.png"] {
        std::fs::write(home.join(file), PNG_1X1).unwrap();
    }
    std::fs::write(home.join("diff.png"), b"GIF89a, not a PNG").unwrap();
    let size = PNG_1X1.len() as u64;

    let per_image =
        VisualArtifacts::scan(&root, EmbedLimits::default().per_image(size - 1)).unwrap();
    let budget = VisualArtifacts::scan(&root, EmbedLimits::default().total(size + 20)).unwrap();

    let snapshot = &per_image.snapshots()[0];
    let reason = snapshot.expected().unwrap().embedded.as_ref().unwrap_err();
    assert_eq!(
        reason,
        &format!(
            "{size} B is over the limit of {} B per image (--max-image-bytes)",
            size - 1
        )
    );
    let snapshot = &budget.snapshots()[0];
    assert!(
        snapshot
            .expected()
            .unwrap()
            .embedded
            .as_ref()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );
    let left_out = snapshot.actual().unwrap().embedded.as_ref().unwrap_err();
    assert!(
        left_out.contains("left of the report's image budget (--max-embed-bytes)"),
        "{left_out}"
    );
    assert_eq!(
        snapshot.diff().unwrap().embedded,
        Err("not a PNG file".to_owned())
    );
    let html = HtmlReport::new(&Default::default())
        .visual(&budget)
        .render();
    let actual_path = home.join("actual.png").display().to_string();
    assert!(
        html.contains(&format!("The file is <code>{actual_path}</code>")),
        "{html}"
    );
    // Without both images there is no slider, only the side-by-side view.
    assert!(!html.contains("type=\"range\""));
}

#[test]
fn attempts_keep_their_whole_message_and_a_drawn_tree_becomes_a_list() {
    let dir = fresh_dir("html-attempts");
    let message = "steadfast: expected one root\nrecorded spans:\n\
                   trace 0000000000000000000000000000000a (2 spans)\n\
                   └── GET /cart [server] 0000000000000001\n    \
                       └── db [client] 0000000000000002\n";
    let record = |attempt: u32, outcome, message: Option<&str>| AttemptRecord {
        test: "app::it cart".into(),
        invocation: "1".into(),
        attempt,
        max_attempts: 2,
        outcome,
        duration_ms: 3.0,
        message: message.map(str::to_owned),
        seed: Some("0x0000000000000007".into()),
        run_seed: None,
        same_seed_as_first: true,
        replay: Some("cargo test cart".into()),
        at_ms: 0,
    };
    append_to(&dir, &record(1, AttemptOutcome::Failed, Some(message))).unwrap();
    let path = append_to(&dir, &record(2, AttemptOutcome::Passed, None)).unwrap();
    let detailed = read_detailed(&path).unwrap();

    let html = HtmlReport::new(&detailed.input.report)
        .runs(&detailed.runs)
        .render();

    assert!(
        html.contains("<pre class=\"message\">steadfast: expected one root\nrecorded spans:</pre>")
    );
    assert!(html.contains(
        "<ul><li><code>GET /cart [server] 0000000000000001</code><ul><li><code>db [client] \
         0000000000000002</code></li></ul></li></ul>"
    ));
    assert!(html.contains("Run 1, attempt 1 of 2: failed</strong> · 3.0 ms"));
    assert!(html.contains("Passed on retry with the same seed"));
}

#[test]
fn a_json_report_without_runs_shows_its_counts_and_last_failure() {
    let dir = fresh_dir("html-json");
    let junit = data("nextest/seeded-failure.xml");
    let json = dir.join("report.json");
    let output = flaky_cli(&[
        "report",
        "--format",
        "json",
        "--output",
        json.to_str().unwrap(),
        junit.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0));
    let detailed = read_detailed(&json).unwrap();
    let failing = detailed
        .input
        .report
        .tests()
        .find(|(_, stats)| stats.failures > 0)
        .map(|(id, _)| id.to_owned())
        .unwrap();

    let html = HtmlReport::new(&detailed.input.report)
        .runs(&detailed.runs)
        .render();

    assert!(detailed.runs.runs(&failing).is_empty());
    assert!(html.contains("aria-label=\"Runs by kind, order unknown\""));
    assert!(html.contains("<strong>Last failure</strong>"));
}

#[test]
fn report_writes_the_html_file_with_the_quarantine_and_the_snapshots() {
    let dir = fresh_dir("html-cli");
    let visual = dir.join("visual");
    std::fs::create_dir_all(visual.join("home")).unwrap();
    std::fs::write(visual.join("home/actual.png"), PNG_1X1).unwrap();
    let quarantine = dir.join("quarantine");
    std::fs::write(&quarantine, "checkout::passes_on_retry 2099-01-01\n").unwrap();
    let out = dir.join("report.html");
    let junit = data("junit/nextest/retries.xml");

    let output = flaky_cli(&[
        "report",
        "--format",
        "html",
        "--output",
        out.to_str().unwrap(),
        "--visual",
        visual.to_str().unwrap(),
        "--quarantine",
        quarantine.to_str().unwrap(),
        junit.to_str().unwrap(),
    ]);

    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert_eq!(html.matches("data-quarantined=\"true\"").count(), 1);
    assert!(html.contains("steadfast-visual accept home"));
    assert!(html.contains(&format!("<code>{}</code>", junit.display())));
}

#[test]
fn html_options_with_another_format_are_a_usage_error() {
    let junit = data("junit/nextest/retries.xml");
    for format in ["markdown", "json"] {
        let output = flaky_cli(&[
            "report",
            "--format",
            format,
            "--visual",
            "v",
            junit.to_str().unwrap(),
        ]);

        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with("steadfast-flaky: --visual is only for --format html\n"),
            "{stderr}"
        );
    }
    let output = flaky_cli(&["report", "--format", "pdf", junit.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(
            "steadfast-flaky: --format must be markdown, json, junit or html, got \"pdf\""
        ),
        "{stderr}"
    );
}

#[test]
fn a_missing_artifact_folder_gives_an_empty_section() {
    let missing = Path::new("/nonexistent/steadfast/visual");
    let visual = VisualArtifacts::scan(missing, EmbedLimits::default()).unwrap();
    let html = HtmlReport::new(&Default::default())
        .runs(&RunLog::new())
        .visual(&visual)
        .render();
    assert!(visual.snapshots().is_empty());
    assert!(html.contains("No snapshot failed: there are no artifacts."));
}
