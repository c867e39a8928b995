//! Properties of the JUnit reader and the timestamp parser: generated suites written the way
//! nextest/Surefire (retry elements) and pytest-rerunfailures (one listing per attempt) write
//! them read back as the same runs and attempts; truncated files are errors; timestamps round
//! trip with and without a zone.

use std::fmt::Write as _;
use std::path::Path;

use proptest::prelude::*;
use steadfast_flaky::input::parse_junit;
use steadfast_flaky::render::to_junit;
use steadfast_flaky::time::{format_millis, parse_timestamp_millis};
use steadfast_flaky::{ErrorKind, Failure, Observation, Outcome, Report, Status};

/// One generated test: its classname, name, failed attempts and whether the last one passed.
#[derive(Debug, Clone)]
struct Spec {
    classname: String,
    name: String,
    failed_attempts: usize,
    passed: bool,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::sample::select(vec!["app", "app::it", "shop.CartTest", "a<b>&\"c'"]),
        prop_oneof!["[a-z][a-z_ <>&\"']{0,8}", Just("app".to_owned())],
        0usize..3,
        any::<bool>(),
    )
        .prop_map(|(classname, name, failed_attempts, passed)| Spec {
            classname: classname.to_owned(),
            name,
            failed_attempts,
            passed,
        })
}

