//! Reading results: JUnit XML of many writers (see [`parse_junit`] for the dialects),
//! libtest's plain output, `attempts.jsonl` and steadfast-flaky's own JSON reports.
//!
//! ```
//! use steadfast_flaky::input::parse_junit;
//! use std::path::Path;
//!
//! let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
//! <testsuites name="nextest-run" tests="1" failures="0" errors="0">
//!   <testsuite name="app::integration" tests="1" disabled="0" errors="0" failures="0">
//!     <testcase name="login" classname="app::integration" time="0.01">
//!       <flakyFailure message="test failure" type="test failure"/>
//!     </testcase>
//!   </testsuite>
//! </testsuites>"#;
//! let observations = parse_junit(Path::new("junit.xml"), xml.as_bytes())?;
//! assert_eq!(observations[0].test, "app::integration login");
//! assert!(observations[0].is_pass_on_retry());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`read_input`] reads a file of any format and says, as [`Warning`]s, what the file cannot
//! show (a JUnit writer that leaves out retries); [`read_report`] gives only the report.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read as _};
use std::path::Path;

use serde::Deserialize;

use crate::attempts::{AttemptOutcome, AttemptRecord, parse_attempts};
use crate::error::Error;
pub use crate::junit::Warning;
use crate::junit::read_junit;
use crate::report::{Failure, Observation, Outcome, Report, TestStats};

/// The formats `report` reads, detected from a file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// JUnit XML (nextest, pytest, jest-junit, Playwright, cargo2junit, Surefire, …).
    Junit,
    /// libtest's plain output (`test a::b ... ok`).
    Libtest,
    /// `attempts.jsonl`.
    Attempts,
    /// A JSON report written by `steadfast-flaky report --format json`.
    Report,
}

/// The `schema` value of the JSON report.
pub const REPORT_SCHEMA: &str = "steadfast-flaky/report/v1";

/// What one input file said: its report, and what it could not say. See [`read_input`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Input {
    /// The runs of every test in the file.
    pub report: Report,
    /// What the file cannot show, at most one per file (see [`Warning`]).
    pub warnings: Vec<Warning>,
}

/// Reads one input file of any supported format into a report, with its warnings.
///
/// # Errors
///
/// The error names the file ([`Error::path`]) and says what is wrong: it cannot be read
/// ([`ErrorKind::Io`](crate::ErrorKind::Io)), is empty ([`ErrorKind::Empty`](crate::ErrorKind::Empty)), not UTF-8 ([`ErrorKind::NotUtf8`](crate::ErrorKind::NotUtf8)), malformed or truncated
/// ([`ErrorKind::Junit`](crate::ErrorKind::Junit), [`ErrorKind::Json`](crate::ErrorKind::Json)), lists a test twice where that is not allowed
/// ([`ErrorKind::DuplicateTest`](crate::ErrorKind::DuplicateTest)), or is in no supported format ([`ErrorKind::UnknownFormat`](crate::ErrorKind::UnknownFormat)).
///
/// # Example
///
/// ```
/// use std::path::Path;
/// use steadfast_flaky::ErrorKind;
/// use steadfast_flaky::input::read_input;
///
/// let err = read_input(Path::new("/no/such/junit.xml")).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Io);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_input(path: &Path) -> Result<Input, Error> {
    let mut input = Input::default();
    if starts_with_xml(path)? {
        // JUnit files can be large: check UTF-8 in blocks and parse while streaming.
        check_utf8(path)?;
        let file = File::open(path).map_err(|err| Error::io(path, "read", err))?;
        let junit = read_junit(path, BufReader::new(file))?;
        junit
            .observations
            .into_iter()
            .for_each(|observation| input.report.observe(observation));
        input.warnings.extend(junit.warning);
        return Ok(input);
    }
    let bytes = std::fs::read(path).map_err(|err| Error::io(path, "read", err))?;
    let (format, text) = detect(path, &bytes)?;
    let report = &mut input.report;
    match format {
        Format::Junit => {
            let junit = read_junit(path, text.as_bytes())?;
            junit
                .observations
                .into_iter()
                .for_each(|observation| report.observe(observation));
            input.warnings.extend(junit.warning);
        }
        Format::Libtest => parse_libtest(path, text)?
            .into_iter()
            .for_each(|observation| report.observe(observation)),
        Format::Attempts => attempts_to_observations(parse_attempts(path, text)?)
            .into_iter()
            .for_each(|observation| report.observe(observation)),
        Format::Report => *report = parse_report_json(path, text)?,
    }
    Ok(input)
}

