//! OTLP/HTTP JSON metrics: mocknet's `/v1/metrics` collector decodes any bytes without
//! panicking, and the metrics it decodes survive tracing-core's encoder and the decoder again
//! unchanged (compared as encodings, since a NaN value is not equal to itself).
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast::mocknet::fuzz::decode_otlp_metrics;
use steadfast::tracing_core::otlp::Resource;
use steadfast::tracing_core::otlp_metrics::encode_metrics_request;

fuzz_target!(|data: &[u8]| {
    if let Ok(metrics) = decode_otlp_metrics(data) {
        let resource = Resource::new("fuzz");
        let encoded = encode_metrics_request(&resource, &metrics);
        let again = decode_otlp_metrics(encoded.as_bytes()).expect("an encoded export decodes");
        assert_eq!(encode_metrics_request(&resource, &again), encoded);
    }
});
