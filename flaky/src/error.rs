//! The crate's one error type.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why reading, recording, running, gating or a fail-on-flaky retry failed.
///
/// The error is opaque: ask [`Error::kind`] what went wrong, [`Error::path`], [`Error::line`],
/// [`Error::offset`], [`Error::test`] and [`Error::variable`] for the details, and
/// [`source`](std::error::Error::source) for the underlying cause (an I/O error, the JUnit or
/// JSON parser's description). The [`Display`](fmt::Display) text is one lowercase line naming
/// what was wrong and where (the file and line, the variable, the test).
///
/// # Example
///
/// ```
/// use std::path::Path;
/// use steadfast_flaky::ErrorKind;
/// use steadfast_flaky::gate::Quarantine;
///
/// let err = Quarantine::parse(Path::new("quarantine"), "a::b 2025-02-30\n").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Quarantine);
/// assert_eq!((err.path(), err.line()), (Some(Path::new("quarantine")), Some(1)));
/// assert_eq!(err.to_string(), "quarantine:1: \"2025-02-30\" is not a date (expected YYYY-MM-DD)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Error {
    detail: Detail,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// What went wrong, without the details (see [`Error`] for those).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file or directory could not be read, written, created or removed.
    Io,
    /// A file is not valid UTF-8 ([`Error::offset`] is the first invalid byte).
    NotUtf8,
    /// A file is empty (or only whitespace).
    Empty,
    /// A JUnit file is malformed or truncated, or has a timestamp that is not a date and time.
    Junit,
    /// A JSON or JSON-lines file is malformed, or a JSON report has another schema.
    Json,
    /// A file holds the same test twice where each test must appear once ([`Error::test`]).
    DuplicateTest,
    /// A file is none of the formats `report` reads.
    UnknownFormat,
    /// A quarantine file line is malformed.
    Quarantine,
    /// An environment variable has a malformed value ([`Error::variable`]).
    InvalidEnv,
    /// The test command is empty or could not be started.
    Spawn,
    /// A run of the test command wrote no JUnit report.
    NoReport,
    /// A run of the test command left a JUnit report that cannot be read (cut short or
    /// malformed); the source says what is wrong with it.
    InvalidReport,
    /// A run of the test command was killed by a signal.
    Killed,
    /// A run of the test command ran past its timeout and was killed.
    TimedOut,
    /// A run of the test command was interrupted: this process received SIGINT, SIGTERM or
    /// SIGHUP and passed it on.
    Interrupted,
    /// A test passed only on retry while fail-on-flaky was on ([`try_retry`](crate::try_retry)).
    Flaky,
    /// A history database could not be opened, read or written, or its URL is none that
    /// `history::History` opens ([`Error::database`]).
    Database,
    /// A history database has a newer schema version than this steadfast-flaky reads
    /// ([`Error::schema_versions`]).
    SchemaVersion,
    /// A history database holds no history yet ([`Error::database`]).
    NoHistory,
}

