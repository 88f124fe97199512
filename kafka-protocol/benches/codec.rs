//! Codec throughput of kwire-protocol against the `kafka-protocol` crate, on the same bytes.
//!
//! Each case carries one RecordBatch v2 of 1,000 records of 1 KiB (a 16-byte key and a 1,008-byte
//! JSON-like value, no headers), uncompressed or LZ4, in a Fetch response (v16) or a Produce
//! request (v11):
//!
//! - decode: message body bytes -> message -> record batch -> every record, whose offset, key and
//!   value lengths are summed so that nothing can be skipped. kwire is measured twice: `kwire`
//!   through its fastest API (`RecordBatches::views`, records decoded lazily with borrowed
//!   payloads), `kwire-owned` through the owned one (`RecordBatches`, `Batch::into_records`, every
//!   key and value a `Bytes`, as `kafka-protocol` hands them out);
//! - encode: the records (prepared beforehand, in each crate's own input form) -> a batch -> the
//!   message -> its body bytes.
//!
//! Both crates see identical bytes: the setup checks that they encode the same batch and the same
//! message byte for byte, and decode the same sums. `kafka-protocol`'s own LZ4 feature binds the C
//! liblz4, so both crates compress and decompress through kwire's `lz4_flex` codec
//! ([`Compression::Lz4`]), passed to `kafka-protocol` through its custom-compression hooks; the LZ4
//! cases thus compare everything but the codec, which they share.
//!
//! Throughput counts the uncompressed message body (about 1 MiB) for every case, LZ4 included, in
//! decimal units (GB/s). Two more cases give this machine's limits: a 1 MiB memcpy into a
//! preallocated buffer and a CRC32C over 1 MiB.
//!
//! Run with `cargo bench -p kwire-protocol --bench codec`; the figures and the machine are in
//! docs/benchmarks.md.

use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::measurement::WallTime;
use criterion::{criterion_main, BenchmarkGroup, Criterion, Throughput};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::fetch_response as kp_fetch;
use kafka_protocol::messages::produce_request as kp_produce;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records as kp_records;

use kwire_protocol::messages::fetch_response::{FetchResponse, FetchableTopicResponse, PartitionData};
use kwire_protocol::messages::produce_request::{PartitionProduceData, ProduceRequest, TopicProduceData};
use kwire_protocol::messages::Message;
use kwire_protocol::records::{Compression, RecordBatchBuilder, RecordBatches};
use kwire_protocol::Uuid;

/// Records per batch.
const RECORDS: usize = 1_000;
/// Key bytes per record.
const KEY_LEN: usize = 16;
/// Value bytes per record: key and value make 1 KiB.
const VALUE_LEN: usize = 1_024 - KEY_LEN;
/// The Fetch response version: flexible, topic ids, node endpoints (Kafka 3.7).
const FETCH_VERSION: i16 = 16;
/// The Produce request version: the newest kwire speaks (Kafka 3.8).
const PRODUCE_VERSION: i16 = 11;
/// The first record's timestamp; each next record is 1 ms later.
const FIRST_TIMESTAMP: i64 = 1_700_000_000_000;
/// The base offset of the fetched batch, as a broker assigns it.
const FETCH_BASE_OFFSET: i64 = 1_000_000;
/// The fetched batch's partition leader epoch.
const LEADER_EPOCH: i32 = 7;
/// The idempotent producer that wrote the records (idempotence is the producer default).
const PRODUCER_ID: i64 = 4_242;
/// Its epoch.
const PRODUCER_EPOCH: i16 = 3;
/// The topic's id (Fetch v13+).
const TOPIC_ID: [u8; 16] = *b"kwire-bench-uuid";
/// The topic's name (Produce before v13).
const TOPIC_NAME: &str = "bench-topic";
/// The bound kwire puts on decompressed output; also used for `kafka-protocol`'s decompressor.
const MAX_DECOMPRESSED: usize = 64 << 20;
/// The size of the memcpy and CRC32C limit cases.
const LIMIT_LEN: usize = 1 << 20;

/// A JSON-like value of exactly `VALUE_LEN` bytes: repeated field names, random ids and numbers.
/// LZ4 compresses the batch to about 40%.
fn value(i: usize, rng: &mut u64) -> Vec<u8> {
    const EVENTS: [&str; 8] = [
        "click", "view", "purchase", "login", "logout", "search", "scroll", "share",
    ];
    const COUNTRIES: [&str; 6] = ["DE", "FR", "US", "BR", "JP", "IN"];
    let mut next = || {
        // xorshift64: fixed seed, same data every run.
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        *rng
    };
    let mut v = format!("{{\"seq\":{i},\"items\":[");
    while v.len() < VALUE_LEN {
        let r = next();
        v.push_str(&format!(
            "{{\"session\":\"{:016x}\",\"event\":\"{}\",\"country\":\"{}\",\"amount\":{}.{:02},\"ts\":{}}},",
            next(),
            EVENTS[(r % 8) as usize],
            COUNTRIES[((r >> 8) % 6) as usize],
            (r >> 16) % 10_000,
            (r >> 32) % 100,
            FIRST_TIMESTAMP + (r >> 40) as i64 % 100_000,
        ));
    }
    v.truncate(VALUE_LEN);
    v.into_bytes()
}

