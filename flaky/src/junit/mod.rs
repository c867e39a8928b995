//! JUnit XML from any writer: nextest, pytest (with or without pytest-rerunfailures), Jest
//! (jest-junit), Playwright, cargo2junit, Maven Surefire and others.
//!
//! The rules are documented on [`parse_junit`](crate::input::parse_junit), the public entry.

mod dialect;
mod xml;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::BufRead;
use std::path::Path;

pub use dialect::Warning;
use dialect::{Dialect, playwright_text_attempts};
pub(crate) use xml::Malformed;
use xml::{Case, Document, ResultElement, ResultKind, Suite};

use crate::error::Error;
use crate::input::scan_output;
use crate::report::{Failure, Observation, Outcome};
use crate::time::parse_timestamp_millis;

/// What one JUnit file says: one observation per run of a test, and the warning when the file
/// cannot show retries.
pub(crate) struct Junit {
    pub observations: Vec<Observation>,
    pub warning: Option<Warning>,
}

/// Reads a JUnit file of any dialect.
pub(crate) fn read_junit(path: &Path, xml: impl BufRead) -> Result<Junit, Error> {
    let mut listings: Vec<Listing> = Vec::new();
    let mut has_retry_elements = false;
    let document = xml::read_document(xml, &mut |document, case| {
        let listing = Listing::new(document, case)?;
        has_retry_elements |= listing.has_retry_elements;
        listings.push(listing);
        Ok(())
    })
    .map_err(|err| Error::junit(path, err))?;
    // A suite without test cases, or a file without any, has had no timestamp checked yet.
    root_millis(&document).map_err(|err| Error::junit(path, err))?;
    for suite in &document.suites {
        suite_millis(suite).map_err(|err| Error::junit(path, err))?;
    }
    let dialect = Dialect::detect(&document);
    let ids = test_ids(&document, dialect, &listings);
    // Listings of one id in one suite element are the attempts of one run, in file order.
    let mut runs: Vec<(String, Vec<Listing>)> = Vec::new();
    let mut run_of: HashMap<(usize, String), usize> = HashMap::new();
    for (listing, id) in listings.into_iter().zip(ids) {
        match run_of.get(&(listing.suite, id.clone())) {
            Some(&run) => runs[run].1.push(listing),
            None => {
                run_of.insert((listing.suite, id.clone()), runs.len());
                runs.push((id, vec![listing]));
            }
        }
    }
    Ok(Junit {
        observations: runs
            .into_iter()
            .map(|(id, listings)| observe(id, listings))
            .collect(),
        warning: dialect.warning(path, has_retry_elements),
    })
}

/// What one `<testcase>` element says, without its texts: one attempt of a test, or one run.
struct Listing {
    suite: usize,
    classname: Option<String>,
    name: String,
    /// The case's time: its own, else its suite's, else the root's.
    at_ms: Option<i64>,
    outcome: Outcome,
    /// The failed attempts it tells, the final one included when it failed.
    failures: Vec<Failure>,
    has_retry_elements: bool,
}

impl Listing {
    fn new(document: &Document, case: Case) -> Result<Self, Malformed> {
        let dialect = Dialect::detect(document);
        let root_ms = root_millis(document)?;
        let suite_ms = suite_millis(&document.suites[case.suite])?;
        let case_ms = millis(
            case.timestamp.as_ref(),
            &format!("test case {:?}", case.name),
        )?;
        let at_ms = case_ms.or(suite_ms).or(root_ms);
        let has_retry_elements = case
            .results
            .iter()
            .any(|result| matches!(result.kind, ResultKind::Flaky | ResultKind::Rerun));
        let mut failures = Vec::new();
        let mut outcome = Outcome::Passed;
        for result in &case.results {
            let at = millis(
                result.timestamp.as_ref(),
                &format!("test case {:?}", case.name),
            )?;
            match result.kind {
                ResultKind::Flaky | ResultKind::Rerun => {
                    let mut failure = failure_of(&case, result, false);
                    failure.at_ms = at;
                    failures.push(failure);
                }
                ResultKind::Failure | ResultKind::Error => {
                    outcome = Outcome::Failed;
                    if dialect == Dialect::Playwright && !has_retry_elements {
                        failures.extend(playwright_retries(&case, result));
                    }
                    let mut failure = failure_of(&case, result, true);
                    failure.at_ms = at.or(at_ms);
                    failures.push(failure);
                }
                ResultKind::Skipped => outcome = Outcome::Skipped,
            }
        }
        Ok(Self {
            suite: case.suite,
            classname: case.classname,
            name: case.name,
            at_ms,
            outcome,
            failures,
            has_retry_elements,
        })
    }
}

