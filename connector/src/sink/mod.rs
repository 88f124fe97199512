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
//! A restore must know whether each recorded transaction committed: one whose coordinator
//! aborted it (its timeout passed between the pre-commit and the commit) lost its records while
//! the checkpoint's source offsets are past them, so the restore fails with
//! [`RecoveryError::Aborted`] naming the transactional id and the checkpoint instead of going on.
//! The outcome comes from the coordinator (DescribeTransactions) when its answer is about that
//! transaction, else from the transaction markers in the partitions it wrote, whose first
//! offsets the checkpoint records. The transaction timeout is therefore sized well above the
//! checkpoint interval and a restart: see [`KafkaSink::transaction_timeout`].
//!
//! References: Flink's KafkaSink and `FlinkFixedPartitioner`; the Java client's
//! `BuiltInPartitioner.partitionForKey`; KIP-98 (transactions), KIP-664 (describing
//! transactions), KIP-890 (transactions v2).

use crate::client::{BrokerError, ClientError, ProtocolError};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kwire_protocol::messages::ApiKey;
use kwire_protocol::primitives::{Decoder, Encoder};
use kwire_protocol::{DecodeError, DecodeErrorKind, ErrorCode};
use tracing::{debug, info, warn};

use crate::client::partitioner::partition_for_key;
use crate::client::{
    raw::FetchOptions, Client, DeliveryFuture, Error, IsolationLevel, Producer, ProducerBuilder,
    ProducerRecord, RecordMetadata, TransactionState,
};
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
    pub(crate) guarantee: DeliveryGuarantee,
    configure: Configure,
    prefix: Option<String>,
    pub(crate) pool: usize,
    transaction_timeout: Duration,
}

/// The default transaction timeout of the exactly-once sink: Kafka's default
/// `transaction.max.timeout.ms`, the longest a broker accepts unless raised.
pub const DEFAULT_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// What a transaction must outlive besides checkpoint intervals: a failure, the restart delay and
/// the restore that commits it.
const RESTART_ALLOWANCE: Duration = Duration::from_secs(60);

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
            transaction_timeout: self.transaction_timeout,
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
            transaction_timeout: DEFAULT_TRANSACTION_TIMEOUT,
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

    /// Exactly-once: the transaction timeout (default [`DEFAULT_TRANSACTION_TIMEOUT`], 15 min).
    ///
    /// A transaction opens after one checkpoint barrier, is pre-committed at the next and commits
    /// when that checkpoint completes; after a failure the restore commits it. If the timeout
    /// passes first, the coordinator aborts it and its records are lost (the restore then fails
    /// with [`RecoveryError::Aborted`]). So, as Flink advises, the timeout should be well above the
    /// checkpoint interval plus the time a restart takes: the writer warns when it is below twice
    /// the job's checkpoint interval plus a minute. The broker refuses a timeout above its
    /// `transaction.max.timeout.ms` (15 min unless raised); a long timeout costs little here,
    /// because a restore fences the ids at once rather than waiting for the timeout. A timeout
    /// set through [`Self::producer`] overrides this one and is not checked.
    pub fn transaction_timeout(mut self, timeout: Duration) -> Self {
        self.transaction_timeout = timeout;
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
        if self.guarantee == DeliveryGuarantee::ExactlyOnce && ctx.instance == 0 {
            self.check_transaction_timeout(ctx.checkpoint_interval);
        }
        KafkaSinkWriter {
            sink: self.clone(),
            instance: ctx.instance,
            producer: None,
            partitions: HashMap::new(),
            next: ctx.instance,
            acks: Vec::new(),
            acks_check_at: ACKS_CHECKED_AT,
            written: Written::new(),
            txn: Transactions::default(),
        }
    }
}

