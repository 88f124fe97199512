//! Transactions end to end on the fake cluster (the embedded broker has no EndTxn): what a
//! transactional producer commits is visible to read_committed readers and what it aborts is not,
//! for kwire's reader and for kafka-python's; and an exactly-once sink's aborted checkpoint stays
//! invisible to kafka-python.
//!
//! kafka-python's read_committed needs kafka-python 2.1 or newer (Debian's 2.0.2 lacks
//! `isolation_level`): the testkit makes a virtualenv with 3.0.12 on first use
//! ([`kwire_testkit::python`]); a machine that cannot make it fails the test with the reason.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use kwire_connector::client::{Client, FetchOptions, IsolationLevel, ProducerRecord};
use kwire_connector::runtime::{Sink, SinkContext};
use kwire_connector::sink::{DeliveryGuarantee, KafkaSink};
use kwire_testkit::fake::FakeCluster;

fn python3() -> PathBuf {
    kwire_testkit::python::kafka_python()
        .unwrap_or_else(|e| panic!("kafka-python is needed for this test: {e}"))
}

/// Every value kafka-python reads from `topic` (all partitions) with `isolation`, sorted.
const READ: &str = r#"
import sys
from kafka import KafkaConsumer, TopicPartition
boot, topic, isolation = sys.argv[1], sys.argv[2], sys.argv[3]
c = KafkaConsumer(bootstrap_servers=boot, enable_auto_commit=False, consumer_timeout_ms=3000,
                  isolation_level=isolation, fetch_max_wait_ms=50)
tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic))]
c.assign(tps)
c.seek_to_beginning(*tps)
for m in c:
    print(m.value.decode())
c.close()
"#;

fn python_read(python: &PathBuf, bootstrap: &str, topic: &str, isolation: &str) -> Vec<String> {
    let out = Command::new(python)
        .arg("-c")
        .arg(READ)
        .args([bootstrap, topic, isolation])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "kafka-python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut values: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    values.sort();
    values
}

/// Every value kwire reads from `topic` with `isolation`, sorted.
async fn kwire_read(client: &Client, topic: &str, isolation: IsolationLevel) -> Vec<String> {
    let opts = FetchOptions {
        isolation,
        max_wait: Duration::from_millis(10),
        ..FetchOptions::default()
    };
    let mut values = Vec::new();
    for p in client.topic(topic).await.unwrap().partitions.iter().map(|p| p.id) {
        let mut offset = 0;
        loop {
            let f = client.fetch_one(topic, p, offset, &opts).await.unwrap();
            values.extend(
                f.records
                    .iter()
                    .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned()),
            );
            offset = f.next_offset;
            let end = match isolation {
                IsolationLevel::ReadCommitted => f.last_stable_offset,
                _ => f.high_watermark,
            };
            if offset >= end {
                break;
            }
        }
    }
    values.sort();
    values
}

fn names(prefix: &str, range: std::ops::Range<u32>) -> Vec<String> {
    let mut v: Vec<String> = range.map(|i| format!("{prefix}{i:04}")).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_sees_committed_transactions_and_never_aborted_ones() {
    let cluster = FakeCluster::start(1).unwrap();
    let client = Client::builder()
        .bootstrap(&cluster.bootstrap())
        .build()
        .await
        .unwrap();
    client.create_topic("txn", 2, 1).await.unwrap();
    let producer = client
        .producer()
        .transactional_id("txn-visibility")
        .build()
        .await
        .unwrap();
    producer.init_transactions().await.unwrap();
    let batches = [
        ("committed-a-", 0..100, true),
        ("aborted-", 100..180, false),
        ("committed-b-", 180..250, true),
    ];
    for (prefix, range, commit) in batches.clone() {
        producer.begin_transaction().await.unwrap();
        for i in range {
            let record = ProducerRecord::new("txn", Bytes::from(format!("{prefix}{i:04}"))).partition(i % 2);
            producer.send(record).await.unwrap();
        }
        producer.flush().await.unwrap();
        if commit {
            producer.commit_transaction().await.unwrap();
        } else {
            producer.abort_transaction().await.unwrap();
        }
    }
    producer.close().await.unwrap();

    let mut committed = names("committed-a-", 0..100);
    committed.extend(names("committed-b-", 180..250));
    committed.sort();
    let mut everything = committed.clone();
    everything.extend(names("aborted-", 100..180));
    everything.sort();

    assert_eq!(
        kwire_read(&client, "txn", IsolationLevel::ReadCommitted).await,
        committed
    );
    assert_eq!(
        kwire_read(&client, "txn", IsolationLevel::ReadUncommitted).await,
        everything
    );
    let python = python3();
    let b = cluster.bootstrap();
    assert_eq!(python_read(&python, &b, "txn", "read_committed"), committed);
    assert_eq!(python_read(&python, &b, "txn", "read_uncommitted"), everything);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_sees_only_what_the_exactly_once_sink_committed() {
    let cluster = FakeCluster::start(2).unwrap();
    let client = Client::builder()
        .bootstrap(&cluster.bootstrap())
        .build()
        .await
        .unwrap();
    client.create_topic("eos-out", 3, 1).await.unwrap();
    let sink = KafkaSink::strings(client.clone(), "eos-out")
        .delivery(DeliveryGuarantee::ExactlyOnce)
        .transactional_id_prefix("interop-job");

    // Checkpoint 1 completes: its records commit.
    let mut writer = sink.writer(SinkContext::new(0, 1));
    for i in 0..150 {
        writer.write(format!("kept-{i:04}")).await.unwrap();
    }
    let state = writer.prepare_checkpoint(1).await.unwrap();
    writer.checkpoint_complete(1).await.unwrap();
    // Checkpoint 2 is pre-committed but never completes: the job fails here.
    for i in 0..60 {
        writer.write(format!("lost-{i:04}")).await.unwrap();
    }
    writer.prepare_checkpoint(2).await.unwrap();
    drop(writer);

    // Restored from checkpoint 1: the open transaction of checkpoint 2 is fenced and aborted.
    let mut restored = sink.writer(SinkContext::new(0, 1));
    restored.restore(Some(state)).await.unwrap();
    for i in 150..200 {
        restored.write(format!("kept-{i:04}")).await.unwrap();
    }
    restored.prepare_checkpoint(2).await.unwrap();
    restored.checkpoint_complete(2).await.unwrap();
    restored.finish().await.unwrap();

    let kept = names("kept-", 0..200);
    let mut with_aborted = kept.clone();
    with_aborted.extend(names("lost-", 0..60));
    with_aborted.sort();
    assert_eq!(
        kwire_read(&client, "eos-out", IsolationLevel::ReadCommitted).await,
        kept
    );
    assert_eq!(
        kwire_read(&client, "eos-out", IsolationLevel::ReadUncommitted).await,
        with_aborted
    );
    let python = python3();
    let b = cluster.bootstrap();
    assert_eq!(python_read(&python, &b, "eos-out", "read_committed"), kept);
    assert_eq!(
        python_read(&python, &b, "eos-out", "read_uncommitted"),
        with_aborted
    );
}
