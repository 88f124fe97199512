//! Any bytes as a request body of any API and version (the first two bytes pick them): decode
//! never panics, and what decodes re-encodes to bytes that decode to the same value.
#![no_main]

use kwire_fuzz::check_body;
use kwire_protocol::messages::RequestBody;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| check_body::<RequestBody>(data));
