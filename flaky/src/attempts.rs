//! Attempt records: one JSON line per attempt of a retried test, in `attempts.jsonl`.
//!
//! Many test threads and many test processes append to the same file at once. Each record is
//! serialised into one buffer ending in `\n` and written with a single `write` on a file opened
//! with `O_APPEND`, so the kernel places every line whole at the end of the file: no line is lost
//! or interleaved with another (POSIX guarantees the offset update of `O_APPEND` writes is atomic
//! with the write; regular-file writes of this size are not split).
//!
//! ```
//! use steadfast_flaky::attempts::{AttemptOutcome, AttemptRecord, append_to, read_attempts};
//!
//! let dir = std::env::temp_dir().join(format!("steadfast-flaky-doc-{}", std::process::id()));
//! let record = AttemptRecord {
//!     test: "my-crate::integration checkout::charges_once".into(),
//!     invocation: "1".into(),
//!     attempt: 1,
//!     max_attempts: 2,
//!     outcome: AttemptOutcome::Failed,
//!     duration_ms: 1.5,
//!     message: Some("assertion failed".into()),
//!     seed: Some("0x000000000000002a".into()),
//!     run_seed: Some("0x0000000000000000".into()),
//!     same_seed_as_first: true,
//!     replay: None,
//!     at_ms: 0,
//! };
//! let file = append_to(&dir, &record)?;
//! let read = read_attempts(&file)?;
//! assert_eq!(read.last(), Some(&record));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, read_utf8};

/// The environment variable naming the directory of `attempts.jsonl`.
pub const FLAKY_DIR_ENV: &str = "STEADFAST_FLAKY_DIR";

/// The file name of the attempt log inside the flaky directory.
pub const ATTEMPTS_FILE: &str = "attempts.jsonl";

/// Longest panic message kept in a record, in bytes; longer ones are cut at a char boundary.
const MAX_MESSAGE: usize = 2048;

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptOutcome {
    /// The attempt returned normally with a passing outcome.
    Passed,
    /// The attempt panicked or returned a failure.
    Failed,
}

/// One line of `attempts.jsonl`: one attempt of one test.
///
/// The JSON field names are the struct's field names; seeds are strings as
/// [`Seed`](steadfast_determinism::Seed) prints them (`0x` and 16 hex digits), because JSON
/// numbers cannot hold every `u64` exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// The test id: `<nextest binary id> <test name>`, e.g. `my-crate::integration a::b`.
    pub test: String,
    /// Groups the attempts of one call of [`retry`](crate::retry) (one test execution).
    pub invocation: String,
    /// The 1-based attempt number.
    pub attempt: u32,
    /// How many attempts the policy allowed (retries + 1).
    pub max_attempts: u32,
    /// How the attempt ended.
    pub outcome: AttemptOutcome,
    /// How long the attempt took, in milliseconds.
    pub duration_ms: f64,
    /// The panic message or returned failure, if the attempt failed.
    #[serde(default)]
    pub message: Option<String>,
    /// The seed this attempt ran with.
    #[serde(default)]
    pub seed: Option<String>,
    /// The run seed (`STEADFAST_SEED`) of the process.
    #[serde(default)]
    pub run_seed: Option<String>,
    /// Whether this attempt used the same seed as the first attempt.
    pub same_seed_as_first: bool,
    /// The command that replays this test with this attempt's run seed.
    #[serde(default)]
    pub replay: Option<String>,
    /// When the attempt started, in milliseconds since the Unix epoch.
    pub at_ms: i64,
}

/// The directory `attempts.jsonl` goes to: `STEADFAST_FLAKY_DIR`, else
/// `$CARGO_TARGET_DIR/steadfast/flaky`, else `target/steadfast/flaky` under nextest's
/// `NEXTEST_WORKSPACE_ROOT`, else under the nearest ancestor of the current directory that
/// holds a `Cargo.lock` (the workspace root), else under the current directory.
///
/// # Errors
///
/// When `STEADFAST_FLAKY_DIR` is set but empty or not UTF-8.
pub fn flaky_dir() -> Result<PathBuf, Error> {
    if let Some(value) = std::env::var_os(FLAKY_DIR_ENV) {
        return match value.to_str() {
            Some(text) if !text.trim().is_empty() => Ok(PathBuf::from(text)),
            _ => Err(Error::new(ErrorKind::InvalidEnv {
                var: FLAKY_DIR_ENV,
                value: value.to_string_lossy().into_owned(),
                expected: "a non-empty UTF-8 directory path",
            })),
        };
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Ok(PathBuf::from(target).join("steadfast").join("flaky"));
    }
    if let Some(root) = std::env::var_os("NEXTEST_WORKSPACE_ROOT") {
        return Ok(PathBuf::from(root)
            .join("target")
            .join("steadfast")
            .join("flaky"));
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let root = cwd
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap_or(&cwd);
    Ok(root.join("target").join("steadfast").join("flaky"))
}

/// Appends one record to `dir/attempts.jsonl`, creating the directory and file as needed, and
/// returns the file's path.
///
/// # Errors
///
/// When the directory or file cannot be created or written.
pub fn append_to(dir: &Path, record: &AttemptRecord) -> Result<PathBuf, Error> {
    let path = dir.join(ATTEMPTS_FILE);
    std::fs::create_dir_all(dir).map_err(|err| Error::io(dir, "create", err))?;
    let mut record = record.clone();
    if let Some(message) = &mut record.message {
        truncate_at_char(message, MAX_MESSAGE);
    }
    // OK because the record has only strings, numbers and bools: serialisation cannot fail.
    let mut line = serde_json::to_vec(&record).expect("an attempt record serialises");
    line.push(b'\n');
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(|err| Error::io(&path, "open", err))?;
    // One write call per line: with O_APPEND the kernel appends the whole buffer atomically.
    // `write_all` only loops if the kernel wrote part of it, which regular files do not do
    // for lines this short.
    file.write_all(&line)
        .map_err(|err| Error::io(&path, "write", err))?;
    Ok(path)
}

fn truncate_at_char(text: &mut String, max: usize) {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
}

/// Reads every record of an `attempts.jsonl` file; blank lines are skipped.
///
/// # Errors
///
/// When the file cannot be read, is not UTF-8, or a line is not a record (the error names the
/// file and line).
pub fn read_attempts(path: &Path) -> Result<Vec<AttemptRecord>, Error> {
    parse_attempts(path, &read_utf8(path)?)
}

pub(crate) fn parse_attempts(path: &Path, text: &str) -> Result<Vec<AttemptRecord>, Error> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line).map_err(|err| {
                Error::with_source(
                    ErrorKind::Json {
                        path: path.to_owned(),
                        line: index + 1,
                        detail: err.to_string(),
                    },
                    err,
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_at_a_char_boundary() {
        let mut text = "é".repeat(10);
        truncate_at_char(&mut text, 5);
        assert_eq!(text, "éé…");
    }

    #[test]
    fn a_malformed_line_names_the_file_and_line() {
        let err = parse_attempts(Path::new("a.jsonl"), "\n{\"test\": 1}\n").unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Json { line: 2, .. }),
            "{err}"
        );
        assert!(
            err.to_string().starts_with("a.jsonl:2: invalid JSON"),
            "{err}"
        );
    }
}
