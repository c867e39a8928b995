//! The `steadfast-visual` binary: exit codes, output and messages.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{fixtures, huge_png, scratch};

pub(crate) fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steadfast-visual"))
        .args(args)
        .output()
        .unwrap()
}

fn fixture(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn different_images_print_the_count_and_exit_1() {
    let out = run(&[
        "diff",
        &fixture("1a.png"),
        &fixture("1b.png"),
        "--threshold",
        "0.05",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "143\n");
}

#[test]
fn identical_images_exit_0() {
    let out = run(&["diff", &fixture("1a.png"), &fixture("1a.png")]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "0\n");
}

#[test]
fn within_either_tolerance_exits_0() {
    let (a, b) = (fixture("1a.png"), fixture("1b.png"));
    let pixels = run(&[
        "diff",
        &a,
        &b,
        "--threshold",
        "0.05",
        "--max-diff-pixels",
        "143",
    ]);
    assert_eq!(pixels.status.code(), Some(0));
    let too_few = run(&[
        "diff",
        &a,
        &b,
        "--threshold",
        "0.05",
        "--max-diff-pixels",
        "142",
    ]);
    assert_eq!(too_few.status.code(), Some(1));
    let ratio = run(&[
        "diff",
        &a,
        &b,
        "--threshold",
        "0.05",
        "--max-diff-ratio",
        "0.5",
    ]);
    assert_eq!(ratio.status.code(), Some(0));
}

#[test]
fn json_output_has_count_total_ratio_and_passed() {
    let out = run(&[
        "diff",
        &fixture("1a.png"),
        &fixture("1b.png"),
        "--threshold",
        "0.05",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let img = steadfast_visual::open(fixtures().join("1a.png")).unwrap();
    let total = u64::from(img.width()) * u64::from(img.height());
    assert_eq!(v["diff_pixels"], 143);
    assert_eq!(v["total_pixels"], total);
    assert_eq!(v["ratio"].as_f64().unwrap(), 143.0 / total as f64);
    assert_eq!(v["passed"], false);
}

#[test]
fn writes_the_diff_image_pixelmatch_writes() {
    let dir = scratch("cli-out");
    let diff = dir.join("diff.png");
    let out = run(&[
        "diff",
        &fixture("2a.png"),
        &fixture("2b.png"),
        "-o",
        diff.to_str().unwrap(),
        "--threshold",
        "0.05",
        "--alpha",
        "0.5",
        "--aa-color",
        "0,192,0",
        "--diff-color",
        "255,0,255",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "12437\n");
    let written = steadfast_visual::open(&diff).unwrap();
    let expected = steadfast_visual::open(fixtures().join("2diff.png")).unwrap();
    assert!(
        written == expected,
        "diff image differs from pixelmatch's 2diff.png"
    );
}

#[test]
fn white_background_option_reproduces_pixelmatch_6() {
    // 5a vs 5b differ only in translucent pixels: 6 with the checkerboard,
    // 0 over white (pixelmatch 6).
    let (a, b) = (fixture("5a.png"), fixture("5b.png"));
    let white = run(&[
        "diff",
        &a,
        &b,
        "--threshold",
        "0.05",
        "--background",
        "white",
    ]);
    assert_eq!(stdout(&white), "0\n");
    let checker = run(&["diff", &a, &b, "--threshold", "0.05"]);
    assert_eq!(stdout(&checker), "6\n");
}

pub(crate) fn assert_error(out: &Output, wanted: &str) {
    assert_eq!(out.status.code(), Some(2), "stdout: {}", stdout(out));
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "one line expected: {err}");
    assert!(err.starts_with("steadfast-visual: error: "), "{err}");
    assert!(err.contains(wanted), "{err} lacks {wanted}");
}

#[test]
fn size_mismatch_is_an_error_unless_union() {
    let (a, b) = (fixture("1a.png"), fixture("2a.png"));
    assert_error(&run(&["diff", &a, &b]), "image sizes do not match");
    let union = run(&["diff", &a, &b, "--union", "--json"]);
    assert_eq!(union.status.code(), Some(1), "{}", stderr(&union));
}

#[test]
fn unreadable_truncated_and_huge_files_exit_2() {
    let dir = scratch("cli-bad");
    assert_error(
        &run(&["diff", "/no/such.png", &fixture("1a.png")]),
        "cannot read image",
    );

    let truncated = dir.join("truncated.png");
    let bytes = std::fs::read(fixtures().join("1a.png")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    assert_error(
        &run(&["diff", truncated.to_str().unwrap(), &fixture("1a.png")]),
        "cannot decode image",
    );

    let huge = dir.join("huge.png");
    std::fs::write(&huge, huge_png(100_000, 100_000)).unwrap();
    assert_error(
        &run(&["diff", huge.to_str().unwrap(), huge.to_str().unwrap()]),
        "exceeds the decoding limits",
    );

    let text = dir.join("text.png");
    std::fs::write(&text, "hello").unwrap();
    let out = run(&["diff", text.to_str().unwrap(), &fixture("1a.png")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(Path::new(&text).exists());
}

#[test]
fn bad_options_exit_2_with_one_line() {
    let (a, b) = (fixture("1a.png"), fixture("1b.png"));
    assert_error(
        &run(&["diff", &a, &b, "--threshold", "abc"]),
        "--threshold must be a number",
    );
    assert_error(&run(&["diff", &a, &b, "--nope"]), "unknown option `--nope`");
    assert_error(&run(&["diff", &a]), "exactly two images");
}

#[test]
fn help_prints_usage_and_exits_0() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("usage: steadfast-visual diff A B"));
}
