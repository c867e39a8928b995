//! `steadfast-visual diff-dir`: the same counts and diff images as `diff`
//! per pair, exit codes, JSON and text output, the memory cap.

use std::path::Path;

use serde_json::Value;

use crate::cli::{assert_error, run, stderr, stdout};
use crate::diff_dir::suite;
use crate::support::{fixtures, huge_png, scratch};

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(stdout(out).trim()).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

const OPTIONS: [&str; 4] = ["--threshold", "0.05", "--max-diff-pixels", "6"];

#[test]
fn counts_and_diff_images_equal_diff_for_every_pair_on_every_thread_count() {
    let root = scratch("cli-dir-differential");
    let (expected, actual) = suite(&root);
    for threads in ["1", "2", "5"] {
        let out_dir = root.join(format!("diff-{threads}"));
        let mut args = vec![
            "diff-dir",
            s(&expected),
            s(&actual),
            "-o",
            s(&out_dir),
            "--json",
            "--threads",
            threads,
        ];
        args.extend(OPTIONS);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let report = json(&out);
        let images = report["images"].as_object().unwrap();
        let mut pairs = 0;
        for (path, entry) in images {
            let (a, b) = (expected.join(path), actual.join(path));
            if !(a.exists() && b.exists()) {
                continue;
            }
            pairs += 1;
            let single = root.join(format!("single-{threads}.png"));
            let mut args = vec!["diff", s(&a), s(&b), "-o", s(&single), "--json"];
            args.extend(OPTIONS);
            let one = run(&args);
            let want = json(&one);
            let label = format!("{path} on {threads} threads");
            assert_eq!(entry["diff_pixels"], want["diff_pixels"], "{label}");
            assert_eq!(entry["total_pixels"], want["total_pixels"], "{label}");
            assert_eq!(
                entry["status"].as_str().unwrap() != "different",
                want["passed"] == true
            );
            assert_eq!(
                one.status.code(),
                Some(if want["passed"] == true { 0 } else { 1 })
            );
            if want["diff_pixels"] == 0 {
                assert_eq!(entry["status"], "equal", "{label}");
                assert_eq!(entry["diff_image"], Value::Null, "{label}");
            } else {
                let written = entry["diff_image"].as_str().unwrap();
                assert_eq!(
                    steadfast_visual::open(written).unwrap(),
                    steadfast_visual::open(&single).unwrap(),
                    "{label}: diff image"
                );
            }
        }
        assert_eq!(pairs, 10);
        let totals = &report["totals"];
        assert_eq!(totals["images"], 12);
        assert_eq!(
            (totals["missing"].clone(), totals["new"].clone()),
            (1.into(), 1.into())
        );
        assert_eq!(report["passed"], false);
        assert_eq!(report["schema"], "steadfast-visual/diff-dir/v1");
    }
}

#[test]
fn equal_folders_exit_0_and_print_the_totals() {
    let root = scratch("cli-dir-equal");
    let (expected, _) = suite(&root);
    let out = run(&["diff-dir", s(&expected), s(&expected)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "11 images: 11 equal, 0 within tolerance, 0 different, 0 missing, 0 new, 0 errors\n"
    );
}

#[test]
fn text_output_lists_each_image_that_is_not_equal() {
    let root = scratch("cli-dir-text");
    let (expected, actual) = suite(&root);
    let mut args = vec!["diff-dir", s(&expected), s(&actual)];
    args.extend(OPTIONS);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.contains(&"new              added.png"), "{text}");
    assert!(lines.contains(&"missing          gone.png"), "{text}");
    assert!(
        lines.contains(&"different        pages/p1.png  143 pixels (0.109%)"),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("within-tolerance pages/p5.png  6 pixels"))
    );
    assert_eq!(
        lines.last(),
        Some(&"12 images: 2 equal, 1 within tolerance, 7 different, 1 missing, 1 new, 0 errors")
    );
}

#[test]
fn a_bad_file_exits_2_naming_it_after_the_report() {
    let root = scratch("cli-dir-bad");
    let (expected, actual) = suite(&root);
    let bytes = std::fs::read(fixtures().join("2b.png")).unwrap();
    std::fs::write(actual.join("pages/p2.png"), &bytes[..bytes.len() / 2]).unwrap();
    let out = run(&["diff-dir", s(&expected), s(&actual), "--json"]);
    assert_error(&out, "pages/p2.png: cannot decode image of");
    assert_eq!(json(&out)["images"]["pages/p2.png"]["status"], "error");
}

#[test]
fn a_missing_folder_exits_2() {
    let root = scratch("cli-dir-missing");
    let out = run(&["diff-dir", s(&root.join("nope")), s(&root)]);
    assert_error(&out, "cannot read folder");
    assert_eq!(stdout(&out), "");
}

#[test]
fn max_image_bytes_caps_memory_and_names_the_size_and_the_limit() {
    let dir = scratch("cli-limit");
    let (a, b) = (fixtures().join("1a.png"), fixtures().join("1b.png"));
    let capped = run(&["diff", s(&a), s(&b), "--max-image-bytes", "1000"]);
    assert_error(&capped, "bytes as RGBA8, more than the limit of 1000 bytes");
    let img = steadfast_visual::open(&a).unwrap();
    assert!(stderr(&capped).contains(&format!("image of {}x{} pixels", img.width(), img.height())));
    let enough = run(&["diff", s(&a), s(&b), "--max-image-bytes", "100000000"]);
    assert_eq!(enough.status.code(), Some(1), "{}", stderr(&enough));

    let huge = dir.join("huge.png");
    std::fs::write(&huge, huge_png(20_000, 20_000)).unwrap();
    let out = run(&["diff", s(&huge), s(&huge)]);
    assert_error(
        &out,
        "image of 20000x20000 pixels needs 1600000000 bytes as RGBA8, more than the limit of \
         1073741824 bytes",
    );
}

#[test]
fn decoder_messages_reach_the_error_line() {
    let dir = scratch("cli-decoder-message");
    let truncated = dir.join("truncated.png");
    let bytes = std::fs::read(fixtures().join("1a.png")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let a = fixtures().join("1a.png");
    let out = run(&["diff", s(&truncated), s(&a)]);
    // Our message, the path, then the decoder's own words after a colon.
    let err = stderr(&out);
    let ours = format!(
        "cannot decode image of 512x256 pixels (path: {}): ",
        s(&truncated)
    );
    assert_error(&out, &ours);
    assert!(
        err.trim_end().len() > err.find(&ours).unwrap() + ours.len(),
        "{err}"
    );
}
