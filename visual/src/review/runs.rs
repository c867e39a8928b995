//! Which baselines the last test run used: `used.jsonl` in the visual folder.
//!
//! Every snapshot check appends one JSON line, `{"run": …, "snapshot_dir": …, "name": …}`,
//! naming the baseline it compared with. Test processes of one run append to the same file at
//! once, so each append holds an exclusive lock on it and writes its whole line in one `write` to
//! a file opened with `O_APPEND`. The file holds one run, the last: an append whose run id differs
//! from the file's first line empties it first, under the same lock. What a run is, is the run id:
//! see [`current_run`].

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::{Error, ErrorKind};
use crate::review::baselines::{self, UnusedBaseline};

/// The record's file name inside the visual folder.
pub(crate) const USED_FILE: &str = "used.jsonl";
/// `STEADFAST_VISUAL_RUN`: the id of the current run, set by whoever starts it.
pub(crate) const ENV_RUN: &str = "STEADFAST_VISUAL_RUN";
/// The UUID nextest gives every test process of one `cargo nextest run`.
const NEXTEST_RUN_ID: &str = "NEXTEST_RUN_ID";

/// The id of the run this process belongs to: `STEADFAST_VISUAL_RUN` when set, else nextest's
/// `NEXTEST_RUN_ID`, else the process group, which every process of one `cargo test` typed in a
/// shell shares (cargo, each test binary, rustdoc and its doc-tests).
///
/// Read from the process environment, not through a snapshot's `with_env` lookup: a test that
/// hides the environment from its settings still belongs to the run.
///
/// # Errors
///
/// [`ErrorKind::InvalidEnv`] when `STEADFAST_VISUAL_RUN` is not UTF-8.
pub(crate) fn current_run() -> Result<String, Error> {
    run_from(&|name| std::env::var_os(name), &process_group())
}

/// [`current_run`] reading through `lookup`, with `group` as the last resort.
fn run_from(lookup: &dyn Fn(&str) -> Option<OsString>, group: &str) -> Result<String, Error> {
    if let Some(value) = lookup(ENV_RUN) {
        let value = value
            .into_string()
            .map_err(|raw| Error::invalid_env(ENV_RUN, &raw.to_string_lossy(), "a UTF-8 run id"))?;
        if !value.trim().is_empty() {
            return Ok(value.trim().to_owned());
        }
    }
    match lookup(NEXTEST_RUN_ID).filter(|id| !id.is_empty()) {
        Some(id) => Ok(format!("nextest-{}", id.to_string_lossy())),
        None => Ok(group.to_owned()),
    }
}

#[cfg(unix)]
fn process_group() -> String {
    // SAFETY: getpgrp takes no arguments, touches no memory and cannot fail.
    let group = unsafe { libc::getpgrp() };
    format!("process-group-{group}")
}

/// Without process groups every process would be a run of its own and empty the record the
/// last one wrote; one id for all keeps every record instead (until `STEADFAST_VISUAL_RUN`
/// says when a run starts).
#[cfg(not(unix))]
fn process_group() -> String {
    "unnamed".to_owned()
}

/// Append that the current run checked snapshot `name` of the folder `snapshot_dir` (absolute)
/// to `visual/used.jsonl`, emptying the file first when it holds another run.
pub(crate) fn record(
    visual: &Path,
    run: &str,
    snapshot_dir: &Path,
    name: &str,
) -> Result<(), Error> {
    let path = visual.join(USED_FILE);
    let dir = snapshot_dir.to_str().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidName,
            "the snapshot folder's path is not UTF-8",
        )
        .with_path(snapshot_dir)
    })?;
    // OK because the value holds only strings: serialising it cannot fail.
    let mut line = serde_json::to_vec(&json!({"run": run, "snapshot_dir": dir, "name": name}))
        .expect("a record of strings serialises");
    line.push(b'\n');
    std::fs::create_dir_all(visual).map_err(|e| Error::io("create folder", visual, e))?;
    let io = |action: &'static str| {
        let path = &path;
        move |e| Error::io(action, path, e)
    };
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)
        .map_err(io("open the record of the last run"))?;
    // Released when `file` closes, also when the process dies.
    file.lock().map_err(io("lock the record of the last run"))?;
    let mut text = Vec::new();
    file.read_to_end(&mut text)
        .map_err(io("read the record of the last run"))?;
    let keep = if first_run(&text).as_deref() == Some(run) {
        // Cut what a writer killed inside its write left after the last newline.
        text.iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |at| at + 1)
    } else {
        0
    };
    if keep < text.len() {
        file.set_len(keep as u64)
            .map_err(io("empty the record of the last run"))?;
    }
    file.write_all(&line)
        .map_err(io("append to the record of the last run"))
}