/// The id of each listing, in order (see [`parse_junit`](crate::input::parse_junit)).
fn test_ids(document: &Document, dialect: Dialect, listings: &[Listing]) -> Vec<String> {
    let suite_name = |suite: &Suite| -> String {
        match dialect {
            Dialect::Nextest => strip_stress(&suite.name).to_owned(),
            _ => suite.name.clone(),
        }
    };
    let base: Vec<String> = listings
        .iter()
        .map(|listing| {
            let suite = &document.suites[listing.suite];
            let name = &listing.name;
            match listing.classname.as_deref().filter(|name| !name.is_empty()) {
                // jest-junit's default templates repeat the title in both.
                Some(classname) if dialect == Dialect::JestJunit && classname == name => {
                    name.clone()
                }
                Some(classname) => format!("{classname} {name}"),
                None if suite.name.is_empty() => name.clone(),
                None => format!("{} {name}", suite_name(suite)),
            }
        })
        .collect();
    // The suites (name, hostname) each id appears in.
    let mut suites_of: BTreeMap<&str, BTreeSet<(String, Option<&str>)>> = BTreeMap::new();
    for (listing, id) in listings.iter().zip(&base) {
        let suite = &document.suites[listing.suite];
        suites_of
            .entry(id)
            .or_default()
            .insert((suite_name(suite), suite.hostname.as_deref()));
    }
    listings
        .iter()
        .zip(&base)
        .map(|(listing, id)| {
            let suites = &suites_of[id.as_str()];
            if suites.len() < 2 {
                return id.clone();
            }
            let suite = &document.suites[listing.suite];
            let names: BTreeSet<&str> = suites.iter().map(|(name, _)| name.as_str()).collect();
            let hosts: BTreeSet<Option<&str>> = suites.iter().map(|(_, host)| *host).collect();
            let mut qualified = String::new();
            if names.len() > 1 {
                qualified.push_str(&suite_name(suite));
                qualified.push(' ');
            }
            if hosts.len() > 1 {
                qualified.push_str(&format!("[{}] ", suite.hostname.as_deref().unwrap_or("")));
            }
            qualified.push_str(id);
            qualified
        })
        .collect()
}

/// `bin@stress-3` → `bin`: nextest names each stress iteration's suite this way.
fn strip_stress(suite: &str) -> &str {
    match suite.rsplit_once("@stress-") {
        Some((binary, index)) if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) => {
            binary
        }
        _ => suite,
    }
}

/// A timestamp attribute of `element` in Unix milliseconds.
fn millis(text: Option<&String>, element: &str) -> Result<Option<i64>, Malformed> {
    let Some(text) = text else {
        return Ok(None);
    };
    parse_timestamp_millis(text).map(Some).ok_or_else(|| {
        Malformed(format!(
            "the timestamp {text:?} of {element} is not a date and time \
             (expected YYYY-MM-DDTHH:MM:SS, optionally with a fraction and a zone)"
        ))
    })
}

fn root_millis(document: &Document) -> Result<Option<i64>, Malformed> {
    millis(document.root_timestamp.as_ref(), "the root element")
}

fn suite_millis(suite: &Suite) -> Result<Option<i64>, Malformed> {
    millis(suite.timestamp.as_ref(), &format!("suite {:?}", suite.name))
}

/// One run of one test from its listings (attempts) in one suite element: every listing
/// before the last is a failed attempt, the last decides the outcome.
fn observe(test: String, listings: Vec<Listing>) -> Observation {
    let at_ms = listings.first().and_then(|listing| listing.at_ms);
    let outcome = listings
        .last()
        .map_or(Outcome::Passed, |listing| listing.outcome);
    let count = listings.len();
    let mut failures = Vec::new();
    for (position, listing) in listings.into_iter().enumerate() {
        if position + 1 < count && listing.failures.is_empty() {
            // pytest-rerunfailures writes a failed attempt as an empty test case.
            failures.push(Failure {
                at_ms: listing.at_ms,
                ..Failure::default()
            });
        }
        failures.extend(listing.failures);
    }
    let same_seed_retry = outcome == Outcome::Passed
        && !failures.is_empty()
        && failures.iter().all(|failure| failure.seed.is_some());
    Observation {
        test,
        outcome,
        at_ms,
        failures,
        same_seed_retry,
    }
}

/// The failed attempts before the last one, from a Playwright failure's `Retry #N` headings.
fn playwright_retries(case: &Case, result: &ResultElement) -> Vec<Failure> {
    let Some(mut attempts) = playwright_text_attempts(&result.text) else {
        return Vec::new();
    };
    // The last attempt is the failure element itself.
    attempts.pop();
    attempts
        .into_iter()
        .map(|attempt| {
            let mut failure = Failure {
                message: attempt.message,
                ..Failure::default()
            };
            if failure.message.is_none() {
                failure.message = failure_of(case, result, true).message;
            }
            failure
        })
        .collect()
}

/// Builds a failure from a result element: seed, replay and message (see the module docs).
fn failure_of(case: &Case, result: &ResultElement, with_case_output: bool) -> Failure {
    let mut texts = vec![
        result.text.as_str(),
        result.stack_trace.as_str(),
        result.system_err.as_str(),
        result.system_out.as_str(),
    ];
    if with_case_output {
        texts.extend([case.system_err.as_str(), case.system_out.as_str()]);
    }
    let mut failure = Failure::default();
    for text in &texts {
        scan_output(text, &case.name, &mut failure);
    }
    if failure.message.is_none() {
        failure.message = result
            .message
            .iter()
            .map(String::as_str)
            .chain(texts.iter().copied())
            .flat_map(str::lines)
            .map(str::trim)
            .find(|line| !line.is_empty())
            .map(str::to_owned);
    }
    failure
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stress_suffixes_are_removed_only_when_numeric() {
        assert_eq!(strip_stress("app::it@stress-12"), "app::it");
        assert_eq!(strip_stress("app::it@stress-"), "app::it@stress-");
        assert_eq!(strip_stress("app::it@stress-x"), "app::it@stress-x");
    }
}
