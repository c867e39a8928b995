//! The HTML report of steadfast-flaky in a real headless Chromium: filters hide and show
//! rows, the slider moves the overlay, images load, the copy button copies, strings stay
//! text, the page fits a narrow screen, and a screenshot matches its baseline
//! (`tests/snapshots/flaky-html-report.png`) by steadfast-visual with a tolerance for font
//! rendering. Needs `chromium` and `chromedriver` (see `browser.rs` for `STEADFAST_TEST_CHROMIUM`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use image::{Rgba, RgbaImage};
use serde_json::{Value, json};
use steadfast::flaky::attempts::{AttemptOutcome, AttemptRecord, append_to};
use steadfast::flaky::gate::Quarantine;
use steadfast::flaky::html::{EmbedLimits, HtmlReport, RunLog, VisualArtifacts, read_detailed};
use steadfast::flaky::time::Date;
use steadfast::flaky::{Report, Status};
use steadfast::tracing_core::sink::Forest;
use steadfast::tracing_core::span::{Span, SpanKind};
use steadfast::tracing_core::{SpanId, TraceId};
use steadfast::visual::{Snapshot, Status as SnapshotStatus};

use crate::browser::{Cdp, Driver, tools};

/// Where the fixtures go, relative to the package root (the test's working directory), so
/// the paths the page shows are the same on every machine and the screenshot can match.
const ROOT: &str = "target/steadfast-html-e2e";
const WIDTH: u32 = 1024;
const HEIGHT: u32 = 768;
/// The injected test name: it must show as text and never run.
const INJECTED: &str = r#"<img src=x onerror="window.__injected=1">"#;
const REPLAY: &str = "STEADFAST_SEED=0x0000000000000001 cargo nextest run -E 'binary_id(shop::it) & test(=checkout::charges_once)'";

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One nextest JUnit run: `charges_once` and `visual::home` fail, `cart::adds` passes on
/// retry in run 1, the injected name fails in run 2.
fn junit(run: u32) -> String {
    let at = format!("2026-06-0{run}T09:00:00.000+00:00");
    let failure = |name: &str, message: &str| {
        format!(
            "<failure type=\"test failure\">thread '{}' panicked at tests/it.rs:10:5:\n{}</failure>",
            xml(name),
            xml(message)
        )
    };
    let charges = format!(
        "{}<system-out>steadfast: test checkout::charges_once failed with seed 0x00000000000000c3: \
         charged twice; replay: {}</system-out>",
        failure("checkout::charges_once", "charged twice"),
        xml(REPLAY)
    );
    let adds = if run == 1 {
        "<flakyFailure type=\"test failure\" message=\"cart was empty\"/>".to_owned()
    } else {
        String::new()
    };
    let injected = if run == 2 {
        failure(INJECTED, "<script>window.__injected=2</script> broke")
    } else {
        String::new()
    };
    let home = failure(
        "visual::home",
        "steadfast: snapshot `home` does not match its baseline",
    );
    let cases = [
        ("checkout::charges_once", charges),
        ("cart::adds", adds),
        ("cart::totals", String::new()),
        ("visual::home", home),
        (INJECTED, injected),
    ];
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"nextest-run\" tests=\"5\" \
         failures=\"2\" errors=\"0\" timestamp=\"{at}\" time=\"1.0\">\n\
         <testsuite name=\"shop::it\" tests=\"5\" disabled=\"0\" errors=\"0\" failures=\"2\">\n"
    );
    for (name, body) in cases {
        out.push_str(&format!(
            "<testcase name=\"{}\" classname=\"shop::it\" timestamp=\"{at}\" time=\"0.1\">{body}</testcase>\n",
            xml(name)
        ));
    }
    out.push_str("</testsuite>\n</testsuites>\n");
    out
}

