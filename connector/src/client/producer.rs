//! The producer: per-partition batching with linger, acks 0/1/all, compression, idempotence
//! (sequence numbers, retries that neither duplicate nor reorder) and transactions.
//!
//! Records go into a per-partition queue; a sender task seals a partition's batch when it is full,
//! when its first record has waited `linger`, or on flush, and sends each leader one Produce
//! request for the partitions it leads. One batch per partition is in flight at a time, and a
//! batch that must be retried goes back to the front of its queue with its sequence number, so the
//! order within a partition holds across retries and the broker drops a duplicate.
//!
//! After a transactional request whose outcome is unknown (a timeout or a lost connection on
//! Produce or EndTxn), the producer fences itself: the next transaction starts with InitProducerId
//! carrying the old producer id and epoch, which bumps the epoch and aborts whatever was open.
//!
//! A record that fails for good inside a transaction leaves the transaction able only to abort,
//! as the Java client's abortable error state does: committing the rest would commit a
//! transaction without that record. A fenced producer (a newer instance has its transactional id)
//! cannot go on at all.
//!
//! The sender task holds no handle to the producer: when the last handle is dropped it fails what
//! is still queued and ends, so a dropped producer never sends behind its owner's back.
//!
//! References: KIP-98 (idempotence and transactions), KIP-360 (epoch bump on InitProducerId),
//! KIP-679 (acks=all and idempotence by default), KIP-890 (transaction verification).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kwire_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kwire_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kwire_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kwire_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, EndTxnRequest, InitProducerIdRequest, ProduceRequest,
    ProduceResponse, TxnOffsetCommitRequest,
};
use kwire_protocol::records::{Compression, Header, RecordBatchBuilder};
use kwire_protocol::ErrorCode;
use tokio::sync::{oneshot, Notify, OwnedSemaphorePermit, Semaphore};
use tracing::{debug, warn};

use super::admin::TRANSACTION_KEY;
use super::partitioner::partition_for_key;
use super::{Client, Connection, Error};

/// How many replicas must have a record before the leader answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Acks {
    /// No answer at all (fire and forget).
    None,
    /// The leader alone.
    Leader,
    /// Every in-sync replica (the default).
    #[default]
    All,
}

impl Acks {
    fn wire(self) -> i16 {
        match self {
            Self::None => 0,
            Self::Leader => 1,
            Self::All => -1,
        }
    }
}

/// A record to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerRecord {
    /// The topic.
    pub topic: String,
    /// The partition; `None`: by key hash (as the Java client), or round-robin for null keys.
    pub partition: Option<i32>,
    /// The key.
    pub key: Option<Bytes>,
    /// The value.
    pub value: Option<Bytes>,
    /// Headers.
    pub headers: Vec<Header>,
    /// The timestamp in ms since the epoch; `None`: now.
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    /// A record with a value only.
    pub fn new(topic: &str, value: impl Into<Bytes>) -> Self {
        Self {
            topic: topic.to_owned(),
            value: Some(value.into()),
            ..Self::default()
        }
    }

    /// Sets the key.
    pub fn key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the partition.
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }
}

/// Where a record was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The record's offset; -1 with acks=0 (the broker says nothing).
    pub offset: i64,
    /// The record's timestamp.
    pub timestamp: i64,
}

/// Settings of a [`Producer`], with the Java client's defaults (Kafka 4).
#[derive(Debug, Clone)]
pub struct ProducerBuilder {
    client: Client,
    acks: Acks,
    compression: Compression,
    linger: Duration,
    batch_size: usize,
    idempotence: bool,
    transactional_id: Option<String>,
    transaction_timeout: Duration,
    delivery_timeout: Duration,
    request_timeout_ms: i32,
    max_request_size: usize,
    buffer_memory: usize,
    max_block: Duration,
    max_in_flight: usize,
}

impl ProducerBuilder {
    /// Acks (default all).
    pub fn acks(mut self, acks: Acks) -> Self {
        self.acks = acks;
        self
    }

    /// Compression (default none).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// How long a batch waits for more records (default 5 ms).
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// Bytes at which a partition's batch is sent without waiting (default 1,000,000, librdkafka's;
    /// the Java client's is 16,384). A batch grows that large only when records come faster than
    /// the linger: at a trickle each batch goes after the linger with what it has. Keep it under
    /// the broker's message.max.bytes (1,048,588 by default).
    pub fn batch_size(mut self, bytes: usize) -> Self {
        self.batch_size = bytes.max(1);
        self
    }

    /// Idempotence (default on; needs acks=all, so it is turned off with other acks).
    pub fn idempotence(mut self, on: bool) -> Self {
        self.idempotence = on;
        self
    }

    /// Makes the producer transactional under `id` (implies idempotence and acks=all).
    pub fn transactional_id(mut self, id: &str) -> Self {
        self.transactional_id = Some(id.to_owned());
        self
    }

    /// Transaction timeout (default 60 s).
    pub fn transaction_timeout(mut self, timeout: Duration) -> Self {
        self.transaction_timeout = timeout;
        self
    }

    /// How long a record may take from `send` to acknowledgement, retries included (default 120 s).
    pub fn delivery_timeout(mut self, timeout: Duration) -> Self {
        self.delivery_timeout = timeout;
        self
    }

    /// The largest record the producer sends, in bytes as it is serialized in a batch (default
    /// 1 MiB, the Java client's max.request.size): a larger one fails at [`Producer::send`] with
    /// [`Error::RecordTooLarge`]. Brokers have a limit of their own (message.max.bytes, 1 MiB by
    /// default), which they answer with MESSAGE_TOO_LARGE.
    pub fn max_request_size(mut self, bytes: usize) -> Self {
        self.max_request_size = bytes;
        self
    }

    /// The most bytes of records the producer holds between [`Producer::send`] and their
    /// acknowledgement (default 32 MiB, the Java client's buffer.memory): a send that would pass
    /// it waits for room, up to [`ProducerBuilder::max_block`]. A record larger than the whole
    /// buffer waits until the buffer is empty.
    pub fn buffer_memory(mut self, bytes: usize) -> Self {
        self.buffer_memory = bytes.clamp(1, u32::MAX as usize);
        self
    }

