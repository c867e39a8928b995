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

use std::mem::MaybeUninit;

use image::RgbaImage;

use crate::error::{Error, ErrorKind};
use crate::options::{Background, Options, Rect, SizeMismatch, ratio_of};

/// YIQ coefficients from Kotsarenko & Ramos, as pixelmatch spells them.
const Y: [f64; 3] = [0.29889531, 0.58662247, 0.11448223];
const I: [f64; 3] = [0.59597799, 0.27417610, 0.32180189];
const Q: [f64; 3] = [0.21147017, 0.52261711, 0.31114694];

/// Diff images from this size on are written with streaming stores that
/// bypass the cache: the image would not stay in cache anyway, and the
/// stores then skip reading each line before overwriting it.
const STREAM_MIN_BYTES: usize = 8 << 20;

/// How far ahead of the current step both images are prefetched: a page,
/// as the hardware prefetchers stop at page boundaries.
const PREFETCH_DISTANCE: usize = 4096;

/// Diff image bytes while they are being drawn.
type Out = [MaybeUninit<u8>];

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

/// Where the diff image goes.
enum Target<'a> {
    /// A new buffer, if the options ask for a diff image.
    Fresh,
    /// The caller's buffer of exactly the canvas size.
    Into(&'a mut [u8]),
}

/// View initialised bytes as bytes that are about to be overwritten.
fn as_uninit(buf: &mut [u8]) -> &mut Out {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and the kernel only
    // ever writes initialised values through the view, so `buf` stays
    // initialised.
    unsafe { &mut *(buf as *mut [u8] as *mut Out) }
}

/// Compare `a` and `b` (both `size`); pixels outside `overlap` (from the
/// top-left) are different by definition.
fn run(
    a: &[u8],
    b: &[u8],
    size: (u32, u32),
    overlap: (u32, u32),
    options: &Options,
    target: Target<'_>,
) -> Comparison {
    let (width, height) = size;
    let ctx = Kernel::new(a, b, size, overlap, options);
    // A fresh diff image starts uninitialised: the kernel writes every byte
    // (see the SAFETY note below), which saves a memset of the whole buffer.
    let mut fresh = match target {
        Target::Fresh if options.diff_image => Some(Vec::<u8>::with_capacity(a.len())),
        _ => None,
    };
    let spare: Option<&mut Out> = match target {
        Target::Into(buf) => Some(as_uninit(buf)),
        Target::Fresh => fresh
            .as_mut()
            .map(|v| &mut v.spare_capacity_mut()[..a.len()]),
    };
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(ctx.h)
    .max(1);
    let diff_pixels = if threads == 1 {
        ctx.band(0, ctx.h, spare)
    } else {
        ctx.parallel(threads, spare)
    };
    if let Some(buf) = fresh.as_mut() {
        // SAFETY: the bands together cover every row of the capacity taken
        // above, and `row_draw` initialises every byte of its row: it zeroes
        // the row first in mask mode, and otherwise draws each pixel exactly
        // once (equal lines, equal quads, `pixel` in all its branches, and
        // `outside`).
        unsafe { buf.set_len(a.len()) };
    }
    let total = u64::from(width) * u64::from(height);
    Comparison {
        width,
        height,
        diff_pixels,
        passed: options.passes(diff_pixels, total),
        // OK because the buffer has exactly width · height · 4 bytes.
        diff_image: fresh.map(|buf| RgbaImage::from_raw(width, height, buf).expect("sized buffer")),
    }
}

struct Kernel<'a> {
    a: &'a [u8],
    b: &'a [u8],
    w: usize,
    h: usize,
    overlap_w: usize,
    overlap_h: usize,
    max_delta: f64,
    checkerboard: bool,
    include_aa: bool,
    alpha: f64,
    aa_color: [u8; 3],
    diff_color: [u8; 3],
    alt_color: [u8; 3],
    mask: bool,
    ignore: &'a [Rect],
    /// Whether to write the diff with streaming stores (large images).
    stream: bool,
}

/// log2 of the number of entries in [`GrayMemo`]'s cache of grey pixels.
const GRAY_CACHE_BITS: u32 = 12;

/// Remembers the grey value of the last pixel drawn, and of recent
/// distinct pixels in a small direct-mapped cache (anti-aliased text and
/// gradients repeat a few colours, whose grey is then not recomputed).
///
/// Both values are kept as `u32`s (never assembled from bytes in memory),
/// so reading them right after an update does not stall on store
/// forwarding.
struct GrayMemo {
    alpha: f64,
    /// The last source pixel, as its four bytes in native order.
    pixel: u32,
    /// Its diff pixel `[v, v, v, 255]`, in native order.
    out: u32,
    /// Each entry holds a source pixel in its low half and its diff pixel
    /// in its high half; every entry is a true pair (all start as pixel 0).
    cache: [u64; 1 << GRAY_CACHE_BITS],
}

