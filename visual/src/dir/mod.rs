//! Comparing two folders of screenshots: [`diff_dir`].
//!
//! Files are paired by their path relative to each folder (PNG and JPEG,
//! by extension). Pairs run on a pool of threads, one pair per thread;
//! when there are fewer pairs than threads the spare ones decode the two
//! files in parallel and split the diff into row bands. Byte-identical
//! files are `equal` without being decoded, and files that decode to the
//! same pixels are `equal` without running the diff. Counts and diff images are
//! those of [`compare`](crate::compare) with the same options, whatever
//! the number of threads.

mod json;
mod run;
mod walk;

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::load::DecodeLimits;
use crate::options::{Options, ratio_of};

use run::{Pair, compare_all};

/// Settings of [`diff_dir`].
///
/// | setting | default |
/// |---|---|
/// | [`compare`](Self::compare) | [`Options::default`] |
/// | [`output`](Self::output) | none: no diff images are written |
/// | [`threads`](Self::threads) | `0`: one per available core |
/// | [`limits`](Self::limits) | [`DecodeLimits::default`] |
///
/// # Example
///
/// ```
/// use steadfast_visual::{DecodeLimits, DirOptions, Options};
///
/// let mut limits = DecodeLimits::default();
/// limits.max_bytes = 256 << 20;
/// let options = DirOptions::new()
///     .compare(Options::new().threshold(0.2).max_diff_ratio(0.001))
///     .output("target/visual-diff")
///     .threads(4)
///     .limits(limits);
/// # let _ = options;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[must_use]
pub struct DirOptions {
    compare: Options,
    output: Option<PathBuf>,
    threads: usize,
    limits: DecodeLimits,
}

impl DirOptions {
    /// The defaults in the table above; same as [`DirOptions::default`].
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(steadfast_visual::DirOptions::new(), Default::default());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The comparison options for every pair. Their
    /// [`threads`](Options::threads) and [`diff_image`](Options::diff_image)
    /// are not consulted: [`threads`](Self::threads) and
    /// [`output`](Self::output) decide those.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_visual::{DirOptions, Options};
    /// let o = DirOptions::new().compare(Options::new().include_aa(true));
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compare(mut self, options: Options) -> Self {
        self.compare = options;
        self
    }

    /// Write a diff image for every pair with differing pixels into this
    /// folder, at the pair's relative path (`.png` appended to a JPEG's
    /// name). Existing files there are overwritten, others left alone.
    ///
    /// # Example
    ///
    /// ```
    /// let o = steadfast_visual::DirOptions::new().output("target/diff");
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn output(mut self, dir: impl Into<PathBuf>) -> Self {
        self.output = Some(dir.into());
        self
    }

    /// Number of threads for the whole run; `0` (the default) means one
    /// per available core.
    ///
    /// # Example
    ///
    /// ```
    /// let o = steadfast_visual::DirOptions::new().threads(1);
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Limits for decoding each image.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_visual::{DecodeLimits, DirOptions};
    /// let mut limits = DecodeLimits::default();
    /// limits.max_bytes = 64 << 20;
    /// let o = DirOptions::new().limits(limits);
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn limits(mut self, limits: DecodeLimits) -> Self {
        self.limits = limits;
        self
    }
}

/// What [`diff_dir`] found for one relative path.
///
/// # Example
///
/// ```
/// use steadfast_visual::DirStatus;
/// assert_eq!(DirStatus::WithinTolerance.as_str(), "within-tolerance");
/// assert!(DirStatus::Equal.is_passed() && !DirStatus::New.is_passed());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DirStatus {
    /// No pixel differs (byte-identical files are not even decoded).
    Equal,
    /// Some pixels differ, within the tolerances of the options.
    WithinTolerance,
    /// More pixels differ than the tolerances allow.
    Different,
    /// In the expected folder only.
    Missing,
    /// In the actual folder only.
    New,
    /// The pair could not be compared: a file is unreadable or not a
    /// decodable image, exceeds the limits, or the sizes differ (without
    /// [`SizeMismatch::Union`](crate::SizeMismatch::Union)).
    Error,
}

impl DirStatus {
    /// The name used in the JSON report and on the command line:
    /// `equal`, `within-tolerance`, `different`, `missing`, `new` or `error`.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(steadfast_visual::DirStatus::Missing.as_str(), "missing");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Equal => "equal",
            Self::WithinTolerance => "within-tolerance",
            Self::Different => "different",
            Self::Missing => "missing",
            Self::New => "new",
            Self::Error => "error",
        }
    }

    /// Whether this status lets the run pass (`equal` or
    /// `within-tolerance`).
    ///
    /// # Example
    ///
    /// ```
    /// assert!(!steadfast_visual::DirStatus::Different.is_passed());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_passed(self) -> bool {
        matches!(self, Self::Equal | Self::WithinTolerance)
    }

    /// Every status, in the order the totals list them.
    const ALL: [Self; 6] = [
        Self::Equal,
        Self::WithinTolerance,
        Self::Different,
        Self::Missing,
        Self::New,
        Self::Error,
    ];
}

