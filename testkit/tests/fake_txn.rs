//! Transactions end to end on the fake cluster (the embedded broker has no EndTxn): what a
//! transactional producer commits is visible to read_committed readers and what it aborts is not,
//! for kwire's reader and for kafka-python's; and an exactly-once sink's aborted checkpoint stays
//! invisible to kafka-python.
//!
//! kafka-python's read_committed needs kafka-python 2.1 or newer (Debian's 2.0.2 lacks
//! `isolation_level`): the testkit makes a virtualenv with 3.0.12 on first use
//! ([`kwire_testkit::python`]); a machine that cannot make it fails the test with the reason.

use kwire_connector::client::{BrokerError, ClientError, TransactionError};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use kwire_connector::client::{
    raw::FetchOptions, Client, DeliveryFuture, Error, IsolationLevel, Producer, ProducerRecord,
};
use kwire_connector::runtime::{Sink, SinkContext};
use kwire_connector::sink::{DeliveryGuarantee, KafkaSink};
use kwire_protocol::messages::ApiKey;
use kwire_protocol::ErrorCode;
use kwire_testkit::fake::{FakeCluster, Fault, RequestFault};

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
    let opts = FetchOptions::default()
        .isolation(isolation)
        .max_wait(Duration::from_millis(10));
    if isolation == IsolationLevel::ReadCommitted {
        // The coordinator writes a transaction's markers after it answered EndTxn.
        kwire_testkit::data::until_settled(client, topic, Duration::from_secs(30))
            .await
            .unwrap();
    }
    let mut values = Vec::new();
    for p in client.topic(topic).await.unwrap().partitions.iter().map(|p| p.id) {
        let mut offset = 0;
        loop {
            let f = client.raw().fetch_one(topic, p, offset, &opts).await.unwrap();
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

/// A one-broker fake cluster and a client of it.
async fn fake_client() -> (FakeCluster, Client) {
    let cluster = FakeCluster::start(1).unwrap();
    let client = Client::builder()
        .bootstrap(&cluster.bootstrap())
        .build()
        .await
        .unwrap();
    (cluster, client)
}

/// A one-broker fake cluster with topic `topic` of `partitions` partitions, a client, and a
/// transactional producer `id` with its transactions initialized.
async fn transactional(topic: &str, partitions: i32, id: &str) -> (FakeCluster, Client, Producer) {
    let (cluster, client) = fake_client().await;
    client.create_topic(topic, partitions, 1).await.unwrap();
    let producer = client.producer().transactional_id(id).build().await.unwrap();
    producer.init_transactions().await.unwrap();
    (cluster, client, producer)
}

fn names(prefix: &str, range: std::ops::Range<u32>) -> Vec<String> {
    let mut v: Vec<String> = range.map(|i| format!("{prefix}{i:04}")).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_sees_committed_transactions_and_never_aborted_ones() {
    let (cluster, client, producer) = transactional("txn", 2, "txn-visibility").await;
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

/// Queues `value` for `torn`-`partition` and returns its delivery.
async fn send(producer: &Producer, value: String, partition: i32) -> DeliveryFuture {
    producer
        .send(ProducerRecord::new("torn", Bytes::from(value)).partition(partition))
        .await
        .unwrap()
}

/// The broker's error code of a failed transaction's first failure, and its partition.
fn first_failure(err: &Error) -> (i32, Option<ErrorCode>) {
    match err {
        Error::Transaction(TransactionError::Failed {
            partition, source, ..
        }) => match source.as_ref() {
            Error::Broker(BrokerError { code, .. }) => (*partition, Some(*code)),
            _ => (*partition, None),
        },
        other => panic!("not a failed transaction: {other:?}"),
    }
}

/// As in Kafka's Java client, a record that fails inside a transaction (the broker refused it,
/// its partition could not be added, it is over the client's size limit) puts the transaction in
/// an abortable error: commit fails, naming the first failure, and commits nothing; abort ends
/// it, and the next transaction commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_with_a_failed_record_cannot_commit_and_aborts_cleanly() {
    let (cluster, client, producer) = transactional("torn", 2, "torn-txn").await;

    // A Produce the broker refuses (INVALID_RECORD) after good records of the same transaction.
    producer.begin_transaction().await.unwrap();
    let mut good = Vec::new();
    for i in 0..20 {
        good.push(send(&producer, format!("refused-txn-{i:04}"), 0).await);
    }
    producer.flush().await.unwrap();
    cluster.fail_next(ApiKey::Produce, RequestFault::Error(ErrorCode::INVALID_RECORD), 1);
    let bad = send(&producer, "refused-txn-bad".into(), 1).await;
    let err = bad.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("INVALID_RECORD"), "{err}");
    for ack in good {
        ack.await.unwrap().unwrap();
    }
    let err = producer
        .commit_transaction()
        .await
        .expect_err("a transaction with a failed record must not commit");
    println!("commit after a refused record: {err}");
    assert_eq!(first_failure(&err), (1, Some(ErrorCode::INVALID_RECORD)), "{err}");
    assert!(err.to_string().contains("torn-1"), "{err}");
    // Nothing more goes into it, and no new one begins before the abort.
    assert!(producer
        .send(ProducerRecord::new("torn", "late").partition(0))
        .await
        .is_err());
    assert!(producer.begin_transaction().await.is_err());
    producer.abort_transaction().await.unwrap();

    // AddPartitionsToTxn refused for the transaction's second partition.
    producer.begin_transaction().await.unwrap();
    let first = send(&producer, "unadded-txn-0000".into(), 0).await;
    first.await.unwrap().unwrap();
    cluster.fail_next(
        ApiKey::AddPartitionsToTxn,
        RequestFault::Error(ErrorCode::TOPIC_AUTHORIZATION_FAILED),
        1,
    );
    let bad = send(&producer, "unadded-txn-0001".into(), 1).await;
    assert!(bad.await.unwrap().is_err());
    let err = producer.commit_transaction().await.unwrap_err();
    println!("commit after a refused AddPartitionsToTxn: {err}");
    assert_eq!(
        first_failure(&err),
        (1, Some(ErrorCode::TOPIC_AUTHORIZATION_FAILED)),
        "{err}"
    );
    producer.abort_transaction().await.unwrap();

    // A record over the client's own size limit (1 MiB) fails at send, and the transaction too.
    producer.begin_transaction().await.unwrap();
    send(&producer, "oversized-txn-0000".into(), 0)
        .await
        .await
        .unwrap()
        .unwrap();
    let huge = ProducerRecord::new("torn", Bytes::from(vec![b'x'; 2 << 20])).partition(1);
    let err = producer.send(huge).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Client(ClientError::RecordTooLarge { partition: 1, .. })
        ),
        "{err:?}"
    );
    let err = producer.commit_transaction().await.unwrap_err();
    println!("commit after an oversized record: {err}");
    assert_eq!(first_failure(&err), (1, None), "{err}");
    producer.abort_transaction().await.unwrap();

    // The producer goes on: the next transaction commits.
    producer.begin_transaction().await.unwrap();
    for i in 0..10 {
        send(&producer, format!("after-{i:04}"), i % 2).await;
    }
    producer.commit_transaction().await.unwrap();
    producer.close().await.unwrap();

    assert_eq!(
        kwire_read(&client, "torn", IsolationLevel::ReadCommitted).await,
        names("after-", 0..10),
        "read_committed sees the last transaction only"
    );
}

