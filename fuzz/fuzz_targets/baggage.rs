//! `baggage`: parse, and for what parses, format and parse again to the same members.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast::tracing_core::baggage::Baggage;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(baggage) = Baggage::parse(text) {
        let formatted = baggage.to_string();
        let again = Baggage::parse(&formatted).expect("formatted baggage parses");
        assert_eq!(again, baggage);
    }
});
