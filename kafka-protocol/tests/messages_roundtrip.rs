//! Every message type at every version: encode -> decode gives the value back and consumes every
//! byte, re-encoding gives the same bytes, and decoding arbitrary bytes never panics.

use bytes::Bytes;
use kwire_protocol::arb::Arb;
use kwire_protocol::for_each_api;
use kwire_protocol::messages::*;
use proptest::prelude::*;

fn roundtrip_all_versions<M: Message + Arb + std::fmt::Debug>(seed: &[u8]) -> Result<(), TestCaseError> {
    for version in M::VERSIONS.iter() {
        let mut u = arbitrary::Unstructured::new(seed);
        let mut value = M::arb(&mut u).expect("arbitrary values never run out of data");
        value.normalize_to(version);
        let bytes = value
            .encode_to_bytes(version)
            .map_err(|e| TestCaseError::fail(format!("{} v{version}: encode failed: {e}", M::NAME)))?;
        let back = M::decode_bytes(bytes.clone(), version)
            .map_err(|e| TestCaseError::fail(format!("{} v{version}: decode failed: {e}", M::NAME)))?;
        prop_assert_eq!(&back, &value, "{} v{}", M::NAME, version);
        let again = back.encode_to_bytes(version).unwrap();
        prop_assert_eq!(again, bytes, "{} v{} re-encode differs", M::NAME, version);
    }
    Ok(())
}

fn decode_never_panics<M: Message>(data: &[u8]) {
    for version in M::VERSIONS.iter() {
        if let Ok(value) = M::decode_bytes(Bytes::copy_from_slice(data), version) {
            // Whatever decodes must encode again, to the same bytes.
            let again = value.encode_to_bytes(version).expect("a decoded value encodes");
            let back = M::decode_bytes(again, version).expect("a re-encoded value decodes");
            assert_eq!(back, value);
        }
    }
}

macro_rules! roundtrip_tests {
    ($(($api:ident, $key:literal, $reqmod:ident, $req:ident, $respmod:ident, $resp:ident),)*) => {
        $(
            mod $reqmod {
                use super::*;
                proptest! {
                    #![proptest_config(ProptestConfig::with_cases(64))]
                    #[test]
                    fn request_roundtrips_at_every_version(seed in proptest::collection::vec(any::<u8>(), 0..2048)) {
                        roundtrip_all_versions::<$req>(&seed)?;
                    }
                    #[test]
                    fn response_roundtrips_at_every_version(seed in proptest::collection::vec(any::<u8>(), 0..2048)) {
                        roundtrip_all_versions::<$resp>(&seed)?;
                    }
                    #[test]
                    fn decoding_arbitrary_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
                        decode_never_panics::<$req>(&data);
                        decode_never_panics::<$resp>(&data);
                    }
                }
            }
        )*
    };
}

for_each_api!(roundtrip_tests);

/// KIP-219: a response reports the throttle the broker asked for, read from the wire at each
/// version that carries the field, and 0 where the version or the message has none.
#[test]
fn responses_report_their_throttle_time_at_every_version_that_has_it() {
    fn check<M: Message>(mut value: M, set: impl Fn(&mut M, i32), from: i16) {
        set(&mut value, 1234);
        for version in M::VERSIONS.iter() {
            let mut v = value.clone();
            v.normalize_to(version);
            let back = M::decode_bytes(v.encode_to_bytes(version).unwrap(), version).unwrap();
            let expected = if version >= from { 1234 } else { 0 };
            assert_eq!(back.throttle_time_ms(), expected, "{} v{version}", M::NAME);
        }
    }
    check(ProduceResponse::default(), |m, t| m.throttle_time_ms = t, 3);
    check(FetchResponse::default(), |m, t| m.throttle_time_ms = t, 4);
    check(MetadataResponse::default(), |m, t| m.throttle_time_ms = t, 3);
    check(ApiVersionsResponse::default(), |m, t| m.throttle_time_ms = t, 1);
    check(ListOffsetsResponse::default(), |m, t| m.throttle_time_ms = t, 2);
    check(
        FindCoordinatorResponse::default(),
        |m, t| m.throttle_time_ms = t,
        1,
    );
    check(EndTxnResponse::default(), |m, t| m.throttle_time_ms = t, 0);
    // SaslHandshake has no throttle field.
    assert_eq!(SaslHandshakeResponse::default().throttle_time_ms(), 0);
}
