//! Test data helpers shared by the broker tests: a client for a [`LocalBroker`], topics filled
//! with numbered records, and reading the number back.

use std::time::Duration;

use bytes::Bytes;
use kwire_connector::client::{Client, Error, ProducerRecord};
use kwire_connector::runtime::CheckpointStore;
use kwire_connector::source::SourceState;

use crate::LocalBroker;

/// A client bootstrapped from `broker`.
pub async fn client(broker: &LocalBroker) -> Result<Client, Error> {
    Client::builder().bootstrap(broker.bootstrap()).build().await
}

/// Creates `topic` with `partitions` partitions and writes `count` records round-robin over them:
/// record `i` has value `"<i>:"` padded with `x` to `size` bytes and goes to partition
/// `i % partitions`. With `one_per_batch`, every record is its own batch: tansu cannot fetch from an
/// offset inside a batch (docs/interop.md), and tests that resume mid-stream need batch boundaries
/// there.
pub async fn fill(
    client: &Client,
    topic: &str,
    partitions: i32,
    count: u32,
    size: usize,
    one_per_batch: bool,
) -> Result<(), Error> {
    client.create_topic(topic, partitions, 1).await?;
    let mut builder = client.producer();
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
        ack.await
            .map_err(|_| Error::InvalidArgument("the producer stopped".into()))??;
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
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            state: seed | 1,
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
        .filter_map(|states| SourceState::from_bytes(states.first()?).ok())
        .map(|s| s.offsets.values().sum::<i64>())
        .sum()
}
