//! Record batches: the v2 layout checked byte by byte against the spec, CRCs, a records blob with
//! a partial trailing batch, control batches, the builder, and hostile input (negative lengths,
//! huge counts, decompression bombs).

use bytes::{Bytes, BytesMut};
use kwire_protocol::records::{
    Attributes, Batch, Compression, ControlRecord, DecodeOptions, Header, Incomplete, Record, RecordBatch,
    RecordBatchBuilder, RecordBatches, TimestampType,
};
use kwire_protocol::DecodeErrorKind;

/// A v2 batch written out by hand from the spec (kafka.apache.org/documentation/#recordbatch):
/// base offset 100, leader epoch 5, transactional, producer 42 epoch 3 sequence 7, two records.
#[rustfmt::skip]
fn known_batch_bytes() -> Vec<u8> {
    let mut b = vec![
        0, 0, 0, 0, 0, 0, 0, 100,       // baseOffset int64 = 100
        0, 0, 0, 76,                    // batchLength int32 = 61 - 12 + 27 record bytes
        0, 0, 0, 5,                     // partitionLeaderEpoch int32 = 5
        2,                              // magic int8 = 2
        0, 0, 0, 0,                     // crc uint32, filled in below
        0x00, 0x10,                     // attributes int16: transactional (bit 4), no compression
        0, 0, 0, 1,                     // lastOffsetDelta int32 = 1
        0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // baseTimestamp int64 = 1_700_000_000_000
        0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x05, // maxTimestamp int64 = 1_700_000_000_005
        0, 0, 0, 0, 0, 0, 0, 42,        // producerId int64 = 42
        0, 3,                           // producerEpoch int16 = 3
        0, 0, 0, 7,                     // baseSequence int32 = 7
        0, 0, 0, 2,                     // recordsCount int32 = 2
        // record 0
        0x20,                           // length varint = 16 (zigzag 32)
        0x00,                           // attributes int8
        0x00,                           // timestampDelta varlong = 0
        0x00,                           // offsetDelta varint = 0
        0x02, b'k',                     // keyLength varint = 1, key "k"
        0x0a, b'h', b'e', b'l', b'l', b'o', // valueLength varint = 5, value "hello"
        0x02,                           // headers count varint = 1
        0x04, b'h', b'1',               // header key length = 2, "h1"
        0x01,                           // header value length = -1: null
        // record 1
        0x12,                           // length varint = 9
        0x00,                           // attributes
        0x0a,                           // timestampDelta = 5
        0x02,                           // offsetDelta = 1
        0x01,                           // keyLength = -1: null key
        0x06, b'a', b'b', b'c',         // valueLength = 3, "abc"
        0x00,                           // no headers
    ];
    assert_eq!(b.len(), 12 + 76);
    // CRC32C (Castagnoli) over attributes..end, i.e. from byte 21. The literal was computed with
    // an independent bitwise implementation (polynomial 0x82F63B78); the crc32c crate agrees.
    let crc = crc32c::crc32c(&b[21..]);
    assert_eq!(crc, 0xb7a0_2626);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

fn known_batch() -> RecordBatch {
    RecordBatch {
        base_offset: 100,
        partition_leader_epoch: 5,
        attributes: Attributes {
            transactional: true,
            ..Attributes::default()
        },
        last_offset_delta: 1,
        base_timestamp: 1_700_000_000_000,
        max_timestamp: 1_700_000_000_005,
        producer_id: 42,
        producer_epoch: 3,
        base_sequence: 7,
        records: vec![
            Record {
                key: Some(Bytes::from_static(b"k")),
                value: Some(Bytes::from_static(b"hello")),
                headers: vec![Header {
                    key: "h1".into(),
                    value: None,
                }],
                ..Record::default()
            },
            Record {
                timestamp_delta: 5,
                offset_delta: 1,
                key: None,
                value: Some(Bytes::from_static(b"abc")),
                ..Record::default()
            },
        ],
    }
}

#[test]
fn hand_built_v2_batch_decodes_to_the_spec_values() {
    let bytes = Bytes::from(known_batch_bytes());
    let batch = RecordBatch::decode(bytes.clone()).unwrap();
    assert_eq!(batch, known_batch());
    assert_eq!(batch.last_offset(), 101);
    assert_eq!(batch.next_offset(), 102);
    assert_eq!(batch.offset_of(&batch.records[1]), 101);
    assert_eq!(batch.timestamp_of(&batch.records[1]), 1_700_000_000_005);
    assert_eq!(batch.last_sequence(), 8);
    assert!(batch.is_transactional() && !batch.is_control());
}

#[test]
fn encoding_the_known_batch_gives_the_spec_bytes() {
    assert_eq!(known_batch().to_bytes().unwrap(), known_batch_bytes());
}

#[test]
fn builder_writes_the_same_bytes_as_the_struct() {
    let mut b = RecordBatchBuilder::new(Compression::None)
        .with_base_offset(100)
        .with_partition_leader_epoch(5)
        .with_producer(42, 3, 7)
        .with_transactional(true);
    let headers = [Header {
        key: "h1".into(),
        value: None,
    }];
    assert_eq!(
        b.append(1_700_000_000_000, Some(b"k"), Some(b"hello"), &headers)
            .unwrap(),
        0
    );
    assert_eq!(b.append(1_700_000_000_005, None, Some(b"abc"), &[]).unwrap(), 1);
    assert_eq!(b.len(), 2);
    assert_eq!(b.uncompressed_size(), 12 + 76);
    assert!(b.has_room_for(1_700_000_000_006, None, Some(b"x"), &[], 12 + 76 + 8));
    assert!(!b.has_room_for(1_700_000_000_006, None, Some(b"x"), &[], 12 + 76 + 7));
    assert_eq!(b.finish().unwrap(), known_batch_bytes());
}

#[test]
fn uncompressed_decode_does_not_copy_payloads() {
    let bytes = Bytes::from(known_batch_bytes());
    let range = bytes.as_ptr() as usize..bytes.as_ptr() as usize + bytes.len();
    let batch = RecordBatch::decode(bytes.clone()).unwrap();
    for r in &batch.records {
        for payload in [&r.key, &r.value].into_iter().flatten() {
            assert!(range.contains(&(payload.as_ptr() as usize)), "payload was copied");
        }
    }
}

#[test]
fn bad_crc_is_a_mismatch_with_both_values() {
    let mut bytes = known_batch_bytes();
    let n = bytes.len();
    bytes[n - 2] ^= 0x20; // "abc" -> "abC"
    let actual = crc32c::crc32c(&bytes[21..]);
    let err = RecordBatch::decode(Bytes::from(bytes.clone())).unwrap_err();
    assert_eq!(
        err.kind(),
        &DecodeErrorKind::CrcMismatch {
            expected: 0xb7a0_2626,
            actual
        }
    );
    assert_eq!(err.offset(), 17);
    // With checks off the damaged byte goes through.
    let opts = DecodeOptions::default().with_verify_crc(false);
    let batch = RecordBatch::decode_with(Bytes::from(bytes), &opts).unwrap();
    assert_eq!(batch.records[1].value.as_deref(), Some(&b"abC"[..]));
}

#[test]
fn bad_magic_and_unknown_compression_are_typed_errors() {
    let mut bytes = known_batch_bytes();
    bytes[16] = 3;
    let err = RecordBatch::decode(Bytes::from(bytes.clone())).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::InvalidMagic(3));
    let err = RecordBatches::new(Bytes::from(bytes))
        .next()
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::InvalidMagic(3));

    let mut bytes = known_batch_bytes();
    bytes[22] |= 0x06; // compression id 6
    let crc = crc32c::crc32c(&bytes[21..]);
    bytes[17..21].copy_from_slice(&crc.to_be_bytes());
    let err = RecordBatch::decode(Bytes::from(bytes)).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::UnknownCompression(6));
}

