//! Decoding and encoding images with limits.

use std::io::Cursor;
use std::path::Path;

use image::{ImageError, ImageReader, RgbaImage};

use crate::error::{Error, ErrorKind};

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
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io("read image", path, e))?;
    decode_with_limits(&bytes, &DecodeLimits::default()).map_err(|e| e.with_path(path))
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
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::new(ErrorKind::Image, "cannot read image").with_source(e))?;
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_width);
    image_limits.max_image_height = Some(limits.max_height);
    image_limits.max_alloc = Some(limits.max_bytes);
    reader.limits(image_limits);
    let decoded = reader.decode().map_err(decode_error)?;
    // The RGBA8 conversion allocates once more; bound it too.
    let rgba_bytes = u64::from(decoded.width()) * u64::from(decoded.height()) * 4;
    if rgba_bytes > limits.max_bytes {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!(
                "image of {}x{} needs {rgba_bytes} bytes as RGBA8, more than the limit of {}",
                decoded.width(),
                decoded.height(),
                limits.max_bytes
            ),
        ));
    }
    Ok(decoded.into_rgba8())
}

fn decode_error(e: ImageError) -> Error {
    match e {
        ImageError::Limits(_) => {
            Error::new(ErrorKind::TooLarge, "image exceeds the decoding limits").with_source(e)
        }
        ImageError::Unsupported(_) => {
            Error::new(ErrorKind::Image, "unsupported image format").with_source(e)
        }
        _ => Error::new(ErrorKind::Image, "cannot decode image").with_source(e),
    }
}

/// Encode `image` as PNG.
pub(crate) fn encode_png(image: &RgbaImage) -> Result<Vec<u8>, Error> {
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| Error::new(ErrorKind::Image, "cannot encode png").with_source(e))?;
    Ok(out.into_inner())
}

/// Write `bytes` to `path` atomically: a temporary file in the same folder,
/// then a rename over the target.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    if let Some(dir) = path.parent() {
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
    std::fs::write(&tmp, bytes).map_err(|e| Error::io("write file", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("rename file into place", path, e)
    })
}

/// Encode `image` as PNG and write it atomically to `path`.
pub(crate) fn save_png(path: &Path, image: &RgbaImage) -> Result<(), Error> {
    write_atomic(path, &encode_png(image)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temp() {
        let dir =
            std::env::temp_dir().join(format!("steadfast-visual-load-{}", std::process::id()));
        let path = dir.join("x.bin");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let entries = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(entries, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
