//! Comparison options, pixelmatch 7.2.0 defaults.

use crate::error::Error;

/// What semi-transparent pixels are blended over before they are compared.
///
/// # Example
///
/// ```
/// use steadfast_visual::{Background, Options};
///
/// // Reproduce pixelmatch 5/6 (Playwright, jest-image-snapshot, pixelmatch-rs).
/// let options = Options::new().background(Background::White);
/// # let _ = options;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Background {
    /// pixelmatch 7's checkerboard (`checkerboard: true`, the default).
    #[default]
    Checkerboard,
    /// Plain white, as in pixelmatch 5 and 6 (`checkerboard: false` in 7.2).
    White,
}

/// A rectangle of pixels, used for ignore regions.
///
/// # Example
///
/// ```
/// use steadfast_visual::Rect;
///
/// let clock = Rect::new(10, 0, 80, 20);
/// assert!(clock.contains(10, 19));
/// assert!(!clock.contains(90, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left edge (inclusive).
    pub x: u32,
    /// Top edge (inclusive).
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Rect {
    /// A rectangle with its top-left corner at `(x, y)`.
    ///
    /// # Example
    ///
    /// ```
    /// let r = steadfast_visual::Rect::new(1, 2, 3, 4);
    /// assert_eq!((r.x, r.y, r.width, r.height), (1, 2, 3, 4));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn new(x: u32, y: u32, width: u32, height: u32) -> Self {
        Self {
            x,
            y,
            width,
            height,
        }
    }

    /// Whether the pixel at `(x, y)` lies inside the rectangle.
    ///
    /// # Example
    ///
    /// ```
    /// let r = steadfast_visual::Rect::new(0, 0, 2, 2);
    /// assert!(r.contains(1, 1) && !r.contains(2, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn contains(&self, x: u32, y: u32) -> bool {
        u64::from(x) >= u64::from(self.x)
            && u64::from(x) < u64::from(self.x) + u64::from(self.width)
            && u64::from(y) >= u64::from(self.y)
            && u64::from(y) < u64::from(self.y) + u64::from(self.height)
    }
}

/// How [`compare`](crate::compare) reacts to images of different sizes.
///
/// # Example
///
/// ```
/// use steadfast_visual::{Options, SizeMismatch, compare};
/// use image::RgbaImage;
///
/// let options = Options::new().size_mismatch(SizeMismatch::Union);
/// let result = compare(&RgbaImage::new(2, 2), &RgbaImage::new(3, 2), &options)?;
/// assert_eq!(result.diff_pixels(), 2); // the extra column
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SizeMismatch {
    /// Return an [`ErrorKind::SizeMismatch`](crate::ErrorKind::SizeMismatch)
    /// error stating both sizes (the default).
    #[default]
    Error,
    /// Compare on the union canvas: both images are padded with transparent
    /// black to the larger width and height, and every pixel outside the area
    /// both images cover counts as different and is drawn in the diff colour.
    Union,
}

