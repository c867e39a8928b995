//! Real JUnit files from pytest, Jest, Playwright, cargo2junit, nextest and Surefire, each from
//! a suite with a stable, a pass-on-retry and an always-failing test (see
//! `tests/data/junit/README.md`), classified exactly.

use steadfast_flaky::input::read_input;
use steadfast_flaky::time::format_millis;
use steadfast_flaky::{Report, Status};

use crate::support::data;

/// (id, status, runs, failures, passed on retry, attempts).
type Row = (String, Status, u32, u32, u32, u32);

fn row(id: &str, status: Status, runs: u32, failures: u32, retried: u32, attempts: u32) -> Row {
    (id.to_owned(), status, runs, failures, retried, attempts)
}

fn junit(file: &str) -> std::path::PathBuf {
    data(&format!("junit/{file}"))
}

/// The merged report of the files, asserting none of them warns.
fn read_quietly(files: &[&str]) -> Report {
    let mut report = Report::new();
    for file in files {
        let input = read_input(&junit(file)).unwrap();
        assert_eq!(input.warnings, [], "{file}");
        report.merge(input.report);
    }
    report
}

fn rows(report: &Report) -> Vec<Row> {
    report
        .tests()
        .map(|(id, s)| {
            let (runs, failures, retried) = (s.runs, s.failures, s.passed_on_retry);
            (
                id.to_owned(),
                s.status(),
                runs,
                failures,
                retried,
                s.attempts,
            )
        })
        .collect()
}

fn last_message<'a>(report: &'a Report, id: &str) -> Option<&'a str> {
    let stats = report.get(id).unwrap();
    stats.last_failure.as_deref()?.message.as_deref()
}

use Status::{Flaky, StableFail, StablePass};

#[test]
fn pytest_rerunfailures_attempts_are_one_run_each() {
    let report = read_quietly(&["pytest/reruns.xml"]);

    assert_eq!(
        rows(&report),
        [
            row("test_suite test_always_fails", StableFail, 1, 1, 0, 2),
            row("test_suite test_passes_on_retry", Flaky, 1, 0, 1, 2),
            row("test_suite test_stable", StablePass, 1, 0, 0, 1),
        ]
    );
    // The message attribute, not the first line of the text (`def test_always_fails():`).
    assert_eq!(
        last_message(&report, "test_suite test_always_fails"),
        Some("AssertionError: this test always fails")
    );
}

#[test]
fn plain_pytest_run_twice_merges_into_a_flaky_test() {
    let report = read_quietly(&["pytest/run-1.xml", "pytest/run-2.xml"]);

    assert_eq!(
        rows(&report),
        [
            row("test_suite test_always_fails", StableFail, 2, 2, 0, 2),
            row("test_suite test_passes_on_retry", Flaky, 2, 1, 0, 2),
            row("test_suite test_stable", StablePass, 2, 0, 0, 2),
        ]
    );
}

#[test]
fn jest_junit_shows_only_last_attempts_and_says_so() {
    let path = junit("jest/retry.xml");

    let input = read_input(&path).unwrap();

    assert_eq!(
        rows(&input.report),
        [
            row("cart always fails", StableFail, 1, 1, 0, 1),
            row("cart passes on retry", StablePass, 1, 0, 0, 1),
            row("cart stable", StablePass, 1, 0, 0, 1),
        ]
    );
    assert_eq!(
        input
            .warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [format!(
            "{}: jest-junit writes only the last attempt of each test, so a test that passed \
             on a retry (jest.retryTimes) looks stable; jest-junit cannot write retries: run \
             the suite several times without retries and report the files together to see \
             flaky tests",
            path.display()
        )]
    );
    assert_eq!(input.warnings[0].path(), path.as_path());
    // jest-junit writes UTC without a zone.
    let stats = input.report.get("cart stable").unwrap();
    assert_eq!(
        stats.first_seen_ms.map(format_millis).as_deref(),
        Some("2026-12-01T23:40:12Z")
    );
    assert_eq!(
        last_message(&input.report, "cart always fails"),
        Some("Error: expect(received).toBe(expected) // Object.is equality")
    );
}

