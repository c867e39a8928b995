//! `steadfast-flaky run` when a run does not finish: the test command killed by a signal,
//! past its `--timeout`, interrupted, or leaving a truncated JUnit file. The command is a
//! stand-in for `cargo nextest run`: a shell script that writes nextest's JUnit where nextest
//! would (`target/nextest/<profile>/junit.xml` under the workspace of its `--manifest-path`),
//! and misbehaves in the run this test asks for.

use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use steadfast_determinism::Seed;
use steadfast_determinism::wait::wait_until;

use crate::support::{clean_command, fresh_dir};

/// `fake-nextest.sh MODE ON_RUN ROOT …`: in every run, the JUnit of two passing tests,
/// `always_passes` and `written_by_run_N`; in run ON_RUN (0: none), what MODE says instead.
const FAKE_NEXTEST: &str = r#"#!/bin/sh
mode=$1 on_run=$2 root=$3
run=$(basename "$STEADFAST_FLAKY_DIR")
out="$root/target/nextest/ci/junit.xml"
mkdir -p "$root/target/nextest/ci"
junit() {
    printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
        "<testsuites name=\"nextest-run\" tests=\"2\" failures=\"0\" errors=\"0\" timestamp=\"2026-01-01T00:00:0$run.000+00:00\" time=\"0.002\">" \
        '    <testsuite name="fake::integration" tests="2" disabled="0" errors="0" failures="0">' \
        "        <testcase name=\"always_passes\" classname=\"fake::integration\" time=\"0.001\"/>" \
        "        <testcase name=\"written_by_run_$run\" classname=\"fake::integration\" time=\"0.001\"/>" \
        '    </testsuite>' \
        '</testsuites>'
}
if [ "$run" != "$on_run" ]; then
    junit > "$out"
    exit 0
fi
case $mode in
    sigkill) junit > "$out"; kill -KILL $$ ;;
    sigsegv) ulimit -c 0; kill -SEGV $$ ;;
    truncate) junit | head -c 200 > "$out"; exit 0 ;;
    sleep) sleep 60 & echo $! > "$root/sleeper.pid"; wait ;;
    ignore-term) trap '' TERM; sleep 60 & echo $! > "$root/sleeper.pid"; wait ;;
esac
exit 0
"#;

/// A directory with a workspace for the fake to write into, and the fake itself.
struct Fake {
    root: PathBuf,
    script: PathBuf,
}

impl Fake {
    fn new(name: &str) -> Self {
        let root = fresh_dir(name);
        std::fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
        let script = root.join("fake-nextest.sh");
        std::fs::write(&script, FAKE_NEXTEST).unwrap();
        Self { root, script }
    }

    fn dir(&self) -> PathBuf {
        self.root.join("flaky")
    }

    /// `steadfast-flaky run OPTIONS -- sh fake-nextest.sh MODE ON_RUN ROOT --manifest-path … -P ci`.
    fn command(&self, options: &[&str], mode: &str, on_run: u32) -> std::process::Command {
        let mut command = clean_command(env!("CARGO_BIN_EXE_steadfast-flaky"));
        command
            .arg("run")
            .args(options)
            .arg("--dir")
            .arg(self.dir())
            .arg("--")
            .arg("sh")
            .arg(&self.script)
            .args([mode, &on_run.to_string()])
            .arg(&self.root)
            .arg("--manifest-path")
            .arg(self.root.join("Cargo.toml"))
            .args(["-P", "ci"]);
        command
    }

    fn run(&self, options: &[&str], mode: &str, on_run: u32) -> Output {
        self.command(options, mode, on_run).output().unwrap()
    }

