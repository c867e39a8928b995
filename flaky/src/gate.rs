//! The stability gate: fail on tests that failed or flaked, except quarantined ones.
//!
//! A quarantine file lists one test id per line; `#` starts a comment; an optional last word
//! `YYYY-MM-DD` is the expiry date (the entry holds through that day). Ids without a space
//! match the test name of any binary.
//!
//! ```
//! use steadfast_flaky::gate::{Quarantine, gate};
//! use steadfast_flaky::time::Date;
//! use steadfast_flaky::{Observation, Outcome, Report};
//! use std::path::Path;
//!
//! let mut report = Report::new();
//! report.observe(Observation::new("app::it login", Outcome::Failed));
//! report.observe(Observation::new("app::it login", Outcome::Passed));
//! let quarantine = Quarantine::parse(Path::new("quarantine"), "app::it login 2099-01-01 # issue 12\n")?;
//! let verdict = gate(&report, &quarantine, 0, Date::new(2025, 1, 1).unwrap());
//! assert_eq!(verdict.exit_code(), 0);
//! assert_eq!(verdict.quarantined.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, read_utf8};
use crate::report::{Report, Status};
use crate::time::Date;

/// One line of a quarantine file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineEntry {
    /// The test id, or a bare test name.
    pub test: String,
    /// The last day the entry holds, if any.
    pub expires: Option<Date>,
    /// The 1-based line in the file.
    pub line: usize,
}

impl QuarantineEntry {
    fn matches(&self, id: &str) -> bool {
        if self.test.contains(' ') {
            self.test == id
        } else {
            id == self.test
                || id
                    .split_once(' ')
                    .is_some_and(|(_, name)| name == self.test)
        }
    }
}

/// The known-flaky tests that may fail without failing the gate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quarantine {
    entries: Vec<QuarantineEntry>,
}

impl Quarantine {
    /// Reads a quarantine file.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the file cannot be read, [`ErrorKind::NotUtf8`](crate::ErrorKind::NotUtf8), and [`ErrorKind::Quarantine`](crate::ErrorKind::Quarantine) when a
    /// line is malformed (see [`Quarantine::parse`]).
    pub fn read(path: &Path) -> Result<Self, Error> {
        Self::parse(path, &read_utf8(path)?)
    }

    /// Parses quarantine file content; `path` only names the file in errors.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Quarantine`](crate::ErrorKind::Quarantine), naming the file and line, when a line's last word looks like a date
    /// (`NNNN-NN-NN`) but is not a real one, or a line has a date but no test id.
    pub fn parse(path: &Path, text: &str) -> Result<Self, Error> {
        let mut entries = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.split_once('#').map_or(raw, |(before, _)| before).trim();
            if line.is_empty() {
                continue;
            }
            let error = |reason: String| Error::quarantine(path, index + 1, reason);
            let (test, expires) = match line.rsplit_once(char::is_whitespace) {
                Some((test, last)) if looks_like_date(last) => {
                    let date = Date::parse(last).ok_or_else(|| {
                        error(format!("{last:?} is not a date (expected YYYY-MM-DD)"))
                    })?;
                    (test.trim(), Some(date))
                }
                _ if looks_like_date(line) => {
                    return Err(error("a date without a test id".to_owned()));
                }
                _ => (line, None),
            };
            entries.push(QuarantineEntry {
                test: test.to_owned(),
                expires,
                line: index + 1,
            });
        }
        Ok(Self { entries })
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[QuarantineEntry] {
        &self.entries
    }
}

fn looks_like_date(word: &str) -> bool {
    word.len() == 10
        && word.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
}

/// What the gate decided.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct GateVerdict {
    /// Tests that failed in every run and are not quarantined.
    pub failing: Vec<String>,
    /// Flaky tests that are not quarantined.
    pub flaky: Vec<String>,
    /// Quarantined tests that failed or flaked, with their status.
    pub quarantined: Vec<(String, Status)>,
    /// Quarantine entries whose date has passed.
    pub expired: Vec<QuarantineEntry>,
    /// The number of flaky tests allowed.
    pub max_flaky: usize,
}

