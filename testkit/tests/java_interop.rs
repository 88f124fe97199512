//! kwire against the reference client on the reference broker: Apache Kafka's Java client
//! (kafka-clients, through [`kwire_testkit::java_peer`]) and kwire write to and read from a
//! one-node Apache Kafka, in both directions, and must agree record for record: keys, values and
//! headers (null, empty and binary ones), every compression, idempotent and plain producers,
//! committed and aborted transactions under both isolation levels, and where a keyed record goes.
//!
//! Every test starts its own Apache Kafka (Java and Maven needed: a machine without them fails
//! the test with the reason) and compares whole record lists, offsets included.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kwire_connector::client::partitioner::partition_for_key;
use kwire_connector::client::{raw::FetchOptions, Client, IsolationLevel, Producer, ProducerRecord};
use kwire_connector::runtime::{Sink, SinkContext};
use kwire_connector::sink::{KafkaSink, Partitioner};
use kwire_protocol::records::{Compression, Header};
use kwire_testkit::data::Seeded;
use kwire_testkit::java_peer::{JavaPeer, LoggedRecord, PeerRecord, ProduceOptions};
use kwire_testkit::LocalBroker;

/// How long the Java consumer may take to read what a test expects.
const JAVA_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Partitions of the record-list topics.
const PARTITIONS: i32 = 3;

/// Partitions of the keyed-placement topics.
const KEYED_PARTITIONS: i32 = 7;

fn apache() -> LocalBroker {
    LocalBroker::apache().unwrap_or_else(|e| panic!("Apache Kafka is needed for this test: {e}"))
}

fn java_peer() -> JavaPeer {
    JavaPeer::get().unwrap_or_else(|e| panic!("the Java peer is needed for this test: {e}"))
}

async fn client(broker: &LocalBroker) -> Client {
    Client::builder()
        .bootstrap(broker.bootstrap())
        .build()
        .await
        .expect("client connects")
}

/// Runs a blocking call to the Java peer without stalling the runtime's other worker.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// `n` records for partitions `0..PARTITIONS` in turn, in every shape a record can take: null,
/// empty, text and binary keys; null, empty, short, binary and several-KiB compressible values;
/// no headers, binary-valued, null- and empty-valued, repeated and non-ASCII header keys. Each
/// non-null value starts with `tag` and the record's number, so records of different runs differ.
fn varied_records(tag: &str, n: usize, rng: &mut Seeded) -> Vec<PeerRecord> {
    (0..n)
        .map(|i| {
            let key = match i % 5 {
                0 => None,
                1 => Some(Bytes::new()),
                2 => Some(binary(rng, 40)),
                _ => Some(Bytes::from(format!("key-{i}"))),
            };
            let value = match i % 7 {
                0 => None,
                1 => Some(Bytes::new()),
                2 => {
                    let mut v = format!("{tag}-{i}:").into_bytes();
                    v.extend_from_slice(&binary(rng, 300));
                    Some(Bytes::from(v))
                }
                3 => {
                    let words = 50 + rng.below(400) as usize;
                    Some(Bytes::from(format!(
                        "{tag}-{i}:{}",
                        "the quick brown fox jumps over the lazy dog ".repeat(words)
                    )))
                }
                _ => Some(Bytes::from(format!("{tag}-{i}"))),
            };
            let headers = match i % 4 {
                0 => Vec::new(),
                1 => vec![Header::new("trace", binary(rng, 16))],
                2 => vec![
                    Header {
                        key: "null-valued".into(),
                        value: None,
                    },
                    Header::new("", Bytes::new()),
                ],
                _ => vec![
                    Header::new("dup", Bytes::from_static(b"first")),
                    Header::new("dup", Bytes::from_static(b"second")),
                    Header::new("sch\u{fc}ssel-\u{1f511}", Bytes::from(format!("{i}"))),
                ],
            };
            PeerRecord {
                partition: Some(i as i32 % PARTITIONS),
                key,
                value,
                headers,
            }
        })
        .collect()
}

/// Up to `max` random bytes.
fn binary(rng: &mut Seeded, max: u64) -> Bytes {
    let len = rng.below(max + 1);
    (0..len).map(|_| rng.below(256) as u8).collect::<Vec<u8>>().into()
}

/// `record` as it should sit in the log at `partition`/`offset`.
fn logged(record: &PeerRecord, partition: i32, offset: i64) -> LoggedRecord {
    LoggedRecord {
        partition,
        offset,
        key: record.key.clone(),
        value: record.value.clone(),
        headers: record
            .headers
            .iter()
            .map(|h| (h.key.clone(), h.value.clone()))
            .collect(),
    }
}