/// The run id of the first whole line, if it is a record.
fn first_run(text: &[u8]) -> Option<String> {
    let end = text.iter().position(|&b| b == b'\n')?;
    let value: Value = serde_json::from_slice(&text[..end]).ok()?;
    value.get("run")?.as_str().map(str::to_owned)
}

/// The baselines the last recorded run compared with, read from `used.jsonl`.
///
/// Get one with [`VisualDir::last_run`](crate::VisualDir::last_run).
///
/// # Example
///
/// ```
/// use image::{Rgba, RgbaImage};
/// use steadfast_visual::{Snapshot, VisualDir};
///
/// let root = std::env::temp_dir().join(format!("steadfast-doc-last-run-{}", std::process::id()));
/// let target = root.join("target");
/// let lookup = move |k: &str| (k == "CARGO_TARGET_DIR").then(|| target.clone().into_os_string());
/// let snapshots = root.join("snapshots");
/// let image = RgbaImage::from_pixel(4, 4, Rgba([9, 9, 9, 255]));
/// Snapshot::new("home").snapshot_dir(&snapshots).with_env(lookup.clone()).assert(&image);
/// image.save(snapshots.join("old.png"))?; // a baseline no test uses
///
/// let run = VisualDir::from_env_with(lookup)?.last_run()?.expect("a run was recorded");
/// assert!(run.is_used(&snapshots, "home"));
/// let unused = run.unused_baselines(&[])?;
/// assert_eq!(unused.len(), 1);
/// assert_eq!(unused[0].name(), "old");
/// # std::fs::remove_dir_all(&root)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRun {
    id: String,
    file: PathBuf,
    used: BTreeMap<PathBuf, BTreeSet<String>>,
}

impl LastRun {
    /// Read `visual/used.jsonl`; `None` when no run has been recorded there. An unterminated
    /// last line (a writer killed inside its write) is left out.
    pub(crate) fn read(visual: &Path) -> Result<Option<Self>, Error> {
        let file = visual.join(USED_FILE);
        let mut handle = match std::fs::File::open(&file) {
            Ok(handle) => handle,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("open the record of the last run", &file, e)),
        };
        let mut text = Vec::new();
        handle
            .lock_shared()
            .and_then(|()| handle.read_to_end(&mut text))
            .map_err(|e| Error::io("read the record of the last run", &file, e))?;
        let whole = text
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(&[][..], |end| &text[..end]);
        let mut id = None;
        let mut used: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
        for (index, line) in whole.split(|&b| b == b'\n').enumerate() {
            let (run, dir, name) = parse_line(line).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidRecord,
                    format!(
                        "line {} of the record of the last run is not a record",
                        index + 1
                    ),
                )
                .with_path(&file)
            })?;
            // The file holds one run; its first line says which.
            if *id.get_or_insert_with(|| run.clone()) == run {
                used.entry(dir).or_default().insert(name);
            }
        }
        Ok(id.map(|id| Self { id, file, used }))
    }

    /// The run's id (see the README, "Reviewing, accepting and pruning").
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `used.jsonl` file this was read from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The snapshot folders the run compared with baselines of, sorted.
    pub fn snapshot_dirs(&self) -> impl Iterator<Item = &Path> {
        self.used.keys().map(PathBuf::as_path)
    }

    /// Whether the run checked snapshot `name` of `snapshot_dir` (an absolute path, as the
    /// record holds it).
    pub fn is_used(&self, snapshot_dir: &Path, name: &str) -> bool {
        self.used
            .get(snapshot_dir)
            .is_some_and(|names| names.contains(name))
    }

    /// Every baseline in the snapshot folders the run used, and in `more_dirs`, that the run
    /// did not check, sorted by folder and name. A folder that no longer exists has none.
    ///
    /// Only the folders the run used are searched: a run of one crate's tests lists nothing of
    /// another crate. A run that filtered tests out lists their baselines too.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when a folder cannot be read.
    pub fn unused_baselines(&self, more_dirs: &[PathBuf]) -> Result<Vec<UnusedBaseline>, Error> {
        let mut dirs: BTreeSet<PathBuf> = self.used.keys().cloned().collect();
        for dir in more_dirs {
            dirs.insert(std::path::absolute(dir).map_err(|e| Error::io("find folder", dir, e))?);
        }
        let mut unused = Vec::new();
        for dir in dirs {
            for name in baselines::names(&dir)? {
                if !self.is_used(&dir, &name) {
                    unused.push(UnusedBaseline::new(&dir, name));
                }
            }
        }
        Ok(unused)
    }
}