/// A retried test whose first attempt failed a trace assertion, drawing its tree.
fn record_attempts(dir: &Path) -> PathBuf {
    let trace = TraceId::from_u128(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736);
    let forest = Forest::new(vec![
        Span::new(trace, SpanId::from_u64(1), "checkout").with_kind(SpanKind::Server),
        Span::new(trace, SpanId::from_u64(2), "charge_card")
            .with_parent(SpanId::from_u64(1))
            .with_kind(SpanKind::Client),
        Span::new(trace, SpanId::from_u64(3), "send_receipt").with_parent(SpanId::from_u64(1)),
    ]);
    let record = |attempt: u32, outcome, message: Option<String>| AttemptRecord {
        test: "shop::it traces::checkout".into(),
        invocation: "7".into(),
        attempt,
        max_attempts: 2,
        outcome,
        duration_ms: 12.5,
        message,
        seed: Some("0x00000000000000aa".into()),
        run_seed: Some("0x0000000000000001".into()),
        same_seed_as_first: true,
        replay: Some(
            "STEADFAST_SEED=0x0000000000000001 cargo nextest run -E 'test(=traces::checkout)'"
                .into(),
        ),
        at_ms: 1_780_304_400_000 + i64::from(attempt),
    };
    let message = format!(
        "steadfast: the walk differs: expected checkout [server]\nrecorded spans:\n{forest}"
    );
    append_to(dir, &record(1, AttemptOutcome::Failed, Some(message))).unwrap();
    append_to(dir, &record(2, AttemptOutcome::Passed, None)).unwrap()
}

/// A 240 × 160 "page" with a header bar and a button at `button_x`.
fn page_image(button_x: u32) -> RgbaImage {
    let mut image = RgbaImage::from_pixel(240, 160, Rgba([246, 247, 249, 255]));
    for (x, y) in (0..240).flat_map(|x| (0..24).map(move |y| (x, y))) {
        image.put_pixel(x, y, Rgba([33, 66, 140, 255]));
    }
    for (x, y) in (button_x..button_x + 60).flat_map(|x| (100..128).map(move |y| (x, y))) {
        image.put_pixel(x, y, Rgba([46, 139, 87, 255]));
    }
    image
}

/// Real steadfast-visual artifacts: `home` changed, `cart/empty` has no baseline.
fn write_snapshots(root: &Path) -> PathBuf {
    let visual = root.join("visual");
    let baselines = root.join("baselines");
    let snapshot = |name: &str, update: &'static str| {
        Snapshot::new(name)
            .snapshot_dir(&baselines)
            .artifact_dir(visual.join(name))
            .with_env(move |key| (key == "STEADFAST_UPDATE").then(|| OsString::from(update)))
    };
    let created = snapshot("home", "missing").check(&page_image(20)).unwrap();
    assert_eq!(created.status(), SnapshotStatus::Created);
    let changed = snapshot("home", "none").check(&page_image(140)).unwrap();
    assert_eq!(changed.status(), SnapshotStatus::Changed);
    let missing = snapshot("cart/empty", "none")
        .check(&page_image(80))
        .unwrap();
    assert_eq!(missing.status(), SnapshotStatus::Missing);
    visual
}

/// Writes the inputs and the page; returns the page's path.
fn write_report() -> PathBuf {
    let root = Path::new(ROOT);
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir_all(root).unwrap();
    let mut inputs = Vec::new();
    for run in 1..=2 {
        let path = root.join(format!("run-{run}.xml"));
        std::fs::write(&path, junit(run)).unwrap();
        inputs.push(path);
    }
    inputs.push(record_attempts(root));
    let visual_dir = write_snapshots(root);

    let mut report = Report::new();
    let mut runs = RunLog::new();
    for input in &inputs {
        let detailed = read_detailed(input).unwrap();
        report.merge(detailed.input.report);
        runs.merge(detailed.runs);
    }
    let visual = VisualArtifacts::scan(&visual_dir, EmbedLimits::default()).unwrap();
    let quarantine = Quarantine::parse(
        Path::new("quarantine"),
        "shop::it cart::adds 2099-12-31 # issue 7\n",
    )
    .unwrap();
    let html = HtmlReport::new(&report)
        .runs(&runs)
        .visual(&visual)
        .quarantine(&quarantine, Date::today())
        .render();
    assert_eq!(
        report.get("shop::it cart::adds").unwrap().status(),
        Status::Flaky
    );
    let page = root.join("report.html");
    std::fs::write(&page, html).unwrap();
    page
}

/// Sets the page's viewport to exactly `width` × `height` CSS pixels at scale 1 (the
/// window's size includes what headless Chromium keeps for its own frame).
async fn viewport(client: &Client, width: u32, height: u32) {
    client
        .issue_cmd(Cdp {
            method: "Emulation.setDeviceMetricsOverride",
            params: json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        })
        .await
        .unwrap();
}