    /// How many batches of one partition may be in flight at once (default 5, the Java client's
    /// max.in.flight.requests.per.connection; at most 5 with idempotence, the most a broker
    /// deduplicates). With idempotence the batches keep their order through retries (the broker
    /// checks their sequence numbers); without it a retried batch can land after a later one,
    /// as with the Java client: set 1 to keep order without idempotence.
    pub fn max_in_flight(mut self, batches: usize) -> Self {
        self.max_in_flight = batches.clamp(1, 5);
        self
    }

    /// How long [`Producer::send`] waits for room in the buffer before it fails with a timeout
    /// (default 60 s, the Java client's max.block.ms).
    pub fn max_block(mut self, wait: Duration) -> Self {
        self.max_block = wait;
        self
    }

    /// Builds the producer; an idempotent one gets its producer id first. A transactional one
    /// gets it in [`Producer::init_transactions`].
    pub async fn build(self) -> Result<Producer, Error> {
        let mut cfg = self;
        if cfg.transactional_id.is_some() {
            cfg.idempotence = true;
            cfg.acks = Acks::All;
        }
        if cfg.acks != Acks::All {
            cfg.idempotence = false;
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            idle: Notify::new(),
            memory: Arc::new(Semaphore::new(cfg.buffer_memory)),
        });
        let core = Core {
            client: cfg.client.clone(),
            cfg: Arc::new(cfg),
            shared: shared.clone(),
        };
        if core.cfg.idempotence && core.cfg.transactional_id.is_none() {
            core.init_producer_id(None).await?;
        }
        // The task gets the core only: it ends when the last handle is dropped.
        let task = tokio::spawn(sender_loop(core.clone()));
        Ok(Producer {
            core,
            handle: Arc::new(Handle {
                shared,
                sender: Mutex::new(Some(task)),
            }),
        })
    }
}

type Waiter = oneshot::Sender<Result<RecordMetadata, Error>>;

#[derive(Debug)]
struct Pending {
    timestamp: i64,
    key: Option<Bytes>,
    value: Option<Bytes>,
    headers: Vec<Header>,
    waiter: Waiter,
    /// The record's share of the buffer memory, given back when its batch is done with.
    memory: OwnedSemaphorePermit,
}

#[derive(Debug)]
struct OpenBatch {
    records: Vec<Pending>,
    size: usize,
    created: Instant,
}

#[derive(Debug)]
struct Sealed {
    bytes: Bytes,
    waiters: Vec<(Waiter, i64)>,
    /// The records' buffer memory, given back when the batch is dropped (acknowledged or failed).
    _memory: Option<OwnedSemaphorePermit>,
    created: Instant,
    /// The batch's place in its partition (sealing order): a retried batch goes back before
    /// every later one.
    order: u64,
}

#[derive(Debug, Default)]
struct Queue {
    open: Option<OpenBatch>,
    /// Batches that reached the batch size, in order, waiting for their turn to be sealed.
    full: VecDeque<OpenBatch>,
    sealed: VecDeque<Sealed>,
    /// The sealing order of the batches sent and not answered yet.
    in_flight: BTreeSet<u64>,
    next_sequence: i32,
    /// The next batch's sealing order.
    next_order: u64,
    retry_at: Option<Instant>,
    /// A batch failed and is to be sent again: nothing more is sent until every batch in flight
    /// has come back (those after it fail too, the broker seeing a gap in the sequence), so the
    /// batches go out again in order.
    draining: bool,
}

#[derive(Debug, Default)]
struct State {
    queues: HashMap<(String, i32), Queue>,
    producer_id: i64,
    producer_epoch: i16,
    flushing: usize,
    closed: bool,
    in_transaction: bool,
    txn_partitions: HashSet<(String, i32)>,
    /// An outcome of a transactional request is unknown: fence before the next transaction.
    needs_fence: bool,
    /// A transaction ended under the current epoch: bump the epoch before the next one, so that
    /// an EndTxn sent later with this epoch (a job recovering a transaction it pre-committed)
    /// is refused as fenced instead of ending the next transaction (what Kafka's transactions
    /// v2, KIP-890, do on the coordinator).
    ended_in_epoch: bool,
    /// Round-robin counters for records without key or partition.
    round_robin: HashMap<String, i32>,
    /// A fatal error (e.g. fenced): every later send fails with it.
    fatal: Option<Error>,
    /// Every handle is gone: the sender fails what is queued and stops.
    dropped: bool,
    /// The first failure of a record of the open transaction ([`Error::TransactionFailed`]): the
    /// transaction can only be aborted (the Java client's abortable error state).
    txn_error: Option<Error>,
}

impl State {
    fn is_idle(&self) -> bool {
        self.queues
            .values()
            .all(|q| q.open.is_none() && q.full.is_empty() && q.sealed.is_empty() && q.in_flight.is_empty())
    }

    /// Notes that a record for `tp` failed with `err`. In a transaction the first failure makes
    /// it abortable only: committing it would commit the rest without that record.
    fn record_failed(&mut self, transactional: bool, tp: &(String, i32), err: &Error) {
        if transactional && self.in_transaction && self.txn_error.is_none() {
            self.txn_error = Some(Error::TransactionFailed {
                topic: tp.0.clone(),
                partition: tp.1,
                source: Box::new(err.clone()),
            });
        }
    }
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    wake: Notify,
    idle: Notify,
    /// The buffer memory: a permit per byte of a record between send and its batch's end.
    memory: Arc<Semaphore>,
}

/// A Kafka producer. Cheap to clone; clones share batches and the sender task.
///
/// The sender task stops when the last clone is dropped, as when [`Producer::close`] is called
/// but without the flush: records still queued then fail with [`Error::ProducerDropped`] and are
/// never sent, so a writer that is killed (dropped) stops writing. A transaction it left open is
/// not ended; the broker aborts it after the transaction timeout, or at once when the next
/// producer with its transactional id calls [`Producer::init_transactions`].
#[derive(Debug, Clone)]
pub struct Producer {
    core: Core,
    /// Shared by the clones only (the sender task never holds it): its drop stops the sender.
    handle: Arc<Handle>,
}

