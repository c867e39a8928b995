//! End to end: the `steadfast-flaky` binary over real `cargo nextest run` runs of the fixture
//! crate in `tests/fixture/`, asserting the exact classification and exit codes.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use serde_json::Value;
use steadfast_determinism::Seed;

use crate::support::{clean_command, data, fresh_dir};

const BIN: &str = "steadfast-flaky-fixture::fixture";

fn fixture_manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixture/Cargo.toml")
}

fn fixture_target() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fixture-target")
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Builds the fixture's tests once per test binary, so each run below only runs them.
fn build_fixture() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let output = clean_command(cargo())
            .args(["nextest", "run", "--no-run", "--manifest-path"])
            .arg(fixture_manifest())
            .env("CARGO_TARGET_DIR", fixture_target())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "building the fixture failed: {output:?}"
        );
    });
}

/// A nextest config whose store (and so JUnit file) is private to one test.
fn nextest_config(dir: &Path) -> PathBuf {
    let config = dir.join("nextest.toml");
    let store = dir.join("store");
    std::fs::write(
        &config,
        format!(
            "[store]\ndir = {:?}\n\n[profile.ci]\nfail-fast = false\n\n[profile.ci.junit]\npath = \"junit.xml\"\n",
            store.to_str().unwrap()
        ),
    )
    .unwrap();
    config
}

struct Run {
    output: Output,
    dir: PathBuf,
}

