//! The cluster operators in one process (two timely workers) on the broker `KWIRE_BROKER` names:
//! a bounded copy job through the at-least-once sink, and a job that ends in its own sink with
//! `commit_point`. Both read every partition once, by the worker Flink's assignment names, and
//! end with the final checkpoint at the end offsets, committed to the group.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kwire_connector::client::Client;
use kwire_connector::cluster::timely::dataflow::operators::Inspect;
use kwire_connector::cluster::{self, last_checkpoint, Checkpointing, Cluster, SharedDir, FINAL_EPOCH};
use kwire_connector::core::assign::partitions_of;
use kwire_connector::sink::{DeliveryGuarantee, KafkaSink};
use kwire_connector::source::{KafkaSource, StartingOffsets, StoppingOffsets};
use kwire_testkit::data::{client, committed_values, fill};
use kwire_testkit::LocalBroker;

const RECORDS: u32 = 5_000;
const PARTITIONS: i32 = 4;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kwire-cluster-local-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn source(client: &Client, topic: &str, group: &str) -> KafkaSource {
    KafkaSource::builder(client.clone(), &[topic])
        .starting_offsets(StartingOffsets::Earliest)
        .stopping_offsets(StoppingOffsets::Latest)
        .group_id(group)
        .max_wait(Duration::from_millis(20))
        .build()
}

/// The end offset of each partition of a topic `fill` wrote.
fn ends() -> Vec<(i32, i64)> {
    (0..PARTITIONS)
        .map(|p| (p, i64::from(RECORDS) / i64::from(PARTITIONS)))
        .collect()
}

async fn check_checkpoint_and_group(client: &Client, dir: &std::path::Path, group: &str, topic: &str) {
    let last = last_checkpoint(SharedDir::open(dir).unwrap(), 2)
        .unwrap()
        .expect("a complete checkpoint");
    assert_eq!(last.epoch, FINAL_EPOCH);
    let offsets: Vec<(i32, i64)> = last.offsets.iter().map(|((_, p), o)| (*p, *o)).collect();
    assert_eq!(offsets, ends(), "the final checkpoint's offsets");
    let partitions: Vec<i32> = (0..PARTITIONS).collect();
    let mut committed = client.committed_offsets(group, topic, &partitions).await.unwrap();
    committed.sort_unstable();
    assert_eq!(committed, ends(), "the group's committed offsets");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounded_copy_on_two_workers_writes_every_record_once() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await.unwrap();
    fill(&client, "cl-in", PARTITIONS, RECORDS, 20, false)
        .await
        .unwrap();
    client.create_topic("cl-out", 2, 1).await.unwrap();
    let dir = temp_dir("copy");
    let (src, sink) = (
        source(&client, "cl-in", "cl-copy"),
        KafkaSink::new(
            client.clone(),
            "cl-out",
            |topic, r: kwire_connector::source::SourceRecord| {
                kwire_connector::client::ProducerRecord::new(topic, r.value.unwrap_or_default())
            },
        )
        .delivery(DeliveryGuarantee::AtLeastOnce),
    );
    let assigned = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&assigned);
    let store = SharedDir::open(&dir).unwrap();
    tokio::task::spawn_blocking(move || {
        let checkpoints = Checkpointing::new(store, Duration::from_millis(200))
            .on_failure(|e| panic!("worker failed: {e}"));
        cluster::execute(Cluster::local(2), checkpoints, move |worker, ctx| {
            worker.dataflow::<u64, _, _>(|scope| {
                let records = cluster::kafka_source(scope, ctx, &src);
                cluster::kafka_sink(records, ctx, &sink);
            });
            let mut parts: Vec<i32> = ctx.source_partitions().iter().map(|(_, p)| *p).collect();
            parts.sort_unstable();
            seen.lock().unwrap().push((ctx.index(), parts));
        })
    })
    .await
    .unwrap()
    .unwrap();
    let mut assigned = assigned.lock().unwrap().clone();
    assigned.sort();
    let flink: Vec<(usize, Vec<i32>)> = (0..2)
        .map(|w| (w, partitions_of("cl-in", PARTITIONS, w, 2)))
        .collect();
    assert_eq!(assigned, flink, "partitions per worker");

    let mut values = committed_values(&client, "cl-out", Duration::from_secs(30))
        .await
        .unwrap();
    values.sort_by_key(|v| v.split(':').next().and_then(|n| n.parse::<u32>().ok()));
    let expected: Vec<u32> = (0..RECORDS).collect();
    let got: Vec<u32> = values
        .iter()
        .map(|v| v.split(':').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(got, expected, "every record copied once");
    check_checkpoint_and_group(&client, &dir, "cl-copy", "cl-in").await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_with_its_own_end_completes_through_the_commit_point() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await.unwrap();
    fill(&client, "cl-count", PARTITIONS, RECORDS, 20, false)
        .await
        .unwrap();
    let dir = temp_dir("count");
    let src = source(&client, "cl-count", "cl-counter");
    let counted = Arc::new(AtomicU64::new(0));
    let n = Arc::clone(&counted);
    let store = SharedDir::open(&dir).unwrap();
    tokio::task::spawn_blocking(move || {
        // A short interval: the sources run ahead of the commit point by at most 2 epochs, so a
        // missing commit point would stall the job here rather than let it end.
        let checkpoints =
            Checkpointing::new(store, Duration::from_millis(20)).on_failure(|e| panic!("worker failed: {e}"));
        cluster::execute(Cluster::local(2), checkpoints, move |worker, ctx| {
            let n = Arc::clone(&n);
            worker.dataflow::<u64, _, _>(|scope| {
                let records = cluster::kafka_source(scope, ctx, &src).inspect(move |_| {
                    n.fetch_add(1, Ordering::Relaxed);
                });
                cluster::commit_point(records, ctx);
            });
        })
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(counted.load(Ordering::Relaxed), u64::from(RECORDS));
    check_checkpoint_and_group(&client, &dir, "cl-counter", "cl-count").await;
    let _ = std::fs::remove_dir_all(&dir);
}
