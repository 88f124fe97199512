//! Any bytes as a request body of any API and version: decode never panics, and what decodes
//! re-encodes to bytes that decode to the same value.
#![no_main]

use bytes::Bytes;
use kwire_protocol::messages::{ApiKey, RequestBody};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&[k, v], body)) = data.split_first_chunk::<2>().map(|(h, b)| (h, b)) else {
        return;
    };
    let (key, _, versions) = ApiKey::SUPPORTED[usize::from(k) % ApiKey::SUPPORTED.len()];
    let version = versions.min + i16::from(v) % (versions.max - versions.min + 1);
    if let Ok(msg) = RequestBody::decode(key, version, Bytes::copy_from_slice(body)) {
        let again = msg.encode(version).expect("a decoded request encodes");
        let back = RequestBody::decode(key, version, again).expect("a re-encoded request decodes");
        assert_eq!(back, msg);
    }
});