/// The details of each kind; private, so that adding one is not a breaking change.
#[derive(Debug)]
enum Detail {
    Io {
        path: PathBuf,
        action: &'static str,
    },
    NotUtf8 {
        path: PathBuf,
        offset: usize,
    },
    Empty {
        path: PathBuf,
    },
    Junit {
        path: PathBuf,
    },
    Json {
        path: PathBuf,
        line: usize,
        /// What is wrong, when the JSON parser (the source) does not say it.
        reason: Option<String>,
    },
    DuplicateTest {
        path: PathBuf,
        test: String,
    },
    UnknownFormat {
        path: PathBuf,
    },
    Quarantine {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    InvalidEnv {
        variable: &'static str,
        value: String,
        expected: &'static str,
    },
    Spawn {
        program: String,
    },
    NoReport {
        run: u32,
        path: PathBuf,
        status: String,
    },
    InvalidReport {
        run: u32,
        path: PathBuf,
        status: String,
    },
    Killed {
        run: u32,
        status: String,
    },
    TimedOut {
        run: u32,
        timeout: Duration,
    },
    Interrupted {
        run: u32,
        signal: &'static str,
    },
    /// Boxed: the largest detail by far, and the rarest.
    Flaky(Box<Flaky>),
    // Built by the `history` feature's code only.
    #[cfg_attr(not(feature = "history"), allow(dead_code))]
    Database {
        /// The database's URL or path, any password masked.
        database: String,
        action: &'static str,
        /// What is wrong, when there is no underlying error (the source) to say it.
        reason: Option<String>,
    },
    #[cfg_attr(not(feature = "history"), allow(dead_code))]
    SchemaVersion {
        database: String,
        found: i64,
        supported: u32,
    },
    #[cfg_attr(not(feature = "history"), allow(dead_code))]
    NoHistory {
        database: String,
    },
}

/// What a fail-on-flaky error says about the test.
#[derive(Debug)]
struct Flaky {
    test: String,
    attempt: u32,
    max_attempts: u32,
    /// The seeds of the failed attempts, as `0x` and 16 hex digits.
    seeds: Vec<String>,
    replay: Option<String>,
    /// The `attempts.jsonl` the attempts were recorded to, when recording worked.
    attempts: Option<PathBuf>,
}

impl Error {
    fn new(detail: Detail) -> Self {
        Self {
            detail,
            source: None,
        }
    }

