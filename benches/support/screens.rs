//! Deterministic screenshot-like images for the visual benches: a header
//! bar, a sidebar with a gradient, cards of anti-aliased "text", buttons
//! and a photo-like banner; and small edits of the kind a UI change makes.

use image::{Rgba, RgbaImage};

/// SplitMix64: a few lines, a fixed sequence per seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi`.
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next() % u64::from(hi - lo)) as u32
    }
}

fn fill(img: &mut RgbaImage, x0: u32, y0: u32, w: u32, h: u32, c: [u8; 3]) {
    let (iw, ih) = img.dimensions();
    for y in y0.min(ih)..(y0 + h).min(ih) {
        for x in x0.min(iw)..(x0 + w).min(iw) {
            img.put_pixel(x, y, Rgba([c[0], c[1], c[2], 255]));
        }
    }
}

/// Blend `c` over the pixel with coverage `cov` in 0..=1.
fn blend(img: &mut RgbaImage, x: u32, y: u32, c: [u8; 3], cov: f64) {
    if x >= img.width() || y >= img.height() {
        return;
    }
    let px = img.get_pixel_mut(x, y);
    for (channel, over) in px.0.iter_mut().zip(c) {
        let under = f64::from(*channel);
        *channel = (under + (f64::from(over) - under) * cov).round() as u8;
    }
}

/// A line of "text": glyph boxes with anti-aliased left and right edges.
fn text(img: &mut RgbaImage, rng: &mut Rng, x0: u32, y: u32, width: u32, size: u32, c: [u8; 3]) {
    let mut x = x0;
    while x < x0 + width {
        let word = rng.range(2, 9);
        for _ in 0..word {
            let glyph = rng.range(size / 3, size * 2 / 3).max(2);
            let top = y + rng.range(0, size / 4 + 1);
            let h = size - (top - y);
            fill(img, x + 1, top, glyph - 2, h, c);
            let edge = f64::from(rng.range(30, 90)) / 100.0;
            for yy in top..top + h {
                blend(img, x, yy, c, edge);
                blend(img, x + glyph - 1, yy, c, 1.0 - edge);
            }
            x += glyph + 1;
        }
        x += size / 2;
    }
}

/// A screenshot-like image of `width × height`, different for every seed.
pub fn screenshot(width: u32, height: u32, seed: u64) -> RgbaImage {
    let mut rng = Rng::new(seed);
    let mut img = RgbaImage::from_pixel(width, height, Rgba([246, 247, 249, 255]));
    let accent = [
        rng.range(20, 80) as u8,
        rng.range(80, 160) as u8,
        rng.range(180, 250) as u8,
    ];
    fill(&mut img, 0, 0, width, 56, [32, 40, 56]);
    text(&mut img, &mut rng, 24, 20, width / 4, 16, [230, 232, 236]);
    let sidebar = width / 6;
    for y in 56..height {
        let t = f64::from(y - 56) / f64::from(height.max(57) - 56);
        let g = (236.0 - 24.0 * t) as u8;
        fill(&mut img, 0, y, sidebar, 1, [g, g, g.saturating_add(6)]);
    }
    for item in 0..(height / 40).min(40) {
        let y = 80 + item * 36;
        text(&mut img, &mut rng, 20, y, sidebar - 40, 12, [60, 64, 72]);
    }
    // A photo-like banner: smooth colour ramps with a little noise.
    let (bx, by, bw, bh) = (sidebar + 24, 80, width - sidebar - 48, height / 6);
    for y in by..(by + bh).min(height) {
        for x in bx..(bx + bw).min(width) {
            let t = f64::from(x - bx) / f64::from(bw);
            let s = f64::from(y - by) / f64::from(bh);
            let n = (rng.next() % 7) as f64;
            img.put_pixel(
                x,
                y,
                Rgba([
                    (accent[0] as f64 + 120.0 * t + n) as u8,
                    (accent[1] as f64 + 60.0 * s + n) as u8,
                    (accent[2] as f64 - 90.0 * t + n) as u8,
                    255,
                ]),
            );
        }
    }
    // Cards of text, each with a button.
    let mut y = by + bh + 24;
    while y + 200 < height {
        let mut x = sidebar + 24;
        while x + 300 < width {
            let w = rng.range(280, 420).min(width - x - 24);
            fill(&mut img, x, y, w, 180, [255, 255, 255]);
            text(&mut img, &mut rng, x + 16, y + 16, w - 32, 18, [24, 28, 36]);
            for line in 0..4 {
                text(
                    &mut img,
                    &mut rng,
                    x + 16,
                    y + 52 + line * 22,
                    w - 48,
                    12,
                    [90, 96, 108],
                );
            }
            fill(&mut img, x + 16, y + 146, 96, 24, accent);
            text(&mut img, &mut rng, x + 26, y + 152, 76, 11, [255, 255, 255]);
            x += w + 24;
        }
        y += 204;
    }
    img
}

/// Edit `img` the way a UI change does: a recoloured button, a rewritten
/// line of text and a moved badge, all placed by `seed`.
pub fn change(img: &mut RgbaImage, seed: u64) {
    let mut rng = Rng::new(seed ^ 0xC0FF_EE00);
    let (w, h) = img.dimensions();
    for _ in 0..3 {
        let (x, y) = (rng.range(w / 6, w - 140), rng.range(60, h - 40));
        fill(img, x, y, 120, 28, [220, 60, 60]);
        text(img, &mut rng, x + 8, y + 8, 100, 12, [255, 255, 255]);
    }
    let (x, y) = (rng.range(w / 6, w - 320), rng.range(60, h - 20));
    fill(img, x, y, 300, 14, [255, 255, 255]);
    text(img, &mut rng, x, y, 300, 12, [40, 40, 40]);
}
