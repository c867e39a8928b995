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

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;

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
/// [`ErrorKind::InvalidEnv`](crate::ErrorKind::InvalidEnv) when `STEADFAST_FLAKY_DIR` is set but blank or not UTF-8.
pub fn flaky_dir() -> Result<PathBuf, Error> {
    flaky_dir_with(|name| std::env::var_os(name))
}

/// Like [`flaky_dir`], with the environment read through `env`, which answers as
/// [`std::env::var_os`] does.
///
/// # Errors
///
/// As [`flaky_dir`].
///
/// # Example
///
/// ```
/// use std::ffi::OsString;
/// use std::path::Path;
///
/// let env = |name: &str| (name == "CARGO_TARGET_DIR").then(|| OsString::from("/tmp/t"));
/// assert_eq!(steadfast_flaky::attempts::flaky_dir_with(env)?, Path::new("/tmp/t/steadfast/flaky"));
/// # Ok::<(), steadfast_flaky::Error>(())
/// ```
pub fn flaky_dir_with(env: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf, Error> {
    if let Some(value) = env(FLAKY_DIR_ENV) {
        return match value.to_str() {
            Some(text) if !text.trim().is_empty() => Ok(PathBuf::from(text)),
            _ => Err(Error::invalid_env(
                FLAKY_DIR_ENV,
                &value,
                "a non-empty UTF-8 directory path",
            )),
        };
    }
    if let Some(target) = env("CARGO_TARGET_DIR") {
        return Ok(PathBuf::from(target).join("steadfast").join("flaky"));
    }
    if let Some(root) = env("NEXTEST_WORKSPACE_ROOT") {
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
/// Appends hold an exclusive lock on the file, so lines of concurrent writers never interleave.
/// A writer killed inside its `write` (SIGKILL can cut a write to a regular file at a page
/// boundary) leaves an unterminated last line: readers skip it, and the next append, under the
/// lock, cuts it off first, so it never glues itself to a whole record.
///
/// # Errors
///
/// [`ErrorKind::Io`](crate::ErrorKind::Io) when the directory or file cannot be created or written.
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
        .read(true)
        .append(true)
        .create(true)
        .open(&path)
        .map_err(|err| Error::io(&path, "open", err))?;
    // Released when `file` closes, also when the process dies.
    file.lock().map_err(|err| Error::io(&path, "lock", err))?;
    cut_unterminated_tail(&file).map_err(|err| Error::io(&path, "repair", err))?;
    file.write_all(&line)
        .map_err(|err| Error::io(&path, "write", err))?;
    Ok(path)
}

/// Cuts the file back to its last newline: what follows it is an append that a killed writer
/// never finished. Called under the file's lock.
fn cut_unterminated_tail(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt as _;
    let len = file.metadata()?.len();
    let mut end = len;
    let mut chunk = [0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let piece = &mut chunk[..usize::try_from(end - start).unwrap_or(0)];
        file.read_exact_at(piece, start)?;
        if let Some(at) = piece.iter().rposition(|&byte| byte == b'\n') {
            let keep = start + at as u64 + 1;
            if keep < len {
                file.set_len(keep)?;
            }
            return Ok(());
        }
        end = start;
    }
    if len > 0 {
        file.set_len(0)?;
    }
    Ok(())
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

/// Reads every record of an `attempts.jsonl` file; blank lines are skipped, and so is an
/// unterminated last line (see [`parse_attempts`]), which is left out before the text is
/// decoded, since a cut can fall inside a character.
///
/// # Errors
///
/// [`ErrorKind::Io`](crate::ErrorKind::Io) when the file cannot be read, [`ErrorKind::NotUtf8`](crate::ErrorKind::NotUtf8), and [`ErrorKind::Json`](crate::ErrorKind::Json) when a line is
/// not a record ([`Error::line`] says which).
pub fn read_attempts(path: &Path) -> Result<Vec<AttemptRecord>, Error> {
    let bytes = std::fs::read(path).map_err(|err| Error::io(path, "read", err))?;
    let whole = match bytes.iter().rposition(|&byte| byte == b'\n') {
        Some(end) => &bytes[..=end],
        None => &[][..],
    };
    let text =
        std::str::from_utf8(whole).map_err(|err| Error::not_utf8(path, err.valid_up_to()))?;
    parse_lines(path, text)
}

/// Reads every record of `attempts.jsonl` text already in memory; `path` only names it in
/// errors. Blank lines are skipped, and so is an unterminated last line: an append still being
/// written, or cut short by a killed writer (see [`append_to`]).
///
/// # Errors
///
/// [`ErrorKind::Json`](crate::ErrorKind::Json) when a line is not a record ([`Error::line`]
/// says which).
///
/// # Example
///
/// ```
/// use std::path::Path;
/// use steadfast_flaky::attempts::parse_attempts;
///
/// let err = parse_attempts(Path::new("attempts.jsonl"), "\n{\"test\": 1}\n").unwrap_err();
/// assert_eq!(err.line(), Some(2));
/// assert!(parse_attempts(Path::new("attempts.jsonl"), "\n\n")?.is_empty());
/// # Ok::<(), steadfast_flaky::Error>(())
/// ```
pub fn parse_attempts(path: &Path, text: &str) -> Result<Vec<AttemptRecord>, Error> {
    let whole = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    parse_lines(path, whole)
}

/// The records of `text`, every line of which is terminated; blank lines are skipped.
fn parse_lines(path: &Path, text: &str) -> Result<Vec<AttemptRecord>, Error> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line).map_err(|err| Error::json(path, index + 1, err))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn long_messages_are_cut_at_a_char_boundary() {
        let mut text = "é".repeat(10);
        truncate_at_char(&mut text, 5);
        assert_eq!(text, "éé…");
    }

    #[test]
    fn the_flaky_dir_comes_from_its_variable_then_the_target_dir() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| OsString::from(value))
            }
        };
        let set = env(&[(FLAKY_DIR_ENV, "/tmp/flaky"), ("CARGO_TARGET_DIR", "/t")]);
        assert_eq!(flaky_dir_with(set).unwrap(), Path::new("/tmp/flaky"));
        let target = env(&[("CARGO_TARGET_DIR", "/t"), ("NEXTEST_WORKSPACE_ROOT", "/w")]);
        assert_eq!(
            flaky_dir_with(target).unwrap(),
            Path::new("/t/steadfast/flaky")
        );
        let nextest = env(&[("NEXTEST_WORKSPACE_ROOT", "/w")]);
        assert_eq!(
            flaky_dir_with(nextest).unwrap(),
            Path::new("/w/target/steadfast/flaky")
        );
    }

    #[test]
    fn a_blank_flaky_dir_is_an_error_naming_the_variable() {
        let blank = |name: &str| (name == FLAKY_DIR_ENV).then(|| OsString::from(" "));
        let err = flaky_dir_with(blank).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidEnv);
        assert_eq!(err.variable(), Some(FLAKY_DIR_ENV));
        assert_eq!(
            err.to_string(),
            "environment variable STEADFAST_FLAKY_DIR has invalid value \" \": expected a \
             non-empty UTF-8 directory path"
        );
    }

    #[test]
    fn a_malformed_line_names_the_file_and_line() {
        let err = parse_attempts(Path::new("a.jsonl"), "\n{\"test\": 1}\n").unwrap_err();
        assert_eq!(
            (err.kind(), err.line()),
            (ErrorKind::Json, Some(2)),
            "{err}"
        );
        assert_eq!(err.path(), Some(Path::new("a.jsonl")));
        assert!(
            err.to_string().starts_with("a.jsonl:2: invalid JSON"),
            "{err}"
        );
    }
}
