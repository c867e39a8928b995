//! A chart of the run's latencies, drawn with `image` by hand, checked against its baseline.

use std::time::{Duration, UNIX_EPOCH};

use image::{Rgba, RgbaImage};
use steadfast::determinism::{Seed, TestContext, TokioClock};
use steadfast::deterministic_test;
use steadfast::visual::{Snapshot, Status};

use crate::flow::{self, SCENARIOS};

/// The chart's runs use this seed whatever `STEADFAST_SEED` says, so one baseline fits all.
const CHART_SEED: Seed = Seed::new(0x00c4_a271);
/// The top of the chart: the client's retry budget (3 attempts of 2 s, 2 waits of 1 s).
const SCALE: Duration = Duration::from_secs(8);
/// The snapshot's name: the baseline is `tests/snapshots/e2e-latencies.png`.
const NAME: &str = "e2e-latencies";
const HEIGHT: u32 = 160;
const MARGIN: u32 = 8;
const BAR: u32 = 6;
const GAP: u32 = 2;
const GROUP_GAP: u32 = 12;

const BACKGROUND: Rgba<u8> = Rgba([255, 255, 255, 255]);
const GRID: Rgba<u8> = Rgba([225, 225, 225, 255]);
const AXIS: Rgba<u8> = Rgba([60, 60, 60, 255]);
/// One colour per scenario, in the order of [`SCENARIOS`].
const COLOURS: [Rgba<u8>; 3] = [
    Rgba([46, 139, 87, 255]),
    Rgba([214, 96, 77, 255]),
    Rgba([65, 105, 225, 255]),
];

/// Bars of operation latencies, one group per scenario, on a fixed scale of [`SCALE`] with a
/// grid line every second. Integer arithmetic only, so the same latencies give the same bytes.
fn render(groups: &[Vec<Duration>]) -> RgbaImage {
    let bars: u32 = groups
        .iter()
        .map(|g| u32::try_from(g.len()).unwrap_or(u32::MAX))
        .sum();
    let groups_count = u32::try_from(groups.len()).unwrap_or(u32::MAX);
    let width = 2 * MARGIN + bars * (BAR + GAP) + groups_count.saturating_sub(1) * GROUP_GAP;
    let plot = HEIGHT - 2 * MARGIN;
    let bottom = HEIGHT - MARGIN;
    let mut image = RgbaImage::from_pixel(width, HEIGHT, BACKGROUND);
    let scale_ms = SCALE.as_millis();
    for second in 1..=SCALE.as_secs() {
        let y = bottom - scaled(u128::from(second) * 1000, scale_ms, plot);
        fill(&mut image, MARGIN, y, width - 2 * MARGIN, 1, GRID);
    }
    let mut x = MARGIN;
    for (group, latencies) in groups.iter().enumerate() {
        for latency in latencies {
            // Zero-length operations still show as a 1-pixel bar.
            let height = scaled(latency.as_millis().min(scale_ms), scale_ms, plot).max(1);
            fill(
                &mut image,
                x,
                bottom - height,
                BAR,
                height,
                COLOURS[group % COLOURS.len()],
            );
            x += BAR + GAP;
        }
        x += GROUP_GAP;
    }
    fill(&mut image, MARGIN, bottom, width - 2 * MARGIN, 1, AXIS);
    image
}

/// `value` of `full` as a length out of `pixels`, rounded to the nearest pixel.
fn scaled(value: u128, full: u128, pixels: u32) -> u32 {
    let length = (value * u128::from(pixels) + full / 2) / full;
    u32::try_from(length).unwrap_or(pixels)
}

fn fill(image: &mut RgbaImage, x: u32, y: u32, width: u32, height: u32, colour: Rgba<u8>) {
    for row in y..y + height {
        for column in x..x + width {
            image.put_pixel(column, row, colour);
        }
    }
}

#[deterministic_test]
async fn latency_chart_of_every_scenario_matches_the_committed_baseline(_ctx: &TestContext) {
    let clock = TokioClock::starting_at(UNIX_EPOCH + Duration::from_secs(1_767_225_600));
    let mut groups = Vec::new();
    for scenario in SCENARIOS {
        let run = flow::run(scenario, CHART_SEED.derive(scenario), 8, clock).await;
        groups.push(
            run.operations
                .iter()
                .map(|op| op.latency)
                .collect::<Vec<_>>(),
        );
    }

    let chart = render(&groups);

    snapshot().assert(&chart);
}

/// The chart's snapshot. Drawn exactly, so compared exactly: every pixel, anti-aliasing
/// included. The baseline is committed; with `CI` set a missing one fails instead of being
/// written.
fn snapshot() -> Snapshot {
    Snapshot::new(NAME)
        .manifest_dir(env!("CARGO_MANIFEST_DIR"))
        .threshold(0.0)
        .include_aa(true)
        .max_diff_pixels(0)
}

#[test]
fn one_changed_pixel_fails_the_chart_snapshot() {
    let baseline_path = format!("{}/tests/snapshots/{NAME}.png", env!("CARGO_MANIFEST_DIR"));
    let mut chart = steadfast::visual::open(&baseline_path).expect("the committed baseline");
    let (x, y) = (MARGIN + 1, HEIGHT - MARGIN - 1);
    let pixel = *chart.get_pixel(x, y);
    chart.put_pixel(x, y, Rgba([pixel[0] ^ 0x10, pixel[1], pixel[2], 255]));

    // Never let this test rewrite the baseline, whatever STEADFAST_UPDATE says.
    let outcome = snapshot()
        .with_env(|key| (key == "STEADFAST_UPDATE").then(|| "none".into()))
        .artifact_dir(concat!(
            env!("CARGO_TARGET_TMPDIR"),
            "/e2e-one-changed-pixel"
        ))
        .check(&chart)
        .expect("comparable");

    assert_eq!(outcome.status(), Status::Changed);
    assert_eq!(outcome.comparison().map(|c| c.diff_pixels()), Some(1));
}

#[test]
fn bars_are_scaled_to_the_retry_budget_with_a_grid_line_per_second() {
    let chart = render(&[
        vec![Duration::ZERO, Duration::from_secs(4)],
        vec![Duration::from_secs(9)],
    ]);

    // Two bars and a group gap between the margins.
    assert_eq!(
        chart.dimensions(),
        (2 * MARGIN + 3 * (BAR + GAP) + GROUP_GAP, HEIGHT)
    );
    let bottom = HEIGHT - MARGIN;
    let plot = HEIGHT - 2 * MARGIN;
    // A zero latency is one pixel high; 4 s is half the plot; 9 s is clipped to the top.
    assert_eq!(*chart.get_pixel(MARGIN, bottom - 1), COLOURS[0]);
    assert_eq!(*chart.get_pixel(MARGIN, bottom - 2), BACKGROUND);
    let second = MARGIN + BAR + GAP;
    assert_eq!(*chart.get_pixel(second, bottom - plot / 2), COLOURS[0]);
    assert_ne!(*chart.get_pixel(second, bottom - plot / 2 - 1), COLOURS[0]);
    let third = MARGIN + 2 * (BAR + GAP) + GROUP_GAP;
    assert_eq!(*chart.get_pixel(third, MARGIN), COLOURS[1]);
    // The 1 s grid line: plot / 8 above the axis, outside the bars.
    let gap_x = MARGIN + BAR;
    assert_eq!(*chart.get_pixel(gap_x, bottom - plot / 8), GRID);
    assert_eq!(*chart.get_pixel(gap_x, bottom), AXIS);
}
