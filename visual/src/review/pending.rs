//! Snapshots waiting for review: `pending.json` beside a failed check's artifacts.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::diff::Comparison;
use crate::error::{Error, ErrorKind};
use crate::load::{Durability, open, save_baseline, write_atomic};
use crate::options::Options;
use crate::snapshot::{Status, validate_name};

/// The record's file name inside a snapshot's artifact folder.
pub(crate) const PENDING_FILE: &str = "pending.json";
/// The record's schema name; a change that is not only an added key gets a new one.
const SCHEMA: &str = "steadfast-visual/pending/v1";
/// Every file a failed check writes, the record first: removed in this order, a folder is
/// never listed as pending with its images half gone.
pub(crate) const ARTIFACTS: [&str; 4] = [PENDING_FILE, "expected.png", "actual.png", "diff.png"];

/// What a failed check knows, for [`write`].
#[derive(Debug)]
pub(crate) struct Record<'a> {
    pub name: &'a str,
    /// [`Status::Changed`] or [`Status::Missing`].
    pub status: Status,
    pub run: &'a str,
    pub baseline: &'a Path,
    /// For [`Status::Changed`]: the full comparison.
    pub comparison: Option<&'a Comparison>,
    /// The canvas compared, or the new image's size when there is no baseline.
    pub dimensions: (u32, u32),
    pub options: &'a Options,
}

/// Write `dir/pending.json` for `record` (after its images, so a reader that finds the record
/// finds them too).
pub(crate) fn write(dir: &Path, record: &Record<'_>) -> Result<(), Error> {
    let absolute = std::path::absolute(record.baseline)
        .map_err(|e| Error::io("find baseline", record.baseline, e))?;
    let baseline = absolute.to_str().ok_or_else(|| {
        Error::new(ErrorKind::InvalidName, "the baseline's path is not UTF-8").with_path(&absolute)
    })?;
    let c = record.comparison;
    let value = json!({
        "schema": SCHEMA,
        "name": record.name,
        "status": if record.status == Status::Missing { "missing" } else { "changed" },
        "run": record.run,
        "baseline": baseline,
        "diff_pixels": c.map(Comparison::diff_pixels),
        "total_pixels": c.map(Comparison::total_pixels),
        "ratio": c.map(Comparison::ratio),
        "width": record.dimensions.0,
        "height": record.dimensions.1,
        "threshold": record.options.threshold,
        "max_diff_pixels": record.options.max_diff_pixels,
        "max_diff_ratio": record.options.max_diff_ratio,
    });
    // OK because the value holds only strings and numbers: serialising it cannot fail.
    let mut bytes = serde_json::to_vec_pretty(&value).expect("a record serialises");
    bytes.push(b'\n');
    write_atomic(&dir.join(PENDING_FILE), &bytes, Durability::Atomic)
}

/// Remove a snapshot's artifact files (only those: the folder may hold
/// others), then the folder if that left it empty.
pub(crate) fn remove_artifacts(dir: &Path) {
    for file in ARTIFACTS {
        // Best effort: a missing file is the common case.
        let _ = std::fs::remove_file(dir.join(file));
    }
    // Fails, as it should, while the folder holds anything else.
    let _ = std::fs::remove_dir(dir);
}

