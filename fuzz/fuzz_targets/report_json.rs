//! steadfast-flaky's report JSON reader: never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use steadfast::flaky::input::parse_report_json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_report_json(Path::new("report.json"), text);
});
