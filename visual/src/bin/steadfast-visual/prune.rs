//! `prune [--yes]`: the baselines no snapshot check of the last run used.

use std::path::PathBuf;
use std::process::ExitCode;

use steadfast_visual::VisualDir;

use crate::describe;

pub(crate) fn run(
    visual: &VisualDir,
    yes: bool,
    snapshot_dirs: &[PathBuf],
) -> Result<ExitCode, String> {
    let run = visual
        .last_run()
        .map_err(|e| describe(&e))?
        .ok_or_else(|| {
            format!(
                "no run is recorded in {}: run the tests first, then prune",
                visual.path().display()
            )
        })?;
    let unused = run
        .unused_baselines(snapshot_dirs)
        .map_err(|e| describe(&e))?;
    if unused.is_empty() {
        println!(
            "no unused baselines: the last run (run {}) used every baseline in its snapshot folders",
            run.id()
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} not used by the last run (run {}):",
        count(unused.len(), "baseline"),
        run.id()
    );
    for baseline in &unused {
        for file in baseline.files() {
            println!("  {}", file.display());
        }
    }
    if !yes {
        println!("run again with --yes to remove them");
        return Ok(ExitCode::from(1));
    }
    let mut files = 0;
    for baseline in &unused {
        baseline.remove().map_err(|e| describe(&e))?;
        files += baseline.files().len();
    }
    println!(
        "removed {} ({})",
        count(unused.len(), "baseline"),
        count(files, "file")
    );
    Ok(ExitCode::SUCCESS)
}

/// `1 baseline`, `3 baselines`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
