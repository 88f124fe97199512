//! The Kafka sink: the end of a job that writes its records to Kafka, with Flink's partitioners
//! and a delivery guarantee tied to checkpoints.
//!
//! [`KafkaSink`] is the job-wide description; [`KafkaSink::writer`] makes the writer of one sink
//! instance, a [`crate::runtime::Sink`]. Partitioners:
//! - [`Partitioner::Fixed`] (the default, Flink's `FlinkFixedPartitioner`): instance `i` writes
//!   every record to the `i % n`-th partition, so with as many partitions as instances, jobs
//!   chained through Kafka keep each partition's order;
//! - [`Partitioner::RoundRobin`];
//! - [`Partitioner::KeyHash`]: the partition the Java client's default partitioner picks for a
//!   keyed record (murmur2 of the key, made positive, modulo the partition count), so kwire and
//!   Java producers agree on where a key goes; records without a key go round-robin;
//! - [`Partitioner::Custom`]: a closure given the record, the instance and the partitions.
//!
//! Delivery: [`DeliveryGuarantee::None`] sends and forgets; [`DeliveryGuarantee::AtLeastOnce`]
//! flushes at each checkpoint barrier and waits for every acknowledgement before the checkpoint
//! is acknowledged, so a failed write fails the checkpoint (and the job restarts from the previous
//! one) instead of being dropped. [`DeliveryGuarantee::ExactlyOnce`] writes each checkpoint's
//! records in a Kafka transaction: at the barrier the transaction is flushed (pre-commit) and
//! recorded in the checkpoint; when the checkpoint completes it commits; a restore commits the
//! transactions its checkpoint recorded, then fences the instance's transactional ids, which aborts
//! anything a failed run left open. Ids come from a bounded pool per instance and are reused.
//!
//! References: Flink's KafkaSink and `FlinkFixedPartitioner`; the Java client's
//! `BuiltInPartitioner.partitionForKey`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use kwire_protocol::messages::ApiKey;
use kwire_protocol::primitives::{Decoder, Encoder};
use kwire_protocol::{DecodeError, ErrorCode};
use tracing::{debug, info, warn};

use crate::client::partitioner::partition_for_key;
use crate::client::{Client, DeliveryFuture, Error, Producer, ProducerBuilder, ProducerRecord};
use crate::runtime::{JobError, Sink, SinkContext};

/// A user partitioner: given the record, the sink instance and the topic's partitions (sorted),
/// the partition to write to.
pub type CustomPartitioner = Arc<dyn Fn(&ProducerRecord, usize, &[i32]) -> i32 + Send + Sync>;

/// Picks the partition of a record without one.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Partitioner {
    /// Instance `i` writes to the `i % n`-th partition (Flink's default).
    #[default]
    Fixed,
    /// Each record to the next partition in turn.
    RoundRobin,
    /// By key, as the Java client's default partitioner; round-robin without a key.
    KeyHash,
    /// A closure given the record, the sink instance and the topic's partitions (sorted).
    Custom(CustomPartitioner),
}

impl fmt::Debug for Partitioner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Fixed => "Fixed",
            Self::RoundRobin => "RoundRobin",
            Self::KeyHash => "KeyHash",
            Self::Custom(_) => "Custom",
        })
    }
}

/// What the sink promises about each record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DeliveryGuarantee {
    /// Send and forget: a record may be lost on a failure.
    None,
    /// Every record acknowledged before its checkpoint completes; after a restart some may be
    /// written twice.
    #[default]
    AtLeastOnce,
    /// Kafka transactions: a checkpoint's records commit together when the checkpoint completes,
    /// so read_committed consumers see each record once. Needs a transactional id prefix.
    ExactlyOnce,
}

type Serializer<T> = Arc<dyn Fn(&str, T) -> ProducerRecord + Send + Sync>;
type Configure = Arc<dyn Fn(ProducerBuilder) -> ProducerBuilder + Send + Sync>;

/// The job-wide description of a Kafka sink for records of type `T`.
pub struct KafkaSink<T> {
    client: Client,
    topic: String,
    serializer: Serializer<T>,
    partitioner: Partitioner,
    guarantee: DeliveryGuarantee,
    configure: Configure,
    prefix: Option<String>,
    pool: usize,
}

impl<T> Clone for KafkaSink<T> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            topic: self.topic.clone(),
            serializer: self.serializer.clone(),
            partitioner: self.partitioner.clone(),
            guarantee: self.guarantee,
            configure: self.configure.clone(),
            prefix: self.prefix.clone(),
            pool: self.pool,
        }
    }
}

