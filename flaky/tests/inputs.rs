//! Reading real nextest JUnit files (retries, stress, partitions), libtest output and broken
//! inputs; writing and re-reading our own formats.
//!
//! The data under `tests/data/` was produced by cargo-nextest 0.9.143 and cargo test on the
//! fixture crate `tests/fixture/` (see `tests/data/README.md`).

use std::path::Path;

use steadfast_determinism::Seed;
use steadfast_flaky::input::{Format, detect, parse_report_json, read_report};
use steadfast_flaky::render::{to_json, to_junit, to_markdown};
use steadfast_flaky::{ErrorKind, Report, Status};

use crate::support::{data, fresh_dir};

const BIN: &str = "steadfast-flaky-fixture::fixture";

fn id(test: &str) -> String {
    format!("{BIN} {test}")
}

fn statuses(report: &Report) -> Vec<(String, Status, u32, u32, u32)> {
    report
        .tests()
        .map(|(id, s)| {
            (
                id.to_owned(),
                s.status(),
                s.runs,
                s.failures,
                s.passed_on_retry,
            )
        })
        .collect()
}

#[test]
fn nextest_retries_give_flaky_and_failing_tests() {
    let report = read_report(&data("nextest/retries.xml")).unwrap();

    assert_eq!(
        statuses(&report),
        [
            (id("always_fails"), Status::StableFail, 1, 1, 0),
            (id("always_passes"), Status::StablePass, 1, 0, 0),
            (id("fails_for_odd_run_seeds"), Status::StablePass, 1, 0, 0),
            (
                id("fails_in_first_stress_iteration"),
                Status::StablePass,
                1,
                0,
                0
            ),
            (id("fails_on_first_attempt"), Status::Flaky, 1, 0, 1),
            (
                id("passes_on_in_process_retry"),
                Status::StablePass,
                1,
                0,
                0
            ),
        ]
    );
    let failing = report.get(&id("always_fails")).unwrap();
    let last = failing.last_failure.as_deref().unwrap();
    assert_eq!(last.message.as_deref(), Some("this test always fails"));
    let flaky = report.get(&id("fails_on_first_attempt")).unwrap();
    assert_eq!(
        flaky.last_failure.as_deref().unwrap().message.as_deref(),
        Some("assertion `left != right` failed: first attempt fails")
    );
}

#[test]
fn nextest_stress_iterations_are_runs_of_one_test() {
    let report = read_report(&data("nextest/stress.xml")).unwrap();

    assert_eq!(
        statuses(&report),
        [
            (id("always_passes"), Status::StablePass, 3, 0, 0),
            (
                id("fails_in_first_stress_iteration"),
                Status::Flaky,
                3,
                1,
                0
            ),
        ]
    );
}

#[test]
fn nextest_partitions_merge_into_the_whole_suite() {
    let mut report = read_report(&data("nextest/partition-1-of-2.xml")).unwrap();
    let second = read_report(&data("nextest/partition-2-of-2.xml")).unwrap();
    assert!(report.tests().all(|(id, _)| second.get(id).is_none()));

    report.merge(second);

    let ids: Vec<&str> = report.tests().map(|(id, _)| id).collect();
    let all = read_report(&data("nextest/retries.xml")).unwrap();
    let expected: Vec<&str> = all.tests().map(|(id, _)| id).collect();
    assert_eq!(ids, expected);
    assert!(report.tests().all(|(_, stats)| stats.runs == 1));
}

