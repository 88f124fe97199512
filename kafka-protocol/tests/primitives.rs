//! Primitive encodings checked against the protocol guide's byte layouts, and hostile lengths.

use bytes::Bytes;
use kwire_protocol::messages::{Message, MetadataResponse};
use kwire_protocol::{Ctx, DecodeErrorKind, Decoder, EncodeError, Encoder, Uuid, Wire};
use proptest::prelude::*;

fn dec(bytes: &[u8]) -> Decoder {
    Decoder::new(Bytes::copy_from_slice(bytes))
}

const CLASSIC: Ctx = Ctx {
    version: 0,
    flexible: false,
    nullable: false,
};
const FLEX: Ctx = Ctx {
    version: 0,
    flexible: true,
    nullable: false,
};

#[test]
fn varints_use_zigzag_like_protobuf() {
    let cases: &[(i32, &[u8])] = &[(0, &[0]), (-1, &[1]), (1, &[2]), (-64, &[0x7f]), (64, &[0x80, 1])];
    for (v, bytes) in cases {
        let mut e = Encoder::new();
        e.varint(*v);
        assert_eq!(&e.into_inner()[..], *bytes, "{v}");
        assert_eq!(dec(bytes).varint().unwrap(), *v);
    }
    let mut e = Encoder::new();
    e.varlong(i64::MIN);
    assert_eq!(e.len(), 10);
}

#[test]
fn overlong_varints_are_errors() {
    let six = [0xffu8, 0xff, 0xff, 0xff, 0xff, 0x01];
    assert!(matches!(
        dec(&six).uvarint().unwrap_err().kind(),
        DecodeErrorKind::VarintTooLong { .. }
    ));
    let eleven = [0xffu8; 11];
    assert!(matches!(
        dec(&eleven).varlong().unwrap_err().kind(),
        DecodeErrorKind::VarintTooLong { .. }
    ));
    // Five bytes whose value overflows a u32.
    let big = [0xffu8, 0xff, 0xff, 0xff, 0x7f];
    assert!(dec(&big).uvarint().is_err());
}

#[test]
fn strings_classic_and_compact() {
    let mut e = Encoder::new();
    "abc".to_string().encode(&mut e, CLASSIC).unwrap();
    "abc".to_string().encode(&mut e, FLEX).unwrap();
    assert_eq!(
        &e.into_inner()[..],
        &[0, 3, b'a', b'b', b'c', 4, b'a', b'b', b'c']
    );
}

#[test]
fn null_is_refused_where_not_nullable() {
    // -1 length for a non-nullable string.
    let err = String::decode(&mut dec(&[0xff, 0xff]), CLASSIC).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::NullNotAllowed);
    let err = Option::<String>::decode(&mut dec(&[0xff, 0xff]), CLASSIC).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::NullNotAllowed);
    let got = Option::<String>::decode(&mut dec(&[0xff, 0xff]), CLASSIC.with_nullable(true)).unwrap();
    assert_eq!(got, None);
    let mut e = Encoder::new();
    let err = None::<String>.encode(&mut e, CLASSIC).unwrap_err();
    assert!(matches!(err, EncodeError::NullNotAllowed { .. }));
}

#[test]
fn lengths_below_minus_one_are_errors() {
    let err = Bytes::decode(&mut dec(&(-2i32).to_be_bytes()), CLASSIC).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::InvalidLength(-2));
    let err = Vec::<i32>::decode(&mut dec(&i32::MIN.to_be_bytes()), CLASSIC).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::InvalidLength(i64::from(i32::MIN)));
}

#[test]
fn a_huge_declared_length_fails_without_allocating_it() {
    // String of i16::MAX, bytes of i32::MAX, compact bytes of u32::MAX - 1: all with no data behind.
    let err = String::decode(&mut dec(&[0x7f, 0xff]), CLASSIC).unwrap_err();
    assert!(matches!(
        err.kind(),
        DecodeErrorKind::UnexpectedEof { needed: 32767, .. }
    ));
    let err = Bytes::decode(&mut dec(&i32::MAX.to_be_bytes()), CLASSIC).unwrap_err();
    assert!(matches!(err.kind(), DecodeErrorKind::UnexpectedEof { .. }));
    let err = Bytes::decode(&mut dec(&[0xff, 0xff, 0xff, 0xff, 0x0f]), FLEX).unwrap_err();
    assert!(matches!(err.kind(), DecodeErrorKind::UnexpectedEof { .. }));
}

#[test]
fn an_array_count_of_two_billion_allocates_by_the_input_not_the_count() {
    let mut input = i32::MAX.to_be_bytes().to_vec();
    input.extend_from_slice(&[0; 8]);
    let mut d = dec(&input);
    // Two i32 elements fit; then the input runs out.
    let err = Vec::<i32>::decode(&mut d, CLASSIC).unwrap_err();
    assert!(matches!(err.kind(), DecodeErrorKind::UnexpectedEof { .. }));
    let d = dec(&[0; 8]);
    assert_eq!(d.capacity_for(1 << 31, 4), 2);
}

#[test]
fn a_response_with_a_hostile_count_reports_field_path_and_offset() {
    // MetadataResponse v1: throttle? (v3+) no; brokers array count = 2^31-1 and nothing behind.
    let err = MetadataResponse::decode_bytes(Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff]), 1).unwrap_err();
    assert!(matches!(err.kind(), DecodeErrorKind::UnexpectedEof { .. }));
    assert_eq!(err.path(), "brokers.node_id");
    assert_eq!(err.offset(), 4);
}

#[test]
fn trailing_bytes_after_a_message_are_an_error() {
    let mut body = MetadataResponse::default().encode_to_bytes(1).unwrap().to_vec();
    body.push(0);
    let err = MetadataResponse::decode_bytes(body.into(), 1).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::TrailingBytes(1));
}

#[test]
fn uuid_displays_in_canonical_form() {
    let id = Uuid([
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0, 1, 2, 3, 4, 5, 6, 7,
    ]);
    assert_eq!(id.to_string(), "12345678-9abc-def0-0001-020304050607");
}

proptest! {
    #[test]
    fn varlong_roundtrips(v in any::<i64>()) {
        let mut e = Encoder::new();
        e.varlong(v);
        let mut d = Decoder::new(e.into_inner().freeze());
        prop_assert_eq!(d.varlong().unwrap(), v);
        prop_assert_eq!(d.remaining(), 0);
    }

    #[test]
    fn varint_roundtrips(v in any::<i32>()) {
        let mut e = Encoder::new();
        e.varint(v);
        let mut d = Decoder::new(e.into_inner().freeze());
        prop_assert_eq!(d.varint().unwrap(), v);
    }

    #[test]
    fn primitives_never_panic_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        for flexible in [false, true] {
            let ctx = Ctx { version: 0, flexible, nullable: true };
            let _ = Option::<String>::decode(&mut dec(&data), ctx);
            let _ = Option::<Bytes>::decode(&mut dec(&data), ctx);
            let _ = Option::<Vec<String>>::decode(&mut dec(&data), ctx);
            let _ = Vec::<Uuid>::decode(&mut dec(&data), ctx);
            let _ = dec(&data).varlong();
        }
    }
}