/// One line's run id, snapshot folder and name.
fn parse_line(line: &[u8]) -> Option<(String, PathBuf, String)> {
    let value: Value = serde_json::from_slice(line).ok()?;
    let text = |key: &str| value.get(key)?.as_str().map(str::to_owned);
    Some((
        text("run")?,
        PathBuf::from(text("snapshot_dir")?),
        text("name")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "steadfast-visual-runs-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.into())
    }

    #[test]
    fn the_run_id_is_the_variable_then_nextests_then_the_process_group() {
        let group = "process-group-7";
        let both = env(&[(ENV_RUN, " ci-42 "), (NEXTEST_RUN_ID, "u-u-i-d")]);
        assert_eq!(run_from(&both, group).unwrap(), "ci-42");
        let nextest = env(&[(ENV_RUN, ""), (NEXTEST_RUN_ID, "u-u-i-d")]);
        assert_eq!(run_from(&nextest, group).unwrap(), "nextest-u-u-i-d");
        assert_eq!(run_from(&env(&[]), group).unwrap(), group);
    }

    #[test]
    fn a_run_id_that_is_not_utf8_is_an_error_naming_the_variable() {
        use std::os::unix::ffi::OsStringExt as _;
        let lookup = |k: &str| (k == ENV_RUN).then(|| OsString::from_vec(vec![b'r', 0xff]));
        let err = run_from(&lookup, "g").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidEnv);
        assert_eq!(err.variable(), Some(ENV_RUN));
    }

    #[test]
    fn one_run_accumulates_and_the_next_run_starts_the_file_again() {
        let visual = scratch("accumulate");
        let (a, b) = (Path::new("/a/snapshots"), Path::new("/b/snapshots"));
        record(&visual, "one", a, "home").unwrap();
        record(&visual, "one", b, "pages/login").unwrap();
        let run = LastRun::read(&visual).unwrap().unwrap();
        assert_eq!(run.id(), "one");
        assert!(run.is_used(a, "home") && run.is_used(b, "pages/login"));
        assert!(!run.is_used(a, "pages/login"));

        record(&visual, "two", b, "settings").unwrap();
        let run = LastRun::read(&visual).unwrap().unwrap();
        assert_eq!(run.id(), "two");
        assert_eq!(run.snapshot_dirs().collect::<Vec<_>>(), [b]);
        assert!(run.is_used(b, "settings") && !run.is_used(a, "home"));
        std::fs::remove_dir_all(&visual).unwrap();
    }

    #[test]
    fn a_torn_last_line_is_skipped_by_readers_and_cut_by_the_next_append() {
        let visual = scratch("torn");
        let dir = Path::new("/s");
        record(&visual, "one", dir, "home").unwrap();
        let file = visual.join(USED_FILE);
        let mut torn = std::fs::read(&file).unwrap();
        torn.extend_from_slice(br#"{"run":"one","snapshot_dir":"/s","na"#);
        std::fs::write(&file, &torn).unwrap();
        let run = LastRun::read(&visual).unwrap().unwrap();
        assert!(run.is_used(dir, "home"));

        record(&visual, "one", dir, "login").unwrap();
        let run = LastRun::read(&visual).unwrap().unwrap();
        assert!(run.is_used(dir, "home") && run.is_used(dir, "login"));
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        std::fs::remove_dir_all(&visual).unwrap();
    }

    #[test]
    fn no_file_is_no_run_and_a_bad_line_is_an_error_naming_it() {
        let visual = scratch("bad");
        assert_eq!(LastRun::read(&visual).unwrap(), None);
        std::fs::create_dir_all(&visual).unwrap();
        let line = r#"{"run":"one","snapshot_dir":"/s","name":"home"}"#;
        std::fs::write(visual.join(USED_FILE), format!("{line}\n[1]\n")).unwrap();
        let err = LastRun::read(&visual).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRecord);
        assert!(err.to_string().starts_with("line 2 of the record"), "{err}");
        assert_eq!(err.path(), Some(visual.join(USED_FILE).as_path()));
        std::fs::remove_dir_all(&visual).unwrap();
    }
}
