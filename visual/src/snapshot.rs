//! Image snapshots: baselines in `tests/snapshots/`, artifacts on failure.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use image::RgbaImage;

use crate::config::{self, EnvConfig, Settings, UpdateMode};
use crate::diff::{Comparison, compare};
use crate::error::{Error, ErrorKind};
use crate::load::{open, save_baseline, save_png};
use crate::options::{Background, Options, Rect};
use crate::review::{self, pending, runs};

type Lookup = Box<dyn Fn(&str) -> Option<OsString> + Send + Sync>;

/// Assert that an image matches the baseline `tests/snapshots/<name>.png`
/// of the crate that calls the macro.
///
/// Same as `Snapshot::new(name).manifest_dir(env!("CARGO_MANIFEST_DIR"))
/// .assert(image)`; see [`Snapshot`] for settings, updates and artifacts.
///
/// # Panics
///
/// When the image does not match within tolerance, when the baseline is
/// missing and may not be written (`CI`), or on any [`Error`]; see
/// [`Snapshot::assert`].
///
/// # Example
///
/// This crate's own `tests/snapshots/pixelmatch-1a.png` is the baseline of
/// pixelmatch's fixture `1a.png`:
///
/// ```
/// let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pixelmatch/1a.png");
/// let screenshot = steadfast_visual::open(fixture)?;
/// steadfast_visual::assert_snapshot!("pixelmatch-1a", &screenshot);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[macro_export]
macro_rules! assert_snapshot {
    ($name:expr, $image:expr $(,)?) => {
        $crate::Snapshot::new($name)
            .manifest_dir(::core::env!("CARGO_MANIFEST_DIR"))
            .assert($image)
    };
}

/// A named image snapshot with its settings.
///
/// Settings are layered, later winning: pixelmatch's defaults, the
/// builder calls, the JSON file `tests/snapshots/<name>.json` beside the
/// baseline, then the environment:
///
/// | variable | effect |
/// |---|---|
/// | `STEADFAST_UPDATE` | `none`, `missing` (default locally), `changed` or `all`; `none` is the default when `CI` is set |
/// | `STEADFAST_VISUAL_THRESHOLD` | threshold for every snapshot (`0..=1`) |
/// | `STEADFAST_VISUAL_MAX_DIFF_RATIO` | tolerance ratio for every snapshot (`0..=1`) |
/// | `STEADFAST_VISUAL_MAX_DIFF_PIXELS` | tolerance in pixels for every snapshot |
///
/// The JSON file may set `threshold`, `max_diff_ratio`, `max_diff_pixels`,
/// `include_aa`, `background` (`"checkerboard"`/`"white"`) and `ignore`
/// (`[[x, y, w, h], …]`).
///
/// On a mismatch `expected.png`, `actual.png` and `diff.png` are written to
/// `<target>/steadfast/visual/<name>/`, where `<target>` is
/// `CARGO_TARGET_DIR` or the `target` folder of the enclosing workspace,
/// with `pending.json`, the figures `steadfast-visual review` shows (see
/// [`Pending`](crate::Pending)). Every check also appends the baseline it
/// used to `<target>/steadfast/visual/used.jsonl`, for `steadfast-visual
/// prune` (see [`LastRun`](crate::LastRun)). Baselines are written
/// atomically: a temporary file in the same folder, flushed to disk, then
/// renamed over the old one, so concurrent checks and readers only ever see
/// a whole baseline.
///
/// # Example
///
/// ```
/// use image::{Rgba, RgbaImage};
/// use steadfast_visual::{Snapshot, Status};
///
/// let dir = std::env::temp_dir().join(format!("steadfast-doc-{}", std::process::id()));
/// let img = RgbaImage::from_pixel(4, 4, Rgba([9, 9, 9, 255]));
/// let snap = Snapshot::new("doc/square")
///     .snapshot_dir(&dir)
///     .with_env(|_| None)
///     .max_diff_ratio(0.01);
/// assert_eq!(snap.check(&img)?.status(), Status::Created);
/// assert_eq!(snap.check(&img)?.status(), Status::Matched);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub struct Snapshot {
    name: String,
    code: Settings,
    manifest_dir: Option<PathBuf>,
    snapshot_dir: Option<PathBuf>,
    artifact_dir: Option<PathBuf>,
    env: Lookup,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("name", &self.name)
            .field("settings", &self.code)
            .field("manifest_dir", &self.manifest_dir)
            .field("snapshot_dir", &self.snapshot_dir)
            .field("artifact_dir", &self.artifact_dir)
            .finish_non_exhaustive()
    }
}

