//! steadfast-flaky's `attempts.jsonl` reader: never a panic, and the records it reads become
//! observations without one either.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use steadfast::flaky::attempts::parse_attempts;
use steadfast::flaky::input::attempts_to_observations;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(records) = parse_attempts(Path::new("attempts.jsonl"), text) {
        let _ = attempts_to_observations(records);
    }
});
