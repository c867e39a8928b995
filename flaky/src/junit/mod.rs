//! JUnit XML from any writer: nextest, pytest (with or without pytest-rerunfailures), Jest
//! (jest-junit), Playwright, cargo2junit, Maven Surefire and others.
//!
//! The rules are documented on [`parse_junit`](crate::input::parse_junit), the public entry.

mod dialect;
mod xml;

use std::collections::{BTreeSet, HashMap};
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
    qualify_ids(&document, dialect, &mut listings);
    // Listings of one id in one suite element are the attempts of one run, in file order.
    let run_of: Vec<usize> = {
        let mut runs: HashMap<(usize, &str), usize> = HashMap::with_capacity(listings.len());
        listings
            .iter()
            .map(|listing| {
                let next = runs.len();
                *runs
                    .entry((listing.suite, listing.id.as_str()))
                    .or_insert(next)
            })
            .collect()
    };
    let mut runs: Vec<Run> = Vec::new();
    for (listing, run) in listings.into_iter().zip(run_of) {
        match runs.get_mut(run) {
            Some(run) => run.add(listing),
            None => runs.push(Run::new(listing)),
        }
    }
    Ok(Junit {
        observations: runs.into_iter().map(Run::into_observation).collect(),
        warning: dialect.warning(path, has_retry_elements),
    })
}

/// What one `<testcase>` element says, without its texts: one attempt of a test, or one run.
struct Listing {
    suite: usize,
    /// `<classname> <name>` (see [`parse_junit`](crate::input::parse_junit)), qualified by
    /// [`qualify_ids`] where the file needs it.
    id: String,
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
        let suite = &document.suites[case.suite];
        let root_ms = root_millis(document)?;
        let suite_ms = suite_millis(suite)?;
        let element = || format!("test case {:?}", case.name);
        let case_ms = millis(case.timestamp.as_ref(), element)?;
        let at_ms = case_ms.or(suite_ms).or(root_ms);
        let has_retry_elements = case
            .results
            .iter()
            .any(|result| matches!(result.kind, ResultKind::Flaky | ResultKind::Rerun));
        let mut failures = Vec::new();
        let mut outcome = Outcome::Passed;
        for result in &case.results {
            let at = millis(result.timestamp.as_ref(), element)?;
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
            id: base_id(suite, dialect, case.classname.as_deref(), case.name),
            at_ms,
            outcome,
            failures,
            has_retry_elements,
        })
    }
}

/// `<classname> <name>`, or the suite's name for a missing classname.
fn base_id(suite: &Suite, dialect: Dialect, classname: Option<&str>, name: String) -> String {
    let join = |first: &str| {
        let mut id = String::with_capacity(first.len() + 1 + name.len());
        id.push_str(first);
        id.push(' ');
        id.push_str(&name);
        id
    };
    match classname.filter(|classname| !classname.is_empty()) {
        // jest-junit's default templates repeat the title in both.
        Some(classname) if dialect == Dialect::JestJunit && classname == name => name,
        Some(classname) => join(classname),
        None if suite.name.is_empty() => name,
        None => join(suite_name(suite, dialect)),
    }
}

