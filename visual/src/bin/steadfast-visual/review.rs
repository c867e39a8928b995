//! `review`: walk the snapshots waiting for review, one answer each.

use std::io::{BufRead, IsTerminal as _, Write};
use std::process::ExitCode;

use steadfast_visual::{Pending, VisualDir};

use crate::describe;

const PROMPT: &str = "accept (a), reject (r), skip (s), quit (q)? ";

/// An answer to one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Accept,
    Reject,
    Skip,
    Quit,
}

pub(crate) fn run(visual: &VisualDir) -> Result<ExitCode, String> {
    let pending = visual.pending().map_err(|e| describe(&e))?;
    if pending.is_empty() {
        println!(
            "no snapshots waiting for review in {}",
            visual.path().display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let stdin = std::io::stdin();
    // A terminal echoes what is typed; piped answers are echoed here, so a
    // transcript reads the same.
    let echo = !stdin.is_terminal();
    let left = review(&pending, stdin.lock(), std::io::stdout().lock(), echo)?;
    Ok(ExitCode::from(if left == 0 { 0 } else { 1 }))
}

/// Ask about each snapshot in turn and act on the answers; returns how
/// many are left waiting (skipped, or not reached before `q` or the end of
/// the input).
fn review(
    pending: &[Pending],
    keys: impl BufRead,
    mut out: impl Write,
    echo: bool,
) -> Result<usize, String> {
    let io = |e: std::io::Error| format!("cannot write to the terminal: {e}");
    let mut keys = keys.bytes();
    let (mut accepted, mut rejected) = (0, 0);
    for (index, snapshot) in pending.iter().enumerate() {
        writeln!(out, "\n[{}/{}] {snapshot}", index + 1, pending.len()).map_err(io)?;
        let answer = loop {
            write!(out, "{PROMPT}").map_err(io)?;
            out.flush().map_err(io)?;
            let key = next_key(&mut keys)?;
            if echo {
                writeln!(out, "{}", key.map_or('-', char::from)).map_err(io)?;
            }
            match key.map(|k| k.to_ascii_lowercase()) {
                None | Some(b'q') => break Answer::Quit,
                Some(b'a') => break Answer::Accept,
                Some(b'r') => break Answer::Reject,
                Some(b's') => break Answer::Skip,
                Some(other) => writeln!(
                    out,
                    "unknown answer `{}`: press a, r, s or q",
                    char::from(other).escape_default()
                )
                .map_err(io)?,
            }
        };
        match answer {
            Answer::Accept => {
                snapshot
                    .accept()
                    .map_err(|e| failed("accept", snapshot, &e))?;
                accepted += 1;
                writeln!(out, "accepted: wrote {}", snapshot.baseline().display()).map_err(io)?;
            }
            Answer::Reject => {
                snapshot
                    .reject()
                    .map_err(|e| failed("reject", snapshot, &e))?;
                rejected += 1;
                writeln!(out, "rejected: removed the new image, kept the baseline").map_err(io)?;
            }
            Answer::Skip => writeln!(out, "skipped").map_err(io)?,
            Answer::Quit => break,
        }
    }
    let left = pending.len() - accepted - rejected;
    writeln!(
        out,
        "\n{accepted} accepted, {rejected} rejected, {left} left for later"
    )
    .map_err(io)?;
    Ok(left)
}

/// The next key that is not white space (a terminal sends the answer with
/// its Enter); `None` at the end of the input.
fn next_key(keys: &mut impl Iterator<Item = std::io::Result<u8>>) -> Result<Option<u8>, String> {
    for key in keys {
        let key = key.map_err(|e| format!("cannot read the answer: {e}"))?;
        if !key.is_ascii_whitespace() {
            return Ok(Some(key));
        }
    }
    Ok(None)
}

fn failed(action: &str, snapshot: &Pending, error: &steadfast_visual::Error) -> String {
    format!(
        "cannot {action} snapshot `{}`: {}",
        snapshot.name(),
        describe(error)
    )
}