fn to_kwire(topic: &str, record: &PeerRecord) -> ProducerRecord {
    ProducerRecord {
        topic: topic.to_owned(),
        partition: record.partition,
        key: record.key.clone(),
        value: record.value.clone(),
        headers: record.headers.clone(),
        timestamp: None,
    }
}

/// Sends `records` with kwire's `producer` (flushing every 50, so each partition gets several
/// batches) and returns them as the log should hold them, from the acknowledgements.
async fn kwire_send(producer: &Producer, topic: &str, records: &[PeerRecord]) -> Vec<LoggedRecord> {
    let mut out = Vec::with_capacity(records.len());
    for chunk in records.chunks(50) {
        let mut acks = Vec::with_capacity(chunk.len());
        for r in chunk {
            acks.push(producer.send(to_kwire(topic, r)).await.expect("send"));
        }
        producer.flush().await.expect("flush");
        for (r, ack) in chunk.iter().zip(acks) {
            let md = ack.await.expect("acknowledged").expect("written");
            assert_eq!(
                Some(md.partition),
                r.partition,
                "kwire wrote to another partition"
            );
            out.push(logged(r, md.partition, md.offset));
        }
    }
    out
}

/// Every record kwire reads from `topic` with `isolation`, in partition and offset order. A
/// read_committed read waits (bounded) until no transaction is open, so transaction markers the
/// coordinator is still writing cannot cut it short.
async fn kwire_read(client: &Client, topic: &str, isolation: IsolationLevel) -> Vec<LoggedRecord> {
    let opts = FetchOptions::default()
        .isolation(isolation)
        .max_wait(Duration::from_millis(10));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut partitions: Vec<i32> = client
        .topic(topic)
        .await
        .expect("topic metadata")
        .partitions
        .iter()
        .map(|p| p.id)
        .collect();
    partitions.sort_unstable();
    let mut out = Vec::new();
    for p in partitions {
        let mut offset = 0;
        loop {
            let f = client
                .raw()
                .fetch_one(topic, p, offset, &opts)
                .await
                .unwrap_or_else(|e| panic!("kwire fetch {topic}/{p} at {offset}: {e}"));
            out.extend(f.records.into_iter().map(|r| LoggedRecord {
                partition: p,
                offset: r.offset,
                key: r.key,
                value: r.value,
                headers: r.headers.into_iter().map(|h| (h.key, h.value)).collect(),
            }));
            offset = f.next_offset;
            let settled =
                isolation == IsolationLevel::ReadUncommitted || f.last_stable_offset >= f.high_watermark;
            if offset >= f.high_watermark && settled {
                break;
            }
            if Instant::now() > deadline {
                panic!(
                    "kwire read of {topic}/{p} stalled at {offset} (high watermark {}, last stable {})",
                    f.high_watermark, f.last_stable_offset
                );
            }
            if offset >= f.last_stable_offset.max(0) && !settled {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    out
}

/// What the Java consumer reads from `topic` with `isolation`, expecting `expected` records.
fn java_read(
    peer: &JavaPeer,
    broker: &LocalBroker,
    topic: &str,
    partitions: i32,
    isolation: IsolationLevel,
    expected: usize,
) -> Vec<LoggedRecord> {
    blocking(|| {
        peer.consume(
            broker.bootstrap(),
            topic,
            partitions,
            isolation,
            expected,
            JAVA_READ_TIMEOUT,
        )
    })
    .unwrap_or_else(|e| panic!("{topic}: {e}\nbroker log ends:\n{}", broker.log_tail(20)))
}

fn sorted(mut records: Vec<LoggedRecord>) -> Vec<LoggedRecord> {
    records.sort();
    records
}

/// Asserts two record lists are equal, naming the first record that differs (whole lists of
/// several-KiB values are unreadable in a panic message).
fn assert_same(got: &[LoggedRecord], want: &[LoggedRecord], what: &str) {
    for (n, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "{what}: record {n} differs");
    }
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: {} records, expected {}",
        got.len(),
        want.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_reads_exactly_what_kwire_wrote_in_every_compression() {
    let broker = apache();
    let peer = java_peer();
    let client = client(&broker).await;
    let mut rng = Seeded::new(0x6b77_6972_6501);
    for compression in Compression::ALL {
        for idempotent in [true, false] {
            let topic = format!("kwire-to-java-{}-{idempotent}", compression.name());
            client.create_topic(&topic, PARTITIONS, 1).await.unwrap();
            let producer = client
                .producer()
                .compression(compression)
                .idempotence(idempotent)
                .build()
                .await
                .unwrap();
            let records = varied_records(&topic, 300, &mut rng);
            let expected = sorted(kwire_send(&producer, &topic, &records).await);
            producer.close().await.unwrap();
            let got = java_read(
                &peer,
                &broker,
                &topic,
                PARTITIONS,
                IsolationLevel::ReadUncommitted,
                expected.len(),
            );
            assert_same(&got, &expected, &topic);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_read_committed_sees_only_kwires_committed_transactions() {
    let broker = apache();
    let peer = java_peer();
    let client = client(&broker).await;
    let mut rng = Seeded::new(0x6b77_6972_6502);
    for compression in [Compression::None, Compression::Zstd] {
        let topic = format!("kwire-txn-to-java-{}", compression.name());
        client.create_topic(&topic, PARTITIONS, 1).await.unwrap();
        let producer = client
            .producer()
            .compression(compression)
            .transactional_id(&format!("{topic}-id"))
            .build()
            .await
            .unwrap();
        producer.init_transactions().await.unwrap();
        let mut committed = Vec::new();
        let mut everything = Vec::new();
        for (name, commit) in [("committed-a", true), ("aborted", false), ("committed-b", true)] {
            producer.begin_transaction().await.unwrap();
            let records = varied_records(&format!("{topic}-{name}"), 120, &mut rng);
            let written = kwire_send(&producer, &topic, &records).await;
            if commit {
                producer.commit_transaction().await.unwrap();
                committed.extend(written.iter().cloned());
            } else {
                producer.abort_transaction().await.unwrap();
            }
            everything.extend(written);
        }
        producer.close().await.unwrap();
        let (committed, everything) = (sorted(committed), sorted(everything));

        let got = java_read(
            &peer,
            &broker,
            &topic,
            PARTITIONS,
            IsolationLevel::ReadCommitted,
            committed.len(),
        );
        assert_same(&got, &committed, &format!("{topic} read_committed"));
        let got = java_read(
            &peer,
            &broker,
            &topic,
            PARTITIONS,
            IsolationLevel::ReadUncommitted,
            everything.len(),
        );
        assert_same(&got, &everything, &format!("{topic} read_uncommitted"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kwire_reads_exactly_what_java_wrote_in_every_compression() {
    let broker = apache();
    let peer = java_peer();
    let client = client(&broker).await;
    let mut rng = Seeded::new(0x6b77_6972_6503);
    for compression in Compression::ALL {
        for idempotent in [true, false] {
            let topic = format!("java-to-kwire-{}-{idempotent}", compression.name());
            client.create_topic(&topic, PARTITIONS, 1).await.unwrap();
            let records = varied_records(&topic, 300, &mut rng);
            let options = ProduceOptions {
                compression,
                idempotent,
                ..ProduceOptions::default()
            };
            let written = blocking(|| peer.produce(broker.bootstrap(), &topic, &options, &records))
                .unwrap_or_else(|e| panic!("{topic}: {e}"));
            let expected: Vec<LoggedRecord> = records
                .iter()
                .zip(&written)
                .map(|(r, w)| {
                    assert_eq!(Some(w.partition), r.partition, "{topic}: Java wrote elsewhere");
                    logged(r, w.partition, w.offset)
                })
                .collect();
            let expected = sorted(expected);
            for isolation in [IsolationLevel::ReadUncommitted, IsolationLevel::ReadCommitted] {
                let got = kwire_read(&client, &topic, isolation).await;
                assert_same(&got, &expected, &format!("{topic} {isolation:?}"));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kwire_read_committed_sees_only_javas_committed_transactions() {
    let broker = apache();
    let peer = java_peer();
    let client = client(&broker).await;
    let mut rng = Seeded::new(0x6b77_6972_6504);
    for compression in [Compression::None, Compression::Lz4] {
        let topic = format!("java-txn-to-kwire-{}", compression.name());
        client.create_topic(&topic, PARTITIONS, 1).await.unwrap();
        let mut committed = Vec::new();
        let mut everything = Vec::new();
        for (name, commit) in [("committed-a", true), ("aborted", false), ("committed-b", true)] {
            let records = varied_records(&format!("{topic}-{name}"), 120, &mut rng);
            let options = ProduceOptions {
                compression,
                transactional_id: Some(format!("{topic}-id")),
                abort: !commit,
                ..ProduceOptions::default()
            };
            let written = blocking(|| peer.produce(broker.bootstrap(), &topic, &options, &records))
                .unwrap_or_else(|e| panic!("{topic} {name}: {e}"));
            let logged: Vec<LoggedRecord> = records
                .iter()
                .zip(&written)
                .map(|(r, w)| logged(r, w.partition, w.offset))
                .collect();
            if commit {
                committed.extend(logged.iter().cloned());
            }
            everything.extend(logged);
        }
        let (committed, everything) = (sorted(committed), sorted(everything));
        let got = kwire_read(&client, &topic, IsolationLevel::ReadCommitted).await;
        assert_same(&got, &committed, &format!("{topic} read_committed"));
        let got = kwire_read(&client, &topic, IsolationLevel::ReadUncommitted).await;
        assert_same(&got, &everything, &format!("{topic} read_uncommitted"));
    }
}

/// 1,000 keys: text ones, binary ones of every length up to 64 bytes, the empty key.
fn keys() -> Vec<Bytes> {
    let mut rng = Seeded::new(0x6b77_6972_6505);
    (0..1000u64)
        .map(|i| match i % 3 {
            0 => Bytes::from(format!("user-{i}")),
            _ if i == 1 => Bytes::new(),
            _ => binary(&mut rng, 64),
        })
        .collect()
}

/// Which partition each record of `topic` is on, by the record number in its value, as the Java
/// consumer reads it.
fn landed(peer: &JavaPeer, broker: &LocalBroker, topic: &str, count: usize) -> Vec<i32> {
    let mut by_index = BTreeMap::new();
    for r in java_read(
        peer,
        broker,
        topic,
        KEYED_PARTITIONS,
        IsolationLevel::ReadUncommitted,
        count,
    ) {
        let value = r.value.expect("a value");
        let index: usize = std::str::from_utf8(&value).unwrap().parse().unwrap();
        assert!(
            by_index.insert(index, r.partition).is_none(),
            "{topic}: record {index} twice"
        );
    }
    assert_eq!(by_index.len(), count, "{topic}");
    by_index.into_values().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_records_land_where_the_java_client_puts_them() {
    let broker = apache();
    let peer = java_peer();
    let client = client(&broker).await;
    let keys = keys();
    let key_refs: Vec<&[u8]> = keys.iter().map(|k| k.as_ref()).collect();
    let java = blocking(|| peer.partitions(KEYED_PARTITIONS, &key_refs)).unwrap();

    // kwire's hash alone, key by key: the first disagreement, named.
    for (k, p) in keys.iter().zip(&java) {
        assert_eq!(
            partition_for_key(k, KEYED_PARTITIONS),
            *p,
            "key {k:?}: kwire's partitioner disagrees with Java's"
        );
    }

    // kwire's producer, no partition given.
    client
        .create_topic("keyed-producer", KEYED_PARTITIONS, 1)
        .await
        .unwrap();
    let producer = client.producer().build().await.unwrap();
    let mut acks = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let record = ProducerRecord::new("keyed-producer", i.to_string()).key(k.clone());
        acks.push(producer.send(record).await.unwrap());
    }
    producer.flush().await.unwrap();
    for (i, ack) in acks.into_iter().enumerate() {
        let md = ack.await.unwrap().unwrap();
        assert_eq!(md.partition, java[i], "kwire producer, key {:?}", keys[i]);
    }
    producer.close().await.unwrap();
    assert_eq!(landed(&peer, &broker, "keyed-producer", keys.len()), java);

    // The sink's key-hash partitioner.
    client
        .create_topic("keyed-sink", KEYED_PARTITIONS, 1)
        .await
        .unwrap();
    let sink = KafkaSink::new(client.clone(), "keyed-sink", |topic, (i, k): (usize, Bytes)| {
        ProducerRecord::new(topic, i.to_string()).key(k)
    })
    .partitioner(Partitioner::KeyHash);
    let mut writer = sink.writer(SinkContext::new(0, 1));
    for (i, k) in keys.iter().enumerate() {
        writer.write((i, k.clone())).await.unwrap();
    }
    writer.finish().await.unwrap();
    assert_eq!(landed(&peer, &broker, "keyed-sink", keys.len()), java);

    // The Java producer itself, partition left to it.
    client
        .create_topic("keyed-java", KEYED_PARTITIONS, 1)
        .await
        .unwrap();
    let records: Vec<PeerRecord> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| PeerRecord {
            partition: None,
            key: Some(k.clone()),
            value: Some(Bytes::from(i.to_string())),
            headers: Vec::new(),
        })
        .collect();
    let written = blocking(|| {
        peer.produce(
            broker.bootstrap(),
            "keyed-java",
            &ProduceOptions::default(),
            &records,
        )
    })
    .unwrap();
    let java_produced: Vec<i32> = written.iter().map(|w| w.partition).collect();
    assert_eq!(
        java_produced, java,
        "the Java producer against its own partitioner"
    );
}