#[test]
fn the_seed_and_replay_of_a_steadfast_failure_come_from_the_junit_output() {
    let report = read_report(&data("nextest/seeded-failure.xml")).unwrap();

    let stats = report.get(&id("fails_for_odd_run_seeds")).unwrap();
    assert_eq!(stats.status(), Status::StableFail);
    // The fixture ran with STEADFAST_SEED=1; steadfast-determinism derives the test's seed.
    let seed = Seed::new(1)
        .derive("fixture::fails_for_odd_run_seeds")
        .to_string();
    let failure = stats.last_failure.as_deref().unwrap();
    assert_eq!(failure.seed.as_deref(), Some(seed.as_str()));
    assert_eq!(
        failure.replay.as_deref(),
        Some(
            "STEADFAST_SEED=0x0000000000000001 cargo nextest run -p steadfast-flaky-fixture \
             --test fixture -E 'test(=fails_for_odd_run_seeds)'"
        )
    );
    assert_eq!(stats.failing_seeds.iter().collect::<Vec<_>>(), [&seed]);
}

#[test]
fn libtest_output_gives_outcomes_messages_and_seeds() {
    let report = read_report(&data("libtest/fixture.txt")).unwrap();

    let fixture = |test: &str| format!("fixture {test}");
    let summary: Vec<(String, Status)> = report
        .tests()
        .map(|(id, stats)| (id.to_owned(), stats.status()))
        .collect();
    assert_eq!(
        summary,
        [
            (fixture("always_fails"), Status::StableFail),
            (fixture("always_passes"), Status::StablePass),
            (fixture("fails_for_odd_run_seeds"), Status::StableFail),
            (
                fixture("fails_in_first_stress_iteration"),
                Status::StablePass
            ),
            (fixture("fails_on_first_attempt"), Status::StablePass),
            (fixture("passes_on_in_process_retry"), Status::StablePass),
        ]
    );
    let seeded = report.get(&fixture("fails_for_odd_run_seeds")).unwrap();
    let failure = seeded.last_failure.as_deref().unwrap();
    let seed = Seed::new(1)
        .derive("fixture::fails_for_odd_run_seeds")
        .to_string();
    assert_eq!(failure.seed.as_deref(), Some(seed.as_str()));
    assert_eq!(
        failure.message.as_deref(),
        Some("assertion `left == right` failed: odd run seed 0x0000000000000001")
    );
    let plain = report.get(&fixture("always_fails")).unwrap();
    assert_eq!(
        plain.last_failure.as_deref().unwrap().message.as_deref(),
        Some("this test always fails")
    );
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn broken_inputs_are_errors_naming_the_file() {
    let dir = fresh_dir("broken");
    let xml = std::fs::read(data("nextest/retries.xml")).unwrap();
    let truncated = write(&dir, "truncated.xml", &xml[..xml.len() / 2]);
    let mut bad_utf8 = xml.clone();
    bad_utf8.splice(100..100, [0xff, 0xfe]);
    let not_utf8 = write(&dir, "not-utf8.xml", &bad_utf8);
    let empty = write(&dir, "empty.xml", b"  \n");
    let text = String::from_utf8(xml).unwrap();
    let stamp = r#"timestamp="2026-11-22T09:14:25.633+00:00""#;
    let bad_time = text.replacen(stamp, r#"timestamp="yesterday""#, 1);
    let bad_time = write(&dir, "bad-time.xml", bad_time.as_bytes());
    let no_root = write(&dir, "no-root.xml", b"<?xml version=\"1.0\"?>\n<report/>");
    let unknown = write(&dir, "unknown.txt", b"hello\nworld\n");
    let not_xml = write(
        &dir,
        "garbage.xml",
        b"<testsuites><testsuite name=\"x\"><oops",
    );
    let libtest_bytes = b"running 1 test\ntest a ... ok\n\xc3\x28\n";
    let libtest_not_utf8 = write(&dir, "libtest.txt", libtest_bytes);

    let cases = [
        (&truncated, ErrorKind::Junit, "is not a valid JUnit report"),
        (
            &not_utf8,
            ErrorKind::NotUtf8,
            "is not valid UTF-8 (invalid byte at offset 100)",
        ),
        (&empty, ErrorKind::Empty, "is empty"),
        (&bad_time, ErrorKind::Junit, "is not a valid JUnit report"),
        (&no_root, ErrorKind::Junit, "is not a valid JUnit report"),
        (&unknown, ErrorKind::UnknownFormat, "is neither JUnit XML"),
        (&not_xml, ErrorKind::Junit, "is not a valid JUnit report"),
        (
            &libtest_not_utf8,
            ErrorKind::NotUtf8,
            "is not valid UTF-8 (invalid byte at offset 29)",
        ),
    ];
    for (path, kind, expected) in cases {
        let err = read_report(path).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with(&path.display().to_string()), "{text}");
        assert!(text.contains(expected), "{text}");
        assert_eq!(err.path(), Some(path.as_path()));
        assert_eq!(err.kind(), kind, "{text}");
    }
    assert_eq!(read_report(&not_utf8).unwrap_err().offset(), Some(100));
    // The reader's description of what breaks, and where, is the source.
    let source = |path: &Path| {
        let err = read_report(path).unwrap_err();
        std::error::Error::source(&err).map(ToString::to_string)
    };
    assert_eq!(
        source(&truncated).as_deref(),
        Some("the file ends inside <system-out> (it is truncated)")
    );
    assert_eq!(
        source(&bad_time).as_deref(),
        Some(
            "the timestamp \"yesterday\" of the root element is not a date and time \
             (expected YYYY-MM-DDTHH:MM:SS, optionally with a fraction and a zone)"
        )
    );
    assert_eq!(
        source(&no_root).as_deref(),
        Some("<report> where <testsuites> or <testsuite> should be (at byte 22)")
    );
    let garbage = source(&not_xml).unwrap();
    assert!(garbage.contains("(at byte "), "{garbage}");

    let path = dir.join("missing.xml");
    let missing = read_report(&path).unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Io);
    assert_eq!(
        missing.to_string(),
        format!("could not read {}", path.display())
    );
    let cause = std::error::Error::source(&missing)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    assert_eq!(cause, Some(std::io::ErrorKind::NotFound));
}