fn three_batches() -> (Vec<RecordBatch>, Vec<u8>) {
    let mut batches = Vec::new();
    let mut out = BytesMut::new();
    for (i, compression) in [Compression::None, Compression::Gzip, Compression::Lz4]
        .into_iter()
        .enumerate()
    {
        let compression = if compression.is_available() {
            compression
        } else {
            Compression::None
        };
        let mut b = known_batch();
        b.base_offset = 100 + 10 * i as i64;
        b.attributes.compression = compression;
        b.encode(&mut out).unwrap();
        batches.push(b);
    }
    (batches, out.to_vec())
}

#[test]
fn a_records_blob_yields_every_batch() {
    let (batches, blob) = three_batches();
    let mut it = RecordBatches::new(Bytes::from(blob));
    let got: Vec<Batch> = it.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(got, batches.into_iter().map(Batch::V2).collect::<Vec<_>>());
    assert_eq!(it.incomplete(), None);
}

#[test]
fn a_partial_trailing_batch_is_incomplete_not_an_error() {
    let (batches, blob) = three_batches();
    let second_end = blob.len() - batches[2].to_bytes().unwrap().len();
    // Cut inside the third batch, at every length: inside its 12-byte prefix and after it.
    for cut in [1, 5, 11, 12, 13, 30, 61, 70] {
        let end = second_end + cut;
        let mut it = RecordBatches::new(Bytes::copy_from_slice(&blob[..end]));
        let got: Vec<Batch> = it.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(got.len(), 2, "cut {cut}");
        assert_eq!(got[1].next_offset(), 112);
        let inc = it.incomplete().unwrap();
        assert_eq!(inc.offset, second_end);
        assert_eq!(inc.available, cut);
        assert_eq!(inc.size.is_some(), cut >= 12, "cut {cut}");
        assert_eq!(it.next(), None);
    }
    // A batch whose declared length runs past the blob is also just incomplete.
    let mut only = blob[..20].to_vec();
    only[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
    let mut it = RecordBatches::new(Bytes::from(only));
    assert!(it.next().is_none());
    assert_eq!(
        it.incomplete(),
        Some(Incomplete {
            offset: 0,
            size: Some(12 + i32::MAX as usize),
            available: 20
        })
    );
}

#[test]
fn negative_or_tiny_batch_length_is_an_error_and_ends_iteration() {
    for len in [-1i32, -2, i32::MIN, 0, 13] {
        let mut blob = known_batch_bytes();
        blob[8..12].copy_from_slice(&len.to_be_bytes());
        let mut it = RecordBatches::new(Bytes::from(blob.clone()));
        let err = it.next().unwrap().unwrap_err();
        assert_eq!(err.kind(), &DecodeErrorKind::InvalidLength(len.into()));
        assert!(it.next().is_none());
        assert!(RecordBatch::decode(Bytes::from(blob)).is_err());
    }
    // Long enough for a legacy message, too short for a v2 header.
    let mut blob = known_batch_bytes();
    blob[8..12].copy_from_slice(&40i32.to_be_bytes());
    blob.truncate(52);
    let err = RecordBatches::new(Bytes::from(blob)).next().unwrap().unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::InvalidLength(40));
}