/// What a snapshot check found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// The image matches the baseline within tolerance.
    Matched,
    /// There was no baseline; it has been written.
    Created,
    /// The baseline has been rewritten (`STEADFAST_UPDATE=changed|all`).
    Updated,
    /// There is no baseline and the update mode forbids writing one.
    Missing,
    /// The image differs from the baseline beyond tolerance.
    Changed,
}

/// The result of [`Snapshot::check`].
#[derive(Debug, Clone)]
pub struct Outcome {
    name: String,
    status: Status,
    baseline: PathBuf,
    comparison: Option<Comparison>,
    options: Options,
    artifacts: Result<Option<PathBuf>, String>,
    /// Whether the artifacts are where `steadfast-visual accept` finds them
    /// (no [`Snapshot::artifact_dir`] given).
    reviewable: bool,
}

impl Outcome {
    /// What happened.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Whether the assertion fails ([`Status::Missing`] or
    /// [`Status::Changed`]).
    pub fn is_failure(&self) -> bool {
        matches!(self.status, Status::Missing | Status::Changed)
    }

    /// Path of the baseline PNG.
    pub fn baseline(&self) -> &Path {
        &self.baseline
    }

    /// The comparison against the baseline, if one existed.
    pub fn comparison(&self) -> Option<&Comparison> {
        self.comparison.as_ref()
    }

    /// The folder holding `expected.png`, `actual.png` and `diff.png`
    /// (only `actual.png` for a missing baseline), when written.
    pub fn artifacts(&self) -> Option<&Path> {
        self.artifacts.as_ref().ok().and_then(|p| p.as_deref())
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        let accept = if self.reviewable && matches!(self.artifacts, Ok(Some(_))) {
            format!(", or `steadfast-visual accept {name}`")
        } else {
            String::new()
        };
        let artifact = |file: &str| match &self.artifacts {
            Ok(Some(dir)) => dir.join(file).display().to_string(),
            Ok(None) => "(not written)".to_owned(),
            Err(e) => format!("(not written: {e})"),
        };
        match self.status {
            Status::Matched => write!(f, "snapshot `{name}` matches its baseline"),
            Status::Created => write!(
                f,
                "snapshot `{name}`: wrote new baseline {}",
                self.baseline.display()
            ),
            Status::Updated => write!(
                f,
                "snapshot `{name}`: updated baseline {}",
                self.baseline.display()
            ),
            Status::Missing => write!(
                f,
                "snapshot `{name}` has no baseline at {}\n  actual:   {}\n  to create it, run with \
                 STEADFAST_UPDATE=missing (the default when CI is not set){accept}",
                self.baseline.display(),
                artifact("actual.png"),
            ),
            Status::Changed => {
                let c = self.comparison.as_ref();
                let (w, h) = c.map_or((0, 0), Comparison::dimensions);
                let opt = |v: Option<String>| v.unwrap_or_else(|| "unset".into());
                write!(
                    f,
                    "snapshot `{name}` does not match its baseline\n  differing pixels: {} of {} \
                     ({:.4}%) on a {w}x{h} canvas\n  tolerance: max_diff_pixels {}, max_diff_ratio \
                     {}, threshold {}\n  baseline: {}\n  expected: {}\n  actual:   {}\n  diff:     {}\n  \
                     to accept the new image, run with STEADFAST_UPDATE=changed{accept}",
                    c.map_or(0, Comparison::diff_pixels),
                    c.map_or(0, Comparison::total_pixels),
                    c.map_or(0.0, Comparison::ratio) * 100.0,
                    opt(self.options.max_diff_pixels.map(|p| p.to_string())),
                    opt(self.options.max_diff_ratio.map(|r| r.to_string())),
                    self.options.threshold,
                    self.baseline.display(),
                    artifact("expected.png"),
                    artifact("actual.png"),
                    artifact("diff.png"),
                )
            }
        }
    }
}

