//! `kwire bench load`: P producers and C consumers against one cluster for a fixed time, then a
//! check that every acknowledged record was read, in order, with no error; the process's resident
//! memory is sampled throughout, so growth shows.
//!
//! Producer `i` writes values `i:seq` (seq counting up) round-robin over the topic's partitions
//! with an idempotent producer; consumer `j` reads the partitions `p` with `p % C == j` from the
//! start, following the tail. At the end the producers stop, and the consumers must reach every
//! partition's end: each (producer, partition) sequence must then be read strictly increasing and
//! complete, or the run fails.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kwire_connector::client::{Client, Consumer, DeliveryFuture, ProducerRecord};

use crate::common::{describe, write_stdout};

/// Options of `kwire bench load`.
#[derive(Debug, clap::Args)]
pub(crate) struct LoadArgs {
    /// Producers, each with its own idempotent producer.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    producers: u32,
    /// Consumers, each reading its share of the partitions.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    consumers: u32,
    /// How long the producers write, in seconds.
    #[arg(long, value_name = "S", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    seconds: u64,
    /// The size of each value, in bytes (at least the `i:seq` it carries).
    #[arg(long, value_name = "BYTES", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    size: u32,
    /// The topic, created with --partitions partitions (it must not exist yet).
    #[arg(long, default_value = "kwire-load", value_parser = crate::topic::parse_topic_name)]
    topic: String,
    /// The topic's partitions.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(i32).range(1..=1024))]
    partitions: i32,
    /// Records each producer may have waiting for acknowledgement.
    #[arg(long, value_name = "N", default_value_t = 5_000)]
    window: usize,
}

/// What one producer did.
#[derive(Debug, Default)]
struct Produced {
    /// Per partition, the last acknowledged sequence number + 1.
    acked: HashMap<i32, u64>,
    records: u64,
}

/// What one consumer saw.
#[derive(Debug, Default)]
struct Consumed {
    records: u64,
    /// (producer, partition) -> the next sequence number expected.
    next: HashMap<(u32, i32), u64>,
    /// Records out of order or repeated, with the first few described.
    out_of_order: u64,
    first_problems: Vec<String>,
}

/// Resident memory of this process, in bytes (Linux; 0 elsewhere).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn value(producer: u32, seq: u64, size: u32) -> Bytes {
    let mut v = format!("{producer}:{seq}:").into_bytes();
    v.resize((size as usize).max(v.len()), b'x');
    Bytes::from(v)
}

fn parse(value: &[u8]) -> Option<(u32, u64)> {
    let mut parts = value.splitn(3, |b| *b == b':');
    let p = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let s = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    Some((p, s))
}

async fn produce(
    client: Client,
    args: Arc<LoadArgs>,
    id: u32,
    stop: Arc<AtomicBool>,
    errors: Arc<AtomicU64>,
) -> anyhow::Result<Produced> {
    let producer = client
        .producer()
        .build()
        .await
        .map_err(|e| anyhow::anyhow!("producer {id}: {}", describe(&e)))?;
    let mut out = Produced::default();
    let mut pending: std::collections::VecDeque<(i32, u64, DeliveryFuture)> = Default::default();
    let mut seq = 0u64;
    let settle = |out: &mut Produced, partition: i32, s: u64, r: Result<_, _>| match r {
        Ok(_) => {
            out.records += 1;
            let e = out.acked.entry(partition).or_default();
            *e = (*e).max(s + 1);
        }
        Err(e) => {
            errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(producer = id, error = %e, "a record failed");
        }
    };
    while !stop.load(Ordering::Relaxed) {
        let partition = (seq % args.partitions as u64) as i32;
        // The sequence is per (producer, partition): seq / partitions.
        let s = seq / args.partitions as u64;
        let record = ProducerRecord::new(&args.topic, value(id, s, args.size)).partition(partition);
        let ack = producer
            .send(record)
            .await
            .map_err(|e| anyhow::anyhow!("producer {id}: {}", describe(&e)))?;
        pending.push_back((partition, s, ack));
        seq += 1;
        while pending.len() >= args.window {
            let (p, s, ack) = pending.pop_front().expect("not empty");
            let r = ack.await.map_err(|_| anyhow::anyhow!("producer {id} stopped"))?;
            settle(&mut out, p, s, r);
        }
    }
    producer
        .flush()
        .await
        .map_err(|e| anyhow::anyhow!("producer {id}: {}", describe(&e)))?;
    for (p, s, ack) in pending {
        let r = ack.await.map_err(|_| anyhow::anyhow!("producer {id} stopped"))?;
        settle(&mut out, p, s, r);
    }
    let _ = producer.close().await;
    Ok(out)
}