/// Four copies of the native-order bytes of `v` (one vector splat).
#[inline(always)]
fn splat(v: u32) -> [u8; 16] {
    let mut q = [0u8; 16];
    for c in q.chunks_exact_mut(4) {
        c.copy_from_slice(&v.to_ne_bytes());
    }
    q
}

impl GrayMemo {
    fn new(alpha: f64) -> Self {
        let out = gray_pixel(0, alpha);
        Self {
            alpha,
            pixel: 0,
            out,
            cache: [u64::from(out) << 32; 1 << GRAY_CACHE_BITS],
        }
    }

    /// The diff pixel of `pixel`, from the cache when it holds it.
    #[inline(always)]
    fn lookup(&mut self, pixel: u32) -> u32 {
        let slot = (pixel.wrapping_mul(0x9E37_79B1) >> (32 - GRAY_CACHE_BITS)) as usize;
        let entry = self.cache[slot];
        if entry as u32 == pixel {
            (entry >> 32) as u32
        } else {
            self.fill(slot, pixel)
        }
    }

    #[cold]
    #[inline(never)]
    fn fill(&mut self, slot: usize, pixel: u32) -> u32 {
        let out = gray_pixel(pixel, self.alpha);
        self.cache[slot] = (u64::from(out) << 32) | u64::from(pixel);
        out
    }

    /// Four copies of the remembered pixel, as they appear in a row.
    #[inline(always)]
    fn quad_in(&self) -> u128 {
        u128::from_ne_bytes(splat(self.pixel))
    }

    /// Four copies of the remembered diff pixel.
    #[inline(always)]
    fn quad_out(&self) -> [u8; 16] {
        splat(self.out)
    }

    #[inline(always)]
    fn draw(&mut self, src: &[u8], dst: &mut Out) {
        let pixel = u32::from_ne_bytes([src[0], src[1], src[2], src[3]]);
        if pixel != self.pixel {
            self.pixel = pixel;
            self.out = self.lookup(pixel);
        }
        put(dst, self.out.to_ne_bytes());
    }

    /// Draw the 16 pixels `src` (64 bytes, equal in both images) into
    /// `line`, each through the cache without a branch on its colour, and
    /// remember the last one.
    #[inline(always)]
    fn draw_line(&mut self, src: &[u8], line: &mut [u8; 64]) {
        // Most such lines hold two colours, the first pixel's and the
        // last's (the edge of a run): select between their two greys,
        // which compiles to vector compares and blends.
        let mut px = [0u32; 16];
        for (p, s) in px.iter_mut().zip(src[..64].chunks_exact(4)) {
            *p = u32::from_ne_bytes([s[0], s[1], s[2], s[3]]);
        }
        let (first, last) = (px[0], px[15]);
        let (first_out, last_out) = (self.lookup(first), self.lookup(last));
        let mut two = true;
        let mut outs = [0u32; 16];
        for (o, &p) in outs.iter_mut().zip(&px) {
            two &= (p == first) | (p == last);
            *o = if p == first { first_out } else { last_out };
        }
        if two {
            for (d, o) in line.chunks_exact_mut(4).zip(outs) {
                d.copy_from_slice(&o.to_ne_bytes());
            }
            self.pixel = last;
            self.out = last_out;
            return;
        }
        let mut pixel = self.pixel;
        let mut out = self.out;
        for (s, d) in src[..64].chunks_exact(4).zip(line.chunks_exact_mut(4)) {
            pixel = u32::from_ne_bytes([s[0], s[1], s[2], s[3]]);
            out = self.lookup(pixel);
            d.copy_from_slice(&out.to_ne_bytes());
        }
        self.pixel = pixel;
        self.out = out;
    }

    /// Draw four equal-in-both-images pixels `src` into `dst` (16 bytes).
    #[inline(always)]
    fn draw_quad(&mut self, quad: u128, src: &[u8], dst: &mut Out) {
        if quad == self.quad_in() {
            put(dst, self.quad_out());
        } else {
            for i in 0..4 {
                self.draw(&src[i * 4..i * 4 + 4], &mut dst[i * 4..i * 4 + 4]);
            }
        }
    }
}

#[inline(always)]
fn quad_at(row: &[u8], byte: usize) -> u128 {
    let mut q = [0u8; 16];
    q.copy_from_slice(&row[byte..byte + 16]);
    u128::from_ne_bytes(q)
}

impl<'a> Kernel<'a> {
    fn new(
        a: &'a [u8],
        b: &'a [u8],
        (width, height): (u32, u32),
        overlap: (u32, u32),
        options: &'a Options,
    ) -> Self {
        Kernel {
            a,
            b,
            w: width as usize,
            h: height as usize,
            overlap_w: overlap.0 as usize,
            overlap_h: overlap.1 as usize,
            max_delta: 35215.0 * options.threshold * options.threshold,
            checkerboard: options.background == Background::Checkerboard,
            include_aa: options.include_aa,
            alpha: options.alpha,
            aa_color: options.aa_color,
            diff_color: options.diff_color,
            alt_color: options.diff_color_alt.unwrap_or(options.diff_color),
            mask: options.diff_mask,
            ignore: &options.ignore,
            stream: a.len() >= STREAM_MIN_BYTES,
        }
    }

