//! rdkafka 0.38 (librdkafka 2.12, bundled): `BaseProducer::send` per record (polling for
//! delivery reports when its queue is full), then a `BaseConsumer` assigned partition 0 from the
//! beginning, `poll` per record. librdkafka prefetches on its own threads.
//!
//! `--settings defaults`: only the bootstrap servers (and, for the consumer, a group id with
//! auto commit off, which librdkafka needs and which do not touch throughput). librdkafka 2.12's
//! defaults: acks=all, idempotence off, linger 5 ms, batch.size 1,000,000 B (and at most 10,000
//! records per batch), no compression; fetch.wait.max.ms 500, fetch.max.bytes 52,428,800,
//! max.partition.fetch.bytes 1,048,576.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use peer_bench::{cpu_time, payload, report, Args};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

/// Counts delivery reports, good and bad.
#[derive(Default)]
struct Counts {
    delivered: AtomicU64,
    failed: AtomicU64,
}

impl ClientContext for Counts {}

impl ProducerContext for Counts {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.delivered.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

fn main() {
    let args = Args::parse();
    if args.produce() {
        let cpu = cpu_time();
        let elapsed = produce(&args);
        report(
            "rdkafka",
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
        let (records, bytes, elapsed) = consume(&args);
        report("rdkafka", "consume", &args, records, bytes, elapsed, cpu_time() - cpu);
    }
}

fn produce(args: &Args) -> Duration {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &args.bootstrap);
    if !args.defaults {
        config
            .set("acks", "all")
            .set("enable.idempotence", "false")
            .set("linger.ms", args.linger.as_millis().to_string())
            .set("batch.size", args.batch_bytes.to_string())
            .set("compression.type", "none");
    }
    let producer: BaseProducer<Counts> = config.create_with_context(Counts::default()).expect("producer");
    // Connected, with the topic's metadata, before the clock starts (as the other clients are).
    producer
        .client()
        .fetch_metadata(Some(&args.topic), Duration::from_secs(10))
        .expect("metadata");
    let value = payload(args.size);
    let started = Instant::now();
    for _ in 0..args.records {
        let mut record = BaseRecord::<[u8], [u8]>::to(&args.topic).payload(&value[..]);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(1));
                }
                Err((e, _)) => panic!("send: {e}"),
            }
        }
    }
    producer.flush(Duration::from_secs(120)).expect("flush");
    let elapsed = started.elapsed();
    let ctx = producer.context();
    let (ok, bad) = (
        ctx.delivered.load(Ordering::Relaxed),
        ctx.failed.load(Ordering::Relaxed),
    );
    assert!(bad == 0 && ok == args.records, "delivered {ok}, failed {bad}");
    elapsed
}

fn consume(args: &Args) -> (u64, u64, Duration) {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &args.bootstrap)
        .set("group.id", "peer-bench")
        .set("enable.auto.commit", "false");
    if !args.defaults {
        config
            .set("fetch.wait.max.ms", args.max_wait.as_millis().to_string())
            .set(
                "max.partition.fetch.bytes",
                args.partition_fetch_bytes.to_string(),
            )
            .set("fetch.max.bytes", args.fetch_max_bytes.to_string());
    }
    let consumer: BaseConsumer = config.create().expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&args.topic, 0, Offset::Beginning)
        .expect("partition");
    consumer.assign(&tpl).expect("assign");
    let (mut records, mut bytes) = (0u64, 0u64);
    let mut started = None;
    while records < args.records {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                started.get_or_insert_with(Instant::now);
                bytes += m.payload().map_or(0, <[u8]>::len) as u64;
                records += 1;
            }
            Some(Err(e)) => panic!("consume: {e}"),
            None => {}
        }
    }
    (records, bytes, started.map_or(Duration::ZERO, |s| s.elapsed()))
}