// The JUnit elements nextest writes for errors (as opposed to failures), written by hand from
// nextest's JUnit documentation since a Rust test cannot make nextest report an error.
#[test]
fn error_elements_count_like_failures() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nextest-run" tests="2" failures="0" errors="1">
  <testsuite name="app" tests="2" skipped="0" errors="1" failures="0">
    <testcase name="crashes" classname="app">
      <error message="test aborted with signal 6" type="SIGABRT"/>
      <rerunError message="test aborted with signal 6" type="SIGABRT"/>
    </testcase>
    <testcase name="timed_out_once" classname="app">
      <flakyError message="test timed out" type="timeout"/>
    </testcase>
    <testcase name="not_run" classname="app"><skipped/></testcase>
  </testsuite>
</testsuites>"#;
    let dir = fresh_dir("errors");
    let path = write(&dir, "errors.xml", xml.as_bytes());

    let report = read_report(&path).unwrap();

    assert_eq!(
        statuses(&report),
        [
            ("app crashes".to_owned(), Status::StableFail, 1, 1, 0),
            ("app not_run".to_owned(), Status::Skipped, 0, 0, 0),
            ("app timed_out_once".to_owned(), Status::Flaky, 1, 0, 1),
        ]
    );
    let crashes = report.get("app crashes").unwrap();
    assert_eq!(
        crashes.last_failure.as_deref().unwrap().message.as_deref(),
        Some("test aborted with signal 6")
    );
}

#[test]
fn formats_are_detected_from_content() {
    let path = Path::new("x");
    assert_eq!(
        detect(path, b"\xef\xbb\xbf <?xml?>").unwrap().0,
        Format::Junit
    );
    assert_eq!(
        detect(path, b"{\"schema\": \"steadfast-flaky/report/v1\"}")
            .unwrap()
            .0,
        Format::Report
    );
    assert_eq!(
        detect(path, b"{\"test\": \"a\"}\n").unwrap().0,
        Format::Attempts
    );
    assert_eq!(detect(path, b"test a ... ok\n").unwrap().0, Format::Libtest);
}