impl GateVerdict {
    /// 1 when a test failed in every run or a quarantine entry expired, else 3 when more tests
    /// flaked than allowed, else 0.
    pub fn exit_code(&self) -> i32 {
        if !self.failing.is_empty() || !self.expired.is_empty() {
            1
        } else if self.flaky.len() > self.max_flaky {
            3
        } else {
            0
        }
    }

    /// A human-readable summary, one finding per line.
    pub fn summary(&self) -> String {
        let mut text = String::new();
        for test in &self.failing {
            let _ = writeln!(text, "failing in every run: {test}");
        }
        for test in &self.flaky {
            let _ = writeln!(text, "flaky: {test}");
        }
        for (test, status) in &self.quarantined {
            let _ = writeln!(text, "quarantined ({}): {test}", status.as_str());
        }
        for entry in &self.expired {
            let _ = writeln!(
                text,
                "expired quarantine (line {}, until {}): {}",
                entry.line,
                entry
                    .expires
                    .map(|date| date.to_string())
                    .unwrap_or_default(),
                entry.test
            );
        }
        let verdict = match self.exit_code() {
            0 => "gate passed".to_owned(),
            3 => format!(
                "gate failed: {} flaky tests, at most {} allowed",
                self.flaky.len(),
                self.max_flaky
            ),
            _ => "gate failed".to_owned(),
        };
        text.push_str(&verdict);
        text.push('\n');
        text
    }
}

/// Applies the gate to a report: quarantined tests never fail it, expired entries always do,
/// and at most `max_flaky` other flaky tests are allowed. `today` decides expiry.
pub fn gate(
    report: &Report,
    quarantine: &Quarantine,
    max_flaky: usize,
    today: Date,
) -> GateVerdict {
    let mut verdict = GateVerdict {
        max_flaky,
        ..GateVerdict::default()
    };
    let (active, expired): (Vec<&QuarantineEntry>, Vec<&QuarantineEntry>) = quarantine
        .entries
        .iter()
        .partition(|entry| entry.expires.is_none_or(|date| date >= today));
    verdict.expired = expired.into_iter().cloned().collect();
    for (id, stats) in report.tests() {
        let status = stats.status();
        if !matches!(status, Status::StableFail | Status::Flaky) {
            continue;
        }
        if active.iter().any(|entry| entry.matches(id)) {
            verdict.quarantined.push((id.to_owned(), status));
        } else if status == Status::StableFail {
            verdict.failing.push(id.to_owned());
        } else {
            verdict.flaky.push(id.to_owned());
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn parses_ids_comments_and_dates() {
        let text = "# known offenders\n\napp::it a::b 2025-03-01  # issue 4\nbare_name\n";
        let q = Quarantine::parse(Path::new("q"), text).unwrap();
        assert_eq!(
            q.entries(),
            [
                QuarantineEntry {
                    test: "app::it a::b".into(),
                    expires: Date::new(2025, 3, 1),
                    line: 3
                },
                QuarantineEntry {
                    test: "bare_name".into(),
                    expires: None,
                    line: 4
                },
            ]
        );
    }

    #[test]
    fn a_bad_date_names_the_file_and_line() {
        let err = Quarantine::parse(Path::new("q.txt"), "ok\nt 2025-02-30\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.txt:2: \"2025-02-30\" is not a date (expected YYYY-MM-DD)"
        );
        assert_eq!((err.kind(), err.line()), (ErrorKind::Quarantine, Some(2)));
        assert_eq!(err.path(), Some(Path::new("q.txt")));
    }

    #[test]
    fn bare_names_match_any_binary() {
        let entry = QuarantineEntry {
            test: "a::b".into(),
            expires: None,
            line: 1,
        };
        assert!(entry.matches("app::it a::b"));
        assert!(!entry.matches("app::it a::bc"));
    }
}