/// A snapshot whose last check failed and that waits for review: its baseline, the artifacts
/// of the failure and the figures of the mismatch, read from the `pending.json` the check
/// wrote beside `expected.png`, `actual.png` and `diff.png`.
///
/// Get them from [`VisualDir::pending`](crate::VisualDir::pending); [`accept`](Self::accept)
/// makes the new image the baseline and [`reject`](Self::reject) drops it.
///
/// # Example
///
/// ```
/// use image::{Rgba, RgbaImage};
/// use steadfast_visual::{Snapshot, Status, VisualDir};
///
/// let root = std::env::temp_dir().join(format!("steadfast-doc-pending-{}", std::process::id()));
/// let target = root.join("target");
/// let lookup = move |k: &str| (k == "CARGO_TARGET_DIR").then(|| target.clone().into_os_string());
/// let snap = || Snapshot::new("home").snapshot_dir(root.join("snapshots")).with_env(lookup.clone());
/// snap().assert(&RgbaImage::from_pixel(8, 8, Rgba([255, 255, 255, 255])));
/// let dark = RgbaImage::from_pixel(8, 8, Rgba([0, 0, 0, 255]));
/// assert_eq!(snap().check(&dark)?.status(), Status::Changed);
///
/// let pending = VisualDir::from_env_with(lookup.clone())?.pending()?;
/// assert_eq!(pending.len(), 1);
/// assert_eq!((pending[0].name(), pending[0].diff_pixels()), ("home", Some(64)));
/// pending[0].accept()?;
/// assert_eq!(snap().check(&dark)?.status(), Status::Matched);
/// assert!(VisualDir::from_env_with(lookup)?.pending()?.is_empty());
/// # std::fs::remove_dir_all(&root)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    name: String,
    status: Status,
    baseline: PathBuf,
    artifacts: PathBuf,
    diff_pixels: Option<u64>,
    total_pixels: Option<u64>,
    ratio: Option<f64>,
    dimensions: (u32, u32),
    threshold: f64,
    max_diff_pixels: Option<u64>,
    max_diff_ratio: Option<f64>,
}

