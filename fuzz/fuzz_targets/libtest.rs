//! steadfast-flaky's libtest (`cargo test` output) reader: never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use steadfast::flaky::input::parse_libtest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_libtest(Path::new("fuzz.log"), text);
});
