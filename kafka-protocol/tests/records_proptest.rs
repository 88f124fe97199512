//! Property tests of record batches: arbitrary batches (every codec of the build, transactional
//! and control flags, null keys and values, headers) roundtrip, several back to back iterate, the
//! builder agrees with the decoder, the lazy views agree with the owned decode, and no input
//! (random or a damaged real batch) panics.

#![cfg(feature = "arbitrary")]

use bytes::{Bytes, BytesMut};
use kwire_protocol::arb::Arb;
use kwire_protocol::records::{
    Batch, BatchView, Compression, ConsumerRecord, ControlRecord, DecodeOptions, Header, LegacyBatch,
    RecordBatch, RecordBatchBuilder, RecordBatchView, RecordBatches,
};
use kwire_protocol::DecodeError;
use proptest::prelude::*;

fn arb_batch(seed: &[u8]) -> RecordBatch {
    let mut u = arbitrary::Unstructured::new(seed);
    RecordBatch::arb(&mut u).expect("arbitrary values never run out of data")
}

/// The codecs of this build from `first` on, in id order.
fn available(first: Compression) -> Vec<Compression> {
    Compression::ALL
        .into_iter()
        .filter(|c| c.id() >= first.id() && c.is_available())
        .collect()
}

fn seed() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..1024)
}

/// Decodes `data` every way there is; whatever decodes must encode again and decode the same.
fn decode_everything(data: Bytes, options: &DecodeOptions) {
    if let Ok(batch) = RecordBatch::decode_with(data.clone(), options) {
        let again = batch.to_bytes().expect("a decoded batch encodes");
        let back = RecordBatch::decode_with(again, options).expect("a re-encoded batch decodes");
        assert_eq!(back, batch);
        for marker in batch.control_records().flatten() {
            assert_eq!(ControlRecord::decode(&marker.to_record()).unwrap(), marker);
        }
    }
    let _ = LegacyBatch::decode_with(data.clone(), options);
    let mut it = RecordBatches::with_options(data.clone(), *options);
    let mut n = 0;
    for item in it.by_ref() {
        n += 1;
        if let Ok(batch) = item {
            let _ = batch.next_offset();
            let _ = batch.into_records().count();
        }
    }
    assert!(n < 1 << 20);
    let _ = it.incomplete();
    views_agree_with_owned(data, options);
}

/// The records of a view, made owned, or the first error of its iteration.
fn view_records(view: &BatchView) -> Result<Vec<ConsumerRecord>, DecodeError> {
    view.records()
        .map(|r| r.map(|r| r.to_consumer_record()))
        .collect()
}