async fn eval(client: &Client, script: &str) -> Value {
    client
        .execute(script, Vec::new())
        .await
        .unwrap_or_else(|err| panic!("steadfast: script failed: {err}\n{script}"))
}

/// The ids of the rows shown.
async fn shown(client: &Client) -> Vec<String> {
    let ids = eval(
        client,
        "return [...document.querySelectorAll('.tests > .test')]\
           .filter(row => !row.hidden && row.offsetParent !== null)\
           .map(row => row.querySelector('.id').textContent);",
    )
    .await;
    serde_json::from_value(ids).unwrap()
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|err| panic!("steadfast: no element {css}: {err}"))
        .click()
        .await
        .unwrap_or_else(|err| panic!("steadfast: cannot click {css}: {err}"));
}

async fn images_load(client: &Client) {
    let sizes = client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             Promise.all([...document.images].map(img => img.decode().catch(() => null)))\
               .then(() => done([...document.images].map(img => [img.alt, img.naturalWidth])));",
            Vec::new(),
        )
        .await
        .unwrap();
    let sizes: Vec<(String, u32)> = serde_json::from_value(sizes).unwrap();
    // home: slider pair + three side-by-side; cart/empty: actual.
    assert_eq!(sizes.len(), 6, "{sizes:?}");
    assert!(
        sizes.iter().all(|(_, width)| *width == 240),
        "an image did not load: {sizes:?}"
    );
}

async fn screenshot_matches_its_baseline(client: &Client) {
    let png = client.screenshot().await.unwrap();
    let image = steadfast::visual::decode(&png).unwrap();
    assert_eq!(
        image.dimensions(),
        (WIDTH, HEIGHT),
        "the window is not the fixed size"
    );
    // Anti-aliased glyph edges move with the font rasteriser; layout changes move far more.
    Snapshot::new("flaky-html-report")
        .manifest_dir(env!("CARGO_MANIFEST_DIR"))
        .threshold(0.3)
        .max_diff_ratio(0.02)
        .assert(&image);
}

async fn filters_hide_and_show_rows(client: &Client) {
    let all = shown(client).await;
    assert_eq!(all.len(), 6, "{all:?}");
    click(client, "input[name=filter][value=failing]").await;
    let failing = shown(client).await;
    assert_eq!(
        failing,
        ["shop::it checkout::charges_once", "shop::it visual::home"]
    );
    // Radio buttons move with the arrow keys: Failing → Flaky.
    client
        .find(Locator::Css("input[name=filter][value=failing]"))
        .await
        .unwrap()
        .send_keys(&Key::Right.to_string())
        .await
        .unwrap();
    let mut flaky = shown(client).await;
    flaky.sort();
    let mut expected = vec![
        "shop::it cart::adds".to_owned(),
        format!("shop::it {INJECTED}"),
        "shop::it traces::checkout".to_owned(),
    ];
    expected.sort();
    assert_eq!(flaky, expected);
    click(client, "input[name=filter][value=quarantined]").await;
    assert_eq!(shown(client).await, ["shop::it cart::adds"]);
    click(client, "input[name=filter][value=all]").await;
    let search = client.find(Locator::Css("#search")).await.unwrap();
    search.send_keys("0x00000000000000C3").await.unwrap();
    assert_eq!(shown(client).await, ["shop::it checkout::charges_once"]);
    search.clear().await.unwrap();
    search.send_keys("cart").await.unwrap();
    assert_eq!(
        shown(client).await,
        ["shop::it cart::adds", "shop::it cart::totals"]
    );
    search.clear().await.unwrap();
    search.send_keys(" ").await.unwrap();
    assert_eq!(shown(client).await.len(), all.len());
    let status = eval(
        client,
        "return document.getElementById('shown').textContent;",
    )
    .await;
    assert_eq!(status, json!("6 of 6 tests shown"));
}

