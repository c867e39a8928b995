//! Reviewing failed snapshots and pruning baselines no test uses, from the folder that snapshot
//! checks write to, `<target>/steadfast/visual/`:
//!
//! - `NAME/expected.png`, `actual.png`, `diff.png` and `pending.json` for each snapshot whose
//!   last check failed ([`Pending`]);
//! - `used.jsonl`, the baselines the last run compared with ([`LastRun`]).

mod baselines;
mod closest;
pub(crate) mod pending;
pub(crate) mod runs;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use baselines::UnusedBaseline;
pub use pending::Pending;
pub use runs::LastRun;

use crate::error::{Error, ErrorKind};
use crate::snapshot::validate_name;

/// The folder of snapshot artifacts and run records: `<target>/steadfast/visual/`, what
/// `steadfast-visual review`, `accept` and `prune` work on.
///
/// # Example
///
/// ```
/// use steadfast_visual::VisualDir;
///
/// // Before any snapshot was checked: nothing to review, no run recorded.
/// let dir = VisualDir::new(std::env::temp_dir().join("steadfast-doc-never-written"));
/// assert!(dir.pending()?.is_empty());
/// assert_eq!(dir.last_run()?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisualDir {
    path: PathBuf,
}

impl VisualDir {
    /// The folder at `path` itself (normally `<target>/steadfast/visual`).
    ///
    /// # Example
    ///
    /// ```
    /// let dir = steadfast_visual::VisualDir::new("target/steadfast/visual");
    /// assert_eq!(dir.path(), std::path::Path::new("target/steadfast/visual"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// `steadfast/visual` in the cargo target folder, the one snapshot checks write to:
    /// `CARGO_TARGET_DIR` (relative to the current directory) when set, else `target` beside
    /// the nearest `[workspace]` manifest above the current directory, else in the current
    /// directory.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the current directory cannot be read.
    ///
    /// # Example
    ///
    /// ```
    /// let dir = steadfast_visual::VisualDir::from_env()?;
    /// assert!(dir.path().ends_with("steadfast/visual"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        Self::from_env_with(|name| std::env::var_os(name))
    }

    /// [`from_env`](Self::from_env), reading `CARGO_TARGET_DIR` through `lookup`, which
    /// answers as [`std::env::var_os`] does.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the current directory cannot be read.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_visual::VisualDir;
    ///
    /// let dir = VisualDir::from_env_with(|k| (k == "CARGO_TARGET_DIR").then(|| "/ci/target".into()))?;
    /// assert_eq!(dir, VisualDir::new("/ci/target/steadfast/visual"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, Error> {
        let here = std::env::current_dir()
            .map_err(|e| Error::io("read the current directory", Path::new("."), e))?;
        Ok(Self::new(visual_root(&here, &lookup)))
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every snapshot waiting for review (a folder with a `pending.json`), sorted by name;
    /// none when the folder does not exist. [`Pending`]'s example shows one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when a folder cannot be read, [`ErrorKind::InvalidRecord`] for a
    /// malformed `pending.json`.
    pub fn pending(&self) -> Result<Vec<Pending>, Error> {
        let mut found = Vec::new();
        let mut folders = vec![self.path.clone()];
        while let Some(folder) = folders.pop() {
            let entries = match std::fs::read_dir(&folder) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && folder == self.path => {
                    return Ok(found);
                }
                Err(e) => return Err(Error::io("read folder", &folder, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| Error::io("read folder", &folder, e))?;
                let kind = entry
                    .file_type()
                    .map_err(|e| Error::io("read file type", &entry.path(), e))?;
                if kind.is_dir() {
                    folders.push(entry.path());
                } else if entry.file_name() == pending::PENDING_FILE && folder != self.path {
                    found.push(Pending::read(&folder)?);
                }
            }
        }
        found.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(found)
    }

    /// The snapshot `name` waiting for review.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidName`] for a name no snapshot can have; [`ErrorKind::NotPending`]
    /// for a baseline the last run used that has no new image waiting (it matched, or was
    /// accepted or rejected already); [`ErrorKind::UnknownSnapshot`] for a name that is
    /// neither, listing the closest names that are; errors of [`pending`](Self::pending) and
    /// [`last_run`](Self::last_run).
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_visual::{ErrorKind, VisualDir};
    ///
    /// let empty = std::env::temp_dir().join(format!("steadfast-doc-named-{}", std::process::id()));
    /// let err = VisualDir::new(&empty).pending_named("home").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::UnknownSnapshot);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pending_named(&self, name: &str) -> Result<Pending, Error> {
        validate_name(name)?;
        let pending = self.pending()?;
        if let Some(found) = pending.iter().find(|p| p.name() == name) {
            return Ok(found.clone());
        }
        let mut known: Vec<String> = pending.iter().map(|p| p.name().to_owned()).collect();
        if let Some(run) = self.last_run()? {
            for dir in run.snapshot_dirs() {
                known.extend(baselines::names(dir)?);
                if run.is_used(dir, name) {
                    return Err(Error::new(
                        ErrorKind::NotPending,
                        format!(
                            "snapshot `{name}` has no new image waiting for review in {}: it \
                             matched its baseline, or was accepted or rejected already",
                            self.path.display()
                        ),
                    ));
                }
            }
        }
        let closest = closest::closest(name, known.iter().map(String::as_str));
        let hint = if closest.is_empty() {
            "no snapshot has been checked there yet".to_owned()
        } else {
            let names: Vec<String> = closest.iter().map(|n| format!("`{n}`")).collect();
            format!("closest: {}", names.join(", "))
        };
        Err(Error::new(
            ErrorKind::UnknownSnapshot,
            format!(
                "`{name}` is neither a baseline of the last run nor waiting for review in {} \
                 ({hint})",
                self.path.display()
            ),
        ))
    }

    /// The run recorded in `used.jsonl`, the last one; `None` before any snapshot was checked.
    /// [`LastRun`]'s example shows one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the file cannot be read, [`ErrorKind::InvalidRecord`] for a
    /// line that is not a record.
    pub fn last_run(&self) -> Result<Option<LastRun>, Error> {
        LastRun::read(&self.path)
    }
}

/// `<target>/steadfast/visual` for a crate at `manifest`.
pub(crate) fn visual_root(manifest: &Path, lookup: &dyn Fn(&str) -> Option<OsString>) -> PathBuf {
    target_dir(manifest, lookup)
        .join("steadfast")
        .join("visual")
}

/// The cargo target folder: `CARGO_TARGET_DIR` if set (relative to `manifest`), else `target`
/// beside the nearest enclosing `[workspace]` manifest, else beside `manifest`.
fn target_dir(manifest: &Path, lookup: &dyn Fn(&str) -> Option<OsString>) -> PathBuf {
    if let Some(dir) = lookup("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        return manifest.join(dir);
    }
    manifest
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|toml| toml.lines().any(|l| l.trim() == "[workspace]"))
        })
        .unwrap_or(manifest)
        .join("target")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_dir_prefers_cargo_target_dir_then_the_workspace() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let set = |k: &str| (k == "CARGO_TARGET_DIR").then(|| OsString::from("/tmp/tgt"));
        assert_eq!(target_dir(manifest, &set), PathBuf::from("/tmp/tgt"));
        // This crate is a member of the steadfast workspace one level up.
        let workspace = manifest.parent().unwrap();
        assert_eq!(target_dir(manifest, &|_| None), workspace.join("target"));
        assert_eq!(
            visual_root(manifest, &set),
            PathBuf::from("/tmp/tgt/steadfast/visual")
        );
    }
}
