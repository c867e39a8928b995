//! `steadfast-visual review` and `accept` end to end: failed snapshot checks
//! in a scratch folder, then the binary reviewing them with answers on stdin.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use image::RgbaImage;
use steadfast_visual::{Snapshot, Status, VisualDir, open};

use crate::cli::{assert_error, stderr, stdout};
use crate::support::{clean_command, scratch, square};

const BLACK: [u8; 4] = [0, 0, 0, 255];
const RED: [u8; 4] = [255, 0, 0, 255];
const BLUE: [u8; 4] = [0, 0, 255, 255];

/// A scratch project: baselines in `snapshots/`, the cargo target in `target/`.
struct Project {
    root: PathBuf,
}

impl Project {
    fn new(name: &str) -> Self {
        Self {
            root: scratch(name),
        }
    }

    fn target(&self) -> PathBuf {
        self.root.join("target")
    }

    fn baseline(&self, name: &str) -> PathBuf {
        self.root.join("snapshots").join(format!("{name}.png"))
    }

    fn artifacts(&self, name: &str) -> PathBuf {
        self.target().join("steadfast/visual").join(name)
    }

    /// Check `image` against snapshot `name` as a test would, with
    /// `STEADFAST_UPDATE` set to `update`.
    fn check(&self, name: &str, image: &RgbaImage, update: &str) -> Status {
        let env: HashMap<&str, OsString> = HashMap::from([
            ("CARGO_TARGET_DIR", self.target().into_os_string()),
            ("STEADFAST_UPDATE", update.into()),
        ]);
        Snapshot::new(name)
            .snapshot_dir(self.root.join("snapshots"))
            .with_env(move |k| env.get(k).cloned())
            .check(image)
            .unwrap()
            .status()
    }

    /// Run the binary in the project's folder, finding the target through
    /// `CARGO_TARGET_DIR`, with `answers` on stdin.
    fn run(&self, args: &[&str], answers: &str) -> Output {
        self.run_with_target(args, answers, &self.target())
    }

    /// [`run`](Self::run) with `CARGO_TARGET_DIR` set to `target`.
    fn run_with_target(&self, args: &[&str], answers: &str, target: &Path) -> Output {
        let mut child = clean_command(env!("CARGO_BIN_EXE_steadfast-visual"))
            .args(args)
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", target)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answers.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn pending(&self) -> Vec<String> {
        let visual = VisualDir::new(self.target().join("steadfast/visual"));
        let pending = visual.pending().unwrap();
        pending.iter().map(|p| p.name().to_owned()).collect()
    }

