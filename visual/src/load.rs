//! Decoding and encoding images with limits.

use std::io::Cursor;
use std::path::Path;

use image::{ImageError, ImageFormat, ImageReader, RgbaImage};

use crate::error::{Error, ErrorKind};
use crate::fast_png;

/// Limits applied while decoding, so a decompression bomb is an error
/// instead of an out-of-memory abort.
///
/// # Example
///
/// ```
/// use steadfast_visual::{DecodeLimits, decode_with_limits};
///
/// let mut limits = DecodeLimits::default();
/// limits.max_width = 16;
/// let png = std::fs::read("tests/fixtures/pixelmatch/1a.png")?;
/// let err = decode_with_limits(&png, &limits).unwrap_err();
/// assert_eq!(err.kind(), steadfast_visual::ErrorKind::TooLarge);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeLimits {
    /// Largest accepted width in pixels. Default 32 768.
    pub max_width: u32,
    /// Largest accepted height in pixels. Default 32 768.
    pub max_height: u32,
    /// Largest memory the decoder and the RGBA8 result may take, in bytes.
    /// Default 1 GiB.
    pub max_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_width: 32_768,
            max_height: 32_768,
            max_bytes: 1 << 30,
        }
    }
}

/// Read and decode an image file (any format enabled in `image`: PNG, JPEG)
/// to RGBA8 with the default [`DecodeLimits`].
///
/// # Errors
///
/// [`ErrorKind::Io`] when the file cannot be read, [`ErrorKind::Image`]
/// when it is not a decodable image and [`ErrorKind::TooLarge`] when it
/// exceeds the limits; the error carries the path.
///
/// # Example
///
/// ```
/// let img = steadfast_visual::open("tests/fixtures/pixelmatch/4a.png")?;
/// assert_eq!(img.get_pixel(0, 0).0[3], 255); // RGB input gets opaque alpha
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open(path: impl AsRef<Path>) -> Result<RgbaImage, Error> {
    open_with_limits(path, &DecodeLimits::default())
}

/// Read and decode an image file to RGBA8 within `limits`.
///
/// # Errors
///
/// As for [`open`]; [`ErrorKind::TooLarge`] names the declared size and
/// the limit it exceeds.
///
/// # Example
///
/// ```
/// use steadfast_visual::{DecodeLimits, ErrorKind, open_with_limits};
///
/// let mut limits = DecodeLimits::default();
/// limits.max_bytes = 1000;
/// let err = open_with_limits("tests/fixtures/pixelmatch/1a.png", &limits).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::TooLarge);
/// assert!(err.to_string().contains("more than the limit of 1000 bytes"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open_with_limits(path: impl AsRef<Path>, limits: &DecodeLimits) -> Result<RgbaImage, Error> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io("read image", path, e))?;
    decode_with_limits(&bytes, limits).map_err(|e| e.with_path(path))
}

/// Decode an in-memory image to RGBA8 with the default [`DecodeLimits`].
///
/// # Errors
///
/// As for [`decode_with_limits`].
///
/// # Example
///
/// ```
/// let err = steadfast_visual::decode(b"not an image").unwrap_err();
/// assert_eq!(err.kind(), steadfast_visual::ErrorKind::Image);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode(bytes: &[u8]) -> Result<RgbaImage, Error> {
    decode_with_limits(bytes, &DecodeLimits::default())
}

/// Decode an in-memory image to RGBA8 within `limits`.
///
/// # Errors
///
/// [`ErrorKind::Image`] when the bytes are not a decodable image (unknown
/// format, truncated or corrupt data) and [`ErrorKind::TooLarge`] when the
/// dimensions or the memory needed exceed `limits`.
///
/// # Example
///
/// ```
/// use steadfast_visual::{DecodeLimits, decode_with_limits};
/// let png = std::fs::read("tests/fixtures/pixelmatch/2a.png")?; // a palette PNG
/// let img = decode_with_limits(&png, &DecodeLimits::default())?;
/// assert!(img.width() > 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_with_limits(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbaImage, Error> {
    decode_reusing(bytes, limits, Vec::new())
}

/// [`decode_with_limits`], decoding into `buf` where the fast PNG path
/// applies (its allocation is reused; its contents do not matter).
pub(crate) fn decode_reusing(
    bytes: &[u8],
    limits: &DecodeLimits,
    buf: Vec<u8>,
) -> Result<RgbaImage, Error> {
    // The header first: a declared size over the limits is refused before
    // the decoder allocates anything, with both numbers in the message.
    let (width, height) = dimensions(bytes)?;
    check_limits(width, height, limits)?;
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_width);
    image_limits.max_image_height = Some(limits.max_height);
    image_limits.max_alloc = Some(limits.max_bytes);
    let mut reader = reader(bytes)?;
    if reader.format() == Some(ImageFormat::Png)
        && let Some(decoded) = fast_png::decode_rgba8(bytes, limits.max_bytes, buf)
    {
        return decoded.map_err(|e| png_error(e, width, height, limits));
    }
    reader.limits(image_limits);
    let decoded = reader.decode().map_err(|e| match e {
        ImageError::Limits(_) => Error::new(
            ErrorKind::TooLarge,
            format!(
                "image of {width}x{height} pixels needs more memory to decode than the limit \
                 of {} bytes",
                limits.max_bytes
            ),
        )
        .with_source(e),
        _ => Error::new(
            ErrorKind::Image,
            format!("cannot decode image of {width}x{height} pixels"),
        )
        .with_source(e),
    })?;
    Ok(decoded.into_rgba8())
}

