//! Any bytes as one MessageSet v0/v1 entry (compressed wrappers included): decode never panics
//! and agrees with the `RecordBatches` reading of the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kwire_fuzz::check_legacy(data));
