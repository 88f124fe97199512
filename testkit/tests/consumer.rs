//! The client's `Consumer` against a real broker (the kind `KWIRE_BROKER` names): reading every
//! partition to its stops, seek, pause and resume, the buffer's bound, and OFFSET_OUT_OF_RANGE told
//! apart as deleted records or a position not yet written.

use kwire_connector::client::ClientError;
use std::collections::BTreeMap;
use std::time::Duration;

use kwire_connector::client::{
    Client, ConsumedBatch, Consumer, Error, OffsetReset, OffsetSpec, OutOfRange, OutOfRangePolicy,
    ProducerRecord, StartOffset,
};
use kwire_connector::core::fetch_plan::BufferLimits;
use kwire_testkit::broker::BrokerKind;
use kwire_testkit::fake::FakeCluster;
use kwire_testkit::{data, LocalBroker};

fn index(value: Option<&bytes::Bytes>) -> u32 {
    data::index(value.expect("a value")).expect("a value written by data::fill")
}

async fn next(consumer: &mut Consumer) -> ConsumedBatch {
    tokio::time::timeout(Duration::from_secs(30), consumer.next_batch())
        .await
        .expect("a batch within 30 s")
        .expect("the read is not finished")
        .expect("no error")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_partition_is_read_in_order_up_to_its_stop_and_then_the_stream_ends() {
    let broker = LocalBroker::start_or_fail();
    let client = data::client(&broker).await.unwrap();
    data::fill(&client, "stream", 3, 900, 20, false).await.unwrap();
    let mut consumer = Consumer::builder(client.clone()).build();
    let starts = consumer
        .assign_topic("stream", StartOffset::Earliest)
        .await
        .unwrap();
    assert_eq!(starts.len(), 3);
    for (p, start) in &starts {
        assert_eq!(*start, 0, "partition {p}");
        consumer.stop_at("stream", *p, 300);
    }
    let mut records = consumer.records();
    let mut per_partition: BTreeMap<i32, Vec<(i64, u32)>> = BTreeMap::new();
    while let Some(r) = tokio::time::timeout(Duration::from_secs(30), records.next_record())
        .await
        .expect("a record or the end within 30 s")
    {
        let r = r.expect("no error");
        assert_eq!(&*r.topic, "stream");
        per_partition
            .entry(r.partition)
            .or_default()
            .push((r.record.offset, index(r.record.value.as_ref())));
    }
    assert_eq!(per_partition.len(), 3);
    for (p, got) in &per_partition {
        let offsets: Vec<i64> = got.iter().map(|(o, _)| *o).collect();
        assert_eq!(offsets, (0..300).collect::<Vec<_>>(), "partition {p}");
        // data::fill writes record i to partition i % 3.
        assert!(got.iter().all(|(_, i)| (*i % 3) as i32 == *p), "partition {p}");
        assert_eq!(records.consumer().position("stream", *p), Some(300));
    }
    assert!(records.consumer().is_finished());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seek_rereads_from_there_and_drops_what_was_buffered() {
    let broker = LocalBroker::start_or_fail();
    let client = data::client(&broker).await.unwrap();
    data::fill(&client, "seek", 1, 200, 20, false).await.unwrap();
    let mut consumer = Consumer::builder(client).build();
    consumer.assign("seek", 0, StartOffset::At(0)).await.unwrap();
    let first = next(&mut consumer).await;
    assert_eq!(first.records.first().map(|r| r.offset), Some(0));
    // Inside the batches read: a broker that cannot fetch from inside a batch (tansu) is read from
    // the batch's start and the records before 137 are dropped.
    consumer.seek("seek", 0, 137);
    assert_eq!(consumer.position("seek", 0), Some(137));
    let mut offsets = Vec::new();
    consumer.stop_at("seek", 0, 200);
    while let Some(batch) = consumer.next_batch().await {
        offsets.extend(batch.unwrap().records.iter().map(|r| r.offset));
    }
    assert_eq!(offsets, (137..200).collect::<Vec<_>>());
    // And back to the start.
    consumer.seek("seek", 0, 0);
    consumer.stop_at("seek", 0, 5);
    let again = next(&mut consumer).await;
    assert_eq!(
        again.records.iter().map(|r| r.offset).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert!(consumer.next_batch().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_partition_is_not_fetched_until_resumed() {
    let broker = LocalBroker::start_or_fail();
    let client = data::client(&broker).await.unwrap();
    data::fill(&client, "pause", 2, 400, 20, false).await.unwrap();
    let mut consumer = Consumer::builder(client).build();
    consumer
        .assign_topic("pause", StartOffset::Earliest)
        .await
        .unwrap();
    consumer.stop_at("pause", 0, 200);
    consumer.stop_at("pause", 1, 200);
    consumer.pause("pause", 1);
    let mut read = BTreeMap::<i32, usize>::new();
    while consumer.position("pause", 0) < Some(200) {
        let batch = next(&mut consumer).await;
        *read.entry(batch.partition).or_default() += batch.records.len();
    }
    // Partition 0 is done and 1 is paused: nothing more comes.
    let waited = tokio::time::timeout(Duration::from_millis(1500), consumer.next_batch()).await;
    assert!(
        waited.is_err(),
        "a batch came while partition 1 was paused: {waited:?}"
    );
    assert_eq!(read.get(&0), Some(&200));
    assert_eq!(read.get(&1), None, "partition 1 was fetched while paused");
    consumer.resume("pause", 1);
    while let Some(batch) = consumer.next_batch().await {
        let batch = batch.unwrap();
        assert_eq!(batch.partition, 1);
        *read.entry(1).or_default() += batch.records.len();
    }
    assert_eq!(read.get(&1), Some(&200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_keeps_the_buffer_within_its_bound() {
    let broker = LocalBroker::start_or_fail();
    let client = data::client(&broker).await.unwrap();
    // 2,000 records of 1 KiB, in batches of at most 16 KiB.
    client.create_topic("bounded", 1, 1).await.unwrap();
    let producer = client.producer().batch_size(16 << 10).build().await.unwrap();
    for i in 0..2000u32 {
        let mut value = format!("{i}:").into_bytes();
        value.resize(1024, b'x');
        producer
            .send(ProducerRecord::new("bounded", value).partition(0))
            .await
            .unwrap();
    }
    producer.close().await.unwrap();
    let limits = BufferLimits {
        max_records: 10_000,
        max_bytes: 64 << 10,
        min_fetch_bytes: 16 << 10,
    };
    let mut consumer = Consumer::builder(client).buffer(limits).build();
    consumer
        .assign("bounded", 0, StartOffset::Earliest)
        .await
        .unwrap();
    consumer.stop_at("bounded", 0, 2000);
    let mut count = 0;
    while let Some(batch) = consumer.next_batch().await {
        count += batch.unwrap().records.len();
        let (_, bytes) = consumer.buffered();
        assert!(bytes <= (64 + 20) << 10, "{bytes} bytes buffered");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(count, 2000);
    let peak = consumer.peak_buffered_bytes();
    assert!(peak > 0 && peak <= (64 + 20) << 10, "peak {peak} bytes");
}

/// A broker where records of `topic`-0 before some offset are gone: the fake cluster deletes
/// them (as retention or DeleteRecords would); Apache Kafka deletes its first segment by
/// retention. Returns the broker's holders, the client and the new log start.
async fn with_deleted_records(topic: &str) -> (Option<LocalBroker>, Option<FakeCluster>, Client, i64) {
    if BrokerKind::from_env().unwrap() == BrokerKind::Apache {
        let broker = LocalBroker::start_or_fail();
        let client = data::client(&broker).await.unwrap();
        // Segments roll every 100 ms of record time and are deleted 1 s after their last record.
        client
            .create_topic_with_config(topic, 1, 1, &[("segment.ms", "100"), ("retention.ms", "1000")])
            .await
            .unwrap();
        let producer = client.producer().build().await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            // Records keep coming (new segments roll), so the old ones can be deleted.
            let ack = producer
                .send(ProducerRecord::new(topic, bytes::Bytes::from_static(b"0:x")))
                .await
                .unwrap();
            producer.flush().await.unwrap();
            ack.await.unwrap().unwrap();
            let start = client.list_offset(topic, 0, OffsetSpec::Earliest).await.unwrap();
            if start > 0 {
                producer.close().await.unwrap();
                return (Some(broker), None, client, start);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "Apache Kafka deleted no segment of {topic} within 60 s:\n{}",
                broker.log_tail(20)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let fake = FakeCluster::start(1).unwrap();
    let client = Client::builder()
        .bootstrap(&fake.bootstrap())
        .build()
        .await
        .unwrap();
    fake.create_topic(topic, 1).unwrap();
    let producer = client.producer().build().await.unwrap();
    for _ in 0..100 {
        producer
            .send(ProducerRecord::new(topic, bytes::Bytes::from_static(b"0:x")).partition(0))
            .await
            .unwrap();
    }
    producer.flush().await.unwrap();
    producer.close().await.unwrap();
    let start = fake.delete_records(topic, 0, 60).unwrap();
    assert_eq!(start, 60);
    (None, Some(fake), client, start)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_tells_deleted_records_from_a_position_not_yet_written() {
    let (_broker, _fake, client, log_start) = with_deleted_records("gone").await;

    // Deleted, and the policy says fail: the error says so, and names the partition and offset.
    let mut strict = Consumer::builder(client.clone())
        .max_wait(Duration::from_millis(50))
        .out_of_range(OutOfRangePolicy::never())
        .build();
    strict.assign_at("gone", 0, 0);
    match tokio::time::timeout(Duration::from_secs(30), strict.next_batch()).await {
        Ok(Some(Err(Error::Client(ClientError::OffsetOutOfRange {
            topic,
            partition,
            offset,
            why,
        })))) => {
            assert_eq!(
                (topic.as_str(), partition, offset, why),
                ("gone", 0, 0, OutOfRange::Deleted)
            );
        }
        other => panic!("expected OFFSET_OUT_OF_RANGE (deleted), got {other:?}"),
    }
    // The position did not move: polling again fails the same way.
    assert_eq!(strict.position("gone", 0), Some(0));

    // The default: deleted records resume at the log start.
    let mut consumer = Consumer::builder(client.clone())
        .max_wait(Duration::from_millis(50))
        .build();
    consumer.assign_at("gone", 0, 0);
    let batch = next(&mut consumer).await;
    let first = batch.records.first().map(|r| r.offset);
    assert!(
        first.is_some_and(|o| o >= log_start),
        "the first record after the reset is at {first:?}, the log start is {log_start}"
    );

    // Past the end: not yet written, an error by default.
    let end = consumer.high_watermark("gone", 0).unwrap();
    assert!(end > log_start, "high watermark {end}, log start {log_start}");
    consumer.seek("gone", 0, end + 1000);
    match tokio::time::timeout(Duration::from_secs(30), consumer.next_batch()).await {
        Ok(Some(Err(Error::Client(ClientError::OffsetOutOfRange { offset, why, .. })))) => {
            assert_eq!((offset, why), (end + 1000, OutOfRange::NotYetWritten));
        }
        other => panic!("expected OFFSET_OUT_OF_RANGE (not yet written), got {other:?}"),
    }

    // Not yet written with a policy that resets to the latest: the next record written is read.
    let mut latest = Consumer::builder(client.clone())
        .max_wait(Duration::from_millis(50))
        .out_of_range(OutOfRangePolicy::always(OffsetReset::Latest))
        .build();
    latest.assign_at("gone", 0, end + 1000);
    // Let it reset before the record is written.
    let nothing = tokio::time::timeout(Duration::from_millis(500), latest.next_batch()).await;
    assert!(
        nothing.is_err(),
        "a batch at the end before any was written: {nothing:?}"
    );
    let producer = client.producer().build().await.unwrap();
    let ack = producer
        .send(ProducerRecord::new("gone", bytes::Bytes::from_static(b"7:new")).partition(0))
        .await
        .unwrap();
    producer.flush().await.unwrap();
    let written = ack.await.unwrap().unwrap().offset;
    producer.close().await.unwrap();
    let batch = next(&mut latest).await;
    assert_eq!(batch.records.first().map(|r| r.offset), Some(written));
    assert_eq!(batch.records[0].value.as_deref(), Some(&b"7:new"[..]));
}
