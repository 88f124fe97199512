//! kwire: `Producer::send` per record (no partition given: the default partitioner), then a
//! `Consumer` assigned partition 0 from offset 0, read batch by batch. The consume clock starts when the first records arrive
//! (as for every client: see `peer_bench`).
//!
//! `--settings defaults`: `client.producer().build()` and `Consumer::builder(client).build()`,
//! which are acks=all, idempotence on, linger 5 ms, batch 1,000,000 B, no compression; fetch max wait
//! 500 ms, 1 MiB per partition, a buffer of 50 MiB and 100,000 records that fetches ahead while
//! there is room (connector/src/client/producer.rs and consumer.rs).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kwire_connector::client::{Acks, Client, Consumer, ProducerRecord};
use kwire_connector::core::fetch_plan::BufferLimits;
use peer_bench::{cpu_time, payload, report, Args};

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let client = Client::builder()
        .bootstrap(&args.bootstrap)
        .build()
        .await
        .expect("connect");
    if args.produce() {
        let cpu = cpu_time();
        let elapsed = produce(&client, &args).await;
        report(
            "kwire",
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
        let (records, bytes, elapsed) = consume(&client, &args).await;
        report("kwire", "consume", &args, records, bytes, elapsed, cpu_time() - cpu);
    }
}

async fn produce(client: &Client, args: &Args) -> Duration {
    let builder = if args.defaults {
        client.producer()
    } else {
        // Idempotence is off unless asked for: none of the peers has it on here.
        client
            .producer()
            .acks(Acks::All)
            .idempotence(args.opt("idempotence"))
            .linger(args.linger)
            .batch_size(args.batch_bytes)
    };
    let producer = builder.build().await.expect("producer");
    let value = Bytes::from(payload(args.size));
    let window = args.window();
    let mut pending = VecDeque::with_capacity(window);
    let started = Instant::now();
    for _ in 0..args.records {
        let record = ProducerRecord::new(&args.topic, value.clone());
        pending.push_back(producer.send(record).await.expect("send"));
        if pending.len() >= window {
            let first = pending.pop_front().expect("not empty");
            first.await.expect("producer stopped").expect("record failed");
        }
    }
    producer.flush().await.expect("flush");
    for d in pending {
        d.await.expect("producer stopped").expect("record failed");
    }
    let elapsed = started.elapsed();
    producer.close().await.expect("close");
    elapsed
}

async fn consume(client: &Client, args: &Args) -> (u64, u64, Duration) {
    let mut builder = Consumer::builder(client.clone());
    if !args.defaults {
        builder = builder
            .max_wait(args.max_wait)
            .partition_max_bytes(usize::try_from(args.partition_fetch_bytes).expect("a byte count"))
            // The response's byte limit is the buffer's room.
            .buffer(BufferLimits {
                max_bytes: usize::try_from(args.fetch_max_bytes).expect("a byte count"),
                ..BufferLimits::default()
            });
    }
    let mut consumer = builder.build();
    consumer.assign_at(&args.topic, 0, 0);
    let (mut records, mut bytes) = (0u64, 0u64);
    let mut started = None;
    while records < args.records {
        let batch = consumer
            .next_batch()
            .await
            .expect("an unbounded read does not end")
            .expect("fetch");
        if !batch.records.is_empty() {
            started.get_or_insert_with(Instant::now);
        }
        for r in &batch.records {
            bytes += r.value.as_ref().map_or(0, Bytes::len) as u64;
        }
        records += batch.records.len() as u64;
    }
    (records, bytes, started.map_or(Duration::ZERO, |s| s.elapsed()))
}