async fn consume(
    client: Client,
    args: Arc<LoadArgs>,
    id: u32,
    done_producing: Arc<AtomicBool>,
    counter: Arc<AtomicU64>,
) -> anyhow::Result<Consumed> {
    let mut consumer = Consumer::builder(client)
        .max_wait(Duration::from_millis(100))
        .build();
    let mine: Vec<i32> = (0..args.partitions)
        .filter(|p| *p as u32 % args.consumers == id)
        .collect();
    for &p in &mine {
        consumer.assign_at(&args.topic, p, 0);
    }
    let mut out = Consumed::default();
    if mine.is_empty() {
        return Ok(out);
    }
    // After the producers stopped: read until every partition is at its end, and stays there a
    // moment (no batch for a fetch's wait).
    loop {
        let batch = match tokio::time::timeout(Duration::from_millis(300), consumer.next_batch()).await {
            Ok(Some(batch)) => batch.map_err(|e| anyhow::anyhow!("consumer {id}: {}", describe(&e)))?,
            Ok(None) => return Ok(out),
            Err(_) => {
                let at_end = mine.iter().all(|p| {
                    let hw = consumer.high_watermark(&args.topic, *p).unwrap_or(-1);
                    hw >= 0 && consumer.position(&args.topic, *p).is_some_and(|pos| pos >= hw)
                });
                if done_producing.load(Ordering::Relaxed) && at_end {
                    return Ok(out);
                }
                continue;
            }
        };
        for r in &batch.records {
            let Some((producer, s)) = r.value.as_deref().and_then(parse) else {
                out.out_of_order += 1;
                continue;
            };
            let next = out.next.entry((producer, batch.partition)).or_default();
            if s != *next {
                out.out_of_order += 1;
                if out.first_problems.len() < 5 {
                    out.first_problems.push(format!(
                        "partition {} offset {}: producer {producer} seq {s}, expected {next}",
                        batch.partition, r.offset
                    ));
                }
            }
            *next = (*next).max(s + 1);
        }
        out.records += batch.records.len() as u64;
        counter.fetch_add(batch.records.len() as u64, Ordering::Relaxed);
    }
}

/// Runs the load against `bootstrap`.
pub(crate) async fn run(args: LoadArgs, bootstrap: &str) -> anyhow::Result<ExitCode> {
    let client = crate::common::connect(bootstrap).await?;
    client
        .create_topic(&args.topic, args.partitions, 1)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create topic `{}`: {}", args.topic, describe(&e)))?;
    let args = Arc::new(args);
    let stop = Arc::new(AtomicBool::new(false));
    let done_producing = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let read = Arc::new(AtomicU64::new(0));
    let producers: Vec<_> = (0..args.producers)
        .map(|i| {
            tokio::spawn(produce(
                client.clone(),
                Arc::clone(&args),
                i,
                Arc::clone(&stop),
                Arc::clone(&errors),
            ))
        })
        .collect();
    let consumers: Vec<_> = (0..args.consumers)
        .map(|j| {
            tokio::spawn(consume(
                client.clone(),
                Arc::clone(&args),
                j,
                Arc::clone(&done_producing),
                Arc::clone(&read),
            ))
        })
        .collect();
    let started = Instant::now();
    let mut samples = Vec::new();
    let every = Duration::from_secs(5).min(Duration::from_secs(args.seconds));
    while started.elapsed() < Duration::from_secs(args.seconds) {
        tokio::time::sleep(every).await;
        let line = format!(
            "t={:>4.0}s read={} rss={:.1}MB",
            started.elapsed().as_secs_f64(),
            read.load(Ordering::Relaxed),
            rss_bytes() as f64 / 1e6
        );
        eprintln!("{line}");
        samples.push(rss_bytes());
    }
    stop.store(true, Ordering::Relaxed);
    let mut produced: HashMap<(u32, i32), u64> = HashMap::new();
    let mut total_produced = 0;
    for (i, p) in producers.into_iter().enumerate() {
        let out = p.await??;
        total_produced += out.records;
        for (partition, n) in out.acked {
            produced.insert((i as u32, partition), n);
        }
    }
    let write_secs = started.elapsed().as_secs_f64();
    done_producing.store(true, Ordering::Relaxed);
    let drain = tokio::time::timeout(Duration::from_secs(120), async {
        let mut all = Vec::new();
        for c in consumers {
            all.push(c.await??);
        }
        anyhow::Ok(all)
    })
    .await
    .map_err(|_| anyhow::anyhow!("the consumers did not reach the end within 120 s"))??;
    let mut problems: Vec<String> = Vec::new();
    let mut total_read = 0;
    let mut seen: HashMap<(u32, i32), u64> = HashMap::new();
    for c in drain {
        total_read += c.records;
        if c.out_of_order > 0 {
            problems.push(format!(
                "{} records out of order or repeated: {}",
                c.out_of_order,
                c.first_problems.join("; ")
            ));
        }
        seen.extend(c.next);
    }
    for (key, n) in &produced {
        let got = seen.get(key).copied().unwrap_or(0);
        if got < *n {
            problems.push(format!(
                "producer {} partition {}: acknowledged up to seq {}, read up to {}",
                key.0,
                key.1,
                n - 1,
                got.saturating_sub(1)
            ));
        }
    }
    let errors = errors.load(Ordering::Relaxed);
    let first = samples.first().copied().unwrap_or(0);
    let peak = samples.iter().copied().max().unwrap_or(0);
    let last = samples.last().copied().unwrap_or(0);
    let line = format!(
        "bench load: {} producers, {} consumers, {} partitions, {} B values, {:.0} s on {bootstrap}: \
         {total_produced} records acknowledged ({:.0}/s), {total_read} read, {errors} errors, \
         {} ordering or loss problems; rss first {:.1} MB, peak {:.1} MB, last {:.1} MB",
        args.producers,
        args.consumers,
        args.partitions,
        args.size,
        write_secs,
        total_produced as f64 / write_secs,
        problems.len(),
        first as f64 / 1e6,
        peak as f64 / 1e6,
        last as f64 / 1e6,
    );
    write_stdout(format!("{line}\n").as_bytes())?;
    for p in problems.iter().take(10) {
        crate::common::warn(p);
    }
    if errors > 0 || !problems.is_empty() || total_read < total_produced {
        anyhow::bail!(
            "the load run failed: {errors} errors, {} problems",
            problems.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_carry_their_producer_and_sequence() {
        let v = value(7, 12345, 100);
        assert_eq!(v.len(), 100);
        assert_eq!(parse(&v), Some((7, 12345)));
        assert_eq!(parse(&value(1, 2, 1)), Some((1, 2)));
        assert_eq!(parse(b"garbage"), None);
    }
}