/// A producer fenced by a newer instance with its transactional id stays fenced: its commit
/// fails with the fence (not as an abortable transaction), and it cannot begin another one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_transactional_producer_stays_fenced() {
    let (_cluster, client, old) = transactional("fenced", 1, "fenced-txn").await;
    old.begin_transaction().await.unwrap();
    old.send_and_wait(ProducerRecord::new("fenced", "old-0").partition(0))
        .await
        .unwrap();

    let new = client
        .producer()
        .transactional_id("fenced-txn")
        .build()
        .await
        .unwrap();
    new.init_transactions().await.unwrap();

    let fenced = |err: &Error| {
        matches!(
            err,
            Error::Broker(BrokerError {
                code: ErrorCode::PRODUCER_FENCED | ErrorCode::INVALID_PRODUCER_EPOCH,
                ..
            })
        )
    };
    let err = old
        .send_and_wait(ProducerRecord::new("fenced", "old-1").partition(0))
        .await
        .unwrap_err();
    assert!(fenced(&err), "{err:?}");
    let err = old.commit_transaction().await.unwrap_err();
    assert!(fenced(&err), "commit fails with the fence: {err:?}");
    assert!(old.abort_transaction().await.is_err());
    let err = old.begin_transaction().await.unwrap_err();
    assert!(fenced(&err), "no new transaction: {err:?}");

    new.begin_transaction().await.unwrap();
    new.send(ProducerRecord::new("fenced", "new-0").partition(0))
        .await
        .unwrap();
    new.commit_transaction().await.unwrap();
    new.close().await.unwrap();
    assert_eq!(
        kwire_read(&client, "fenced", IsolationLevel::ReadCommitted).await,
        vec!["new-0".to_owned()]
    );
}