/// Options for [`compare`](crate::compare).
///
/// Defaults are pixelmatch 7.2.0's. Setters consume and return the options.
///
/// | option | default | pixelmatch name |
/// |---|---|---|
/// | [`threshold`](Self::threshold) | `0.1` | `threshold` |
/// | [`include_aa`](Self::include_aa) | `false` | `includeAA` |
/// | [`alpha`](Self::alpha) | `0.1` | `alpha` |
/// | [`aa_color`](Self::aa_color) | `[255, 255, 0]` | `aaColor` |
/// | [`diff_color`](Self::diff_color) | `[255, 0, 0]` | `diffColor` |
/// | [`diff_color_alt`](Self::diff_color_alt) | the diff colour | `diffColorAlt` |
/// | [`diff_mask`](Self::diff_mask) | `false` | `diffMask` |
/// | [`background`](Self::background) | checkerboard | `checkerboard` |
/// | [`ignore`](Self::ignore) | none | – |
/// | [`max_diff_pixels`](Self::max_diff_pixels) | unset | – |
/// | [`max_diff_ratio`](Self::max_diff_ratio) | unset | – |
/// | [`size_mismatch`](Self::size_mismatch) | error | – |
/// | [`diff_image`](Self::diff_image) | `true` | `output` given |
/// | [`threads`](Self::threads) | `1` | – |
///
/// # Example
///
/// ```
/// use steadfast_visual::{Options, Rect};
///
/// let options = Options::new()
///     .threshold(0.05)
///     .ignore(Rect::new(0, 0, 100, 20))
///     .max_diff_ratio(0.001);
/// options.validate()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Options {
    pub(crate) threshold: f64,
    pub(crate) include_aa: bool,
    pub(crate) alpha: f64,
    pub(crate) aa_color: [u8; 3],
    pub(crate) diff_color: [u8; 3],
    pub(crate) diff_color_alt: Option<[u8; 3]>,
    pub(crate) diff_mask: bool,
    pub(crate) background: Background,
    pub(crate) ignore: Vec<Rect>,
    pub(crate) max_diff_pixels: Option<u64>,
    pub(crate) max_diff_ratio: Option<f64>,
    pub(crate) size_mismatch: SizeMismatch,
    pub(crate) diff_image: bool,
    pub(crate) threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            threshold: 0.1,
            include_aa: false,
            alpha: 0.1,
            aa_color: [255, 255, 0],
            diff_color: [255, 0, 0],
            diff_color_alt: None,
            diff_mask: false,
            background: Background::Checkerboard,
            ignore: Vec::new(),
            max_diff_pixels: None,
            max_diff_ratio: None,
            size_mismatch: SizeMismatch::Error,
            diff_image: true,
            threads: 1,
        }
    }
}

impl Options {
    /// pixelmatch 7.2.0's defaults; same as [`Options::default`].
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(steadfast_visual::Options::new(), Default::default());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Matching threshold in `0.0..=1.0`; smaller is more sensitive. A pixel
    /// differs when its YIQ delta exceeds `35215 · threshold²`. Default `0.1`.
    ///
    /// # Example
    ///
    /// ```
    /// let strict = steadfast_visual::Options::new().threshold(0.0);
    /// # let _ = strict;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }

    /// Count anti-aliased pixels as differences too (skip AA detection).
    /// Default `false`.
    ///
    /// # Example
    ///
    /// ```
    /// let o = steadfast_visual::Options::new().include_aa(true);
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn include_aa(mut self, include: bool) -> Self {
        self.include_aa = include;
        self
    }

    /// Opacity in `0.0..=1.0` of the first image drawn (in grey) under the
    /// diff. Default `0.1`.
    ///
    /// # Example
    ///
    /// ```
    /// let o = steadfast_visual::Options::new().alpha(0.5);
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// Colour of anti-aliased pixels in the diff. Default yellow.
    ///
    /// # Example
    ///
    /// ```
    /// let o = steadfast_visual::Options::new().aa_color([0, 192, 0]);
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn aa_color(mut self, color: [u8; 3]) -> Self {
        self.aa_color = color;
        self
    }

    /// Colour of differing pixels in the diff. Default red.
    ///
    /// # Example
    ///
    /// ```
    /// let o = steadfast_visual::Options::new().diff_color([255, 0, 255]);
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn diff_color(mut self, color: [u8; 3]) -> Self {
        self.diff_color = color;
        self
    }

    /// Colour of differing pixels that are darker in the second image than
    /// in the first. Default: the diff colour.
    ///
    /// # Example
    ///
    /// ```
    /// let o = steadfast_visual::Options::new().diff_color_alt([0, 255, 0]);
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn diff_color_alt(mut self, color: [u8; 3]) -> Self {
        self.diff_color_alt = Some(color);
        self
    }

    /// Draw only the differing pixels over a transparent background.
    /// Default `false`.
    ///
    /// # Example
    ///
    /// ```
    /// let o = steadfast_visual::Options::new().diff_mask(true);
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn diff_mask(mut self, mask: bool) -> Self {
        self.diff_mask = mask;
        self
    }

    /// What semi-transparent pixels are blended over. Default checkerboard.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_visual::{Background, Options};
    /// let o = Options::new().background(Background::White);
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn background(mut self, background: Background) -> Self {
        self.background = background;
        self
    }

    /// Add a region whose differences are ignored: its pixels never count
    /// and are drawn like matching pixels. Can be called repeatedly.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_visual::{Options, Rect};
    /// let o = Options::new().ignore(Rect::new(0, 0, 10, 10));
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ignore(mut self, region: Rect) -> Self {
        self.ignore.push(region);
        self
    }

