//! Lazy, borrowed views of record batches: they see the same records as the owned decode, borrow
//! payloads from the input, report broken records when the iteration reaches them, and stay
//! bounded on hostile counts.

use bytes::{Bytes, BytesMut};
use kwire_protocol::records::{
    Batch, BatchView, Compression, ConsumerRecord, ControlRecord, DecodeOptions, Header, RecordBatch,
    RecordBatchBuilder, RecordBatchView, RecordBatches, TimestampType,
};
use kwire_protocol::DecodeErrorKind;

const TIMESTAMP: i64 = 1_700_000_000_000;

/// A batch of three records with headers, one a non-UTF-8 key, at base offset 500.
fn sample(compression: Compression) -> Bytes {
    let mut b = RecordBatchBuilder::new(compression)
        .with_base_offset(500)
        .with_producer(9, 1, 0);
    b.append(TIMESTAMP, Some(b"k0"), Some(b"v0"), &[Header::new("h", "x")])
        .unwrap();
    b.append(TIMESTAMP + 3, None, Some(b"v1"), &[]).unwrap();
    let headers = [
        Header {
            key: "null".into(),
            value: None,
        },
        Header::new("", ""),
    ];
    b.append(TIMESTAMP + 7, Some(b""), None, &headers).unwrap();
    b.finish().unwrap()
}

fn owned_records(bytes: Bytes) -> Vec<ConsumerRecord> {
    RecordBatches::new(bytes)
        .flat_map(|b| b.unwrap().into_records())
        .collect()
}

fn viewed_records(bytes: Bytes) -> Vec<ConsumerRecord> {
    let mut batches = RecordBatches::new(bytes);
    let mut out = Vec::new();
    for view in batches.views() {
        for r in view.unwrap().records() {
            out.push(r.unwrap().to_consumer_record());
        }
    }
    out
}

/// Rewrites a batch's bytes from `at` on with `tail`, sets the records count, and fixes length
/// and CRC.
fn patched(mut bytes: Vec<u8>, count: i32, at: usize, tail: &[u8]) -> Bytes {
    bytes.truncate(at);
    bytes.extend_from_slice(tail);
    let len = (bytes.len() - 12) as i32;
    bytes[8..12].copy_from_slice(&len.to_be_bytes());
    bytes[57..61].copy_from_slice(&count.to_be_bytes());
    let crc = crc32c::crc32c(&bytes[21..]);
    bytes[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(bytes)
}

#[test]
fn views_see_the_records_the_owned_decode_sees() {
    for compression in Compression::ALL.into_iter().filter(|c| c.is_available()) {
        let bytes = sample(compression);
        let owned = owned_records(bytes.clone());
        assert_eq!(owned.len(), 3);
        assert_eq!(viewed_records(bytes.clone()), owned, "{compression}");
        let view = RecordBatchView::decode(bytes.clone()).unwrap();
        assert_eq!(view.record_count(), 3);
        assert_eq!(view.header().base_offset, 500);
        assert_eq!(view.header().next_offset(), 503);
        assert_eq!(view.into_batch().unwrap(), RecordBatch::decode(bytes).unwrap());
    }
}

#[test]
fn view_fields_are_absolute_and_borrowed() {
    let bytes = sample(Compression::None);
    let view = RecordBatchView::decode(bytes.clone()).unwrap();
    let records: Vec<_> = view.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        records
            .iter()
            .map(|r| (r.offset, r.timestamp))
            .collect::<Vec<_>>(),
        [(500, TIMESTAMP), (501, TIMESTAMP + 3), (502, TIMESTAMP + 7)]
    );
    assert_eq!(records[0].key, Some(&b"k0"[..]));
    assert_eq!(records[1].key, None);
    assert_eq!(records[2].key, Some(&b""[..]));
    assert_eq!(records[2].value, None);
    assert_eq!(records[0].timestamp_type, TimestampType::CreateTime);
    let headers: Vec<_> = records[2].headers.collect();
    assert_eq!(records[2].headers.len(), 2);
    assert_eq!(headers[0].key_str(), "null");
    assert_eq!(headers[0].value, None);
    assert_eq!(headers[1].value, Some(&b""[..]));

    // Payloads, borrowed or made owned, point into the input: nothing was copied.
    let range = bytes.as_ptr() as usize..bytes.as_ptr() as usize + bytes.len();
    let value = records[0].value.unwrap();
    assert!(range.contains(&(value.as_ptr() as usize)));
    let owned = records[0].value_bytes().unwrap();
    assert!(range.contains(&(owned.as_ptr() as usize)));
    let mut headers = records[0].headers;
    let header_value = headers.next().unwrap().value_bytes().unwrap();
    assert_eq!(header_value, "x");
    assert!(range.contains(&(header_value.as_ptr() as usize)));
}

