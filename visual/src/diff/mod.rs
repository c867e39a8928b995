//! The pixelmatch 7.2.0 comparison.
//!
//! Implementation notes: every floating-point expression below is evaluated
//! in `f64` in the same order as pixelmatch's JavaScript, so that counts and
//! diff bytes match it exactly (Rust never contracts `a * b + c` into a fused
//! multiply-add, and integer-valued products are exact in `f64`).
//!
//! Speed, none of which changes a result: rows are compared and drawn in
//! one pass, 16 pixels per step while both images repeat one colour; the
//! grey value of the last drawn pixel is memoised (screenshots are mostly
//! runs of one colour) and kept in `u32`s so reading it never stalls on
//! store forwarding, and the grey values of recent colours are kept in a
//! small direct-mapped cache, so that 16 equal pixels of a gradient or of
//! anti-aliased text cost no branch per pixel and few recomputations; a fresh diff image is written once without being
//! zeroed first; count-only rows that are equal cost one `memcmp`; and row
//! bands can run on several threads. The work is memory-bound: on a 4K pair
//! it reads 66 MB and writes 33 MB. So on x86_64 a large diff image is
//! written a cache line per step with streaming stores (which skip reading
//! each line before overwriting it), and both images are prefetched a page
//! ahead (the hardware prefetchers stop at page boundaries): on a 4K pair of
//! one colour this halves the time.
//!
//! The public API is here; the row kernel is in `kernel`, the grey values
//! of unchanged pixels in `gray`, pixelmatch's per-pixel rules (colour
//! delta, background blending, anti-aliasing) in `pixelmatch`, and every
//! unsafe store in `store`.

mod gray;
mod kernel;
mod pixelmatch;
mod store;

use image::RgbaImage;

use crate::error::{Error, ErrorKind};
use crate::options::{Options, SizeMismatch, ratio_of};

use kernel::{Target, run};

/// The outcome of [`compare`].
///
/// # Example
///
/// ```
/// use image::{Rgba, RgbaImage};
/// use steadfast_visual::{Options, compare};
///
/// let a = RgbaImage::from_pixel(4, 4, Rgba([255, 255, 255, 255]));
/// let mut b = a.clone();
/// b.put_pixel(1, 1, Rgba([0, 0, 0, 255]));
/// let result = compare(&a, &b, &Options::new().include_aa(true))?;
/// assert_eq!(result.diff_pixels(), 1);
/// assert_eq!(result.total_pixels(), 16);
/// assert!(!result.is_passed());
/// assert_eq!(result.diff_image().unwrap().get_pixel(1, 1), &Rgba([255, 0, 0, 255]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    width: u32,
    height: u32,
    diff_pixels: u64,
    passed: bool,
    diff_image: Option<RgbaImage>,
}

impl Comparison {
    /// Number of pixels that differ (anti-aliased pixels excluded unless
    /// `include_aa`). This is pixelmatch's return value.
    ///
    /// # Example
    ///
    /// ```
    /// use image::RgbaImage;
    /// use steadfast_visual::{Options, compare};
    /// let img = RgbaImage::new(4, 2);
    /// let result = compare(&img, &img, &Options::new())?;
    /// assert_eq!(result.diff_pixels(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn diff_pixels(&self) -> u64 {
        self.diff_pixels
    }

    /// Number of pixels compared (`width · height` of the canvas).
    ///
    /// # Example
    ///
    /// ```
    /// use image::RgbaImage;
    /// use steadfast_visual::{Options, compare};
    /// let img = RgbaImage::new(4, 2);
    /// let result = compare(&img, &img, &Options::new())?;
    /// assert_eq!(result.total_pixels(), 8);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn total_pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// `diff_pixels / total_pixels` (0 for an empty image).
    ///
    /// # Example
    ///
    /// ```
    /// use image::RgbaImage;
    /// use steadfast_visual::{Options, compare};
    /// let img = RgbaImage::new(4, 2);
    /// let result = compare(&img, &img, &Options::new())?;
    /// assert_eq!(result.ratio(), 0.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ratio(&self) -> f64 {
        ratio_of(self.diff_pixels, self.total_pixels())
    }

    /// Whether the result is within the tolerances of the options (no
    /// differing pixel when none was set).
    ///
    /// # Example
    ///
    /// ```
    /// use image::RgbaImage;
    /// use steadfast_visual::{Options, compare};
    /// let img = RgbaImage::new(4, 2);
    /// let result = compare(&img, &img, &Options::new())?;
    /// assert!(result.is_passed());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_passed(&self) -> bool {
        self.passed
    }

    /// Width and height of the compared canvas.
    ///
    /// # Example
    ///
    /// ```
    /// use image::RgbaImage;
    /// use steadfast_visual::{Options, compare};
    /// let img = RgbaImage::new(4, 2);
    /// let result = compare(&img, &img, &Options::new())?;
    /// assert_eq!(result.dimensions(), (4, 2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The diff image, unless [`Options::diff_image`] turned it off.
    ///
    /// # Example
    ///
    /// ```
    /// use image::RgbaImage;
    /// use steadfast_visual::{Options, compare};
    /// let img = RgbaImage::new(4, 2);
    /// let result = compare(&img, &img, &Options::new())?;
    /// assert_eq!(result.diff_image().map(|d| d.dimensions()), Some((4, 2)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn diff_image(&self) -> Option<&RgbaImage> {
        self.diff_image.as_ref()
    }

    /// Take the diff image out of the result.
    ///
    /// # Example
    ///
    /// ```
    /// use image::RgbaImage;
    /// use steadfast_visual::{Options, compare};
    /// let img = RgbaImage::new(4, 2);
    /// let result = compare(&img, &img, &Options::new())?;
    /// let diff = result.into_diff_image().expect("on by default");
    /// assert_eq!(diff.get_pixel(0, 0).0, [255, 255, 255, 255]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_diff_image(self) -> Option<RgbaImage> {
        self.diff_image
    }
}