    /// Files in the baseline folder that are not baselines (temporary files).
    fn strays(&self) -> Vec<String> {
        std::fs::read_dir(self.root.join("snapshots"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| !name.ends_with(".png") || name.starts_with('.'))
            .collect()
    }
}

/// Three snapshots waiting: `a` and `c` changed (black to red, black to
/// blue), `b` new without a baseline.
fn three_waiting(name: &str) -> Project {
    let project = Project::new(name);
    for snapshot in ["a", "c"] {
        assert_eq!(
            project.check(snapshot, &square(BLACK), "missing"),
            Status::Created
        );
    }
    assert_eq!(project.check("a", &square(RED), "none"), Status::Changed);
    assert_eq!(project.check("b", &square(BLUE), "none"), Status::Missing);
    assert_eq!(project.check("c", &square(BLUE), "none"), Status::Changed);
    project
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn review_shows_each_snapshots_figures_and_files_and_acts_on_each_answer() {
    let project = three_waiting("review-answers");

    let out = project.run(&["review"], "x\na\nr\ns\n");

    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let a = project.artifacts("a");
    for wanted in [
        "[1/3] snapshot `a` does not match its baseline".to_owned(),
        "differing pixels: 60 of 200 (30.0000%) on a 20x10 canvas".to_owned(),
        "tolerance: max_diff_pixels unset, max_diff_ratio unset, threshold 0.1".to_owned(),
        format!("baseline: {}", path(&project.baseline("a"))),
        format!("expected: {}", path(&a.join("expected.png"))),
        format!("actual:   {}", path(&a.join("actual.png"))),
        format!("diff:     {}", path(&a.join("diff.png"))),
        "unknown answer `x`: press a, r, s or q".to_owned(),
        format!("accepted: wrote {}", path(&project.baseline("a"))),
        "[2/3] snapshot `b` has no baseline: a new 20x10 image".to_owned(),
        "rejected: removed the new image, kept the baseline".to_owned(),
        "[3/3] snapshot `c` does not match its baseline".to_owned(),
        "skipped".to_owned(),
        "1 accepted, 1 rejected, 1 left for later".to_owned(),
    ] {
        assert!(text.contains(&wanted), "{wanted:?} not in:\n{text}");
    }
    assert_eq!(open(project.baseline("a")).unwrap(), square(RED));
    assert!(!project.baseline("b").exists());
    assert!(!project.artifacts("a").exists() && !project.artifacts("b").exists());
    assert_eq!(open(project.baseline("c")).unwrap(), square(BLACK));
    assert_eq!(project.pending(), ["c"]);
    assert!(project.strays().is_empty(), "{:?}", project.strays());

    let again = project.run(&["review"], "a");
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("[1/1] snapshot `c`"),
        "{}",
        stdout(&again)
    );
    assert_eq!(open(project.baseline("c")).unwrap(), square(BLUE));

    let done = project.run(&["review"], "");
    assert_eq!(done.status.code(), Some(0));
    assert!(stdout(&done).starts_with("no snapshots waiting for review in "));
}

#[test]
fn review_stops_at_quit_or_the_end_of_its_input_leaving_the_rest_waiting() {
    let project = three_waiting("review-quit");

    let quit = project.run(&["review"], "sq");
    let eof = project.run(&["review"], "");

    for out in [&quit, &eof] {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
        assert!(stdout(out).contains("0 accepted, 0 rejected, 3 left for later"));
    }
    assert!(!stdout(&quit).contains("[3/3]"), "{}", stdout(&quit));
    assert_eq!(project.pending(), ["a", "b", "c"]);
    assert_eq!(open(project.baseline("a")).unwrap(), square(BLACK));
}

#[test]
fn accept_writes_each_named_baseline_and_clears_its_review() {
    let project = three_waiting("accept");

    let out = project.run(&["accept", "b", "a"], "");

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "accepted `b`: wrote {}\naccepted `a`: wrote {}\n",
            path(&project.baseline("b")),
            path(&project.baseline("a"))
        )
    );
    assert_eq!(open(project.baseline("a")).unwrap(), square(RED));
    assert_eq!(open(project.baseline("b")).unwrap(), square(BLUE));
    assert_eq!(project.pending(), ["c"]);
    assert!(project.strays().is_empty(), "{:?}", project.strays());
    // The accepted baselines match from now on.
    assert_eq!(project.check("a", &square(RED), "none"), Status::Matched);
    assert_eq!(project.check("b", &square(BLUE), "none"), Status::Matched);

    assert_error(
        &project.run(&["accept", "a"], ""),
        "snapshot `a` has no new image waiting for review",
    );
}

#[test]
fn accept_of_a_name_that_is_no_baseline_lists_the_closest_and_accepts_nothing() {
    let project = Project::new("accept-unknown");
    for name in ["pages/home", "pages/homes", "login"] {
        project.check(name, &square(BLACK), "missing");
    }
    project.check("pages/home", &square(RED), "none");

    // `--target-dir` (relative to the current folder) wins over the variable.
    let out = project.run_with_target(
        &[
            "accept",
            "pages/home",
            "pages/hom",
            "--target-dir",
            "target",
        ],
        "",
        &project.root.join("elsewhere"),
    );

    assert_error(
        &out,
        "`pages/hom` is neither a baseline of the last run nor waiting for review",
    );
    assert_error(&out, "(closest: `pages/home`, `pages/homes`, `login`)");
    assert_eq!(project.pending(), ["pages/home"]);
    assert_eq!(open(project.baseline("pages/home")).unwrap(), square(BLACK));
    assert_error(
        &project.run(&["accept", "../escape"], ""),
        "invalid snapshot name `../escape`",
    );
}