#[test]
fn a_view_whose_fields_were_replaced_still_makes_owned_bytes() {
    let bytes = sample(Compression::None);
    let view = RecordBatchView::decode(bytes).unwrap();
    let mut r = view.records().next().unwrap().unwrap();
    r.key = Some(b"elsewhere");
    r.value = Some(&b"v0"[..1]);
    assert_eq!(r.key_bytes().unwrap(), "elsewhere");
    assert_eq!(r.value_bytes().unwrap(), "v");
    let legacy = RecordBatches::new(Bytes::copy_from_slice(&V1_ENTRY))
        .views()
        .next()
        .unwrap()
        .unwrap();
    let mut r = legacy.records().next().unwrap().unwrap();
    r.key = r.value;
    r.value = Some(b"elsewhere");
    assert_eq!(r.key_bytes().unwrap(), "v1!");
    assert_eq!(r.value_bytes().unwrap(), "elsewhere");
}

#[test]
fn log_append_time_gives_every_view_the_max_timestamp() {
    let mut b = RecordBatchBuilder::new(Compression::None).with_timestamp_type(TimestampType::LogAppendTime);
    b.append(TIMESTAMP, None, Some(b"a"), &[]).unwrap();
    b.append(TIMESTAMP + 9, None, Some(b"b"), &[]).unwrap();
    let view = RecordBatchView::decode(b.finish().unwrap()).unwrap();
    for r in view.records() {
        let r = r.unwrap();
        assert_eq!(
            (r.timestamp, r.timestamp_type),
            (TIMESTAMP + 9, TimestampType::LogAppendTime)
        );
    }
}

#[test]
fn a_non_utf8_header_key_reads_lossily_as_in_the_owned_decode() {
    // One record: length, attributes, deltas, null key, null value, one header with key 0xff.
    let record = [0x12, 0, 0, 0, 0x01, 0x01, 0x02, 0x02, 0xff, 0x01];
    let base = sample(Compression::None).to_vec();
    let bytes = patched(base, 1, 61, &record);
    let owned = RecordBatch::decode(bytes.clone()).unwrap();
    let view = RecordBatchView::decode(bytes).unwrap();
    let r = view.records().next().unwrap().unwrap();
    let mut headers = r.headers;
    let h = headers.next().unwrap();
    assert_eq!(h.key, &[0xff]);
    assert_eq!(h.key_str(), "\u{fffd}");
    assert_eq!(r.headers.to_headers(), owned.records[0].headers);
}

#[test]
fn a_broken_record_is_reported_when_reached() {
    // Declares three records; the second is cut short (its length says 40).
    let base = sample(Compression::None).to_vec();
    let first = RecordBatch::decode(Bytes::from(base.clone())).unwrap();
    let mut one = BytesMut::new();
    RecordBatch {
        records: first.records[..1].to_vec(),
        ..first.clone()
    }
    .encode(&mut one)
    .unwrap();
    let mut tail = one[61..].to_vec();
    tail.extend_from_slice(&[0x50, 0, 0]);
    let bytes = patched(base, 3, 61, &tail);

    let view = RecordBatchView::decode(bytes.clone()).unwrap();
    let mut it = view.records();
    assert_eq!(it.next().unwrap().unwrap().key, Some(&b"k0"[..]));
    let err = it.next().unwrap().unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::UnexpectedEof { .. }),
        "{err}"
    );
    assert_eq!(err.path(), "records");
    assert!(it.next().is_none());
    // The owned decode fails on the whole batch with the same error.
    assert_eq!(RecordBatch::decode(bytes.clone()).unwrap_err(), err);
    assert_eq!(view.into_batch().unwrap_err(), err);
}