impl Run {
    fn code(&self) -> i32 {
        self.output.status.code().unwrap()
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    fn report(&self) -> Value {
        let text = std::fs::read_to_string(self.dir.join("flaky/report.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// (status, runs, failures, passed_on_retry) per test name.
    fn classification(&self) -> Vec<(String, String, u64, u64, u64)> {
        self.report()["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|test| {
                let id = test["id"].as_str().unwrap();
                (
                    id.strip_prefix(&format!("{BIN} ")).unwrap().to_owned(),
                    test["status"].as_str().unwrap().to_owned(),
                    test["runs"].as_u64().unwrap(),
                    test["failures"].as_u64().unwrap(),
                    test["passed_on_retry"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    fn test(&self, name: &str) -> Value {
        self.report()["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|test| test["id"] == format!("{BIN} {name}"))
            .unwrap()
            .clone()
    }
}

/// `steadfast-flaky run <options> -- cargo nextest run … <nextest args>` on the fixture.
fn run_fixture(name: &str, options: &[&str], nextest_args: &[&str]) -> Run {
    build_fixture();
    let dir = fresh_dir(name);
    let config = nextest_config(&dir);
    let junit = dir.join("store/ci/junit.xml");
    let output = clean_command(env!("CARGO_BIN_EXE_steadfast-flaky"))
        .arg("run")
        .args(options)
        .arg("--junit")
        .arg(&junit)
        .arg("--dir")
        .arg(dir.join("flaky"))
        .args(["--", &cargo(), "nextest", "run", "--manifest-path"])
        .arg(fixture_manifest())
        .arg("--config-file")
        .arg(&config)
        .args(["--profile", "ci"])
        .args(nextest_args)
        .env("CARGO_TARGET_DIR", fixture_target())
        .output()
        .unwrap();
    Run { output, dir }
}

fn row(
    name: &str,
    status: &str,
    runs: u64,
    failures: u64,
    retried: u64,
) -> (String, String, u64, u64, u64) {
    (name.to_owned(), status.to_owned(), runs, failures, retried)
}

#[test]
fn the_whole_fixture_is_classified_exactly() {
    let run = run_fixture(
        "whole",
        &["--runs", "2", "--retries", "1", "--seed", "2"],
        &[],
    );

    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert_eq!(
        run.classification(),
        [
            row("always_fails", "stable-fail", 2, 2, 0),
            row("always_passes", "stable-pass", 2, 0, 0),
            row("fails_for_odd_run_seeds", "stable-pass", 2, 0, 0),
            row("fails_in_first_stress_iteration", "stable-pass", 2, 0, 0),
            row("fails_on_first_attempt", "flaky", 2, 0, 2),
            row("passes_on_in_process_retry", "flaky", 2, 0, 2),
        ]
    );
    let stdout = run.stdout();
    assert!(
        stdout.starts_with(
            "## steadfast-flaky: 2 flaky, 1 failing in every run, 3 stable, 0 skipped (6 tests)"
        ),
        "{stdout}"
    );
    let in_process = run.test("passes_on_in_process_retry");
    assert_eq!(in_process["same_seed_retries"], 2);
    // Each run kept its JUnit file for later merging.
    assert!(run.dir.join("flaky/runs/2/junit.xml").is_file());
    // The gate reads the run's JSON report: always_fails fails it, quarantined it is flaky.
    let report = run.dir.join("flaky/report.json");
    let report = report.to_str().unwrap();
    assert_eq!(flaky_cli(&["gate", report]).status.code(), Some(1));
    let quarantine = run.dir.join("quarantine");
    std::fs::write(&quarantine, "always_fails\n").unwrap();
    let gated = flaky_cli(&["gate", report, "--quarantine", quarantine.to_str().unwrap()]);
    assert_eq!(gated.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&gated.stdout),
        format!(
            "flaky: {BIN} fails_on_first_attempt\nflaky: {BIN} passes_on_in_process_retry\n\
             quarantined (stable-fail): {BIN} always_fails\n\
             gate failed: 2 flaky tests, at most 0 allowed\n"
        )
    );
}

#[test]
fn stable_passes_exit_0() {
    let run = run_fixture("pass", &["--runs", "2"], &["-E", "test(=always_passes)"]);

    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        run.classification(),
        [row("always_passes", "stable-pass", 2, 0, 0)]
    );
}

#[test]
fn a_test_failing_every_run_exits_1_with_message_and_seed() {
    let run = run_fixture(
        "fail",
        &["--runs", "2", "--seed", "7"],
        &["-E", "test(=always_fails)"],
    );

    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert_eq!(
        run.classification(),
        [row("always_fails", "stable-fail", 2, 2, 0)]
    );
    let test = run.test("always_fails");
    assert_eq!(test["last_failure"]["message"], "this test always fails");
    assert_eq!(
        test["failing_seeds"],
        serde_json::json!(["0x0000000000000007"])
    );
    // A plain test prints no replay line; run names the nextest command that selects it.
    assert_eq!(
        test["last_failure"]["replay"],
        format!(
            "STEADFAST_SEED=0x0000000000000007 cargo nextest run \
             -E 'binary_id({BIN}) & test(=always_fails)'"
        )
    );
}

#[test]
fn a_pass_on_nextest_retry_exits_3() {
    let run = run_fixture(
        "retry",
        &["--runs", "2", "--retries", "1"],
        &["-E", "test(=fails_on_first_attempt)"],
    );

    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert_eq!(
        run.classification(),
        [row("fails_on_first_attempt", "flaky", 2, 0, 2)]
    );
}

#[test]
fn varying_seeds_finds_the_runs_whose_seed_fails() {
    // The fixture test fails when the run seed is odd; run i gets base.derive("run i").
    let runs = 4;
    let (base, odd): (u64, Vec<Seed>) = (1..)
        .map(|base| {
            let odd: Vec<Seed> = (0..runs)
                .map(|i| Seed::new(base).derive(&format!("run {i}")))
                .filter(|seed| seed.value() % 2 == 1)
                .collect();
            (base, odd)
        })
        .find(|(_, odd)| !odd.is_empty() && odd.len() < runs)
        .unwrap();

    let run = run_fixture(
        "vary",
        &[
            "--runs",
            "4",
            "--seed-mode",
            "vary",
            "--seed",
            &base.to_string(),
        ],
        &["-E", "test(=fails_for_odd_run_seeds)"],
    );

    assert_eq!(run.code(), 3, "{}", run.stderr());
    let failures = u64::try_from(odd.len()).unwrap();
    assert_eq!(
        run.classification(),
        [row("fails_for_odd_run_seeds", "flaky", 4, failures, 0)]
    );
    let mut expected: Vec<String> = odd
        .iter()
        .map(|run_seed| {
            run_seed
                .derive("fixture::fails_for_odd_run_seeds")
                .to_string()
        })
        .collect();
    expected.sort();
    assert_eq!(
        run.test("fails_for_odd_run_seeds")["failing_seeds"],
        serde_json::json!(expected)
    );
    let stdout = run.stdout();
    assert!(stdout.contains(&format!("`{}`", expected[0])), "{stdout}");
}

#[test]
fn a_failure_hidden_by_stress_exit_0_is_still_found() {
    let run = run_fixture(
        "stress",
        &["--runs", "1"],
        &[
            "--stress-count",
            "3",
            "-E",
            "test(=fails_in_first_stress_iteration)",
        ],
    );

    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert_eq!(
        run.classification(),
        [row("fails_in_first_stress_iteration", "flaky", 3, 1, 0)]
    );
}

#[test]
fn a_command_that_writes_no_report_is_an_error() {
    let dir = fresh_dir("no-report");
    let output = clean_command(env!("CARGO_BIN_EXE_steadfast-flaky"))
        .args(["run", "--runs", "2", "--junit"])
        .arg(dir.join("junit.xml"))
        .arg("--dir")
        .arg(&dir)
        .args(["--", "sh", "-c", "exit 0"])
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "run 1 of the test command (exit status: 0) wrote no report at {}",
            dir.join("junit.xml").display()
        )),
        "{stderr}"
    );
}

fn flaky_cli(args: &[&str]) -> Output {
    clean_command(env!("CARGO_BIN_EXE_steadfast-flaky"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["run", "--runs", "2"],
        &["run", "--runs", "two", "--", "true"],
        &["run", "--seed-mode", "sometimes", "--", "true"],
        &["report"],
        &["report", "--format", "yaml", "x"],
        &["gate", "--max-flaky", "-1", "x"],
    ] {
        let output = flaky_cli(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("usage:"),
            "{args:?}"
        );
    }
}

#[test]
fn report_merges_partitions_and_names_a_bad_input() {
    let one = data("nextest/partition-1-of-2.xml");
    let two = data("nextest/partition-2-of-2.xml");

    let output = flaky_cli(&[
        "report",
        "--format",
        "json",
        one.to_str().unwrap(),
        two.to_str().unwrap(),
    ]);

    assert_eq!(output.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["summary"]["tests"], 6);
    assert_eq!(json["summary"]["stable_fail"], 2);

    let dir = fresh_dir("bad-input");
    let bad = dir.join("cut.xml");
    std::fs::write(&bad, "<testsuites><testsuite name=\"x\">").unwrap();
    let output = flaky_cli(&["report", one.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{} is not a valid JUnit report", bad.display())),
        "{stderr}"
    );
}

#[test]
fn gate_honours_quarantine_and_fails_on_expired_entries() {
    let retries = data("nextest/retries.xml");
    let retries = retries.to_str().unwrap();
    let dir = fresh_dir("gate");
    let quarantine = |text: &str| {
        let path = dir.join(format!("q{}", text.len()));
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let both = quarantine(&format!(
        "# known offenders\n{BIN} always_fails 2999-12-31\nfails_on_first_attempt\n"
    ));
    let only_failing = quarantine(&format!("{BIN} always_fails\n"));
    let expired = quarantine(&format!(
        "{both_lines}{BIN} gone 2000-01-01 # old\n",
        both_lines = std::fs::read_to_string(&both).unwrap()
    ));

    let cases = [
        (vec!["gate", retries], 1),
        (vec!["gate", retries, "--quarantine", &both], 0),
        (vec!["gate", retries, "--quarantine", &only_failing], 3),
        (
            vec![
                "gate",
                retries,
                "--quarantine",
                &only_failing,
                "--max-flaky",
                "1",
            ],
            0,
        ),
        (vec!["gate", retries, "--quarantine", &expired], 1),
    ];
    for (args, code) in cases {
        let output = flaky_cli(&args);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {output:?}");
    }
    let output = flaky_cli(&["gate", retries, "--quarantine", &expired]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "expired quarantine (line 4, until 2000-01-01): {BIN} gone"
        )),
        "{stdout}"
    );
}