/// Rewrites a batch's bytes from `at` on with `tail` and fixes length and CRC.
fn patched(mut bytes: Vec<u8>, at: usize, tail: &[u8]) -> Bytes {
    bytes.truncate(at);
    bytes.extend_from_slice(tail);
    let len = (bytes.len() - 12) as i32;
    bytes[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&bytes[21..]);
    bytes[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(bytes)
}

#[test]
fn negative_record_lengths_are_errors() {
    let header = known_batch_bytes();
    // records count -1
    let mut h = header.clone();
    h[57..61].copy_from_slice(&(-1i32).to_be_bytes());
    let err = RecordBatch::decode(patched(h, 61, &[])).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::InvalidLength(-1));
    let one = |h: &Vec<u8>| {
        let mut h = h.clone();
        h[57..61].copy_from_slice(&1i32.to_be_bytes());
        h
    };
    let cases: [(&[u8], i64); 5] = [
        (&[0x01], -1),                                        // record length -1
        (&[0x0c, 0, 0, 0, 0x03, 0, 0], -2),                   // key length -2
        (&[0x0c, 0, 0, 0, 0x01, 0x05, 0], -3),                // value length -3
        (&[0x0c, 0, 0, 0, 0x01, 0x01, 0x01], -1),             // header count -1
        (&[0x10, 0, 0, 0, 0x01, 0x01, 0x02, 0x01, 0x01], -1), // header key length -1
    ];
    for (record, len) in cases {
        let err = RecordBatch::decode(patched(one(&header), 61, record)).unwrap_err();
        assert_eq!(err.kind(), &DecodeErrorKind::InvalidLength(len), "{record:?}");
    }
}

