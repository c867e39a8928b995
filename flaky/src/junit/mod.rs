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
    let document = xml::read_document(xml).map_err(|err| Error::junit(path, err))?;
    let dialect = Dialect::detect(&document);
    let ids = test_ids(&document, dialect);
    let times = Times::parse(path, &document)?;
    // Listings of one id in one suite element are the attempts of one run, in file order.
    let mut runs: Vec<(String, Vec<usize>)> = Vec::new();
    let mut run_of: HashMap<(usize, &str), usize> = HashMap::new();
    for (index, case) in document.cases.iter().enumerate() {
        let id = ids[index].as_str();
        match run_of.get(&(case.suite, id)) {
            Some(&run) => runs[run].1.push(index),
            None => {
                run_of.insert((case.suite, id), runs.len());
                runs.push((id.to_owned(), vec![index]));
            }
        }
    }
    let observations = runs
        .into_iter()
        .map(|(id, listings)| observe(&document, dialect, &times, id, &listings))
        .collect();
    Ok(Junit {
        observations,
        warning: dialect.warning(path, &document),
    })
}

/// The id of each test case, in document order (see the module docs).
fn test_ids(document: &Document, dialect: Dialect) -> Vec<String> {
    let suite_name = |suite: &Suite| -> String {
        match dialect {
            Dialect::Nextest => strip_stress(&suite.name).to_owned(),
            _ => suite.name.clone(),
        }
    };
    let base: Vec<String> = document
        .cases
        .iter()
        .map(|case| {
            let suite = &document.suites[case.suite];
            match case.classname.as_deref().filter(|name| !name.is_empty()) {
                // jest-junit's default templates repeat the title in both.
                Some(classname) if dialect == Dialect::JestJunit && classname == case.name => {
                    case.name.clone()
                }
                Some(classname) => format!("{classname} {}", case.name),
                None if suite.name.is_empty() => case.name.clone(),
                None => format!("{} {}", suite_name(suite), case.name),
            }
        })
        .collect();
    // The suites (name, hostname) each id appears in.
    let mut suites_of: BTreeMap<&str, BTreeSet<(String, Option<&str>)>> = BTreeMap::new();
    for (case, id) in document.cases.iter().zip(&base) {
        let suite = &document.suites[case.suite];
        suites_of
            .entry(id)
            .or_default()
            .insert((suite_name(suite), suite.hostname.as_deref()));
    }
    document
        .cases
        .iter()
        .zip(&base)
        .map(|(case, id)| {
            let suites = &suites_of[id.as_str()];
            if suites.len() < 2 {
                return id.clone();
            }
            let suite = &document.suites[case.suite];
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

/// Every timestamp of the document in Unix milliseconds, checked once.
struct Times {
    root: Option<i64>,
    suites: Vec<Option<i64>>,
    cases: Vec<Option<i64>>,
    /// Per case, the timestamps of its result elements.
    results: Vec<Vec<Option<i64>>>,
}

impl Times {
    fn parse(path: &Path, document: &Document) -> Result<Self, Error> {
        let parse = |text: Option<&String>, element: &str| -> Result<Option<i64>, Error> {
            let Some(text) = text else {
                return Ok(None);
            };
            parse_timestamp_millis(text).map(Some).ok_or_else(|| {
                Error::junit(
                    path,
                    Malformed(format!(
                        "the timestamp {text:?} of {element} is not a date and time \
                         (expected YYYY-MM-DDTHH:MM:SS, optionally with a fraction and a zone)"
                    )),
                )
            })
        };
        let root = parse(document.root_timestamp.as_ref(), "the root element")?;
        let suites = document
            .suites
            .iter()
            .map(|suite| parse(suite.timestamp.as_ref(), &format!("suite {:?}", suite.name)))
            .collect::<Result<_, _>>()?;
        let mut cases = Vec::with_capacity(document.cases.len());
        let mut results = Vec::with_capacity(document.cases.len());
        for case in &document.cases {
            let element = format!("test case {:?}", case.name);
            cases.push(parse(case.timestamp.as_ref(), &element)?);
            results.push(
                case.results
                    .iter()
                    .map(|result| parse(result.timestamp.as_ref(), &element))
                    .collect::<Result<_, _>>()?,
            );
        }
        Ok(Self {
            root,
            suites,
            cases,
            results,
        })
    }

    /// When a test case ran: its own time, else its suite's, else the root's.
    fn of_case(&self, index: usize, case: &Case) -> Option<i64> {
        self.cases[index].or(self.suites[case.suite]).or(self.root)
    }
}

/// One run of one test from its listings (attempts) in one suite element.
fn observe(
    document: &Document,
    dialect: Dialect,
    times: &Times,
    test: String,
    listings: &[usize],
) -> Observation {
    let mut failures = Vec::new();
    let mut outcome = Outcome::Passed;
    for (position, &index) in listings.iter().enumerate() {
        let case = &document.cases[index];
        let at_ms = times.of_case(index, case);
        let before = failures.len();
        outcome = Outcome::Passed;
        let told_retries = case
            .results
            .iter()
            .any(|result| matches!(result.kind, ResultKind::Flaky | ResultKind::Rerun));
        for (result, at) in case.results.iter().zip(&times.results[index]) {
            match result.kind {
                ResultKind::Flaky | ResultKind::Rerun => {
                    let mut failure = failure_of(case, result, false);
                    failure.at_ms = *at;
                    failures.push(failure);
                }
                ResultKind::Failure | ResultKind::Error => {
                    outcome = Outcome::Failed;
                    if dialect == Dialect::Playwright && !told_retries {
                        failures.extend(playwright_retries(case, result));
                    }
                    let mut failure = failure_of(case, result, true);
                    failure.at_ms = at.or(at_ms);
                    failures.push(failure);
                }
                ResultKind::Skipped => outcome = Outcome::Skipped,
            }
        }
        let is_earlier_attempt = position + 1 < listings.len();
        if is_earlier_attempt && failures.len() == before {
            // pytest-rerunfailures writes a failed attempt as an empty test case.
            failures.push(Failure {
                at_ms,
                ..Failure::default()
            });
        }
    }
    let first = &document.cases[listings[0]];
    let same_seed_retry = outcome == Outcome::Passed
        && !failures.is_empty()
        && failures.iter().all(|failure| failure.seed.is_some());
    Observation {
        test,
        outcome,
        at_ms: times.of_case(listings[0], first),
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
