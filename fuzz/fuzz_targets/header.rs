//! Any bytes as a request header v0/v1/v2 or a response header v0/v1 (the first byte picks):
//! decode never panics, and a decoded header re-encodes to bytes that decode to it again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kwire_fuzz::check_header(data));