/// Compare two images pixel by pixel with pixelmatch 7.2.0's metric.
///
/// # Errors
///
/// - [`ErrorKind::InvalidOption`] when an option is out of range
///   (see [`Options::validate`]);
/// - [`ErrorKind::SizeMismatch`] when the sizes differ and
///   [`Options::size_mismatch`] is [`SizeMismatch::Error`].
///
/// # Example
///
/// ```
/// use image::RgbaImage;
/// use steadfast_visual::{Options, compare};
///
/// let a = RgbaImage::new(8, 8);
/// let result = compare(&a, &a.clone(), &Options::default())?;
/// assert_eq!(result.diff_pixels(), 0);
/// assert!(result.is_passed());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compare(a: &RgbaImage, b: &RgbaImage, options: &Options) -> Result<Comparison, Error> {
    with_canvas(a, b, options, |pa, pb, size, overlap| {
        Ok(run(pa, pb, size, overlap, options, Target::Fresh))
    })
}

/// Like [`compare`], but draws the diff into `diff`, a buffer the caller
/// reuses across comparisons (no allocation, no page faults on a large
/// fresh buffer). The returned [`Comparison`] holds no diff image, and
/// [`Options::diff_image`] is not consulted.
///
/// # Errors
///
/// As for [`compare`], and [`ErrorKind::SizeMismatch`] when `diff` is not
/// the size of the compared canvas.
///
/// # Example
///
/// ```
/// use image::{Rgba, RgbaImage};
/// use steadfast_visual::{Options, compare_into};
///
/// let a = RgbaImage::from_pixel(4, 4, Rgba([255, 255, 255, 255]));
/// let mut diff = RgbaImage::new(4, 4);
/// for shade in [0u8, 100] {
///     let mut b = a.clone();
///     b.put_pixel(2, 2, Rgba([shade, shade, shade, 255]));
///     let result = compare_into(&a, &b, &mut diff, &Options::new().include_aa(true))?;
///     assert_eq!(result.diff_pixels(), 1);
///     assert_eq!(diff.get_pixel(2, 2).0, [255, 0, 0, 255]);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compare_into(
    a: &RgbaImage,
    b: &RgbaImage,
    diff: &mut RgbaImage,
    options: &Options,
) -> Result<Comparison, Error> {
    with_canvas(a, b, options, |pa, pb, size, overlap| {
        if diff.dimensions() != size {
            return Err(Error::new(
                ErrorKind::SizeMismatch,
                format!(
                    "diff image is {}x{} but the compared canvas is {}x{}",
                    diff.width(),
                    diff.height(),
                    size.0,
                    size.1
                ),
            ));
        }
        let len = byte_len(size.0, size.1);
        let target = Target::Into(&mut diff.as_mut()[..len]);
        Ok(run(pa, pb, size, overlap, options, target))
    })
}