/// Reads one input file of any supported format into a report; [`read_input`] without the
/// warnings.
///
/// # Errors
///
/// As [`read_input`].
pub fn read_report(path: &Path) -> Result<Report, Error> {
    read_input(path).map(|input| input.report)
}

/// Whether the file's first non-blank character (after a BOM) is `<`.
fn starts_with_xml(path: &Path) -> Result<bool, Error> {
    let file = File::open(path).map_err(|err| Error::io(path, "read", err))?;
    let mut prefix = Vec::new();
    file.take(4096)
        .read_to_end(&mut prefix)
        .map_err(|err| Error::io(path, "read", err))?;
    let body = prefix.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&prefix);
    Ok(body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<'))
}

/// Checks a file is UTF-8 in fixed-size blocks, carrying a split character over.
fn check_utf8(path: &Path) -> Result<(), Error> {
    let mut file = File::open(path).map_err(|err| Error::io(path, "read", err))?;
    let mut block = vec![0u8; 64 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    let mut offset = 0;
    let invalid = |at: usize| Error::not_utf8(path, at);
    loop {
        let read = file
            .read(&mut block)
            .map_err(|err| Error::io(path, "read", err))?;
        if read == 0 {
            return if carry.is_empty() {
                Ok(())
            } else {
                Err(invalid(offset))
            };
        }
        carry.extend_from_slice(&block[..read]);
        match std::str::from_utf8(&carry) {
            Ok(_) => {
                offset += carry.len();
                carry.clear();
            }
            Err(err) if err.error_len().is_none() => {
                // A character split by the block boundary: keep its first bytes.
                let valid = err.valid_up_to();
                offset += valid;
                carry.drain(..valid);
            }
            Err(err) => return Err(invalid(offset + err.valid_up_to())),
        }
    }
}

/// Detects the format of a file's content and checks it is UTF-8 and not empty.
///
/// # Errors
///
/// [`ErrorKind::Empty`](crate::ErrorKind::Empty), [`ErrorKind::NotUtf8`](crate::ErrorKind::NotUtf8) or [`ErrorKind::UnknownFormat`](crate::ErrorKind::UnknownFormat), naming `path`.
pub fn detect<'a>(path: &Path, bytes: &'a [u8]) -> Result<(Format, &'a str), Error> {
    let text =
        std::str::from_utf8(bytes).map_err(|err| Error::not_utf8(path, err.valid_up_to()))?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.is_empty() {
        return Err(Error::empty(path));
    }
    let format = if trimmed.starts_with('<') {
        Format::Junit
    } else if trimmed.starts_with('{') {
        // A report is one (usually pretty-printed) object with a `schema` key; attempts.jsonl
        // has one single-line record per line.
        let first_line = trimmed.lines().next().unwrap_or("").trim();
        if first_line == "{" || first_line.contains("\"schema\"") {
            Format::Report
        } else {
            Format::Attempts
        }
    } else if trimmed
        .lines()
        .any(|line| parse_libtest_line(line).is_some() || line.starts_with("running "))
    {
        Format::Libtest
    } else {
        return Err(Error::unknown_format(path));
    };
    Ok((format, text))
}

