//! Four processes updating one baseline at once (`STEADFAST_UPDATE=all`):
//! a reader only ever sees a whole PNG, one of theirs, and no temporary file
//! is left (issue #17).

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use image::{Rgba, RgbaImage};
use steadfast_visual::{Snapshot, Status, VisualDir, decode};

use crate::cli::stdout;
use crate::support::{clean_command, scratch};

const WRITERS: usize = 4;
const UPDATES: usize = 25;
const NAME: &str = "shared/chart";
/// The writer's index, and the scratch folder all of them share.
const WRITER_VAR: &str = "VISUAL_TEST_WRITER";
const ROOT_VAR: &str = "VISUAL_TEST_UPDATE_ROOT";

/// Writer `index`'s image: 256×256 pixels of noise drawn from the index
/// (xorshift), so each PNG is about 260 KB and the writes overlap.
fn image_of(index: usize) -> RgbaImage {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ (index as u64 + 1);
    RgbaImage::from_fn(256, 256, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let [r, g, b, ..] = state.to_le_bytes();
        Rgba([r, g, b, 255])
    })
}

fn snapshots(root: &Path) -> PathBuf {
    root.join("snapshots")
}

#[test]
#[ignore = "run in child processes by concurrent_updates_from_four_processes_…"]
fn child_updates_the_shared_baseline() {
    let index: usize = std::env::var(WRITER_VAR).unwrap().parse().unwrap();
    let root = PathBuf::from(std::env::var(ROOT_VAR).unwrap());
    let image = image_of(index);
    for update in 0..UPDATES {
        // The process environment: STEADFAST_UPDATE=all, CARGO_TARGET_DIR, the run id.
        let outcome = Snapshot::new(NAME)
            .snapshot_dir(snapshots(&root))
            .check(&image)
            .unwrap_or_else(|e| panic!("writer {index}, update {update}: {e}"));
        assert!(
            matches!(
                outcome.status(),
                Status::Created | Status::Updated | Status::Matched
            ),
            "writer {index}, update {update}: {outcome}"
        );
    }
}

fn start_writer(root: &Path, index: usize) -> Child {
    clean_command(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "concurrent_update::child_updates_the_shared_baseline",
        ])
        .env(WRITER_VAR, index.to_string())
        .env(ROOT_VAR, root)
        .env("STEADFAST_UPDATE", "all")
        .env("STEADFAST_VISUAL_RUN", "concurrent")
        .env("CARGO_TARGET_DIR", root.join("target"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn concurrent_updates_from_four_processes_always_leave_a_whole_baseline() {
    let root = scratch("concurrent-update");
    let images: Vec<RgbaImage> = (0..WRITERS).map(image_of).collect();
    let baseline = snapshots(&root).join(format!("{NAME}.png"));
    let mut writers: Vec<Child> = (0..WRITERS).map(|i| start_writer(&root, i)).collect();

    // Read the baseline over and over while any writer still runs.
    let (mut reads, mut seen) = (0usize, [0usize; WRITERS]);
    loop {
        let running = writers.iter_mut().any(|w| w.try_wait().unwrap().is_none());
        match std::fs::read(&baseline) {
            Ok(bytes) => {
                let image = decode(&bytes).unwrap_or_else(|e| {
                    panic!(
                        "read {reads}: a torn baseline of {} bytes: {e}",
                        bytes.len()
                    )
                });
                let writer = images
                    .iter()
                    .position(|i| *i == image)
                    .unwrap_or_else(|| panic!("read {reads}: an image no writer wrote"));
                seen[writer] += 1;
                reads += 1;
            }
            // Before the first writer created it; a rename never removes it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && reads == 0 => {}
            Err(e) => panic!("read {reads}: cannot read the baseline: {e}"),
        }
        if !running {
            break;
        }
    }

    for (index, writer) in writers.into_iter().enumerate() {
        let out = writer.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "writer {index}: {}{}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(reads > 0, "the baseline was never read");
    let last = steadfast_visual::open(&baseline).unwrap();
    assert!(
        images.contains(&last),
        "the final baseline is no writer's image"
    );
    let left: Vec<String> = std::fs::read_dir(baseline.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["chart.png"], "temporary files were left behind");
    // Every check appended a whole line to the run record, none lost.
    let visual = VisualDir::new(root.join("target/steadfast/visual"));
    let run = visual.last_run().unwrap().unwrap();
    assert_eq!(run.id(), "concurrent");
    assert!(run.is_used(&snapshots(&root), NAME));
    let record = std::fs::read_to_string(run.file()).unwrap();
    assert_eq!(record.lines().count(), WRITERS * UPDATES);
    eprintln!("{reads} whole reads; by writer: {seen:?}");
}