    /// Pass when at most this many pixels differ.
    ///
    /// With both tolerances set the comparison passes when it is within
    /// either (Playwright's semantics); with neither it passes only when no
    /// pixel differs.
    ///
    /// # Example
    ///
    /// ```
    /// let o = steadfast_visual::Options::new().max_diff_pixels(10);
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_diff_pixels(mut self, pixels: u64) -> Self {
        self.max_diff_pixels = Some(pixels);
        self
    }

    /// Pass when at most this fraction (`0.0..=1.0`) of all pixels differ.
    /// See [`max_diff_pixels`](Self::max_diff_pixels) for how both combine.
    ///
    /// # Example
    ///
    /// ```
    /// let o = steadfast_visual::Options::new().max_diff_ratio(0.01);
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_diff_ratio(mut self, ratio: f64) -> Self {
        self.max_diff_ratio = Some(ratio);
        self
    }

    /// How images of different sizes are handled. Default: an error.
    ///
    /// # Example
    ///
    /// ```
    /// use steadfast_visual::{Options, SizeMismatch};
    /// let o = Options::new().size_mismatch(SizeMismatch::Union);
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn size_mismatch(mut self, mode: SizeMismatch) -> Self {
        self.size_mismatch = mode;
        self
    }

    /// Whether to produce a diff image. Default `true`; turn it off when
    /// only the count matters (identical inputs then cost one `memcmp`).
    ///
    /// # Example
    ///
    /// ```
    /// let o = steadfast_visual::Options::new().diff_image(false);
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn diff_image(mut self, produce: bool) -> Self {
        self.diff_image = produce;
        self
    }

    /// Number of threads, each taking a band of rows; `0` means one per
    /// available core. Results are identical for every thread count.
    /// Default `1`.
    ///
    /// # Example
    ///
    /// ```
    /// let o = steadfast_visual::Options::new().threads(0);
    /// # let _ = o;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Check every value is in range.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidOption`](crate::ErrorKind::InvalidOption) naming
    /// the option when `threshold`, `alpha` or `max_diff_ratio` is not a
    /// number in `0.0..=1.0`.
    ///
    /// # Example
    ///
    /// ```
    /// let err = steadfast_visual::Options::new().alpha(f64::NAN).validate().unwrap_err();
    /// assert_eq!(err.to_string(), "invalid alpha: NaN is not a number in 0..=1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        unit_interval("threshold", self.threshold)?;
        unit_interval("alpha", self.alpha)?;
        if let Some(ratio) = self.max_diff_ratio {
            unit_interval("max_diff_ratio", ratio)?;
        }
        Ok(())
    }

    /// Whether `diff_pixels` of `total_pixels` is within the tolerances.
    pub(crate) fn passes(&self, diff_pixels: u64, total_pixels: u64) -> bool {
        match (self.max_diff_pixels, self.max_diff_ratio) {
            (None, None) => diff_pixels == 0,
            (pixels, ratio) => {
                pixels.is_some_and(|max| diff_pixels <= max)
                    || ratio.is_some_and(|max| ratio_of(diff_pixels, total_pixels) <= max)
            }
        }
    }
}

/// `diff / total`, with an empty image counting as ratio 0.
pub(crate) fn ratio_of(diff: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        diff as f64 / total as f64
    }
}

fn unit_interval(name: &str, value: f64) -> Result<(), Error> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid_option(
            name,
            format_args!("{value} is not a number in 0..=1"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_within_either_tolerance() {
        let both = Options::new().max_diff_pixels(5).max_diff_ratio(0.5);
        assert!(both.passes(5, 8)); // pixels ok
        assert!(both.passes(6, 100)); // ratio ok
        assert!(!both.passes(60, 100));
        assert!(Options::new().passes(0, 10));
        assert!(!Options::new().passes(1, 10));
    }

    #[test]
    fn rect_contains_handles_the_u32_edge() {
        let r = Rect::new(u32::MAX - 1, 0, 10, 1);
        assert!(r.contains(u32::MAX, 0));
        assert!(!r.contains(0, 0));
    }
}
