//! `steadfast-visual prune` end to end: test runs in child processes record
//! the baselines they use, and prune lists (then removes) the others.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use steadfast_visual::Snapshot;

use crate::cli::{assert_error, stderr, stdout};
use crate::support::{clean_command, scratch, square};

/// The child's snapshot folder and the names it checks (`,`-separated).
const DIR_VAR: &str = "VISUAL_TEST_SNAPSHOT_DIR";
const NAMES_VAR: &str = "VISUAL_TEST_NAMES";

#[test]
#[ignore = "run in child processes by the prune tests"]
fn child_checks_snapshots() {
    let dir = std::env::var(DIR_VAR).unwrap();
    for name in std::env::var(NAMES_VAR).unwrap().split(',') {
        // The process environment, as in any test: CARGO_TARGET_DIR, the run id.
        Snapshot::new(name)
            .snapshot_dir(&dir)
            .assert(&square([0, 0, 0, 255]));
    }
}

struct Project {
    root: PathBuf,
}

impl Project {
    fn new(name: &str) -> Self {
        Self {
            root: scratch(name),
        }
    }

    fn snapshots(&self) -> PathBuf {
        self.root.join("snapshots")
    }

    /// A test process of the run `run` (`(variable, value)` naming it) that checks `names`.
    fn test_run(&self, run: Option<(&str, &str)>, names: &[&str], new_group: bool) -> u32 {
        let mut command = clean_command(std::env::current_exe().unwrap());
        command
            .args(["--ignored", "--exact", "prune_cli::child_checks_snapshots"])
            .env("CARGO_TARGET_DIR", self.root.join("target"))
            .env("STEADFAST_UPDATE", "missing")
            .env(DIR_VAR, self.snapshots())
            .env(NAMES_VAR, names.join(","));
        if let Some((variable, value)) = run {
            command.env(variable, value);
        }
        if new_group {
            // Its own process group, as a new `cargo test` typed in a shell gets.
            command.process_group(0);
        }
        let child = command.spawn().unwrap();
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        pid
    }

    fn prune(&self, args: &[&str]) -> Output {
        clean_command(env!("CARGO_BIN_EXE_steadfast-visual"))
            .arg("prune")
            .args(args)
            .args([
                "--target-dir",
                &self.root.join("target").display().to_string(),
            ])
            .output()
            .unwrap()
    }

    fn has(&self, file: &str) -> bool {
        self.snapshots().join(file).exists()
    }
}

fn listed(out: &Output, files: &[&Path]) -> String {
    let mut text = String::new();
    for file in files {
        text.push_str(&format!("  {}\n", file.display()));
    }
    assert!(
        stdout(out).contains(&text),
        "{text} not in:\n{}",
        stdout(out)
    );
    text
}

#[test]
fn prune_lists_what_the_last_run_did_not_use_and_removes_it_only_with_yes() {
    let project = Project::new("prune");
    let snapshots = project.snapshots();
    project.test_run(
        Some(("STEADFAST_VISUAL_RUN", "one")),
        &["a", "b", "c", "pages/gone"],
        false,
    );
    std::fs::copy(snapshots.join("a.png"), snapshots.join("old.png")).unwrap();
    std::fs::write(snapshots.join("old.json"), r#"{"threshold": 0.2}"#).unwrap();
    std::fs::write(snapshots.join("notes.txt"), "not a baseline").unwrap();
    // The next run, two test processes of one `cargo nextest run`.
    project.test_run(Some(("NEXTEST_RUN_ID", "two")), &["a"], false);
    project.test_run(Some(("NEXTEST_RUN_ID", "two")), &["b"], false);

    let listing = project.prune(&[]);

    assert_eq!(listing.status.code(), Some(1), "{}", stderr(&listing));
    assert!(
        stdout(&listing).starts_with("3 baselines not used by the last run (run nextest-two):\n"),
        "{}",
        stdout(&listing)
    );
    let files = [
        snapshots.join("c.png"),
        snapshots.join("old.png"),
        snapshots.join("old.json"),
        snapshots.join("pages/gone.png"),
    ];
    listed(
        &listing,
        &files.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
    );
    assert!(stdout(&listing).ends_with("run again with --yes to remove them\n"));
    assert!(
        files.iter().all(|f| f.exists()),
        "nothing removed without --yes"
    );

    let removal = project.prune(&["--yes"]);

    assert_eq!(removal.status.code(), Some(0), "{}", stderr(&removal));
    assert!(stdout(&removal).ends_with("removed 3 baselines (4 files)\n"));
    assert!(files.iter().all(|f| !f.exists()));
    assert!(!project.has("pages"), "the emptied folder goes too");
    assert!(project.has("a.png") && project.has("b.png") && project.has("notes.txt"));

    let clean = project.prune(&[]);
    assert_eq!(clean.status.code(), Some(0));
    assert_eq!(
        stdout(&clean),
        "no unused baselines: the last run (run nextest-two) used every baseline in its \
         snapshot folders\n"
    );
}

#[test]
fn without_a_run_id_a_run_is_the_process_group_of_the_test_command() {
    let project = Project::new("prune-group");
    project.test_run(Some(("STEADFAST_VISUAL_RUN", "one")), &["a", "b"], false);

    let group = project.test_run(None, &["a"], true);

    let out = project.prune(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(&format!(
            "1 baseline not used by the last run (run process-group-{group}):\n"
        )),
        "{}",
        stdout(&out)
    );
    listed(&out, &[&project.snapshots().join("b.png")]);
}

#[test]
fn prune_also_searches_the_folders_it_is_given() {
    let project = Project::new("prune-more");
    project.test_run(Some(("STEADFAST_VISUAL_RUN", "one")), &["a"], false);
    let other = project.root.join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(project.snapshots().join("a.png"), other.join("x.png")).unwrap();

    let out = project.prune(&["--snapshot-dir", &other.display().to_string()]);

    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    listed(&out, &[&other.join("x.png")]);
    assert!(!stdout(&out).contains("a.png"));
}

#[test]
fn prune_before_any_run_is_an_error_saying_so() {
    let project = Project::new("prune-none");
    assert_error(&project.prune(&["--yes"]), "no run is recorded in ");
}
