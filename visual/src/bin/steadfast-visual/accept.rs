//! `accept NAME…`: the new images of these snapshots become their baselines.

use std::process::ExitCode;

use steadfast_visual::VisualDir;

use crate::describe;

pub(crate) fn run(visual: &VisualDir, names: &[String]) -> Result<ExitCode, String> {
    // Every name is checked before anything is written: a typo accepts nothing.
    let pending = names
        .iter()
        .map(|name| visual.pending_named(name))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| describe(&e))?;
    for snapshot in &pending {
        snapshot.accept().map_err(|e| {
            format!(
                "cannot accept snapshot `{}`: {}",
                snapshot.name(),
                describe(&e)
            )
        })?;
        println!(
            "accepted `{}`: wrote {}",
            snapshot.name(),
            snapshot.baseline().display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