/// Pixel counts of a compared pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Measure {
    diff_pixels: u64,
    total_pixels: u64,
}

/// One relative path of a [`DirReport`].
///
/// # Example
///
/// ```
/// # let root = std::env::temp_dir().join(format!("steadfast-visual-entry-{}", std::process::id()));
/// # let (expected, actual) = (root.join("expected"), root.join("actual"));
/// # std::fs::create_dir_all(&expected)?;
/// # std::fs::create_dir_all(&actual)?;
/// std::fs::copy("tests/fixtures/pixelmatch/1a.png", expected.join("home.png"))?;
/// std::fs::copy("tests/fixtures/pixelmatch/1b.png", actual.join("home.png"))?;
/// let report = steadfast_visual::diff_dir(&expected, &actual, &Default::default())?;
/// let entry = &report.entries()[0];
/// assert_eq!(entry.path(), std::path::Path::new("home.png"));
/// assert_eq!(entry.status(), steadfast_visual::DirStatus::Different);
/// assert_eq!(entry.diff_pixels(), Some(106));
/// assert!(entry.error().is_none() && entry.diff_image().is_none());
/// # std::fs::remove_dir_all(&root)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DirEntry {
    path: PathBuf,
    status: DirStatus,
    measure: Option<Measure>,
    diff_image: Option<PathBuf>,
    error: Option<Error>,
}

impl DirEntry {
    fn compared(
        path: &Path,
        status: DirStatus,
        measure: Measure,
        diff_image: Option<PathBuf>,
    ) -> Self {
        Self {
            path: path.to_path_buf(),
            status,
            measure: Some(measure),
            diff_image,
            error: None,
        }
    }

    fn alone(path: PathBuf, status: DirStatus) -> Self {
        Self {
            path,
            status,
            measure: None,
            diff_image: None,
            error: None,
        }
    }

    fn failed(path: PathBuf, error: Error) -> Self {
        Self {
            error: Some(error),
            ..Self::alone(path, DirStatus::Error)
        }
    }

    /// The path relative to both folders.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What was found.
    pub fn status(&self) -> DirStatus {
        self.status
    }

    /// Number of differing pixels, for a compared pair (not for `missing`,
    /// `new` or `error`).
    pub fn diff_pixels(&self) -> Option<u64> {
        self.measure.map(|m| m.diff_pixels)
    }

    /// Number of pixels compared, for a compared pair.
    pub fn total_pixels(&self) -> Option<u64> {
        self.measure.map(|m| m.total_pixels)
    }

    /// `diff_pixels / total_pixels`, for a compared pair.
    pub fn ratio(&self) -> Option<f64> {
        self.measure
            .map(|m| ratio_of(m.diff_pixels, m.total_pixels))
    }

    /// The diff image written for this pair (output folder joined with the
    /// diff image's name), when pixels differ and an output folder was set.
    pub fn diff_image(&self) -> Option<&Path> {
        self.diff_image.as_deref()
    }

    /// Why the pair could not be compared, for [`DirStatus::Error`].
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}

/// The outcome of [`diff_dir`]: one entry per relative path, sorted by path.
///
/// # Example
///
/// ```
/// # let root = std::env::temp_dir().join(format!("steadfast-visual-report-{}", std::process::id()));
/// # let (expected, actual) = (root.join("expected"), root.join("actual"));
/// # std::fs::create_dir_all(&expected)?;
/// # std::fs::create_dir_all(&actual)?;
/// use steadfast_visual::{DirStatus, diff_dir};
///
/// std::fs::copy("tests/fixtures/pixelmatch/1a.png", expected.join("same.png"))?;
/// std::fs::copy("tests/fixtures/pixelmatch/1a.png", actual.join("same.png"))?;
/// std::fs::copy("tests/fixtures/pixelmatch/1a.png", expected.join("gone.png"))?;
/// let report = diff_dir(&expected, &actual, &Default::default())?;
/// assert_eq!(report.count(DirStatus::Equal), 1);
/// assert_eq!(report.count(DirStatus::Missing), 1);
/// assert!(!report.is_passed());
/// let json: serde_json::Value = serde_json::from_str(&report.to_json())?;
/// assert_eq!(json["images"]["gone.png"]["status"], "missing");
/// # std::fs::remove_dir_all(&root)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DirReport {
    expected: PathBuf,
    actual: PathBuf,
    output: Option<PathBuf>,
    entries: Vec<DirEntry>,
}

