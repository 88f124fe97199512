//! Any bytes as a Fetch response's `records` (v2 batches and legacy entries back to back): the
//! owned batches and the borrowed views give the same entries, records, errors and partial end.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kwire_fuzz::check_records(data));
