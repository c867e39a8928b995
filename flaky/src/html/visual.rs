//! The failure artifacts of steadfast-visual's snapshots: a folder per snapshot under
//! `target/steadfast/visual/<name>/` holding `expected.png`, `actual.png` and `diff.png`
//! (only `actual.png` when the baseline is missing), and any JSON file with figures beside
//! them. Images are read for embedding as `data:` URIs within [`EmbedLimits`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::error::Error;

/// The image files of a snapshot's artifact folder, in the order the report shows them.
pub const ARTIFACT_FILES: [&str; 3] = ["expected.png", "actual.png", "diff.png"];

/// Folders this deep below the artifact root are not looked into.
const MAX_DEPTH: usize = 16;

/// How many bytes of images the report may embed.
///
/// # Example
///
/// ```
/// use steadfast_flaky::html::EmbedLimits;
///
/// let limits = EmbedLimits::default().per_image(1 << 20);
/// assert_eq!(limits.per_image_bytes(), 1 << 20);
/// assert_eq!(limits.total_bytes(), 32 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbedLimits {
    per_image: u64,
    total: u64,
}

impl Default for EmbedLimits {
    /// 4 MiB per image, 32 MiB in all.
    fn default() -> Self {
        Self {
            per_image: 4 << 20,
            total: 32 << 20,
        }
    }
}

impl EmbedLimits {
    /// At most `bytes` for one image file; a larger one is left out with a note.
    #[must_use]
    pub fn per_image(mut self, bytes: u64) -> Self {
        self.per_image = bytes;
        self
    }

    /// At most `bytes` of image files in all; images past it are left out with a note.
    #[must_use]
    pub fn total(mut self, bytes: u64) -> Self {
        self.total = bytes;
        self
    }

    /// The limit for one image file, in bytes.
    pub fn per_image_bytes(&self) -> u64 {
        self.per_image
    }

    /// The limit for all image files together, in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.total
    }
}

/// One image file of an artifact folder.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArtifactImage {
    /// Its path.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Width and height from the PNG header, when it is a PNG.
    pub dimensions: Option<(u32, u32)>,
    /// The `data:image/png;base64,…` URI, or why the image is not embedded.
    pub embedded: Result<String, String>,
}

/// The artifacts of one snapshot that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotArtifacts {
    /// The snapshot's name: the folder's path below the artifact root, `/`-separated.
    pub name: String,
    /// `expected.png`, `actual.png` and `diff.png`, each when present.
    pub images: [Option<ArtifactImage>; 3],
    /// Every scalar of the folder's JSON files, as `(key, value)`; keys of nested objects are
    /// joined with `.`, and a file that is not a JSON object gives one entry saying so.
    pub figures: Vec<(String, String)>,
}

impl SnapshotArtifacts {
    /// `expected.png`, when present.
    pub fn expected(&self) -> Option<&ArtifactImage> {
        self.images[0].as_ref()
    }

    /// `actual.png`, when present.
    pub fn actual(&self) -> Option<&ArtifactImage> {
        self.images[1].as_ref()
    }

    /// `diff.png`, when present.
    pub fn diff(&self) -> Option<&ArtifactImage> {
        self.images[2].as_ref()
    }

    /// The command that makes `actual.png` the new baseline.
    pub fn accept_command(&self) -> String {
        format!("steadfast-visual accept {}", shell_word(&self.name))
    }
}

/// Every snapshot's artifacts under one folder.
///
/// # Example
///
/// ```
/// use steadfast_flaky::html::{EmbedLimits, VisualArtifacts};
///
/// let root = std::env::temp_dir().join(format!("steadfast-flaky-visual-{}", std::process::id()));
/// std::fs::create_dir_all(root.join("pages/home"))?;
/// // The 8-byte PNG signature and an IHDR chunk saying 2 × 1: enough for a header read.
/// let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
/// png.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 1]);
/// std::fs::write(root.join("pages/home/actual.png"), &png)?;
/// let visual = VisualArtifacts::scan(&root, EmbedLimits::default())?;
/// let home = &visual.snapshots()[0];
/// assert_eq!(home.name, "pages/home");
/// assert_eq!(home.actual().unwrap().dimensions, Some((2, 1)));
/// assert!(home.actual().unwrap().embedded.as_ref().unwrap().starts_with("data:image/png;base64,"));
/// assert_eq!(home.accept_command(), "steadfast-visual accept pages/home");
/// # std::fs::remove_dir_all(&root)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VisualArtifacts {
    root: PathBuf,
    snapshots: Vec<SnapshotArtifacts>,
}