#[test]
fn huge_record_count_with_few_bytes_does_not_allocate() {
    let mut h = known_batch_bytes();
    h[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
    // 2^31 - 1 records declared, one record's worth of bytes: fails at the second record, and
    // the vector's capacity was capped by the 17 bytes there (a 2^31-record allocation would
    // abort the test process).
    let record0 = &known_batch_bytes()[61..78];
    let err = RecordBatch::decode(patched(h.clone(), 61, record0)).unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::UnexpectedEof { .. }),
        "{err}"
    );
    // The same for a header count.
    let mut one = h;
    one[57..61].copy_from_slice(&1i32.to_be_bytes());
    let record = [0x14, 0, 0, 0, 0x01, 0x01, 0xfe, 0xff, 0xff, 0xff, 0x0f];
    let err = RecordBatch::decode(patched(one, 61, &record[..])).unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::UnexpectedEof { .. }),
        "{err}"
    );
}

#[test]
fn trailing_bytes_inside_a_record_or_batch_are_errors() {
    let mut h = known_batch_bytes();
    h[57..61].copy_from_slice(&1i32.to_be_bytes());
    // A record whose length says 8 but whose fields take 6.
    let err = RecordBatch::decode(patched(h.clone(), 61, &[0x10, 0, 0, 0, 1, 1, 0, 0xaa, 0xbb])).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::TrailingBytes(2));
    // One record declared, two there.
    let two = &known_batch_bytes()[61..];
    let err = RecordBatch::decode(patched(h, 61, two)).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::TrailingBytes(10));
}

#[test]
fn control_batches_carry_typed_markers_and_no_user_records() {
    let marker = ControlRecord::Commit {
        coordinator_epoch: 12,
    };
    let batch = RecordBatch::control_batch(42, 3, 1_700_000_000_000, &marker);
    let bytes = batch.to_bytes().unwrap();
    // attributes: transactional + control
    assert_eq!(&bytes[21..23], &[0x00, 0x30]);
    let decoded = RecordBatch::decode(bytes.clone()).unwrap();
    assert!(decoded.is_control() && decoded.is_transactional());
    let markers: Vec<_> = decoded.control_records().collect::<Result<_, _>>().unwrap();
    assert_eq!(markers, [marker]);
    let b = RecordBatches::new(bytes).next().unwrap().unwrap();
    assert!(b.is_control());
    assert_eq!(b.producer_id(), 42);
    assert_eq!(b.next_offset(), 1);
    assert_eq!(b.into_records().count(), 0);
    // A batch of user records has no control records.
    assert_eq!(known_batch().control_records().count(), 0);
}

#[test]
fn consumer_records_have_absolute_offsets_and_timestamps() {
    let mut batch = known_batch();
    let records: Vec<_> = Batch::V2(batch.clone()).into_records().collect();
    assert_eq!(records.len(), 2);
    assert_eq!(
        (records[0].offset, records[0].timestamp),
        (100, 1_700_000_000_000)
    );
    assert_eq!(
        (records[1].offset, records[1].timestamp),
        (101, 1_700_000_000_005)
    );
    assert_eq!(
        records[0].headers,
        [Header {
            key: "h1".into(),
            value: None
        }]
    );
    assert_eq!(records[1].key, None);
    // Under log-append time every record has the batch's max timestamp.
    batch.attributes.timestamp_type = TimestampType::LogAppendTime;
    batch.max_timestamp = 1_800_000_000_000;
    let decoded = RecordBatch::decode(batch.to_bytes().unwrap()).unwrap();
    for r in Batch::V2(decoded).into_records() {
        assert_eq!(r.timestamp, 1_800_000_000_000);
        assert_eq!(r.timestamp_type, TimestampType::LogAppendTime);
    }
}

