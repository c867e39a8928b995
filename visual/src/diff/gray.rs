//! Grey values of pixels equal in both images, memoised: pixelmatch draws
//! them as grey, and screenshots repeat a few colours.

use super::pixelmatch::gray;
use super::store::{Out, put};

/// log2 of the number of entries in [`GrayMemo`]'s cache of grey pixels.
const GRAY_CACHE_BITS: u32 = 12;

/// Remembers the grey value of the last pixel drawn, and of recent
/// distinct pixels in a small direct-mapped cache (anti-aliased text and
/// gradients repeat a few colours, whose grey is then not recomputed).
///
/// Both values are kept as `u32`s (never assembled from bytes in memory),
/// so reading them right after an update does not stall on store
/// forwarding.
pub(super) struct GrayMemo {
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
    pub(super) fn new(alpha: f64) -> Self {
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
    pub(super) fn lookup(&mut self, pixel: u32) -> u32 {
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
    pub(super) fn quad_in(&self) -> u128 {
        u128::from_ne_bytes(splat(self.pixel))
    }

    /// Four copies of the remembered diff pixel.
    #[inline(always)]
    pub(super) fn quad_out(&self) -> [u8; 16] {
        splat(self.out)
    }

    #[inline(always)]
    pub(super) fn draw(&mut self, src: &[u8], dst: &mut Out) {
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
    pub(super) fn draw_line(&mut self, src: &[u8], line: &mut [u8; 64]) {
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
    pub(super) fn draw_quad(&mut self, quad: u128, src: &[u8], dst: &mut Out) {
        if quad == self.quad_in() {
            put(dst, self.quad_out());
        } else {
            for i in 0..4 {
                self.draw(&src[i * 4..i * 4 + 4], &mut dst[i * 4..i * 4 + 4]);
            }
        }
    }
}

/// The diff pixel `[v, v, v, 255]` of the source pixel `pixel` (both as
/// four bytes in native order), `v` being its [`gray`] value.
fn gray_pixel(pixel: u32, alpha: f64) -> u32 {
    let v = gray(pixel.to_ne_bytes(), alpha);
    // Little-endian [v, v, v, 255], converted to native order.
    u32::from_le((u32::from(v) * 0x0001_0101) | 0xFF00_0000)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
