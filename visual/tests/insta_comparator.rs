//! The insta comparator on real insta binary snapshots read from disk.

use std::path::Path;

use image::{Rgba, RgbaImage};
use insta::{Comparator, Snapshot};
use steadfast_visual::{InstaComparator, Options, open};

use crate::support::{fixtures, scratch};

/// Write `img` as an insta binary snapshot (`.snap` + `.snap.png`) and
/// read it back through insta.
fn insta_snapshot(dir: &Path, name: &str, png: &[u8]) -> Snapshot {
    let snap = dir.join(format!("{name}.snap"));
    std::fs::write(
        &snap,
        "---\nsource: tests/x.rs\nexpression: img\nextension: png\nsnapshot_kind: binary\n---\n",
    )
    .unwrap();
    std::fs::write(dir.join(format!("{name}.snap.png")), png).unwrap();
    Snapshot::from_file(&snap).unwrap()
}

fn png(img: &RgbaImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn tolerates_changes_within_the_options_and_rejects_others() {
    let dir = scratch("insta");
    let base = open(fixtures().join("1a.png")).unwrap();
    let mut changed = base.clone();
    changed.put_pixel(3, 3, Rgba([255, 0, 0, 255]));
    let reference = insta_snapshot(&dir, "a", &png(&base));
    let test = insta_snapshot(&dir, "b", &png(&changed));

    let strict = InstaComparator::new(Options::new().include_aa(true));
    assert!(!strict.matches(&reference, &test));
    let tolerant = InstaComparator::new(Options::new().include_aa(true).max_diff_pixels(1));
    assert!(tolerant.matches(&reference, &test));
    assert!(tolerant.matches_fully(&reference, &test));
    assert!(tolerant.dyn_clone().matches(&reference, &test));

    let other_size = insta_snapshot(&dir, "c", &png(&RgbaImage::new(3, 3)));
    assert!(
        !InstaComparator::new(Options::new().max_diff_ratio(1.0)).matches(&reference, &other_size)
    );
}

#[test]
fn non_images_fall_back_to_byte_equality() {
    let dir = scratch("insta-bytes");
    let a = insta_snapshot(&dir, "a", b"not a png");
    let b = insta_snapshot(&dir, "b", b"not a png");
    let c = insta_snapshot(&dir, "c", b"not a png!");
    let cmp = InstaComparator::default();
    assert!(cmp.matches(&a, &b));
    assert!(!cmp.matches(&a, &c));
}
