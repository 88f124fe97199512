//! Test data helpers shared by the broker tests: a client for a [`LocalBroker`], topics filled
//! with numbered records, and reading the number back.

use kwire_connector::client::ClientError;
use std::time::Duration;

use bytes::Bytes;
use kwire_connector::client::{
    raw::FetchOptions, Client, Consumer, Error, IsolationLevel, OffsetSpec, ProducerRecord, StartOffset,
};
use kwire_connector::runtime::CheckpointStore;
use kwire_connector::source::SourceState;

use crate::LocalBroker;

/// A client bootstrapped from `broker`.
pub async fn client(broker: &LocalBroker) -> Result<Client, Error> {
    Client::builder().bootstrap(broker.bootstrap()).build().await
}

/// Creates `topic` with `partitions` partitions and writes `count` records round-robin over them:
/// record `i` has value `"<i>:"` padded with `x` to `size` bytes and goes to partition
/// `i % partitions`, in batches of at most 16 KiB. With `one_per_batch`, every record is its own
/// batch: tansu cannot fetch from an offset inside a batch (docs/interop.md), and tests that resume
/// mid-stream need batch boundaries there.
pub async fn fill(
    client: &Client,
    topic: &str,
    partitions: i32,
    count: u32,
    size: usize,
    one_per_batch: bool,
) -> Result<(), Error> {
    client.create_topic(topic, partitions, 1).await?;
    // Batches of at most 16 KiB (the Java client's default), whatever the producer's default:
    // the tests' buffer bounds and resume points are sized by it.
    let mut builder = client.producer().batch_size(16 << 10);
    if one_per_batch {
        builder = builder.batch_size(1).linger(Duration::ZERO);
    }
    let producer = builder.build().await?;
    let mut acks = Vec::with_capacity(count as usize);
    for i in 0..count {
        let mut v = format!("{i}:").into_bytes();
        v.resize(size.max(v.len()), b'x');
        let partition = (i % partitions as u32) as i32;
        acks.push(
            producer
                .send(ProducerRecord::new(topic, Bytes::from(v)).partition(partition))
                .await?,
        );
    }
    producer.flush().await?;
    for ack in acks {
        ack.await.map_err(|_| {
            Error::Client(ClientError::TaskFailed(
                "the producer's sender ended without answering for a record".into(),
            ))
        })??;
    }
    producer.close().await
}

/// The number a record written by [`fill`] carries, from its value.
pub fn index(value: &[u8]) -> Option<u32> {
    let end = value.iter().position(|b| *b == b':')?;
    std::str::from_utf8(&value[..end]).ok()?.parse().ok()
}

/// A small xorshift generator for fault schedules: the same seed gives the same schedule.
#[derive(Debug, Clone)]
pub struct Seeded {
    seed: u64,
    state: u64,
}

impl Seeded {
    /// A generator from `seed`: every seed its own sequence (the state is the seed mixed by
    /// SplitMix64's finalizer, never 0, which xorshift cannot leave).
    pub fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Self {
            seed,
            state: if z == 0 { 0x9e37_79b9_7f4a_7c15 } else { z },
        }
    }

    /// The seed in `$KWIRE_SEED`, else a fresh one; prints it, so that a failure can be replayed.
    pub fn from_env() -> Self {
        let seed = std::env::var("KWIRE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                u64::from(std::process::id()) << 32 | u64::from(nanos)
            });
        println!("seed {seed} (KWIRE_SEED={seed} replays it)");
        Self::new(seed)
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state.checked_rem(n).unwrap_or(0)
    }
}

/// How far the newest checkpoint in `store` got: the sum of its source offsets (0 without one).
pub fn checkpointed_offsets(store: &CheckpointStore) -> i64 {
    let Ok(Some(snapshot)) = store.latest() else {
        return 0;
    };
    snapshot.stages[0]
        .iter()
        .filter_map(|states| SourceState::from_bytes(&states.first()?.bytes).ok())
        .map(|s| s.offsets.values().sum::<i64>())
        .sum()
}

