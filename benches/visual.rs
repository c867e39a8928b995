//! Speed of `steadfast-visual` on a 4K screenshot pair, against the
//! `blazediff` crate, pixelmatch-rs and a plain `memcmp`.
//!
//! The pair is drawn here deterministically (flat UI areas, gradients,
//! anti-aliased discs and "text" dots); about 1% of the pixels differ.
//! Decoding is excluded except for pixelmatch-rs, whose only entry point
//! takes PNG streams. Set `STEADFAST_VISUAL_BENCH_DUMP=<dir>` to also write
//! the pair as `a.png`/`b.png` for `visual/scripts/compare-pixelmatch-js.sh`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use image::{Rgba, RgbaImage};
use steadfast::visual::{Options, compare, compare_into};

const W: u32 = 3840;
const H: u32 = 2160;

/// Blend `color` over the pixel at `(x, y)` with coverage `cov` in 0..=1.
fn blend(img: &mut RgbaImage, x: i64, y: i64, color: [u8; 3], cov: f64) {
    if x < 0 || y < 0 || x >= i64::from(W) || y >= i64::from(H) || cov <= 0.0 {
        return;
    }
    let px = img.get_pixel_mut(x as u32, y as u32);
    for (channel, over) in px.0.iter_mut().zip(color) {
        let under = f64::from(*channel);
        *channel = (under + (f64::from(over) - under) * cov.min(1.0)).round() as u8;
    }
}

/// An anti-aliased disc: coverage falls off over one pixel at the rim.
fn disc(img: &mut RgbaImage, cx: f64, cy: f64, r: f64, color: [u8; 3]) {
    let (x0, x1) = ((cx - r - 1.0) as i64, (cx + r + 2.0) as i64);
    let (y0, y1) = ((cy - r - 1.0) as i64, (cy + r + 2.0) as i64);
    for y in y0..y1 {
        for x in x0..x1 {
            let d = ((x as f64 + 0.5 - cx).powi(2) + (y as f64 + 0.5 - cy).powi(2)).sqrt();
            blend(img, x, y, color, r + 0.5 - d);
        }
    }
}

fn rect(img: &mut RgbaImage, x0: u32, y0: u32, w: u32, h: u32, color: [u8; 3]) {
    for y in y0..(y0 + h).min(H) {
        for x in x0..(x0 + w).min(W) {
            img.put_pixel(x, y, Rgba([color[0], color[1], color[2], 255]));
        }
    }
}

/// A UI-like screenshot; `changed` moves, recolours and adds a few things.
fn scene(changed: bool) -> RgbaImage {
    let mut img = RgbaImage::from_pixel(W, H, Rgba([246, 247, 249, 255]));
    rect(&mut img, 0, 0, W, 120, [32, 40, 56]);
    // Sidebar: a vertical gradient (flat along each row).
    for y in 120..H {
        let t = f64::from(y - 120) / f64::from(H - 120);
        let c = (232.0 - 30.0 * t) as u8;
        rect(&mut img, 0, y, 480, 1, [c, c, c.saturating_add(8)]);
    }
    // Banner: a horizontal gradient (every pixel of a row differs).
    for y in 200..600 {
        for x in 600..3700 {
            let t = f64::from(x - 600) / 3100.0;
            let s = f64::from(y - 200) / 400.0;
            img.put_pixel(
                x,
                y,
                Rgba([
                    (60.0 + 150.0 * t) as u8,
                    (90.0 + 80.0 * s) as u8,
                    (200.0 - 100.0 * t) as u8,
                    255,
                ]),
            );
        }
    }
    // Cards with round anti-aliased badges.
    for row in 0..3u32 {
        for col in 0..5u32 {
            let (x, y) = (620 + col * 620, 700 + row * 460);
            rect(&mut img, x, y, 560, 400, [255, 255, 255]);
            if changed && row == 1 && col == 2 {
                rect(&mut img, x + 200, y + 150, 300, 200, [200, 220, 255]);
            }
            let shift = if changed && (row + col) % 4 == 0 {
                1.5
            } else {
                0.0
            };
            disc(
                &mut img,
                f64::from(x) + 60.0 + shift,
                f64::from(y) + 60.0,
                28.0,
                [52, 120, 246],
            );
            // "Text": lines of small dots with anti-aliased rims.
            for line in 0..6u32 {
                for ch in 0..40u32 {
                    let dx = f64::from(ch) * 12.0 + f64::from((ch * 7 + line * 3) % 5);
                    let edited = changed && row == 2 && col == 1 && line == 3;
                    let r = if edited { 4.2 } else { 3.4 };
                    disc(
                        &mut img,
                        f64::from(x) + 40.0 + dx,
                        f64::from(y) + 140.0 + f64::from(line) * 36.0,
                        r,
                        [40, 44, 52],
                    );
                }
            }
        }
    }
    if changed {
        for i in 0..30u32 {
            disc(
                &mut img,
                700.0 + f64::from(i) * 100.0,
                1950.0 + f64::from(i % 3) * 20.0,
                10.0,
                [230, 60, 60],
            );
        }
    }
    img
}