impl Pending {
    /// Read `artifacts/pending.json`.
    pub(crate) fn read(artifacts: &Path) -> Result<Self, Error> {
        let file = artifacts.join(PENDING_FILE);
        let text = std::fs::read(&file).map_err(|e| Error::io("read review record", &file, e))?;
        let bad = |what: &str| {
            Error::new(ErrorKind::InvalidRecord, format!("review record {what}")).with_path(&file)
        };
        let value: Value =
            serde_json::from_slice(&text).map_err(|e| bad("is not json").with_source(e))?;
        if value.get("schema").and_then(Value::as_str) != Some(SCHEMA) {
            return Err(bad(&format!("is not of schema {SCHEMA}")));
        }
        let text_field = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| bad(&format!("has no `{key}` string")))
        };
        let number = |key: &str| match value.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| bad(&format!("has a `{key}` that is not a number"))),
        };
        let count = |key: &str| match value.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| bad(&format!("has a `{key}` that is not a count"))),
        };
        let side = |key: &str| {
            count(key)?
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad(&format!("has no `{key}` in pixels")))
        };
        let name = text_field("name")?.to_owned();
        validate_name(&name).map_err(|_| bad(&format!("names an invalid snapshot `{name}`")))?;
        let status = match text_field("status")? {
            "changed" => Status::Changed,
            "missing" => Status::Missing,
            other => return Err(bad(&format!("has an unknown status `{other}`"))),
        };
        Ok(Self {
            name,
            status,
            baseline: PathBuf::from(text_field("baseline")?),
            artifacts: artifacts.to_path_buf(),
            diff_pixels: count("diff_pixels")?,
            total_pixels: count("total_pixels")?,
            ratio: number("ratio")?,
            dimensions: (side("width")?, side("height")?),
            threshold: number("threshold")?.ok_or_else(|| bad("has no `threshold`"))?,
            max_diff_pixels: count("max_diff_pixels")?,
            max_diff_ratio: number("max_diff_ratio")?,
        })
    }

    /// The snapshot's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// [`Status::Changed`] (the image differs from its baseline) or [`Status::Missing`] (there
    /// was no baseline and the update mode forbade writing one).
    pub fn status(&self) -> Status {
        self.status
    }

    /// The baseline PNG (an absolute path), which [`accept`](Self::accept) writes.
    pub fn baseline(&self) -> &Path {
        &self.baseline
    }

    /// The folder of the artifacts.
    pub fn artifacts(&self) -> &Path {
        &self.artifacts
    }

    /// `expected.png`, the baseline as it was compared, for [`Status::Changed`].
    pub fn expected(&self) -> Option<PathBuf> {
        (self.status == Status::Changed).then(|| self.artifacts.join("expected.png"))
    }

    /// `actual.png`, the image the test produced.
    pub fn actual(&self) -> PathBuf {
        self.artifacts.join("actual.png")
    }

    /// `diff.png`, the differing pixels marked, for [`Status::Changed`].
    pub fn diff(&self) -> Option<PathBuf> {
        (self.status == Status::Changed).then(|| self.artifacts.join("diff.png"))
    }

    /// How many pixels differ, for [`Status::Changed`].
    pub fn diff_pixels(&self) -> Option<u64> {
        self.diff_pixels
    }

    /// How many pixels the canvas has, for [`Status::Changed`].
    pub fn total_pixels(&self) -> Option<u64> {
        self.total_pixels
    }

    /// The share of differing pixels, for [`Status::Changed`].
    pub fn ratio(&self) -> Option<f64> {
        self.ratio
    }

    /// Width and height of the canvas compared, or of the new image when there was no
    /// baseline.
    pub fn dimensions(&self) -> (u32, u32) {
        self.dimensions
    }

    /// The matching threshold the check used.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The tolerance in pixels the check used, if any.
    pub fn max_diff_pixels(&self) -> Option<u64> {
        self.max_diff_pixels
    }

    /// The tolerance ratio the check used, if any.
    pub fn max_diff_ratio(&self) -> Option<f64> {
        self.max_diff_ratio
    }

    /// Make `actual.png` the baseline, then remove the artifacts.
    ///
    /// The image is decoded and written with the baselines' compression (the artifacts use a
    /// faster, larger one): the same pixels. The baseline is replaced atomically (a temporary
    /// file in its folder, flushed to disk, renamed over it), so a reader never sees it half
    /// written.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] or [`ErrorKind::Image`] when `actual.png` cannot be read or decoded
    /// or the baseline cannot be written; the artifacts are then kept.
    pub fn accept(&self) -> Result<(), Error> {
        let image = open(self.actual())?;
        save_baseline(&self.baseline, &image)?;
        self.drop_artifacts()
    }

    /// Drop the new image: remove the artifacts, keep the baseline as it is.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the record cannot be removed.
    pub fn reject(&self) -> Result<(), Error> {
        self.drop_artifacts()
    }

    fn drop_artifacts(&self) -> Result<(), Error> {
        let record = self.artifacts.join(PENDING_FILE);
        match std::fs::remove_file(&record) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove review record", &record, e)),
        }
        remove_artifacts(&self.artifacts);
        Ok(())
    }
}

impl fmt::Display for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, (w, h)) = (&self.name, self.dimensions);
        let path = |p: Option<PathBuf>| p.map_or_else(String::new, |p| p.display().to_string());
        if self.status == Status::Missing {
            return write!(
                f,
                "snapshot `{name}` has no baseline: a new {w}x{h} image\n  baseline: {} (to be \
                 created)\n  actual:   {}",
                self.baseline.display(),
                self.actual().display(),
            );
        }
        let opt = |v: Option<String>| v.unwrap_or_else(|| "unset".into());
        write!(
            f,
            "snapshot `{name}` does not match its baseline\n  differing pixels: {} of {} \
             ({:.4}%) on a {w}x{h} canvas\n  tolerance: max_diff_pixels {}, max_diff_ratio {}, \
             threshold {}\n  baseline: {}\n  expected: {}\n  actual:   {}\n  diff:     {}",
            self.diff_pixels.unwrap_or(0),
            self.total_pixels.unwrap_or(0),
            self.ratio.unwrap_or(0.0) * 100.0,
            opt(self.max_diff_pixels.map(|p| p.to_string())),
            opt(self.max_diff_ratio.map(|r| r.to_string())),
            self.threshold,
            self.baseline.display(),
            path(self.expected()),
            self.actual().display(),
            path(self.diff()),
        )
    }
}