#[test]
fn every_available_codec_roundtrips_through_the_builder() {
    for compression in Compression::ALL.into_iter().filter(|c| c.is_available()) {
        let mut b = RecordBatchBuilder::new(compression).with_producer(7, 1, 0);
        for i in 0..500u32 {
            let value = format!("value {i} {}", "x".repeat(i as usize % 50));
            let headers = [Header::new("n", i.to_string())];
            b.append(
                1_000 + i64::from(i),
                Some(&i.to_be_bytes()),
                Some(value.as_bytes()),
                &headers,
            )
            .unwrap();
        }
        let uncompressed = b.uncompressed_size();
        let bytes = b.finish().unwrap();
        if compression != Compression::None {
            assert!(
                bytes.len() < uncompressed / 2,
                "{compression}: {} of {uncompressed}",
                bytes.len()
            );
        }
        let batch = RecordBatch::decode(bytes.clone()).unwrap();
        assert_eq!(batch.attributes.compression, compression);
        assert_eq!(batch.records.len(), 500);
        assert_eq!(batch.last_offset_delta, 499);
        assert_eq!(batch.max_timestamp, 1_499);
        assert_eq!(
            batch.records[499].value.as_deref(),
            Some(format!("value 499 {}", "x".repeat(49)).as_bytes())
        );
        // Decode -> encode gives the same bytes.
        assert_eq!(batch.to_bytes().unwrap(), bytes, "{compression}");
    }
}

#[test]
fn an_empty_builder_finishes_to_an_empty_batch() {
    let bytes = RecordBatchBuilder::new(Compression::None).finish().unwrap();
    assert_eq!(bytes.len(), 61);
    let batch = RecordBatch::decode(bytes).unwrap();
    assert!(batch.records.is_empty());
    assert_eq!(batch.base_timestamp, -1);
}

/// Decompression bombs, built with the codec crates themselves (so only in builds that have one).
#[cfg(any(
    feature = "compression-gzip",
    feature = "compression-snappy",
    feature = "compression-lz4",
    feature = "compression-zstd"
))]
mod bombs {
    use bytes::BufMut;

    use super::*;

    /// A compressed batch of one record whose value is `size` zero bytes, produced in streaming so
    /// the test itself never holds the inflated output.
    fn bomb(compression: Compression, size: usize) -> Bytes {
        // The record: length varint, attributes, ts delta, offset delta, null key, value length
        // varint, value..., no headers. Written as a prefix + zeros + suffix.
        let mut prefix = BytesMut::new();
        let body = 1 + 1 + 1 + 1 + varint_len(size as i64) + size + 1;
        put_varint(&mut prefix, body as i64);
        prefix.put_slice(&[0, 0, 0, 0x01]);
        put_varint(&mut prefix, size as i64);
        let suffix = [0u8];
        let compressed = compress_streaming(compression, &prefix, size, &suffix);
        let mut b = known_batch();
        b.attributes.compression = Compression::None;
        b.records.clear();
        let mut header = b.to_bytes().unwrap().to_vec();
        header[57..61].copy_from_slice(&1i32.to_be_bytes());
        header[22] |= compression.id();
        patched(header, 61, &compressed)
    }

    fn varint_len(v: i64) -> usize {
        let mut e = kwire_protocol::Encoder::new();
        e.varlong(v);
        e.len()
    }

    fn put_varint(out: &mut BytesMut, v: i64) {
        let mut e = kwire_protocol::Encoder::new();
        e.varlong(v);
        out.put_slice(&e.into_inner());
    }

