//! Any bytes as the compressed records of a v2 batch, codec none/gzip/snappy/lz4/zstd picked by
//! the first byte and the records count by the second: each decompressor's output stays within
//! the bound and roundtrips, and the batch (with a correct CRC) decodes the same both ways.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kwire_fuzz::check_codec(data));
