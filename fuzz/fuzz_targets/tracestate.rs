//! `tracestate`: parse, and for what parses, format and parse again to the same entries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast::tracing_core::TraceState;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // One header, and the same bytes split at every comma into several headers.
    let parsed = TraceState::parse(text);
    let _ = TraceState::parse_headers(text.split(','));
    if let Ok(state) = parsed {
        let formatted = state.to_string();
        let again = TraceState::parse(&formatted).expect("a formatted tracestate parses");
        assert_eq!(again, state);
        assert_eq!(again.to_string(), formatted);
    }
});