    fn parallel(&self, threads: usize, out: Option<&mut Out>) -> u64 {
        let rows = self.h.div_ceil(threads);
        let band_bytes = rows * self.w * 4;
        std::thread::scope(|scope| {
            let handles: Vec<_> = match out {
                Some(out) => out
                    .chunks_mut(band_bytes.max(1))
                    .enumerate()
                    .map(|(i, chunk)| {
                        let y0 = i * rows;
                        let y1 = (y0 + rows).min(self.h);
                        scope.spawn(move || self.band(y0, y1, Some(chunk)))
                    })
                    .collect(),
                None => (0..threads)
                    .map(|i| {
                        let y0 = (i * rows).min(self.h);
                        let y1 = (y0 + rows).min(self.h);
                        scope.spawn(move || self.band(y0, y1, None))
                    })
                    .collect(),
            };
            handles
                .into_iter()
                // OK because band() does not panic; a panic would be a bug worth surfacing.
                .map(|h| h.join().expect("diff band panicked"))
                .sum()
        })
    }

    /// Compare rows `y0..y1`; `out` holds exactly those rows.
    fn band(&self, y0: usize, y1: usize, out: Option<&mut Out>) -> u64 {
        let mut memo = GrayMemo::new(self.alpha);
        let stride = self.w * 4;
        let mut diff = 0;
        match out {
            None => {
                for y in y0..y1 {
                    diff += self.row_count(y, &mut memo);
                }
            }
            Some(out) if self.stream => {
                for (y, orow) in (y0..y1).zip(out.chunks_exact_mut(stride.max(1))) {
                    diff += self.row_draw::<true>(y, orow, &mut memo);
                }
                stream_fence();
            }
            Some(out) => {
                for (y, orow) in (y0..y1).zip(out.chunks_exact_mut(stride.max(1))) {
                    diff += self.row_draw::<false>(y, orow, &mut memo);
                }
            }
        }
        diff
    }

    /// Bytes of row `y` in both images, and how many pixels of it overlap.
    fn row(&self, y: usize) -> (&[u8], &[u8], usize) {
        let stride = self.w * 4;
        let bytes = y * stride..(y + 1) * stride;
        let limit = if y < self.overlap_h {
            self.overlap_w
        } else {
            0
        };
        (&self.a[bytes.clone()], &self.b[bytes], limit)
    }

    /// Count row `y` without drawing: `memcmp` the row, then
    /// four pixels per step.
    fn row_count(&self, y: usize, memo: &mut GrayMemo) -> u64 {
        let (ra, rb, limit) = self.row(y);
        let mut diff = 0;
        if limit == self.w && ra == rb {
            return 0;
        }
        let quads = limit / 4;
        for q in 0..quads {
            let byte = q * 16;
            if quad_at(ra, byte) != quad_at(rb, byte) {
                for x in q * 4..q * 4 + 4 {
                    diff += self.pixel(x, y, None, memo);
                }
            }
        }
        for x in quads * 4..limit {
            diff += self.pixel(x, y, None, memo);
        }
        diff + self.outside(y, limit, None, memo)
    }

