//! Snapshot flow: missing, matching, changed, updates, CI, settings.

use std::collections::HashMap;
use std::ffi::OsString;
use std::panic::{AssertUnwindSafe, PanicHookInfo, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use image::{Rgba, RgbaImage};
use steadfast_visual::{ErrorKind, Rect, Snapshot, Status, VisualDir, assert_snapshot, open};

use crate::support::{fixtures, scratch, square};

/// A snapshot in a scratch folder reading only the given variables, and
/// `CARGO_TARGET_DIR` naming `dir/target` (where the run record goes).
fn snap(dir: &Path, name: &str, vars: &[(&str, &str)]) -> Snapshot {
    let mut map: HashMap<String, OsString> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    map.insert("CARGO_TARGET_DIR".into(), dir.join("target").into());
    Snapshot::new(name)
        .snapshot_dir(dir.join("snapshots"))
        .artifact_dir(dir.join("artifacts").join(name))
        .with_env(move |k| map.get(k).cloned())
}

fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    err.downcast_ref::<String>().cloned().unwrap_or_default()
}

fn baseline(dir: &Path, name: &str) -> PathBuf {
    dir.join("snapshots").join(format!("{name}.png"))
}

#[test]
fn missing_baseline_is_written_locally() {
    let dir = scratch("snap-missing");
    let img = square([0, 0, 0, 255]);
    let outcome = snap(&dir, "ui/square", &[]).check(&img).unwrap();
    assert_eq!(outcome.status(), Status::Created);
    assert_eq!(open(baseline(&dir, "ui/square")).unwrap(), img);
    let again = snap(&dir, "ui/square", &[]).check(&img).unwrap();
    assert_eq!(again.status(), Status::Matched);
}

#[test]
fn missing_baseline_fails_on_ci_without_writing() {
    let dir = scratch("snap-ci");
    let img = square([0, 0, 0, 255]);
    let s = snap(&dir, "square", &[("CI", "true")]);
    let message = panic_message(|| s.assert(&img));
    assert!(
        message.starts_with("steadfast: snapshot `square` has no baseline"),
        "{message}"
    );
    assert!(message.contains("STEADFAST_UPDATE=missing"), "{message}");
    assert!(!baseline(&dir, "square").exists());
    assert!(dir.join("artifacts/square/actual.png").exists());
}

#[test]
fn changed_image_fails_with_counts_tolerance_and_artifacts() {
    let dir = scratch("snap-changed");
    snap(&dir, "square", &[]).assert(&square([0, 0, 0, 255]));
    let changed = square([255, 0, 0, 255]);
    let s = snap(&dir, "square", &[]).max_diff_pixels(10);
    let message = panic_message(|| s.assert(&changed));
    assert!(
        message.starts_with("steadfast: snapshot `square` does not match its baseline"),
        "{message}"
    );
    assert!(
        message.contains("to accept the new image, run with STEADFAST_UPDATE=changed"),
        "{message}"
    );
    // The artifacts are not where the command looks for them.
    assert!(!message.contains("steadfast-visual accept"), "{message}");
    assert!(
        message.contains("differing pixels: 60 of 200 (30.0000%)"),
        "{message}"
    );
    assert!(
        message.contains("max_diff_pixels 10, max_diff_ratio unset"),
        "{message}"
    );
    let artifacts = dir.join("artifacts/square");
    for file in ["expected.png", "actual.png", "diff.png"] {
        assert!(
            message.contains(&artifacts.join(file).display().to_string()),
            "{message}"
        );
    }
    assert_eq!(
        open(artifacts.join("expected.png")).unwrap(),
        square([0, 0, 0, 255])
    );
    assert_eq!(open(artifacts.join("actual.png")).unwrap(), changed);
    let diff = open(artifacts.join("diff.png")).unwrap();
    assert_eq!(diff.get_pixel(6, 3).0, [255, 0, 0, 255]);
    // The baseline is untouched.
    assert_eq!(
        open(baseline(&dir, "square")).unwrap(),
        square([0, 0, 0, 255])
    );
}

