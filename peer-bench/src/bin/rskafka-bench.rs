//! rskafka 0.6: `BatchProducer::produce` per record (its batching producer, `RecordAggregator`
//! with the common batch size and linger), then a `PartitionClient::fetch_records` loop from
//! offset 0 asking for up to `--fetch-max-bytes`.
//!
//! `--settings defaults`: rskafka's producer lingers 5 ms unless told otherwise; its
//! `RecordAggregator` and `fetch_records` have no defaults (every call names its batch size, byte
//! range and max wait), so the batch stays at `--batch-bytes` and the fetch takes what its own
//! `StreamConsumer` defaults to: 1 to 52,428,800 bytes and a 500 ms max wait.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use peer_bench::{cpu_time, payload, report, Args};
use rskafka::client::partition::{PartitionClient, UnknownTopicHandling};
use rskafka::client::producer::aggregator::RecordAggregator;
use rskafka::client::producer::BatchProducerBuilder;
use rskafka::client::ClientBuilder;
use rskafka::record::Record;

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let client = ClientBuilder::new(vec![args.bootstrap.clone()])
        .build()
        .await
        .expect("connect");
    let partition = Arc::new(
        client
            .partition_client(args.topic.clone(), 0, UnknownTopicHandling::Retry)
            .await
            .expect("partition client"),
    );
    if args.produce() {
        let cpu = cpu_time();
        let elapsed = produce(&partition, &args).await;
        report(
            "rskafka",
            "produce",
            &args,
            args.records,
            args.records * args.size as u64,
            elapsed,
            cpu_time() - cpu,
        );
    }
    if args.consume() {
        let cpu = cpu_time();
        let (records, bytes, elapsed) = consume(&partition, &args).await;
        report("rskafka", "consume", &args, records, bytes, elapsed, cpu_time() - cpu);
    }
}

async fn produce(partition: &Arc<PartitionClient>, args: &Args) -> Duration {
    let mut builder = BatchProducerBuilder::new(Arc::clone(partition));
    if !args.defaults {
        builder = builder.with_linger(args.linger);
    }
    let producer = builder.build(RecordAggregator::new(args.batch_bytes));
    let value = payload(args.size);
    let window = args.window();
    let mut pending = FuturesUnordered::new();
    let started = Instant::now();
    for _ in 0..args.records {
        let record = Record {
            key: None,
            value: Some(value.clone()),
            headers: BTreeMap::new(),
            timestamp: chrono::Utc::now(),
        };
        pending.push(producer.produce(record));
        // rskafka's produce future does its work when polled: poll what is ready now.
        while let Some(Some(r)) = futures::FutureExt::now_or_never(pending.next()) {
            r.expect("produce");
        }
        if pending.len() >= window {
            pending.next().await.expect("not empty").expect("produce");
        }
    }
    while let Some(r) = pending.next().await {
        r.expect("produce");
    }
    started.elapsed()
}

async fn consume(partition: &PartitionClient, args: &Args) -> (u64, u64, Duration) {
    // rskafka's StreamConsumer defaults, for `--settings defaults`.
    let (max_wait, max_bytes) = if args.defaults {
        (Duration::from_millis(500), 52_428_800)
    } else {
        (args.max_wait, args.fetch_max_bytes)
    };
    let max_wait_ms = i32::try_from(max_wait.as_millis()).unwrap_or(i32::MAX);
    let (mut records, mut bytes, mut offset) = (0u64, 0u64, 0i64);
    let mut started = None;
    while records < args.records {
        // One range sets both the response limit and the partition limit. tansu 0.6 sizes its
        // answer by the response limit only, so this gets what the other clients get.
        let (got, _high_watermark) = partition
            .fetch_records(offset, 1..max_bytes, max_wait_ms)
            .await
            .expect("fetch");
        if !got.is_empty() {
            started.get_or_insert_with(Instant::now);
        }
        for r in &got {
            bytes += r.record.value.as_ref().map_or(0, Vec::len) as u64;
            offset = offset.max(r.offset + 1);
        }
        records += got.len() as u64;
    }
    (records, bytes, started.map_or(Duration::ZERO, |s| s.elapsed()))
}