impl Snapshot {
    /// A snapshot called `name`: a relative path of `[A-Za-z0-9._-]`
    /// segments separated by `/` (checked when the snapshot is used).
    ///
    /// # Example
    ///
    /// ```
    /// let snap = steadfast_visual::Snapshot::new("pages/home");
    /// # let _ = snap;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            code: Settings::default(),
            manifest_dir: None,
            snapshot_dir: None,
            artifact_dir: None,
            env: Box::new(|k| std::env::var_os(k)),
        }
    }

    /// Matching threshold in `0..=1` (default `0.1`).
    ///
    /// # Example
    ///
    /// ```
    /// let snap = steadfast_visual::Snapshot::new("home").threshold(0.2);
    /// # let _ = snap;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn threshold(mut self, threshold: f64) -> Self {
        self.code.threshold = Some(threshold);
        self
    }

    /// Pass when at most this fraction of pixels differs.
    ///
    /// # Example
    ///
    /// ```
    /// let snap = steadfast_visual::Snapshot::new("home").max_diff_ratio(0.001);
    /// # let _ = snap;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_diff_ratio(mut self, ratio: f64) -> Self {
        self.code.max_diff_ratio = Some(ratio);
        self
    }

    /// Pass when at most this many pixels differ.
    ///
    /// # Example
    ///
    /// ```
    /// let snap = steadfast_visual::Snapshot::new("home").max_diff_pixels(25);
    /// # let _ = snap;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_diff_pixels(mut self, pixels: u64) -> Self {
        self.code.max_diff_pixels = Some(pixels);
        self
    }

    /// Count anti-aliased pixels as differences too.
    ///
    /// # Example
    ///
    /// ```
    /// let snap = steadfast_visual::Snapshot::new("home").include_aa(true);
    /// # let _ = snap;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn include_aa(mut self, include: bool) -> Self {
        self.code.include_aa = Some(include);
        self
    }

    /// Background translucent pixels are blended over.
    ///
    /// # Example
    ///
    /// ```
    /// let snap = steadfast_visual::Snapshot::new("home").background(steadfast_visual::Background::White);
    /// # let _ = snap;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn background(mut self, background: Background) -> Self {
        self.code.background = Some(background);
        self
    }

    /// Ignore differences inside `region`; can be called repeatedly.
    ///
    /// # Example
    ///
    /// ```
    /// let snap = steadfast_visual::Snapshot::new("home").ignore(steadfast_visual::Rect::new(0, 0, 200, 40));
    /// # let _ = snap;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ignore(mut self, region: Rect) -> Self {
        self.code.ignore.push(region);
        self
    }

    /// The crate whose `tests/snapshots/` holds the baselines.
    /// [`assert_snapshot!`] passes the caller's `CARGO_MANIFEST_DIR`; by
    /// default the `CARGO_MANIFEST_DIR` cargo sets when running tests is
    /// used, then the current directory.
    ///
    /// # Example
    ///
    /// ```
    /// let snap = steadfast_visual::Snapshot::new("home").manifest_dir(env!("CARGO_MANIFEST_DIR"));
    /// # let _ = snap;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn manifest_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.manifest_dir = Some(dir.into());
        self
    }

    /// Keep baselines in `dir` instead of `<manifest dir>/tests/snapshots`.
    ///
    /// # Example
    ///
    /// ```
    /// let snap = steadfast_visual::Snapshot::new("home").snapshot_dir("tests/screens");
    /// # let _ = snap;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn snapshot_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.snapshot_dir = Some(dir.into());
        self
    }

    /// Write failure artifacts to `dir` instead of
    /// `<target>/steadfast/visual/<name>`.
    ///
    /// # Example
    ///
    /// ```
    /// let snap = steadfast_visual::Snapshot::new("home").artifact_dir("/tmp/visual-failures");
    /// # let _ = snap;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn artifact_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.artifact_dir = Some(dir.into());
        self
    }

    /// Read environment variables through `lookup`, which answers as
    /// [`std::env::var_os`] does, instead of the process environment (for
    /// tests that must not race on global state).
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_visual::{ErrorKind, Snapshot};
    ///
    /// let snap = Snapshot::new("x").with_env(|k| (k == "STEADFAST_UPDATE").then(|| "maybe".into()));
    /// let err = snap.check(&image::RgbaImage::new(1, 1)).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidEnv);
    /// assert!(err.to_string().starts_with(
    ///     "environment variable STEADFAST_UPDATE has invalid value \"maybe\": expected"
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_env(
        mut self,
        lookup: impl Fn(&str) -> Option<OsString> + Send + Sync + 'static,
    ) -> Self {
        self.env = Box::new(lookup);
        self
    }

    /// Compare `image` with the baseline, writing baselines and artifacts
    /// as the update mode says, without panicking on a mismatch.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidName`] for a name that is empty or would escape
    /// the snapshot folder, [`ErrorKind::InvalidEnv`] /
    /// [`ErrorKind::InvalidConfig`] for malformed settings,
    /// [`ErrorKind::InvalidOption`] for out-of-range values, and image or
    /// I/O errors for unreadable baselines or unwritable files.
    pub fn check(&self, image: &RgbaImage) -> Result<Outcome, Error> {
        validate_name(&self.name)?;
        let env = EnvConfig::read(&*self.env)?;
        let manifest = self.manifest();
        let dir = self
            .snapshot_dir
            .clone()
            .unwrap_or_else(|| manifest.join("tests").join("snapshots"));
        let baseline = dir.join(format!("{}.png", self.name));
        let file = config::read_file(&dir.join(format!("{}.json", self.name)))?;
        let options = self
            .code
            .clone()
            .overlay(file)
            .overlay(env.settings)
            .to_options()?;
        let visual = review::visual_root(&manifest, &*self.env);
        let artifacts = self
            .artifact_dir
            .clone()
            .unwrap_or_else(|| visual.join(&self.name));
        let run = runs::current_run()?;
        record_use(&visual, &run, &dir, &self.name);
        let outcome = |status, comparison, artifacts| Outcome {
            name: self.name.clone(),
            status,
            baseline: baseline.clone(),
            comparison,
            options: options.clone(),
            artifacts,
            reviewable: self.artifact_dir.is_none(),
        };
        let record = |status, comparison, dimensions| pending::Record {
            name: &self.name,
            status,
            run: &run,
            baseline: &baseline,
            comparison,
            dimensions,
            options: &options,
        };

        if !baseline.exists() {
            if env.update == UpdateMode::None {
                let pending = record(Status::Missing, None, image.dimensions());
                let written = write_artifacts(&artifacts, None, image, None, &pending);
                return Ok(outcome(Status::Missing, None, written));
            }
            save_baseline(&baseline, image)?;
            pending::remove_artifacts(&artifacts);
            return Ok(outcome(Status::Created, None, Ok(None)));
        }
        let expected = open(&baseline)?;
        let quick = compare(&expected, image, &options.clone().diff_image(false))?;
        let same_size = expected.dimensions() == image.dimensions();
        let passed = quick.is_passed() && same_size;
        let update = match env.update {
            UpdateMode::All => expected != *image,
            UpdateMode::Changed => !passed,
            UpdateMode::None | UpdateMode::Missing => false,
        };
        if passed || update {
            // Stale artifacts from an earlier failure would mislead, and would
            // wait for a review that has nothing left to decide.
            pending::remove_artifacts(&artifacts);
            if update {
                save_baseline(&baseline, image)?;
                return Ok(outcome(Status::Updated, Some(quick), Ok(None)));
            }
            return Ok(outcome(Status::Matched, Some(quick), Ok(None)));
        }
        let full = compare(&expected, image, &options)?;
        let pending = record(Status::Changed, Some(&full), full.dimensions());
        let written = write_artifacts(
            &artifacts,
            Some(&expected),
            image,
            full.diff_image(),
            &pending,
        );
        Ok(outcome(Status::Changed, Some(full), written))
    }

    /// Like [`check`](Self::check), but panics on failure.
    ///
    /// # Panics
    ///
    /// When the image does not match within tolerance or the baseline is
    /// missing and may not be written; the message, prefixed `steadfast:`,
    /// gives the counts, the tolerance, the paths of the baseline and
    /// artifacts and how to accept the new image. Also on any error from
    /// [`check`](Self::check).
    ///
    /// # Example
    ///
    /// ```should_panic
    /// use image::{Rgba, RgbaImage};
    /// use steadfast_visual::Snapshot;
    ///
    /// let dir = std::env::temp_dir().join(format!("steadfast-assert-doc-{}", std::process::id()));
    /// # struct RemoveOnDrop(std::path::PathBuf);
    /// # impl Drop for RemoveOnDrop {
    /// #     fn drop(&mut self) {
    /// #         let _ = std::fs::remove_dir_all(&self.0);
    /// #     }
    /// # }
    /// # let _cleanup = RemoveOnDrop(dir.clone());
    /// let snap = || Snapshot::new("doc/assert").snapshot_dir(&dir).artifact_dir(&dir).with_env(|_| None);
    /// let white = RgbaImage::from_pixel(4, 4, Rgba([255, 255, 255, 255]));
    /// snap().assert(&white); // no baseline yet: writes it
    /// snap().assert(&white); // matches
    /// let mut dot = white.clone();
    /// dot.put_pixel(1, 1, Rgba([0, 0, 0, 255]));
    /// // Panics: "steadfast: snapshot `doc/assert` does not match its baseline", the
    /// // counts, the tolerance and the paths of expected.png, actual.png and diff.png.
    /// snap().assert(&dot);
    /// ```
    #[track_caller]
    pub fn assert(&self, image: &RgbaImage) {
        match self.check(image) {
            Ok(outcome) if outcome.is_failure() => panic!("steadfast: {outcome}"),
            Ok(outcome) => {
                if matches!(outcome.status, Status::Created | Status::Updated) {
                    eprintln!("steadfast: {outcome}");
                }
            }
            Err(e) => panic!("steadfast: snapshot `{}`: {e}", self.name),
        }
    }

    fn manifest(&self) -> PathBuf {
        self.manifest_dir
            .clone()
            .or_else(|| (self.env)("CARGO_MANIFEST_DIR").map(PathBuf::from))
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default()
    }
}

