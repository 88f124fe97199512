//! MessageSet v0/v1: hand-built messages checked against the spec, compressed wrappers (relative
//! offsets in v1, absolute in v0, log-append time), a blob mixing legacy entries and a v2 batch,
//! and the errors of broken messages.

use bytes::Bytes;
use kwire_protocol::records::{
    Batch, Compression, DecodeOptions, LegacyBatch, LegacyMessage, RecordBatch, RecordBatches, TimestampType,
};
use kwire_protocol::DecodeErrorKind;

/// A magic 0 entry written out by hand: offset 5, key "k", value "v0".
#[rustfmt::skip]
const V0_ENTRY: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 5,     // offset int64 = 5
    0, 0, 0, 17,                // message size int32
    0x16, 0x57, 0x64, 0xb1,     // crc: CRC32 (IEEE) of magic..end, computed with Python's zlib.crc32
    0,                          // magic 0
    0,                          // attributes: no compression
    0, 0, 0, 1, b'k',           // key: int32 length 1
    0, 0, 0, 2, b'v', b'0',     // value: int32 length 2
];

/// A magic 1 entry written out by hand: offset 6, create time 1_700_000_000_000, null key.
#[rustfmt::skip]
const V1_ENTRY: [u8; 37] = [
    0, 0, 0, 0, 0, 0, 0, 6,     // offset int64 = 6
    0, 0, 0, 25,                // message size int32
    0x0c, 0xd2, 0xe6, 0x22,     // crc (zlib.crc32 of magic..end)
    1,                          // magic 1
    0,                          // attributes: no compression, create time
    0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // timestamp int64 = 1_700_000_000_000
    0xff, 0xff, 0xff, 0xff,     // key: null
    0, 0, 0, 3, b'v', b'1', b'!', // value "v1!"
];

#[test]
fn hand_built_v0_message_decodes() {
    let batch = LegacyBatch::decode(Bytes::from_static(&V0_ENTRY)).unwrap();
    assert_eq!(
        batch,
        LegacyBatch {
            magic: 0,
            offset: 5,
            compression: Compression::None,
            messages: vec![LegacyMessage {
                offset: 5,
                timestamp: -1,
                timestamp_type: TimestampType::NoTimestamp,
                key: Some(Bytes::from_static(b"k")),
                value: Some(Bytes::from_static(b"v0")),
            }],
        }
    );
}

#[test]
fn hand_built_v1_message_decodes() {
    let batch = LegacyBatch::decode(Bytes::from_static(&V1_ENTRY)).unwrap();
    assert_eq!(batch.magic, 1);
    assert_eq!(
        batch.messages,
        [LegacyMessage {
            offset: 6,
            timestamp: 1_700_000_000_000,
            timestamp_type: TimestampType::CreateTime,
            key: None,
            value: Some(Bytes::from_static(b"v1!")),
        }]
    );
}

#[test]
fn legacy_bad_crc_is_a_mismatch_with_both_values() {
    let mut bytes = V0_ENTRY;
    bytes[28] = b'1'; // "v0" -> "v1"
    let actual = crc32fast::hash(&bytes[16..]);
    let err = LegacyBatch::decode(Bytes::copy_from_slice(&bytes)).unwrap_err();
    assert_eq!(
        err.kind(),
        &DecodeErrorKind::CrcMismatch {
            expected: 0x1657_64b1,
            actual
        }
    );
    let opts = DecodeOptions::default().with_verify_crc(false);
    assert!(LegacyBatch::decode_with(Bytes::copy_from_slice(&bytes), &opts).is_ok());
}

/// A message (CRC, magic, attributes, [timestamp], key, value) as the spec lays it out.
fn message(magic: i8, attributes: i8, timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> Vec<u8> {
    let mut body = vec![magic as u8, attributes as u8];
    if magic == 1 {
        body.extend_from_slice(&timestamp.to_be_bytes());
    }
    for field in [key, value] {
        match field {
            None => body.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                body.extend_from_slice(&(b.len() as i32).to_be_bytes());
                body.extend_from_slice(b);
            }
        }
    }
    let mut m = crc32fast::hash(&body).to_be_bytes().to_vec();
    m.extend_from_slice(&body);
    m
}

/// An entry: offset, size, message.
fn entry(offset: i64, message: &[u8]) -> Vec<u8> {
    let mut e = offset.to_be_bytes().to_vec();
    e.extend_from_slice(&(message.len() as i32).to_be_bytes());
    e.extend_from_slice(message);
    e
}