#[test]
fn playwright_without_include_retries_counts_retry_headings_and_warns() {
    let path = junit("playwright/plain.xml");

    let input = read_input(&path).unwrap();

    assert_eq!(
        rows(&input.report),
        [
            row(
                "suite.spec.js checkout › always fails",
                StableFail,
                1,
                1,
                0,
                2
            ),
            row(
                "suite.spec.js checkout › passes on retry",
                StablePass,
                1,
                0,
                0,
                1
            ),
            row("suite.spec.js checkout › stable", StablePass, 1, 0, 0, 1),
        ]
    );
    assert_eq!(
        input
            .warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [format!(
            "{}: this Playwright JUnit report has no retries, so a test that passed on a retry \
             looks stable (only a test that failed every attempt shows them, as \"Retry #N\" in \
             its failure); turn them on with `reporter: [['junit', {{ includeRetries: true }}]]`",
            path.display()
        )]
    );
}

#[test]
fn playwright_with_include_retries_shows_the_pass_on_retry() {
    let report = read_quietly(&["playwright/include-retries.xml"]);

    assert_eq!(
        rows(&report),
        [
            row(
                "suite.spec.js checkout › always fails",
                StableFail,
                1,
                1,
                0,
                2
            ),
            row(
                "suite.spec.js checkout › passes on retry",
                Flaky,
                1,
                0,
                1,
                2
            ),
            row("suite.spec.js checkout › stable", StablePass, 1, 0, 0, 1),
        ]
    );
    assert_eq!(
        last_message(&report, "suite.spec.js checkout › passes on retry"),
        Some("first attempt fails")
    );
}

#[test]
fn playwright_projects_are_told_apart_by_hostname() {
    let input = read_input(&junit("playwright/two-projects.xml")).unwrap();

    assert_eq!(
        rows(&input.report),
        [
            row(
                "[desktop] suite.spec.js checkout › always fails",
                StableFail,
                1,
                1,
                0,
                2
            ),
            row(
                "[desktop] suite.spec.js checkout › passes on retry",
                StablePass,
                1,
                0,
                0,
                1
            ),
            row(
                "[desktop] suite.spec.js checkout › stable",
                StablePass,
                1,
                0,
                0,
                1
            ),
            row(
                "[mobile] suite.spec.js checkout › always fails",
                StableFail,
                1,
                1,
                0,
                2
            ),
            row(
                "[mobile] suite.spec.js checkout › passes on retry",
                StablePass,
                1,
                0,
                0,
                1
            ),
            row(
                "[mobile] suite.spec.js checkout › stable",
                StablePass,
                1,
                0,
                0,
                1
            ),
        ]
    );
    assert_eq!(input.warnings.len(), 1);
}

#[test]
fn cargo2junit_keeps_two_modules_tests_of_one_name_apart() {
    let report = read_quietly(&["cargo2junit/run-1.xml", "cargo2junit/run-2.xml"]);

    assert_eq!(
        rows(&report),
        [
            row("billing stable", StablePass, 2, 0, 0, 2),
            row("checkout always_fails", StableFail, 2, 2, 0, 2),
            row("checkout passes_on_retry", Flaky, 2, 1, 0, 2),
            row("checkout stable", StablePass, 2, 0, 0, 2),
        ]
    );
    // The panic message, not cargo2junit's `failed checkout::always_fails`.
    assert_eq!(
        last_message(&report, "checkout always_fails"),
        Some("this test always fails")
    );
}

#[test]
fn nextest_retries_keep_binary_ids() {
    let report = read_quietly(&["nextest/retries.xml"]);

    assert_eq!(
        rows(&report),
        [
            row("junit-suite billing::stable", StablePass, 1, 0, 0, 1),
            row("junit-suite checkout::always_fails", StableFail, 1, 1, 0, 2),
            row("junit-suite checkout::passes_on_retry", Flaky, 1, 0, 1, 2),
            row("junit-suite checkout::stable", StablePass, 1, 0, 0, 1),
        ]
    );
}

