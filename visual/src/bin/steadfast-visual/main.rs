//! The `steadfast-visual` command line: pixelmatch-exact image diffs of two
//! images or of two folders of screenshots.
//!
//! ```text
//! steadfast-visual diff A B [-o DIFF.png] [OPTIONS]
//! steadfast-visual diff-dir EXPECTED_DIR ACTUAL_DIR [-o DIFF_DIR] [OPTIONS]
//!
//! OPTIONS: [--threshold T] [--include-aa] [--alpha A] [--aa-color R,G,B]
//!     [--diff-color R,G,B] [--diff-color-alt R,G,B] [--diff-mask]
//!     [--background checkerboard|white] [--ignore x,y,w,h]... [--max-diff-pixels N]
//!     [--max-diff-ratio R] [--union] [--threads N] [--max-image-bytes N] [--json]
//! ```
//!
//! Exit status: 0 within tolerance (identical when no tolerance is given),
//! 1 different (or, for `diff-dir`, an image missing or new), 2 on any
//! error (one line per error on stderr).

mod args;
mod diff;
mod diff_dir;

use std::process::ExitCode;

use args::{Command, Parsed, parse};

const USAGE: &str = "usage: steadfast-visual diff A B [-o DIFF.png] [OPTIONS]
       steadfast-visual diff-dir EXPECTED_DIR ACTUAL_DIR [-o DIFF_DIR] [OPTIONS]

OPTIONS: [--threshold T] [--include-aa] [--alpha A] [--aa-color R,G,B] \
[--diff-color R,G,B] [--diff-color-alt R,G,B] [--diff-mask] \
[--background checkerboard|white] [--ignore x,y,w,h]... [--max-diff-pixels N] \
[--max-diff-ratio R] [--union] [--threads N] [--max-image-bytes N] [--json]

exit status: 0 within tolerance, 1 different (diff-dir: or missing or new), 2 error";

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
        Err(message) => fail(&format!("{message} (see --help)")),
    }
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
