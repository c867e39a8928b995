//! The crate's one error type.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why reading, merging or gating failed.
///
/// Opaque: match on [`Error::kind`]. The [`Display`](fmt::Display) text names the file (and line)
/// that was wrong; the underlying cause, if any, is in [`source`](std::error::Error::source).
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done: `read`, `write`, `create`.
        action: &'static str,
    },
    /// A file is not valid UTF-8.
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The byte offset of the first invalid byte, when known.
        offset: Option<usize>,
    },
    /// A file is empty (or only whitespace).
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A JUnit file is malformed or truncated.
    Junit {
        /// The file.
        path: PathBuf,
        /// Where in the document, as the JUnit parser describes it.
        detail: String,
    },
    /// A JSON or JSON-lines file is malformed.
    Json {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// The parser's description.
        detail: String,
    },
    /// A file holds the same test twice where each test must appear once.
    DuplicateTest {
        /// The file.
        path: PathBuf,
        /// The test id.
        test: String,
    },
    /// A file is none of the formats `report` reads.
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A quarantine file line is malformed.
    Quarantine {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// An environment variable has a malformed value.
    InvalidEnv {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The test command could not be started.
    Spawn {
        /// The program.
        program: String,
    },
    /// A run of the test command wrote no report.
    NoReport {
        /// The 1-based run number.
        run: u32,
        /// Where the report was expected.
        path: PathBuf,
        /// The command's exit status, as text.
        status: String,
    },
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self { kind, source: None }
    }

    pub(crate) fn with_source(
        kind: ErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    pub(crate) fn io(path: &Path, action: &'static str, err: std::io::Error) -> Self {
        Self::with_source(
            ErrorKind::Io {
                path: path.to_owned(),
                action,
            },
            err,
        )
    }

    /// `path` is not UTF-8 from byte `offset` on.
    pub(crate) fn not_utf8(path: &Path, offset: usize) -> Self {
        Self::new(ErrorKind::NotUtf8 {
            path: path.to_owned(),
            offset: Some(offset),
        })
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The file the error is about, if any.
    pub fn path(&self) -> Option<&Path> {
        match &self.kind {
            ErrorKind::Io { path, .. }
            | ErrorKind::NotUtf8 { path, .. }
            | ErrorKind::Empty { path }
            | ErrorKind::Junit { path, .. }
            | ErrorKind::Json { path, .. }
            | ErrorKind::DuplicateTest { path, .. }
            | ErrorKind::UnknownFormat { path }
            | ErrorKind::Quarantine { path, .. }
            | ErrorKind::NoReport { path, .. } => Some(path),
            ErrorKind::InvalidEnv { .. } | ErrorKind::Spawn { .. } => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Io { path, action } => {
                write!(f, "could not {action} {}", path.display())
            }
            ErrorKind::NotUtf8 { path, offset } => {
                write!(f, "{} is not valid UTF-8", path.display())?;
                match offset {
                    Some(offset) => write!(f, " (invalid byte at offset {offset})"),
                    None => Ok(()),
                }
            }
            ErrorKind::Empty { path } => write!(f, "{} is empty", path.display()),
            ErrorKind::Junit { path, detail } => {
                write!(
                    f,
                    "{} is not a valid JUnit report: {detail}",
                    path.display()
                )
            }
            ErrorKind::Json { path, line, detail } => {
                write!(f, "{}:{line}: invalid JSON: {detail}", path.display())
            }
            ErrorKind::DuplicateTest { path, test } => {
                write!(f, "{} lists test `{test}` more than once", path.display())
            }
            ErrorKind::UnknownFormat { path } => write!(
                f,
                "{} is neither JUnit XML, libtest output, attempts.jsonl nor a steadfast-flaky JSON report",
                path.display()
            ),
            ErrorKind::Quarantine { path, line, reason } => {
                write!(f, "{}:{line}: {reason}", path.display())
            }
            ErrorKind::InvalidEnv {
                var,
                value,
                expected,
            } => write!(f, "{var} is {value:?}, expected {expected}"),
            ErrorKind::Spawn { program } => write!(f, "could not start `{program}`"),
            ErrorKind::NoReport { run, path, status } => write!(
                f,
                "run {run} of the test command ({status}) wrote no report at {}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|err| err as &(dyn std::error::Error + 'static))
    }
}

/// The whole of the file at `path` as text, with errors naming the file.
pub(crate) fn read_utf8(path: &Path) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|err| Error::io(path, "read", err))?;
    String::from_utf8(bytes).map_err(|err| Error::not_utf8(path, err.utf8_error().valid_up_to()))
}
