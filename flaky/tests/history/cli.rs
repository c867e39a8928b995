//! `steadfast-flaky history add` and `history show`: what they print and their exit codes.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use steadfast_flaky::render::to_json;

use super::{Ran, on_each_backend, report};
use crate::support::{clean_command, fresh_dir};

fn flaky_cli(args: &[&str]) -> Output {
    clean_command(env!("CARGO_BIN_EXE_steadfast-flaky"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn now_ms() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(elapsed.as_millis()).unwrap()
}

/// Writes the JSON report of one run `hours_ago` hours ago (`report --format json`'s format).
fn report_file(dir: &Path, name: &str, hours_ago: i64, results: &[(&str, Ran)]) -> PathBuf {
    let path = dir.join(format!("{name}.json"));
    let at = now_ms() - hours_ago * 3_600_000;
    std::fs::write(&path, to_json(&report(at, results))).unwrap();
    path
}

on_each_backend! {
    fn add_counts_a_report_once_and_show_json_gives_runs_failed_and_flaky_runs(db) {
        let dir = fresh_dir("history-cli");
        let url = db.url();
        let runs = [
            [("app flaky", Ran::Retry), ("app broken", Ran::Fail), ("app fine", Ran::Pass)],
            [("app flaky", Ran::Pass), ("app broken", Ran::Fail), ("app fine", Ran::Pass)],
            [("app flaky", Ran::Fail), ("app broken", Ran::Fail), ("app fine", Ran::Pass)],
        ];
        let files: Vec<PathBuf> = runs
            .iter()
            .enumerate()
            .map(|(i, results)| report_file(&dir, &format!("run{i}"), 3 - i as i64, results))
            .collect();
        let file = |i: usize| files[i].to_str().unwrap();

        let first = flaky_cli(&["history", "add", "--db", &url, "--commit", "c0", "--branch", "main", file(0)]);
        let again = flaky_cli(&["history", "add", "--db", &url, "--commit", "c0", file(0)]);
        for (i, commit) in [(1, "c1"), (2, "c2")] {
            let output = flaky_cli(&["history", "add", "--db", &url, "--commit", commit, file(i)]);
            assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        }
        let show = flaky_cli(&["history", "show", "--db", &url, "--format", "json"]);

        assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
        assert!(
            stdout(&first).starts_with("steadfast-flaky: added run 1 (content:"),
            "{}",
            stdout(&first)
        );
        assert!(stdout(&first).ends_with(": 3 tests, 2 disrupted\n"), "{}", stdout(&first));
        assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
        assert!(stdout(&again).contains("already has run 1 (content:"), "{}", stdout(&again));
        assert!(stdout(&again).ends_with("): not counted again\n"));
        assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
        let json: Value = serde_json::from_slice(&show.stdout).unwrap();
        assert_eq!(json["schema"], "steadfast-flaky/history/v1");
        assert_eq!(json["window"]["runs"], 3);
        let figures: Vec<(String, u64, u64, u64)> = json["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|test| {
                let count = |key: &str| test[key].as_u64().unwrap();
                (test["test"].as_str().unwrap().to_owned(), count("runs"), count("failed_runs"), count("flaky_runs"))
            })
            .collect();
        assert_eq!(
            figures,
            [
                ("app broken".to_owned(), 3, 3, 0),
                ("app fine".to_owned(), 3, 0, 0),
                ("app flaky".to_owned(), 3, 1, 1),
            ]
        );
        let flaky = &json["tests"][2];
        assert_eq!(flaky["turned_flaky"]["commit"], "c0");
        assert_eq!(flaky["turned_flaky"]["branch"], "main");
        assert_eq!(flaky["last_disruption"]["commit"], "c2");
        assert_eq!(flaky["status"], "flaky");
    }

    fn show_applies_the_rule_and_gate_flags_and_writes_markdown_and_html(db) {
        let dir = fresh_dir("history-cli-rule");
        let url = db.url();
        for i in 0..4 {
            let ran = if i < 2 { Ran::Retry } else { Ran::Pass };
            let file = report_file(&dir, &format!("run{i}"), 5 - i, &[("app t", ran)]);
            let output = flaky_cli(&["history", "add", "--db", &url, file.to_str().unwrap()]);
            assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        }
        let html_path = dir.join("history.html");

        let strict = flaky_cli(&[
            "history", "show", "--db", &url, "--format", "json", "--min-results", "4",
            "--max-disrupted", "40%", "--green-streak", "3",
        ]);
        let markdown = flaky_cli(&["history", "show", "--db", &url, "--min-results", "4", "--since", "2"]);
        let html = flaky_cli(&[
            "history", "show", "--db", &url, "--format", "html", "--output", html_path.to_str().unwrap(),
        ]);

        assert_eq!(strict.status.code(), Some(0), "{}", stderr(&strict));
        let json: Value = serde_json::from_slice(&strict.stdout).unwrap();
        assert_eq!(json["quarantine"], serde_json::json!(["app t"]));
        assert_eq!(json["rule"], serde_json::json!({"min_results": 4, "max_disrupted": 0.4, "green_streak": 3}));
        assert_eq!(markdown.status.code(), Some(0), "{}", stderr(&markdown));
        let text = stdout(&markdown);
        assert!(text.starts_with("## steadfast-flaky history: 1 to quarantine, 0 flaky"), "{text}");
        assert!(text.contains("| quarantine | `app t` | 4 | 0 | 2 | 50% ("), "{text}");
        assert!(text.contains("(the last 2 days)"), "{text}");
        assert_eq!(html.status.code(), Some(0), "{}", stderr(&html));
        let page = std::fs::read_to_string(&html_path).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<svg"), "{page}");
        assert!(page.contains("<td><code>app t</code></td>"), "{page}");
        for external in ["<script", "src=", "href=", "@import", "url("] {
            assert!(!page.contains(external), "the page loads something: {external}");
        }
    }

    fn the_html_report_draws_the_trend_of_the_history_it_is_given(db) {
        let dir = fresh_dir("history-cli-report");
        let url = db.url();
        let mut last = PathBuf::new();
        for i in 0..3 {
            let ran = if i == 1 { Ran::Retry } else { Ran::Pass };
            last = report_file(&dir, &format!("run{i}"), 3 - i, &[("app t", ran)]);
            let output = flaky_cli(&["history", "add", "--db", &url, last.to_str().unwrap()]);
            assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        }
        let with_history = dir.join("with.html");
        let without = dir.join("without.html");
        let report = |page: &Path, history: Option<&str>| {
            let mut args = vec!["report", "--format", "html", "--output", page.to_str().unwrap()];
            if let Some(db) = history {
                args.extend(["--history", db]);
            }
            args.push(last.to_str().unwrap());
            flaky_cli(&args)
        };

        let drawn = report(&with_history, Some(&url));
        let plain = report(&without, None);

        assert_eq!(drawn.status.code(), Some(0), "{}", stderr(&drawn));
        assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
        let page = std::fs::read_to_string(&with_history).unwrap();
        let trend = &page[page.find("<section id=\"trend\"").expect("a trend section")..];
        assert!(trend.contains("Flake trend across CI runs") && trend.contains("<svg"), "{trend}");
        let plain_page = std::fs::read_to_string(&without).unwrap();
        assert!(!plain_page.contains("id=\"trend\"") && !plain_page.contains("<svg"));
    }

    fn show_refuses_a_newer_schema_and_bad_flags_with_exit_2(db) {
        let dir = fresh_dir("history-cli-bad");
        let url = db.url();
        let file = report_file(&dir, "run", 1, &[("app t", Ran::Pass)]);
        let added = flaky_cli(&["history", "add", "--db", &url, file.to_str().unwrap()]);
        assert_eq!(added.status.code(), Some(0), "{}", stderr(&added));

        let share = flaky_cli(&["history", "show", "--db", &url, "--max-disrupted", "1.5"]);
        let since = flaky_cli(&["history", "show", "--db", &url, "--since", "0"]);
        let no_db = flaky_cli(&["history", "show"]);
        db.execute("UPDATE schema_version SET version = 99");
        let newer = flaky_cli(&["history", "show", "--db", &url]);
        let add_newer = flaky_cli(&["history", "add", "--db", &url, file.to_str().unwrap()]);

        for (output, message) in [
            (&share, "--max-disrupted must be a share from 0 to 1 (0.3) or a percentage (30%), got \"1.5\""),
            (&since, "--since must be at least 1"),
            (&no_db, "history needs --db URL"),
            (&newer, "has schema version 99, newer than version 1, the newest this steadfast-flaky reads"),
            (&add_newer, "has schema version 99, newer than version 1"),
        ] {
            assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
            assert!(stderr(output).contains(message), "{}", stderr(output));
            assert!(stdout(output).is_empty());
        }
    }
}

#[test]
fn a_report_without_timestamps_warns_that_its_run_id_cannot_tell_runs_apart() {
    let dir = fresh_dir("history-cli-untimed");
    let db = dir.join("history.db");
    let libtest = dir.join("libtest.txt");
    std::fs::write(&libtest, "running 1 test\ntest app::t ... ok\n").unwrap();

    let plain = flaky_cli(&[
        "history",
        "add",
        "--db",
        db.to_str().unwrap(),
        libtest.to_str().unwrap(),
    ]);
    let named = flaky_cli(&[
        "history",
        "add",
        "--db",
        db.to_str().unwrap(),
        "--run-id",
        "7.1",
        libtest.to_str().unwrap(),
    ]);
    let show = flaky_cli(&[
        "history",
        "show",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]);

    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert!(
        stderr(&plain).contains("the report has no timestamps"),
        "{}",
        stderr(&plain)
    );
    assert!(stderr(&plain).contains("pass --run-id"));
    assert_eq!(named.status.code(), Some(0), "{}", stderr(&named));
    assert!(stderr(&named).is_empty(), "{}", stderr(&named));
    assert!(
        stdout(&named).starts_with("steadfast-flaky: added run 2 (7.1)"),
        "{}",
        stdout(&named)
    );
    // Both runs took the time of their add, inside the default window.
    let json: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(json["tests"][0]["runs"], 2);
}
