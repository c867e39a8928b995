//! `diff_dir`: pairing, statuses, and results equal to `compare` per pair.

use std::path::{Path, PathBuf};

use image::RgbaImage;
use steadfast_visual::{
    DecodeLimits, DirOptions, DirStatus, ErrorKind, Options, compare, diff_dir, open,
};

use crate::support::{fixtures, scratch};

/// A suite of screenshots in `root/expected` and `root/actual`:
/// pixelmatch's seven fixture pairs under `pages/`, a byte-identical copy,
/// a re-encoded copy (other bytes, same pixels), a JPEG pair, one image
/// in each folder only, and a text file.
pub fn suite(root: &Path) -> (PathBuf, PathBuf) {
    let (expected, actual) = (root.join("expected"), root.join("actual"));
    for dir in [&expected, &actual] {
        std::fs::create_dir_all(dir.join("pages")).unwrap();
    }
    let copy = |fixture: &str, to: PathBuf| std::fs::copy(fixtures().join(fixture), to).unwrap();
    for n in 1..=7 {
        copy(
            &format!("{n}a.png"),
            expected.join(format!("pages/p{n}.png")),
        );
        copy(&format!("{n}b.png"), actual.join(format!("pages/p{n}.png")));
    }
    copy("1a.png", expected.join("same.png"));
    copy("1a.png", actual.join("same.png"));
    copy("3a.png", expected.join("reencoded.png"));
    let pixels = open(fixtures().join("3a.png")).unwrap();
    image::DynamicImage::ImageRgba8(pixels)
        .into_rgb8()
        .save(actual.join("reencoded.png"))
        .unwrap();
    for (fixture, dir) in [("4a.png", &expected), ("4b.png", &actual)] {
        let rgb = image::DynamicImage::ImageRgba8(open(fixtures().join(fixture)).unwrap());
        rgb.into_rgb8().save(dir.join("photo.jpg")).unwrap();
    }
    copy("5a.png", expected.join("gone.png"));
    copy("6a.png", actual.join("added.png"));
    std::fs::write(actual.join("notes.txt"), "not an image").unwrap();
    (expected, actual)
}

/// The comparison options of these tests: pixelmatch's suite threshold,
/// and a tolerance that lets the smallest change (`p5`, 6 pixels) pass.
fn options() -> Options {
    Options::new().threshold(0.05).max_diff_pixels(6)
}

#[test]
fn counts_and_diff_images_equal_compare_for_every_pair_on_every_thread_count() {
    let root = scratch("dir-differential");
    let (expected, actual) = suite(&root);
    for threads in [1, 2, 3, 16] {
        let out = root.join(format!("diff-{threads}"));
        let dir_options = DirOptions::new()
            .compare(options())
            .output(&out)
            .threads(threads);
        let report = diff_dir(&expected, &actual, &dir_options).unwrap();
        let mut compared = 0;
        for entry in report.entries() {
            let (a, b) = (expected.join(entry.path()), actual.join(entry.path()));
            if !(a.exists() && b.exists()) {
                continue;
            }
            compared += 1;
            let label = format!("{} on {threads} threads", entry.path().display());
            let want = compare(&open(&a).unwrap(), &open(&b).unwrap(), &options()).unwrap();
            assert_eq!(entry.diff_pixels(), Some(want.diff_pixels()), "{label}");
            assert_eq!(entry.total_pixels(), Some(want.total_pixels()), "{label}");
            let status = match (want.diff_pixels(), want.is_passed()) {
                (0, _) => DirStatus::Equal,
                (_, true) => DirStatus::WithinTolerance,
                (_, false) => DirStatus::Different,
            };
            assert_eq!(entry.status(), status, "{label}");
            match entry.diff_image() {
                Some(path) => {
                    let written: RgbaImage = open(path).unwrap();
                    assert!(
                        &written == want.diff_image().unwrap(),
                        "{label}: diff image differs from compare's"
                    );
                }
                None => assert_eq!(status, DirStatus::Equal, "{label}: no diff image"),
            }
        }
        assert_eq!(compared, 10, "pairs compared on {threads} threads");
        assert_eq!(report.get("gone.png").unwrap().status(), DirStatus::Missing);
        assert_eq!(report.get("added.png").unwrap().status(), DirStatus::New);
        assert!(report.get("notes.txt").is_none());
        assert_eq!(report.count(DirStatus::WithinTolerance), 1, "p5");
        assert_eq!(report.get("same.png").unwrap().status(), DirStatus::Equal);
        assert_eq!(report.get("reencoded.png").unwrap().diff_pixels(), Some(0));
        assert!(!report.is_passed() && !report.has_errors());
    }
}

