//! OTLP/HTTP JSON metrics: mocknet's `/v1/metrics` collector checks any bytes without panicking,
//! whatever they hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast::mocknet::fuzz::check_otlp_metrics;

fuzz_target!(|data: &[u8]| {
    let _ = check_otlp_metrics(data);
});