impl VisualArtifacts {
    /// Reads every artifact folder under `root` (a folder holding one of [`ARTIFACT_FILES`]),
    /// sorted by name; a `root` that does not exist has none. Symbolic links are not followed.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when a folder or image cannot be read.
    pub fn scan(root: &Path, limits: EmbedLimits) -> Result<Self, Error> {
        let mut folders = Vec::new();
        if root.is_dir() {
            collect_folders(root, root, 0, &mut folders)?;
        }
        folders.sort();
        let mut budget = limits.total;
        let mut snapshots = Vec::new();
        for (name, dir) in folders {
            let mut images: [Option<ArtifactImage>; 3] = [None, None, None];
            for (slot, file) in images.iter_mut().zip(ARTIFACT_FILES) {
                let path = dir.join(file);
                if path.is_file() {
                    *slot = Some(read_image(path, limits.per_image, &mut budget)?);
                }
            }
            snapshots.push(SnapshotArtifacts {
                name,
                images,
                figures: read_figures(&dir)?,
            });
        }
        Ok(Self {
            root: root.to_owned(),
            snapshots,
        })
    }

    /// The folder that was scanned.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The snapshots found, by name.
    pub fn snapshots(&self) -> &[SnapshotArtifacts] {
        &self.snapshots
    }
}

/// Where snapshots write their artifacts: `$CARGO_TARGET_DIR/steadfast/visual`, else
/// `target/steadfast/visual` under the nearest ancestor of the current directory holding a
/// `Cargo.lock`, else under the current directory. `env` answers as [`std::env::var_os`].
///
/// # Example
///
/// ```
/// use std::ffi::OsString;
/// use std::path::Path;
///
/// let env = |name: &str| (name == "CARGO_TARGET_DIR").then(|| OsString::from("/tmp/t"));
/// assert_eq!(steadfast_flaky::html::visual_dir_with(env), Path::new("/tmp/t/steadfast/visual"));
/// ```
pub fn visual_dir_with(env: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    if let Some(target) = env("CARGO_TARGET_DIR").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(target).join("steadfast").join("visual");
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let root = cwd
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap_or(&cwd);
    root.join("target").join("steadfast").join("visual")
}

fn collect_folders(
    root: &Path,
    dir: &Path,
    depth: usize,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|err| Error::io(dir, "read", err))?;
    let mut has_artifact = false;
    for entry in entries {
        let entry = entry.map_err(|err| Error::io(dir, "read", err))?;
        let kind = entry
            .file_type()
            .map_err(|err| Error::io(&entry.path(), "read", err))?;
        let file_name = entry.file_name();
        if kind.is_file() && ARTIFACT_FILES.iter().any(|file| file_name == *file) {
            has_artifact = true;
        } else if kind.is_dir() && depth < MAX_DEPTH {
            collect_folders(root, &entry.path(), depth + 1, out)?;
        }
    }
    if has_artifact && dir != root {
        let relative = dir.strip_prefix(root).unwrap_or(dir);
        let name: Vec<String> = relative
            .components()
            .map(|part| part.as_os_str().to_string_lossy().into_owned())
            .collect();
        out.push((name.join("/"), dir.to_owned()));
    }
    Ok(())
}

