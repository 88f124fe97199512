//! Producer and fetcher against a real broker: every compression, acks levels, idempotence,
//! order within a partition, fetching from the middle of a batch, and transactions.

use kwire_connector::client::{BrokerError, ProtocolError, TransactionError};
use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use kwire_connector::client::{
    partitioner::partition_for_key, raw::decode_records, raw::FetchOptions, raw::Fetched, Acks, Client,
    Error, IsolationLevel, ProducerRecord,
};
use kwire_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kwire_protocol::messages::{ApiKey, FetchRequest};
use kwire_protocol::records::{Compression, Header};
use kwire_protocol::ErrorCode;
use kwire_testkit::LocalBroker;

async fn client(broker: &LocalBroker) -> Client {
    Client::builder()
        .bootstrap(broker.bootstrap())
        .build()
        .await
        .expect("client connects")
}

fn quick() -> FetchOptions {
    FetchOptions::default().max_wait(Duration::from_millis(10))
}

/// Reads `topic`-`partition` from `from` up to the high watermark the fetches report (tansu 0.6
/// answers ListOffsets "latest" wrongly, see docs/interop.md, so the fetch's own figure is used).
async fn read_all(
    client: &Client,
    topic: &str,
    partition: i32,
    from: i64,
    opts: &FetchOptions,
) -> Vec<Fetched> {
    let mut offset = from;
    let mut out = Vec::new();
    for _ in 0..1000 {
        let f = client
            .raw()
            .fetch_one(topic, partition, offset, opts)
            .await
            .unwrap();
        let end = f.end(opts.isolation);
        offset = f.next_offset;
        out.push(f);
        if offset >= end {
            return out;
        }
    }
    panic!("stalled at {offset}");
}