    /// Count and draw row `y` in one pass, 16 pixels per step. With
    /// `STREAM`, the first few pixels are drawn one by one so that every
    /// 16-pixel step covers exactly one 64-byte cache line of the diff,
    /// which it then writes with streaming stores.
    fn row_draw<const STREAM: bool>(&self, y: usize, orow: &mut Out, memo: &mut GrayMemo) -> u64 {
        let (ra, rb, limit) = self.row(y);
        if self.mask {
            // A mask leaves untouched pixels transparent black.
            for byte in orow.iter_mut() {
                byte.write(0);
            }
        }
        let mut diff = 0;
        let head = if STREAM {
            line_offset(orow).min(limit)
        } else {
            0
        };
        for (x, o) in orow.chunks_exact_mut(4).take(head).enumerate() {
            let p = x * 4..x * 4 + 4;
            if self.mask || ra[p.clone()] != rb[p.clone()] {
                diff += self.pixel(x, y, Some(o), memo);
            } else {
                // What `pixel` draws for a pixel equal in both images.
                memo.draw(&ra[p], o);
            }
        }
        let start = head * 4;
        let end = start + (limit - head) / 16 * 64;
        // Where the row starts in the images, for prefetching.
        let row_at = y * self.w * 4;
        // Four quads (16 pixels) per step where both images repeat the
        // remembered pixel: the common case in screenshots.
        let mut x = head;
        for ((ca, cb), co) in ra[start..end]
            .chunks_exact(64)
            .zip(rb[start..end].chunks_exact(64))
            .zip(orow[start..end].chunks_exact_mut(64))
        {
            let ahead = row_at + x * 4 + PREFETCH_DISTANCE;
            prefetch(self.a, ahead);
            prefetch(self.b, ahead);
            let m = memo.quad_in();
            let mut differs = 0;
            for o in [0, 16, 32, 48] {
                differs |= (quad_at(ca, o) ^ m) | (quad_at(cb, o) ^ m);
            }
            if differs == 0 && !self.mask {
                for o in [0, 16, 32, 48] {
                    put16::<STREAM>(&mut co[o..], memo.quad_out());
                }
            } else if !self.mask && ca == cb {
                // Equal in both images but of several colours (gradients,
                // anti-aliased text): grey values through the cache.
                let mut line = [0u8; 64];
                memo.draw_line(ca, &mut line);
                for (o, bytes) in [0, 16, 32, 48].into_iter().zip(line.chunks_exact(16)) {
                    let mut quad = [0u8; 16];
                    quad.copy_from_slice(bytes);
                    put16::<STREAM>(&mut co[o..], quad);
                }
            } else {
                // Drawn into a local line first, so that the diff line is
                // still written whole (a mask leaves it zeroed in between,
                // as the row it stands for).
                let mut line = [0u8; 64];
                let drawn = as_uninit(&mut line);
                for o in [0, 16, 32, 48] {
                    let q = o..o + 16;
                    diff += self.quad(
                        x + o / 4,
                        y,
                        &ca[q.clone()],
                        &cb[q.clone()],
                        &mut drawn[q],
                        memo,
                    );
                }
                for (o, bytes) in [0, 16, 32, 48].into_iter().zip(line.chunks_exact(16)) {
                    let mut quad = [0u8; 16];
                    quad.copy_from_slice(bytes);
                    put16::<STREAM>(&mut co[o..], quad);
                }
            }
            x += 16;
        }
        // Whole quads after the last step, then single pixels.
        let quads_end = x * 4 + (limit - x) / 4 * 16;
        for ((ca, cb), co) in ra[x * 4..quads_end]
            .chunks_exact(16)
            .zip(rb[x * 4..quads_end].chunks_exact(16))
            .zip(orow[x * 4..quads_end].chunks_exact_mut(16))
        {
            diff += self.quad(x, y, ca, cb, co, memo);
            x += 4;
        }
        for (i, o) in orow[x * 4..limit * 4].chunks_exact_mut(4).enumerate() {
            diff += self.pixel(x + i, y, Some(o), memo);
        }
        diff + self.outside(y, limit, Some(orow), memo)
    }

    /// Count and draw the four pixels from `x` of row `y`: `qa`/`qb` are
    /// their 16 bytes in each image, `out` their 16 diff bytes.
    #[inline(always)]
    fn quad(
        &self,
        x: usize,
        y: usize,
        qa: &[u8],
        qb: &[u8],
        out: &mut Out,
        memo: &mut GrayMemo,
    ) -> u64 {
        let a = quad_at(qa, 0);
        if a == quad_at(qb, 0) {
            if !self.mask {
                memo.draw_quad(a, qa, out);
            }
            0
        } else {
            let mut diff = 0;
            for (i, (o, (pa, pb))) in out
                .chunks_exact_mut(4)
                .zip(qa.chunks_exact(4).zip(qb.chunks_exact(4)))
                .enumerate()
            {
                if pa != pb {
                    diff += self.pixel(x + i, y, Some(o), memo);
                } else if !self.mask {
                    // What `pixel` draws for a pixel equal in both images.
                    memo.draw(pa, o);
                }
            }
            diff
        }
    }

    /// Pixels `limit..w` of row `y` lie outside the overlap: different
    /// unless ignored.
    fn outside(
        &self,
        y: usize,
        limit: usize,
        mut orow: Option<&mut Out>,
        memo: &mut GrayMemo,
    ) -> u64 {
        let ra = self.row(y).0;
        let mut diff = 0;
        for x in limit..self.w {
            let p = x * 4;
            if self.is_ignored(x, y) {
                if let (Some(o), false) = (orow.as_deref_mut(), self.mask) {
                    memo.draw(&ra[p..p + 4], &mut o[p..p + 4]);
                }
            } else {
                if let Some(o) = orow.as_deref_mut() {
                    draw(&mut o[p..p + 4], self.diff_color);
                }
                diff += 1;
            }
        }
        diff
    }