impl DirReport {
    /// Every relative path found in either folder, sorted.
    pub fn entries(&self) -> &[DirEntry] {
        &self.entries
    }

    /// The entry of one relative path.
    pub fn get(&self, path: impl AsRef<Path>) -> Option<&DirEntry> {
        let path = path.as_ref();
        self.entries
            .binary_search_by(|e| e.path.as_path().cmp(path))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// How many entries have `status`.
    pub fn count(&self, status: DirStatus) -> usize {
        self.entries.iter().filter(|e| e.status == status).count()
    }

    /// Whether every entry is `equal` or `within-tolerance` (an empty pair
    /// of folders passes).
    pub fn is_passed(&self) -> bool {
        self.entries.iter().all(|e| e.status.is_passed())
    }

    /// Whether some pair could not be compared ([`DirStatus::Error`]).
    pub fn has_errors(&self) -> bool {
        self.count(DirStatus::Error) > 0
    }

    /// The expected folder, as given.
    pub fn expected_dir(&self) -> &Path {
        &self.expected
    }

    /// The actual folder, as given.
    pub fn actual_dir(&self) -> &Path {
        &self.actual
    }

    /// The folder diff images were written to, if one was set.
    pub fn output_dir(&self) -> Option<&Path> {
        self.output.as_deref()
    }

    /// The report as one JSON object (schema `steadfast-visual/diff-dir/v1`,
    /// described in the crate README).
    pub fn to_json(&self) -> String {
        json::report(self)
    }
}

/// Compare every image under `expected` with the image at the same
/// relative path under `actual`.
///
/// A file in one folder only is `missing` (expected only) or `new`
/// (actual only). A pair that cannot be compared is an entry with
/// [`DirStatus::Error`], so that one bad file does not hide the rest.
///
/// # Errors
///
/// [`ErrorKind::InvalidOption`](crate::ErrorKind::InvalidOption) when the
/// comparison options are out of range, and
/// [`ErrorKind::Io`](crate::ErrorKind::Io) naming the folder when either
/// folder cannot be listed.
///
/// # Example
///
/// ```
/// # let root = std::env::temp_dir().join(format!("steadfast-visual-dir-{}", std::process::id()));
/// # let (expected, actual) = (root.join("expected"), root.join("actual"));
/// # std::fs::create_dir_all(expected.join("pages"))?;
/// # std::fs::create_dir_all(actual.join("pages"))?;
/// use steadfast_visual::{DirOptions, DirStatus, Options, diff_dir};
///
/// std::fs::copy("tests/fixtures/pixelmatch/1a.png", expected.join("pages/home.png"))?;
/// std::fs::copy("tests/fixtures/pixelmatch/1b.png", actual.join("pages/home.png"))?;
/// let options = DirOptions::new()
///     .compare(Options::new().max_diff_pixels(200))
///     .output(root.join("diff"));
/// let report = diff_dir(&expected, &actual, &options)?;
/// let home = report.get("pages/home.png").unwrap();
/// assert_eq!(home.status(), DirStatus::WithinTolerance);
/// assert_eq!(home.diff_image(), Some(root.join("diff/pages/home.png").as_path()));
/// assert!(report.is_passed());
/// # std::fs::remove_dir_all(&root)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn diff_dir(
    expected: impl AsRef<Path>,
    actual: impl AsRef<Path>,
    options: &DirOptions,
) -> Result<DirReport, Error> {
    let (expected, actual) = (expected.as_ref(), actual.as_ref());
    options.compare.validate()?;
    let skip = options.output.as_deref();
    let in_expected = walk::images(expected, skip)?;
    let mut in_actual = walk::images(actual, skip)?;
    let mut pairs = Vec::new();
    let mut alone = Vec::new();
    for (path, bytes) in in_expected {
        match in_actual.remove(&path) {
            Some(other) => pairs.push(Pair {
                path,
                bytes: bytes + other,
            }),
            None => alone.push(DirEntry::alone(path, DirStatus::Missing)),
        }
    }
    alone.extend(
        in_actual
            .into_keys()
            .map(|path| DirEntry::alone(path, DirStatus::New)),
    );
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let mut entries = compare_all(expected, actual, options, &pairs, threads);
    entries.extend(alone);
    entries.sort_by(|x, y| x.path.cmp(&y.path));
    Ok(DirReport {
        expected: expected.to_path_buf(),
        actual: actual.to_path_buf(),
        output: options.output.clone(),
        entries,
    })
}