/// CONCURRENT_TRANSACTIONS (the coordinator still completes the previous transaction) is retried
/// as what it is, on InitProducerId and AddPartitionsToTxn alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_transactions_is_retried() {
    let cluster = FakeCluster::start(1).unwrap();
    let client = Client::builder()
        .bootstrap(&cluster.bootstrap())
        .retry_backoff(Duration::from_millis(10))
        .build()
        .await
        .unwrap();
    client.create_topic("busy", 1, 1).await.unwrap();
    let producer = client
        .producer()
        .transactional_id("busy-txn")
        .build()
        .await
        .unwrap();
    for api in [ApiKey::InitProducerId, ApiKey::AddPartitionsToTxn] {
        cluster.fail_next(api, RequestFault::Error(ErrorCode::CONCURRENT_TRANSACTIONS), 2);
    }
    producer.init_transactions().await.unwrap();
    producer.begin_transaction().await.unwrap();
    producer
        .send_and_wait(ProducerRecord::new("busy", "x").partition(0))
        .await
        .unwrap();
    producer.commit_transaction().await.unwrap();
    producer.close().await.unwrap();
    assert_eq!(cluster.request_faults_used(), 4);
    assert_eq!(
        kwire_read(&client, "busy", IsolationLevel::ReadCommitted).await,
        vec!["x".to_owned()]
    );
}

/// The chaos fault `TimeOutTransactions` aborts an open transaction as its timeout would: the
/// producer's commit is refused (its epoch was bumped) and a read_committed reader sees nothing
/// of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_timed_out_by_the_coordinator_cannot_commit_and_stays_invisible() {
    let (cluster, client, producer) = transactional("timed-out", 1, "timed-out-txn").await;
    producer.begin_transaction().await.unwrap();
    producer
        .send_and_wait(ProducerRecord::new("timed-out", "lost-0").partition(0))
        .await
        .unwrap();
    cluster.apply(&Fault::TimeOutTransactions);
    let err = producer.commit_transaction().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Broker(BrokerError {
                code: ErrorCode::PRODUCER_FENCED | ErrorCode::INVALID_PRODUCER_EPOCH,
                ..
            })
        ),
        "{err}"
    );
    assert!(kwire_read(&client, "timed-out", IsolationLevel::ReadCommitted)
        .await
        .is_empty());
    // Counted when the abort markers are written, which the read above waited for.
    assert_eq!(cluster.stats().aborts, 1);
    assert_eq!(
        kwire_read(&client, "timed-out", IsolationLevel::ReadUncommitted).await,
        vec!["lost-0".to_owned()]
    );
}

/// A transactional call in the wrong state, a send after close and the records of an aborted
/// transaction each get their own typed error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_in_the_wrong_state_and_aborted_records_get_typed_errors() {
    let (_cluster, client, producer) = transactional("states", 1, "states-txn").await;
    match producer
        .send(ProducerRecord::new("states", "early").partition(0))
        .await
    {
        Err(Error::Transaction(TransactionError::State { call: "send", .. })) => {}
        other => panic!("a send outside a transaction: {other:?}"),
    }
    producer.begin_transaction().await.unwrap();
    match producer.begin_transaction().await {
        Err(Error::Transaction(TransactionError::State {
            call: "begin_transaction",
            ..
        })) => {}
        other => panic!("a second begin: {other:?}"),
    }
    producer.abort_transaction().await.unwrap();

    // Records still queued (a long linger) when the transaction is aborted.
    let lingering = client
        .producer()
        .transactional_id("states-lingering")
        .linger(Duration::from_secs(30))
        .build()
        .await
        .unwrap();
    lingering.init_transactions().await.unwrap();
    lingering.begin_transaction().await.unwrap();
    let queued = lingering
        .send(ProducerRecord::new("states", "queued").partition(0))
        .await
        .unwrap();
    lingering.abort_transaction().await.unwrap();
    match queued.await.unwrap() {
        Err(Error::Transaction(TransactionError::Aborted)) => {}
        other => panic!("a record of an aborted transaction: {other:?}"),
    }

    let plain = client.producer().build().await.unwrap();
    match plain.init_transactions().await {
        Err(Error::Transaction(TransactionError::State {
            call: "init_transactions",
            ..
        })) => {}
        other => panic!("init_transactions without a transactional id: {other:?}"),
    }
    plain.close().await.unwrap();
    match plain.send(ProducerRecord::new("states", "late")).await {
        Err(Error::Client(ClientError::ProducerClosed)) => {}
        other => panic!("a send after close: {other:?}"),
    }
}

/// A transaction begun before `init_transactions`, or on a producer without a transactional id,
/// is refused at once by name (as by the Java client), not later by the broker with
/// INVALID_PRODUCER_ID_MAPPING.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn begin_transaction_before_init_transactions_is_a_state_error() {
    let (_cluster, client) = fake_client().await;
    let early = client.producer().transactional_id("early").build().await.unwrap();
    let err = early.begin_transaction().await.expect_err("not initialized");
    assert!(
        matches!(
            err,
            Error::Transaction(TransactionError::State {
                call: "begin_transaction",
                ..
            })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("init_transactions"), "{err}");
    early.init_transactions().await.unwrap();
    early.begin_transaction().await.unwrap();
    early.abort_transaction().await.unwrap();

    let plain = client.producer().build().await.unwrap();
    let err = plain.begin_transaction().await.expect_err("no transactional id");
    assert!(err.to_string().contains("no transactional id"), "{err}");
}
