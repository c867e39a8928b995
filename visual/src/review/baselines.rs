//! The baselines in a snapshot folder, and removing those no test uses.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::snapshot::validate_name;

/// The snapshot names of every baseline under `dir` (`NAME.png`, in subfolders too), sorted.
/// Files whose path is no snapshot name are not baselines; a missing folder has none.
/// Symbolic links to folders are not followed.
pub(crate) fn names(dir: &Path) -> Result<Vec<String>, Error> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let folder = dir.join(&rel);
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && rel.as_os_str().is_empty() => {
                return Ok(found);
            }
            Err(e) => return Err(Error::io("read folder", &folder, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("read folder", &folder, e))?;
            let child = rel.join(entry.file_name());
            let kind = entry
                .file_type()
                .map_err(|e| Error::io("read file type", &entry.path(), e))?;
            if kind.is_dir() {
                pending.push(child);
            } else if let Some(name) = baseline_name(&child)
                && entry.path().is_file()
            {
                found.push(name);
            }
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// The snapshot name of the baseline at `rel` (relative to its folder), if it is one.
fn baseline_name(rel: &Path) -> Option<String> {
    let stem = rel.to_str()?.strip_suffix(".png")?;
    let name = stem.replace(std::path::MAIN_SEPARATOR, "/");
    validate_name(&name).is_ok().then_some(name)
}

/// A baseline that no snapshot check of the last run compared with: its PNG and the JSON
/// settings file beside it, if there is one.
///
/// From [`LastRun::unused_baselines`](crate::LastRun::unused_baselines), whose example shows
/// one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusedBaseline {
    snapshot_dir: PathBuf,
    name: String,
    files: Vec<PathBuf>,
}

impl UnusedBaseline {
    pub(crate) fn new(snapshot_dir: &Path, name: String) -> Self {
        let png = snapshot_dir.join(format!("{name}.png"));
        let settings = snapshot_dir.join(format!("{name}.json"));
        let mut files = vec![png];
        if settings.is_file() {
            files.push(settings);
        }
        Self {
            snapshot_dir: snapshot_dir.to_path_buf(),
            name,
            files,
        }
    }

    /// The snapshot's name (`pages/home` for `pages/home.png`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The snapshot folder it is in.
    pub fn snapshot_dir(&self) -> &Path {
        &self.snapshot_dir
    }

    /// The files that make it up: the PNG, then the settings file if there is one.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Delete its files, then the folders inside the snapshot folder that this leaves empty.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) naming the file that could not be removed
    /// (one already gone is no error).
    pub fn remove(&self) -> Result<(), Error> {
        for file in &self.files {
            match std::fs::remove_file(file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove baseline", file, e)),
            }
        }
        let mut folder = self.files[0].parent();
        while let Some(dir) = folder.filter(|d| *d != self.snapshot_dir) {
            // A folder that still holds files stays, and so do its parents.
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
            folder = dir.parent();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_pngs_with_snapshot_names_in_subfolders_and_removes_them_with_their_settings() {
        let dir =
            std::env::temp_dir().join(format!("steadfast-visual-baselines-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pages/deep")).unwrap();
        for file in [
            "home.png",
            "home.json",
            "pages/deep/gone.png",
            "pages/deep/gone.json",
            "notes.txt",
            "sp ace.png",
            ".home.png.12.0.tmp",
            "shot.PNG",
        ] {
            std::fs::write(dir.join(file), b"x").unwrap();
        }
        assert_eq!(names(&dir).unwrap(), ["home", "pages/deep/gone"]);

        let gone = UnusedBaseline::new(&dir, "pages/deep/gone".into());
        assert_eq!(
            gone.files(),
            [
                dir.join("pages/deep/gone.png"),
                dir.join("pages/deep/gone.json")
            ]
        );
        gone.remove().unwrap();
        assert!(!dir.join("pages").exists());
        assert_eq!(names(&dir).unwrap(), ["home"]);
        assert!(dir.join("home.json").exists());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(names(&dir).unwrap().is_empty());
    }
}