/// Note that this run checked snapshot `name` of `snapshot_dir`, for
/// `steadfast-visual prune`. Best effort: a record that cannot be written
/// never fails the check, it warns.
fn record_use(visual: &Path, run: &str, snapshot_dir: &Path, name: &str) {
    let recorded = std::path::absolute(snapshot_dir)
        .map_err(|e| Error::io("find snapshot folder", snapshot_dir, e))
        .and_then(|dir| runs::record(visual, run, &dir, name));
    if let Err(e) = recorded {
        eprintln!(
            "steadfast: warning: snapshot `{name}`: cannot record that this run used its \
             baseline ({e}); `steadfast-visual prune` would list it"
        );
    }
}

/// Write the failure artifacts and the review record; errors are reported
/// in the panic message instead of hiding the mismatch.
fn write_artifacts(
    dir: &Path,
    expected: Option<&RgbaImage>,
    actual: &RgbaImage,
    diff: Option<&RgbaImage>,
    record: &pending::Record<'_>,
) -> Result<Option<PathBuf>, String> {
    let write = || -> Result<(), Error> {
        pending::remove_artifacts(dir);
        if let Some(e) = expected {
            save_png(dir.join("expected.png"), e)?;
        }
        save_png(dir.join("actual.png"), actual)?;
        if let Some(d) = diff {
            save_png(dir.join("diff.png"), d)?;
        }
        pending::write(dir, record)
    };
    write()
        .map(|()| Some(dir.to_path_buf()))
        .map_err(|e| e.to_string())
}

/// Reject names that are empty, absolute, or contain `.`/`..` segments or
/// characters outside `[A-Za-z0-9._-]`.
pub(crate) fn validate_name(name: &str) -> Result<(), Error> {
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    };
    if name.len() <= 200 && name.split('/').all(segment_ok) {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidName,
            format!(
                "invalid snapshot name `{name}`: use `/`-separated segments of [A-Za-z0-9._-], \
                 without `.` or `..`"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_escape_are_rejected() {
        for bad in [
            "", "../x", "a/../b", "/abs", "a//b", "a\\b", "./a", "a/", "sp ace", "c:x",
        ] {
            let err = validate_name(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidName, "{bad}");
        }
        for good in ["home", "pages/home-1", "a.b_c/D"] {
            validate_name(good).unwrap();
        }
    }
}
