//! OTLP/HTTP JSON: mocknet's collector decodes any bytes without panicking, and the spans it
//! decodes survive tracing-core's encoder and the decoder again unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast::mocknet::fuzz::decode_otlp;
use steadfast::tracing_core::otlp::{Resource, encode_request};

fuzz_target!(|data: &[u8]| {
    if let Ok(spans) = decode_otlp(data) {
        let encoded = encode_request(&Resource::new("fuzz"), &spans);
        let again = decode_otlp(encoded.as_bytes()).expect("an encoded export decodes");
        assert_eq!(again, spans);
    }
});
