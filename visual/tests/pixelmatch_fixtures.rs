//! pixelmatch 7.2.0's own test suite (`test/test.js` at tag v7.2.0), run
//! against the fixtures and expected values in `fixtures/pixelmatch/`.
//!
//! Expected counts come from `cases.json`; expected diff images are the
//! PNGs pixelmatch's suite compares against, decoded to RGBA bytes.
//! pixelmatch's third error case (a plain JS array instead of a byte array)
//! cannot be expressed in Rust: the signatures take `&[u8]`/`RgbaImage`.

use std::path::{Path, PathBuf};

use serde_json::Value;
use steadfast_visual::{Background, ErrorKind, Options, compare, compare_into, compare_raw, open};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pixelmatch")
}

fn cases() -> Value {
    let text = std::fs::read_to_string(fixtures().join("cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn color(v: &Value) -> [u8; 3] {
    let a = v.as_array().unwrap();
    [0, 1, 2].map(|i| u8::try_from(a[i].as_u64().unwrap()).unwrap())
}

/// Map pixelmatch's JS option object onto [`Options`].
fn options_from_js(js: &Value) -> Options {
    let mut o = Options::new();
    for (key, v) in js.as_object().unwrap() {
        o = match key.as_str() {
            "threshold" => o.threshold(v.as_f64().unwrap()),
            "includeAA" => o.include_aa(v.as_bool().unwrap()),
            "alpha" => o.alpha(v.as_f64().unwrap()),
            "aaColor" => o.aa_color(color(v)),
            "diffColor" => o.diff_color(color(v)),
            "diffColorAlt" => o.diff_color_alt(color(v)),
            "diffMask" => o.diff_mask(v.as_bool().unwrap()),
            "checkerboard" if v == &Value::Bool(false) => o.background(Background::White),
            other => panic!("unknown pixelmatch option {other}"),
        };
    }
    o
}

fn check_case(case: &Value, diff_dir: &Path, background: Background, expected: u64) {
    let name = |k: &str| case[k].as_str().unwrap().to_owned();
    let a = open(fixtures().join(name("img1"))).unwrap();
    let b = open(fixtures().join(name("img2"))).unwrap();
    let options = options_from_js(&case["options"]).background(background);
    let label = format!("{} vs {} -> {}", name("img1"), name("img2"), name("diff"));

    let with_output = compare(&a, &b, &options).unwrap();
    assert_eq!(
        with_output.diff_pixels(),
        expected,
        "{label}: count with output"
    );
    let expected_diff = open(diff_dir.join(name("diff"))).unwrap();
    let actual_diff = with_output.diff_image().unwrap();
    assert_eq!(
        actual_diff.dimensions(),
        expected_diff.dimensions(),
        "{label}"
    );
    let mismatched_bytes = actual_diff
        .as_raw()
        .iter()
        .zip(expected_diff.as_raw())
        .filter(|(x, y)| x != y)
        .count();
    assert_eq!(mismatched_bytes, 0, "{label}: diff image bytes differ");

    let without_output = compare(&a, &b, &options.clone().diff_image(false)).unwrap();
    assert_eq!(
        without_output.diff_pixels(),
        expected,
        "{label}: count without output"
    );
    assert!(without_output.diff_image().is_none());

    // A reused, dirty buffer ends up with the same bytes.
    let mut reused = image::RgbaImage::from_pixel(a.width(), a.height(), image::Rgba([0xAB; 4]));
    let into = compare_into(&a, &b, &mut reused, &options).unwrap();
    assert_eq!(into.diff_pixels(), expected, "{label}: count into a buffer");
    assert!(
        reused == *actual_diff,
        "{label}: diff bytes into a reused buffer"
    );

    for threads in [2, 3, 7] {
        let parallel = compare(&a, &b, &options.clone().threads(threads)).unwrap();
        assert_eq!(parallel, with_output, "{label}: {threads} threads");
    }
}

#[test]
fn every_pixelmatch_case_matches_counts_and_diff_bytes() {
    let cases = cases();
    let all = cases["cases"].as_array().unwrap();
    assert_eq!(all.len(), 12);
    for case in all {
        let expected = case["expected_mismatch"].as_u64().unwrap();
        check_case(case, &fixtures(), Background::Checkerboard, expected);
    }
}

#[test]
fn white_background_matches_pixelmatch_6_diffs() {
    let cases = cases();
    let key = "v5.3.0/v6.0.0 (YIQ, alpha blended over white)";
    let mut checked = 0;
    for case in cases["cases"].as_array().unwrap() {
        let diff = case["diff"].as_str().unwrap();
        let dir = fixtures().join("diffs-v6.0.0");
        if !dir.join(diff).exists() {
            continue;
        }
        let expected = case["expected_mismatch_by_version"][key].as_u64().unwrap();
        check_case(case, &dir, Background::White, expected);
        checked += 1;
    }
    assert_eq!(checked, 10);
}

#[test]
fn inline_cases_match() {
    let cases = cases();
    for case in cases["inline_cases"].as_array().unwrap() {
        let bytes = |k: &str| -> Vec<u8> {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| u8::try_from(v.as_u64().unwrap()).unwrap())
                .collect()
        };
        let (w, h) = (
            case["width"].as_u64().unwrap(),
            case["height"].as_u64().unwrap(),
        );
        let options = options_from_js(&case["options"]);
        let result = compare_raw(
            &bytes("img1_rgba"),
            &bytes("img2_rgba"),
            u32::try_from(w).unwrap(),
            u32::try_from(h).unwrap(),
            &options,
        )
        .unwrap();
        let expected = case["expected_mismatch"].as_u64().unwrap();
        assert_eq!(result.diff_pixels(), expected, "{}", case["name"]);
    }
}

#[test]
fn error_cases_are_typed_errors_with_pixelmatch_wording() {
    let cases = cases();
    let errors = cases["error_cases"].as_array().unwrap();
    for case in errors.iter().filter(|c| c.get("img1_len").is_some()) {
        let len = |k: &str| usize::try_from(case[k].as_u64().unwrap()).unwrap();
        let (a, b) = (vec![0u8; len("img1_len")], vec![0u8; len("img2_len")]);
        let (w, h) = (
            case["width"].as_u64().unwrap(),
            case["height"].as_u64().unwrap(),
        );
        let err = compare_raw(
            &a,
            &b,
            u32::try_from(w).unwrap(),
            u32::try_from(h).unwrap(),
            &Options::new(),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::SizeMismatch);
        let wanted = case["error_contains"].as_str().unwrap().to_lowercase();
        assert!(err.to_string().contains(&wanted), "{err} lacks {wanted}");
    }
}