    fn with_source(mut self, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// `action` (`read`, `write`, `create`, `open`, `remove`) on `path` failed with `err`.
    pub(crate) fn io(path: &Path, action: &'static str, err: std::io::Error) -> Self {
        Self::new(Detail::Io {
            path: path.to_owned(),
            action,
        })
        .with_source(err)
    }

    /// `path` is not UTF-8 from byte `offset` on.
    pub(crate) fn not_utf8(path: &Path, offset: usize) -> Self {
        Self::new(Detail::NotUtf8 {
            path: path.to_owned(),
            offset,
        })
    }

    /// `path` holds nothing but whitespace.
    pub(crate) fn empty(path: &Path) -> Self {
        Self::new(Detail::Empty {
            path: path.to_owned(),
        })
    }

    /// The JUnit reader rejected `path`; `err` says what broke and where.
    pub(crate) fn junit(path: &Path, err: crate::junit::Malformed) -> Self {
        Self::new(Detail::Junit {
            path: path.to_owned(),
        })
        .with_source(err)
    }

    /// Line `line` of `path` is not the JSON expected; `err` says why.
    pub(crate) fn json(path: &Path, line: usize, err: serde_json::Error) -> Self {
        Self::new(Detail::Json {
            path: path.to_owned(),
            line,
            reason: None,
        })
        .with_source(err)
    }

    /// Line `line` of `path` is well-formed JSON with the wrong content.
    pub(crate) fn json_content(path: &Path, line: usize, reason: String) -> Self {
        Self::new(Detail::Json {
            path: path.to_owned(),
            line,
            reason: Some(reason),
        })
    }

    /// `path` lists `test` more than once.
    pub(crate) fn duplicate_test(path: &Path, test: String) -> Self {
        Self::new(Detail::DuplicateTest {
            path: path.to_owned(),
            test,
        })
    }

    /// `path` is in no format `report` reads.
    pub(crate) fn unknown_format(path: &Path) -> Self {
        Self::new(Detail::UnknownFormat {
            path: path.to_owned(),
        })
    }

    /// Line `line` of the quarantine file `path` is malformed.
    pub(crate) fn quarantine(path: &Path, line: usize, reason: String) -> Self {
        Self::new(Detail::Quarantine {
            path: path.to_owned(),
            line,
            reason,
        })
    }

    /// `variable` holds `value`, which is not `expected`.
    pub(crate) fn invalid_env(
        variable: &'static str,
        value: &std::ffi::OsStr,
        expected: &'static str,
    ) -> Self {
        Self::new(Detail::InvalidEnv {
            variable,
            value: value.to_string_lossy().into_owned(),
            expected,
        })
    }

    /// `program` could not be started (`""`: the command is empty).
    pub(crate) fn spawn(program: String, err: Option<std::io::Error>) -> Self {
        let error = Self::new(Detail::Spawn { program });
        match err {
            Some(err) => error.with_source(err),
            None => error,
        }
    }

    /// Run `run` of the test command ended with `status` and wrote no report at `path`.
    pub(crate) fn no_report(run: u32, path: PathBuf, status: String) -> Self {
        Self::new(Detail::NoReport { run, path, status })
    }

    /// Run `run` of the test command ended with `status` and left a report at `path` that
    /// `err` (the reader's error) says cannot be read.
    pub(crate) fn invalid_report(run: u32, path: PathBuf, status: String, err: Error) -> Self {
        Self::new(Detail::InvalidReport { run, path, status }).with_source(err)
    }

    /// Run `run` of the test command was killed by a signal, as `status` says.
    pub(crate) fn killed(run: u32, status: String) -> Self {
        Self::new(Detail::Killed { run, status })
    }

    /// Run `run` of the test command was still running after `timeout`.
    pub(crate) fn timed_out(run: u32, timeout: Duration) -> Self {
        Self::new(Detail::TimedOut { run, timeout })
    }

    /// Run `run` of the test command was interrupted by `signal` (its name, `SIGINT`).
    pub(crate) fn interrupted(run: u32, signal: &'static str) -> Self {
        Self::new(Detail::Interrupted { run, signal })
    }

    /// `test` passed only on attempt `attempt` of `max_attempts` while fail-on-flaky was on.
    pub(crate) fn flaky(
        test: String,
        (attempt, max_attempts): (u32, u32),
        seeds: Vec<String>,
        replay: Option<String>,
        attempts: Option<PathBuf>,
    ) -> Self {
        Self::new(Detail::Flaky(Box::new(Flaky {
            test,
            attempt,
            max_attempts,
            seeds,
            replay,
            attempts,
        })))
    }

    /// Opening, reading or writing the history database `database` (its URL with any password
    /// masked) failed with `err`; `action` is `open`, `migrate`, `read` or `write`.
    #[cfg(feature = "history")]
    pub(crate) fn database_failed(
        database: &str,
        action: &'static str,
        err: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::new(Detail::Database {
            database: database.to_owned(),
            action,
            reason: None,
        })
        .with_source(err)
    }

    /// The history database `database` cannot be used, for `reason`.
    #[cfg(feature = "history")]
    pub(crate) fn database_refused(database: &str, action: &'static str, reason: String) -> Self {
        Self::new(Detail::Database {
            database: database.to_owned(),
            action,
            reason: Some(reason),
        })
    }

    /// `database` has schema version `found`, newer than the `supported` one.
    #[cfg(feature = "history")]
    pub(crate) fn schema_version(database: &str, found: i64, supported: u32) -> Self {
        Self::new(Detail::SchemaVersion {
            database: database.to_owned(),
            found,
            supported,
        })
    }

    /// `database` holds no history.
    #[cfg(feature = "history")]
    pub(crate) fn no_history(database: &str) -> Self {
        Self::new(Detail::NoHistory {
            database: database.to_owned(),
        })
    }

    /// What went wrong.
    ///
    /// # Example
    ///
    /// ```
    /// use std::path::Path;
    /// use steadfast_flaky::ErrorKind;
    ///
    /// let err = steadfast_flaky::input::detect(Path::new("out.txt"), b"hello\n").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::UnknownFormat);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match &self.detail {
            Detail::Io { .. } => ErrorKind::Io,
            Detail::NotUtf8 { .. } => ErrorKind::NotUtf8,
            Detail::Empty { .. } => ErrorKind::Empty,
            Detail::Junit { .. } => ErrorKind::Junit,
            Detail::Json { .. } => ErrorKind::Json,
            Detail::DuplicateTest { .. } => ErrorKind::DuplicateTest,
            Detail::UnknownFormat { .. } => ErrorKind::UnknownFormat,
            Detail::Quarantine { .. } => ErrorKind::Quarantine,
            Detail::InvalidEnv { .. } => ErrorKind::InvalidEnv,
            Detail::Spawn { .. } => ErrorKind::Spawn,
            Detail::NoReport { .. } => ErrorKind::NoReport,
            Detail::InvalidReport { .. } => ErrorKind::InvalidReport,
            Detail::Killed { .. } => ErrorKind::Killed,
            Detail::TimedOut { .. } => ErrorKind::TimedOut,
            Detail::Interrupted { .. } => ErrorKind::Interrupted,
            Detail::Flaky(_) => ErrorKind::Flaky,
            Detail::Database { .. } => ErrorKind::Database,
            Detail::SchemaVersion { .. } => ErrorKind::SchemaVersion,
            Detail::NoHistory { .. } => ErrorKind::NoHistory,
        }
    }

