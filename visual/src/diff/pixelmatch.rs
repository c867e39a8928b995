//! pixelmatch 7.2.0's per-pixel rules: the YIQ colour delta, blending over
//! the background, the grey of unchanged pixels and the anti-aliasing
//! detector.

/// YIQ coefficients from Kotsarenko & Ramos, as pixelmatch spells them.
const Y: [f64; 3] = [0.29889531, 0.58662247, 0.11448223];
const I: [f64; 3] = [0.59597799, 0.27417610, 0.32180189];
const Q: [f64; 3] = [0.21147017, 0.52261711, 0.31114694];

/// pixelmatch's `drawGrayPixel`: luma blended with white by `alpha · a`.
#[inline(always)]
pub(super) fn gray([r, g, b, a]: [u8; 4], alpha: f64) -> u8 {
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
pub(super) fn color_delta(p1: &[u8], p2: &[u8], k: usize, checkerboard: bool) -> f64 {
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
pub(super) fn antialiased(
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
pub(super) fn left_column_repeats(img: &[u8], x: usize, y: usize, w: usize, h: usize) -> bool {
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
    fn gray_of_opaque_white_is_white() {
        assert_eq!(gray([255, 255, 255, 255], 0.1), 255);
        assert_eq!(gray([0, 0, 0, 0], 0.1), 255);
        assert_eq!(gray([0, 0, 0, 255], 1.0), 0);
    }
}
