//! Listing the images under a folder by their relative paths.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// File extensions (compared case-insensitively) that count as images.
const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Whether `path` names a PNG or JPEG file by its extension.
pub(super) fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// The image files under `root` (recursively), keyed by their path
/// relative to `root`, each with its size in bytes.
///
/// Symbolic links to files are followed; symbolic links to folders are
/// not (a link cycle cannot make the walk endless). The folder `skip`,
/// when it lies inside `root`, is left out: diff images written into the
/// actual folder are not new screenshots on the next run.
pub(super) fn images(root: &Path, skip: Option<&Path>) -> Result<BTreeMap<PathBuf, u64>, Error> {
    let skip = skip.and_then(|s| relative_inside(root, s));
    let mut found = BTreeMap::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let dir = root.join(&rel);
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("read folder", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("read folder", &dir, e))?;
            let path = entry.path();
            let child = rel.join(entry.file_name());
            let file_type = entry
                .file_type()
                .map_err(|e| Error::io("read file type", &path, e))?;
            if file_type.is_dir() {
                if skip.as_deref() != Some(child.as_path()) {
                    pending.push(child);
                }
            } else if is_image(&child) {
                // `metadata` follows a symbolic link; a dangling one is an error.
                let meta =
                    std::fs::metadata(&path).map_err(|e| Error::io("read file", &path, e))?;
                if meta.is_file() {
                    found.insert(child, meta.len());
                }
            }
        }
    }
    Ok(found)
}

/// `inner`'s path relative to `root`, when it lies strictly inside it.
fn relative_inside(root: &Path, inner: &Path) -> Option<PathBuf> {
    let root = root.canonicalize().ok()?;
    let inner = inner.canonicalize().ok()?;
    inner
        .strip_prefix(&root)
        .ok()
        .filter(|rel| !rel.as_os_str().is_empty())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "steadfast-visual-walk-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn finds_pngs_and_jpegs_in_subfolders_and_skips_the_rest() {
        let root = scratch("find");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        for f in ["top.png", "a/x.JPG", "a/b/y.jpeg", "notes.txt", "a/b/z.gif"] {
            std::fs::write(root.join(f), b"12345").unwrap();
        }
        let found = images(&root, None).unwrap();
        let keys: Vec<_> = found.keys().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(keys, ["a/b/y.jpeg", "a/x.JPG", "top.png"]);
        assert_eq!(found[Path::new("top.png")], 5);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn leaves_out_the_skipped_folder_inside_the_root() {
        let root = scratch("skip");
        std::fs::create_dir_all(root.join("diff")).unwrap();
        std::fs::write(root.join("a.png"), b"1").unwrap();
        std::fs::write(root.join("diff/a.png"), b"1").unwrap();
        let found = images(&root, Some(&root.join("diff"))).unwrap();
        assert_eq!(found.keys().collect::<Vec<_>>(), [Path::new("a.png")]);
        // The root itself is never skipped.
        assert_eq!(images(&root, Some(&root)).unwrap().len(), 2);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_missing_root_is_an_io_error_naming_it() {
        let err = images(Path::new("/no/such/folder"), None).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Io);
        assert_eq!(err.path(), Some(Path::new("/no/such/folder")));
    }
}