#[test]
fn tolerances_let_small_changes_pass() {
    let dir = scratch("snap-tolerance");
    snap(&dir, "square", &[]).assert(&square([0, 0, 0, 255]));
    let changed = square([255, 0, 0, 255]);
    snap(&dir, "square", &[])
        .max_diff_pixels(60)
        .assert(&changed);
    snap(&dir, "square", &[])
        .max_diff_ratio(0.3)
        .assert(&changed);
    snap(&dir, "square", &[])
        .ignore(Rect::new(5, 2, 10, 6))
        .assert(&changed);
    snap(
        &dir,
        "square",
        &[("STEADFAST_VISUAL_MAX_DIFF_PIXELS", "60")],
    )
    .assert(&changed);
    snap(
        &dir,
        "square",
        &[("STEADFAST_VISUAL_MAX_DIFF_RATIO", "0.3")],
    )
    .assert(&changed);
    // Red on black has a YIQ delta of about 10 410: above 35215 · 0.5²
    // but within 35215 · 0.6².
    snap(&dir, "square", &[("STEADFAST_VISUAL_THRESHOLD", "0.6")]).assert(&changed);
    let tight = snap(&dir, "square", &[("STEADFAST_VISUAL_THRESHOLD", "0.5")]);
    assert_eq!(tight.check(&changed).unwrap().status(), Status::Changed);
    let strict = snap(
        &dir,
        "square",
        &[("STEADFAST_VISUAL_MAX_DIFF_PIXELS", "59")],
    );
    assert_eq!(strict.check(&changed).unwrap().status(), Status::Changed);
}

#[test]
fn update_changed_replaces_the_baseline() {
    let dir = scratch("snap-update");
    snap(&dir, "square", &[]).assert(&square([0, 0, 0, 255]));
    let changed = square([255, 0, 0, 255]);
    let outcome = snap(&dir, "square", &[("STEADFAST_UPDATE", "changed")])
        .check(&changed)
        .unwrap();
    assert_eq!(outcome.status(), Status::Updated);
    assert_eq!(open(baseline(&dir, "square")).unwrap(), changed);
}

#[test]
fn update_none_and_missing_never_replace_a_baseline() {
    let dir = scratch("snap-none");
    snap(&dir, "square", &[]).assert(&square([0, 0, 0, 255]));
    for mode in ["none", "missing"] {
        let s = snap(&dir, "square", &[("STEADFAST_UPDATE", mode)]);
        assert_eq!(
            s.check(&square([255, 0, 0, 255])).unwrap().status(),
            Status::Changed,
            "{mode}"
        );
    }
    assert_eq!(
        open(baseline(&dir, "square")).unwrap(),
        square([0, 0, 0, 255])
    );
}

#[test]
fn update_all_rewrites_matching_baselines_that_differ_in_bytes() {
    let dir = scratch("snap-all");
    snap(&dir, "square", &[]).assert(&square([0, 0, 0, 255]));
    let nearly = square([1, 1, 1, 255]);
    let s = snap(&dir, "square", &[("STEADFAST_UPDATE", "all")]);
    assert_eq!(s.check(&nearly).unwrap().status(), Status::Updated);
    assert_eq!(open(baseline(&dir, "square")).unwrap(), nearly);
    assert_eq!(s.check(&nearly).unwrap().status(), Status::Matched);
}

#[test]
fn a_size_change_always_fails() {
    let dir = scratch("snap-size");
    snap(&dir, "square", &[]).assert(&square([0, 0, 0, 255]));
    let bigger = RgbaImage::from_pixel(21, 10, Rgba([255, 255, 255, 255]));
    let outcome = snap(&dir, "square", &[])
        .max_diff_ratio(1.0)
        .check(&bigger)
        .unwrap();
    assert_eq!(outcome.status(), Status::Changed);
    assert_eq!(outcome.comparison().unwrap().dimensions(), (21, 10));
}

