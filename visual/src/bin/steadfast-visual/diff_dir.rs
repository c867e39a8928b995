//! `diff-dir EXPECTED_DIR ACTUAL_DIR`: compare two folders of screenshots.

use std::process::ExitCode;

use steadfast_visual::{DirEntry, DirOptions, DirReport, DirStatus, diff_dir};

use crate::args::Invocation;
use crate::{describe, print_error};

pub(crate) fn run(cmd: &Invocation) -> Result<ExitCode, String> {
    let mut options = DirOptions::new()
        .compare(cmd.options.clone())
        .threads(cmd.threads.unwrap_or(0))
        .limits(cmd.limits);
    if let Some(dir) = &cmd.output {
        options = options.output(dir);
    }
    let report = diff_dir(&cmd.expected, &cmd.actual, &options).map_err(|e| describe(&e))?;
    if cmd.json {
        println!("{}", report.to_json());
    } else {
        print_text(&report);
    }
    for entry in report.entries() {
        if let Some(error) = entry.error() {
            print_error(&format!("{}: {}", entry.path().display(), describe(error)));
        }
    }
    let code = if report.has_errors() {
        2
    } else if report.is_passed() {
        0
    } else {
        1
    };
    Ok(ExitCode::from(code))
}

/// One line per image that is not equal, then the totals.
fn print_text(report: &DirReport) {
    for entry in report.entries() {
        if entry.status() != DirStatus::Equal && entry.status() != DirStatus::Error {
            println!("{}", entry_line(entry));
        }
    }
    let count = |s| report.count(s);
    println!(
        "{} images: {} equal, {} within tolerance, {} different, {} missing, {} new, {} errors",
        report.entries().len(),
        count(DirStatus::Equal),
        count(DirStatus::WithinTolerance),
        count(DirStatus::Different),
        count(DirStatus::Missing),
        count(DirStatus::New),
        count(DirStatus::Error),
    );
}

fn entry_line(entry: &DirEntry) -> String {
    let mut line = format!("{:<16} {}", entry.status().as_str(), entry.path().display());
    if let (Some(diff), Some(ratio)) = (entry.diff_pixels(), entry.ratio()) {
        line.push_str(&format!("  {diff} pixels ({:.3}%)", ratio * 100.0));
    }
    if let Some(image) = entry.diff_image() {
        line.push_str(&format!("  {}", image.display()));
    }
    line
}