    fn report(&self) -> Value {
        let text = std::fs::read_to_string(self.dir().join("report.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The pid the fake's background `sleep` wrote, once it has.
    fn sleeper(&self) -> libc::pid_t {
        let path = self.root.join("sleeper.pid");
        let mut pid = None;
        wait_until(Duration::from_secs(20), || {
            pid = std::fs::read_to_string(&path)
                .ok()
                .and_then(|text| text.trim().parse().ok());
            pid.is_some()
        })
        .unwrap_or_else(|err| panic!("steadfast: the fake never started its sleep: {err}"));
        pid.unwrap()
    }
}

/// Whether `pid` is a process that has not exited (a zombie has).
fn is_running(pid: libc::pid_t) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the command name, which is in parentheses.
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The runs and status of each test in the JSON report, by id.
fn tests(report: &Value) -> Vec<(String, u64, String)> {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|test| {
            (
                test["id"].as_str().unwrap().to_owned(),
                test["runs"].as_u64().unwrap(),
                test["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn test(id: &str, runs: u64) -> (String, u64, String) {
    (id.to_owned(), runs, "stable-pass".to_owned())
}

/// Run 2's seed under `--seed 5 --seed-mode vary`.
fn second_seed() -> Seed {
    Seed::new(5).derive("run 1")
}

/// What every case shares: exit 2, run 1's two tests alone in the report, the reason in the
/// Markdown, on stderr and in the JSON, and no trace of run 3.
#[track_caller]
fn assert_run_2_of_3_did_not_finish(fake: &Fake, output: &Output, reason: &str) {
    assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
    let report = fake.report();
    assert_eq!(
        tests(&report),
        [
            test("fake::integration always_passes", 1),
            test("fake::integration written_by_run_1", 1),
        ]
    );
    let seed = second_seed().to_string();
    assert_eq!(report["unfinished_run"]["run"], 2);
    assert_eq!(report["unfinished_run"]["of"], 3);
    assert_eq!(report["unfinished_run"]["seed"], seed.as_str());
    let json_reason = report["unfinished_run"]["reason"].as_str().unwrap();
    assert!(json_reason.starts_with(reason), "{json_reason}");
    let markdown = stdout(output);
    assert!(
        markdown.starts_with(
            "## steadfast-flaky: 0 flaky, 0 failing in every run, 2 stable, 0 skipped (2 tests)"
        ),
        "{markdown}"
    );
    let note = format!(
        "\n### Run 2 of 3 did not finish\n\n{json_reason}\n\nIts seed was `{seed}`. The report \
         above holds the run before it; the runs after it did not start. What it left is in \
         `{}`.\n",
        fake.dir().join("runs/2").display()
    );
    assert!(markdown.ends_with(&note), "{markdown}");
    let stderr = stderr(output);
    assert!(
        stderr.contains(&format!(
            "steadfast-flaky: {json_reason}; runs finished and reported: 1 of 3\n"
        )),
        "{stderr}"
    );
    assert!(!fake.dir().join("runs/3").exists(), "run 3 started");
}

const THREE_VARIED_RUNS: [&str; 6] = ["--runs", "3", "--seed", "5", "--seed-mode", "vary"];

#[test]
fn a_run_killed_by_sigkill_stops_the_runs_and_keeps_the_first() {
    let fake = Fake::new("sigkill");

    let output = fake.run(&THREE_VARIED_RUNS, "sigkill", 2);

    // The killed run wrote a whole report before it died: it still does not count.
    assert_run_2_of_3_did_not_finish(
        &fake,
        &output,
        "run 2 of the test command was killed (signal: 9 (SIGKILL))",
    );
    assert!(fake.dir().join("runs/2/junit.xml").is_file());
}

#[test]
fn a_run_killed_by_sigsegv_names_the_signal() {
    let fake = Fake::new("sigsegv");

    let output = fake.run(&THREE_VARIED_RUNS, "sigsegv", 2);

    assert_run_2_of_3_did_not_finish(
        &fake,
        &output,
        "run 2 of the test command was killed (signal: 11 (SIGSEGV))",
    );
}

#[test]
fn a_truncated_junit_file_is_named_with_what_is_wrong_and_kept() {
    let fake = Fake::new("truncate");

    let output = fake.run(&THREE_VARIED_RUNS, "truncate", 2);

    let junit = fake.root.join("target/nextest/ci/junit.xml");
    assert_run_2_of_3_did_not_finish(
        &fake,
        &output,
        &format!(
            "run 2 of the test command (exit status: 0) left a report at {junit} that cannot be \
             read: {junit} is not a valid JUnit report: ",
            junit = junit.display()
        ),
    );
    let kept = std::fs::read(fake.dir().join("runs/2/junit.xml")).unwrap();
    assert_eq!(kept.len(), 200, "the cut file is kept as it was");
}

#[test]
fn a_run_past_its_timeout_has_its_whole_process_group_killed() {
    let fake = Fake::new("timeout");
    let mut options = THREE_VARIED_RUNS.to_vec();
    options.extend(["--timeout", "1s"]);

    let output = fake.run(&options, "sleep", 2);

    assert_run_2_of_3_did_not_finish(
        &fake,
        &output,
        "run 2 of the test command timed out after 1s and its process group was killed",
    );
    let sleeper = fake.sleeper();
    wait_until(Duration::from_secs(20), || !is_running(sleeper)).unwrap_or_else(|err| {
        panic!("steadfast: the fake's sleep {sleeper} outlived its group's kill: {err}")
    });
}

#[test]
fn a_command_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let fake = Fake::new("ignore-term");
    let mut options = THREE_VARIED_RUNS.to_vec();
    options.extend(["--timeout", "500ms"]);

    let output = fake.run(&options, "ignore-term", 2);

    assert_run_2_of_3_did_not_finish(
        &fake,
        &output,
        "run 2 of the test command timed out after 500ms and its process group was killed",
    );
    let sleeper = fake.sleeper();
    wait_until(Duration::from_secs(20), || !is_running(sleeper))
        .unwrap_or_else(|err| panic!("steadfast: sleep {sleeper} ignored SIGKILL?: {err}"));
}

fn signal(child: &Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill touches no memory; the pid is our own child, not yet reaped.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill failed");
}

#[test]
fn sigint_is_passed_on_to_a_command_with_a_timeout_and_stops_the_runs() {
    let fake = Fake::new("sigint");
    let mut options = THREE_VARIED_RUNS.to_vec();
    options.extend(["--timeout", "60s"]);
    let child = fake
        .command(&options, "sleep", 2)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sleeper = fake.sleeper();

    signal(&child, libc::SIGINT);
    let output = child.wait_with_output().unwrap();

    assert_run_2_of_3_did_not_finish(
        &fake,
        &output,
        "run 2 of the test command was interrupted by SIGINT, which was passed on to its \
         process group",
    );
    wait_until(Duration::from_secs(20), || !is_running(sleeper))
        .unwrap_or_else(|err| panic!("steadfast: sleep {sleeper} outlived the SIGINT: {err}"));
}

#[test]
fn runs_within_their_timeout_are_reported_as_without_one() {
    let fake = Fake::new("in-time");

    let output = fake.run(&["--runs", "2", "--timeout", "1m"], "none", 0);

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = fake.report();
    assert_eq!(
        tests(&report),
        [
            test("fake::integration always_passes", 2),
            test("fake::integration written_by_run_1", 1),
            test("fake::integration written_by_run_2", 1),
        ]
    );
    assert_eq!(report.get("unfinished_run"), None);
}

#[test]
fn a_report_with_an_unfinished_run_reads_back_as_its_tests() {
    let fake = Fake::new("read-back");
    let output = fake.run(&THREE_VARIED_RUNS, "sigkill", 2);
    assert_eq!(output.status.code(), Some(2));

    let report = fake.dir().join("report.json");
    let read = clean_command(env!("CARGO_BIN_EXE_steadfast-flaky"))
        .args(["report", "--format", "json"])
        .arg(&report)
        .output()
        .unwrap();

    assert_eq!(read.status.code(), Some(0), "{}", stderr(&read));
    let json: Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(tests(&json), tests(&fake.report()));
}

#[test]
fn bad_timeouts_are_usage_errors() {
    let fake = Fake::new("bad-timeout");
    for timeout in ["0s", "90", "1m30", "soon", "30s1m"] {
        let output = fake.run(&["--timeout", timeout], "none", 0);

        assert_eq!(output.status.code(), Some(2), "{timeout}");
        let stderr = stderr(&output);
        assert!(
            stderr.contains(&format!(
                "--timeout must be a duration above 0 such as 90s, 30m or 1h30m, got {timeout:?}"
            )),
            "{stderr}"
        );
        assert!(stderr.contains("usage:"), "{stderr}");
    }
}