/// The partition ids of `topic`, from the client's metadata.
async fn partition_ids(client: &Client, topic: &str) -> Result<Vec<i32>, String> {
    let meta = client.topic(topic).await.map_err(|e| format!("{topic}: {e}"))?;
    Ok(meta.partitions.iter().map(|p| p.id).collect())
}

/// Waits until no transaction is open in any partition of `topic` (the last stable offset equals
/// the high watermark everywhere), as a read_committed check must: a coordinator writes a
/// transaction's markers after it answered EndTxn. An error names the partition still open
/// after `within`.
pub async fn until_settled(client: &Client, topic: &str, within: Duration) -> Result<(), String> {
    let options = FetchOptions::default()
        .isolation(IsolationLevel::ReadCommitted)
        .max_wait(Duration::from_millis(10))
        .partition_max_bytes(1);
    let deadline = std::time::Instant::now() + within;
    let partitions = partition_ids(client, topic).await?;
    for partition in partitions {
        loop {
            let end = client
                .list_offset(topic, partition, OffsetSpec::Latest)
                .await
                .map_err(|e| format!("{topic}-{partition}: {e}"))?;
            let got = client
                .raw()
                .fetch_one(topic, partition, end, &options)
                .await
                .map_err(|e| format!("{topic}-{partition}: {e}"))?;
            if got.last_stable_offset >= got.high_watermark {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(format!(
                    "{topic}-{partition}: a transaction is still open after {within:?} (last stable \
                     offset {}, high watermark {})",
                    got.last_stable_offset, got.high_watermark
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(())
}

/// Every value of `topic` (all partitions, in partition and offset order) that a read_committed
/// reader sees once no transaction is open there ([`until_settled`] first), as UTF-8 (lossy).
pub async fn committed_values(client: &Client, topic: &str, within: Duration) -> Result<Vec<String>, String> {
    until_settled(client, topic, within).await?;
    let partitions = partition_ids(client, topic).await?;
    let mut out = Vec::new();
    for partition in partitions {
        let fail = |e: Error| format!("{topic}-{partition}: {e}");
        let end = client
            .end_offset(topic, partition, IsolationLevel::ReadCommitted)
            .await
            .map_err(fail)?;
        let mut consumer = Consumer::builder(client.clone())
            .isolation(IsolationLevel::ReadCommitted)
            .max_wait(Duration::from_millis(10))
            .build();
        consumer
            .assign(topic, partition, StartOffset::Earliest)
            .await
            .map_err(fail)?;
        consumer.stop_at(topic, partition, end);
        while let Some(batch) = consumer.next_batch().await {
            out.extend(
                batch
                    .map_err(fail)?
                    .records
                    .iter()
                    .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned()),
            );
        }
    }
    Ok(out)
}

/// The offsets `group` committed for `partitions` of `topic`, checked against the source offsets
/// of the newest checkpoint in `store` (a job commits a checkpoint's offsets when it completes):
/// `(partition, offset)` in partition order, or what differs.
pub async fn committed_at_checkpoint(
    client: &Client,
    store: &CheckpointStore,
    group: &str,
    topic: &str,
    partitions: &[i32],
) -> Result<Vec<(i32, i64)>, String> {
    let last = store
        .latest()
        .map_err(|e| format!("the checkpoint store: {e}"))?
        .ok_or("no checkpoint in the store")?;
    let states = last
        .stages
        .first()
        .ok_or("a checkpoint without stages")?
        .iter()
        .map(|s| {
            SourceState::from_bytes(&s.first().ok_or("a source without state")?.bytes)
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    let checkpointed: Vec<(i32, i64)> = SourceState::merge(&states)
        .offsets
        .iter()
        .filter(|((t, _), _)| t == topic)
        .map(|((_, p), o)| (*p, *o))
        .collect();
    let mut committed = client
        .committed_offsets(group, topic, partitions)
        .await
        .map_err(|e| format!("{group}: {e}"))?;
    committed.sort_unstable();
    if committed == checkpointed {
        Ok(committed)
    } else {
        Err(format!(
            "group {group} committed {committed:?} for {topic}, the newest checkpoint holds {checkpointed:?}"
        ))
    }
}