/// Distinct tests (by classname and name).
fn suite() -> impl Strategy<Value = Vec<Spec>> {
    prop::collection::vec(spec(), 1..6).prop_filter_map("no test left", |mut specs| {
        let mut seen = std::collections::HashSet::new();
        // A name equal to its classname is the test's whole id (jest-junit's convention).
        specs.retain(|spec| {
            spec.name != spec.classname && seen.insert((spec.classname.clone(), spec.name.clone()))
        });
        (!specs.is_empty()).then_some(specs)
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// How the writer records retries.
#[derive(Debug, Clone, Copy)]
enum Writer {
    /// `flakyFailure` / `rerunFailure` inside one `<testcase>` (nextest, Surefire).
    RetryElements,
    /// One `<testcase>` per attempt, failed attempts empty (pytest-rerunfailures).
    ListingPerAttempt,
}

fn write_junit(specs: &[Spec], writer: Writer, root_suite: bool, timestamp: &str) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if !root_suite {
        xml.push_str("<testsuites name=\"generated\">\n");
    }
    let _ = writeln!(xml, "<testsuite name=\"gen\" timestamp=\"{timestamp}\">");
    for spec in specs {
        let open = format!(
            "  <testcase classname=\"{}\" name=\"{}\"",
            escape(&spec.classname),
            escape(&spec.name)
        );
        let failure = "<failure message=\"boom &amp; bang\">trace &lt;1&gt;</failure>";
        match writer {
            Writer::RetryElements => {
                let retry = if spec.passed {
                    "flakyFailure"
                } else {
                    "rerunFailure"
                };
                let _ = write!(xml, "{open}>");
                for _ in 0..spec.failed_attempts {
                    let _ = write!(
                        xml,
                        "<{retry} message=\"once\"><stackTrace>x</stackTrace></{retry}>"
                    );
                }
                if !spec.passed {
                    xml.push_str(failure);
                }
                xml.push_str("</testcase>\n");
            }
            Writer::ListingPerAttempt => {
                for _ in 0..spec.failed_attempts {
                    let _ = writeln!(xml, "{open}/>");
                }
                if spec.passed {
                    let _ = writeln!(xml, "{open}/>");
                } else {
                    let _ = writeln!(xml, "{open}>{failure}</testcase>");
                }
            }
        }
    }
    xml.push_str("</testsuite>\n");
    if !root_suite {
        xml.push_str("</testsuites>\n");
    }
    xml
}

fn writer() -> impl Strategy<Value = Writer> {
    prop::sample::select(vec![Writer::RetryElements, Writer::ListingPerAttempt])
}

/// A report of tests with ids of one to three words, as nextest, pytest or Playwright name them.
fn report() -> impl Strategy<Value = Report> {
    let word = prop::sample::select(vec!["app", "app::it", "[mobile]", "a.spec.js", "x<&>"]);
    let id = prop::collection::vec(word, 1..4).prop_map(|words| words.join(" "));
    let outcome = prop::sample::select(vec![Outcome::Passed, Outcome::Failed, Outcome::Skipped]);
    prop::collection::vec((id, outcome, any::<bool>()), 1..8).prop_map(|runs| {
        let mut report = Report::new();
        for (id, outcome, retried) in runs {
            let mut observation = Observation::new(id, outcome);
            if retried && outcome != Outcome::Skipped {
                observation.failures.push(Failure::default());
            }
            report.observe(observation);
        }
        report
    })
}

fn statuses(report: &Report) -> Vec<(String, Status)> {
    report
        .tests()
        .map(|(id, stats)| (id.to_owned(), stats.status()))
        .collect()
}

proptest! {
    #[test]
    fn our_junit_output_reads_back_with_the_same_ids_and_statuses(report in report()) {
        let xml = to_junit(&report);

        let mut back = Report::new();
        for observation in parse_junit(Path::new("out.xml"), xml.as_bytes()).unwrap() {
            back.observe(observation);
        }

        prop_assert_eq!(statuses(&back), statuses(&report));
    }

    #[test]
    fn every_writer_gives_the_same_runs_and_attempts(
        specs in suite(),
        writer in writer(),
        root_suite in any::<bool>(),
        millis in 0i64..4_000_000_000_000,
        zoned in any::<bool>(),
    ) {
        let stamp = format_millis(millis);
        let stamp = if zoned { stamp } else { stamp.trim_end_matches('Z').to_owned() };
        let xml = write_junit(&specs, writer, root_suite, &stamp);

        let observations = parse_junit(Path::new("gen.xml"), xml.as_bytes()).unwrap();

        prop_assert_eq!(observations.len(), specs.len());
        for (observation, spec) in observations.iter().zip(&specs) {
            prop_assert_eq!(&observation.test, &format!("{} {}", spec.classname, spec.name));
            let outcome = if spec.passed { Outcome::Passed } else { Outcome::Failed };
            prop_assert_eq!(observation.outcome, outcome);
            let attempts = u32::try_from(spec.failed_attempts + 1).unwrap();
            prop_assert_eq!(observation.attempts(), attempts);
            prop_assert_eq!(observation.is_pass_on_retry(), spec.passed && spec.failed_attempts > 0);
            prop_assert_eq!(observation.at_ms, Some(millis - millis.rem_euclid(1000)));
            if !spec.passed {
                let last = observation.failures.last().unwrap();
                prop_assert_eq!(last.message.as_deref(), Some("boom & bang"));
            }
        }
    }

    #[test]
    fn every_truncation_of_a_junit_file_is_an_error(
        specs in suite(),
        writer in writer(),
        root_suite in any::<bool>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let xml = write_junit(&specs, writer, root_suite, "2026-12-01T00:00:00Z");
        // Anywhere before the root's closing `>`.
        let end = xml.trim_end().len() - 1;
        let cut = cut.index(end);

        let err = parse_junit(Path::new("cut.xml"), &xml.as_bytes()[..cut]).unwrap_err();

        prop_assert_eq!(err.kind(), ErrorKind::Junit);
        prop_assert_eq!(err.path(), Some(Path::new("cut.xml")));
        prop_assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_reader(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut xml = b"<testsuites><testsuite name=\"s\"><testcase name=\"t\">".to_vec();
        xml.extend(bytes);
        let _ = parse_junit(Path::new("any.xml"), &xml);
    }

    #[test]
    fn timestamps_round_trip_in_any_zone(
        // From 1970-01-02 to 9999-12-30, so the instant is in range in every zone.
        millis in 86_400_000i64..253_402_214_399_000,
        offset_minutes in -(23i32 * 60 + 59)..=(23 * 60 + 59),
    ) {
        let seconds = millis - millis.rem_euclid(1000);
        let utc = format_millis(millis);
        prop_assert_eq!(parse_timestamp_millis(&utc), Some(seconds));
        prop_assert_eq!(parse_timestamp_millis(utc.trim_end_matches('Z')), Some(seconds));
        // The same instant written in another zone.
        let local = format_millis(seconds + i64::from(offset_minutes) * 60_000);
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let zoned = format!(
            "{}{sign}{:02}:{:02}",
            local.trim_end_matches('Z'),
            offset_minutes.abs() / 60,
            offset_minutes.abs() % 60
        );
        prop_assert_eq!(parse_timestamp_millis(&zoned), Some(seconds));
    }

    #[test]
    fn any_text_is_a_timestamp_or_none(text in "\\PC{0,40}") {
        let _ = parse_timestamp_millis(&text);
    }
}
