//! Batches written by another client: kafka-python's own `DefaultRecordBatchBuilder` and
//! `LegacyRecordBatchBuilder` (see tests/fixtures/records/README.md), decoded here and checked
//! against the recipe that made them.

use bytes::Bytes;
use kwire_protocol::records::{
    Batch, Compression, ConsumerRecord, Header, RecordBatch, RecordBatches, TimestampType,
};

const TIMESTAMP: i64 = 1_700_000_000_000;

fn fixture(name: &str) -> Bytes {
    let path = format!("{}/tests/fixtures/records/{name}", env!("CARGO_MANIFEST_DIR"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

/// The records of generate.py's `records()`.
fn expected(with_headers: bool, magic: i8) -> Vec<ConsumerRecord> {
    (0..5i64)
        .map(|i| ConsumerRecord {
            offset: i,
            timestamp: if magic == 0 { -1 } else { TIMESTAMP + i * 10 },
            timestamp_type: if magic == 0 {
                TimestampType::NoTimestamp
            } else {
                TimestampType::CreateTime
            },
            key: (i != 2).then(|| Bytes::from(format!("key-{i}"))),
            value: (i != 4).then(|| Bytes::from(format!("value-{i} ").repeat(8))),
            headers: if with_headers && (i == 0 || i == 3) {
                vec![
                    Header::new(format!("h{i}"), format!("hv{i}")),
                    Header {
                        key: "null".into(),
                        value: None,
                    },
                ]
            } else {
                Vec::new()
            },
        })
        .collect()
}

fn decode_all(bytes: Bytes) -> Vec<Batch> {
    let mut it = RecordBatches::new(bytes.clone());
    let batches = it.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    assert_eq!(it.incomplete(), None);
    // The lazy views read the same records.
    let mut views = RecordBatches::new(bytes);
    let mut viewed = Vec::new();
    for view in views.views() {
        for r in view.unwrap().records() {
            viewed.push(r.unwrap().to_consumer_record());
        }
    }
    let owned: Vec<ConsumerRecord> = batches.iter().cloned().flat_map(Batch::into_records).collect();
    assert_eq!(viewed, owned);
    batches
}

#[test]
fn kafka_python_v2_batches_decode() {
    for compression in Compression::ALL {
        if !compression.is_available() {
            continue;
        }
        let bytes = fixture(&format!("v2_{compression}.bin"));
        let batch = RecordBatch::decode(bytes.clone()).unwrap_or_else(|e| panic!("{compression}: {e}"));
        assert_eq!(batch.attributes.compression, compression);
        assert_eq!(batch.attributes.transactional, compression == Compression::Gzip);
        assert_eq!(
            (batch.producer_id, batch.producer_epoch, batch.base_sequence),
            (4242, 7, 100)
        );
        assert_eq!(
            (batch.base_timestamp, batch.max_timestamp),
            (TIMESTAMP, TIMESTAMP + 40)
        );
        assert_eq!(batch.last_offset_delta, 4);
        let batches = decode_all(bytes.clone());
        assert_eq!(batches.len(), 1);
        let records: Vec<_> = batches.into_iter().flat_map(Batch::into_records).collect();
        assert_eq!(records, expected(true, 2), "{compression}");
        // An uncompressed batch re-encodes to kafka-python's very bytes.
        if compression == Compression::None {
            assert_eq!(batch.to_bytes().unwrap(), bytes);
        }
    }
}

#[test]
fn kafka_python_legacy_message_sets_decode() {
    let cases: &[(i8, Compression)] = &[
        (0, Compression::None),
        (0, Compression::Gzip),
        (0, Compression::Snappy),
        (1, Compression::None),
        (1, Compression::Gzip),
        (1, Compression::Snappy),
        (1, Compression::Lz4),
    ];
    for &(magic, compression) in cases {
        if !compression.is_available() {
            continue;
        }
        let batches = decode_all(fixture(&format!("v{magic}_{compression}.bin")));
        // Uncompressed: one entry per message; compressed: one wrapper.
        let entries = if compression == Compression::None { 5 } else { 1 };
        assert_eq!(batches.len(), entries, "v{magic} {compression}");
        for b in &batches {
            assert_eq!(b.magic(), magic);
            if let Batch::Legacy(l) = b {
                assert_eq!(l.compression, compression);
            }
        }
        let records: Vec<_> = batches.into_iter().flat_map(Batch::into_records).collect();
        assert_eq!(records, expected(false, magic), "v{magic} {compression}");
    }
}

/// Writes batches made by this crate, one per codec, for `check_kwire_batches.py` (kafka-python)
/// to read: `KWIRE_RECORDS_OUT=/tmp/out cargo test -p kwire-protocol --test records_fixtures -- \
/// --ignored` then `python3 tests/fixtures/records/check_kwire_batches.py /tmp/out`.
#[test]
#[ignore = "writes files for a cross-check by kafka-python; run by hand"]
fn write_batches_for_kafka_python() {
    let Ok(dir) = std::env::var("KWIRE_RECORDS_OUT") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    for compression in Compression::ALL.into_iter().filter(|c| c.is_available()) {
        let mut b = kwire_protocol::records::RecordBatchBuilder::new(compression)
            .with_producer(4242, 7, 100)
            .with_transactional(compression == Compression::Gzip);
        for r in expected(true, 2) {
            b.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &r.headers)
                .unwrap();
        }
        std::fs::write(format!("{dir}/v2_{compression}.bin"), b.finish().unwrap()).unwrap();
    }
}