fn dump_if_asked(a: &RgbaImage, b: &RgbaImage) {
    let Ok(dir) = std::env::var("STEADFAST_VISUAL_BENCH_DUMP") else {
        return;
    };
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir).expect("create dump dir");
    a.save(dir.join("a.png")).expect("write a.png");
    b.save(dir.join("b.png")).expect("write b.png");
}

fn png(img: &RgbaImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode");
    out.into_inner()
}

fn bench(c: &mut Criterion) {
    let a = scene(false);
    let b = scene(true);
    dump_if_asked(&a, &b);
    let reference = compare(&a, &b, &Options::new()).expect("compare");
    let changed = a.pixels().zip(b.pixels()).filter(|(p, q)| p != q).count();
    eprintln!(
        "visual bench: {changed} pixels changed, {} of {} counted as different ({:.3}%)",
        reference.diff_pixels(),
        reference.total_pixels(),
        reference.ratio() * 100.0
    );

    let mut g = c.benchmark_group("visual_4k_1pct");
    g.sample_size(20);
    // Like blazediff and pixelmatch-js below, the diff buffer is allocated
    // once and reused; `_fresh_buffer` allocates a new diff image per call.
    let mut diff = RgbaImage::new(W, H);
    g.bench_function("steadfast_1_thread", |bn| {
        let o = Options::new();
        bn.iter(|| compare_into(black_box(&a), black_box(&b), &mut diff, &o).expect("compare"))
    });
    g.bench_function("steadfast_2_threads", |bn| {
        let o = Options::new().threads(2);
        bn.iter(|| compare_into(black_box(&a), black_box(&b), &mut diff, &o).expect("compare"))
    });
    g.bench_function("steadfast_1_thread_fresh_buffer", |bn| {
        bn.iter(|| compare(black_box(&a), black_box(&b), &Options::new()).expect("compare"))
    });
    g.bench_function("steadfast_1_thread_no_image", |bn| {
        let o = Options::new().diff_image(false);
        bn.iter(|| compare(black_box(&a), black_box(&b), &o).expect("compare"))
    });
    let ba = blazediff::Image {
        data: a.as_raw().clone(),
        width: W,
        height: H,
    };
    let bb = blazediff::Image {
        data: b.as_raw().clone(),
        width: W,
        height: H,
    };
    let mut bout = blazediff::Image::new(W, H);
    let bopts = blazediff::DiffOptions::default();
    g.bench_function("blazediff", |bn| {
        bn.iter(|| blazediff::diff(black_box(&ba), black_box(&bb), Some(&mut bout), &bopts))
    });
    let (pa, pb) = (png(&a), png(&b));
    g.sample_size(10);
    g.bench_function("pixelmatch_rs_with_png_decode", |bn| {
        bn.iter(|| {
            let mut out = Vec::new();
            pixelmatch::pixelmatch(
                black_box(&pa[..]),
                black_box(&pb[..]),
                Some(&mut out),
                None,
                None,
                None,
            )
            .expect("pixelmatch-rs")
        })
    });
    g.finish();

    let a2 = a.clone();
    let mut g = c.benchmark_group("visual_4k_identical");
    g.sample_size(20);
    g.bench_function("memcmp", |bn| {
        bn.iter(|| black_box(a.as_raw()) == black_box(a2.as_raw()))
    });
    g.bench_function("steadfast_no_image", |bn| {
        let o = Options::new().diff_image(false);
        bn.iter(|| compare(black_box(&a), black_box(&a2), &o).expect("compare"))
    });
    g.bench_function("steadfast_with_image", |bn| {
        let o = Options::new();
        bn.iter(|| compare_into(black_box(&a), black_box(&a2), &mut diff, &o).expect("compare"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