impl<T: Send + 'static> KafkaSink<T> {
    /// A sink writing to `topic` through `client`; `serializer` turns an item into a record given
    /// the sink's topic (it may name another topic, or set a partition of its own). Fixed
    /// partitioner, at-least-once, the producer's defaults.
    pub fn new(
        client: Client,
        topic: &str,
        serializer: impl Fn(&str, T) -> ProducerRecord + Send + Sync + 'static,
    ) -> Self {
        Self {
            client,
            topic: topic.to_owned(),
            serializer: Arc::new(serializer),
            partitioner: Partitioner::default(),
            guarantee: DeliveryGuarantee::default(),
            configure: Arc::new(|b| b),
            prefix: None,
            pool: 4,
        }
    }

    /// Exactly-once: the transactional ids are `{prefix}-{instance}-{slot}`. The prefix must be
    /// unique to the job (two jobs with one prefix fence each other).
    pub fn transactional_id_prefix(mut self, prefix: &str) -> Self {
        self.prefix = Some(prefix.to_owned());
        self
    }

    /// Exactly-once: transactional ids per instance (default 4): one for the open transaction and
    /// the rest for transactions pre-committed at checkpoints not yet complete. The ids are
    /// reused, so their number stays bounded however many checkpoints a job takes; at a start or
    /// restore every one of them is fenced, which aborts what a failed run left open.
    pub fn transaction_pool(mut self, n: usize) -> Self {
        self.pool = n.max(2);
        self
    }

    /// The partitioner (default fixed).
    pub fn partitioner(mut self, p: Partitioner) -> Self {
        self.partitioner = p;
        self
    }

    /// The delivery guarantee (default at-least-once).
    pub fn delivery(mut self, g: DeliveryGuarantee) -> Self {
        self.guarantee = g;
        self
    }

    /// Producer settings (acks, compression, linger, batch size) applied to each writer's
    /// producer.
    pub fn producer(
        mut self,
        configure: impl Fn(ProducerBuilder) -> ProducerBuilder + Send + Sync + 'static,
    ) -> Self {
        self.configure = Arc::new(configure);
        self
    }

    /// The writer of sink instance `ctx.instance`.
    pub fn writer(&self, ctx: SinkContext) -> KafkaSinkWriter<T> {
        KafkaSinkWriter {
            sink: self.clone(),
            instance: ctx.instance,
            producer: None,
            partitions: HashMap::new(),
            next: ctx.instance,
            acks: Vec::new(),
            acks_check_at: ACKS_CHECKED_AT,
            txn: Transactions::default(),
        }
    }
}

impl KafkaSink<String> {
    /// A sink of UTF-8 strings as record values, without keys.
    pub fn strings(client: Client, topic: &str) -> Self {
        Self::new(client, topic, |topic, s: String| ProducerRecord::new(topic, s))
    }
}

/// The writer of one sink instance.
pub struct KafkaSinkWriter<T> {
    sink: KafkaSink<T>,
    instance: usize,
    producer: Option<Producer>,
    partitions: HashMap<String, Vec<i32>>,
    next: usize,
    acks: Vec<(String, i32, DeliveryFuture)>,
    /// The length of `acks` at which the finished ones are next dropped: doubles with what
    /// stays pending, so the checks cost O(1) per record however many are in flight.
    acks_check_at: usize,
    txn: Transactions,
}

/// One transactional producer of the pool.
struct Txn {
    slot: usize,
    producer: Producer,
}

/// The exactly-once writer's transactions.
#[derive(Default)]
struct Transactions {
    /// Fenced every slot (at the first write or at a restore).
    started: bool,
    /// The transaction records go to now.
    open: Option<Txn>,
    /// Transactions pre-committed at a checkpoint, waiting for it to complete.
    prepared: BTreeMap<u64, Txn>,
    /// Producers with no open transaction, ready for the next.
    idle: Vec<Txn>,
}

/// A transaction pre-committed at a checkpoint, as the checkpoint records it (the exactly-once
/// writer's state).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreparedTransaction {
    /// The checkpoint whose barrier pre-committed it.
    pub checkpoint: u64,
    /// Its transactional id.
    pub transactional_id: String,
    /// The producer id that wrote it.
    pub producer_id: i64,
    /// The producer epoch that wrote it.
    pub epoch: i16,
}

impl PreparedTransaction {
    /// Reads an exactly-once writer's state from a checkpoint (empty state: none).
    pub fn decode_list(state: &[u8]) -> Result<Vec<Self>, DecodeError> {
        if state.is_empty() {
            return Ok(Vec::new());
        }
        decode_prepared(state)
    }