/// What the handles, the sender task and its requests share.
#[derive(Debug, Clone)]
struct Core {
    client: Client,
    cfg: Arc<ProducerBuilder>,
    shared: Arc<Shared>,
}

/// The user's side of a producer: when the last clone of the [`Producer`] drops it, the sender
/// task is told to stop.
#[derive(Debug)]
struct Handle {
    shared: Arc<Shared>,
    sender: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        lock(&self.shared.state).dropped = true;
        self.shared.wake.notify_one();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    match state.lock() {
        Ok(s) => s,
        Err(p) => p.into_inner(),
    }
}

/// The future result of [`Producer::send`].
pub type DeliveryFuture = oneshot::Receiver<Result<RecordMetadata, Error>>;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Client {
    /// A producer builder on this client.
    pub fn producer(&self) -> ProducerBuilder {
        ProducerBuilder {
            client: self.clone(),
            acks: Acks::All,
            compression: Compression::None,
            linger: Duration::from_millis(5),
            batch_size: 1_000_000,
            idempotence: true,
            transactional_id: None,
            transaction_timeout: Duration::from_secs(60),
            delivery_timeout: Duration::from_secs(120),
            request_timeout_ms: 30_000,
            max_request_size: 1_048_576,
            buffer_memory: 32 << 20,
            max_block: Duration::from_secs(60),
            max_in_flight: 5,
        }
    }
}

impl Producer {
    /// Queues `record` and returns at once; the future resolves when the broker acknowledged
    /// it (or at once with acks=0 once it was written to the socket), or with the error that
    /// made it fail for good.
    pub async fn send(&self, record: ProducerRecord) -> Result<DeliveryFuture, Error> {
        let partition = match record.partition {
            Some(p) => p,
            None => {
                let n =
                    i32::try_from(self.core.client.topic(&record.topic).await?.partitions.len()).unwrap_or(0);
                if n == 0 {
                    return Err(Error::NoLeader {
                        topic: record.topic.clone(),
                        partition: -1,
                    });
                }
                match &record.key {
                    Some(k) => partition_for_key(k, n),
                    None => {
                        let mut st = self.core.state();
                        let c = st.round_robin.entry(record.topic.clone()).or_insert(0);
                        *c = c.wrapping_add(1);
                        (*c & i32::MAX) % n
                    }
                }
            }
        };
        let (tx, rx) = oneshot::channel();
        let size = record.key.as_ref().map_or(0, Bytes::len)
            + record.value.as_ref().map_or(0, Bytes::len)
            + record
                .headers
                .iter()
                .map(|h| h.key.len() + h.value.as_ref().map_or(0, Bytes::len))
                .sum::<usize>()
            + 16;
        let serialized = size + BATCH_OVERHEAD;
        let memory = self.reserve(size).await?;
        let pending = Pending {
            timestamp: record.timestamp.unwrap_or_else(now_ms),
            key: record.key,
            value: record.value,
            headers: record.headers,
            waiter: tx,
            memory,
        };
        let full = {
            let mut st = self.core.state();
            if let Some(e) = &st.fatal {
                return Err(e.clone());
            }
            if st.closed {
                return Err(Error::InvalidArgument("the producer is closed".into()));
            }
            let transactional = self.core.cfg.transactional_id.is_some();
            if transactional && !st.in_transaction {
                return Err(Error::InvalidArgument(
                    "send outside a transaction: call begin_transaction".into(),
                ));
            }
            if let Some(e) = &st.txn_error {
                return Err(e.clone());
            }
            if serialized > self.core.cfg.max_request_size {
                let err = Error::RecordTooLarge {
                    topic: record.topic.clone(),
                    partition,
                    size: serialized,
                    limit: self.core.cfg.max_request_size,
                };
                st.record_failed(transactional, &(record.topic, partition), &err);
                return Err(err);
            }
            let q = st.queues.entry((record.topic, partition)).or_default();
            // A batch never grows past the batch size while an earlier one is in flight: a record
            // that would not fit starts a new batch (a record larger than the batch size goes
            // alone), so requests stay within the broker's message.max.bytes.
            if q.open
                .as_ref()
                .is_some_and(|o| !o.records.is_empty() && o.size + size > self.core.cfg.batch_size)
            {
                q.full.extend(q.open.take());
            }
            let open = q.open.get_or_insert_with(|| OpenBatch {
                records: Vec::new(),
                size: 0,
                created: Instant::now(),
            });
            open.records.push(pending);
            open.size += size;
            if open.size >= self.core.cfg.batch_size {
                q.full.extend(q.open.take());
            }
            !q.full.is_empty()
        };
        if full || self.core.cfg.linger.is_zero() {
            self.core.shared.wake.notify_one();
        }
        Ok(rx)
    }

    /// Waits (up to the max block time) for `size` bytes of room in the buffer memory.
    async fn reserve(&self, size: usize) -> Result<OwnedSemaphorePermit, Error> {
        let cfg = &self.core.cfg;
        let n = u32::try_from(size.min(cfg.buffer_memory)).unwrap_or(u32::MAX);
        let memory = Arc::clone(&self.core.shared.memory);
        if let Ok(p) = Arc::clone(&memory).try_acquire_many_owned(n) {
            return Ok(p);
        }
        match tokio::time::timeout(cfg.max_block, memory.acquire_many_owned(n)).await {
            Ok(Ok(p)) => Ok(p),
            // The semaphore is never closed.
            Ok(Err(_)) => Err(Error::ProducerDropped),
            Err(_) => Err(Error::Timeout {
                what: format!(
                    "waiting for {size} bytes of room in the producer's buffer memory ({} bytes, full of records not yet acknowledged)",
                    cfg.buffer_memory
                ),
                after: cfg.max_block,
            }),
        }
    }

    /// Sends `record` and waits for its acknowledgement.
    pub async fn send_and_wait(&self, record: ProducerRecord) -> Result<RecordMetadata, Error> {
        let rx = self.send(record).await?;
        self.flush_hint();
        rx.await
            .map_err(|_| Error::InvalidArgument("the producer stopped".into()))?
    }

