//! Restoring an exactly-once sink tells a committed pre-commit from one its coordinator aborted:
//! a transaction pre-committed at a checkpoint whose timeout passed before the commit is aborted
//! by the coordinator, and its records are gone while the checkpoint's source offsets are past
//! them, so the restore must fail naming the transaction and the checkpoint. One that committed
//! (and whose transactional id went on to a next transaction) restores fine. On the fake cluster
//! and on Apache Kafka, the reference.

use std::time::{Duration, Instant};

use kwire_connector::client::{Client, TransactionState};
use kwire_connector::runtime::{JobError, Sink, SinkContext};
use kwire_connector::sink::{DeliveryGuarantee, KafkaSink, PreparedTransaction, RecoveryError};
use kwire_testkit::data::{self, client};
use kwire_testkit::LocalBroker;

/// The values a read_committed read of `topic` holds once no transaction is open there.
async fn committed_values(client: &Client, topic: &str) -> Vec<String> {
    data::committed_values(client, topic, Duration::from_secs(30))
        .await
        .unwrap()
}

fn sink(client: &Client, topic: &str, prefix: &str) -> KafkaSink<String> {
    KafkaSink::strings(client.clone(), topic)
        .delivery(DeliveryGuarantee::ExactlyOnce)
        .transactional_id_prefix(prefix)
        .transaction_pool(2)
}

/// Waits until the coordinator of `id` reports its transaction aborted.
async fn until_aborted(client: &Client, id: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let d = client.describe_transaction(id).await.unwrap().unwrap();
        if d.state == TransactionState::CompleteAbort {
            println!("{id}: {d:?}");
            return;
        }
        assert!(Instant::now() < deadline, "{id} still {d:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A pre-commit whose transaction times out before the commit: the restore fails with
/// [`RecoveryError::Aborted`] naming its transactional id and checkpoint, and nothing of it is
/// visible.
async fn a_timed_out_pre_commit_fails_the_restore(client: &Client, topic: &str) {
    client.create_topic(topic, 1, 1).await.unwrap();
    // Long enough for the pre-commit on a loaded machine, short enough to time out soon after.
    let sink = sink(client, topic, &format!("{topic}-job")).transaction_timeout(Duration::from_secs(4));
    let mut writer = sink.writer(SinkContext::new(0, 1));
    for i in 0..10 {
        writer.write(format!("lost-{i}")).await.unwrap();
    }
    let state = writer.prepare_checkpoint(7).await.unwrap();
    let prepared = PreparedTransaction::decode_list(&state).unwrap();
    assert_eq!(prepared.len(), 1, "{prepared:?}");
    let id = prepared[0].transactional_id.clone();
    assert_eq!(
        prepared[0].partitions,
        vec![(topic.to_owned(), 0, 0)],
        "{prepared:?}"
    );
    // The failure: no commit reaches the coordinator before the timeout aborts the transaction.
    until_aborted(client, &id, Duration::from_secs(30)).await;
    drop(writer);

    let mut restored = sink.writer(SinkContext::new(0, 1));
    let err = restored
        .restore(Some(state))
        .await
        .expect_err("a restore over an aborted pre-commit fails");
    println!("{err}");
    match &err {
        JobError::Recovery(RecoveryError::Aborted {
            transactional_id,
            checkpoint,
            ..
        }) => {
            assert_eq!(transactional_id, &id);
            assert_eq!(*checkpoint, 7);
        }
        other => panic!("not an abort: {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&id) && message.contains("checkpoint 7"),
        "{message}"
    );
    assert_eq!(committed_values(client, topic).await, Vec::<String>::new());
}

/// A pre-commit that committed, after which its transactional id began the next transaction
/// (which the failure left open): the restore proceeds, and fences that next transaction.
async fn a_committed_pre_commit_restores(client: &Client, topic: &str) {
    client.create_topic(topic, 1, 1).await.unwrap();
    let sink = sink(client, topic, &format!("{topic}-job"));
    let mut writer = sink.writer(SinkContext::new(0, 1));
    for i in 0..10 {
        writer.write(format!("kept-{i}")).await.unwrap();
    }
    let state = writer.prepare_checkpoint(1).await.unwrap();
    let id = PreparedTransaction::decode_list(&state).unwrap()[0]
        .transactional_id
        .clone();
    writer.checkpoint_complete(1).await.unwrap();
    for i in 0..5 {
        writer.write(format!("open-{i}")).await.unwrap();
    }
    // The next transaction is on the same id (a pool of 2 reuses the id just committed).
    let second = writer.prepare_checkpoint(2).await.unwrap();
    let second = PreparedTransaction::decode_list(&second).unwrap();
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(second[0].transactional_id, id, "the id is reused");
    assert!(second[0].epoch > PreparedTransaction::decode_list(&state).unwrap()[0].epoch);
    drop(writer);

    let mut restored = sink.writer(SinkContext::new(0, 1));
    restored.restore(Some(state)).await.unwrap();
    restored.write("after".to_owned()).await.unwrap();
    restored.finish().await.unwrap();
    let mut expected: Vec<String> = (0..10).map(|i| format!("kept-{i}")).collect();
    expected.push("after".to_owned());
    assert_eq!(committed_values(client, topic).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_tells_an_aborted_pre_commit_from_a_committed_one_on_the_fake_cluster() {
    let broker = LocalBroker::fake().unwrap();
    let client = client(&broker).await.unwrap();
    a_timed_out_pre_commit_fails_the_restore(&client, "timed-out").await;
    a_committed_pre_commit_restores(&client, "committed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_tells_an_aborted_pre_commit_from_a_committed_one_on_apache_kafka() {
    let broker =
        LocalBroker::apache().unwrap_or_else(|e| panic!("Apache Kafka is needed for this test: {e}"));
    let client = client(&broker).await.unwrap();
    a_timed_out_pre_commit_fails_the_restore(&client, "timed-out").await;
    a_committed_pre_commit_restores(&client, "committed").await;
}