impl<T> KafkaSink<T> {
    /// Warns when the transaction timeout cannot hold a transaction through a checkpoint interval
    /// and a restart (its records would be lost), or when brokers with default settings refuse it.
    fn check_transaction_timeout(&self, interval: Option<Duration>) {
        let timeout = self.transaction_timeout;
        match interval {
            Some(interval) => {
                let needed = interval.saturating_mul(2).saturating_add(RESTART_ALLOWANCE);
                if timeout < needed {
                    warn!(
                        ?timeout,
                        checkpoint_interval = ?interval,
                        ?needed,
                        "exactly-once sink: the transaction timeout is below twice the checkpoint interval \
                         plus a minute for a restart; a transaction may be aborted by its coordinator \
                         before its checkpoint commits it, and a restore would then fail"
                    );
                }
            }
            None => warn!(
                ?timeout,
                "exactly-once sink in a job without a checkpoint interval: one transaction holds \
                 everything written until the final checkpoint, and is aborted if that takes \
                 longer than the transaction timeout"
            ),
        }
        if timeout > DEFAULT_TRANSACTION_TIMEOUT {
            warn!(
                ?timeout,
                "exactly-once sink: the transaction timeout is above Kafka's default \
                 transaction.max.timeout.ms (15 min); brokers that keep the default refuse it"
            );
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
    /// What the acknowledged records of the open transaction wrote (exactly-once).
    written: Written,
    txn: Transactions,
}

/// One transactional producer of the pool.
struct Txn {
    slot: usize,
    producer: Producer,
    /// The first offset its pre-committed transaction wrote in each partition.
    written: Written,
}

/// The first offset written per topic and partition, from the acknowledgements.
type Written = BTreeMap<String, BTreeMap<i32, i64>>;

fn note_written(written: &mut Written, m: &RecordMetadata) {
    if m.offset < 0 {
        return;
    }
    let partitions = match written.get_mut(m.topic.as_str()) {
        Some(p) => p,
        None => written.entry(m.topic.clone()).or_default(),
    };
    let first = partitions.entry(m.partition).or_insert(m.offset);
    *first = (*first).min(m.offset);
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
    /// The partitions it wrote, each with the first offset it wrote there: where its commit or
    /// abort marker is looked for when the coordinator no longer knows its outcome.
    pub partitions: Vec<(String, i32, i64)>,
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
            partitions: Vec::new(),
        }
    }

    /// The same transaction, having written `topic`-`partition` from offset `first_offset`.
    pub fn wrote(mut self, topic: &str, partition: i32, first_offset: i64) -> Self {
        self.partitions.push((topic.to_owned(), partition, first_offset));
        self
    }
}

/// Why a restore could not recover the transactions its checkpoint pre-committed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RecoveryError {
    /// The transaction was aborted, not committed (typically its coordinator aborted it when its
    /// timeout passed between the pre-commit and the commit): its records are not in the topic,
    /// while the checkpoint's source offsets are past them. Restoring from this checkpoint would
    /// lose them, so the job stops; reprocess from earlier source offsets to recover them.
    #[error(
        "transaction {transactional_id} pre-committed at checkpoint {checkpoint} was aborted \
         ({evidence}): its records are lost, so the job cannot resume from checkpoint {checkpoint}"
    )]
    Aborted {
        /// The transactional id.
        transactional_id: String,
        /// The checkpoint that pre-committed it.
        checkpoint: u64,
        /// What showed the abort.
        evidence: Evidence,
    },
    /// Neither the coordinator nor the partitions it wrote tell how the transaction ended (the
    /// log was deleted by retention, the checkpoint predates the partitions being recorded, or
    /// the markers are not written yet).
    #[error(
        "transaction {transactional_id} pre-committed at checkpoint {checkpoint}: its outcome \
         cannot be told: {reason}"
    )]
    Unknown {
        /// The transactional id.
        transactional_id: String,
        /// The checkpoint that pre-committed it.
        checkpoint: u64,
        /// What was looked at.
        reason: String,
    },
    /// The client failed while finding out.
    #[error(transparent)]
    Client(#[from] Error),
}

/// What shows how a pre-committed transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Evidence {
    /// The coordinator's DescribeTransactions answer.
    Coordinator {
        /// The state it gave.
        state: TransactionState,
        /// The producer epoch it gave.
        producer_epoch: i16,
    },
    /// A transaction marker in a partition the transaction wrote.
    Marker {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The marker's offset.
        offset: i64,
    },
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Coordinator {
                state,
                producer_epoch,
            } => {
                write!(
                    f,
                    "its coordinator reports {state:?} at producer epoch {producer_epoch}"
                )
            }
            Self::Marker {
                topic,
                partition,
                offset,
            } => write!(f, "marker at {topic}/{partition} offset {offset}"),
        }
    }
}