async fn the_slider_moves_the_overlay(client: &Client) {
    let clip = "const img = document.querySelector('#snapshot-1 img.actual');\
                const line = document.querySelector('#snapshot-1 .divider');\
                return [getComputedStyle(img).clipPath, line.style.left];";
    let before = eval(client, clip).await;
    assert_eq!(before, json!(["inset(0px 50% 0px 0px)", "50%"]));
    let slider = client
        .find(Locator::Css("#snapshot-1 input.slider"))
        .await
        .unwrap();
    slider.send_keys(&Key::End.to_string()).await.unwrap();
    assert_eq!(
        eval(client, clip).await,
        json!(["inset(0px 0% 0px 0px)", "100%"])
    );
    let left = Key::Left.to_string().repeat(30);
    slider.send_keys(&left).await.unwrap();
    assert_eq!(
        eval(client, clip).await,
        json!(["inset(0px 30% 0px 0px)", "70%"])
    );
    click(client, "#snapshot-1 input[value=side]").await;
    let views = eval(
        client,
        "return [...document.querySelectorAll('#snapshot-1 .view')].map(v => [v.dataset.view, v.hidden]);",
    )
    .await;
    assert_eq!(views, json!([["slider", true], ["side", false]]));
}

async fn the_copy_button_copies(client: &Client) {
    client
        .issue_cmd(Cdp {
            method: "Browser.grantPermissions",
            params: json!({"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]}),
        })
        .await
        .unwrap();
    let row = "#test-0";
    click(client, &format!("{row} details.attempts > summary")).await;
    // The label changes once the clipboard's promise settles, which may be after the click
    // returns, and changes back 2 s later: watch it from before the click, and read the first
    // label it takes.
    client
        .execute(
            &format!(
                "const button = document.querySelector('{row} button.copy');\
                 window.firstCopyLabel = new Promise(resolve => new MutationObserver(\
                 (_, observer) => {{ observer.disconnect(); resolve(button.textContent); }})\
                 .observe(button, {{childList: true, characterData: true, subtree: true}}));"
            ),
            Vec::new(),
        )
        .await
        .unwrap();
    click(client, &format!("{row} button.copy")).await;
    let label = client
        .execute_async(
            "window.firstCopyLabel.then(arguments[arguments.length - 1]);",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(label, json!("Copied"));
    let text = client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             navigator.clipboard.readText().then(done, error => done('read failed: ' + error));",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(text, json!(REPLAY));
}

async fn strings_stay_text(client: &Client) {
    let found = client
        .execute(
            "return [window.__injected === undefined,\
                     document.querySelectorAll('img[src=x]').length,\
                     document.querySelectorAll('script').length,\
                     [...document.querySelectorAll('.id')].some(id => id.textContent === arguments[0]),\
                     document.body.textContent.includes('<script>window.__injected=2</script> broke')];",
            vec![json!(format!("shop::it {INJECTED}"))],
        )
        .await
        .unwrap();
    // No handler ran, no markup from the inputs became an element (the one script is the
    // page's), and the name and the message show as the text they are.
    assert_eq!(found, json!([true, 0, 1, true, true]));
}

async fn fits_a_narrow_screen(client: &Client) {
    viewport(client, 360, 740).await;
    let widths = eval(
        client,
        "return [document.documentElement.scrollWidth, window.innerWidth];",
    )
    .await;
    assert!(
        widths[0].as_u64() <= widths[1].as_u64(),
        "the page scrolls sideways at 360 px: {widths}"
    );
}

#[test]
fn the_html_report_works_in_a_real_headless_chromium() {
    let Some(tools) = tools() else {
        return;
    };
    let page = std::fs::canonicalize(write_report()).unwrap();
    let driver = Driver::start(&tools);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = driver.session(&tools, WIDTH, HEIGHT).await;
        let flow = async {
            viewport(&client, WIDTH, HEIGHT).await;
            client
                .goto(&format!("file://{}", page.display()))
                .await
                .unwrap();
            images_load(&client).await;
            screenshot_matches_its_baseline(&client).await;
            strings_stay_text(&client).await;
            filters_hide_and_show_rows(&client).await;
            the_slider_moves_the_overlay(&client).await;
            the_copy_button_copies(&client).await;
            fits_a_narrow_screen(&client).await;
        };
        let finished = tokio::time::timeout(Duration::from_secs(120), flow).await;
        let _ = client.close().await;
        assert!(
            finished.is_ok(),
            "steadfast: the browser did not finish in 120 s"
        );
    });
}