/// The benchmark's records as plain keys and values.
fn payloads() -> Vec<(Bytes, Bytes)> {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    (0..RECORDS)
        .map(|i| {
            let key = format!("user-{i:011}");
            debug_assert_eq!(key.len(), KEY_LEN);
            (Bytes::from(key), Bytes::from(value(i, &mut rng)))
        })
        .collect()
}

/// What a decode hands back: every record's offset, key and value lengths, summed.
fn touch(offset: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> u64 {
    offset as u64 + key.map_or(0, <[u8]>::len) as u64 + value.map_or(0, <[u8]>::len) as u64
}

/// Where a batch sits: a broker's fetched log, or a producer's request.
#[derive(Clone, Copy)]
enum Side {
    Fetch,
    Produce,
}

impl Side {
    fn base_offset(self) -> i64 {
        match self {
            Self::Fetch => FETCH_BASE_OFFSET,
            Self::Produce => 0,
        }
    }

    fn leader_epoch(self) -> i32 {
        match self {
            Self::Fetch => LEADER_EPOCH,
            Self::Produce => -1,
        }
    }
}

// ---- kwire ----

fn kwire_batch(records: &[(Bytes, Bytes)], compression: Compression, side: Side) -> Bytes {
    let mut builder = RecordBatchBuilder::new(compression)
        .with_base_offset(side.base_offset())
        .with_partition_leader_epoch(side.leader_epoch())
        .with_producer(PRODUCER_ID, PRODUCER_EPOCH, 0);
    for (i, (k, v)) in records.iter().enumerate() {
        builder
            .append(FIRST_TIMESTAMP + i as i64, Some(k), Some(v), &[])
            .expect("append");
    }
    builder.finish().expect("finish")
}

fn kwire_fetch(batch: Option<Bytes>) -> FetchResponse {
    let end = FETCH_BASE_OFFSET + RECORDS as i64;
    FetchResponse {
        responses: vec![FetchableTopicResponse {
            topic_id: Uuid(TOPIC_ID),
            partitions: vec![PartitionData {
                partition_index: 0,
                high_watermark: end,
                last_stable_offset: end,
                log_start_offset: 0,
                records: batch,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn kwire_produce(batch: Option<Bytes>) -> ProduceRequest {
    ProduceRequest {
        acks: -1,
        timeout_ms: 30_000,
        topic_data: vec![TopicProduceData {
            name: TOPIC_NAME.to_owned(),
            partition_data: vec![PartitionProduceData {
                index: 0,
                records: batch,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn kwire_encode(records: &[(Bytes, Bytes)], compression: Compression, side: Side) -> Bytes {
    let batch = Some(kwire_batch(records, compression, side));
    match side {
        Side::Fetch => kwire_fetch(batch).encode_to_bytes(FETCH_VERSION),
        Side::Produce => kwire_produce(batch).encode_to_bytes(PRODUCE_VERSION),
    }
    .expect("encode")
}

/// Which of kwire's record APIs a decode goes through.
#[derive(Clone, Copy)]
enum Api {
    /// `RecordBatches::views` and `BatchView::records`: records decoded lazily, payloads borrowed.
    View,
    /// `RecordBatches` and `Batch::into_records`: owned records, payloads as `Bytes`.
    Owned,
}

/// Sums every record of a `records` field as a consumer (or a broker) reads them.
fn kwire_records(records: Option<Bytes>, api: Api) -> u64 {
    let mut batches = RecordBatches::new(records.unwrap_or_default());
    let mut sum = 0;
    match api {
        Api::View => {
            for batch in batches.views() {
                for r in batch.expect("batch").records() {
                    let r = r.expect("record");
                    sum += touch(r.offset, r.key, r.value);
                }
            }
        }
        Api::Owned => {
            for batch in batches {
                for r in batch.expect("batch").into_records() {
                    sum += touch(r.offset, r.key.as_deref(), r.value.as_deref());
                }
            }
        }
    }
    sum
}

fn kwire_decode(body: &Bytes, side: Side, api: Api) -> u64 {
    match side {
        Side::Fetch => {
            let resp = FetchResponse::decode_bytes(body.clone(), FETCH_VERSION).expect("decode");
            resp.responses
                .into_iter()
                .flat_map(|t| t.partitions)
                .map(|p| kwire_records(p.records, api))
                .sum()
        }
        Side::Produce => {
            let req = ProduceRequest::decode_bytes(body.clone(), PRODUCE_VERSION).expect("decode");
            req.topic_data
                .into_iter()
                .flat_map(|t| t.partition_data)
                .map(|p| kwire_records(p.records, api))
                .sum()
        }
    }
}

// ---- kafka-protocol ----

fn kp_compression(c: Compression) -> kp_records::Compression {
    match c {
        Compression::None => kp_records::Compression::None,
        Compression::Lz4 => kp_records::Compression::Lz4,
        other => unreachable!("the benchmark only uses none and lz4, not {other}"),
    }
}

/// The records in `kafka-protocol`'s input form, one struct each.
fn kp_input(records: &[(Bytes, Bytes)], side: Side) -> Vec<kp_records::Record> {
    records
        .iter()
        .enumerate()
        .map(|(i, (k, v))| kp_records::Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: side.leader_epoch(),
            producer_id: PRODUCER_ID,
            producer_epoch: PRODUCER_EPOCH,
            timestamp_type: kp_records::TimestampType::Creation,
            offset: side.base_offset() + i as i64,
            sequence: i as i32,
            timestamp: FIRST_TIMESTAMP + i as i64,
            key: Some(k.clone()),
            value: Some(v.clone()),
            headers: IndexMap::new(),
        })
        .collect()
}

fn kp_batch(records: &[kp_records::Record], compression: Compression) -> Bytes {
    let options = kp_records::RecordEncodeOptions {
        version: 2,
        compression: kp_compression(compression),
    };
    let mut buf = BytesMut::new();
    match compression {
        Compression::None => kp_records::RecordBatchEncoder::encode(&mut buf, records, &options),
        _ => kp_records::RecordBatchEncoder::encode_with_custom_compression(
            &mut buf,
            records,
            &options,
            Some(|input: &mut BytesMut, out: &mut BytesMut, _| {
                compression.compress(input, out).expect("compress");
                Ok(())
            }),
        ),
    }
    .expect("encode batch");
    buf.freeze()
}

/// Builds `kafka-protocol`'s messages. Its `Uuid` type is not re-exported, so the topic id comes
/// from a record-less Fetch response decoded from kwire's bytes.
struct KpMessages {
    fetch_skeleton: kp_fetch::FetchResponse,
}

impl KpMessages {
    fn new() -> Self {
        let mut fetch = kwire_fetch(None).encode_to_bytes(FETCH_VERSION).expect("encode");
        Self {
            fetch_skeleton: kp_fetch::FetchResponse::decode(&mut fetch, FETCH_VERSION).expect("decode"),
        }
    }

    /// The Fetch response built field by field, as a broker would.
    fn fetch(&self, batch: Bytes) -> kp_fetch::FetchResponse {
        let end = FETCH_BASE_OFFSET + RECORDS as i64;
        kp_fetch::FetchResponse::default().with_responses(vec![kp_fetch::FetchableTopicResponse::default()
            .with_topic_id(self.fetch_skeleton.responses[0].topic_id)
            .with_partitions(vec![kp_fetch::PartitionData::default()
                .with_partition_index(0)
                .with_high_watermark(end)
                .with_last_stable_offset(end)
                .with_log_start_offset(0)
                .with_records(Some(batch))])])
    }

    /// The Produce request built field by field, as a producer would.
    fn produce(&self, batch: Bytes) -> kp_produce::ProduceRequest {
        kp_produce::ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(30_000)
            .with_topic_data(vec![kp_produce::TopicProduceData::default()
                .with_name(StrBytes::from_static_str(TOPIC_NAME).into())
                .with_partition_data(vec![kp_produce::PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(batch))])])
    }
}

fn kp_encode(
    messages: &KpMessages,
    records: &[kp_records::Record],
    compression: Compression,
    side: Side,
) -> Bytes {
    let batch = kp_batch(records, compression);
    let mut buf = BytesMut::new();
    match side {
        Side::Fetch => messages.fetch(batch).encode(&mut buf, FETCH_VERSION),
        Side::Produce => messages.produce(batch).encode(&mut buf, PRODUCE_VERSION),
    }
    .expect("encode");
    buf.freeze()
}

fn kp_records_sum(records: Option<Bytes>) -> u64 {
    let mut buf = records.unwrap_or_default();
    let mut sum = 0;
    while !buf.is_empty() {
        let set = kp_records::RecordBatchDecoder::decode_with_custom_compression(
            &mut buf,
            Some(|input: &mut Bytes, c: kp_records::Compression| {
                Ok(match c {
                    kp_records::Compression::None => input.clone(),
                    kp_records::Compression::Lz4 => Bytes::from(
                        Compression::Lz4
                            .decompress(input, MAX_DECOMPRESSED)
                            .expect("decompress"),
                    ),
                    other => unreachable!("the benchmark only uses none and lz4, not {other:?}"),
                })
            }),
        )
        .expect("decode batch");
        for r in &set.records {
            sum += touch(r.offset, r.key.as_deref(), r.value.as_deref());
        }
    }
    sum
}

fn kp_decode(body: &Bytes, side: Side) -> u64 {
    let mut buf = body.clone();
    match side {
        Side::Fetch => {
            let resp = kp_fetch::FetchResponse::decode(&mut buf, FETCH_VERSION).expect("decode");
            resp.responses
                .into_iter()
                .flat_map(|t| t.partitions)
                .map(|p| kp_records_sum(p.records))
                .sum()
        }
        Side::Produce => {
            let req = kp_produce::ProduceRequest::decode(&mut buf, PRODUCE_VERSION).expect("decode");
            req.topic_data
                .into_iter()
                .flat_map(|t| t.partition_data)
                .map(|p| kp_records_sum(p.records))
                .sum()
        }
    }
}

// ---- the cases ----

fn group<'a>(c: &'a mut Criterion, name: &str, bytes: usize) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::BytesDecimal(bytes as u64));
    g
}

fn message_cases(c: &mut Criterion, side: Side, name: &str) {
    let records = payloads();
    let messages = KpMessages::new();
    let kp_in = kp_input(&records, side);
    let expected: u64 = records
        .iter()
        .enumerate()
        .map(|(i, (k, v))| touch(side.base_offset() + i as i64, Some(k.as_ref()), Some(v.as_ref())))
        .sum();
    // Every case counts the uncompressed body, so LZ4 and uncompressed figures compare.
    let logical = kwire_encode(&records, Compression::None, side).len();

    for compression in [Compression::None, Compression::Lz4] {
        let ours = kwire_encode(&records, compression, side);
        let theirs = kp_encode(&messages, &kp_in, compression, side);
        // Not `assert_eq!`: a failure would print a megabyte.
        assert!(
            ours == theirs,
            "{name} {compression}: the crates encode different bytes"
        );
        for api in [Api::View, Api::Owned] {
            assert_eq!(
                kwire_decode(&ours, side, api),
                expected,
                "{name} {compression}: kwire decode"
            );
        }
        assert_eq!(
            kp_decode(&ours, side),
            expected,
            "{name} {compression}: kafka-protocol decode"
        );
        eprintln!(
            "{name} {compression}: body {} bytes (uncompressed body {logical})",
            ours.len()
        );

        let mut g = group(c, &format!("{name}/decode/{compression}"), logical);
        g.bench_function("kwire", |b| {
            b.iter(|| kwire_decode(black_box(&ours), side, Api::View))
        });
        g.bench_function("kwire-owned", |b| {
            b.iter(|| kwire_decode(black_box(&ours), side, Api::Owned))
        });
        g.bench_function("kafka-protocol", |b| b.iter(|| kp_decode(black_box(&ours), side)));
        g.finish();

        let mut g = group(c, &format!("{name}/encode/{compression}"), logical);
        g.bench_function("kwire", |b| {
            b.iter(|| kwire_encode(black_box(&records), compression, side))
        });
        g.bench_function("kafka-protocol", |b| {
            b.iter(|| kp_encode(&messages, black_box(&kp_in), compression, side))
        });
        g.finish();
    }
}

fn fetch(c: &mut Criterion) {
    message_cases(c, Side::Fetch, "fetch_response_v16");
}

fn produce(c: &mut Criterion) {
    message_cases(c, Side::Produce, "produce_request_v11");
}

/// The machine's ceilings for 1 MiB: a copy into a preallocated buffer, and a CRC32C (which every
/// v2 batch decode and encode runs once over the batch).
fn limits(c: &mut Criterion) {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let src: Vec<u8> = (0..LIMIT_LEN)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng as u8
        })
        .collect();
    let mut dst = vec![0u8; LIMIT_LEN];
    let mut g = group(c, "limits", LIMIT_LEN);
    g.bench_function("memcpy_1MiB", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(&mut dst);
        })
    });
    g.bench_function("crc32c_1MiB", |b| b.iter(|| crc32c::crc32c(black_box(&src))));
    g.finish();
}

/// Runs every case with a short measurement: about two minutes in all.
fn benches() {
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    limits(&mut c);
    fetch(&mut c);
    produce(&mut c);
}

criterion_main!(benches);