/// How a pre-committed transaction ended.
enum Outcome {
    Committed(Evidence),
    Aborted(Evidence),
    Unknown(String),
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
/// When the coordinator refuses (the transaction already ended), finds out how it ended: a
/// committed one is logged and skipped (it committed before the failure); an aborted one is
/// [`RecoveryError::Aborted`], and one whose end cannot be told is [`RecoveryError::Unknown`].
/// Call before fencing the ids (which would abort them).
pub async fn commit_prepared(client: &Client, prepared: &[PreparedTransaction]) -> Result<(), RecoveryError> {
    for t in prepared {
        match client
            .end_transaction(&t.transactional_id, t.producer_id, t.epoch, true)
            .await
        {
            Ok(()) => {
                info!(id = %t.transactional_id, checkpoint = t.checkpoint, "recovered transaction committed");
                continue;
            }
            Err(Error::Broker(BrokerError { code, .. }))
                if code == ErrorCode::INVALID_TXN_STATE
                    || code == ErrorCode::PRODUCER_FENCED
                    || code == ErrorCode::INVALID_PRODUCER_EPOCH
                    || code == ErrorCode::INVALID_PRODUCER_ID_MAPPING =>
            {
                debug!(id = %t.transactional_id, checkpoint = t.checkpoint, %code, "recovered transaction already ended");
            }
            Err(e) => return Err(e.into()),
        }
        match outcome(client, t).await? {
            Outcome::Committed(evidence) => {
                info!(id = %t.transactional_id, checkpoint = t.checkpoint, %evidence, "recovered transaction had committed");
            }
            Outcome::Aborted(evidence) => {
                return Err(RecoveryError::Aborted {
                    transactional_id: t.transactional_id.clone(),
                    checkpoint: t.checkpoint,
                    evidence,
                })
            }
            Outcome::Unknown(reason) => {
                return Err(RecoveryError::Unknown {
                    transactional_id: t.transactional_id.clone(),
                    checkpoint: t.checkpoint,
                    reason,
                })
            }
        }
    }
    Ok(())
}

/// How transaction `t`, which its coordinator no longer lets commit, ended.
///
/// The coordinator's state is about `t` only at `t`'s epoch: the producer bumps the epoch before
/// each next transaction of the id, and the coordinator bumps it when it aborts a timed-out or
/// fenced transaction and (transactions v2, KIP-890) at every commit or abort. So one epoch
/// later the state may be `t`'s end or a next transaction's; there the markers `t` left in its
/// partitions decide, and only a checkpoint without partitions (an older format) falls back to
/// reading the coordinator's state one epoch later.
async fn outcome(client: &Client, t: &PreparedTransaction) -> Result<Outcome, Error> {
    let described = match client.describe_transaction(&t.transactional_id).await {
        Ok(d) => d,
        // A broker without DescribeTransactions (before Kafka 3.0): the markers tell.
        Err(Error::Protocol(ProtocolError::UnsupportedVersion { .. })) => None,
        Err(e) => return Err(e),
    };
    let coordinator = described.filter(|d| d.producer_id == t.producer_id).map(|d| {
        let ahead = i32::from(d.producer_epoch) - i32::from(t.epoch);
        let evidence = Evidence::Coordinator {
            state: d.state.clone(),
            producer_epoch: d.producer_epoch,
        };
        (ahead, d.state, evidence)
    });
    use TransactionState as S;
    if let Some((0, state, evidence)) = &coordinator {
        match state {
            S::PrepareCommit | S::CompleteCommit => return Ok(Outcome::Committed(evidence.clone())),
            S::PrepareAbort | S::CompleteAbort | S::PrepareEpochFence => {
                return Ok(Outcome::Aborted(evidence.clone()))
            }
            _ => {}
        }
    }
    if !t.partitions.is_empty() {
        return markers(client, t).await;
    }
    Ok(match coordinator {
        // One epoch on, without partitions to look at: a commit (or a next transaction under
        // way, which the producer begins only after this one committed; after an abort it needs
        // a new epoch first) or an abort, most likely this one's.
        Some((1, S::PrepareCommit | S::CompleteCommit | S::Ongoing | S::Empty, evidence)) => {
            Outcome::Committed(evidence)
        }
        Some((1, S::PrepareAbort | S::CompleteAbort, evidence)) => Outcome::Aborted(evidence),
        Some((_, state, _)) => Outcome::Unknown(format!(
            "the checkpoint records no partitions and the coordinator reports {state:?} at a later epoch"
        )),
        None => Outcome::Unknown(
            "the checkpoint records no partitions and the coordinator reports another producer".into(),
        ),
    })
}

/// The most bytes the restore reads in one partition looking for a transaction's marker.
const MARKER_SCAN_LIMIT: usize = 256 << 20;

/// Reads the partitions `t` wrote from the first offset it wrote there for the first marker of
/// its producer: the first commit or abort after `t`'s records is `t`'s. Each partition is read
/// up to its high watermark at the first read, and at most [`MARKER_SCAN_LIMIT`] bytes.
async fn markers(client: &Client, t: &PreparedTransaction) -> Result<Outcome, Error> {
    let options = FetchOptions {
        isolation: IsolationLevel::ReadUncommitted,
        max_wait: Duration::from_millis(10),
        ..FetchOptions::default()
    };
    let mut why = Vec::new();
    for (topic, partition, first) in &t.partitions {
        let mut offset = *first;
        let mut end: Option<i64> = None;
        let mut scanned = 0usize;
        loop {
            let got = match client.fetch_one(topic, *partition, offset, &options).await {
                Ok(got) => got,
                Err(Error::Broker(BrokerError {
                    code: ErrorCode::OFFSET_OUT_OF_RANGE,
                    ..
                })) => {
                    why.push(format!("{topic}/{partition} no longer holds offset {offset}"));
                    break;
                }
                Err(e) => return Err(e),
            };
            let marker = got
                .markers
                .iter()
                .find(|m| m.producer_id == t.producer_id && m.producer_epoch >= t.epoch);
            if let Some(m) = marker {
                let evidence = Evidence::Marker {
                    topic: topic.clone(),
                    partition: *partition,
                    offset: m.offset,
                };
                return Ok(if m.commit {
                    Outcome::Committed(evidence)
                } else {
                    Outcome::Aborted(evidence)
                });
            }
            let end = *end.get_or_insert(got.high_watermark);
            scanned = scanned.saturating_add(got.bytes);
            if got.next_offset <= offset || got.next_offset >= end {
                why.push(format!(
                    "{topic}/{partition} has no marker of producer {} between offsets {first} and {end}",
                    t.producer_id
                ));
                break;
            }
            if scanned >= MARKER_SCAN_LIMIT {
                why.push(format!(
                    "{topic}/{partition} has no marker of producer {} in the {scanned} bytes from offset \
                     {first} to {}",
                    t.producer_id, got.next_offset
                ));
                break;
            }
            offset = got.next_offset;
        }
    }
    Ok(Outcome::Unknown(why.join("; ")))
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

/// The exactly-once writer's state format: magic, version, the transactions, CRC-32C of all
/// before it. Version 1 records the partitions each transaction wrote. The first format had no
/// header (a u32 count first; the magic read as a count could never decode) and is still read.
const STATE_MAGIC: &[u8; 4] = b"KWTX";
const STATE_VERSION: u8 = 1;

fn encode_prepared(list: &[PreparedTxn]) -> Vec<u8> {
    let mut e = Encoder::new();
    e.raw(STATE_MAGIC);
    e.i8(STATE_VERSION as i8);
    e.u32(list.len() as u32);
    for t in list {
        e.i64(t.checkpoint as i64);
        e.u32(t.transactional_id.len() as u32);
        e.raw(t.transactional_id.as_bytes());
        e.i64(t.producer_id);
        e.i16(t.epoch);
        e.u32(t.partitions.len() as u32);
        for (topic, partition, first) in &t.partitions {
            e.u32(topic.len() as u32);
            e.raw(topic.as_bytes());
            e.i32(*partition);
            e.i64(*first);
        }
    }
    let crc = crc32c::crc32c(&e.buf_mut()[..]);
    e.u32(crc);
    e.into_inner().to_vec()
}

fn decode_prepared(bytes: &[u8]) -> Result<Vec<PreparedTxn>, DecodeError> {
    if !bytes.starts_with(STATE_MAGIC) {
        return decode_prepared_v0(bytes);
    }
    let invalid = |why| DecodeError::new(DecodeErrorKind::Invalid(why), 0);
    let (body, crc) = bytes
        .split_at_checked(bytes.len().saturating_sub(4))
        .filter(|(body, _)| body.len() > STATE_MAGIC.len())
        .ok_or_else(|| invalid("sink state shorter than its header"))?;
    let actual = crc32c::crc32c(body);
    if actual.to_be_bytes() != crc {
        let expected = u32::from_be_bytes(crc.try_into().unwrap_or_default());
        return Err(DecodeError::new(
            DecodeErrorKind::CrcMismatch { expected, actual },
            body.len(),
        ));
    }
    let mut d = Decoder::new(Bytes::copy_from_slice(&body[STATE_MAGIC.len()..]));
    if d.i8()? != STATE_VERSION as i8 {
        return Err(invalid("sink state of an unknown version"));
    }
    let count = d.u32()? as usize;
    let mut list = Vec::with_capacity(d.capacity_for(count, 26));
    for _ in 0..count {
        let checkpoint = d.i64()? as u64;
        let len = d.u32()? as usize;
        let transactional_id = d.utf8(len)?;
        let producer_id = d.i64()?;
        let epoch = d.i16()?;
        let n = d.u32()? as usize;
        let mut partitions = Vec::with_capacity(d.capacity_for(n, 16));
        for _ in 0..n {
            let len = d.u32()? as usize;
            partitions.push((d.utf8(len)?, d.i32()?, d.i64()?));
        }
        list.push(PreparedTxn {
            checkpoint,
            transactional_id,
            producer_id,
            epoch,
            partitions,
        });
    }
    d.finish()?;
    Ok(list)
}

/// The first format: no header, no partitions.
fn decode_prepared_v0(bytes: &[u8]) -> Result<Vec<PreparedTxn>, DecodeError> {
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
            partitions: Vec::new(),
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
            let timeout = self.sink.transaction_timeout;
            let producer = fence(&self.sink.client, id, |b| {
                (self.sink.configure)(b.transaction_timeout(timeout))
            })
            .await?;
            self.txn.idle.push(Txn {
                slot,
                producer,
                written: Written::new(),
            });
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
            return Err(Error::Client(ClientError::NoLeader {
                topic: topic.to_owned(),
                partition: -1,
            }));
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
            let meta = ack.await.map_err(|_| {
                JobError::Operator(format!(
                    "the producer stopped before acknowledging a record for {topic}/{partition}"
                ))
            })??;
            note_written(&mut self.written, &meta);
        }
        Ok(())
    }

