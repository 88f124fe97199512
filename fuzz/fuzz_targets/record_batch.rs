//! Any bytes as one RecordBatch v2, CRC checks off so that the fuzzer reaches the records: the
//! owned decode and the borrowed view agree, and a decoded batch re-encodes to itself.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kwire_fuzz::check_record_batch(Bytes::copy_from_slice(data), &kwire_fuzz::options(false));
});
