//! `kwire bench produce|consume|sink`: throughput (and produce latency) with a progress bar and
//! one summary line.
//!
//! Produce latency is the time from `send` to the acknowledgement being seen; acknowledgements are
//! collected in send order, so a record acknowledged while an older one is still outstanding is
//! counted when the older one is in. Consume fetches with a 10 ms max wait (tansu holds a fetch
//! for about half of it even when data is there).

use std::collections::VecDeque;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use kwire_connector::client::{Client, Consumer, DeliveryFuture, IsolationLevel, OffsetSpec, ProducerRecord};
use kwire_connector::runtime::{JobBuilder, JobError, Sink, SinkContext};
use kwire_connector::sink::{DeliveryGuarantee, KafkaSink, Partitioner};
use kwire_connector::source::{KafkaSource, SourceRecord, StartingOffsets, StoppingOffsets};
use kwire_protocol::ErrorCode;
use tokio::sync::oneshot::error::TryRecvError;

use crate::common::{broker_code, connect, ctrl_c, describe, per_second, topic_error};
use crate::produce::{AcksArg, CompressionArg};
use crate::topic::parse_topic_name;

/// `kwire bench` commands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Sends N records of SIZE bytes; reports records/s, MB/s and p50/p99 latency.
    Produce(Args),
    /// Reads N records from the topic's start (writing them first if it has fewer); reports
    /// records/s and MB/s.
    Consume(Args),
    /// Writes N records through one Kafka sink writer with a delivery guarantee, completing a
    /// checkpoint every --checkpoint-ms; reports records/s, MB/s and the checkpoints taken.
    Sink(SinkArgs),
    /// P producers and C consumers for a fixed time; fails unless every acknowledged record is
    /// read back in order with no error; samples resident memory (run the broker in another
    /// process, `kwire broker`, so that only the client's memory is measured).
    Load(crate::load::LoadArgs),
}

/// Options of `kwire bench sink`.
#[derive(Debug, clap::Args)]
pub(crate) struct SinkArgs {
    #[command(flatten)]
    common: Args,
    /// The sink's delivery guarantee (exactly-once needs a broker with transactions).
    #[arg(long, value_enum, default_value_t = GuaranteeArg::AtLeastOnce)]
    guarantee: GuaranteeArg,
    /// How often a checkpoint is taken and completed, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_ms: u64,
}

/// `--guarantee` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum GuaranteeArg {
    /// Fire and forget.
    None,
    /// Flush and wait for every acknowledgement at each checkpoint.
    AtLeastOnce,
    /// A Kafka transaction per checkpoint, committed when it completes.
    ExactlyOnce,
}

impl From<GuaranteeArg> for DeliveryGuarantee {
    fn from(g: GuaranteeArg) -> Self {
        match g {
            GuaranteeArg::None => Self::None,
            GuaranteeArg::AtLeastOnce => Self::AtLeastOnce,
            GuaranteeArg::ExactlyOnce => Self::ExactlyOnce,
        }
    }
}

/// Options of `kwire bench produce|consume`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How many records.
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    records: u64,
    /// The size of each record's value, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 100, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    size: u32,
    /// The topic (created if it does not exist).
    #[arg(long, default_value = "kwire-bench", value_parser = parse_topic_name)]
    topic: String,
    /// The number of partitions, when the topic is created.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..))]
    partitions: i32,
    /// Who must have a record before it counts as written.
    #[arg(long, value_enum, default_value_t = AcksArg::All)]
    acks: AcksArg,
    /// How record batches are compressed.
    #[arg(long, value_enum, default_value_t = CompressionArg::None)]
    compression: CompressionArg,
    /// Consume through the connector's source with this many instances in a local job (records
    /// counted at the sink), instead of the client's raw fetch loop.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
    parallelism: Option<u64>,
}