    /// Classify one pixel inside the overlap, drawing it into `out` (its
    /// four diff bytes); returns 1 if it counts.
    #[inline]
    fn pixel(&self, x: usize, y: usize, out: Option<&mut Out>, memo: &mut GrayMemo) -> u64 {
        let pos = (y * self.w + x) * 4;
        let pa = &self.a[pos..pos + 4];
        let pb = &self.b[pos..pos + 4];
        let delta = if pa == pb {
            0.0
        } else {
            color_delta(pa, pb, pos, self.checkerboard)
        };
        if delta.abs() > self.max_delta && !self.is_ignored(x, y) {
            let is_aa = !self.include_aa
                && ((!left_column_repeats(self.a, x, y, self.w, self.h)
                    && antialiased(
                        self.a,
                        x,
                        y,
                        self.w,
                        self.h,
                        self.a,
                        self.b,
                        self.checkerboard,
                    ))
                    || (!left_column_repeats(self.b, x, y, self.w, self.h)
                        && antialiased(
                            self.b,
                            x,
                            y,
                            self.w,
                            self.h,
                            self.b,
                            self.a,
                            self.checkerboard,
                        )));
            if is_aa {
                if let (Some(o), false) = (out, self.mask) {
                    draw(o, self.aa_color);
                }
                0
            } else {
                if let Some(o) = out {
                    let color = if delta < 0.0 {
                        self.alt_color
                    } else {
                        self.diff_color
                    };
                    draw(o, color);
                }
                1
            }
        } else {
            if let (Some(o), false) = (out, self.mask) {
                memo.draw(pa, o);
            }
            0
        }
    }

    fn is_ignored(&self, x: usize, y: usize) -> bool {
        // Coordinates come from u32 dimensions, so the casts are lossless.
        self.ignore.iter().any(|r| r.contains(x as u32, y as u32))
    }
}

#[inline(always)]
fn draw(dst: &mut Out, [r, g, b]: [u8; 3]) {
    put(dst, [r, g, b, 255]);
}

/// Initialise the first `N` bytes of `dst` with one store.
#[inline(always)]
fn put<const N: usize>(dst: &mut Out, bytes: [u8; N]) {
    let dst = &mut dst[..N];
    // SAFETY: `dst` is exactly N writable bytes (checked by the slice
    // above), `MaybeUninit<u8>` has the layout of `u8`, and the source is a
    // distinct local array. A plain array assignment to `MaybeUninit`s
    // compiles to byte-wise stores; this is one vector store.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst.as_mut_ptr().cast::<u8>(), N) }
}

/// Store 16 bytes at the start of `dst`; with `STREAM` on x86_64, and
/// when `dst` is 16-byte aligned, bypassing the cache.
#[inline(always)]
fn put16<const STREAM: bool>(dst: &mut Out, bytes: [u8; 16]) {
    #[cfg(target_arch = "x86_64")]
    if STREAM {
        let dst = &mut dst[..16];
        if dst.as_ptr().addr().is_multiple_of(16) {
            // SAFETY: `dst` is 16 writable bytes (checked by the slice
            // above) and 16-byte aligned (checked just now), as
            // `_mm_stream_si128` requires; `__m128i` and `[u8; 16]` have the
            // same size, and every bit pattern is valid for both.
            unsafe {
                use std::arch::x86_64::{__m128i, _mm_stream_si128};
                let v = std::mem::transmute::<[u8; 16], __m128i>(bytes);
                _mm_stream_si128(dst.as_mut_ptr().cast::<__m128i>(), v);
            }
            return;
        }
    }
    put(dst, bytes);
}

/// Make the streaming stores of this thread visible in program order
/// with its later stores.
#[inline]
fn stream_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of the x86_64 baseline, and a fence has no
    // other precondition.
    unsafe {
        std::arch::x86_64::_mm_sfence();
    }
}