/// Parses JUnit XML of any writer: one observation per run of a test.
///
/// The crate README's "JUnit dialects" section lists what each writer records.
///
/// # Test identity
///
/// A test is `<classname> <name>`, as the JUnit conventions name it (nextest's classname is the
/// binary id, so its tests read `<binary id> <test name>`). When `classname` is missing the
/// suite's name takes its place; in a jest-junit file (`<testsuites name="jest tests">`),
/// whose default templates repeat the title in both, the id is `name` alone when they are
/// equal. When one file lists the same id in suites that differ, the id starts with
/// what tells them apart: the suite's name, or its `hostname` in brackets (Playwright writes the
/// project there: `[mobile] cart.spec.js cart › adds`).
///
/// # Runs and attempts
///
/// * A test listed more than once in one `<testsuite>` element is one run with one attempt
///   per listing, the last one deciding the outcome: every earlier listing is a failed attempt,
///   since a writer lists a test again only when it reran it (pytest-rerunfailures writes its
///   failed attempts as empty `<testcase>`s).
/// * `flakyFailure`/`flakyError` are failed attempts of a test that passed in the end,
///   `rerunFailure`/`rerunError` those of a test that failed every attempt (nextest, Surefire,
///   Playwright with `includeRetries`).
/// * Suites with the same name (and `hostname`) are one suite: a test in each of them ran once in
///   each, like nextest's stress iterations (suites `<binary id>@stress-N`).
/// * Playwright without `includeRetries` writes only the `Retry #N` headings inside the failure
///   of a test that failed every attempt; each heading counts as one more failed attempt.
///
/// # Timestamps
///
/// RFC 3339 (`2026-12-01T09:14:25.633+00:00`); a timestamp without a zone
/// (`2026-12-01T09:14:25`, as jest-junit writes it) is UTC. A test case's timestamp is its own,
/// else its suite's, else the root element's.
///
/// # Failure messages
///
/// The panic message of a Rust test found in the failure's texts, else the first line of the
/// `message` attribute, else the first line of the failure's text.
///
/// # Errors
///
/// [`ErrorKind::Junit`](crate::ErrorKind::Junit) when the XML is malformed or truncated, or a
/// timestamp is not a date and time (the [`source`](std::error::Error::source) says what and
/// where), and [`ErrorKind::NotUtf8`](crate::ErrorKind::NotUtf8).
pub fn parse_junit(path: &Path, xml: &[u8]) -> Result<Vec<Observation>, Error> {
    std::str::from_utf8(xml).map_err(|err| Error::not_utf8(path, err.valid_up_to()))?;
    Ok(read_junit(path, xml)?.observations)
}

/// Fills the seed, replay command and panic message of `failure` from the output of `test`.
///
/// The seed and replay command come only from steadfast's own line about this test
/// (`steadfast: test <name> failed … with seed 0x…; replay: …`): a test that runs other tests
/// in child processes prints their lines too. The message is the panic of the thread named
/// after the test (libtest and nextest name it so), else the first panic.
pub(crate) fn scan_output(text: &str, test: &str, failure: &mut Failure) {
    let mut first_panic = None;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if is_steadfast_line_about(line, test) {
            if let Some(at) = line.find("with seed 0x") {
                let digits = &line[at + "with seed ".len()..];
                if failure.seed.is_none()
                    && digits.len() >= 18
                    && digits.as_bytes()[2..18].iter().all(u8::is_ascii_hexdigit)
                {
                    failure.seed = Some(digits[..18].to_owned());
                }
            }
            if let Some(at) = line.find("; replay: ")
                && failure.replay.is_none()
            {
                failure.replay = Some(line[at + "; replay: ".len()..].trim().to_owned());
            }
        }
        // Rust 1.73+ prints `thread '…' panicked at file:line:col:` (newer versions add the
        // thread id: `thread '…' (42) panicked at`) and the message on the next line.
        let trimmed = line.trim_start();
        if failure.message.is_none()
            && trimmed.starts_with("thread '")
            && trimmed.contains(" panicked at ")
            && let Some(next) = lines.next()
        {
            if trimmed.starts_with(&format!("thread '{test}'")) {
                failure.message = Some(next.trim().to_owned());
            } else if first_panic.is_none() {
                first_panic = Some(next.trim().to_owned());
            }
        }
    }
    if failure.message.is_none() {
        failure.message = first_panic;
    }
}