#[test]
fn byte_identical_files_are_equal_without_being_decoded() {
    // A PNG whose pixel data is cut off cannot be decoded, but two
    // byte-identical copies of it are equal: the files are not decoded.
    let root = scratch("dir-identical");
    let bytes = std::fs::read(fixtures().join("2a.png")).unwrap();
    let cut = &bytes[..bytes.len() / 2];
    for dir in ["expected", "actual"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        std::fs::write(root.join(dir).join("cut.png"), cut).unwrap();
    }
    let report = diff_dir(
        root.join("expected"),
        root.join("actual"),
        &DirOptions::new(),
    )
    .unwrap();
    let entry = report.get("cut.png").unwrap();
    assert_eq!(entry.status(), DirStatus::Equal);
    let (w, h) = open(fixtures().join("2a.png")).unwrap().dimensions();
    assert_eq!(entry.total_pixels(), Some(u64::from(w) * u64::from(h)));
    assert!(report.is_passed());
}

#[test]
fn a_bad_pair_is_an_error_entry_and_the_others_are_still_compared() {
    let root = scratch("dir-bad");
    let (expected, actual) = suite(&root);
    let bytes = std::fs::read(fixtures().join("2b.png")).unwrap();
    std::fs::write(actual.join("pages/p2.png"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::copy(fixtures().join("2a.png"), actual.join("same.png")).unwrap();
    let report = diff_dir(&expected, &actual, &DirOptions::new().compare(options())).unwrap();
    let truncated = report.get("pages/p2.png").unwrap();
    assert_eq!(truncated.status(), DirStatus::Error);
    let err = truncated.error().unwrap();
    assert_eq!(err.kind(), ErrorKind::Image);
    assert_eq!(err.path(), Some(actual.join("pages/p2.png").as_path()));
    assert!(
        std::error::Error::source(err).is_some(),
        "decoder message kept"
    );
    let resized = report.get("same.png").unwrap();
    assert_eq!(resized.error().unwrap().kind(), ErrorKind::SizeMismatch);
    assert_eq!(report.count(DirStatus::Error), 2);
    assert_eq!(report.get("pages/p1.png").unwrap().diff_pixels(), Some(143));
    assert!(report.has_errors());
}

#[test]
fn the_memory_limit_applies_to_every_pair() {
    let root = scratch("dir-limit");
    let (expected, actual) = suite(&root);
    let mut limits = DecodeLimits::default();
    limits.max_bytes = 1000;
    let report = diff_dir(&expected, &actual, &DirOptions::new().limits(limits)).unwrap();
    let entry = report.get("pages/p1.png").unwrap();
    let err = entry.error().unwrap();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert!(
        err.to_string()
            .contains("more than the limit of 1000 bytes"),
        "{err}"
    );
    // Byte-identical files are not decoded, so the limit does not apply.
    assert_eq!(report.get("same.png").unwrap().status(), DirStatus::Equal);
}

#[test]
fn diff_images_written_inside_the_actual_folder_are_not_new_images() {
    let root = scratch("dir-inside");
    let (expected, actual) = suite(&root);
    let options = DirOptions::new()
        .compare(options())
        .output(actual.join("diff"));
    let first = diff_dir(&expected, &actual, &options).unwrap();
    assert!(actual.join("diff/pages/p1.png").exists());
    assert!(actual.join("diff/photo.jpg.png").exists());
    let second = diff_dir(&expected, &actual, &options).unwrap();
    assert_eq!(second.entries().len(), first.entries().len());
    assert_eq!(second.count(DirStatus::New), 1);
}

#[test]
fn missing_folders_and_bad_options_fail_the_whole_run() {
    let root = scratch("dir-missing");
    let err = diff_dir(root.join("nope"), &root, &DirOptions::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert_eq!(err.path(), Some(root.join("nope").as_path()));
    let bad = DirOptions::new().compare(Options::new().threshold(2.0));
    let err = diff_dir(&root, &root, &bad).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOption);
}

#[test]
fn empty_folders_pass() {
    let root = scratch("dir-empty");
    let report = diff_dir(&root, &root, &DirOptions::new()).unwrap();
    assert!(report.entries().is_empty() && report.is_passed());
}
