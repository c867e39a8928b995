//! steadfast-flaky's JUnit reader: any bytes are observations or an error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use steadfast::flaky::input::parse_junit;

fuzz_target!(|data: &[u8]| {
    let _ = parse_junit(Path::new("fuzz.xml"), data);
});