/// Whether `line` is steadfast's report about `test` (named alone or after its binary id).
fn is_steadfast_line_about(line: &str, test: &str) -> bool {
    let Some(at) = line.find("steadfast: test ") else {
        return false;
    };
    let rest = &line[at + "steadfast: test ".len()..];
    let Some(subject) = [" failed", " passed"]
        .iter()
        .filter_map(|verb| rest.find(verb).map(|end| &rest[..end]))
        .min_by_key(|subject| subject.len())
    else {
        return false;
    };
    subject == test || subject.rsplit(' ').next() == Some(test)
}

/// `test a::b ... ok` → (`a::b`, outcome).
fn parse_libtest_line(line: &str) -> Option<(&str, Outcome)> {
    let rest = line.strip_prefix("test ")?;
    let (name, result) = rest.split_once(" ... ")?;
    let outcome = match result.trim() {
        "ok" => Outcome::Passed,
        "FAILED" => Outcome::Failed,
        other if other.starts_with("ignored") => Outcome::Skipped,
        _ => return None,
    };
    Some((name.trim(), outcome))
}

/// Parses libtest's plain output (`cargo test` without `--format`).
///
/// The test id is `<crate> <test name>`, the crate taken from the preceding
/// `Running … (target/…/deps/<crate>-<hash>)` line, or the bare test name without one. Failure
/// messages, seeds and replay commands come from the `---- name stdout ----` sections.
///
/// # Errors
///
/// [`ErrorKind::UnknownFormat`](crate::ErrorKind::UnknownFormat) when the output contains no test result line.
pub fn parse_libtest(path: &Path, text: &str) -> Result<Vec<Observation>, Error> {
    let mut binary: Option<String> = None;
    let mut observations: Vec<Observation> = Vec::new();
    // Failure sections follow the result lines of the same binary.
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    let mut section: Option<(usize, String)> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("Running ") {
            binary = rest
                .rsplit_once('(')
                .and_then(|(_, artifact)| artifact.trim_end_matches(')').rsplit('/').next())
                .map(|file| match file.rsplit_once('-') {
                    Some((name, _hash)) => name.to_owned(),
                    None => file.to_owned(),
                });
            by_name.clear();
            flush_section(&mut section, &mut observations);
            continue;
        }
        if let Some((name, outcome)) = parse_libtest_line(trimmed) {
            let test = match &binary {
                Some(binary) => format!("{binary} {name}"),
                None => name.to_owned(),
            };
            by_name.insert(name.to_owned(), observations.len());
            let mut observation = Observation::new(test, outcome);
            if outcome == Outcome::Failed {
                observation.failures.push(Failure::default());
            }
            observations.push(observation);
            continue;
        }
        if let Some(name) = trimmed
            .strip_prefix("---- ")
            .and_then(|rest| rest.strip_suffix(" stdout ----"))
        {
            flush_section(&mut section, &mut observations);
            if let Some(&index) = by_name.get(name) {
                section = Some((index, String::new()));
            }
            continue;
        }
        if trimmed == "failures:" || trimmed.starts_with("test result:") {
            flush_section(&mut section, &mut observations);
            continue;
        }
        if let Some((_, buffer)) = &mut section {
            buffer.push_str(line);
            buffer.push('\n');
        }
    }
    flush_section(&mut section, &mut observations);
    if observations.is_empty() {
        return Err(Error::unknown_format(path));
    }
    Ok(observations)
}

fn flush_section(section: &mut Option<(usize, String)>, observations: &mut [Observation]) {
    if let Some((index, text)) = section.take()
        && let Some(observation) = observations.get_mut(index)
    {
        // Test names never contain spaces; the id may start with the binary.
        let test = observation
            .test
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_owned();
        let Some(failure) = observation.failures.last_mut() else {
            return;
        };
        scan_output(&text, &test, failure);
        if failure.message.is_none() {
            failure.message = text
                .lines()
                .map(str::trim)
                .find(|line| !line.is_empty())
                .map(str::to_owned);
        }
    }
}

