//! Inputs the fuzz targets (see fuzz/ and docs/fuzzing.md) found, each one a test of the fix it
//! led to. The bytes are inline, as the target saw them (less any bytes the target used to pick
//! what to decode).

use bytes::Bytes;
use kwire_protocol::frame::ResponseHeader;
use kwire_protocol::messages::{ApiKey, RequestBody};
use kwire_protocol::{DecodeErrorKind, Decoder, Encoder};

const OUT_OF_ORDER: DecodeErrorKind = DecodeErrorKind::Invalid("tagged fields out of order or repeated");

/// Found by the `header` target: a response header v1 whose tagged fields come as tags 0, 3, 1.
/// It decoded, and re-encoded sorted (0, 1, 3), so decode -> encode -> decode changed the value.
/// KIP-482 has tags strictly ascending; now a tag not above the one before it is an error.
#[test]
fn response_header_with_tags_out_of_order_is_refused() {
    let input: &[u8] = &[
        0xef, 0xef, 0x01, 0x00, // correlation id
        0x03, // three tagged fields
        0x00, 0x01, 0x00, // tag 0, one byte
        0x03, 0x00, // tag 3, empty
        0x01, 0x00, // tag 1, empty: below the tag before it
        0x00, 0x2d, 0x6e, 0x6f,
    ];
    let mut d = Decoder::new(Bytes::from_static(input));
    let err = ResponseHeader::decode(&mut d, 1).unwrap_err();
    assert_eq!(err.kind(), &OUT_OF_ORDER);
    assert_eq!(err.offset(), 10, "the offset of the third tag");
}

#[test]
fn a_repeated_tag_is_refused_and_ascending_tags_roundtrip() {
    // correlation id 7, then tags 2 and 2.
    let repeated: &[u8] = &[0, 0, 0, 7, 2, 2, 1, 0xaa, 2, 0];
    let err = ResponseHeader::decode(&mut Decoder::new(Bytes::from_static(repeated)), 1).unwrap_err();
    assert_eq!(err.kind(), &OUT_OF_ORDER);
    // Tags 2 and 5: kept, and written back byte for byte.
    let ascending: &[u8] = &[0, 0, 0, 7, 2, 2, 1, 0xaa, 5, 0];
    let mut d = Decoder::new(Bytes::from_static(ascending));
    let header = ResponseHeader::decode(&mut d, 1).unwrap();
    d.finish().unwrap();
    assert_eq!(header.unknown_tagged_fields.len(), 2);
    let mut e = Encoder::new();
    header.encode(&mut e, 1).unwrap();
    assert_eq!(&e.into_inner()[..], ascending);
}

/// Found by the `request` target: a ListOffsets v9 request body whose top-level tagged fields
/// repeat tag 0 and end with tag 3 (the same flaw in a message body).
#[test]
fn list_offsets_request_with_repeated_tags_is_refused() {
    let input: &[u8] = &[
        0xff, 0xff, 0x3d, 0xff, 0x00, 0x02, 0x08, 0x67, 0x6f, 0x6c, 0x64, 0x65, 0x6e, 0x36, 0x01, 0x00, 0x08,
        0x03, 0x00, 0x00, 0x46, 0xff, 0x00, 0x6c, 0x64, 0x65, 0x6e, 0x36, 0x01, 0x31, 0x00, 0x03, 0x00, 0x00,
        0x46, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0xff, 0xff, 0xff, 0x40, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0xff,
        0x7f, 0xff, 0xff, 0xff, 0xfb, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x02, 0x67, 0x6f, 0xbf,
        0x6c, 0x5e, 0x65, 0x6e, 0x36, 0x04, 0x00, 0x21, 0x87, 0x87, 0x7a, 0x87, 0x87, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x05, 0x29, 0x3d, 0x61, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb9, 0xb9, 0xb9,
        0xb9, 0xb9, 0x29, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    let err = RequestBody::decode(ApiKey::ListOffsets, 9, Bytes::from_static(input)).unwrap_err();
    assert_eq!(err.kind(), &OUT_OF_ORDER);
}