    fn flush_hint(&self) {
        self.core.shared.wake.notify_one();
    }

    /// Sends everything queued now and waits until every record is acknowledged or failed.
    ///
    /// A record's own failure comes through its [`DeliveryFuture`]; flush fails after a fatal
    /// error, and in a transaction once a record of it failed ([`Error::TransactionFailed`]).
    pub async fn flush(&self) -> Result<(), Error> {
        {
            self.core.state().flushing += 1;
        }
        self.core.shared.wake.notify_one();
        loop {
            let idle = self.core.shared.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            let (done, fatal) = {
                let st = self.core.state();
                (st.is_idle(), st.fatal.clone())
            };
            if done {
                break;
            }
            if let Some(e) = fatal {
                self.core.state().flushing -= 1;
                return Err(e);
            }
            self.core.shared.wake.notify_one();
            let _ = tokio::time::timeout(Duration::from_millis(50), idle).await;
        }
        let mut st = self.core.state();
        st.flushing -= 1;
        match st.fatal.as_ref().or(st.txn_error.as_ref()) {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Flushes and stops the sender task.
    pub async fn close(&self) -> Result<(), Error> {
        let res = self.flush().await;
        self.core.state().closed = true;
        self.core.shared.wake.notify_one();
        let task = self.handle.sender.lock().ok().and_then(|mut s| s.take());
        if let Some(task) = task {
            let _ = task.await;
        }
        res
    }

    /// The producer id and epoch in use.
    pub fn producer_id_and_epoch(&self) -> (i64, i16) {
        self.core.producer_id_and_epoch()
    }

    /// For a transactional producer: fences older instances with the same transactional id and
    /// aborts their open transaction. Call once before the first transaction.
    pub async fn init_transactions(&self) -> Result<(), Error> {
        if self.core.cfg.transactional_id.is_none() {
            return Err(Error::InvalidArgument("not a transactional producer".into()));
        }
        self.core.init_producer_id(None).await
    }

    /// Starts a transaction.
    pub async fn begin_transaction(&self) -> Result<(), Error> {
        let fence = {
            let st = self.core.state();
            if let Some(e) = &st.fatal {
                return Err(e.clone());
            }
            if let (true, Some(e)) = (st.in_transaction, &st.txn_error) {
                return Err(Error::InvalidArgument(format!(
                    "the open transaction failed, abort it first: {e}"
                )));
            }
            if st.in_transaction {
                return Err(Error::InvalidArgument("a transaction is already open".into()));
            }
            if st.needs_fence {
                warn!("an earlier transactional request had an unknown outcome: bumping the epoch first");
            }
            (st.needs_fence || st.ended_in_epoch).then_some((st.producer_id, st.producer_epoch))
        };
        if let Some(current) = fence {
            self.core.init_producer_id(Some(current)).await?;
        }
        let mut st = self.core.state();
        st.in_transaction = true;
        st.txn_partitions.clear();
        st.txn_error = None;
        Ok(())
    }

    /// Adds `offsets` (topic, partition, next offset) of consumer group `group` to the open
    /// transaction: they are committed with it.
    pub async fn send_offsets_to_transaction(
        &self,
        offsets: &[(String, i32, i64)],
        group: &str,
    ) -> Result<(), Error> {
        let txn = self.core.cfg.transactional_id.clone().unwrap_or_default();
        let (pid, epoch) = self.producer_id_and_epoch();
        let coord = self.core.txn_coordinator().await?;
        let resp = coord
            .send_built(|_| AddOffsetsToTxnRequest {
                transactional_id: txn.clone(),
                producer_id: pid,
                producer_epoch: epoch,
                group_id: group.to_owned(),
                ..Default::default()
            })
            .await
            .inspect_err(|_| self.core.mark_unknown())?;
        check("AddOffsetsToTxn", resp.error_code)?;
        let mut topics: Vec<TxnOffsetCommitRequestTopic> = Vec::new();
        for (topic, partition, offset) in offsets {
            let p = TxnOffsetCommitRequestPartition {
                partition_index: *partition,
                committed_offset: *offset,
                committed_leader_epoch: -1,
                committed_metadata: Some(String::new()),
                ..Default::default()
            };
            match topics.iter_mut().find(|t| &t.name == topic) {
                Some(t) => t.partitions.push(p),
                None => topics.push(TxnOffsetCommitRequestTopic {
                    name: topic.clone(),
                    partitions: vec![p],
                    ..Default::default()
                }),
            }
        }
        let group_coord = self.core.client.group_coordinator(group).await?;
        let resp = group_coord
            .send_built(|_| TxnOffsetCommitRequest {
                transactional_id: txn.clone(),
                group_id: group.to_owned(),
                producer_id: pid,
                producer_epoch: epoch,
                generation_id_or_member_epoch: -1,
                topics: topics.clone(),
                ..Default::default()
            })
            .await
            .inspect_err(|_| self.core.mark_unknown())?;
        for t in &resp.topics {
            for p in &t.partitions {
                let code = ErrorCode(p.error_code);
                if !code.is_ok() {
                    return Err(Error::broker_at(
                        "TxnOffsetCommit",
                        code,
                        &t.name,
                        Some(p.partition_index),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Flushes and commits the open transaction.
    ///
    /// When a record of the transaction failed (the broker refused it, its partition could not
    /// be added, it was too large to send), nothing is committed: the error is
    /// [`Error::TransactionFailed`] with the first failure, and the transaction stays open for
    /// [`Producer::abort_transaction`], after which the next one can begin. After a fatal error
    /// (fenced by a newer instance, not authorized for the transactional id) that error is
    /// returned instead, and the producer cannot go on.
    pub async fn commit_transaction(&self) -> Result<(), Error> {
        self.flush().await?;
        self.end_transaction(true).await
    }

    /// Aborts the open transaction: records not sent yet are dropped with an error, records sent
    /// are discarded by the broker.
    pub async fn abort_transaction(&self) -> Result<(), Error> {
        {
            let mut st = self.core.state();
            for q in st.queues.values_mut() {
                for open in q.full.drain(..).chain(q.open.take()) {
                    for p in open.records {
                        let _ = p
                            .waiter
                            .send(Err(Error::InvalidArgument("transaction aborted".into())));
                    }
                }
            }
        }
        let _ = self.flush().await;
        self.end_transaction(false).await
    }

    async fn end_transaction(&self, commit: bool) -> Result<(), Error> {
        let (pid, epoch, any) = {
            let st = self.core.state();
            (st.producer_id, st.producer_epoch, !st.txn_partitions.is_empty())
        };
        let txn = self.core.cfg.transactional_id.clone().unwrap_or_default();
        let mut ended = true;
        let res = match self.core.client.end_transaction(&txn, pid, epoch, commit).await {
            // Nothing was ever added: the coordinator has no transaction to end.
            Err(Error::Broker { code, .. }) if code == ErrorCode::INVALID_TXN_STATE && !any => {
                ended = false;
                Ok(())
            }
            res => res,
        };
        let mut st = self.core.state();
        st.in_transaction = false;
        st.txn_partitions.clear();
        st.txn_error = None;
        st.ended_in_epoch |= ended && res.is_ok();
        if let Err(e) = &res {
            if is_fatal(e) {
                st.fatal.get_or_insert(e.clone());
            } else if !matches!(e, Error::Broker { .. }) {
                st.needs_fence = true;
            }
        }
        res
    }
}

impl Core {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }

    fn producer_id_and_epoch(&self) -> (i64, i16) {
        let st = self.state();
        (st.producer_id, st.producer_epoch)
    }

    async fn txn_coordinator(&self) -> Result<Arc<Connection>, Error> {
        let id = self.cfg.transactional_id.as_deref().unwrap_or_default();
        self.client.coordinator(id, TRANSACTION_KEY).await
    }

    /// InitProducerId: a new producer id (idempotent), or for a transactional id the id with a
    /// bumped epoch, which fences older instances and aborts their open transaction. `current`
    /// is the id and epoch to bump after an unknown outcome (KIP-360).
    async fn init_producer_id(&self, current: Option<(i64, i16)>) -> Result<(), Error> {
        let txn = self.cfg.transactional_id.clone();
        let timeout_ms = i32::try_from(self.cfg.transaction_timeout.as_millis()).unwrap_or(i32::MAX);
        let resp = self
            .client
            .retry(None, || async {
                let conn = match &txn {
                    Some(_) => self.txn_coordinator().await?,
                    None => self.client.any_broker().await?,
                };
                let resp = conn
                    .send_built(|_| InitProducerIdRequest {
                        transactional_id: txn.clone(),
                        transaction_timeout_ms: timeout_ms,
                        producer_id: current.map_or(-1, |c| c.0),
                        producer_epoch: current.map_or(-1, |c| c.1),
                        ..Default::default()
                    })
                    .await?;
                let code = ErrorCode(resp.error_code);
                if code.is_ok() {
                    Ok(resp)
                } else {
                    // CONCURRENT_TRANSACTIONS (the previous transaction is still being completed)
                    // is retriable.
                    Err(Error::broker("InitProducerId", code))
                }
            })
            .await?;
        let mut st = self.state();
        st.producer_id = resp.producer_id;
        st.producer_epoch = resp.producer_epoch;
        for q in st.queues.values_mut() {
            q.next_sequence = 0;
        }
        st.needs_fence = false;
        st.ended_in_epoch = false;
        st.fatal = None;
        debug!(
            producer_id = resp.producer_id,
            epoch = resp.producer_epoch,
            "producer id"
        );
        Ok(())
    }

    fn mark_unknown(&self) {
        self.state().needs_fence = true;
    }

    /// Adds partitions to the open transaction before their first batch is produced.
    async fn add_partitions_to_txn(&self, parts: &[(String, i32)]) -> Result<(), Error> {
        let new: Vec<(String, i32)> = {
            let st = self.state();
            parts
                .iter()
                .filter(|p| !st.txn_partitions.contains(*p))
                .cloned()
                .collect()
        };
        if new.is_empty() {
            return Ok(());
        }
        let txn = self.cfg.transactional_id.clone().unwrap_or_default();
        let (pid, epoch) = self.producer_id_and_epoch();
        let mut topics: Vec<AddPartitionsToTxnTopic> = Vec::new();
        for (t, p) in &new {
            match topics.iter_mut().find(|x| &x.name == t) {
                Some(x) => x.partitions.push(*p),
                None => topics.push(AddPartitionsToTxnTopic {
                    name: t.clone(),
                    partitions: vec![*p],
                    ..Default::default()
                }),
            }
        }
        self.client
            .retry(None, || async {
                let coord = self.txn_coordinator().await?;
                // Versions 4+ are for brokers; version_for keeps to 3 or lower.
                let version = coord.version_for::<AddPartitionsToTxnRequest>()?;
                let mut req = AddPartitionsToTxnRequest {
                    v3_and_below_transactional_id: txn.clone(),
                    v3_and_below_producer_id: pid,
                    v3_and_below_producer_epoch: epoch,
                    v3_and_below_topics: topics.clone(),
                    ..Default::default()
                };
                kwire_protocol::messages::Message::normalize_to(&mut req, version);
                let resp = coord.send_raw(&req, version).await?;
                // The first failure, by name (CONCURRENT_TRANSACTIONS is retriable). A partition
                // answered OPERATION_NOT_ATTEMPTED only because another one failed: name that one.
                let failed = resp.results_by_topic_v3_and_below.iter().flat_map(|t| {
                    t.results_by_partition
                        .iter()
                        .map(move |p| (t, p, ErrorCode(p.partition_error_code)))
                        .filter(|(_, _, code)| !code.is_ok())
                });
                let first = failed
                    .clone()
                    .find(|(_, _, code)| *code != ErrorCode::OPERATION_NOT_ATTEMPTED)
                    .or_else(|| failed.clone().next());
                match first {
                    Some((t, p, code)) => Err(Error::broker_at(
                        "AddPartitionsToTxn",
                        code,
                        &t.name,
                        Some(p.partition_index),
                    )),
                    None => Ok(()),
                }
            })
            .await?;
        self.state().txn_partitions.extend(new);
        Ok(())
    }
}

/// What a record batch adds to its records (the v2 header: offset, length, epoch, magic, CRC,
/// attributes, offsets, timestamps, producer id, epoch, sequence, count), counted against
/// `max_request_size` with the record as the Java client does.
const BATCH_OVERHEAD: usize = 61;

impl Client {
    /// EndTxn: commits (or aborts) the transaction that producer `producer_id` at
    /// `producer_epoch` has open under `transactional_id`, retrying retriable errors. A sink
    /// restored from a checkpoint uses it to finish the transaction the checkpoint pre-committed,
    /// with the producer id and epoch the checkpoint recorded, without a producer of its own
    /// (a new InitProducerId would abort that transaction instead).
    pub async fn end_transaction(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
    ) -> Result<(), Error> {
        self.retry(None, || async {
            let coord = self.coordinator(transactional_id, TRANSACTION_KEY).await?;
            let resp = coord
                .send_built(|_| EndTxnRequest {
                    transactional_id: transactional_id.to_owned(),
                    producer_id,
                    producer_epoch,
                    committed: commit,
                    ..Default::default()
                })
                .await?;
            check("EndTxn", resp.error_code)
        })
        .await
    }
}

fn check(api: &'static str, code: i16) -> Result<(), Error> {
    let code = ErrorCode(code);
    if code.is_ok() {
        Ok(())
    } else {
        Err(Error::broker(api, code))
    }
}

/// Seals a partition's open batch into record-batch bytes with its producer id and sequence.
fn seal(
    open: OpenBatch,
    compression: Compression,
    producer: Option<(i64, i16, i32)>,
    transactional: bool,
) -> Result<Sealed, (Vec<(Waiter, i64)>, Error)> {
    let mut b = RecordBatchBuilder::new(compression);
    if let Some((pid, epoch, seq)) = producer {
        b = b.with_producer(pid, epoch, seq).with_transactional(transactional);
    }
    let mut waiters = Vec::with_capacity(open.records.len());
    let mut failed = None;
    let mut memory: Option<OwnedSemaphorePermit> = None;
    for p in open.records {
        match &mut memory {
            Some(m) => m.merge(p.memory),
            None => memory = Some(p.memory),
        }
        if failed.is_none() {
            if let Err(e) = b.append(p.timestamp, p.key.as_deref(), p.value.as_deref(), &p.headers) {
                failed = Some(Error::InvalidArgument(format!("record cannot be encoded: {e}")));
            }
        }
        waiters.push((p.waiter, p.timestamp));
    }
    if let Some(e) = failed {
        return Err((waiters, e));
    }
    match b.finish() {
        Ok(bytes) => Ok(Sealed {
            bytes,
            waiters,
            _memory: memory,
            created: open.created,
            order: 0,
        }),
        Err(e) => Err((
            waiters,
            Error::InvalidArgument(format!("batch cannot be encoded: {e}")),
        )),
    }
}

fn fail_all(waiters: Vec<(Waiter, i64)>, err: &Error) {
    for (w, _) in waiters {
        let _ = w.send(Err(err.clone()));
    }
}

/// Whether the producer cannot go on after `err` (the Java client's fatal errors): a newer
/// instance took over its transactional id, or it may not use that id.
fn is_fatal(err: &Error) -> bool {
    matches!(
        err,
        Error::Broker {
            code: ErrorCode::PRODUCER_FENCED
                | ErrorCode::INVALID_PRODUCER_EPOCH
                | ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            ..
        }
    )
}

/// Fails every record that is queued and not in flight with `err`.
fn fail_queued(st: &mut State, err: &Error) {
    for q in st.queues.values_mut() {
        for open in q.full.drain(..).chain(q.open.take()) {
            for p in open.records {
                let _ = p.waiter.send(Err(err.clone()));
            }
        }
        for sealed in q.sealed.drain(..) {
            fail_all(sealed.waiters, err);
        }
        q.retry_at = None;
    }
}

/// What the sender takes out of the queues in one round.
type Round = Vec<((String, i32), Sealed)>;

/// Takes every batch that may be sent now, and the time of the next linger deadline.
/// The batches taken in one round, with their partitions.
type Taken = Vec<((String, i32), Ready)>;

fn take_ready(p: &Core, st: &mut State, now: Instant) -> (Taken, Option<Instant>) {
    let cfg = &p.cfg;
    let flushing = st.flushing > 0 || st.closed;
    let (pid, epoch) = (st.producer_id, st.producer_epoch);
    let mut out = Vec::new();
    let mut next_deadline: Option<Instant> = None;
    for (tp, q) in &mut st.queues {
        if q.draining {
            if !q.in_flight.is_empty() {
                continue;
            }
            q.draining = false;
        }
        if q.in_flight.len() >= cfg.max_in_flight {
            continue;
        }
        if let Some(at) = q.retry_at {
            if at > now {
                next_deadline = Some(next_deadline.map_or(at, |d| d.min(at)));
                continue;
            }
            q.retry_at = None;
        }
        // Batches to send again first (already sealed), then full batches in order, then the
        // open one once it is due.
        if let Some(batch) = q.sealed.pop_front() {
            q.in_flight.insert(batch.order);
            out.push((tp.clone(), Ready::Sealed(batch)));
            continue;
        }
        let next = match q.full.pop_front() {
            Some(full) => Some(full),
            None => match q.open.as_ref().map(|o| o.created + cfg.linger) {
                Some(due) if flushing || due <= now => q.open.take(),
                Some(due) => {
                    next_deadline = Some(next_deadline.map_or(due, |d| d.min(due)));
                    None
                }
                None => None,
            },
        };
        if let Some(batch) = next {
            // Its sequence and place are given here, under the lock; it is sealed (and
            // compressed) outside it.
            let producer = cfg.idempotence.then_some((pid, epoch, q.next_sequence));
            if producer.is_some() {
                let n = i32::try_from(batch.records.len()).unwrap_or(i32::MAX);
                q.next_sequence = q.next_sequence.wrapping_add(n);
            }
            let order = q.next_order;
            q.next_order += 1;
            q.in_flight.insert(order);
            out.push((
                tp.clone(),
                Ready::Open {
                    batch,
                    producer,
                    order,
                },
            ));
        }
    }
    (out, next_deadline)
}

/// A batch taken to be sent: sealed already (a retry), or to be sealed.
enum Ready {
    Sealed(Sealed),
    Open {
        batch: OpenBatch,
        producer: Option<(i64, i16, i32)>,
        order: u64,
    },
}

/// Seals the batches of a round, outside the lock that `send` takes. A batch that cannot be
/// encoded fails its records; its sequence numbers are given back when no later batch has them.
fn seal_round(p: &Core, ready: Taken) -> Round {
    let transactional = p.cfg.transactional_id.is_some();
    let mut round = Vec::with_capacity(ready.len());
    for (tp, r) in ready {
        match r {
            Ready::Sealed(batch) => round.push((tp, batch)),
            Ready::Open {
                batch,
                producer,
                order,
            } => {
                let records = i32::try_from(batch.records.len()).unwrap_or(i32::MAX);
                match seal(batch, p.cfg.compression, producer, transactional) {
                    Ok(mut sealed) => {
                        sealed.order = order;
                        round.push((tp, sealed));
                    }
                    Err((waiters, e)) => {
                        fail_all(waiters, &e);
                        let mut st = p.state();
                        if let Some(q) = st.queues.get_mut(&tp) {
                            q.in_flight.remove(&order);
                            if let Some((_, _, seq)) = producer {
                                if q.next_sequence == seq.wrapping_add(records) {
                                    q.next_sequence = seq;
                                }
                            }
                        }
                        st.record_failed(transactional, &tp, &e);
                    }
                }
            }
        }
    }
    round
}

/// Sends the rounds for `leader` in the order they come.
async fn leader_loop(p: Core, leader: i32, mut rounds: tokio::sync::mpsc::UnboundedReceiver<Round>) {
    while let Some(batches) = rounds.recv().await {
        send_to(&p, leader, batches).await;
        p.shared.wake.notify_one();
    }
}

async fn sender_loop(p: Core) {
    let mut leaders: HashMap<i32, tokio::sync::mpsc::UnboundedSender<Round>> = HashMap::new();
    loop {
        let (round, deadline, stop) = {
            let mut st = p.state();
            if st.dropped {
                // Every handle is gone (a writer killed, say): nothing it queued goes out now.
                fail_queued(&mut st, &Error::ProducerDropped);
                return;
            }
            if let Some(e) = st.txn_error.clone() {
                // The transaction can only be aborted: what it still has queued is not sent (so
                // no batch goes out after a gap in its partition's sequence either).
                fail_queued(&mut st, &e);
            }
            let (round, deadline) = take_ready(&p, &mut st, Instant::now());
            let stop = st.closed && round.is_empty() && st.is_idle();
            if st.is_idle() {
                p.shared.idle.notify_waiters();
            }
            (round, deadline, stop)
        };
        if stop {
            p.shared.idle.notify_waiters();
            return;
        }
        let round = seal_round(&p, round);
        if round.is_empty() {
            let wake = p.shared.wake.notified();
            match deadline {
                Some(d) => {
                    let _ = tokio::time::timeout_at(d.into(), wake).await;
                }
                None => {
                    let _ = tokio::time::timeout(Duration::from_millis(100), wake).await;
                }
            }
            continue;
        }
        // Group by leader; partitions without a known leader wait for a metadata refresh.
        let mut by_leader: HashMap<i32, Round> = HashMap::new();
        for (tp, batch) in round {
            let leader = match p.client.topic(&tp.0).await {
                Ok(t) => t
                    .partitions
                    .iter()
                    .find(|x| x.id == tp.1)
                    .map(|x| x.leader)
                    .filter(|l| *l >= 0),
                Err(_) => None,
            };
            match leader {
                Some(l) => by_leader.entry(l).or_default().push((tp, batch)),
                None => {
                    p.client.invalidate(&tp.0);
                    let err = Error::NoLeader {
                        topic: tp.0.clone(),
                        partition: tp.1,
                    };
                    requeue(&p, tp, batch, &err);
                }
            }
        }
        if p.state().dropped {
            // Dropped while the leaders were looked up: these are not sent either.
            for (tp, batch) in by_leader.into_values().flatten() {
                requeue(&p, tp, batch, &Error::ProducerDropped);
            }
            continue;
        }
        for (leader, batches) in by_leader {
            // One queue per leader, worked in order by a task of its own: a batch of a partition
            // is submitted after the batches before it (its sequence follows theirs), and a
            // leader slow to connect holds up no other.
            let queue = leaders.entry(leader).or_insert_with(|| {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                tokio::spawn(leader_loop(p.clone(), leader, rx));
                tx
            });
            if let Err(unsent) = queue.send(batches) {
                leaders.remove(&leader);
                for (tp, batch) in unsent.0 {
                    requeue(&p, tp, batch, &Error::ProducerDropped);
                }
            }
        }
    }
}

/// Puts a batch back at the front of its queue for a retry, or fails it if its delivery timeout
/// has passed, the error is not retriable or the producer was dropped.
fn requeue(p: &Core, tp: (String, i32), batch: Sealed, err: &Error) {
    let mut st = p.state();
    let expired = batch.created.elapsed() >= p.cfg.delivery_timeout;
    let dropped = st.dropped;
    let q = st.queues.entry(tp.clone()).or_default();
    q.in_flight.remove(&batch.order);
    // A batch behind one that failed is refused for the gap in its partition's sequence: it is
    // sent again after that one, in order (a batch with nothing before it keeps the error).
    let behind_a_retry = matches!(
        err,
        Error::Broker {
            code: ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
            ..
        }
    ) && (q.in_flight.first().is_some_and(|o| *o < batch.order)
        || q.sealed.front().is_some_and(|b| b.order < batch.order));
    let retry = (err.is_retriable() || behind_a_retry) && !expired;
    if retry && !dropped {
        // Back in its place: before every later batch of its partition.
        let at = q.sealed.partition_point(|b| b.order < batch.order);
        q.sealed.insert(at, batch);
        q.retry_at = Some(Instant::now() + Duration::from_millis(100));
        q.draining = true;
        return;
    }

    {
        let e = if expired {
            Error::Timeout {
                what: format!("delivery ({err})"),
                after: p.cfg.delivery_timeout,
            }
        } else if retry {
            Error::ProducerDropped
        } else {
            err.clone()
        };
        fail_all(batch.waiters, &e);
        if is_fatal(&e) {
            st.fatal.get_or_insert(e.clone());
        }
        st.record_failed(p.cfg.transactional_id.is_some(), &tp, &e);
        if p.cfg.idempotence {
            // The broker's sequence for this partition no longer matches ours: start over with a
            // new producer id for the next batch (the Java client does the same). A
            // transactional producer's transaction is failed (above) and is aborted; the next
            // one starts with a bumped epoch, which resets every sequence.
            if matches!(e, Error::Timeout { .. })
                || matches!(
                    err,
                    Error::Broker {
                        code: ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
                        ..
                    }
                )
            {
                if p.cfg.transactional_id.is_some() {
                    st.needs_fence = true;
                } else {
                    st.fatal.get_or_insert(e);
                }
            }
        }
    }
}

/// Sends `batches` to `leader`: submitted here, in the order the leader's rounds come, and
/// answered in a task of its own, so the next round can go out before this one is answered.
async fn send_to(p: &Core, leader: i32, batches: Round) {
    if p.cfg.transactional_id.is_some() {
        let parts: Vec<(String, i32)> = batches.iter().map(|(tp, _)| tp.clone()).collect();
        if let Err(e) = p.add_partitions_to_txn(&parts).await {
            for (tp, b) in batches {
                requeue(p, tp, b, &e);
            }
            return;
        }
    }
    let conn = match p.client.broker(leader).await {
        Ok(c) => c,
        Err(e) => {
            for (tp, b) in batches {
                p.client.invalidate(&tp.0);
                requeue(p, tp, b, &e);
            }
            return;
        }
    };
    let mut topics: Vec<TopicProduceData> = Vec::new();
    for ((topic, partition), b) in &batches {
        let pd = PartitionProduceData {
            index: *partition,
            records: Some(b.bytes.clone()),
            ..Default::default()
        };
        match topics.iter_mut().find(|t| &t.name == topic) {
            Some(t) => t.partition_data.push(pd),
            None => topics.push(TopicProduceData {
                name: topic.clone(),
                partition_data: vec![pd],
                ..Default::default()
            }),
        }
    }
    let req = ProduceRequest {
        transactional_id: p.cfg.transactional_id.clone(),
        acks: p.cfg.acks.wire(),
        timeout_ms: p.cfg.request_timeout_ms,
        topic_data: topics,
        ..Default::default()
    };
    let version = match conn.version_for::<ProduceRequest>() {
        Ok(v) => v,
        Err(e) => {
            for (tp, b) in batches {
                requeue(p, tp, b, &e);
            }
            return;
        }
    };
    if p.cfg.acks == Acks::None {
        let res = conn.send_no_response(&req, version).await;
        let mut st = p.state();
        for (tp, b) in batches {
            if let Some(q) = st.queues.get_mut(&tp) {
                q.in_flight.remove(&b.order);
            }
            for (w, ts) in b.waiters {
                let _ = w.send(res.clone().map(|()| RecordMetadata {
                    topic: tp.0.clone(),
                    partition: tp.1,
                    offset: -1,
                    timestamp: ts,
                }));
            }
        }
        return;
    }
    let response = match conn.start(&req, version) {
        Ok(r) => r,
        Err(e) => {
            for (tp, b) in batches {
                requeue(p, tp, b, &e);
            }
            return;
        }
    };
    let p = p.clone();
    let addr = conn.addr().to_owned();
    tokio::spawn(async move {
        let res = response.await;
        answered(&p, &addr, batches, res);
        p.shared.wake.notify_one();
    });
}

/// Settles the batches of one Produce request by its answer.
fn answered(p: &Core, addr: &str, batches: Round, res: Result<ProduceResponse, Error>) {
    match res {
        Ok(resp) => {
            let mut results: HashMap<(String, i32), (ErrorCode, i64, Option<String>)> = HashMap::new();
            for t in &resp.responses {
                for r in &t.partition_responses {
                    results.insert(
                        (t.name.clone(), r.index),
                        (ErrorCode(r.error_code), r.base_offset, r.error_message.clone()),
                    );
                }
            }
            for (tp, b) in batches {
                let Some((code, base, message)) = results.remove(&tp) else {
                    let err = Error::InvalidResponse {
                        api: "Produce",
                        broker: addr.to_owned(),
                        reason: format!("no result for {}-{}", tp.0, tp.1),
                    };
                    requeue(p, tp, b, &err);
                    continue;
                };
                if code.is_ok() || code == ErrorCode::DUPLICATE_SEQUENCE_NUMBER {
                    let mut st = p.state();
                    if let Some(q) = st.queues.get_mut(&tp) {
                        q.in_flight.remove(&b.order);
                    }
                    drop(st);
                    for (i, (w, ts)) in b.waiters.into_iter().enumerate() {
                        let _ = w.send(Ok(RecordMetadata {
                            topic: tp.0.clone(),
                            partition: tp.1,
                            offset: if base >= 0 { base + i as i64 } else { -1 },
                            timestamp: ts,
                        }));
                    }
                } else {
                    let err = Error::Broker {
                        api: "Produce",
                        topic: Some(tp.0.clone()),
                        partition: Some(tp.1),
                        code,
                        message,
                    };
                    if err.needs_metadata_refresh() {
                        p.client.invalidate(&tp.0);
                    }
                    requeue(p, tp, b, &err);
                }
            }
        }
        Err(e) => {
            // The outcome is unknown: the idempotent producer resends with the same sequence and
            // the broker drops a duplicate; a transactional one must also fence before the next
            // transaction.
            if p.cfg.transactional_id.is_some() {
                p.mark_unknown();
            }
            for (tp, b) in batches {
                if e.needs_metadata_refresh() {
                    p.client.invalidate(&tp.0);
                }
                requeue(p, tp, b, &e);
            }
        }
    }
}