fn png_error(e: png::DecodingError, width: u32, height: u32, limits: &DecodeLimits) -> Error {
    match e {
        png::DecodingError::LimitsExceeded => Error::new(
            ErrorKind::TooLarge,
            format!(
                "image of {width}x{height} pixels needs more memory to decode than the limit \
                 of {} bytes",
                limits.max_bytes
            ),
        ),
        _ => Error::new(
            ErrorKind::Image,
            format!("cannot decode image of {width}x{height} pixels"),
        ),
    }
    .with_source(e)
}

/// Refuse a declared size over `limits`, naming the size and the limit.
fn check_limits(width: u32, height: u32, limits: &DecodeLimits) -> Result<(), Error> {
    if width > limits.max_width || height > limits.max_height {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!(
                "image of {width}x{height} pixels exceeds the decoding limits of {}x{} pixels",
                limits.max_width, limits.max_height
            ),
        ));
    }
    let rgba_bytes = u64::from(width) * u64::from(height) * 4;
    if rgba_bytes > limits.max_bytes {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!(
                "image of {width}x{height} pixels needs {rgba_bytes} bytes as RGBA8, more than \
                 the limit of {} bytes",
                limits.max_bytes
            ),
        ));
    }
    Ok(())
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, Error> {
    ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::new(ErrorKind::Image, "cannot read image").with_source(e))
}

/// Width and height from the image's header, without decoding its pixels.
pub(crate) fn dimensions(bytes: &[u8]) -> Result<(u32, u32), Error> {
    reader(bytes)?.into_dimensions().map_err(|e| match e {
        ImageError::Unsupported(_) => {
            Error::new(ErrorKind::Image, "unsupported image format").with_source(e)
        }
        _ => Error::new(ErrorKind::Image, "cannot read image header").with_source(e),
    })
}

/// Encode `image` as PNG with `image`'s default compression, for
/// baselines that are committed (smaller files than [`save_png`]'s).
fn encode_baseline(image: &RgbaImage) -> Result<Vec<u8>, Error> {
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|e| Error::new(ErrorKind::Image, "cannot encode png").with_source(e))?;
    Ok(out.into_inner())
}

/// Encode `image` as PNG and write it atomically and durably to `path`,
/// compressed for keeping (snapshot baselines).
pub(crate) fn save_baseline(path: &Path, image: &RgbaImage) -> Result<(), Error> {
    write_atomic(path, &encode_baseline(image)?, Durability::Synced)
}

/// How much a [`write_atomic`] promises beyond atomicity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// Readers see the old file or the new one; a crash of the machine may
    /// lose the new one. Enough for artifacts, which the next failure rewrites.
    Atomic,
    /// Also flushed to disk before the rename and the folder after it, so
    /// a crash never leaves an empty or partial file under the name
    /// (baselines, which are committed).
    Synced,
}

/// Write `bytes` to `path` atomically: a temporary file in the same folder
/// (a name no other writer uses: process id and a counter), then a rename
/// over the target, so concurrent readers and writers only ever see a whole
/// file. The temporary file is removed when anything fails.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], durability: Durability) -> Result<(), Error> {
    use std::io::Write as _;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create folder", dir, e))?;
    }
    let file_name = path
        .file_name()
        .map_or_else(|| "image".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::File::create(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        if durability == Durability::Synced {
            file.sync_all()?;
        }
        Ok(())
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("write file", &tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("rename file into place", path, e)
    })?;
    if durability == Durability::Synced {
        // The rename is durable once the folder's entry is; a folder that
        // cannot be opened or synced (some file systems) keeps the rename
        // atomic all the same.
        let folder = dir.unwrap_or(Path::new("."));
        let _ = std::fs::File::open(folder).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// Encode `image` as PNG and write it to `path` atomically (a temporary
/// file in the same folder, renamed over the target), creating the folder.
///
/// The compression is the fast one for artifacts such as diff images
/// (`fdeflate`, the `Up` filter): quick to write, larger than an archive
/// would be. Any PNG decoder reads it.
///
/// # Errors
///
/// [`ErrorKind::Io`] naming the path when the folder or the file cannot be
/// written, [`ErrorKind::Image`] when encoding fails.
///
/// # Example
///
/// ```
/// let dir = std::env::temp_dir().join(format!("steadfast-visual-save-{}", std::process::id()));
/// let image = image::RgbaImage::from_pixel(3, 2, image::Rgba([1, 2, 3, 255]));
/// steadfast_visual::save_png(dir.join("a/b.png"), &image)?;
/// assert_eq!(steadfast_visual::open(dir.join("a/b.png"))?, image);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save_png(path: impl AsRef<Path>, image: &RgbaImage) -> Result<(), Error> {
    let bytes = fast_png::encode_fast(image)
        .map_err(|e| Error::new(ErrorKind::Image, "cannot encode png").with_source(e))?;
    write_atomic(path.as_ref(), &bytes, Durability::Atomic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temp() {
        let dir =
            std::env::temp_dir().join(format!("steadfast-visual-load-{}", std::process::id()));
        let path = dir.join("x.bin");
        write_atomic(&path, b"one", Durability::Atomic).unwrap();
        write_atomic(&path, b"two", Durability::Synced).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let entries = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(entries, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