/// Hint the CPU to fetch byte `at` of `buf`, if there is one.
#[inline(always)]
fn prefetch(buf: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(byte) = buf.get(at) {
        // SAFETY: a prefetch is only a hint: it never faults and changes no
        // memory, and the address is in bounds anyway.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(byte).cast::<i8>());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (buf, at);
}

/// How many pixels from the start of `row` its first 64-byte cache line
/// begins (0 when the row is not even 4-byte aligned).
fn line_offset(row: &Out) -> usize {
    let misaligned = row.as_ptr().addr() % 64;
    if misaligned.is_multiple_of(4) {
        (64 - misaligned) % 64 / 4
    } else {
        0
    }
}

/// The diff pixel `[v, v, v, 255]` of the source pixel `pixel` (both as
/// four bytes in native order), `v` being its [`gray`] value.
fn gray_pixel(pixel: u32, alpha: f64) -> u32 {
    let v = gray(pixel.to_ne_bytes(), alpha);
    // Little-endian [v, v, v, 255], converted to native order.
    u32::from_le((u32::from(v) * 0x0001_0101) | 0xFF00_0000)
}

/// pixelmatch's `drawGrayPixel`: luma blended with white by `alpha · a`.
#[inline(always)]
fn gray([r, g, b, a]: [u8; 4], alpha: f64) -> u8 {
    let luma = f64::from(r) * Y[0] + f64::from(g) * Y[1] + f64::from(b) * Y[2];
    let val = 255.0 + (luma - 255.0) * alpha * f64::from(a) / 255.0;
    // Storing into a Uint8Array truncates; val is within 0..=255 because
    // alpha is validated to 0..=1.
    val as u8
}

/// JavaScript's `ToInt32` (what `x | 0` does) for a non-negative finite `x`.
fn to_int32(x: f64) -> i32 {
    // Truncating to i64 then keeping the low 32 bits is exactly ToInt32 for
    // |x| < 2^63.
    x as i64 as i32
}

/// The background colour pixelmatch blends pixel offset `k` over.
///
/// Never inlined: its two divisions only matter for translucent pixels, and
/// inlined they get hoisted out of the neighbour loop of [`antialiased`]
/// and paid on every call.
#[inline(never)]
fn background(k: usize, checkerboard: bool) -> [i32; 3] {
    if !checkerboard {
        return [255; 3];
    }
    let kf = k as f64;
    [
        48 + 159 * ((k % 2) as i32),
        48 + 159 * (to_int32(kf / 1.618033988749895) % 2),
        48 + 159 * (to_int32(kf / 2.618033988749895) % 2),
    ]
}

/// Channel differences, blended over the background if either pixel is
/// translucent (pixelmatch's `colorDelta` prologue).
#[inline]
fn deltas(p1: &[u8], p2: &[u8], k: usize, checkerboard: bool) -> [f64; 3] {
    let [r1, g1, b1, a1] = [p1[0], p1[1], p1[2], p1[3]].map(i32::from);
    let [r2, g2, b2, a2] = [p2[0], p2[1], p2[2], p2[3]].map(i32::from);
    if a1 < 255 || a2 < 255 {
        let [rb, gb, bb] = background(k, checkerboard);
        let da = a1 - a2;
        // The products are small integers, exact in i32 and in f64 alike.
        [
            f64::from(r1 * a1 - r2 * a2 - rb * da) / 255.0,
            f64::from(g1 * a1 - g2 * a2 - gb * da) / 255.0,
            f64::from(b1 * a1 - b2 * a2 - bb * da) / 255.0,
        ]
    } else {
        [f64::from(r1 - r2), f64::from(g1 - g2), f64::from(b1 - b2)]
    }
}

/// Squared YIQ distance, negative when the second pixel is darker.
/// The caller guarantees the pixels differ.
#[inline]
fn color_delta(p1: &[u8], p2: &[u8], k: usize, checkerboard: bool) -> f64 {
    let [dr, dg, db] = deltas(p1, p2, k, checkerboard);
    let y = dr * Y[0] + dg * Y[1] + db * Y[2];
    let i = dr * I[0] - dg * I[1] - db * I[2];
    let q = dr * Q[0] - dg * Q[1] + db * Q[2];
    let delta = 0.5053 * y * y + 0.299 * i * i + 0.1957 * q * q;
    if y > 0.0 { -delta } else { delta }
}

/// Brightness difference between the pixel at `k` and the one at `m` of the
/// same image, blended over the background of `k`.
#[inline]
fn brightness_delta(img: &[u8], k: usize, m: usize, checkerboard: bool) -> f64 {
    let (p1, p2) = (&img[k..k + 4], &img[m..m + 4]);
    if p1 == p2 {
        return 0.0;
    }
    let [dr, dg, db] = deltas(p1, p2, k, checkerboard);
    dr * Y[0] + dg * Y[1] + db * Y[2]
}

/// Whether `(x1, y1)` in `img` is likely anti-aliasing (Vysniauskas 2009,
/// as pixelmatch implements it). `a32`/`b32` are the two images in the order
/// pixelmatch passes them.
#[allow(clippy::too_many_arguments)]
fn antialiased(
    img: &[u8],
    x1: usize,
    y1: usize,
    w: usize,
    h: usize,
    a32: &[u8],
    b32: &[u8],
    checkerboard: bool,
) -> bool {
    let x0 = x1.saturating_sub(1);
    let y0 = y1.saturating_sub(1);
    let x2 = (x1 + 1).min(w - 1);
    let y2 = (y1 + 1).min(h - 1);
    let pos = (y1 * w + x1) * 4;
    let mut zeroes = u32::from(x1 == x0 || x1 == x2 || y1 == y0 || y1 == y2);
    let (mut min, mut max) = (0.0f64, 0.0f64);
    let (mut min_x, mut min_y, mut max_x, mut max_y) = (0, 0, 0, 0);
    // Column-major order, as in pixelmatch: it decides which of several
    // equally dark or bright neighbours is remembered.
    for x in x0..=x2 {
        for y in y0..=y2 {
            if x == x1 && y == y1 {
                continue;
            }
            let delta = brightness_delta(img, pos, (y * w + x) * 4, checkerboard);
            if delta == 0.0 {
                zeroes += 1;
                if zeroes > 2 {
                    return false;
                }
            } else if delta < min {
                min = delta;
                (min_x, min_y) = (x, y);
            } else if delta > max {
                max = delta;
                (max_x, max_y) = (x, y);
            }
        }
    }
    if min == 0.0 || max == 0.0 {
        return false;
    }
    (has_many_siblings(a32, min_x, min_y, w, h) && has_many_siblings(b32, min_x, min_y, w, h))
        || (has_many_siblings(a32, max_x, max_y, w, h)
            && has_many_siblings(b32, max_x, max_y, w, h))
}

/// Whether `(x, y)` is off the border of `img` and its three left
/// neighbours equal it: [`antialiased`] visits them first, counts three
/// zero deltas and says no, so this answers it without the call (most
/// changed pixels lie inside changed areas).
#[inline(always)]
fn left_column_repeats(img: &[u8], x: usize, y: usize, w: usize, h: usize) -> bool {
    if x == 0 || y == 0 || x + 1 >= w || y + 1 >= h {
        return false;
    }
    let at = |x: usize, y: usize| {
        let p = (y * w + x) * 4;
        &img[p..p + 4]
    };
    let center = at(x, y);
    at(x - 1, y - 1) == center && at(x - 1, y) == center && at(x - 1, y + 1) == center
}

/// Whether the pixel has 3+ identical neighbours (image borders count as one).
fn has_many_siblings(img: &[u8], x1: usize, y1: usize, w: usize, h: usize) -> bool {
    let x0 = x1.saturating_sub(1);
    let y0 = y1.saturating_sub(1);
    let x2 = (x1 + 1).min(w - 1);
    let y2 = (y1 + 1).min(h - 1);
    let pos = (y1 * w + x1) * 4;
    let center = &img[pos..pos + 4];
    let mut zeroes = u32::from(x1 == x0 || x1 == x2 || y1 == y0 || y1 == y2);
    for x in x0..=x2 {
        for y in y0..=y2 {
            if x == x1 && y == y1 {
                continue;
            }
            let p = (y * w + x) * 4;
            zeroes += u32::from(center == &img[p..p + 4]);
            if zeroes > 2 {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_int32_wraps_like_javascript() {
        assert_eq!(to_int32(3.9), 3);
        assert_eq!(to_int32(2147483648.5), -2147483648);
        assert_eq!(to_int32(4294967297.0), 1);
    }

    #[test]
    fn checkerboard_background_follows_the_byte_offset() {
        // k / φ = 1.85 → 1 (odd) and k / φ² = 1.15 → 1 (odd) for k = 3.
        assert_eq!(background(3, true), [207, 207, 207]);
        assert_eq!(background(0, true), [48, 48, 48]);
        assert_eq!(background(0, false), [255, 255, 255]);
    }

    #[test]
    fn darker_second_pixel_has_a_negative_delta() {
        let white = [255, 255, 255, 255];
        let black = [0, 0, 0, 255];
        assert!(color_delta(&white, &black, 0, true) < 0.0);
        assert!(color_delta(&black, &white, 0, true) > 0.0);
        // Black vs white is pure luma: 0.5053 · 255² (i and q cancel out).
        let delta = color_delta(&black, &white, 0, true);
        assert!((delta - 0.5053 * 255.0 * 255.0).abs() < 0.01, "{delta}");
    }

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

    /// A pair with flat runs, a gradient, translucent pixels and scattered
    /// changes, from a fixed seed.
    fn pattern(w: usize, h: usize) -> (Vec<u8>, Vec<u8>) {
        let mut seed = 0x2545_f491_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let mut a = Vec::with_capacity(w * h * 4);
        for y in 0..h {
            for x in 0..w {
                let px = match (y % 4, x / 40 % 3) {
                    (0, _) => [(x * 7) as u8, 90, (200 - x % 200) as u8, 255],
                    (_, 0) => [246, 247, 249, 255],
                    (_, 1) => [40, 44, 52, if x % 5 == 0 { 128 } else { 255 }],
                    _ => next().to_le_bytes(),
                };
                a.extend_from_slice(&px);
            }
        }
        let mut b = a.clone();
        for _ in 0..w * h / 6 {
            let at = next() as usize % (w * h) * 4;
            let by = next().to_le_bytes();
            b[at..at + 4].copy_from_slice(&by);
        }
        (a, b)
    }

    #[test]
    fn streaming_stores_draw_what_plain_stores_draw() {
        // Odd widths and shifted buffers start rows at every 4-byte offset
        // of a cache line (and at unaligned ones); the overlap leaves a
        // strip outside.
        let option_sets = [
            Options::new(),
            Options::new().include_aa(true).alpha(0.5),
            Options::new().diff_mask(true),
            Options::new().ignore(Rect::new(3, 1, 20, 3)),
        ];
        for (w, h) in [
            (37usize, 9usize),
            (61, 7),
            (150, 5),
            (133, 6),
            (5, 4),
            (16, 3),
        ] {
            let (a, b) = pattern(w, h);
            let len = w * h * 4;
            for options in &option_sets {
                for overlap in [(w, h), (w - 2, h - 1)] {
                    let overlap = (overlap.0 as u32, overlap.1 as u32);
                    let mut kernel = Kernel::new(&a, &b, (w as u32, h as u32), overlap, options);
                    let mut plain = vec![0u8; len];
                    kernel.stream = false;
                    let plain_count = kernel.band(0, h, Some(as_uninit(&mut plain)));
                    kernel.stream = true;
                    for shift in [0, 1, 4, 8, 12, 20, 36, 52] {
                        let mut buf = vec![7u8; len + 64];
                        let out = &mut buf[shift..shift + len];
                        let count = kernel.band(0, h, Some(as_uninit(out)));
                        let case =
                            format!("{w}x{h}, overlap {overlap:?}, shift {shift}, {options:?}");
                        assert_eq!(count, plain_count, "{case}");
                        assert!(out == &plain[..], "diff bytes differ: {case}");
                    }
                }
            }
        }
    }

    /// Pixels from a fixed xorshift seed, for the grey cache tests.
    fn random_pixels(n: usize) -> Vec<u32> {
        let mut seed = 0x9e37_79b9_u32;
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed
            })
            .collect()
    }

    #[test]
    fn gray_cache_answers_what_the_formula_gives() {
        // Many more distinct pixels than cache slots, each asked twice, so
        // that hits, misses and evictions all occur.
        let pixels = random_pixels(20_000);
        for alpha in [0.0, 0.1, 0.37, 1.0] {
            let mut memo = GrayMemo::new(alpha);
            for &p in pixels.iter().chain(&pixels).chain(&[0, u32::MAX]) {
                assert_eq!(memo.lookup(p), gray_pixel(p, alpha), "{p:#010x}, {alpha}");
            }
        }
    }

    #[test]
    fn gray_of_every_opaque_colour_matches_the_formula_through_the_cache() {
        // Every opaque colour once (the cache's whole input domain for
        // screenshots), at the default alpha.
        let mut memo = GrayMemo::new(0.1);
        for rgb in 0..1u32 << 24 {
            let p = u32::from_le_bytes([rgb as u8, (rgb >> 8) as u8, (rgb >> 16) as u8, 255]);
            let [r, g, b, a] = p.to_le_bytes();
            let v = gray([r, g, b, a], 0.1);
            assert_eq!(
                memo.lookup(p),
                u32::from_le_bytes([v, v, v, 255]),
                "{p:#010x}"
            );
        }
    }

    #[test]
    fn lines_of_few_or_many_colours_draw_each_pixel_grey() {
        let random = random_pixels(16 * 64);
        let mut lines: Vec<[u32; 16]> = Vec::new();
        // Two runs split at every position, three runs, runs that come
        // back, and lines of all-distinct colours.
        let (c1, c2, c3) = (0xff10_2030_u32, 0xff40_5060, 0x8070_8090);
        for split in 0..=16 {
            lines.push(std::array::from_fn(|i| if i < split { c1 } else { c2 }));
            lines.push(std::array::from_fn(|i| match i {
                _ if i < split / 2 => c1,
                _ if i < split => c3,
                _ => c2,
            }));
            lines.push(std::array::from_fn(|i| {
                if i % 3 == split % 3 { c1 } else { c2 }
            }));
        }
        lines.extend(
            random
                .chunks_exact(16)
                .map(|c| <[u32; 16]>::try_from(c).unwrap()),
        );
        for alpha in [0.1, 0.5, 1.0] {
            let mut memo = GrayMemo::new(alpha);
            for line in &lines {
                let src: Vec<u8> = line.iter().flat_map(|p| p.to_ne_bytes()).collect();
                let mut drawn = [0u8; 64];
                memo.draw_line(&src, &mut drawn);
                let expected: Vec<u8> = line
                    .iter()
                    .flat_map(|&p| gray_pixel(p, alpha).to_ne_bytes())
                    .collect();
                assert!(drawn[..] == expected[..], "{line:x?}, {alpha}");
                assert_eq!(
                    (memo.pixel, memo.out),
                    (line[15], gray_pixel(line[15], alpha))
                );
            }
        }
    }

    #[test]
    fn gray_of_opaque_white_is_white() {
        assert_eq!(gray([255, 255, 255, 255], 0.1), 255);
        assert_eq!(gray([0, 0, 0, 0], 0.1), 255);
        assert_eq!(gray([0, 0, 0, 255], 1.0), 0);
    }
}
