//! determinism's RFC 3339 parser: never a panic, and what parses formats and parses again to
//! the same instant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast::determinism::timestamp;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(time) = timestamp::parse(text) {
        let again = timestamp::parse(&timestamp::format(time)).expect("a formatted time parses");
        assert_eq!(again, time);
    }
});