/// Groups attempt records by invocation: one observation per retried test execution.
pub fn attempts_to_observations(records: Vec<AttemptRecord>) -> Vec<Observation> {
    let mut groups: BTreeMap<(String, String), Vec<AttemptRecord>> = BTreeMap::new();
    for record in records {
        groups
            .entry((record.test.clone(), record.invocation.clone()))
            .or_default()
            .push(record);
    }
    groups
        .into_values()
        .map(|mut attempts| {
            attempts.sort_by_key(|record| record.attempt);
            let last = attempts.last().map(|record| record.outcome);
            let outcome = match last {
                Some(AttemptOutcome::Passed) => Outcome::Passed,
                _ => Outcome::Failed,
            };
            let same_seed_retry = attempts.iter().all(|record| record.same_seed_as_first);
            Observation {
                test: attempts[0].test.clone(),
                outcome,
                at_ms: attempts.iter().map(|record| record.at_ms).min(),
                failures: attempts
                    .iter()
                    .filter(|record| record.outcome == AttemptOutcome::Failed)
                    .map(|record| Failure {
                        at_ms: Some(record.at_ms),
                        seed: record.seed.clone(),
                        message: record
                            .message
                            .as_deref()
                            .and_then(|message| message.lines().next())
                            .map(str::to_owned),
                        replay: record.replay.clone(),
                    })
                    .collect(),
                same_seed_retry,
            }
        })
        .collect()
}

#[derive(Deserialize)]
struct ReportFile {
    schema: String,
    tests: Vec<ReportEntry>,
}

#[derive(Deserialize)]
struct ReportEntry {
    id: String,
    #[serde(flatten)]
    stats: TestStats,
}

/// Parses a JSON report written by `steadfast-flaky report --format json`.
///
/// # Errors
///
/// [`ErrorKind::Json`](crate::ErrorKind::Json) when the JSON is malformed or has another schema ([`Error::line`] says
/// where), [`ErrorKind::DuplicateTest`](crate::ErrorKind::DuplicateTest) when it lists a test twice.
pub fn parse_report_json(path: &Path, text: &str) -> Result<Report, Error> {
    let file: ReportFile =
        serde_json::from_str(text).map_err(|err| Error::json(path, err.line(), err))?;
    if file.schema != REPORT_SCHEMA {
        return Err(Error::json_content(
            path,
            1,
            format!("schema is {:?}, expected {REPORT_SCHEMA:?}", file.schema),
        ));
    }
    let mut report = Report::new();
    let mut ids = HashSet::new();
    for entry in file.tests {
        if !ids.insert(entry.id.clone()) {
            return Err(Error::duplicate_test(path, entry.id));
        }
        report.insert_stats(entry.id, entry.stats);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_tests_own_steadfast_line_and_panic_count() {
        let mut failure = Failure::default();
        scan_output(
            "steadfast: test other::test failed with seed 0x0000000000000001: no; replay: no\n\
             steadfast: test a::b failed with seed 0x000000000000002a: boom; replay: STEADFAST_SEED=0x0000000000000001 cargo test -p x --lib -- a::b --exact\n\
             thread 'main' panicked at src/other.rs:1:1:\nnot this one\n\
             thread 'a::b' panicked at src/lib.rs:3:5:\nboom\n",
            "a::b",
            &mut failure,
        );
        assert_eq!(failure.seed.as_deref(), Some("0x000000000000002a"));
        assert_eq!(
            failure.replay.as_deref(),
            Some("STEADFAST_SEED=0x0000000000000001 cargo test -p x --lib -- a::b --exact")
        );
        assert_eq!(failure.message.as_deref(), Some("boom"));
    }
}
