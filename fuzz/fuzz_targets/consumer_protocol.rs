//! Any bytes as a consumer protocol subscription and assignment: decoded to a value or an error,
//! and a decoded value roundtrips.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kwire_fuzz::check_consumer_protocol(data));