/// Where one file lists an id in suites that differ (by name, or by hostname for the same
/// name), starts the id with what tells them apart.
fn qualify_ids(document: &Document, dialect: Dialect, listings: &mut [Listing]) {
    // Suites of one name and hostname are one suite: number each distinct one, and keep the
    // first suite element of each number.
    let mut keys: HashMap<(&str, Option<&str>), usize> = HashMap::new();
    let mut first_of_key: Vec<&Suite> = Vec::new();
    let key_of: Vec<usize> = document
        .suites
        .iter()
        .map(|suite| {
            let next = keys.len();
            let key = *keys
                .entry((suite_name(suite, dialect), suite.hostname.as_deref()))
                .or_insert(next);
            if key == next {
                first_of_key.push(suite);
            }
            key
        })
        .collect();
    if first_of_key.len() < 2 {
        return;
    }
    // The distinct suites of each id; almost always one, kept without allocating.
    enum Keys {
        One(usize),
        Many(BTreeSet<usize>),
    }
    let mut keys_of: HashMap<&str, Keys> = HashMap::with_capacity(listings.len());
    for listing in listings.iter() {
        let key = key_of[listing.suite];
        match keys_of.get_mut(listing.id.as_str()) {
            None => {
                keys_of.insert(&listing.id, Keys::One(key));
            }
            Some(Keys::One(first)) if *first != key => {
                let both = BTreeSet::from([*first, key]);
                keys_of.insert(&listing.id, Keys::Many(both));
            }
            Some(Keys::Many(all)) => {
                all.insert(key);
            }
            Some(Keys::One(_)) => {}
        }
    }
    let qualified: Vec<(usize, String)> = listings
        .iter()
        .enumerate()
        .filter_map(|(index, listing)| {
            let Some(Keys::Many(keys)) = keys_of.get(listing.id.as_str()) else {
                return None;
            };
            let suites = keys.iter().map(|&key| first_of_key[key]);
            let names: BTreeSet<&str> = suites
                .clone()
                .map(|suite| suite_name(suite, dialect))
                .collect();
            let hosts: BTreeSet<Option<&str>> =
                suites.map(|suite| suite.hostname.as_deref()).collect();
            let suite = &document.suites[listing.suite];
            let mut id = String::new();
            if names.len() > 1 {
                id.push_str(suite_name(suite, dialect));
                id.push(' ');
            }
            if hosts.len() > 1 {
                id.push('[');
                id.push_str(suite.hostname.as_deref().unwrap_or(""));
                id.push_str("] ");
            }
            id.push_str(&listing.id);
            Some((index, id))
        })
        .collect();
    drop(keys_of);
    for (index, id) in qualified {
        listings[index].id = id;
    }
}

/// A suite's name as ids use it: without nextest's stress suffix.
fn suite_name(suite: &Suite, dialect: Dialect) -> &str {
    match dialect {
        Dialect::Nextest => strip_stress(&suite.name),
        _ => &suite.name,
    }
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
fn millis(text: Option<&String>, element: impl Fn() -> String) -> Result<Option<i64>, Malformed> {
    let Some(text) = text else {
        return Ok(None);
    };
    parse_timestamp_millis(text).map(Some).ok_or_else(|| {
        Malformed(format!(
            "the timestamp {text:?} of {} is not a date and time \
             (expected YYYY-MM-DDTHH:MM:SS, optionally with a fraction and a zone)",
            element()
        ))
    })
}

fn root_millis(document: &Document) -> Result<Option<i64>, Malformed> {
    millis(document.root_timestamp.as_ref(), || {
        "the root element".to_owned()
    })
}

fn suite_millis(suite: &Suite) -> Result<Option<i64>, Malformed> {
    millis(suite.timestamp.as_ref(), || {
        format!("suite {:?}", suite.name)
    })
}

/// One run of one test, built from its listings (attempts) in one suite element in file
/// order: every listing before the last is a failed attempt, the last decides the outcome.
struct Run {
    observation: Observation,
    /// Whether the last listing so far told a failure of its own.
    last_told_failure: bool,
    last_at_ms: Option<i64>,
}

impl Run {
    fn new(listing: Listing) -> Self {
        Self {
            last_told_failure: !listing.failures.is_empty(),
            last_at_ms: listing.at_ms,
            observation: Observation {
                test: listing.id,
                outcome: listing.outcome,
                at_ms: listing.at_ms,
                failures: listing.failures,
                same_seed_retry: false,
            },
        }
    }

    fn add(&mut self, listing: Listing) {
        if !self.last_told_failure {
            // pytest-rerunfailures writes a failed attempt as an empty test case.
            self.observation.failures.push(Failure {
                at_ms: self.last_at_ms,
                ..Failure::default()
            });
        }
        self.last_told_failure = !listing.failures.is_empty();
        self.last_at_ms = listing.at_ms;
        self.observation.outcome = listing.outcome;
        self.observation.failures.extend(listing.failures);
    }

    fn into_observation(self) -> Observation {
        let mut observation = self.observation;
        observation.same_seed_retry = observation.outcome == Outcome::Passed
            && !observation.failures.is_empty()
            && observation
                .failures
                .iter()
                .all(|failure| failure.seed.is_some());
        observation
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
