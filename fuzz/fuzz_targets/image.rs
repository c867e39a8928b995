//! steadfast-visual's PNG/JPEG loading: any bytes decode or fail within the limits, never a
//! panic or an allocation past them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast::visual::{DecodeLimits, decode_with_limits};

fuzz_target!(|data: &[u8]| {
    let mut limits = DecodeLimits::default();
    limits.max_width = 512;
    limits.max_height = 512;
    limits.max_bytes = 4 << 20;
    if let Ok(image) = decode_with_limits(data, &limits) {
        assert!(image.width() <= 512 && image.height() <= 512);
    }
});