/// Runs a benchmark against `bootstrap`, or the embedded broker when none is given.
pub(crate) async fn run(cmd: Command, bootstrap: Option<&str>) -> anyhow::Result<ExitCode> {
    let (broker, bootstrap) = match bootstrap {
        Some(b) => (None, b.to_owned()),
        None => {
            let broker = crate::common::start_embedded().await?;
            let b = broker.bootstrap().to_owned();
            (Some(broker), b)
        }
    };
    let where_ = if broker.is_some() {
        format!("the embedded broker at {bootstrap}")
    } else {
        bootstrap.clone()
    };
    let result = tokio::select! {
        r = bench(cmd, &bootstrap, &where_) => r,
        () = ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    if let Some(broker) = broker {
        crate::common::stop_embedded(broker).await;
    }
    result
}

async fn bench(cmd: Command, bootstrap: &str, where_: &str) -> anyhow::Result<ExitCode> {
    let cmd = match cmd {
        Command::Load(args) => return crate::load::run(args, bootstrap).await,
        other => other,
    };
    let client = connect(bootstrap).await?;
    let (Command::Produce(args) | Command::Consume(args) | Command::Sink(SinkArgs { common: args, .. })) =
        &cmd
    else {
        unreachable!("load runs on its own");
    };
    let partitions = ensure_topic(&client, &args.topic, args.partitions).await?;
    let line = match cmd {
        Command::Produce(args) => {
            let bar = progress_bar(args.records, "produce");
            let stats = produce(&client, &args, args.records, &bar).await?;
            bar.finish_and_clear();
            let mut lat = stats.latencies;
            lat.sort_unstable();
            format!(
                "bench produce: {} records x {} B to {} ({partitions} partitions, acks {}, compression {}) \
                 on {where_} in {:.2} s: {:.0} records/s, {:.1} MB/s, latency p50 {:.2} ms, p99 {:.2} ms",
                args.records,
                args.size,
                args.topic,
                acks_name(args.acks),
                compression_name(args.compression),
                stats.elapsed.as_secs_f64(),
                per_second(args.records as f64, stats.elapsed),
                per_second(args.records as f64 * f64::from(args.size), stats.elapsed) / 1e6,
                percentile(&lat, 0.50).as_secs_f64() * 1e3,
                percentile(&lat, 0.99).as_secs_f64() * 1e3,
            )
        }
        Command::Consume(args) => {
            let (records, bytes, elapsed) = consume(&client, &args).await?;
            let via = match args.parallelism {
                Some(n) => format!("source x{n} in a job"),
                None => "raw fetch".to_owned(),
            };
            format!(
                "bench consume ({via}): {records} records ({:.1} MB) from {} ({partitions} partitions) on {where_} \
                 in {:.2} s: {:.0} records/s, {:.1} MB/s (fetch max wait 10 ms)",
                bytes as f64 / 1e6,
                args.topic,
                elapsed.as_secs_f64(),
                per_second(records as f64, elapsed),
                per_second(bytes as f64, elapsed) / 1e6,
            )
        }
        Command::Load(_) => unreachable!("load runs on its own"),
        Command::Sink(sink_args) => {
            let args = &sink_args.common;
            let (elapsed, checkpoints) = sink(&client, &sink_args).await?;
            format!(
                "bench sink ({}, checkpoint every {} ms): {} records x {} B to {} ({partitions} partitions, \
                 acks {}, compression {}) on {where_} in {:.2} s: {:.0} records/s, {:.1} MB/s, {checkpoints} checkpoints",
                guarantee_name(sink_args.guarantee),
                sink_args.checkpoint_ms,
                args.records,
                args.size,
                args.topic,
                acks_name(args.acks),
                compression_name(args.compression),
                elapsed.as_secs_f64(),
                per_second(args.records as f64, elapsed),
                per_second(args.records as f64 * f64::from(args.size), elapsed) / 1e6,
            )
        }
    };
    crate::common::write_stdout(format!("{line}\n").as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the records through one sink writer, a checkpoint (prepare, then complete) every
/// `checkpoint_ms` and one at the end: the time until the writer finished (every record
/// acknowledged), and how many checkpoints.
async fn sink(client: &Client, sink_args: &SinkArgs) -> anyhow::Result<(Duration, u64)> {
    let args = &sink_args.common;
    let (acks, compression) = (args.acks, args.compression);
    let sink = KafkaSink::new(client.clone(), &args.topic, |topic, value: Bytes| {
        ProducerRecord {
            topic: topic.to_owned(),
            value: Some(value),
            ..ProducerRecord::default()
        }
    })
    .partitioner(Partitioner::RoundRobin)
    .delivery(sink_args.guarantee.into())
    .transactional_id_prefix(&format!("kwire-bench-{}", std::process::id()))
    .producer(move |b| b.acks(acks.into()).compression(compression.into()));
    let mut writer = sink.writer(SinkContext::new(0, 1));
    let every = Duration::from_millis(sink_args.checkpoint_ms);
    let value = payload(args.size);
    let bar = progress_bar(args.records, "sink");
    let fail = |e: JobError| anyhow::anyhow!("the sink failed: {e}");
    let mut checkpoints = 0;
    let started = Instant::now();
    let mut next_checkpoint = started + every;
    for i in 0..args.records {
        writer.write(value.clone()).await.map_err(fail)?;
        if i % 1024 == 1023 {
            bar.inc(1024);
            if Instant::now() >= next_checkpoint {
                checkpoints += 1;
                writer.prepare_checkpoint(checkpoints).await.map_err(fail)?;
                writer.checkpoint_complete(checkpoints).await.map_err(fail)?;
                next_checkpoint = Instant::now() + every;
            }
        }
    }
    checkpoints += 1;
    writer.prepare_checkpoint(checkpoints).await.map_err(fail)?;
    writer.checkpoint_complete(checkpoints).await.map_err(fail)?;
    // Until every record is acknowledged, whatever the guarantee (finish flushes), so that
    // fire-and-forget is not timed on sending alone.
    writer.finish().await.map_err(fail)?;
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    Ok((elapsed, checkpoints))
}

fn guarantee_name(g: GuaranteeArg) -> &'static str {
    match g {
        GuaranteeArg::None => "none",
        GuaranteeArg::AtLeastOnce => "at-least-once",
        GuaranteeArg::ExactlyOnce => "exactly-once",
    }
}

/// Creates `topic` with `partitions` partitions unless it exists; its partition count.
async fn ensure_topic(client: &Client, topic: &str, partitions: i32) -> anyhow::Result<usize> {
    match client.create_topic(topic, partitions, 1).await {
        Ok(()) => {}
        Err(e) if broker_code(&e) == Some(ErrorCode::TOPIC_ALREADY_EXISTS) => {}
        Err(e) => anyhow::bail!("cannot create topic `{topic}`: {}", describe(&e)),
    }
    client.raw().invalidate(topic);
    let meta = client.topic(topic).await.map_err(|e| topic_error(topic, &e))?;
    Ok(meta.partitions.len())
}

fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{prefix:>8} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} {per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = ProgressBar::new(len).with_style(style);
    bar.set_prefix(what.to_owned());
    bar
}

fn acks_name(a: AcksArg) -> &'static str {
    match a {
        AcksArg::None => "0",
        AcksArg::Leader => "1",
        AcksArg::All => "all",
    }
}

