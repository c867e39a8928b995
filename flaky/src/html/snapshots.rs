//! The snapshots section: per failed snapshot its images in a slider and side by side, its
//! figures and the command that accepts it.

use std::fmt::Write as _;

use super::escape::Esc;
use super::rows::command;
use super::visual::{
    ARTIFACT_FILES, ArtifactImage, SnapshotArtifacts, VisualArtifacts, human_bytes,
};

pub(super) fn section(out: &mut String, visual: &VisualArtifacts) {
    let _ = write!(
        out,
        "<section id=\"snapshots\" aria-labelledby=\"snapshots-heading\">\n\
         <h2 id=\"snapshots-heading\">Snapshots that failed</h2>\n\
         <p class=\"where\">Artifacts in <code>{}</code></p>\n",
        Esc(&visual.root().display().to_string())
    );
    if visual.snapshots().is_empty() {
        out.push_str("<p>No snapshot failed: there are no artifacts.</p>\n");
    }
    for (index, snapshot) in visual.snapshots().iter().enumerate() {
        card(out, index, snapshot);
    }
    out.push_str("</section>\n");
}

fn card(out: &mut String, index: usize, snapshot: &SnapshotArtifacts) {
    let status = match (snapshot.expected(), snapshot.actual()) {
        (Some(_), Some(_)) => "differs from its baseline",
        (None, Some(_)) => "has no baseline",
        _ => "left incomplete artifacts",
    };
    let _ = write!(
        out,
        "<article class=\"snapshot\" id=\"snapshot-{index}\" aria-labelledby=\"snapshot-{index}-name\">\n\
         <h3 id=\"snapshot-{index}-name\"><code>{}</code> <span class=\"status\">{status}</span></h3>\n",
        Esc(&snapshot.name)
    );
    figures(out, snapshot);
    command(
        out,
        &snapshot.accept_command(),
        "Copy the command that accepts the actual image",
    );
    let pair = embedded(snapshot.expected()).zip(embedded(snapshot.actual()));
    if pair.is_some() {
        let _ = writeln!(
            out,
            "<fieldset class=\"views\"><legend>View</legend>\
             <label><input type=\"radio\" name=\"view-{index}\" value=\"slider\" checked> Slider</label>\
             <label><input type=\"radio\" name=\"view-{index}\" value=\"side\"> Side by side</label></fieldset>"
        );
    }
    if let Some((expected, actual)) = pair {
        let _ = write!(
            out,
            "<div class=\"view\" data-view=\"slider\">\n<div class=\"compare\">\
             <img class=\"expected\" src=\"{}\" alt=\"Expected image (the baseline)\">\
             <img class=\"actual\" src=\"{}\" alt=\"Actual image\" style=\"clip-path: inset(0 50% 0 0)\">\
             <span class=\"divider\" style=\"left: 50%\" aria-hidden=\"true\"></span></div>\n\
             <label class=\"slide\"><span>Actual on the left, expected on the right</span> \
             <input type=\"range\" class=\"slider\" min=\"0\" max=\"100\" value=\"50\"></label>\n</div>\n",
            Esc(expected),
            Esc(actual)
        );
    }
    let hidden = if pair.is_some() { " hidden" } else { "" };
    let _ = writeln!(out, "<div class=\"view side\" data-view=\"side\"{hidden}>");
    let captions = ["Expected (baseline)", "Actual", "Difference"];
    for (image, caption) in snapshot.images.iter().zip(captions) {
        let Some(image) = image else {
            continue;
        };
        let _ = write!(out, "<figure><figcaption>{caption}</figcaption>");
        match &image.embedded {
            Ok(uri) => {
                let _ = write!(out, "<img src=\"{}\" alt=\"{caption} image\">", Esc(uri));
            }
            Err(reason) => {
                let _ = write!(
                    out,
                    "<p class=\"not-embedded\">Not embedded: {}. The file is <code>{}</code>.</p>",
                    Esc(reason),
                    Esc(&image.path.display().to_string())
                );
            }
        }
        out.push_str("</figure>\n");
    }
    out.push_str("</div>\n</article>\n");
}

/// The `data:` URI of an image that was embedded.
fn embedded(image: Option<&ArtifactImage>) -> Option<&str> {
    image.and_then(|image| image.embedded.as_deref().ok())
}

fn figures(out: &mut String, snapshot: &SnapshotArtifacts) {
    out.push_str("<dl class=\"numbers\">");
    for (image, name) in snapshot.images.iter().zip(ARTIFACT_FILES) {
        if let Some(image) = image {
            let size = image
                .dimensions
                .map(|(width, height)| format!("{width} × {height}, "))
                .unwrap_or_default();
            let _ = write!(
                out,
                "<dt>{name}</dt><dd>{size}{}</dd>",
                human_bytes(image.bytes)
            );
        }
    }
    for (key, value) in &snapshot.figures {
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", Esc(key), Esc(value));
    }
    out.push_str("</dl>\n");
}
