//! The `report` and `gate` commands over many inputs: warnings, bad files, `--keep-going`
//! and what they print.

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

use crate::dialects::ALL;
use crate::support::{clean_command, data, fresh_dir};

fn flaky_cli(args: &[&str]) -> Output {
    clean_command(env!("CARGO_BIN_EXE_steadfast-flaky"))
        .args(args)
        .output()
        .unwrap()
}

fn junit(file: &str) -> String {
    data(&format!("junit/{file}")).to_str().unwrap().to_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A truncated JUnit file in a fresh directory.
fn truncated() -> PathBuf {
    let path = fresh_dir("truncated").join("cut.xml");
    std::fs::write(&path, "<testsuites><testsuite name=\"x\">").unwrap();
    path
}

#[test]
fn a_report_of_every_tool_warns_once_per_file_that_hides_retries_and_exits_0() {
    let files: Vec<String> = ALL.iter().map(|file| junit(file)).collect();
    let mut args = vec!["report", "--format", "json"];
    args.extend(files.iter().map(String::as_str));

    let output = flaky_cli(&args);

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        json["summary"],
        serde_json::json!({"tests": 28, "stable_pass": 14, "stable_fail": 8, "flaky": 6, "skipped": 0})
    );
    let warned: Vec<String> = stderr(&output)
        .lines()
        .map(|line| {
            let rest = line.strip_prefix("steadfast-flaky: warning: ").unwrap();
            rest.split_once(": ").unwrap().0.to_owned()
        })
        .collect();
    assert_eq!(
        warned,
        [
            junit("jest/retry.xml"),
            junit("playwright/plain.xml"),
            junit("playwright/two-projects.xml")
        ]
    );
}

#[test]
fn the_markdown_report_ends_with_the_inputs_that_cannot_show_retries() {
    let jest = junit("jest/retry.xml");
    let surefire = junit("surefire/TEST-shop.CheckoutTest.xml");

    let output = flaky_cli(&["report", &surefire, &jest]);

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let markdown = String::from_utf8(output.stdout).unwrap();
    let note = format!(
        "\n### Inputs that cannot show passes on retry\n\n- {jest}: jest-junit writes only the \
         last attempt of each test"
    );
    assert!(markdown.contains(&note), "{markdown}");
    assert_eq!(
        markdown.matches("\n- ").count() - markdown.matches("\n- `").count(),
        1
    );
    assert!(markdown.starts_with("## steadfast-flaky: 1 flaky, 2 failing in every run"));
}

#[test]
fn a_bad_input_stops_the_report_with_one_line_naming_it() {
    let bad = truncated();
    let good = junit("pytest/reruns.xml");

    let output = flaky_cli(&["report", &good, bad.to_str().unwrap()]);

    assert_eq!(output.status.code(), Some(2));
    assert_eq!(output.stdout, b"");
    assert_eq!(
        stderr(&output),
        format!(
            "steadfast-flaky: {} is not a valid JUnit report: the file ends inside <testsuite> \
             (it is truncated)\n",
            bad.display()
        )
    );
}

#[test]
fn keep_going_reports_and_skips_bad_inputs() {
    let bad = truncated();
    let missing = bad.with_file_name("missing.xml");
    let good = junit("pytest/reruns.xml");

    let output = flaky_cli(&[
        "report",
        "--keep-going",
        "--format",
        "json",
        bad.to_str().unwrap(),
        &good,
        missing.to_str().unwrap(),
    ]);

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["summary"]["tests"], 3);
    assert_eq!(
        stderr(&output),
        format!(
            "steadfast-flaky: skipped: {} is not a valid JUnit report: the file ends inside \
             <testsuite> (it is truncated)\n\
             steadfast-flaky: skipped: could not read {}: No such file or directory (os error 2)\n",
            bad.display(),
            missing.display()
        )
    );
}

#[test]
fn keep_going_with_no_readable_input_is_an_error() {
    let bad = truncated();

    let output = flaky_cli(&["gate", "--keep-going", bad.to_str().unwrap()]);

    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.ends_with("steadfast-flaky: no input could be read\n"),
        "{text}"
    );
    assert!(!text.contains("usage:"), "{text}");
}

#[test]
fn gate_with_keep_going_judges_the_inputs_it_could_read() {
    let bad = truncated();
    let surefire = junit("surefire/TEST-shop.CheckoutTest.xml");

    let output = flaky_cli(&["gate", "--keep-going", &surefire, bad.to_str().unwrap()]);

    // shop.CheckoutTest alwaysFails failed in every run.
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).starts_with("steadfast-flaky: skipped: "));
}

#[test]
fn only_usage_errors_print_the_usage() {
    let usage = flaky_cli(&["report", "--keep-going=yes", "x.xml"]);
    let input = flaky_cli(&["gate", "/no/such/report.json"]);

    assert_eq!(usage.status.code(), Some(2));
    let text = stderr(&usage);
    assert!(
        text.starts_with("steadfast-flaky: --keep-going takes no value\n\nusage:\n"),
        "{text}"
    );
    assert!(text.contains("\n  report  0 the report was written, whatever it says\n"));
    assert_eq!(input.status.code(), Some(2));
    assert_eq!(
        stderr(&input),
        "steadfast-flaky: could not read /no/such/report.json: No such file or directory \
         (os error 2)\n"
    );
}
