//! Property tests of the comparison.

use image::{Rgba, RgbaImage};
use proptest::prelude::*;
use steadfast_visual::{Background, Options, Rect, SizeMismatch, compare};

/// Random images up to 24×24 with a few colours, so runs, equal neighbours
/// and anti-aliasing candidates all occur; alpha varies too.
fn image() -> impl Strategy<Value = RgbaImage> {
    (1u32..24, 1u32..24).prop_flat_map(|(w, h)| {
        let palette = prop::sample::select(vec![
            [0, 0, 0, 255],
            [255, 255, 255, 255],
            [128, 128, 128, 255],
            [200, 30, 30, 255],
            [10, 10, 10, 0],
            [90, 160, 220, 128],
        ]);
        prop::collection::vec(palette, (w * h) as usize)
            .prop_map(move |px| RgbaImage::from_fn(w, h, |x, y| Rgba(px[(y * w + x) as usize])))
    })
}

fn pair() -> impl Strategy<Value = (RgbaImage, RgbaImage)> {
    image().prop_flat_map(|a| {
        let (w, h) = a.dimensions();
        let edits = prop::collection::vec((0..w, 0..h, any::<[u8; 4]>()), 0..12);
        (Just(a), edits).prop_map(|(a, edits)| {
            let mut b = a.clone();
            for (x, y, p) in edits {
                b.put_pixel(x, y, Rgba(p));
            }
            (a, b)
        })
    })
}

proptest! {
    #[test]
    fn identical_images_have_no_differences(a in image(), t in 0.0f64..=1.0) {
        let result = compare(&a, &a.clone(), &Options::new().threshold(t)).unwrap();
        prop_assert_eq!(result.diff_pixels(), 0);
        prop_assert!(result.is_passed());
    }

    #[test]
    fn one_changed_pixel_beyond_the_threshold_counts_once(
        (w, h) in (1u32..20, 1u32..20),
        (fx, fy) in (0.0f64..1.0, 0.0f64..1.0),
        dark in any::<bool>(),
    ) {
        let (bg, fg) = if dark { ([255; 4], [0, 0, 0, 255]) } else { ([0, 0, 0, 255], [255; 4]) };
        let a = RgbaImage::from_pixel(w, h, Rgba(bg));
        let mut b = a.clone();
        let (x, y) = ((fx * f64::from(w)) as u32, (fy * f64::from(h)) as u32);
        b.put_pixel(x, y, Rgba(fg));
        let result = compare(&a, &b, &Options::new().include_aa(true)).unwrap();
        prop_assert_eq!(result.diff_pixels(), 1);
        let diff = result.diff_image().unwrap();
        prop_assert_eq!(diff.get_pixel(x, y).0, [255, 0, 0, 255]);
    }

    #[test]
    fn threads_give_identical_results(
        (a, b) in pair(),
        threads in 2usize..9,
        t in prop::sample::select(vec![0.0, 0.05, 0.1, 0.5]),
        aa in any::<bool>(),
        mask in any::<bool>(),
        white in any::<bool>(),
    ) {
        let bg = if white { Background::White } else { Background::Checkerboard };
        let o = Options::new().threshold(t).include_aa(aa).diff_mask(mask).background(bg);
        let single = compare(&a, &b, &o).unwrap();
        let multi = compare(&a, &b, &o.clone().threads(threads)).unwrap();
        prop_assert_eq!(&single, &multi);
        let count_only = compare(&a, &b, &o.diff_image(false)).unwrap();
        prop_assert_eq!(count_only.diff_pixels(), single.diff_pixels());
    }

    #[test]
    fn ignored_regions_never_count((a, b) in pair(), x in 0u32..24, y in 0u32..24) {
        let all = compare(&a, &b, &Options::new().include_aa(true)).unwrap();
        let region = Rect::new(x, y, 6, 6);
        let ignored = compare(&a, &b, &Options::new().include_aa(true).ignore(region)).unwrap();
        let inside = a
            .enumerate_pixels()
            .filter(|(px, py, p)| region.contains(*px, *py) && **p != *b.get_pixel(*px, *py))
            .count() as u64;
        prop_assert!(ignored.diff_pixels() <= all.diff_pixels());
        prop_assert!(all.diff_pixels() - ignored.diff_pixels() <= inside);
    }

    #[test]
    fn union_canvas_counts_the_non_overlapping_area(a in image(), b in image()) {
        let union = compare(&a, &b, &Options::new().size_mismatch(SizeMismatch::Union)).unwrap();
        let (w, h) = (a.width().max(b.width()), a.height().max(b.height()));
        let overlap = u64::from(a.width().min(b.width())) * u64::from(a.height().min(b.height()));
        prop_assert_eq!(union.dimensions(), (w, h));
        prop_assert!(union.diff_pixels() >= u64::from(w) * u64::from(h) - overlap);
    }
}