#[test]
fn surefire_reruns_are_read_from_a_root_testsuite() {
    let report = read_quietly(&["surefire/TEST-shop.CheckoutTest.xml"]);

    assert_eq!(
        rows(&report),
        [
            row("shop.CheckoutTest alwaysFails", StableFail, 1, 1, 0, 2),
            row("shop.CheckoutTest passesOnRetry", Flaky, 1, 0, 1, 2),
            row("shop.CheckoutTest stable", StablePass, 1, 0, 0, 1),
        ]
    );
    assert_eq!(
        last_message(&report, "shop.CheckoutTest alwaysFails"),
        Some("this test always fails expected:<[pass]ing> but was:<[fail]ing>")
    );
}

/// Every committed file of every tool.
pub const ALL: [&str; 12] = [
    "pytest/reruns.xml",
    "pytest/run-1.xml",
    "pytest/run-2.xml",
    "jest/retry.xml",
    "playwright/plain.xml",
    "playwright/include-retries.xml",
    "playwright/two-projects.xml",
    "cargo2junit/run-1.xml",
    "cargo2junit/run-2.xml",
    "nextest/retries.xml",
    "surefire/TEST-shop.CheckoutTest.xml",
    "../nextest/stress.xml",
];

#[test]
fn all_tools_merge_into_one_report() {
    let mut report = Report::new();
    let mut warned = Vec::new();
    for file in ALL {
        let input = read_input(&junit(file)).unwrap();
        warned.extend(input.warnings.iter().map(|w| w.path().to_owned()));
        report.merge(input.report);
    }

    let pw = |id: &str| format!("suite.spec.js checkout › {id}");
    let project = |name: &str, id: &str| format!("[{name}] {}", pw(id));
    let fixture = |id: &str| format!("steadfast-flaky-fixture::fixture {id}");
    assert_eq!(
        rows(&report),
        [
            row(&project("desktop", "always fails"), StableFail, 1, 1, 0, 2),
            row(
                &project("desktop", "passes on retry"),
                StablePass,
                1,
                0,
                0,
                1
            ),
            row(&project("desktop", "stable"), StablePass, 1, 0, 0, 1),
            row(&project("mobile", "always fails"), StableFail, 1, 1, 0, 2),
            row(
                &project("mobile", "passes on retry"),
                StablePass,
                1,
                0,
                0,
                1
            ),
            row(&project("mobile", "stable"), StablePass, 1, 0, 0, 1),
            row("billing stable", StablePass, 2, 0, 0, 2),
            row("cart always fails", StableFail, 1, 1, 0, 1),
            row("cart passes on retry", StablePass, 1, 0, 0, 1),
            row("cart stable", StablePass, 1, 0, 0, 1),
            row("checkout always_fails", StableFail, 2, 2, 0, 2),
            row("checkout passes_on_retry", Flaky, 2, 1, 0, 2),
            row("checkout stable", StablePass, 2, 0, 0, 2),
            row("junit-suite billing::stable", StablePass, 1, 0, 0, 1),
            row("junit-suite checkout::always_fails", StableFail, 1, 1, 0, 2),
            row("junit-suite checkout::passes_on_retry", Flaky, 1, 0, 1, 2),
            row("junit-suite checkout::stable", StablePass, 1, 0, 0, 1),
            row("shop.CheckoutTest alwaysFails", StableFail, 1, 1, 0, 2),
            row("shop.CheckoutTest passesOnRetry", Flaky, 1, 0, 1, 2),
            row("shop.CheckoutTest stable", StablePass, 1, 0, 0, 1),
            row(&fixture("always_passes"), StablePass, 3, 0, 0, 3),
            row(
                &fixture("fails_in_first_stress_iteration"),
                Flaky,
                3,
                1,
                0,
                3
            ),
            row(&pw("always fails"), StableFail, 2, 2, 0, 4),
            row(&pw("passes on retry"), Flaky, 2, 0, 1, 3),
            row(&pw("stable"), StablePass, 2, 0, 0, 2),
            row("test_suite test_always_fails", StableFail, 3, 3, 0, 4),
            row("test_suite test_passes_on_retry", Flaky, 3, 1, 1, 4),
            row("test_suite test_stable", StablePass, 3, 0, 0, 3),
        ]
    );
    assert_eq!(
        warned,
        [
            junit("jest/retry.xml"),
            junit("playwright/plain.xml"),
            junit("playwright/two-projects.xml"),
        ]
    );
}