#[test]
fn json_settings_beside_the_baseline_apply_and_bad_ones_are_errors() {
    let dir = scratch("snap-json");
    snap(&dir, "square", &[]).assert(&square([0, 0, 0, 255]));
    let settings = dir.join("snapshots/square.json");
    std::fs::write(
        &settings,
        r#"{"max_diff_pixels": 60, "ignore": [[0, 0, 1, 1]]}"#,
    )
    .unwrap();
    let changed = square([255, 0, 0, 255]);
    assert_eq!(
        snap(&dir, "square", &[]).check(&changed).unwrap().status(),
        Status::Matched
    );

    std::fs::write(&settings, r#"{"max_diff_pixel": 60}"#).unwrap();
    let err = snap(&dir, "square", &[]).check(&changed).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert!(
        err.to_string()
            .contains("unknown snapshot setting `max_diff_pixel`"),
        "{err}"
    );
    std::fs::write(&settings, "{").unwrap();
    let err = snap(&dir, "square", &[]).check(&changed).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
}

#[test]
fn malformed_env_fails_the_assertion_naming_the_variable() {
    let dir = scratch("snap-env");
    let s = snap(&dir, "square", &[("STEADFAST_VISUAL_THRESHOLD", "loose")]);
    let message = panic_message(|| s.assert(&square([0, 0, 0, 255])));
    assert_eq!(
        message,
        "steadfast: snapshot `square`: environment variable STEADFAST_VISUAL_THRESHOLD has invalid \
         value \"loose\": expected a number in 0..=1"
    );
}

#[test]
fn escaping_names_are_rejected_before_touching_files() {
    let dir = scratch("snap-names");
    for name in ["../escape", "/etc/passwd", "a/../../b"] {
        let err = snap(&dir, name, &[]).check(&square([0; 4])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidName, "{name}");
    }
    assert!(!dir.join("escape.png").exists());
}

#[test]
fn the_macro_uses_this_crates_tests_snapshots() {
    // The baseline is pixelmatch's own fixture 1a.png, committed as
    // tests/snapshots/pixelmatch-1a.png.
    let img = open(fixtures().join("1a.png")).unwrap();
    assert_snapshot!("pixelmatch-1a", &img);
}

#[test]
fn stale_artifacts_go_once_the_snapshot_passes_but_other_files_stay() {
    let dir = scratch("snap-stale");
    snap(&dir, "square", &[]).assert(&square([0, 0, 0, 255]));
    let failed = snap(&dir, "square", &[])
        .check(&square([255, 0, 0, 255]))
        .unwrap();
    let artifacts = failed.artifacts().unwrap().to_path_buf();
    std::fs::write(artifacts.join("notes.txt"), "mine").unwrap();
    let passed = snap(&dir, "square", &[])
        .check(&square([0, 0, 0, 255]))
        .unwrap();
    assert_eq!(passed.status(), Status::Matched);
    assert!(!artifacts.join("diff.png").exists());
    assert!(!artifacts.join("expected.png").exists());
    assert!(artifacts.join("notes.txt").exists());
}

/// Where the panic whose message starts with `prefix` happened while `f`
/// ran; other panics go to the hook that was installed before.
fn panic_location(prefix: &'static str, f: impl FnOnce()) -> Option<(String, u32)> {
    type Hook = Arc<dyn Fn(&PanicHookInfo<'_>) + Send + Sync>;
    let previous: Hook = Arc::from(std::panic::take_hook());
    let seen = Arc::new(Mutex::new(None));
    let (record, fallback) = (Arc::clone(&seen), Arc::clone(&previous));
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload().downcast_ref::<String>();
        match (message, info.location()) {
            (Some(message), Some(at)) if message.starts_with(prefix) => {
                *record.lock().unwrap() = Some((at.file().to_owned(), at.line()));
            }
            _ => fallback(info),
        }
    }));
    let result = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(Box::new(move |info| previous(info)));
    assert!(result.is_err(), "expected a panic");
    seen.lock().unwrap().take()
}

#[test]
fn a_failed_assertion_points_at_the_caller() {
    let dir = scratch("snap-caller");
    snap(&dir, "located", &[]).assert(&square([0, 0, 0, 255]));
    let changed = square([255, 0, 0, 255]);

    let line = line!() + 2;
    let at = panic_location("steadfast: snapshot `located`", || {
        snap(&dir, "located", &[]).assert(&changed)
    });

    assert_eq!(at, Some((file!().to_owned(), line)));
}

/// A snapshot like [`snap`]'s whose artifacts go where the review finds
/// them: `dir/target/steadfast/visual/<name>/`.
fn reviewed(dir: &Path, name: &str, vars: &[(&str, &str)]) -> Snapshot {
    let mut map: HashMap<String, OsString> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    map.insert("CARGO_TARGET_DIR".into(), dir.join("target").into());
    Snapshot::new(name)
        .snapshot_dir(dir.join("snapshots"))
        .with_env(move |k| map.get(k).cloned())
}

fn visual_dir(dir: &Path) -> VisualDir {
    VisualDir::new(dir.join("target/steadfast/visual"))
}

