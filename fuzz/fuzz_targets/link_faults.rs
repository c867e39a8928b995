//! mocknet's link fault file (`steadfast-mocknet link --faults FILE`): any text is a fault set
//! or an error naming the file, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast::mocknet::link::LinkFaults;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match LinkFaults::from_json("fuzz.json", text) {
        Ok(faults) => {
            for fault in faults.faults() {
                assert!(!fault.kind().as_str().is_empty());
            }
        }
        Err(err) => assert!(err.to_string().contains("fuzz.json"), "{err}"),
    }
});