#[cfg(feature = "compression-gzip")]
fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[cfg(feature = "compression-gzip")]
#[test]
fn gzip_v1_wrapper_has_relative_inner_offsets() {
    let mut inner = Vec::new();
    for (i, v) in [&b"a"[..], b"bb", b"ccc"].into_iter().enumerate() {
        inner.extend(entry(
            i as i64,
            &message(1, 0, 1_000 + i as i64, Some(b"key"), Some(v)),
        ));
    }
    // Gzip (1), create time; the wrapper's offset is the last inner message's absolute offset.
    let wrapper = entry(12, &message(1, 1, 1_002, None, Some(&gzip(&inner))));
    let batch = LegacyBatch::decode(Bytes::from(wrapper)).unwrap();
    assert_eq!(batch.compression, Compression::Gzip);
    assert_eq!((batch.base_offset(), batch.last_offset()), (10, 12));
    let got: Vec<(i64, i64, &[u8])> = batch
        .messages
        .iter()
        .map(|m| (m.offset, m.timestamp, m.value.as_deref().unwrap()))
        .collect();
    assert_eq!(
        got,
        [(10, 1_000, &b"a"[..]), (11, 1_001, b"bb"), (12, 1_002, b"ccc")]
    );
    assert!(batch
        .messages
        .iter()
        .all(|m| m.timestamp_type == TimestampType::CreateTime));
}

#[cfg(feature = "compression-gzip")]
#[test]
fn log_append_time_wrapper_stamps_every_inner_message() {
    let inner = [
        entry(0, &message(1, 0, 5, None, Some(b"x"))),
        entry(1, &message(1, 0, 6, None, Some(b"y"))),
    ]
    .concat();
    let wrapper = entry(101, &message(1, 0x08 | 1, 9_999, None, Some(&gzip(&inner))));
    let batch = LegacyBatch::decode(Bytes::from(wrapper)).unwrap();
    for m in &batch.messages {
        assert_eq!(
            (m.timestamp, m.timestamp_type),
            (9_999, TimestampType::LogAppendTime)
        );
    }
    assert_eq!(batch.messages[0].offset, 100);
}

#[cfg(feature = "compression-gzip")]
#[test]
fn gzip_v0_wrapper_has_absolute_inner_offsets() {
    let inner = [
        entry(20, &message(0, 0, -1, Some(b"k1"), Some(b"one"))),
        entry(21, &message(0, 0, -1, None, None)),
    ]
    .concat();
    let wrapper = entry(21, &message(0, 1, -1, None, Some(&gzip(&inner))));
    let records: Vec<_> = Batch::Legacy(LegacyBatch::decode(Bytes::from(wrapper)).unwrap())
        .into_records()
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(
        (records[0].offset, records[0].key.as_deref()),
        (20, Some(&b"k1"[..]))
    );
    assert_eq!((records[1].offset, records[1].value.as_deref()), (21, None));
    assert_eq!(records[1].timestamp_type, TimestampType::NoTimestamp);
}

#[cfg(feature = "compression-gzip")]
#[test]
fn broken_wrappers_are_errors() {
    let inner_ok = entry(0, &message(1, 0, 1, None, Some(b"x")));
    let decode = |m: Vec<u8>| LegacyBatch::decode(Bytes::from(entry(0, &m))).unwrap_err();
    // A compressed message inside a compressed message.
    let nested = entry(0, &message(1, 1, 1, None, Some(&gzip(&inner_ok))));
    let err = decode(message(1, 1, 1, None, Some(&gzip(&nested))));
    assert!(matches!(err.kind(), DecodeErrorKind::Invalid(_)), "{err}");
    // No inner messages.
    let err = decode(message(1, 1, 1, None, Some(&gzip(&[]))));
    assert!(matches!(err.kind(), DecodeErrorKind::Invalid(_)), "{err}");
    // A null value.
    let err = decode(message(1, 1, 1, None, None));
    assert!(matches!(err.kind(), DecodeErrorKind::Invalid(_)), "{err}");
    // A v1 wrapper whose offset is before its relative inner offsets (a producer's wrapper, offset
    // 0) keeps the inner offsets, as the Java client does.
    let two = [inner_ok.clone(), entry(5, &message(1, 0, 1, None, Some(b"y")))].concat();
    let batch =
        LegacyBatch::decode(Bytes::from(entry(3, &message(1, 1, 1, None, Some(&gzip(&two)))))).unwrap();
    assert_eq!(
        batch.messages.iter().map(|m| m.offset).collect::<Vec<_>>(),
        [0, 5]
    );
    // Zstd needs magic 2; 5 is no codec.
    let err = decode(message(1, 4, 1, None, Some(b"x")));
    assert!(matches!(err.kind(), DecodeErrorKind::Invalid(_)), "{err}");
    let err = decode(message(1, 5, 1, None, Some(b"x")));
    assert_eq!(err.kind(), &DecodeErrorKind::UnknownCompression(5));
    // A partial inner message.
    let err = decode(message(
        1,
        1,
        1,
        None,
        Some(&gzip(&inner_ok[..inner_ok.len() - 1])),
    ));
    assert!(
        matches!(err.kind(), DecodeErrorKind::UnexpectedEof { .. }),
        "{err}"
    );
    // A bomb: the limit applies to wrappers too.
    let big = entry(0, &message(1, 0, 1, None, Some(&vec![0; 1 << 20])));
    let opts = DecodeOptions::default().with_max_decompressed_size(1 << 16);
    let wrapper = entry(0, &message(1, 1, 1, None, Some(&gzip(&big))));
    let err = LegacyBatch::decode_with(Bytes::from(wrapper), &opts).unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::TooLarge { limit: 65536, .. }),
        "{err}"
    );
}

