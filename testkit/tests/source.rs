//! The Kafka source against a real broker: assignment across instances, idle instances, order per
//! partition, bounded reads, checkpoint-gated commits and exactly-once restore, and backpressure.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kwire_connector::client::Client;
use kwire_connector::core::assign::owner;
use kwire_connector::core::fetch_plan::BufferLimits;
use kwire_connector::source::{KafkaSource, SourceRecord, StartingOffsets, StoppingOffsets};
use kwire_testkit::broker::BrokerKind;
use kwire_testkit::fake::FakeCluster;
use kwire_testkit::{data, LocalBroker};

fn index(r: &SourceRecord) -> u32 {
    data::index(r.value.as_deref().unwrap()).unwrap()
}

async fn drain(source: &KafkaSource, instance: usize) -> (Vec<SourceRecord>, bool) {
    let mut reader = source.reader(instance, None).await.unwrap();
    let mut out = Vec::new();
    while let Some(r) = reader.next().await {
        out.push(r.unwrap());
    }
    (out, reader.metrics().idle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_partitions_over_three_instances_each_read_by_its_owner_in_order() {
    let broker = LocalBroker::start_or_fail();
    let client = data::client(&broker).await.unwrap();
    data::fill(&client, "twelve", 12, 1200, 10, false).await.unwrap();
    let source = KafkaSource::builder(client.clone(), &["twelve"])
        .parallelism(3)
        .stopping_offsets(StoppingOffsets::Latest)
        .build();
    let mut seen = BTreeSet::new();
    for instance in 0..3 {
        let (records, idle) = drain(&source, instance).await;
        assert!(!idle);
        let mut per_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
        for r in &records {
            assert_eq!(
                owner("twelve", r.partition, 3),
                Some(instance),
                "partition {} read by {instance}",
                r.partition
            );
            assert_eq!(index(r) % 12, r.partition as u32);
            per_partition.entry(r.partition).or_default().push(r.offset);
            assert!(seen.insert(index(r)), "record {} read twice", index(r));
        }
        assert_eq!(per_partition.len(), 4, "12 partitions over 3 instances");
        for offsets in per_partition.values() {
            assert_eq!(
                offsets,
                &(0..100).collect::<Vec<i64>>(),
                "order within the partition"
            );
        }
    }
    assert_eq!(seen.len(), 1200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_partitions_over_five_instances_leave_three_idle() {
    let broker = LocalBroker::start_or_fail();
    let client = data::client(&broker).await.unwrap();
    data::fill(&client, "two", 2, 20, 10, false).await.unwrap();
    let source = KafkaSource::builder(client.clone(), &["two"])
        .parallelism(5)
        .stopping_offsets(StoppingOffsets::Latest)
        .build();
    let mut idle = 0;
    let mut total = 0;
    for instance in 0..5 {
        let (records, is_idle) = drain(&source, instance).await;
        idle += usize::from(is_idle);
        assert_eq!(is_idle, records.is_empty());
        total += records.len();
    }
    assert_eq!(idle, 3);
    assert_eq!(total, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_resumes_exactly_at_the_checkpoint_and_commits_follow_completion() {
    let broker = LocalBroker::start_or_fail();
    let client = data::client(&broker).await.unwrap();
    data::fill(&client, "ckpt", 3, 900, 10, true).await.unwrap();
    let source = KafkaSource::builder(client.clone(), &["ckpt"])
        .group_id("ckpt-group")
        .stopping_offsets(StoppingOffsets::Latest)
        .build();
    let mut reader = source.reader(0, None).await.unwrap();
    let mut delivered = Vec::new();
    for _ in 0..300 {
        delivered.push(index(&reader.next().await.unwrap().unwrap()));
    }
    let state = reader.snapshot(1);
    assert_eq!(state.offsets.values().sum::<i64>(), 300, "{state:?}");
    // Not complete yet: nothing committed.
    let committed = client
        .committed_offsets("ckpt-group", "ckpt", &[0, 1, 2])
        .await
        .unwrap();
    assert!(committed.iter().all(|(_, o)| *o == -1), "{committed:?}");
    reader.notify_checkpoint_complete(1).await;
    let mut committed = client
        .committed_offsets("ckpt-group", "ckpt", &[0, 1, 2])
        .await
        .unwrap();
    committed.sort();
    let expected: Vec<(i32, i64)> = state.offsets.iter().map(|((_, p), o)| (*p, *o)).collect();
    assert_eq!(
        committed, expected,
        "committed offsets equal the completed checkpoint"
    );
    // Read on past the checkpoint, then fail: these records are replayed after the restore.
    for _ in 0..150 {
        reader.next().await.unwrap().unwrap();
    }
    let _ = reader.snapshot(2); // never completes
    drop(reader);
    let mut restored = source.reader(0, Some(state)).await.unwrap();
    while let Some(r) = restored.next().await {
        delivered.push(index(&r.unwrap()));
    }
    delivered.sort_unstable();
    assert_eq!(
        delivered,
        (0..900).collect::<Vec<u32>>(),
        "every record exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_downstream_keeps_the_buffer_within_its_bound() {
    let broker = LocalBroker::start_or_fail();
    let client = data::client(&broker).await.unwrap();
    // 100 MB waiting in the topic, against a buffer of 1 MiB.
    const RECORDS: u32 = 100_000;
    const SIZE: usize = 1000;
    data::fill(&client, "backlog", 1, RECORDS, SIZE, false)
        .await
        .unwrap();
    let limits = BufferLimits {
        max_records: 4000,
        max_bytes: 1 << 20,
        min_fetch_bytes: 64 << 10,
    };
    let source = KafkaSource::builder(client.clone(), &["backlog"])
        .buffer(limits)
        // tansu holds a fetch for about half its max wait even when data is ready.
        .max_wait(Duration::from_millis(4))
        .stopping_offsets(StoppingOffsets::Latest)
        .build();
    let mut reader = source.reader(0, None).await.unwrap();
    // A batch larger than the room is still returned whole (KIP-74): one producer batch (16 KiB)
    // of slack.
    let bound = limits.max_bytes + (20 << 10);
    let mut n = 0u32;
    let mut next = 0u32;
    while let Some(r) = reader.next().await {
        let r = r.unwrap();
        assert_eq!(index(&r), next, "order within the partition");
        next += 1;
        n += 1;
        if n <= 2000 {
            // The slow phase: the reader must stop fetching once its buffer is full.
            tokio::time::sleep(Duration::from_micros(200)).await;
            let m = reader.metrics();
            assert!(m.buffered_bytes <= bound, "{m:?}");
            assert!(m.buffered_records <= limits.max_records, "{m:?}");
        }
    }
    assert_eq!(n, RECORDS);
    let m = reader.metrics();
    assert!(m.peak_buffered_bytes <= bound, "peak {}", m.peak_buffered_bytes);
    // The backlog was read through the bounded buffer, not around it.
    assert!(m.bytes >= u64::from(RECORDS) * SIZE as u64, "{m:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_from_committed_offsets() {
    let broker = LocalBroker::start_or_fail();
    let client = data::client(&broker).await.unwrap();
    data::fill(&client, "starts", 1, 10, 10, true).await.unwrap();
    client
        .commit_offsets("starts-group", &[("starts".to_owned(), 0, 7)], "")
        .await
        .unwrap();
    let committed = KafkaSource::builder(client.clone(), &["starts"])
        .group_id("starts-group")
        .starting_offsets(StartingOffsets::Committed {
            reset: kwire_connector::client::OffsetReset::Earliest,
        })
        .stopping_offsets(StoppingOffsets::Latest)
        .build();
    let (records, _) = drain(&committed, 0).await;
    assert_eq!(records.iter().map(index).collect::<Vec<_>>(), vec![7, 8, 9]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matching_topic_created_while_reading_is_discovered_and_read_from_the_earliest() {
    use kwire_connector::source::TopicFilter;

    let broker = LocalBroker::start_or_fail();
    let client = data::client(&broker).await.unwrap();
    data::fill(&client, "metrics-a", 2, 10, 10, false).await.unwrap();
    let source =
        KafkaSource::builder_matching(client.clone(), TopicFilter::new(|t| t.starts_with("metrics-")))
            .starting_offsets(StartingOffsets::Latest)
            .partition_discovery(Some(Duration::from_millis(100)))
            .max_wait(Duration::from_millis(20))
            .build();
    let mut reader = source.reader(0, None).await.unwrap();
    assert_eq!(reader.assigned().len(), 2, "metrics-a from the start");
    // Created after the reader started: read from its earliest offset whatever the starting
    // offsets say; a topic that does not match is never read.
    data::fill(&client, "metrics-b", 3, 30, 10, false).await.unwrap();
    data::fill(&client, "other", 1, 5, 10, false).await.unwrap();
    let mut got = Vec::new();
    while got.len() < 30 {
        let r = tokio::time::timeout(Duration::from_secs(20), reader.next())
            .await
            .expect("the new topic is discovered")
            .unwrap()
            .unwrap();
        got.push((r.topic.clone(), index(&r)));
    }
    assert!(got.iter().all(|(t, _)| &**t == "metrics-b"), "{got:?}");
    let mut indexes: Vec<u32> = got.iter().map(|(_, i)| *i).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..30).collect::<Vec<u32>>());
    let topics: BTreeSet<String> = reader.assigned().into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        topics,
        BTreeSet::from(["metrics-a".to_owned(), "metrics-b".to_owned()])
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(500), reader.next())
            .await
            .is_err(),
        "nothing else arrives"
    );
}

/// A start past the log end is reset to the earliest offset (the reader's out-of-range policy):
/// the records then come from below the start, and the position a checkpoint snapshots follows
/// them down instead of staying at the start.
///
/// tansu answers a Fetch past the log end with no error and no records (docs/conformance.md,
/// "Fetch out of range"), so with the embedded broker selected this runs on the fake cluster,
/// which answers OFFSET_OUT_OF_RANGE as Kafka does; on Apache Kafka it runs on Apache Kafka.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_past_the_end_is_reset_to_the_earliest_and_the_snapshot_follows_the_records() {
    let mut _fake = None;
    let mut _broker = None;
    let client = if BrokerKind::from_env().unwrap() == BrokerKind::Embedded {
        let cluster = FakeCluster::start(1).unwrap();
        let client = Client::builder()
            .bootstrap(&cluster.bootstrap())
            .build()
            .await
            .unwrap();
        _fake = Some(cluster);
        client
    } else {
        let broker = LocalBroker::start_or_fail();
        let client = data::client(&broker).await.unwrap();
        _broker = Some(broker);
        client
    };
    data::fill(&client, "past-end", 1, 10, 10, false).await.unwrap();
    let mut start = BTreeMap::new();
    start.insert(("past-end".to_owned(), 0), 1_000);
    let source = KafkaSource::builder(client.clone(), &["past-end"])
        .starting_offsets(StartingOffsets::Specific(start))
        .max_wait(Duration::from_millis(20))
        .build();
    let mut reader = source.reader(0, None).await.unwrap();
    let mut offsets = Vec::new();
    while offsets.len() < 10 {
        let r = tokio::time::timeout(Duration::from_secs(30), reader.next())
            .await
            .expect("the records after the reset come")
            .expect("an unbounded read goes on")
            .unwrap();
        offsets.push(r.offset);
    }
    assert_eq!(offsets, (0..10).collect::<Vec<i64>>());
    let state = reader.snapshot(1);
    assert_eq!(
        state.offsets.get(&("past-end".to_owned(), 0)),
        Some(&10),
        "{state:?}"
    );
}