fn read_image(path: PathBuf, per_image: u64, budget: &mut u64) -> Result<ArtifactImage, Error> {
    let bytes = std::fs::metadata(&path)
        .map_err(|err| Error::io(&path, "read", err))?
        .len();
    let over = if bytes > per_image {
        Some(format!(
            "{} is over the limit of {} per image (--max-image-bytes)",
            human_bytes(bytes),
            human_bytes(per_image)
        ))
    } else if bytes > *budget {
        Some(format!(
            "{} is more than the {} left of the report's image budget (--max-embed-bytes)",
            human_bytes(bytes),
            human_bytes(*budget)
        ))
    } else {
        None
    };
    let head = if over.is_some() {
        read_head(&path)?
    } else {
        std::fs::read(&path).map_err(|err| Error::io(&path, "read", err))?
    };
    let dimensions = png_dimensions(&head);
    let embedded = match (over, dimensions) {
        (Some(reason), _) => Err(reason),
        (None, None) => Err("not a PNG file".to_owned()),
        (None, Some(_)) => {
            *budget -= bytes;
            let data = base64::engine::general_purpose::STANDARD.encode(&head);
            Ok(format!("data:image/png;base64,{data}"))
        }
    };
    Ok(ArtifactImage {
        path,
        bytes,
        dimensions,
        embedded,
    })
}

/// The first bytes of a file: enough for the PNG header.
fn read_head(path: &Path) -> Result<Vec<u8>, Error> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|err| Error::io(path, "read", err))?;
    let mut head = Vec::with_capacity(24);
    file.take(24)
        .read_to_end(&mut head)
        .map_err(|err| Error::io(path, "read", err))?;
    Ok(head)
}

/// Width and height from a PNG's IHDR chunk, which the format puts first.
fn png_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let header = bytes.get(..24)?;
    if &header[..8] != b"\x89PNG\r\n\x1a\n" || &header[12..16] != b"IHDR" {
        return None;
    }
    let number = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    Some((number(16), number(20)))
}

/// The scalars of every `*.json` file in `dir`, file by file in name order.
fn read_figures(dir: &Path) -> Result<Vec<(String, String)>, Error> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|err| Error::io(dir, "read", err))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json") && path.is_file())
        .collect();
    files.sort();
    let mut figures = Vec::new();
    for path in files {
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read(&path).map_err(|err| Error::io(&path, "read", err))?;
        match serde_json::from_slice::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(object)) => flatten("", &object, &mut figures),
            Ok(_) => figures.push((file_name, "not a JSON object".to_owned())),
            Err(err) => figures.push((file_name, format!("not JSON: {err}"))),
        }
    }
    Ok(figures)
}

fn flatten(
    prefix: &str,
    object: &serde_json::Map<String, serde_json::Value>,
    out: &mut Vec<(String, String)>,
) {
    for (key, value) in object {
        let key = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            serde_json::Value::Object(inner) => flatten(&key, inner, out),
            serde_json::Value::String(text) => out.push((key, text.clone())),
            serde_json::Value::Null => out.push((key, "null".to_owned())),
            other => out.push((key, other.to_string())),
        }
    }
}

/// `bytes` as `812 B`, `3.4 KiB` or `5.2 MiB`.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    // Exact below 2^53 bytes, and shown to one decimal anyway.
    let value = bytes as f64;
    if value < KIB {
        format!("{bytes} B")
    } else if value < KIB * KIB {
        format!("{:.1} KiB", value / KIB)
    } else {
        format!("{:.1} MiB", value / KIB / KIB)
    }
}

/// `word` as one shell word: as it is when it needs no quoting, else in single quotes.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human_bytes(812), "812 B");
        assert_eq!(human_bytes(3482), "3.4 KiB");
        assert_eq!(human_bytes(5 << 20), "5.0 MiB");
    }

    #[test]
    fn names_that_need_quoting_are_quoted_for_the_shell() {
        assert_eq!(shell_word("pages/home-1.x"), "pages/home-1.x");
        assert_eq!(shell_word("it's $HOME"), r"'it'\''s $HOME'");
    }

    #[test]
    fn only_a_png_header_gives_dimensions() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&[0, 0, 5, 0, 0, 0, 2, 208]);
        assert_eq!(png_dimensions(&png), Some((1280, 720)));
        assert_eq!(png_dimensions(b"GIF89a"), None);
        png[1] = b'Q';
        assert_eq!(png_dimensions(&png), None);
    }
}