#[test]
fn bytes_after_the_last_record_are_the_last_item() {
    let base = sample(Compression::None).to_vec();
    let records = base[61..].to_vec();
    let bytes = patched(base, 2, 61, &records);
    let view = RecordBatchView::decode(bytes.clone()).unwrap();
    let items: Vec<_> = view.records().collect();
    assert_eq!(items.len(), 3);
    assert!(items[0].is_ok() && items[1].is_ok());
    let err = items[2].clone().unwrap_err();
    assert!(matches!(err.kind(), DecodeErrorKind::TrailingBytes(_)), "{err}");
    assert_eq!(RecordBatch::decode(bytes).unwrap_err(), err);
}

#[test]
fn hostile_counts_neither_allocate_nor_loop() {
    let base = sample(Compression::None).to_vec();
    let record0 = {
        let b = RecordBatch::decode(Bytes::from(base.clone())).unwrap();
        let mut out = BytesMut::new();
        RecordBatch {
            records: b.records[..1].to_vec(),
            ..b
        }
        .encode(&mut out)
        .unwrap();
        out[61..].to_vec()
    };
    // 2^31 - 1 records declared, one there: the view is cheap to make and its iteration ends
    // after one record and one error.
    let bytes = patched(base.clone(), i32::MAX, 61, &record0);
    let view = RecordBatchView::decode(bytes).unwrap();
    assert_eq!(view.record_count(), i32::MAX as usize);
    let (_, most) = view.records().size_hint();
    assert!(most.unwrap() <= 1 + record0.len(), "{most:?}");
    let items: Vec<_> = view.records().collect();
    assert_eq!(items.len(), 2);
    assert!(items[1].is_err());

    // A negative count is an error of the header.
    let bytes = patched(base.clone(), -1, 61, &[]);
    let err = RecordBatchView::decode(bytes).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::InvalidLength(-1));

    // A header count of 2^31 - 1 with nothing behind it.
    let record = [0x14, 0, 0, 0, 0x01, 0x01, 0xfe, 0xff, 0xff, 0xff, 0x0f];
    let view = RecordBatchView::decode(patched(base, 1, 61, &record)).unwrap();
    let err = view.records().next().unwrap().unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::UnexpectedEof { .. }),
        "{err}"
    );
}

#[test]
fn a_bad_crc_fails_the_view_before_any_record() {
    let mut bytes = sample(Compression::None).to_vec();
    let n = bytes.len();
    bytes[n - 3] ^= 1;
    let err = RecordBatchView::decode(Bytes::from(bytes.clone())).unwrap_err();
    assert!(matches!(err.kind(), DecodeErrorKind::CrcMismatch { .. }), "{err}");
    assert_eq!(err.offset(), 17);
    let opts = DecodeOptions::default().with_verify_crc(false);
    assert!(RecordBatchView::decode_with(Bytes::from(bytes), &opts).is_ok());
}

#[test]
fn a_decompression_bomb_fails_the_view() {
    if !Compression::Gzip.is_available() {
        return;
    }
    let mut b = RecordBatchBuilder::new(Compression::Gzip);
    b.append(TIMESTAMP, None, Some(&vec![0u8; 1 << 20]), &[]).unwrap();
    let opts = DecodeOptions::default().with_max_decompressed_size(1 << 16);
    let err = RecordBatchView::decode_with(b.finish().unwrap(), &opts).unwrap_err();
    assert!(matches!(err.kind(), DecodeErrorKind::TooLarge { .. }), "{err}");
}