/// Validate, settle the canvas (padding to the union if asked) and hand
/// the two equally sized buffers to `f`.
fn with_canvas<T>(
    a: &RgbaImage,
    b: &RgbaImage,
    options: &Options,
    f: impl FnOnce(&[u8], &[u8], (u32, u32), (u32, u32)) -> Result<T, Error>,
) -> Result<T, Error> {
    options.validate()?;
    let (aw, ah) = a.dimensions();
    let (bw, bh) = b.dimensions();
    if (aw, ah) == (bw, bh) {
        let len = byte_len(aw, ah);
        return f(&a.as_raw()[..len], &b.as_raw()[..len], (aw, ah), (aw, ah));
    }
    match options.size_mismatch {
        SizeMismatch::Union => {
            let (w, h) = (aw.max(bw), ah.max(bh));
            let (pa, pb) = (pad(a, w, h), pad(b, w, h));
            f(pa.as_raw(), pb.as_raw(), (w, h), (aw.min(bw), ah.min(bh)))
        }
        _ => Err(Error::new(
            ErrorKind::SizeMismatch,
            format!("image sizes do not match: {aw}x{ah} vs {bw}x{bh}"),
        )),
    }
}

/// Compare two raw RGBA8 buffers of `width × height` pixels, like
/// pixelmatch's own signature.
///
/// # Errors
///
/// - [`ErrorKind::SizeMismatch`] when the buffers differ in length, or when
///   their length is not `width · height · 4`;
/// - [`ErrorKind::InvalidOption`] when an option is out of range.
///
/// # Example
///
/// ```
/// use steadfast_visual::{Options, compare_raw};
///
/// let a = [0, 0, 0, 255, 255, 255, 255, 255];
/// let b = [0, 0, 0, 255, 0, 0, 0, 255];
/// let result = compare_raw(&a, &b, 2, 1, &Options::new().include_aa(true))?;
/// assert_eq!(result.diff_pixels(), 1);
/// assert!(compare_raw(&a, &b[..4], 2, 1, &Options::new()).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compare_raw(
    a: &[u8],
    b: &[u8],
    width: u32,
    height: u32,
    options: &Options,
) -> Result<Comparison, Error> {
    options.validate()?;
    if a.len() != b.len() {
        return Err(Error::new(
            ErrorKind::SizeMismatch,
            format!(
                "image sizes do not match: image 1 has {} bytes, image 2 has {}",
                a.len(),
                b.len()
            ),
        ));
    }
    let expected = u64::from(width) * u64::from(height) * 4;
    if a.len() as u64 != expected {
        return Err(Error::new(
            ErrorKind::SizeMismatch,
            format!(
                "image data size does not match width/height: expected {expected} bytes \
                 for {width}x{height}, got {}",
                a.len()
            ),
        ));
    }
    Ok(run(
        a,
        b,
        (width, height),
        (width, height),
        options,
        Target::Fresh,
    ))
}

fn byte_len(w: u32, h: u32) -> usize {
    w as usize * h as usize * 4
}

/// Copy `img` onto a transparent `w × h` canvas.
fn pad(img: &RgbaImage, w: u32, h: u32) -> RgbaImage {
    let mut out = RgbaImage::new(w, h);
    let row = img.width() as usize * 4;
    let stride = w as usize * 4;
    let src = img.as_raw();
    for y in 0..img.height() as usize {
        out.as_mut()[y * stride..y * stride + row].copy_from_slice(&src[y * row..(y + 1) * row]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_images_compare_without_panicking() {
        for (w, h) in [(0, 0), (0, 5), (5, 0)] {
            let img = RgbaImage::new(w, h);
            for threads in [1, 3] {
                let o = Options::new().threads(threads);
                let r = compare(&img, &img, &o).unwrap();
                assert_eq!((r.diff_pixels(), r.total_pixels(), r.ratio()), (0, 0, 0.0));
            }
        }
        let union = Options::new().size_mismatch(SizeMismatch::Union);
        let r = compare(&RgbaImage::new(0, 0), &RgbaImage::new(3, 3), &union).unwrap();
        assert_eq!(r.diff_pixels(), 9);
        assert_eq!(r.diff_image().unwrap().get_pixel(2, 2).0, [255, 0, 0, 255]);
    }

    #[test]
    fn compare_into_rejects_a_wrongly_sized_buffer() {
        let img = RgbaImage::new(4, 4);
        let mut small = RgbaImage::new(3, 4);
        let err = compare_into(&img, &img, &mut small, &Options::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::SizeMismatch);
        assert_eq!(
            err.to_string(),
            "diff image is 3x4 but the compared canvas is 4x4"
        );
    }
}
