//! The crate's one error type.

use std::fmt;
use std::path::{Path, PathBuf};

/// Everything that can go wrong while comparing, decoding or snapshotting
/// images.
///
/// The error is opaque: ask [`Error::kind`] for the category, [`Error::path`]
/// for the file involved (if any), [`Error::variable`] for the environment
/// variable (if any) and [`std::error::Error::source`] for the underlying
/// cause. The [`Display`](fmt::Display) text is one lowercase line saying
/// what was wrong and where.
///
/// # Example
///
/// ```
/// use steadfast_visual::{ErrorKind, Options, compare};
/// use image::RgbaImage;
///
/// let err = compare(&RgbaImage::new(2, 2), &RgbaImage::new(3, 2), &Options::default())
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::SizeMismatch);
/// assert_eq!(err.to_string(), "image sizes do not match: 2x2 vs 3x2");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    path: Option<PathBuf>,
    variable: Option<&'static str>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The category of an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The two images (or raw buffers) have different sizes.
    SizeMismatch,
    /// An option value is out of range or malformed.
    InvalidOption,
    /// An environment variable holds a malformed value.
    InvalidEnv,
    /// A per-snapshot JSON settings file is malformed.
    InvalidConfig,
    /// A snapshot name is empty or would escape the snapshot folder.
    InvalidName,
    /// An image could not be decoded or encoded.
    Image,
    /// An image exceeds the decoding limits (dimensions or memory).
    TooLarge,
    /// Reading or writing a file failed.
    Io,
    /// A file this crate writes for review (`pending.json` beside the
    /// failure artifacts, `used.jsonl`, the record of the last run) is
    /// malformed.
    InvalidRecord,
    /// A snapshot name that is neither waiting for review nor a baseline
    /// the last run used; the message lists the closest names.
    UnknownSnapshot,
    /// A snapshot that has no new image waiting for review (it matched its
    /// baseline, or was accepted or rejected already).
    NotPending,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            path: None,
            variable: None,
            source: None,
        }
    }

    pub(crate) fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub(crate) fn invalid_option(name: &str, reason: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::InvalidOption,
            format!("invalid {name}: {reason}"),
        )
    }

    /// The environment variable `variable` holds `value`, which is not
    /// `expected`; worded as everywhere in steadfast.
    pub(crate) fn invalid_env(variable: &'static str, value: &str, expected: &str) -> Self {
        let mut error = Self::new(
            ErrorKind::InvalidEnv,
            format!(
                "environment variable {variable} has invalid value {value:?}: expected {expected}"
            ),
        );
        error.variable = Some(variable);
        error
    }

    pub(crate) fn io(action: &str, path: &Path, source: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, format!("cannot {action}"))
            .with_path(path)
            .with_source(source)
    }

    /// The category of this error.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_visual::{ErrorKind, Options};
    ///
    /// let err = Options::new().threshold(2.0).validate().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidOption);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file this error is about, if any.
    ///
    /// # Example
    ///
    /// ```
    /// let err = steadfast_visual::open("/no/such/file.png").unwrap_err();
    /// assert_eq!(err.path(), Some(std::path::Path::new("/no/such/file.png")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The environment variable this error is about, for
    /// [`ErrorKind::InvalidEnv`].
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_visual::{ErrorKind, Snapshot};
    ///
    /// let snap = Snapshot::new("x").with_env(|k| (k == "STEADFAST_UPDATE").then(|| "maybe".into()));
    /// let err = snap.check(&image::RgbaImage::new(1, 1)).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidEnv);
    /// assert_eq!(err.variable(), Some("STEADFAST_UPDATE"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn variable(&self) -> Option<&str> {
        self.variable
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(path) = &self.path {
            write!(f, " (path: {})", path.display())?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_path_and_source_is_kept() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let err = Error::io("read image", Path::new("a.png"), io);
        assert_eq!(err.to_string(), "cannot read image (path: a.png)");
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("gone"));
        assert_eq!(err.kind(), ErrorKind::Io);
        assert_eq!(err.variable(), None);
    }

    #[test]
    fn a_bad_environment_variable_is_worded_as_everywhere_in_steadfast() {
        let err = Error::invalid_env("STEADFAST_VISUAL_THRESHOLD", "high", "a number in 0..=1");
        assert_eq!(err.kind(), ErrorKind::InvalidEnv);
        assert_eq!(err.variable(), Some("STEADFAST_VISUAL_THRESHOLD"));
        assert_eq!(
            err.to_string(),
            "environment variable STEADFAST_VISUAL_THRESHOLD has invalid value \"high\": expected \
             a number in 0..=1"
        );
    }
}