fn compression_name(c: CompressionArg) -> &'static str {
    match c {
        CompressionArg::None => "none",
        CompressionArg::Gzip => "gzip",
        CompressionArg::Snappy => "snappy",
        CompressionArg::Lz4 => "lz4",
        CompressionArg::Zstd => "zstd",
    }
}

/// The `q` quantile of sorted `values` (zero when empty).
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// A value of `size` bytes of printable noise (so compression has something realistic to do).
fn payload(size: u32) -> Bytes {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..size)
        .map(|_| {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b'a' + (x % 26) as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

struct ProduceStats {
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// Sends `count` records of `args.size` bytes, round-robin over the partitions.
async fn produce(
    client: &Client,
    args: &Args,
    count: u64,
    bar: &ProgressBar,
) -> anyhow::Result<ProduceStats> {
    let producer = client
        .producer()
        .acks(args.acks.into())
        .compression(args.compression.into())
        .build()
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the producer: {}", describe(&e)))?;
    let value = payload(args.size);
    // Bound what waits for acknowledgement as the Java producer's buffer.memory does (32 MiB),
    // but at least 1000 records. Latency includes the time a record waits in that buffer.
    let window = (32 << 20) / usize::try_from(args.size.max(1))?;
    let window = window.max(1000);
    let mut pending: VecDeque<(Instant, DeliveryFuture)> = VecDeque::new();
    let mut latencies = Vec::with_capacity(usize::try_from(count.min(1 << 24))?);
    let fail = |e: &kwire_connector::client::Error| anyhow::anyhow!("a record failed: {}", describe(e));
    let started = Instant::now();
    for _ in 0..count {
        let record = ProducerRecord {
            topic: args.topic.clone(),
            value: Some(value.clone()),
            ..ProducerRecord::default()
        };
        let sent = Instant::now();
        let delivery = producer.send(record).await.map_err(|e| fail(&e))?;
        pending.push_back((sent, delivery));
        loop {
            let full = pending.len() >= window;
            let Some((sent, delivery)) = pending.front_mut() else {
                break;
            };
            let result = match delivery.try_recv() {
                Ok(r) => r,
                Err(TryRecvError::Empty) if !full => break,
                Err(TryRecvError::Empty) => delivery
                    .await
                    .map_err(|_| anyhow::anyhow!("the producer stopped"))?,
                Err(TryRecvError::Closed) => anyhow::bail!("the producer stopped"),
            };
            result.map_err(|e| fail(&e))?;
            latencies.push(sent.elapsed());
            pending.pop_front();
            bar.inc(1);
        }
    }
    producer
        .flush()
        .await
        .map_err(|e| anyhow::anyhow!("the producer failed: {}", describe(&e)))?;
    for (sent, delivery) in pending {
        delivery
            .await
            .map_err(|_| anyhow::anyhow!("the producer stopped"))?
            .map_err(|e| fail(&e))?;
        latencies.push(sent.elapsed());
        bar.inc(1);
    }
    let elapsed = started.elapsed();
    let _ = producer.close().await;
    Ok(ProduceStats { elapsed, latencies })
}

/// Reads `args.records` records from the start of every partition; what was read and how long.
async fn consume(client: &Client, args: &Args) -> anyhow::Result<(u64, u64, Duration)> {
    let topic = args.topic.as_str();
    let fail = |e: kwire_connector::client::Error| topic_error(topic, &e);
    let partitions: Vec<i32> = client
        .topic(topic)
        .await
        .map_err(fail)?
        .partitions
        .iter()
        .map(|p| p.id)
        .collect();
    let mut available = 0u64;
    for &p in &partitions {
        let start = client
            .list_offset(topic, p, OffsetSpec::Earliest)
            .await
            .map_err(fail)?;
        let end = client
            .end_offset(topic, p, IsolationLevel::ReadUncommitted)
            .await
            .map_err(fail)?;
        available += u64::try_from(end - start.max(0)).unwrap_or(0);
    }
    if available < args.records {
        let missing = args.records - available;
        let bar = progress_bar(missing, "prepare");
        produce(client, args, missing, &bar).await?;
        bar.finish_and_clear();
    }
    // Every partition from its start to its end, as of now.
    let mut positions = Vec::new();
    for &p in &partitions {
        let start = client
            .list_offset(topic, p, OffsetSpec::Earliest)
            .await
            .map_err(fail)?;
        let end = client
            .end_offset(topic, p, IsolationLevel::ReadUncommitted)
            .await
            .map_err(fail)?;
        positions.push((p, start.max(0), end));
    }
    if let Some(n) = args.parallelism {
        return consume_in_job(client, args, n as usize, &positions).await;
    }
    let mut consumer = Consumer::builder(client.clone())
        .max_wait(Duration::from_millis(10))
        .build();
    for &(p, start, end) in &positions {
        consumer.assign_at(topic, p, start);
        consumer.stop_at(topic, p, end);
    }
    let bar = progress_bar(args.records, "consume");
    let (mut records, mut bytes) = (0u64, 0u64);
    let started = Instant::now();
    while records < args.records {
        let Some(batch) = consumer.next_batch().await else {
            break; // Every partition reached its end.
        };
        let batch = batch.map_err(fail)?;
        let take = (args.records - records).min(batch.records.len() as u64);
        for r in batch.records.iter().take(usize::try_from(take)?) {
            bytes += (r.key.as_ref().map_or(0, Bytes::len) + r.value.as_ref().map_or(0, Bytes::len)) as u64;
        }
        records += take;
        bar.inc(take);
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    if records < args.records {
        anyhow::bail!("the topic ended after {records} of {} records", args.records);
    }
    Ok((records, bytes, elapsed))
}

/// Counts records and key + value bytes at the end of a job.
struct Count {
    records: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    bar: ProgressBar,
}

impl Sink<SourceRecord> for Count {
    async fn write(&mut self, r: SourceRecord) -> Result<(), JobError> {
        let len = r.key.as_ref().map_or(0, Bytes::len) + r.value.as_ref().map_or(0, Bytes::len);
        self.bytes.fetch_add(len as u64, Ordering::Relaxed);
        self.records.fetch_add(1, Ordering::Relaxed);
        self.bar.inc(1);
        Ok(())
    }
}

/// Reads `positions` (partition, start, end) through a job of `parallelism` source instances.
async fn consume_in_job(
    client: &Client,
    args: &Args,
    parallelism: usize,
    positions: &[(i32, i64, i64)],
) -> anyhow::Result<(u64, u64, Duration)> {
    let topic = args.topic.as_str();
    let tp = |p: i32| (topic.to_owned(), p);
    let source = KafkaSource::builder(client.clone(), &[topic])
        .parallelism(parallelism)
        .starting_offsets(StartingOffsets::Specific(
            positions.iter().map(|(p, s, _)| (tp(*p), *s)).collect(),
        ))
        .stopping_offsets(StoppingOffsets::Specific(
            positions.iter().map(|(p, _, e)| (tp(*p), *e)).collect(),
        ))
        .max_wait(Duration::from_millis(10))
        .build();
    let (records, bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let bar = progress_bar(args.records, "consume");
    let (r, b, pb) = (records.clone(), bytes.clone(), bar.clone());
    let started = Instant::now();
    JobBuilder::new("bench")
        .source(source)
        .sink(move |_| Count {
            records: r.clone(),
            bytes: b.clone(),
            bar: pb.clone(),
        })
        .run()
        .await?;
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    Ok((
        records.load(Ordering::Relaxed),
        bytes.load(Ordering::Relaxed),
        elapsed,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 0.5), Duration::from_millis(51));
        assert_eq!(percentile(&v, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn payload_has_the_size_asked_for() {
        assert_eq!(payload(0).len(), 0);
        assert_eq!(payload(1000).len(), 1000);
    }
}