/// Produces `count` keyed records to a 4-partition topic with `compression` and `acks`, reads
/// every partition back, and checks each record (key, value, headers, timestamp) and the order
/// within each partition.
async fn produce_and_read_back(client: &Client, compression: Compression, acks: Acks, count: u32) {
    let topic = format!("rt-{}-{acks:?}", compression.name()).to_lowercase();
    client.create_topic(&topic, 4, 1).await.unwrap();
    let producer = client
        .producer()
        .compression(compression)
        .acks(acks)
        .build()
        .await
        .unwrap();
    // Recent create times: Apache Kafka's default retention (7 days) deletes a log whose newest
    // record is older than that, and its first retention check runs 30 s after start.
    let base_ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_millis() as i64
        - 3_600_000;
    let mut futures = Vec::new();
    let mut expected: BTreeMap<i32, Vec<u32>> = BTreeMap::new();
    for i in 0..count {
        let key = format!("key-{i}");
        expected
            .entry(partition_for_key(key.as_bytes(), 4))
            .or_default()
            .push(i);
        let rec = ProducerRecord {
            topic: topic.clone(),
            partition: None,
            key: Some(Bytes::from(key)),
            value: Some(Bytes::from(format!(
                "value-{i:05}-{}",
                "x".repeat((i % 50) as usize)
            ))),
            headers: vec![Header::new("n", Bytes::from(i.to_string()))],
            timestamp: Some(base_ts + i64::from(i)),
        };
        futures.push(producer.send(rec).await.unwrap());
    }
    producer.flush().await.unwrap();
    let mut offsets: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for f in futures {
        let md = f.await.unwrap().unwrap();
        offsets.entry(md.partition).or_default().push(md.offset);
    }
    let label = format!("{compression:?}/{acks:?}");
    for (partition, offs) in &offsets {
        let n = expected[partition].len() as i64;
        let want: Vec<i64> = if acks == Acks::None {
            vec![-1; n as usize]
        } else {
            (0..n).collect()
        };
        assert_eq!(offs, &want, "{label} partition {partition}");
    }
    if acks == Acks::None {
        // Nothing acknowledges acks=0 records: wait (bounded) until the broker has appended them.
        for (partition, ids) in &expected {
            for _ in 0..500 {
                let f = client
                    .raw()
                    .fetch_one(&topic, *partition, 0, &quick())
                    .await
                    .unwrap();
                if f.high_watermark >= ids.len() as i64 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let mut total = 0;
    for (partition, ids) in &expected {
        let got: Vec<_> = read_all(client, &topic, *partition, 0, &quick())
            .await
            .into_iter()
            .flat_map(|f| f.records)
            .collect();
        assert_eq!(got.len(), ids.len(), "{label} partition {partition}");
        for (n, (r, i)) in got.iter().zip(ids).enumerate() {
            assert_eq!(r.offset, n as i64, "{label}");
            assert_eq!(r.key.as_deref(), Some(format!("key-{i}").as_bytes()), "{label}");
            let value = format!("value-{i:05}-{}", "x".repeat((i % 50) as usize));
            assert_eq!(r.value.as_deref(), Some(value.as_bytes()), "{label}");
            assert_eq!(
                r.headers,
                vec![Header::new("n", Bytes::from(i.to_string()))],
                "{label}"
            );
            assert_eq!(r.timestamp, base_ts + i64::from(*i), "{label}");
        }
        total += got.len();
    }
    assert_eq!(total, count as usize, "{label}");
    producer.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_keyed_records_roundtrip_in_every_compression_and_acks() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await;
    for compression in Compression::ALL {
        for acks in [Acks::All, Acks::Leader, Acks::None] {
            produce_and_read_back(&client, compression, acks, 10_000).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_levels_all_deliver() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await;
    client.create_topic("acks", 1, 1).await.unwrap();
    for acks in [Acks::None, Acks::Leader, Acks::All] {
        let producer = client.producer().acks(acks).build().await.unwrap();
        for i in 0..10 {
            producer
                .send(ProducerRecord::new("acks", format!("{acks:?}-{i}")).partition(0))
                .await
                .unwrap();
        }
        producer.close().await.unwrap();
    }
    // acks=0 gets no answer; give the broker a moment to append before counting.
    let mut values = Vec::new();
    for _ in 0..50 {
        values = read_all(&client, "acks", 0, 0, &quick())
            .await
            .into_iter()
            .flat_map(|f| f.records)
            .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap())
            .collect();
        if values.len() == 30 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let expected: Vec<String> = ["None", "Leader", "All"]
        .iter()
        .flat_map(|a| (0..10).map(move |i| format!("{a}-{i}")))
        .collect();
    assert_eq!(values, expected);
}

/// The raw `records` of one partition fetched from `offset`.
async fn raw_records(client: &Client, topic: &str, offset: i64) -> Bytes {
    let conn = client.raw().leader(topic, 0).await.unwrap();
    let t = client.topic(topic).await.unwrap();
    let resp = conn
        .send_built(|_| FetchRequest {
            replica_id: -1,
            max_wait_ms: 10,
            min_bytes: 1,
            max_bytes: 1 << 20,
            session_epoch: -1,
            topics: vec![FetchTopic {
                topic: topic.to_owned(),
                topic_id: t.id,
                partitions: vec![FetchPartition {
                    partition: 0,
                    fetch_offset: offset,
                    partition_max_bytes: 1 << 20,
                    current_leader_epoch: -1,
                    last_fetched_epoch: -1,
                    log_start_offset: -1,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    resp.responses[0].partitions[0]
        .records
        .clone()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetching_from_the_middle_of_a_batch_starts_at_that_offset() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await;
    client.create_topic("middle", 1, 1).await.unwrap();
    let producer = client
        .producer()
        .linger(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    for i in 0..10 {
        producer
            .send(ProducerRecord::new("middle", format!("{i}")).partition(0))
            .await
            .unwrap();
    }
    producer.flush().await.unwrap();
    // One batch of ten records, as the broker stored it.
    let whole = raw_records(&client, "middle", 0).await;
    // A broker answers a fetch at offset 5 with the batch that holds it (base offset 0): the client
    // must drop offsets 0-4 and resume after the batch.
    let (records, next) = decode_records(whole, 5, IsolationLevel::ReadUncommitted, &[]).unwrap();
    assert_eq!(records.first().map(|r| r.offset), Some(5));
    let values: Vec<_> = records.iter().map(|r| r.value.clone().unwrap()).collect();
    assert_eq!(
        values,
        (5..10).map(|i| Bytes::from(i.to_string())).collect::<Vec<_>>()
    );
    assert_eq!(next, 10);
    let mid = raw_records(&client, "middle", 5).await;
    if broker.is_embedded() {
        // tansu 0.6 answers a fetch inside a batch with no bytes at all (docs/interop.md). When a
        // tansu update fixes this, this line fails and the quirk can go from the docs.
        assert!(
            mid.is_empty(),
            "tansu now returns the batch holding the offset: update docs/interop.md"
        );
    } else {
        let f = client.raw().fetch_one("middle", 0, 5, &quick()).await.unwrap();
        assert_eq!(f.records.first().map(|r| r.offset), Some(5));
        assert_eq!(f.next_offset, 10);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_records_go_where_the_java_client_sends_them() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await;
    client.create_topic("keyed", 4, 1).await.unwrap();
    let producer = client.producer().build().await.unwrap();
    // Partitions from kafka-python's murmur2 (see the partitioner's unit tests).
    for (key, partition) in [
        ("foobar", 2),
        ("abc", 3),
        ("key-1", 0),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", 1),
    ] {
        let md = producer
            .send_and_wait(ProducerRecord::new("keyed", "v").key(key))
            .await
            .unwrap();
        assert_eq!(md.partition, partition, "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_transactions_are_read_and_aborted_ones_are_not() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await;
    client.create_topic("txn", 1, 1).await.unwrap();
    let producer = client
        .producer()
        .transactional_id("txn-test")
        .build()
        .await
        .unwrap();
    producer.init_transactions().await.unwrap();
    let offers_end_txn = client
        .raw()
        .any_broker()
        .await
        .unwrap()
        .broker_versions(ApiKey::EndTxn)
        .is_some();
    if !offers_end_txn {
        // tansu 0.6 offers every transaction API but EndTxn (docs/interop.md): a transaction
        // can be filled but not ended. The client must say so at once, by name, not hang.
        producer.begin_transaction().await.unwrap();
        producer
            .send(ProducerRecord::new("txn", "c0").partition(0))
            .await
            .unwrap();
        let err = tokio::time::timeout(Duration::from_secs(10), producer.commit_transaction())
            .await
            .expect("commit answers without waiting for a timeout")
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Protocol(ProtocolError::UnsupportedVersion {
                    api: "EndTxnRequest",
                    ..
                })
            ),
            "{err}"
        );
        eprintln!("broker offers no EndTxn: checked the typed error; commit/abort visibility needs a broker with EndTxn (KWIRE_BOOTSTRAP)");
        return;
    }

    producer.begin_transaction().await.unwrap();
    for i in 0..5 {
        producer
            .send(ProducerRecord::new("txn", format!("c{i}")).partition(0))
            .await
            .unwrap();
    }
    producer.commit_transaction().await.unwrap();

    producer.begin_transaction().await.unwrap();
    for i in 0..5 {
        producer
            .send(ProducerRecord::new("txn", format!("a{i}")).partition(0))
            .await
            .unwrap();
    }
    producer.flush().await.unwrap();
    producer.abort_transaction().await.unwrap();

    producer.begin_transaction().await.unwrap();
    producer
        .send(ProducerRecord::new("txn", "c5").partition(0))
        .await
        .unwrap();
    producer.commit_transaction().await.unwrap();

    let committed = quick().isolation(IsolationLevel::ReadCommitted);
    let values = |fs: Vec<Fetched>| -> Vec<String> {
        fs.into_iter()
            .flat_map(|f| f.records)
            .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap())
            .collect()
    };
    let read_committed = values(read_all(&client, "txn", 0, 0, &committed).await);
    assert_eq!(read_committed, vec!["c0", "c1", "c2", "c3", "c4", "c5"]);
    let read_all_values = values(read_all(&client, "txn", 0, 0, &quick()).await);
    assert_eq!(read_all_values.len(), 11, "{read_all_values:?}");
}

/// A record the broker refuses inside a transaction (a value over its message.max.bytes, 1 MiB by
/// default: MESSAGE_TOO_LARGE) fails the transaction's commit, as in Kafka's Java client: a
/// read_committed reader sees nothing of it, and after the abort the next transaction commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_with_a_record_the_broker_refuses_does_not_commit() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await;
    let offers_end_txn = client
        .raw()
        .any_broker()
        .await
        .unwrap()
        .broker_versions(ApiKey::EndTxn)
        .is_some();
    if !offers_end_txn {
        // Only tansu lacks EndTxn (its typed error is checked above); every other broker must run
        // the test. CI runs it again on Apache Kafka.
        assert!(
            broker.is_embedded(),
            "the broker at {} offers no EndTxn",
            broker.bootstrap()
        );
        eprintln!("broker offers no EndTxn (tansu 0.6): a transaction cannot be committed or aborted here; run with KWIRE_BROKER=apache");
        return;
    }
    client.create_topic("torn", 2, 1).await.unwrap();
    let producer = client
        .producer()
        .transactional_id("torn-test")
        // The client's own limit lets the record go: the broker is the one to refuse it.
        .max_request_size(4 << 20)
        .build()
        .await
        .unwrap();
    producer.init_transactions().await.unwrap();

    producer.begin_transaction().await.unwrap();
    let mut good = Vec::new();
    for i in 0..20 {
        let record = ProducerRecord::new("torn", format!("torn-{i:04}")).partition(i % 2);
        good.push(producer.send(record).await.unwrap());
    }
    producer.flush().await.unwrap();
    for ack in good {
        ack.await.unwrap().unwrap();
    }
    let huge = ProducerRecord::new("torn", Bytes::from(vec![b'x'; 2 << 20])).partition(1);
    let refused = producer.send(huge).await.unwrap().await.unwrap();
    let err = refused.expect_err("the broker refuses a 2 MiB record");
    let too_large = |e: &Error| {
        matches!(
            e,
            Error::Broker(BrokerError {
                code: ErrorCode::MESSAGE_TOO_LARGE,
                partition: Some(1),
                ..
            })
        )
    };
    assert!(too_large(&err), "{err:?}");
    let err = producer
        .commit_transaction()
        .await
        .expect_err("a transaction with a refused record must not commit");
    println!("commit after a refused record: {err}");
    match &err {
        Error::Transaction(TransactionError::Failed { source, .. }) => assert!(too_large(source), "{err:?}"),
        other => panic!("the error names the first failure: {other:?}"),
    }
    producer.abort_transaction().await.unwrap();

    producer.begin_transaction().await.unwrap();
    for i in 0..10 {
        producer
            .send(ProducerRecord::new("torn", format!("after-{i:04}")).partition(i % 2))
            .await
            .unwrap();
    }
    producer.commit_transaction().await.unwrap();
    producer.close().await.unwrap();

    let committed = quick().isolation(IsolationLevel::ReadCommitted);
    let mut read: Vec<String> = Vec::new();
    for partition in 0..2 {
        for f in read_all(&client, "torn", partition, 0, &committed).await {
            read.extend(
                f.records
                    .iter()
                    .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned()),
            );
        }
    }
    read.sort();
    let expected: Vec<String> = (0..10).map(|i| format!("after-{i:04}")).collect();
    assert_eq!(read, expected, "read_committed sees the second transaction only");
}
