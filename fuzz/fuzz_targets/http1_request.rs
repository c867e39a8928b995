//! mocknet's HTTP/1.1 request reader: any bytes, split into reads of any size, give requests,
//! a refusal or the end, never a panic; and the split never changes what is read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast::mocknet::fuzz::read_requests;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, input)) = data.split_first() else {
        return;
    };
    let whole = read_requests(input, input.len());
    let split = read_requests(input, usize::from(chunk % 16) + 1);
    assert_eq!(whole, split);
});