#[test]
fn control_batches_have_no_user_records_but_typed_markers() {
    let marker = ControlRecord::Abort { coordinator_epoch: 3 };
    let bytes = RecordBatch::control_batch(42, 1, TIMESTAMP, &marker)
        .to_bytes()
        .unwrap();
    let mut batches = RecordBatches::new(bytes);
    let view = batches.views().next().unwrap().unwrap();
    assert!(view.is_control() && view.is_transactional());
    assert_eq!(view.producer_id(), 42);
    assert_eq!(view.next_offset(), 1);
    assert_eq!(view.records().count(), 0);
    let BatchView::V2(v2) = &view else {
        panic!("a v2 batch")
    };
    assert_eq!(v2.records().count(), 1);
    let markers: Vec<_> = v2.control_records().collect::<Result<_, _>>().unwrap();
    assert_eq!(markers, [marker]);
    // A batch of user records has no control records.
    let user = RecordBatchView::decode(sample(Compression::None)).unwrap();
    assert_eq!(user.control_records().count(), 0);
}

#[test]
fn views_and_owned_batches_share_one_iteration() {
    let mut blob = BytesMut::new();
    for i in 0..3 {
        let mut b = RecordBatchBuilder::new(Compression::None).with_base_offset(10 * i);
        b.append(TIMESTAMP, None, Some(b"v"), &[]).unwrap();
        blob.extend_from_slice(&b.finish().unwrap());
    }
    let whole = blob.len();
    blob.extend_from_slice(&[0, 0, 0]); // a partial fourth entry
    let mut batches = RecordBatches::new(blob.freeze());
    let first = batches.next().unwrap().unwrap();
    assert_eq!(first.base_offset(), 0);
    let rest: Vec<BatchView> = batches.views().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        rest.iter().map(BatchView::base_offset).collect::<Vec<_>>(),
        [10, 20]
    );
    assert_eq!(batches.incomplete().unwrap().offset, whole);
    assert!(batches.views().next().is_none());
    assert!(batches.next().is_none());
    // Back to owned: the same entries.
    let owned: Vec<Batch> = rest.into_iter().map(|v| v.into_batch().unwrap()).collect();
    assert_eq!(owned[1].next_offset(), 21);
}

/// A magic 1 entry written out by hand (as in records_legacy.rs): offset 6, create time
/// `TIMESTAMP`, null key, value "v1!".
#[rustfmt::skip]
const V1_ENTRY: [u8; 37] = [
    0, 0, 0, 0, 0, 0, 0, 6,
    0, 0, 0, 25,
    0x0c, 0xd2, 0xe6, 0x22,
    1, 0,
    0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,
    0xff, 0xff, 0xff, 0xff,
    0, 0, 0, 3, b'v', b'1', b'!',
];

#[test]
fn legacy_entries_view_as_their_owned_records() {
    let bytes = Bytes::copy_from_slice(&V1_ENTRY);
    let viewed = viewed_records(bytes.clone());
    assert_eq!(viewed, owned_records(bytes.clone()));
    assert_eq!(viewed.len(), 1);
    assert_eq!(viewed[0].value.as_deref(), Some(&b"v1!"[..]));
    let view = RecordBatches::new(bytes).views().next().unwrap().unwrap();
    assert_eq!((view.magic(), view.last_offset(), view.producer_id()), (1, 6, -1));
    let r = view.records().next().unwrap().unwrap();
    assert_eq!(r.headers.len(), 0);
    assert_eq!(r.timestamp, TIMESTAMP);
}

#[test]
fn into_records_is_an_exact_size_iterator_both_ways() {
    let batch = RecordBatches::new(sample(Compression::None))
        .next()
        .unwrap()
        .unwrap();
    let mut it = batch.into_records();
    assert_eq!(it.len(), 3);
    assert_eq!(it.next_back().unwrap().offset, 502);
    assert_eq!(it.next().unwrap().offset, 500);
    assert_eq!(it.len(), 1);
    assert_eq!(it.filter(|r| r.offset >= 501).count(), 1);
}