    /// The file the error is about, if any: the input, the quarantine file, the JUnit file a
    /// run did not write or left unreadable, or the `attempts.jsonl` of a flaky test.
    ///
    /// # Example
    ///
    /// ```
    /// use std::path::Path;
    ///
    /// let err = steadfast_flaky::input::read_report(Path::new("/no/such/junit.xml")).unwrap_err();
    /// assert_eq!(err.path(), Some(Path::new("/no/such/junit.xml")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> Option<&Path> {
        match &self.detail {
            Detail::Io { path, .. }
            | Detail::NotUtf8 { path, .. }
            | Detail::Empty { path }
            | Detail::Junit { path }
            | Detail::Json { path, .. }
            | Detail::DuplicateTest { path, .. }
            | Detail::UnknownFormat { path }
            | Detail::Quarantine { path, .. }
            | Detail::NoReport { path, .. }
            | Detail::InvalidReport { path, .. } => Some(path),
            Detail::Flaky(flaky) => flaky.attempts.as_deref(),
            Detail::InvalidEnv { .. }
            | Detail::Spawn { .. }
            | Detail::Killed { .. }
            | Detail::TimedOut { .. }
            | Detail::Interrupted { .. }
            | Detail::Database { .. }
            | Detail::SchemaVersion { .. }
            | Detail::NoHistory { .. } => None,
        }
    }

    /// The 1-based line of the file that is wrong, for [`ErrorKind::Json`] and
    /// [`ErrorKind::Quarantine`].
    ///
    /// # Example
    ///
    /// ```
    /// use std::path::Path;
    ///
    /// let err = steadfast_flaky::input::parse_report_json(Path::new("r.json"), "{\n  \"schema\": 1\n}")
    ///     .unwrap_err();
    /// assert_eq!(err.line(), Some(2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn line(&self) -> Option<usize> {
        match &self.detail {
            Detail::Json { line, .. } | Detail::Quarantine { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The byte offset of the first invalid byte, for [`ErrorKind::NotUtf8`].
    ///
    /// # Example
    ///
    /// ```
    /// use std::path::Path;
    ///
    /// let err = steadfast_flaky::input::detect(Path::new("x"), b"test a ... ok\n\xff").unwrap_err();
    /// assert_eq!(err.offset(), Some(14));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn offset(&self) -> Option<usize> {
        match &self.detail {
            Detail::NotUtf8 { offset, .. } => Some(*offset),
            _ => None,
        }
    }

    /// The test id, for [`ErrorKind::DuplicateTest`] and [`ErrorKind::Flaky`].
    ///
    /// # Example
    ///
    /// ```
    /// use std::path::Path;
    ///
    /// let entry = r#"{"id": "app t", "runs": 1, "passes": 1, "failures": 0, "passed_on_retry": 0}"#;
    /// let json = format!(r#"{{"schema": "steadfast-flaky/report/v1", "tests": [{entry}, {entry}]}}"#);
    /// let err = steadfast_flaky::input::parse_report_json(Path::new("r.json"), &json).unwrap_err();
    /// assert_eq!(err.test(), Some("app t"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn test(&self) -> Option<&str> {
        match &self.detail {
            Detail::DuplicateTest { test, .. } => Some(test),
            Detail::Flaky(flaky) => Some(&flaky.test),
            _ => None,
        }
    }

    /// The environment variable, for [`ErrorKind::InvalidEnv`].
    ///
    /// # Example
    ///
    /// ```
    /// use std::ffi::OsString;
    ///
    /// let err = steadfast_flaky::fail_on_flaky_from_env_with(|_| Some(OsString::from("maybe"))).unwrap_err();
    /// assert_eq!(err.variable(), Some("STEADFAST_FAIL_ON_FLAKY"));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "environment variable STEADFAST_FAIL_ON_FLAKY has invalid value \"maybe\": expected 1, true, 0 or false"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn variable(&self) -> Option<&str> {
        match &self.detail {
            Detail::InvalidEnv { variable, .. } => Some(variable),
            _ => None,
        }
    }

    /// The history database's URL or path (any password masked as `***`), for
    /// [`ErrorKind::Database`], [`ErrorKind::SchemaVersion`] and [`ErrorKind::NoHistory`].
    ///
    /// # Example
    ///
    /// ```
    /// # #[cfg(feature = "history")] {
    /// use steadfast_flaky::ErrorKind;
    /// use steadfast_flaky::history::History;
    ///
    /// let err = History::open("mysql://ci:secret@127.0.0.1/flaky").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Database);
    /// assert_eq!(err.database(), Some("mysql://ci:***@127.0.0.1/flaky"));
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn database(&self) -> Option<&str> {
        match &self.detail {
            Detail::Database { database, .. }
            | Detail::SchemaVersion { database, .. }
            | Detail::NoHistory { database } => Some(database),
            _ => None,
        }
    }

    /// The schema version a history database has and the newest this steadfast-flaky reads,
    /// for [`ErrorKind::SchemaVersion`].
    pub fn schema_versions(&self) -> Option<(i64, u32)> {
        match &self.detail {
            Detail::SchemaVersion {
                found, supported, ..
            } => Some((*found, *supported)),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Detail::Io { path, action } => write!(f, "could not {action} {}", path.display()),
            Detail::NotUtf8 { path, offset } => write!(
                f,
                "{} is not valid UTF-8 (invalid byte at offset {offset})",
                path.display()
            ),
            Detail::Empty { path } => write!(f, "{} is empty", path.display()),
            Detail::Junit { path } => write!(f, "{} is not a valid JUnit report", path.display()),
            Detail::Json { path, line, reason } => {
                write!(f, "{}:{line}: invalid JSON", path.display())?;
                match reason {
                    Some(reason) => write!(f, ": {reason}"),
                    None => Ok(()),
                }
            }
            Detail::DuplicateTest { path, test } => {
                write!(f, "{} lists test `{test}` more than once", path.display())
            }
            Detail::UnknownFormat { path } => write!(
                f,
                "{} is neither JUnit XML, libtest output, attempts.jsonl nor a steadfast-flaky \
                 JSON report",
                path.display()
            ),
            Detail::Quarantine { path, line, reason } => {
                write!(f, "{}:{line}: {reason}", path.display())
            }
            Detail::InvalidEnv {
                variable,
                value,
                expected,
            } => write!(
                f,
                "environment variable {variable} has invalid value {value:?}: expected {expected}"
            ),
            Detail::Spawn { program } if program.is_empty() => {
                f.write_str("could not start the test command: it is empty")
            }
            Detail::Spawn { program } => write!(f, "could not start `{program}`"),
            Detail::NoReport { run, path, status } => write!(
                f,
                "run {run} of the test command ({status}) wrote no report at {}",
                path.display()
            ),
            Detail::InvalidReport { run, path, status } => write!(
                f,
                "run {run} of the test command ({status}) left a report at {} that cannot be read",
                path.display()
            ),
            Detail::Killed { run, status } => {
                write!(f, "run {run} of the test command was killed ({status})")
            }
            Detail::TimedOut { run, timeout } => write!(
                f,
                "run {run} of the test command timed out after {timeout:?} and its process \
                 group was killed"
            ),
            Detail::Interrupted { run, signal } => write!(
                f,
                "run {run} of the test command was interrupted by {signal}, which was passed \
                 on to its process group"
            ),
            Detail::Flaky(flaky) => {
                let Flaky {
                    test,
                    attempt,
                    max_attempts,
                    seeds,
                    replay,
                    attempts,
                } = &**flaky;
                let plural = if seeds.len() == 1 { "" } else { "s" };
                write!(
                    f,
                    "test {test} passed only on attempt {attempt} of {max_attempts} and \
                     fail-on-flaky is on; failed with seed{plural} {}",
                    seeds.join(", ")
                )?;
                if let Some(replay) = replay {
                    write!(f, "; replay: {replay}")?;
                }
                if let Some(attempts) = attempts {
                    write!(f, "; attempts in {}", attempts.display())?;
                }
                Ok(())
            }
            Detail::Database {
                database,
                action,
                reason: None,
            } => write!(f, "could not {action} the history database {database}"),
            Detail::Database {
                database,
                action,
                reason: Some(reason),
            } => write!(
                f,
                "could not {action} the history database {database}: {reason}"
            ),
            Detail::SchemaVersion {
                database,
                found,
                supported,
            } => write!(
                f,
                "the history database {database} has schema version {found}, newer than \
                 version {supported}, the newest this steadfast-flaky reads: upgrade \
                 steadfast-flaky to use it"
            ),
            Detail::NoHistory { database } => write!(
                f,
                "{database} holds no history yet: record a run with `steadfast-flaky history \
                 add` first"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_environment_variable_is_worded_as_everywhere_in_steadfast() {
        let err = Error::invalid_env(
            "STEADFAST_FAIL_ON_FLAKY",
            std::ffi::OsStr::new("maybe"),
            "1, true, 0 or false",
        );
        assert_eq!(err.kind(), ErrorKind::InvalidEnv);
        assert_eq!(err.variable(), Some("STEADFAST_FAIL_ON_FLAKY"));
        assert_eq!(err.path(), None);
        assert_eq!(
            err.to_string(),
            "environment variable STEADFAST_FAIL_ON_FLAKY has invalid value \"maybe\": \
             expected 1, true, 0 or false"
        );
    }

    #[test]
    fn io_errors_name_the_action_and_path_and_keep_the_cause() {
        let cause = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let err = Error::io(Path::new("out/report.json"), "write", cause);
        assert_eq!(err.kind(), ErrorKind::Io);
        assert_eq!(err.to_string(), "could not write out/report.json");
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("denied"));
    }

    #[test]
    fn an_empty_command_is_named_as_such() {
        let err = Error::spawn(String::new(), None);
        assert_eq!(err.kind(), ErrorKind::Spawn);
        assert_eq!(
            err.to_string(),
            "could not start the test command: it is empty"
        );
    }

    #[test]
    fn a_flaky_error_says_how_to_replay_on_one_line() {
        let err = Error::flaky(
            "app t".into(),
            (2, 3),
            vec!["0x0000000000000005".into()],
            Some("STEADFAST_SEED=0x0 cargo test".into()),
            Some(PathBuf::from("target/attempts.jsonl")),
        );
        assert_eq!(err.kind(), ErrorKind::Flaky);
        assert_eq!(err.test(), Some("app t"));
        assert_eq!(err.path(), Some(Path::new("target/attempts.jsonl")));
        assert_eq!(
            err.to_string(),
            "test app t passed only on attempt 2 of 3 and fail-on-flaky is on; failed with seed \
             0x0000000000000005; replay: STEADFAST_SEED=0x0 cargo test; attempts in \
             target/attempts.jsonl"
        );
    }
}
