//! The `steadfast-visual` command line: pixelmatch-exact image diffs of two
//! images or of two folders of screenshots, and the review of snapshots
//! whose check failed.
//!
//! ```text
//! steadfast-visual diff A B [-o DIFF.png] [OPTIONS]
//! steadfast-visual diff-dir EXPECTED_DIR ACTUAL_DIR [-o DIFF_DIR] [OPTIONS]
//! steadfast-visual review [--target-dir DIR]
//! steadfast-visual accept NAME... [--target-dir DIR]
//! steadfast-visual prune [--yes] [--snapshot-dir DIR]... [--target-dir DIR]
//!
//! OPTIONS: [--threshold T] [--include-aa] [--alpha A] [--aa-color R,G,B]
//!     [--diff-color R,G,B] [--diff-color-alt R,G,B] [--diff-mask]
//!     [--background checkerboard|white] [--ignore x,y,w,h]... [--max-diff-pixels N]
//!     [--max-diff-ratio R] [--union] [--threads N] [--max-image-bytes N] [--json]
//! ```
//!
//! Exit status: 0 within tolerance (identical when no tolerance is given),
//! 1 different (or, for `diff-dir`, an image missing or new), 2 on any
//! error (one line per error on stderr). `review`: 0 nothing left waiting,
//! 1 snapshots skipped; `accept`: 0 accepted; `prune`: 0 nothing unused or
//! removed with `--yes`, 1 unused baselines listed; 2 on any error.

mod accept;
mod args;
mod baselines;
mod diff;
mod diff_dir;
mod prune;
mod review;

use std::process::ExitCode;

use args::{Command, Parsed, parse};

const USAGE: &str = "usage: steadfast-visual diff A B [-o DIFF.png] [OPTIONS]
       steadfast-visual diff-dir EXPECTED_DIR ACTUAL_DIR [-o DIFF_DIR] [OPTIONS]
       steadfast-visual review [--target-dir DIR]
       steadfast-visual accept NAME... [--target-dir DIR]
       steadfast-visual prune [--yes] [--snapshot-dir DIR]... [--target-dir DIR]

OPTIONS: [--threshold T] [--include-aa] [--alpha A] [--aa-color R,G,B] \
[--diff-color R,G,B] [--diff-color-alt R,G,B] [--diff-mask] \
[--background checkerboard|white] [--ignore x,y,w,h]... [--max-diff-pixels N] \
[--max-diff-ratio R] [--union] [--threads N] [--max-image-bytes N] [--json]

review, accept and prune work on DIR/steadfast/visual (DIR: --target-dir, else
CARGO_TARGET_DIR, else the workspace's target); review reads one key per snapshot.

exit status: 0 within tolerance, 1 different (diff-dir: or missing or new), 2 error;
review: 0 nothing left, 1 snapshots skipped; accept: 0 accepted;
prune: 0 nothing unused (or removed with --yes), 1 unused baselines listed";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args) {
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Parsed::Version) => {
            println!("steadfast-visual {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Parsed::Run(invocation)) => {
            let outcome = match invocation.command {
                Command::Diff => diff::run(&invocation),
                Command::DiffDir => diff_dir::run(&invocation),
            };
            outcome.unwrap_or_else(|message| fail(&message))
        }
        Ok(Parsed::Baselines(invocation)) => run_baselines(&invocation),
        Err(message) => fail(&format!("{message} (see --help)")),
    }
}

fn run_baselines(invocation: &baselines::Invocation) -> ExitCode {
    let outcome = invocation
        .visual_dir()
        .and_then(|visual| match &invocation.command {
            baselines::Command::Review => review::run(&visual),
            baselines::Command::Accept { names } => accept::run(&visual, names),
            baselines::Command::Prune { yes, snapshot_dirs } => {
                prune::run(&visual, *yes, snapshot_dirs)
            }
        });
    outcome.unwrap_or_else(|message| fail(&message))
}

/// Print one error line and return exit status 2.
fn fail(message: &str) -> ExitCode {
    print_error(message);
    ExitCode::from(2)
}

fn print_error(message: &str) {
    eprintln!("steadfast-visual: error: {message}");
}

/// The error and its causes on one line, `: `-separated, so that the
/// decoder's own message reaches the user.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