    /// Drops the acknowledgements already received, failing on the first error.
    fn check_finished_acks(&mut self) -> Result<(), JobError> {
        let mut failure = None;
        let written = &mut self.written;
        self.acks.retain_mut(|(_, _, ack)| match ack.try_recv() {
            Ok(Ok(meta)) => {
                note_written(written, &meta);
                false
            }
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
                    if let Some(txn) = self.txn.prepared.get_mut(&checkpoint_id) {
                        txn.written = std::mem::take(&mut self.written);
                    }
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
                            partitions: t
                                .written
                                .iter()
                                .flat_map(|(topic, ps)| {
                                    ps.iter().map(|(p, first)| (topic.clone(), *p, *first))
                                })
                                .collect(),
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
            // Outputs after the final checkpoint: commit them, but only once every record is
            // acknowledged; a refused one aborts the transaction instead of leaving it out of a
            // committed one.
            let acked = match txn.producer.flush().await {
                Ok(()) => self.await_acks().await,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = acked {
                if let Err(abort) = txn.producer.abort_transaction().await {
                    warn!(error = %abort, instance = self.instance, "aborting the final transaction failed");
                }
                return Err(e);
            }
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
            PreparedTxn::new(7, "job-0-1", 4001, 3)
                .wrote("out", 0, 12)
                .wrote("other", 5, 0),
            PreparedTxn::new(8, "jöb-2-0", -1, i16::MAX),
        ];
        let bytes = encode_prepared(&list);
        assert!(bytes.starts_with(STATE_MAGIC));
        assert_eq!(decode_prepared(&bytes).unwrap(), list);
        assert_eq!(decode_prepared(&encode_prepared(&[])).unwrap(), vec![]);
        for cut in 0..bytes.len() {
            assert!(decode_prepared(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(decode_prepared(&bad).is_err(), "flip at {i}");
        }
    }

    #[test]
    fn state_of_the_first_format_still_reads_without_partitions() {
        let mut e = Encoder::new();
        e.u32(1);
        e.i64(7);
        e.u32(7);
        e.raw(b"job-0-1");
        e.i64(4001);
        e.i16(3);
        let v0 = e.into_inner().to_vec();
        assert_eq!(
            PreparedTransaction::decode_list(&v0).unwrap(),
            vec![PreparedTxn::new(7, "job-0-1", 4001, 3)]
        );
        let mut huge = v0.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_prepared(&huge).is_err());
    }
}
