//! The row kernel: compares and draws rows in one pass, a cache line per
//! step, on one or several threads.

use image::RgbaImage;

use super::Comparison;
use super::gray::GrayMemo;
use super::pixelmatch::{antialiased, color_delta, left_column_repeats};
use super::store::{Out, as_uninit, draw, line_offset, prefetch, put16, stream_fence};
use crate::options::{Background, Options, Rect};

/// Diff images from this size on are written with streaming stores that
/// bypass the cache: the image would not stay in cache anyway, and the
/// stores then skip reading each line before overwriting it.
const STREAM_MIN_BYTES: usize = 8 << 20;

/// How far ahead of the current step both images are prefetched: a page,
/// as the hardware prefetchers stop at page boundaries.
const PREFETCH_DISTANCE: usize = 4096;

/// Where the diff image goes.
pub(super) enum Target<'a> {
    /// A new buffer, if the options ask for a diff image.
    Fresh,
    /// The caller's buffer of exactly the canvas size.
    Into(&'a mut [u8]),
}

/// Compare `a` and `b` (both `size`); pixels outside `overlap` (from the
/// top-left) are different by definition.
pub(super) fn run(
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
                // One splat for the four stores: read from the memo after
                // each store, it is reloaded from memory.
                let quad = memo.quad_out();
                for o in [0, 16, 32, 48] {
                    put16::<STREAM>(&mut co[o..], quad);
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