/// Iterating `data` through views gives what the owned decode gives: the same batches, the same
/// records, the same errors, the same end.
fn views_agree_with_owned(data: Bytes, options: &DecodeOptions) {
    if let Ok(view) = RecordBatchView::decode_with(data.clone(), options) {
        let owned = RecordBatch::decode_with(data.clone(), options);
        assert_eq!(view.clone().into_batch(), owned);
        let all: Result<Vec<_>, _> = view
            .records()
            .map(|r| r.map(|r| r.to_consumer_record()))
            .collect();
        match (&owned, all) {
            (Ok(batch), Ok(all)) => {
                assert_eq!(all.len(), batch.records.len());
                for (v, r) in all.iter().zip(&batch.records) {
                    assert_eq!(v.offset, batch.offset_of(r));
                    assert_eq!(v.timestamp, batch.timestamp_of(r));
                    assert_eq!((&v.key, &v.value, &v.headers), (&r.key, &r.value, &r.headers));
                }
                let ours: Vec<_> = view.control_records().collect();
                let theirs: Vec<_> = batch.control_records().collect();
                assert_eq!(ours, theirs);
            }
            (Err(e), Err(all)) => assert_eq!(&all, e),
            (owned, all) => panic!("owned {owned:?}, view records {all:?}"),
        }
    }

    let owned: Vec<Result<Batch, DecodeError>> =
        RecordBatches::with_options(data.clone(), *options).collect();
    let mut batches = RecordBatches::with_options(data, *options);
    let mut owned = owned.into_iter();
    for view in batches.views() {
        let expected = owned.next().expect("the owned iteration has as many entries");
        let view = match view {
            Ok(view) => view,
            Err(e) => {
                assert_eq!(Err(e), expected);
                break;
            }
        };
        let records = view_records(&view);
        let batch = view.into_batch();
        assert_eq!(batch, expected);
        match expected {
            Ok(batch) => assert_eq!(records, Ok(batch.into_records().collect())),
            // The owned iteration stops at a broken record; the views would go on.
            Err(_) => break,
        }
    }
    assert!(owned.next().is_none());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_batches_roundtrip(seed in seed()) {
        let batch = arb_batch(&seed);
        let bytes = batch.to_bytes().unwrap();
        let back = RecordBatch::decode(bytes.clone()).unwrap();
        prop_assert_eq!(&back, &batch);
        prop_assert_eq!(back.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn views_of_arbitrary_batches_agree_with_the_owned_decode(seed in seed()) {
        let batch = arb_batch(&seed);
        let bytes = batch.to_bytes().unwrap();
        let view = RecordBatchView::decode(bytes.clone()).unwrap();
        prop_assert_eq!(view.header(), &batch.header());
        prop_assert_eq!(view.record_count(), batch.records.len());
        prop_assert_eq!(view.clone().into_batch().unwrap(), batch.clone());
        let expected: Vec<ConsumerRecord> = Batch::V2(batch).into_records().collect();
        let mut blob = BytesMut::new();
        blob.extend_from_slice(&bytes);
        blob.extend_from_slice(&bytes[..bytes.len() / 2]);
        let mut batches = RecordBatches::new(blob.freeze());
        let views: Vec<BatchView> = batches.views().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(views.len(), 1);
        prop_assert_eq!(view_records(&views[0]).unwrap(), expected);
        prop_assert!(batches.incomplete().is_some());
        views_agree_with_owned(bytes, &DecodeOptions::default());
    }

    #[test]
    fn batches_back_to_back_iterate_in_order(seeds in proptest::collection::vec(seed(), 1..5), cut in any::<u16>()) {
        let batches: Vec<RecordBatch> = seeds.iter().map(|s| arb_batch(s)).collect();
        let mut blob = BytesMut::new();
        let mut ends = Vec::new();
        for b in &batches {
            b.encode(&mut blob).unwrap();
            ends.push(blob.len());
        }
        let blob = blob.freeze();
        let got: Vec<Batch> = RecordBatches::new(blob.clone()).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(got, batches.iter().cloned().map(Batch::V2).collect::<Vec<_>>());

        // Cut anywhere: the whole batches before the cut decode, the rest is one incomplete entry.
        let cut = usize::from(cut) % blob.len();
        let whole = ends.iter().filter(|&&e| e <= cut).count();
        let mut it = RecordBatches::new(blob.slice(..cut));
        let got: Vec<Batch> = it.by_ref().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(got.len(), whole);
        let start = if whole == 0 { 0 } else { ends[whole - 1] };
        if cut > start {
            let inc = it.incomplete().unwrap();
            prop_assert_eq!(inc.offset, start);
            prop_assert_eq!(inc.available, cut - start);
        } else {
            prop_assert_eq!(it.incomplete(), None);
        }
    }

    #[test]
    fn the_builder_agrees_with_the_decoder(
        records in proptest::collection::vec(
            (any::<i64>(), any::<Option<Vec<u8>>>(), any::<Option<Vec<u8>>>(), proptest::collection::vec((".{0,8}", any::<Option<Vec<u8>>>()), 0..3)),
            0..12,
        ),
        codec in any::<usize>(),
        producer in (any::<i64>(), any::<i16>(), any::<i32>(), any::<bool>()),
    ) {
        let available = available(Compression::None);
        let compression = available[codec % available.len()];
        let mut b = RecordBatchBuilder::new(compression)
            .with_producer(producer.0, producer.1, producer.2)
            .with_transactional(producer.3);
        for (ts, key, value, headers) in &records {
            let headers: Vec<Header> = headers
                .iter()
                .map(|(k, v)| Header { key: k.clone(), value: v.clone().map(Bytes::from) })
                .collect();
            b.append(*ts, key.as_deref(), value.as_deref(), &headers).unwrap();
        }
        let bytes = b.finish().unwrap();
        let batch = RecordBatch::decode(bytes).unwrap();
        prop_assert_eq!(batch.attributes.compression, compression);
        prop_assert_eq!(batch.attributes.transactional, producer.3);
        prop_assert_eq!((batch.producer_id, batch.producer_epoch, batch.base_sequence), (producer.0, producer.1, producer.2));
        prop_assert_eq!(batch.records.len(), records.len());
        let consumed: Vec<_> = Batch::V2(batch).into_records().collect();
        for (i, (r, (ts, key, value, headers))) in consumed.iter().zip(&records).enumerate() {
            prop_assert_eq!(r.offset, i as i64);
            prop_assert_eq!(r.timestamp, *ts);
            prop_assert_eq!(r.key.as_deref(), key.as_deref());
            prop_assert_eq!(r.value.as_deref(), value.as_deref());
            prop_assert_eq!(r.headers.len(), headers.len());
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(Bytes::from(data), &DecodeOptions::default());
    }

    /// Random bytes rarely get past the CRC; damaged real batches with CRC checks off reach the
    /// record decoder and the decompressors.
    #[test]
    fn decoding_damaged_batches_never_panics(
        seed in seed(),
        damage in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..6),
        truncate in any::<Option<u16>>(),
    ) {
        let mut bytes = arb_batch(&seed).to_bytes().unwrap().to_vec();
        for (at, x) in damage {
            let at = usize::from(at) % bytes.len();
            bytes[at] ^= x.max(1);
        }
        if let Some(t) = truncate {
            bytes.truncate(usize::from(t) % (bytes.len() + 1));
        }
        let options = DecodeOptions::default().with_verify_crc(false).with_max_decompressed_size(1 << 16);
        decode_everything(Bytes::from(bytes), &options);
    }

    #[test]
    fn decompressing_arbitrary_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..256), codec in any::<usize>()) {
        let available = available(Compression::Gzip);
        let Some(&compression) = available.get(codec % available.len().max(1)) else {
            return Ok(());
        };
        let mut input = data.clone();
        // Give each decoder its magic so the fuzzing gets past the first check.
        let magic: &[u8] = match compression {
            Compression::Gzip => &[0x1f, 0x8b, 8, 0],
            Compression::Snappy => &[0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1],
            Compression::Lz4 => &[0x04, 0x22, 0x4d, 0x18],
            _ => &[0x28, 0xb5, 0x2f, 0xfd],
        };
        input.splice(0..0, magic.iter().copied());
        for bytes in [&data, &input] {
            if let Ok(out) = compression.decompress(bytes, 1 << 16) {
                prop_assert!(out.len() <= 1 << 16);
            }
        }
    }
}
