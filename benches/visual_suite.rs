//! Speed of `diff_dir` on a suite of 500 screenshot pairs (1280×720, a
//! fifth changed) and of open + compare + save on one 37-megapixel pair.
//!
//! The images are generated here (`support/screens.rs`) and encoded as
//! browsers write screenshots (zlib level 6, adaptive filters). The suite
//! comes in two forms: `actual/`, where unchanged screenshots are
//! byte-identical copies (a renderer that did not change), and
//! `actual-reencoded/`, where they hold the same pixels in other bytes,
//! so every pair is decoded. They are written once to
//! `STEADFAST_VISUAL_SUITE_DIR` (default `target/tmp/steadfast-visual-suite`)
//! and reused while the generator's version is unchanged. The group
//! `visual_codec_720p` compares this crate's PNG decoding and diff-image
//! encoding with the `image` crate's defaults on one page;
//! `visual/scripts/compare-suite.sh` runs this bench and times odiff and
//! reg-cli on the same files in the same run.

mod support;

use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use image::RgbaImage;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use steadfast::visual::{
    DirOptions, DirStatus, Options, compare, decode, diff_dir, open, save_png,
};
use support::screens::{change, screenshot};

/// Bump when the generated images change, so old suites are rewritten.
const VERSION: &str = "steadfast-visual-suite 1";
const PAIRS: u64 = 500;
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;
/// 37 megapixels: a long page screenshot.
const LARGE: (u32, u32) = (2560, 14464);

fn suite_dir() -> PathBuf {
    std::env::var_os("STEADFAST_VISUAL_SUITE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("steadfast-visual-suite"))
}

fn encode(img: &RgbaImage, compression: CompressionType) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder = PngEncoder::new_with_quality(&mut out, compression, FilterType::Adaptive);
    img.write_with_encoder(encoder).expect("encode png");
    out
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create folder");
    std::fs::write(path, bytes).expect("write image");
}

/// Pair `i` lives in a folder per hundred, as suites group by page.
fn pair_path(i: u64) -> PathBuf {
    PathBuf::from(format!("group-{}/page-{i:03}.png", i / 100))
}

fn generate_pair(dir: &Path, i: u64) {
    let a = screenshot(WIDTH, HEIGHT, i);
    let bytes = encode(&a, CompressionType::Default);
    let path = pair_path(i);
    write(&dir.join("expected").join(&path), &bytes);
    if i.is_multiple_of(5) {
        let mut b = a;
        change(&mut b, i);
        let changed = encode(&b, CompressionType::Default);
        write(&dir.join("actual").join(&path), &changed);
        write(&dir.join("actual-reencoded").join(&path), &changed);
    } else {
        write(&dir.join("actual").join(&path), &bytes);
        let other = encode(&a, CompressionType::Fast);
        write(&dir.join("actual-reencoded").join(&path), &other);
    }
}

/// Write the suite and the large pair unless this version is there.
fn generate(dir: &Path) {
    let ready = dir.join("READY");
    if std::fs::read_to_string(&ready).is_ok_and(|v| v == VERSION) {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    std::thread::scope(|scope| {
        for t in 0..threads {
            scope.spawn(move || {
                for i in (t..PAIRS).step_by(threads as usize) {
                    generate_pair(dir, i);
                }
            });
        }
    });
    let a = screenshot(LARGE.0, LARGE.1, 9_999);
    let mut b = a.clone();
    change(&mut b, 9_999);
    write(
        &dir.join("large/a.png"),
        &encode(&a, CompressionType::Default),
    );
    write(
        &dir.join("large/b.png"),
        &encode(&b, CompressionType::Default),
    );
    std::fs::write(&ready, VERSION).expect("write READY");
}

fn bench(c: &mut Criterion) {
    let dir = suite_dir();
    generate(&dir);
    eprintln!("visual suite: {}", dir.display());
    let out = dir.join("diff-criterion");
    // odiff and reg-cli count anti-aliased pixels too; so do we here.
    let options = DirOptions::new()
        .compare(Options::new().include_aa(true))
        .output(&out);
    let expected = dir.join("expected");

    let mut g = c.benchmark_group("visual_suite_500x720p");
    g.sample_size(10);
    for (name, actual) in [("identical", "actual"), ("reencoded", "actual-reencoded")] {
        let actual = dir.join(actual);
        let report = diff_dir(&expected, &actual, &options).expect("diff_dir");
        eprintln!(
            "visual suite {name}: {} pairs, {} equal, {} different",
            report.entries().len(),
            report.count(DirStatus::Equal),
            report.count(DirStatus::Different)
        );
        assert_eq!(report.count(DirStatus::Different) as u64, PAIRS / 5);
        g.bench_function(format!("diff_dir_{name}"), |bn| {
            bn.iter(|| diff_dir(&expected, &actual, &options).expect("diff_dir"))
        });
    }
    g.finish();

    // The codec choices of `fast_png.rs`, on one changed pair of the suite.
    let page = std::fs::read(dir.join("expected").join(pair_path(0))).expect("read page");
    let mut g = c.benchmark_group("visual_codec_720p");
    g.bench_function("decode_steadfast", |bn| {
        bn.iter(|| decode(&page).expect("decode"))
    });
    g.bench_function("decode_image_crate", |bn| {
        bn.iter(|| image::load_from_memory(&page).expect("decode").into_rgba8())
    });
    let expected_page = open(dir.join("expected").join(pair_path(0))).expect("open");
    let actual_page = open(dir.join("actual").join(pair_path(0))).expect("open");
    let diff_page = compare(&expected_page, &actual_page, &Options::new())
        .expect("compare")
        .into_diff_image()
        .expect("diff image");
    let written = out.join("codec.png");
    g.bench_function("encode_diff_steadfast_save_png", |bn| {
        bn.iter(|| save_png(&written, &diff_page).expect("save"))
    });
    g.bench_function("encode_diff_image_crate_default", |bn| {
        bn.iter(|| diff_page.save(&written).expect("save"))
    });
    g.finish();

    let (a, b) = (dir.join("large/a.png"), dir.join("large/b.png"));
    let diff = out.join("large.png");
    let mut g = c.benchmark_group("visual_37mp");
    g.sample_size(10);
    // What `steadfast-visual diff a b -o diff.png --include-aa` does.
    g.bench_function("open_compare_save", |bn| {
        bn.iter(|| {
            let (ia, ib) = std::thread::scope(|scope| {
                let ia = scope.spawn(|| open(&a).expect("open a"));
                (ia.join().expect("decoder"), open(&b).expect("open b"))
            });
            let options = Options::new().include_aa(true).threads(0);
            let result = compare(&ia, &ib, &options).expect("compare");
            save_png(&diff, result.diff_image().expect("diff image")).expect("save");
            result.diff_pixels()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