    fn compress_streaming(compression: Compression, prefix: &[u8], zeros: usize, suffix: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let zero_chunk = vec![0u8; 1 << 16];
        let write_all = |w: &mut dyn Write| {
            w.write_all(prefix).unwrap();
            let mut left = zeros;
            while left > 0 {
                let n = left.min(zero_chunk.len());
                w.write_all(&zero_chunk[..n]).unwrap();
                left -= n;
            }
            w.write_all(suffix).unwrap();
        };
        match compression {
            #[cfg(feature = "compression-gzip")]
            Compression::Gzip => {
                let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                write_all(&mut enc);
                enc.finish().unwrap()
            }
            #[cfg(feature = "compression-lz4")]
            Compression::Lz4 => {
                let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
                write_all(&mut enc);
                enc.finish().unwrap()
            }
            #[cfg(feature = "compression-snappy")]
            Compression::Snappy => {
                // Java's framing: many blocks, each inflating 64 KiB.
                let mut out = vec![
                    0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
                ];
                let mut raw = Vec::new();
                write_all(&mut raw);
                for chunk in raw.chunks(1 << 16) {
                    let block = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
                    out.extend_from_slice(&(block.len() as i32).to_be_bytes());
                    out.extend_from_slice(&block);
                }
                out
            }
            #[cfg(feature = "compression-zstd")]
            Compression::Zstd => {
                let mut raw = Vec::new();
                write_all(&mut raw);
                ruzstd::encoding::compress_to_vec(&raw[..], ruzstd::encoding::CompressionLevel::Fastest)
            }
            other => panic!("{other} is not in this build"),
        }
    }

    #[test]
    fn decompression_bombs_stop_at_the_limit() {
        const INFLATED: usize = 16 << 20;
        for compression in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            if !compression.is_available() {
                continue;
            }
            let bytes = bomb(compression, INFLATED);
            assert!(
                bytes.len() < INFLATED / 16,
                "{compression}: {} bytes is no bomb",
                bytes.len()
            );
            let limit = 1 << 20;
            let opts = DecodeOptions::default().with_max_decompressed_size(limit);
            let err = RecordBatch::decode_with(bytes.clone(), &opts).unwrap_err();
            match err.kind() {
                DecodeErrorKind::TooLarge { limit: l, actual } => {
                    assert_eq!(*l, limit, "{compression}");
                    assert!(*actual > limit, "{compression}");
                }
                other => panic!("{compression}: {other:?}"),
            }
            // With a limit above the output the same batch decodes.
            let opts = DecodeOptions::default().with_max_decompressed_size(INFLATED + 64);
            let batch = RecordBatch::decode_with(bytes, &opts).unwrap();
            assert_eq!(batch.records[0].value.as_ref().map(|v| v.len()), Some(INFLATED));
        }
    }
}

#[cfg(feature = "compression-snappy")]
#[test]
fn a_snappy_block_declaring_a_huge_length_fails_before_allocating() {
    // Raw snappy: a preamble varint of 2^32 - 1 and nothing else.
    let block = [0xff, 0xff, 0xff, 0xff, 0x0f];
    let err = Compression::Snappy.decompress(&block, 1 << 20).unwrap_err();
    assert_eq!(
        err,
        DecodeErrorKind::TooLarge {
            limit: 1 << 20,
            actual: u32::MAX as usize
        }
    );
    // Negative xerial block length.
    let mut xerial = vec![
        0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
    ];
    xerial.extend_from_slice(&(-5i32).to_be_bytes());
    assert!(matches!(
        Compression::Snappy.decompress(&xerial, 1 << 20),
        Err(DecodeErrorKind::Decompress(_))
    ));
}

#[test]
fn the_default_limit_is_64_mib() {
    assert_eq!(DecodeOptions::default().max_decompressed_size, 64 << 20);
    assert!(DecodeOptions::default().verify_crc);
}

#[cfg(not(feature = "compression-zstd"))]
#[test]
fn a_disabled_codec_is_a_typed_error() {
    let mut b = known_batch();
    b.attributes.compression = Compression::Zstd;
    assert_eq!(
        b.to_bytes().unwrap_err(),
        kwire_protocol::records::BatchEncodeError::CompressionUnavailable(Compression::Zstd)
    );
    let mut bytes = known_batch_bytes();
    bytes[22] |= 4;
    let err = RecordBatch::decode(patched(bytes, 61, &[1, 2, 3])).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::CompressionUnavailable("zstd"));
}
