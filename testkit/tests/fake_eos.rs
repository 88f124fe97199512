//! Exactly-once against the fake cluster (which, unlike the embedded broker, has EndTxn): the
//! Kafka source -> rebalance -> exactly-once Kafka sink job of the local runner, killed at random
//! points and restarted from its checkpoint directory, leaves every input record exactly once in
//! a read_committed read of the output.

use std::time::Duration;

use kwire_connector::client::Client;
use kwire_protocol::messages::ApiKey;
use kwire_protocol::ErrorCode;
use kwire_testkit::data::Seeded;
use kwire_testkit::fake::{FakeCluster, RequestFault};

mod common;

use common::{exactly_once_through_kills, KillRun, Moment};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_sink_through_kills_holds_each_of_100k_records_once() {
    let cluster = FakeCluster::start(3).unwrap();
    let client = Client::builder()
        .bootstrap(&cluster.bootstrap())
        .build()
        .await
        .unwrap();
    let seed = Seeded::from_env().seed();
    eprintln!("seed {seed}");
    let run = KillRun {
        total: 100_000,
        kills: 6,
        seed,
        one_per_batch: false,
        max_kill_delay_ms: 60,
    };
    // Every other killed run has its first commits (EndTxn) refused with a retriable error, so
    // that the kill lands while the client retries: between a checkpoint's pre-commit and its
    // commit. The restarted job must commit those transactions from its checkpoint.
    let mut held = 0;
    let mut before_run = |moment: Moment| {
        cluster.clear_request_faults();
        let Moment::BeforeRun(i) = moment else {
            return;
        };
        // Every Produce held 2 ms: the job lasts well past its first checkpoints however fast
        // the machine, so the kills land inside it.
        cluster.fail_next(
            ApiKey::Produce,
            RequestFault::Delay(Duration::from_millis(2)),
            u32::MAX,
        );
        if i % 2 == 1 {
            cluster.fail_next(
                ApiKey::EndTxn,
                RequestFault::Error(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS),
                3,
            );
            held += 1;
        }
    };
    let (seen, killed) = exactly_once_through_kills(&client, run, &mut before_run)
        .await
        .unwrap();
    cluster.clear_request_faults();
    let lost = seen.iter().filter(|c| **c == 0).count();
    let duplicated: u32 = seen.iter().map(|c| c.saturating_sub(1)).sum();
    let stats = cluster.stats();
    println!(
        "seed {seed}: {} records, {held} runs with held commits ({} EndTxn refused), lost {lost}, \
         duplicated {duplicated}; transactions committed {}, aborted {}, epoch bumps {}",
        seen.len(),
        cluster.request_faults_used_on(ApiKey::EndTxn),
        stats.commits,
        stats.aborts,
        stats.epoch_bumps
    );
    assert_eq!(lost, 0, "no record lost");
    assert_eq!(duplicated, 0, "no record twice");
    assert!(stats.commits > 0, "{stats:?}");
    assert_eq!(killed, run.kills, "every kill landed while the job ran");
    assert!(
        cluster.request_faults_used_on(ApiKey::EndTxn) > 0,
        "commits were held while the job was killed"
    );
}

/// A job recovering from a checkpoint commits the transactions the checkpoint pre-committed with
/// the producer id and epoch it recorded. If that transaction had committed before the failure
/// and its transactional id went on to a next transaction, Kafka's coordinator (transactions v1)
/// would commit that next one instead; the producer bumps its epoch before each next transaction,
/// so the late EndTxn is refused as fenced and the next transaction stays its producer's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovered_commit_does_not_end_the_next_transaction_of_its_id() {
    use kwire_connector::client::{raw::FetchOptions, IsolationLevel, ProducerRecord};
    use kwire_connector::sink::{commit_prepared, PreparedTransaction};

    let cluster = FakeCluster::start(1).unwrap();
    let client = Client::builder()
        .bootstrap(&cluster.bootstrap())
        .build()
        .await
        .unwrap();
    client.create_topic("reuse", 1, 1).await.unwrap();
    let p = client
        .producer()
        .transactional_id("reuse-0")
        .build()
        .await
        .unwrap();
    p.init_transactions().await.unwrap();
    p.begin_transaction().await.unwrap();
    p.send(ProducerRecord::new("reuse", "first").partition(0))
        .await
        .unwrap();
    let (pid, epoch) = p.producer_id_and_epoch();
    p.commit_transaction().await.unwrap();
    p.begin_transaction().await.unwrap();
    let ack = p
        .send(ProducerRecord::new("reuse", "second").partition(0))
        .await
        .unwrap();
    p.flush().await.unwrap();
    ack.await.unwrap().unwrap();
    commit_prepared(&client, &[PreparedTransaction::new(1, "reuse-0", pid, epoch)])
        .await
        .unwrap();
    let options = FetchOptions::default()
        .isolation(IsolationLevel::ReadCommitted)
        .max_wait(Duration::from_millis(10));
    let got = client.raw().fetch_one("reuse", 0, 0, &options).await.unwrap();
    let values: Vec<_> = got.records.iter().map(|r| r.value.clone().unwrap()).collect();
    assert_eq!(
        values,
        vec![bytes::Bytes::from("first")],
        "the open transaction stays open"
    );
    p.abort_transaction().await.unwrap();
}

/// The end of a bounded job commits the output after the final checkpoint only once every record
/// of it is acknowledged: a record the broker refused fails the finish, and the transaction is
/// aborted rather than committed without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finish_commits_only_after_every_record_is_acknowledged() {
    use kwire_connector::client::{raw::FetchOptions, IsolationLevel};
    use kwire_connector::runtime::{Sink, SinkContext};
    use kwire_connector::sink::{DeliveryGuarantee, KafkaSink};

    let cluster = FakeCluster::start(1).unwrap();
    let client = Client::builder()
        .bootstrap(&cluster.bootstrap())
        .build()
        .await
        .unwrap();
    client.create_topic("final", 1, 1).await.unwrap();
    let sink = KafkaSink::strings(client.clone(), "final")
        .delivery(DeliveryGuarantee::ExactlyOnce)
        .transactional_id_prefix("final-job")
        // One batch for every record, so the refused one fails them all and nothing else.
        .producer(|b| b.linger(Duration::from_millis(200)));
    let mut writer = sink.writer(SinkContext::new(0, 1));
    cluster.fail_next(ApiKey::Produce, RequestFault::Error(ErrorCode::INVALID_RECORD), 1);
    for i in 0..5 {
        writer.write(format!("final-{i}")).await.unwrap();
    }
    let err = writer
        .finish()
        .await
        .expect_err("a refused record fails the finish");
    println!("{err}");
    let stats = cluster.stats();
    assert_eq!(
        stats.commits, 0,
        "nothing committed with a record missing: {stats:?}"
    );
    let options = FetchOptions::default()
        .isolation(IsolationLevel::ReadCommitted)
        .max_wait(Duration::from_millis(10));
    let got = client.raw().fetch_one("final", 0, 0, &options).await.unwrap();
    assert!(got.records.is_empty(), "{:?}", got.records);
}
