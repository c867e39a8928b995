//! `diff A B`: compare two images.

use std::process::ExitCode;

use steadfast_visual::{Comparison, compare, open_with_limits};

use crate::args::Invocation;
use crate::describe;

pub(crate) fn run(cmd: &Invocation) -> Result<ExitCode, String> {
    let threads = cmd.threads.unwrap_or(0);
    let open = |path| open_with_limits(path, &cmd.limits).map_err(|e| describe(&e));
    let (a, b) = if threads == 1 {
        (open(&cmd.expected), open(&cmd.actual))
    } else {
        // Decoding dominates on large screenshots: both files at once.
        std::thread::scope(|scope| {
            let a = scope.spawn(|| open(&cmd.expected));
            let b = open(&cmd.actual);
            // OK because decoding returns errors rather than panicking.
            (a.join().expect("decoder panicked"), b)
        })
    };
    let (a, b) = (a?, b?);
    let options = cmd
        .options
        .clone()
        .threads(threads)
        .diff_image(cmd.output.is_some());
    let result = compare(&a, &b, &options).map_err(|e| describe(&e))?;
    if let (Some(path), Some(diff)) = (&cmd.output, result.diff_image()) {
        steadfast_visual::save_png(path, diff).map_err(|e| describe(&e))?;
    }
    report(&result, cmd.json);
    Ok(ExitCode::from(if result.is_passed() { 0 } else { 1 }))
}

fn report(result: &Comparison, json: bool) {
    if json {
        let value = serde_json::json!({
            "diff_pixels": result.diff_pixels(),
            "total_pixels": result.total_pixels(),
            "ratio": result.ratio(),
            "passed": result.is_passed(),
        });
        println!("{value}");
    } else {
        println!("{}", result.diff_pixels());
    }
}