    /// The state [`Self::decode_list`] reads.
    pub fn encode_list(list: &[Self]) -> Vec<u8> {
        encode_prepared(list)
    }

    /// A record of transaction `transactional_id`, written by `producer_id` at `epoch`, that
    /// checkpoint `checkpoint` pre-committed.
    pub fn new(checkpoint: u64, transactional_id: &str, producer_id: i64, epoch: i16) -> Self {
        Self {
            checkpoint,
            transactional_id: transactional_id.to_owned(),
            producer_id,
            epoch,
        }
    }
}

/// The transactional ids of sink instance `instance`: `{prefix}-{instance}-{slot}` for each slot
/// of a pool of `pool`.
pub fn transactional_ids(prefix: &str, instance: usize, pool: usize) -> Vec<String> {
    (0..pool)
        .map(|slot| transactional_id(prefix, instance, slot))
        .collect()
}

fn transactional_id(prefix: &str, instance: usize, slot: usize) -> String {
    format!("{prefix}-{instance}-{slot}")
}

/// Commits transactions a checkpoint pre-committed, with the producer id and epoch it recorded.
/// One that was already completed (a later epoch exists, or nothing is open) is logged and
/// skipped: it committed before the failure. Call before fencing the ids (which would abort them).
pub async fn commit_prepared(client: &Client, prepared: &[PreparedTransaction]) -> Result<(), Error> {
    for t in prepared {
        match client
            .end_transaction(&t.transactional_id, t.producer_id, t.epoch, true)
            .await
        {
            Ok(()) => {
                info!(id = %t.transactional_id, checkpoint = t.checkpoint, "recovered transaction committed")
            }
            Err(Error::Broker { code, .. })
                if code == ErrorCode::INVALID_TXN_STATE
                    || code == ErrorCode::PRODUCER_FENCED
                    || code == ErrorCode::INVALID_PRODUCER_EPOCH =>
            {
                warn!(id = %t.transactional_id, checkpoint = t.checkpoint, %code, "recovered transaction already completed");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Fences transactional id `id` (InitProducerId bumps its epoch, which aborts its open
/// transaction), returning the producer, ready for a new transaction.
pub async fn fence(
    client: &Client,
    id: &str,
    configure: impl FnOnce(ProducerBuilder) -> ProducerBuilder,
) -> Result<Producer, Error> {
    let producer = configure(client.producer()).transactional_id(id).build().await?;
    producer.init_transactions().await?;
    Ok(producer)
}

type PreparedTxn = PreparedTransaction;

fn encode_prepared(list: &[PreparedTxn]) -> Vec<u8> {
    let mut e = Encoder::new();
    e.u32(list.len() as u32);
    for t in list {
        e.i64(t.checkpoint as i64);
        e.u32(t.transactional_id.len() as u32);
        e.raw(t.transactional_id.as_bytes());
        e.i64(t.producer_id);
        e.i16(t.epoch);
    }
    e.into_inner().to_vec()
}

fn decode_prepared(bytes: &[u8]) -> Result<Vec<PreparedTxn>, DecodeError> {
    let mut d = Decoder::new(Bytes::copy_from_slice(bytes));
    let count = d.u32()? as usize;
    let mut list = Vec::with_capacity(d.capacity_for(count, 22));
    for _ in 0..count {
        let checkpoint = d.i64()? as u64;
        let len = d.u32()? as usize;
        list.push(PreparedTxn {
            checkpoint,
            transactional_id: d.utf8(len)?,
            producer_id: d.i64()?,
            epoch: d.i16()?,
        });
    }
    d.finish()?;
    Ok(list)
}

/// Acknowledgements kept before the finished ones are checked (bounds the list between
/// checkpoints; the producer's queue bounds what is in flight).
const ACKS_CHECKED_AT: usize = 4096;

impl<T: Send + 'static> KafkaSinkWriter<T> {
    fn transactional_id(&self, slot: usize) -> String {
        transactional_id(
            self.sink.prefix.as_deref().unwrap_or_default(),
            self.instance,
            slot,
        )
    }

    /// At the first write or a restore: fences every slot of the pool (a bounded, logged search
    /// for transactions a failed run left open), keeping the producers for reuse.
    async fn start_transactions(&mut self) -> Result<(), JobError> {
        if self.sink.prefix.is_none() {
            return Err(JobError::Config(
                "exactly-once needs a transactional id prefix".into(),
            ));
        }
        if self.txn.started {
            return Ok(());
        }
        // A broker without transactions cannot commit: say so once, as a configuration error,
        // rather than failing every checkpoint through the restarts.
        let broker = self.sink.client.any_broker().await?;
        if broker.broker_versions(ApiKey::EndTxn).is_none() {
            return Err(JobError::Config(format!(
                "exactly-once needs Kafka transactions, and broker {} offers no EndTxn",
                broker.addr()
            )));
        }
        let prefix = self.sink.prefix.as_deref().unwrap_or_default();
        for (slot, id) in transactional_ids(prefix, self.instance, self.sink.pool)
            .iter()
            .enumerate()
        {
            let producer = fence(&self.sink.client, id, |b| (self.sink.configure)(b)).await?;
            self.txn.idle.push(Txn { slot, producer });
        }
        info!(
            prefix = self.sink.prefix.as_deref().unwrap_or_default(),
            instance = self.instance,
            ids = self.sink.pool,
            "transactional ids fenced; their open transactions are aborted"
        );
        self.txn.started = true;
        Ok(())
    }

    /// The producer of the open transaction, beginning one if none is open.
    async fn open_transaction(&mut self) -> Result<&Producer, JobError> {
        self.start_transactions().await?;
        if self.txn.open.is_none() {
            let Some(txn) = self.txn.idle.pop() else {
                return Err(JobError::Operator(format!(
                    "all {} transactional ids of instance {} wait for checkpoints to complete",
                    self.sink.pool, self.instance
                )));
            };
            txn.producer.begin_transaction().await?;
            self.txn.open = Some(txn);
        }
        Ok(&self.txn.open.as_ref().expect("just opened").producer)
    }

    async fn producer(&mut self) -> Result<&Producer, Error> {
        if self.producer.is_none() {
            let builder = (self.sink.configure)(self.sink.client.producer());
            self.producer = Some(builder.build().await?);
        }
        Ok(self.producer.as_ref().expect("just built"))
    }

    async fn partitions(&mut self, topic: &str) -> Result<Vec<i32>, Error> {
        if let Some(p) = self.partitions.get(topic) {
            return Ok(p.clone());
        }
        let meta = self.sink.client.topic(topic).await?;
        let mut ids: Vec<i32> = meta.partitions.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        if ids.is_empty() {
            return Err(Error::NoLeader {
                topic: topic.to_owned(),
                partition: -1,
            });
        }
        self.partitions.insert(topic.to_owned(), ids.clone());
        Ok(ids)
    }

    fn choose(&mut self, record: &ProducerRecord, partitions: &[i32]) -> i32 {
        let n = partitions.len();
        let mut round_robin = || {
            let p = partitions[self.next % n];
            self.next = self.next.wrapping_add(1);
            p
        };
        match &self.sink.partitioner {
            Partitioner::Fixed => partitions[self.instance % n],
            Partitioner::RoundRobin => round_robin(),
            Partitioner::KeyHash => match &record.key {
                Some(k) => partition_for_key(k, i32::try_from(n).unwrap_or(i32::MAX)),
                None => round_robin(),
            },
            Partitioner::Custom(f) => f(record, self.instance, partitions),
        }
    }

    /// Waits for every acknowledgement: the first failure, with its topic and partition.
    async fn await_acks(&mut self) -> Result<(), JobError> {
        self.acks_check_at = ACKS_CHECKED_AT;
        for (topic, partition, ack) in self.acks.drain(..) {
            ack.await.map_err(|_| {
                JobError::Operator(format!(
                    "the producer stopped before acknowledging a record for {topic}/{partition}"
                ))
            })??;
        }
        Ok(())
    }

    /// Drops the acknowledgements already received, failing on the first error.
    fn check_finished_acks(&mut self) -> Result<(), JobError> {
        let mut failure = None;
        self.acks.retain_mut(|(_, _, ack)| match ack.try_recv() {
            Ok(Ok(_)) => false,
            Ok(Err(e)) => {
                failure.get_or_insert(JobError::from(e));
                false
            }
            Err(tokio::sync::oneshot::error::TryRecvError::Empty) => true,
            Err(tokio::sync::oneshot::error::TryRecvError::Closed) => {
                failure.get_or_insert(JobError::Operator("the producer stopped".into()));
                false
            }
        });
        failure.map_or(Ok(()), Err)
    }

    async fn flush(&mut self) -> Result<(), JobError> {
        if let Some(p) = &self.producer {
            p.flush().await?;
        }
        self.await_acks().await
    }
}

impl<T: Send + 'static> Sink<T> for KafkaSinkWriter<T> {
    async fn write(&mut self, item: T) -> Result<(), JobError> {
        let mut record = (self.sink.serializer)(&self.sink.topic, item);
        if record.partition.is_none() {
            let partitions = self.partitions(&record.topic).await?;
            record.partition = Some(self.choose(&record, &partitions));
        }
        let (topic, partition) = (record.topic.clone(), record.partition.unwrap_or(-1));
        let producer = match self.sink.guarantee {
            DeliveryGuarantee::ExactlyOnce => self.open_transaction().await?,
            _ => self.producer().await?,
        };
        let ack = producer.send(record).await?;
        if self.sink.guarantee != DeliveryGuarantee::None {
            self.acks.push((topic, partition, ack));
            if self.acks.len() >= self.acks_check_at {
                self.check_finished_acks()?;
                self.acks_check_at = (self.acks.len() * 2).max(ACKS_CHECKED_AT);
            }
        }
        Ok(())
    }

    async fn prepare_checkpoint(&mut self, checkpoint_id: u64) -> Result<Vec<u8>, JobError> {
        match self.sink.guarantee {
            DeliveryGuarantee::None => Ok(Vec::new()),
            DeliveryGuarantee::AtLeastOnce => {
                self.flush().await?;
                Ok(Vec::new())
            }
            DeliveryGuarantee::ExactlyOnce => {
                // Pre-commit: every record of the open transaction acknowledged; the transaction
                // waits for the checkpoint to complete, and the checkpoint records it.
                if let Some(txn) = self.txn.open.take() {
                    let flushed = txn.producer.flush().await;
                    self.txn.prepared.insert(checkpoint_id, txn);
                    flushed?;
                    self.await_acks().await?;
                }
                let list: Vec<PreparedTransaction> = self
                    .txn
                    .prepared
                    .iter()
                    .map(|(checkpoint, t)| {
                        let (producer_id, epoch) = t.producer.producer_id_and_epoch();
                        PreparedTransaction {
                            checkpoint: *checkpoint,
                            transactional_id: self.transactional_id(t.slot),
                            producer_id,
                            epoch,
                        }
                    })
                    .collect();
                Ok(encode_prepared(&list))
            }
        }
    }

    async fn checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), JobError> {
        // Completing a checkpoint completes every older one it subsumes.
        let later = self.txn.prepared.split_off(&(checkpoint_id + 1));
        let done = std::mem::replace(&mut self.txn.prepared, later);
        for (checkpoint, txn) in done {
            txn.producer.commit_transaction().await?;
            debug!(
                checkpoint,
                slot = txn.slot,
                instance = self.instance,
                "transaction committed"
            );
            self.txn.idle.push(txn);
        }
        Ok(())
    }

    async fn restore(&mut self, state: Option<Vec<u8>>) -> Result<(), JobError> {
        if self.sink.guarantee != DeliveryGuarantee::ExactlyOnce {
            return Ok(());
        }
        let list = match state.as_deref() {
            None | Some([]) => Vec::new(),
            Some(bytes) => PreparedTransaction::decode_list(bytes)
                .map_err(|e| JobError::Config(format!("sink state in the checkpoint is damaged: {e}")))?,
        };
        // First commit what the checkpoint pre-committed (with the recorded producer id and
        // epoch); only then fence the pool, which aborts anything else left open.
        commit_prepared(&self.sink.client, &list).await?;
        self.start_transactions().await
    }

    async fn finish(&mut self) -> Result<(), JobError> {
        if let Some(txn) = self.txn.open.take() {
            // Outputs after the final checkpoint (operators' final results): commit them now.
            txn.producer.commit_transaction().await?;
            self.txn.idle.push(txn);
        }
        self.flush().await?;
        let txns = self
            .txn
            .idle
            .drain(..)
            .chain(std::mem::take(&mut self.txn.prepared).into_values());
        for p in self.producer.take().into_iter().chain(txns.map(|t| t.producer)) {
            p.close().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_transactions_read_back_and_damage_is_an_error() {
        let list = vec![
            PreparedTxn {
                checkpoint: 7,
                transactional_id: "job-0-1".into(),
                producer_id: 4001,
                epoch: 3,
            },
            PreparedTxn {
                checkpoint: 8,
                transactional_id: "jöb-2-0".into(),
                producer_id: -1,
                epoch: i16::MAX,
            },
        ];
        let bytes = encode_prepared(&list);
        assert_eq!(decode_prepared(&bytes).unwrap(), list);
        assert_eq!(decode_prepared(&encode_prepared(&[])).unwrap(), vec![]);
        for cut in 0..bytes.len() {
            assert!(decode_prepared(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = bytes.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_prepared(&huge).is_err());
    }
}