#[test]
fn a_failed_check_waits_for_review_with_its_figures_until_it_passes() {
    let dir = scratch("snap-pending");
    reviewed(&dir, "ui/square", &[]).assert(&square([0, 0, 0, 255]));
    assert!(visual_dir(&dir).pending().unwrap().is_empty());

    let failed = reviewed(&dir, "ui/square", &[])
        .max_diff_pixels(10)
        .check(&square([255, 0, 0, 255]))
        .unwrap();

    let pending = visual_dir(&dir).pending().unwrap();
    assert_eq!(pending.len(), 1);
    let p = &pending[0];
    assert_eq!((p.name(), p.status()), ("ui/square", Status::Changed));
    assert_eq!(p.baseline(), baseline(&dir, "ui/square"));
    assert_eq!(Some(p.artifacts()), failed.artifacts());
    assert_eq!((p.diff_pixels(), p.total_pixels()), (Some(60), Some(200)));
    assert_eq!((p.ratio(), p.dimensions()), (Some(0.3), (20, 10)));
    assert_eq!(
        (p.threshold(), p.max_diff_pixels(), p.max_diff_ratio()),
        (0.1, Some(10), None)
    );
    assert_eq!(open(p.expected().unwrap()).unwrap(), square([0, 0, 0, 255]));
    assert_eq!(open(p.actual()).unwrap(), square([255, 0, 0, 255]));
    assert!(p.diff().unwrap().is_file());
    let text = p.to_string();
    assert!(
        text.contains("differing pixels: 60 of 200 (30.0000%) on a 20x10 canvas"),
        "{text}"
    );

    reviewed(&dir, "ui/square", &[]).assert(&square([0, 0, 0, 255]));
    assert!(visual_dir(&dir).pending().unwrap().is_empty());
    assert!(!failed.artifacts().unwrap().exists());
}

#[test]
fn a_missing_baseline_on_ci_waits_for_review_as_a_new_image() {
    let dir = scratch("snap-pending-missing");
    let outcome = reviewed(&dir, "fresh", &[("CI", "1")])
        .check(&square([0, 0, 255, 255]))
        .unwrap();
    assert_eq!(outcome.status(), Status::Missing);
    assert!(
        outcome
            .to_string()
            .ends_with("(the default when CI is not set), or `steadfast-visual accept fresh`"),
        "{outcome}"
    );

    let pending = visual_dir(&dir).pending().unwrap();
    let p = &pending[0];
    assert_eq!(
        (p.name(), p.status(), p.dimensions()),
        ("fresh", Status::Missing, (20, 10))
    );
    assert_eq!(
        (p.expected(), p.diff(), p.diff_pixels()),
        (None, None, None)
    );
    assert!(
        p.to_string().contains("has no baseline: a new 20x10 image"),
        "{p}"
    );
}

#[test]
fn updating_a_baseline_leaves_nothing_to_review() {
    let dir = scratch("snap-pending-update");
    reviewed(&dir, "square", &[]).assert(&square([0, 0, 0, 255]));
    let red = square([255, 0, 0, 255]);
    reviewed(&dir, "square", &[]).check(&red).unwrap();
    assert_eq!(visual_dir(&dir).pending().unwrap().len(), 1);

    let updated = reviewed(&dir, "square", &[("STEADFAST_UPDATE", "changed")])
        .check(&red)
        .unwrap();

    assert_eq!(updated.status(), Status::Updated);
    assert!(visual_dir(&dir).pending().unwrap().is_empty());
}

#[test]
fn every_check_records_the_baseline_it_used_in_the_run_record() {
    let dir = scratch("snap-used");
    let snapshots = dir.join("snapshots");
    for name in ["home", "pages/login"] {
        reviewed(&dir, name, &[]).assert(&square([0, 0, 0, 255]));
    }
    square([1, 2, 3, 255])
        .save(snapshots.join("stale.png"))
        .unwrap();

    let run = visual_dir(&dir)
        .last_run()
        .unwrap()
        .expect("a recorded run");

    assert!(run.is_used(&snapshots, "home") && run.is_used(&snapshots, "pages/login"));
    assert!(!run.is_used(&snapshots, "stale"));
    assert_eq!(
        run.snapshot_dirs().collect::<Vec<_>>(),
        [snapshots.as_path()]
    );
    let unused = run.unused_baselines(&[]).unwrap();
    let names: Vec<&str> = unused.iter().map(|u| u.name()).collect();
    assert_eq!(names, ["stale"]);
    assert_eq!(unused[0].files(), [snapshots.join("stale.png")]);
}