fn sample() -> Report {
    let mut report = read_report(&data("nextest/retries.xml")).unwrap();
    report.merge(read_report(&data("nextest/stress.xml")).unwrap());
    report.merge(read_report(&data("nextest/seeded-failure.xml")).unwrap());
    report
}

#[test]
fn json_reports_read_back_to_the_same_report() {
    let report = sample();
    let json = to_json(&report);

    let back = parse_report_json(Path::new("report.json"), &json).unwrap();

    assert_eq!(back, report);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["schema"], "steadfast-flaky/report/v1");
    assert_eq!(value["summary"]["flaky"], 3);
    assert_eq!(value["summary"]["stable_fail"], 1);
    assert_eq!(value["summary"]["stable_pass"], 2);
    let flaky = value["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id("fails_in_first_stress_iteration"))
        .unwrap();
    assert_eq!(flaky["status"], "flaky");
    assert_eq!(flaky["runs"], 4);
    assert_eq!(flaky["failures"], 1);
    assert_eq!(flaky["flake_rate"], 0.25);
}

#[test]
fn a_json_report_file_is_read_as_a_report() {
    let report = sample();
    let dir = fresh_dir("json-file");
    let path = write(&dir, "report.json", to_json(&report).as_bytes());

    assert_eq!(read_report(&path).unwrap(), report);
}

#[test]
fn json_with_another_schema_or_duplicate_ids_is_rejected() {
    let other = parse_report_json(Path::new("r.json"), r#"{"schema": "v0", "tests": []}"#);
    let other = other.unwrap_err();
    assert!(other.to_string().contains("schema is \"v0\""), "{other}");
    assert_eq!((other.kind(), other.line()), (ErrorKind::Json, Some(1)));
    let entry = r#"{"id": "a b", "runs": 1, "passes": 1, "failures": 0, "passed_on_retry": 0}"#;
    let twice =
        format!(r#"{{"schema": "steadfast-flaky/report/v1", "tests": [{entry}, {entry}]}}"#);
    let err = parse_report_json(Path::new("r.json"), &twice).unwrap_err();
    assert_eq!(err.to_string(), "r.json lists test `a b` more than once");
    assert_eq!(
        (err.kind(), err.test()),
        (ErrorKind::DuplicateTest, Some("a b"))
    );
}

#[test]
fn junit_output_reads_back_with_the_same_statuses() {
    let report = sample();
    let dir = fresh_dir("junit-out");
    let path = write(&dir, "out.xml", to_junit(&report).as_bytes());

    let back = read_report(&path).unwrap();

    let before: Vec<(&str, Status)> = report.tests().map(|(i, s)| (i, s.status())).collect();
    let after: Vec<(&str, Status)> = back.tests().map(|(i, s)| (i, s.status())).collect();
    assert_eq!(after, before);
}

#[test]
fn markdown_lists_failing_and_flaky_tests_with_seeds_and_replays() {
    let markdown = to_markdown(&sample());

    assert!(markdown.starts_with(
        "## steadfast-flaky: 3 flaky, 1 failing in every run, 2 stable, 0 skipped (6 tests)\n"
    ));
    let seed = Seed::new(1).derive("fixture::fails_for_odd_run_seeds");
    assert!(
        markdown.contains(&format!(
            "| flaky | `{BIN} fails_for_odd_run_seeds` | 1/2 | 0 | 50% (9%–91%) | `{seed}` |"
        )),
        "{markdown}"
    );
    assert!(
        markdown.contains(&format!(
            "| flaky | `{BIN} fails_in_first_stress_iteration` | 1/4 | 0 | 25% (5%–70%) |"
        )),
        "{markdown}"
    );
    assert!(markdown.contains("- `steadfast-flaky-fixture::fixture fails_for_odd_run_seeds`: `STEADFAST_SEED=0x0000000000000001 cargo nextest run"));
    assert!(markdown.contains("<details><summary>2 stable passes</summary>"));
}
