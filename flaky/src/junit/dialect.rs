//! What each JUnit writer can say about retries, and the warnings for those that cannot.

use std::fmt;
use std::path::{Path, PathBuf};

use super::xml::Document;

/// The writers whose files need reading in their own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// cargo-nextest: `<testsuites name="nextest-run">`; stress iterations are suites named
    /// `<binary id>@stress-N`.
    Nextest,
    /// jest-junit (its default `suiteName`, `jest tests`): only each test's last attempt.
    JestJunit,
    /// Playwright's junit reporter: a root `id` and a `hostname` (the project) on the suites.
    /// Without `includeRetries` only the `Retry #N` headings of a failure's text tell retries.
    Playwright,
    /// Any other writer: pytest, Surefire, cargo2junit, …
    Other,
}

impl Dialect {
    /// Recognises the writer from the root element and the first suite, which are read before
    /// any test case.
    pub(crate) fn detect(document: &Document) -> Self {
        match document.root_name.as_deref() {
            Some("nextest-run") => Self::Nextest,
            Some("jest tests") => Self::JestJunit,
            _ if document.root_has_id
                && document
                    .suites
                    .first()
                    .is_some_and(|suite| suite.hostname.is_some()) =>
            {
                Self::Playwright
            }
            _ => Self::Other,
        }
    }

    /// The warning for a file of this dialect, when the file cannot show passes on retry:
    /// always for jest-junit, and for Playwright when no test case had a retry element.
    pub(crate) fn warning(self, path: &Path, has_retry_elements: bool) -> Option<Warning> {
        let writer = match self {
            Self::JestJunit => Writer::JestJunit,
            Self::Playwright if !has_retry_elements => Writer::Playwright,
            Self::Nextest | Self::Playwright | Self::Other => return None,
        };
        Some(Warning {
            path: path.to_owned(),
            writer,
        })
    }
}

/// An input file that cannot show every retry: a test that passed on a retry looks stable in
/// it. Written once per file; its [`Display`](fmt::Display) text names the file, the writer and
/// how to make the writer record retries.
///
/// # Example
///
/// ```
/// use std::path::Path;
/// use steadfast_flaky::input::read_input;
///
/// let dir = std::env::temp_dir().join(format!("steadfast-flaky-warning-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("jest.xml");
/// std::fs::write(&path, r#"<testsuites name="jest tests"><testsuite name="cart">
///   <testcase classname="cart adds" name="cart adds" time="0.1"/></testsuite></testsuites>"#)?;
/// let input = read_input(&path)?;
/// assert_eq!(input.warnings.len(), 1);
/// assert_eq!(input.warnings[0].path(), path.as_path());
/// assert!(input.warnings[0].to_string().contains("jest-junit writes only the last attempt"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    path: PathBuf,
    writer: Writer,
}

/// Who wrote the file, which decides what the warning says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writer {
    JestJunit,
    Playwright,
}

impl Warning {
    /// The input file the warning is about.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match self.writer {
            Writer::JestJunit => write!(
                f,
                "{path}: jest-junit writes only the last attempt of each test, so a test that \
                 passed on a retry (jest.retryTimes) looks stable; jest-junit cannot write \
                 retries: run the suite several times without retries and report the files \
                 together to see flaky tests"
            ),
            Writer::Playwright => write!(
                f,
                "{path}: this Playwright JUnit report has no retries, so a test that passed on \
                 a retry looks stable (only a test that failed every attempt shows them, as \
                 \"Retry #N\" in its failure); turn them on with \
                 `reporter: [['junit', {{ includeRetries: true }}]]`"
            ),
        }
    }
}

/// One attempt told by a Playwright failure text: its first `Error: …` line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TextAttempt {
    pub message: Option<String>,
}

/// The attempts in a Playwright failure text written without `includeRetries`: the text of
/// the first attempt, then one `Retry #N ───…` heading before each retry's text.
///
/// `None` when the text has no headings, or headings not numbered 1, 2, … in order (then the
/// text is not Playwright's, and the retries are not told reliably).
pub(crate) fn playwright_text_attempts(text: &str) -> Option<Vec<TextAttempt>> {
    let mut attempts = vec![TextAttempt { message: None }];
    for line in text.lines() {
        let line = line.trim();
        if let Some(number) = retry_heading(line) {
            if usize::try_from(number).ok() != Some(attempts.len()) {
                return None;
            }
            attempts.push(TextAttempt { message: None });
        } else if let Some(message) = line.strip_prefix("Error: ")
            && let Some(attempt) = attempts.last_mut()
            && attempt.message.is_none()
        {
            attempt.message = Some(message.trim().to_owned());
        }
    }
    (attempts.len() > 1).then_some(attempts)
}

/// `Retry #3 ─────` → 3. Playwright draws the rule with U+2500 after one space.
fn retry_heading(line: &str) -> Option<u32> {
    let rest = line.strip_prefix("Retry #")?;
    let (number, rule) = rest.split_once(' ')?;
    let rule = rule.trim_end();
    let is_rule = !rule.is_empty() && rule.chars().all(|c| c == '─');
    let digits = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    if is_rule && digits {
        number.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_headings_need_the_number_and_the_rule() {
        assert_eq!(retry_heading("Retry #1 ──────"), Some(1));
        assert_eq!(retry_heading("Retry #12 ─"), Some(12));
        assert_eq!(retry_heading("Retry #1"), None);
        assert_eq!(retry_heading("Retry #x ───"), None);
        assert_eq!(retry_heading("Retry #1 --- "), None);
    }

    #[test]
    fn attempts_are_read_only_from_headings_numbered_in_order() {
        let text = "  [p] › a.spec.js:1:1 › t ───\n\n    Error: boom\n\n    Retry #1 ────\n\n    \
                    Error: bang\n    Retry #2 ───\n";
        let attempts = playwright_text_attempts(text).unwrap();
        let messages: Vec<Option<&str>> = attempts.iter().map(|a| a.message.as_deref()).collect();
        assert_eq!(messages, [Some("boom"), Some("bang"), None]);
        assert_eq!(playwright_text_attempts("Error: boom\n"), None);
        assert_eq!(playwright_text_attempts("Retry #2 ───\n"), None);
    }
}