#[test]
fn legacy_negative_lengths_are_errors() {
    let err = LegacyBatch::decode(Bytes::from(entry(0, &{
        let mut m = message(1, 0, 1, None, Some(b"x"));
        m[14..18].copy_from_slice(&(-2i32).to_be_bytes()); // key length -2
        let crc = crc32fast::hash(&m[4..]);
        m[..4].copy_from_slice(&crc.to_be_bytes());
        m
    })))
    .unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::InvalidLength(-2));
    let mut e = V0_ENTRY;
    e[8..12].copy_from_slice(&(-1i32).to_be_bytes());
    let err = LegacyBatch::decode(Bytes::copy_from_slice(&e)).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::InvalidLength(-1));
}

#[test]
fn a_blob_mixes_legacy_entries_and_v2_batches() {
    let mut blob = [&V0_ENTRY[..], &V1_ENTRY[..]].concat();
    let mut v2 = RecordBatch {
        base_offset: 7,
        ..RecordBatch::default()
    };
    v2.records.push(kwire_protocol::records::Record {
        value: Some(Bytes::from_static(b"v2")),
        ..Default::default()
    });
    blob.extend_from_slice(&v2.to_bytes().unwrap());
    blob.extend_from_slice(&V0_ENTRY[..20]);
    let mut it = RecordBatches::new(Bytes::from(blob));
    let batches: Vec<Batch> = it.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.iter().map(Batch::magic).collect::<Vec<_>>(), [0, 1, 2]);
    let offsets: Vec<i64> = batches
        .into_iter()
        .flat_map(|b| b.into_records())
        .map(|r| r.offset)
        .collect();
    assert_eq!(offsets, [5, 6, 7]);
    assert_eq!(it.incomplete().map(|i| i.available), Some(20));
}

#[cfg(feature = "compression-lz4")]
#[test]
fn lz4_v0_wrapper_with_kafkas_old_header_checksum_decodes() {
    let inner = entry(0, &message(0, 0, -1, None, Some(b"old lz4")));
    let mut frame = Vec::new();
    {
        use std::io::Write;
        let mut enc = lz4_flex::frame::FrameEncoder::new(&mut frame);
        enc.write_all(&inner).unwrap();
        enc.finish().unwrap();
    }
    // Kafka before KIP-57 hashed the magic number into the header checksum (byte 6 here).
    let broken = {
        let mut b = frame.clone();
        let mut h = twox32(&frame[..6]);
        h >>= 8;
        b[6] = h as u8;
        b
    };
    assert_ne!(broken, frame);
    let wrapper = entry(0, &message(0, 3, -1, None, Some(&broken)));
    let batch = LegacyBatch::decode(Bytes::from(wrapper)).unwrap();
    assert_eq!(batch.messages[0].value.as_deref(), Some(&b"old lz4"[..]));
    // Magic 1 frames carry the standard checksum, so the same bytes are an error there.
    let wrapper = entry(0, &message(1, 3, 1, None, Some(&broken)));
    let err = LegacyBatch::decode(Bytes::from(wrapper)).unwrap_err();
    assert!(matches!(err.kind(), DecodeErrorKind::Decompress(_)), "{err}");
}

/// XXH32 with seed 0 of a short input, written from the spec (not the crate's).
#[cfg(feature = "compression-lz4")]
fn twox32(data: &[u8]) -> u32 {
    const P1: u32 = 2_654_435_761;
    const P2: u32 = 2_246_822_519;
    const P3: u32 = 3_266_489_917;
    const P4: u32 = 668_265_263;
    const P5: u32 = 374_761_393;
    assert!(data.len() < 16);
    let mut h = P5.wrapping_add(data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let w = u32::from_le_bytes(c.try_into().unwrap());
        h = h
            .wrapping_add(w.wrapping_mul(P3))
            .rotate_left(17)
            .wrapping_mul(P4);
    }
    for &b in chunks.remainder() {
        h = h
            .wrapping_add(u32::from(b).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    h = (h ^ (h >> 15)).wrapping_mul(P2);
    h = (h ^ (h >> 13)).wrapping_mul(P3);
    h ^ (h >> 16)
}
