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
//! The parts, as the Java client has them:
//! - this module: the public [`Producer`], its settings and records, `send`, `flush` and `close`,
//!   and the state the parts share behind one lock;
//! - `accumulator`: the per-partition queues of batches, the sealing of batches into record
//!   batches, and the buffer memory;
//! - `sender`: the sender task and a task per leader that send the sealed batches, settle their
//!   answers and retry them in order;
//! - `transaction`: the transaction manager behind the producer's transactional calls: the
//!   producer id and epoch (InitProducerId), the transaction's partitions and offsets
//!   (AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit), EndTxn, and fencing.
//!
//! References: KIP-98 (idempotence and transactions), KIP-360 (epoch bump on InitProducerId),
//! KIP-679 (acks=all and idempotence by default), KIP-890 (transaction verification).

mod accumulator;
mod sender;
mod transaction;

use crate::client::{ClientError, TransactionError};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kwire_protocol::records::{Compression, Header};
use tokio::sync::{oneshot, Notify, Semaphore};

use self::accumulator::{Pending, Queue, BATCH_OVERHEAD};
use self::sender::sender_loop;
use super::partitioner::partition_for_key;
use super::{Client, Error};

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
    /// [`ClientError::RecordTooLarge`]. Brokers have a limit of their own (message.max.bytes, 1 MiB by
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

/// A Kafka producer. Cheap to clone; clones share batches and the sender task.
///
/// The sender task stops when the last clone is dropped, as when [`Producer::close`] is called
/// but without the flush: records still queued then fail with [`ClientError::ProducerDropped`] and are
/// never sent, so a writer that is killed (dropped) stops writing. A transaction it left open is
/// not ended; the broker aborts it after the transaction timeout, or at once when the next
/// producer with its transactional id calls [`Producer::init_transactions`].
#[derive(Debug, Clone)]
pub struct Producer {
    core: Core,
    /// Shared by the clones only (the sender task never holds it): its drop stops the sender.
    handle: Arc<Handle>,
}

/// The future result of [`Producer::send`].
pub type DeliveryFuture = oneshot::Receiver<Result<RecordMetadata, Error>>;

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
                let n = i32::try_from(self.core.client.partition_count(&record.topic).await?).unwrap_or(0);
                if n == 0 {
                    return Err(Error::Client(ClientError::NoLeader {
                        topic: record.topic.clone(),
                        partition: -1,
                    }));
                }
                match &record.key {
                    Some(k) => partition_for_key(k, n),
                    None => {
                        let mut st = self.core.state();
                        // The topic is copied once, for its first record.
                        let c = match st.round_robin.get_mut(record.topic.as_str()) {
                            Some(c) => c,
                            None => st.round_robin.entry(record.topic.clone()).or_insert(0),
                        };
                        *c = c.wrapping_add(1);
                        (*c & i32::MAX) % n
                    }
                }
            }
        };
        let (tx, rx) = oneshot::channel();
        let size = accumulator::record_size(&record);
        let serialized = size + BATCH_OVERHEAD;
        let memory = self.core.reserve(size).await?;
        let pending = Pending {
            timestamp: record.timestamp.unwrap_or_else(now_ms),
            key: record.key,
            value: record.value,
            headers: record.headers,
            waiter: tx,
            memory,
        };
        let wake = {
            let mut st = self.core.state();
            if let Some(e) = &st.fatal {
                return Err(e.clone());
            }
            if st.closed {
                return Err(Error::Client(ClientError::ProducerClosed));
            }
            let transactional = self.core.cfg.transactional_id.is_some();
            if transactional && !st.in_transaction {
                return Err(Error::Transaction(TransactionError::State {
                    call: "send",
                    why: "no transaction is open (call begin_transaction first)",
                }));
            }
            if let Some(e) = &st.txn_error {
                return Err(e.clone());
            }
            if serialized > self.core.cfg.max_request_size {
                let err = Error::Client(ClientError::RecordTooLarge {
                    topic: record.topic.clone(),
                    partition,
                    size: serialized,
                    limit: self.core.cfg.max_request_size,
                });
                st.record_failed(transactional, &(record.topic, partition), &err);
                return Err(err);
            }
            let q = st.queues.entry((record.topic, partition)).or_default();
            q.append(pending, size, self.core.cfg.batch_size)
        };
        if wake || self.core.cfg.linger.is_zero() {
            self.core.shared.wake.notify_one();
        }
        Ok(rx)
    }

    /// Sends `record` and waits for its acknowledgement.
    pub async fn send_and_wait(&self, record: ProducerRecord) -> Result<RecordMetadata, Error> {
        let rx = self.send(record).await?;
        self.flush_hint();
        rx.await.map_err(|_| {
            Error::Client(ClientError::TaskFailed(
                "the producer's sender ended without answering for the record".into(),
            ))
        })?
    }

    fn flush_hint(&self) {
        self.core.shared.wake.notify_one();
    }

    /// Sends everything queued now and waits until every record is acknowledged or failed.
    ///
    /// A record's own failure comes through its [`DeliveryFuture`]; flush fails after a fatal
    /// error, and in a transaction once a record of it failed ([`TransactionError::Failed`]).
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
            // The sender task says when the queues become idle or a fatal error is set; the
            // waiter was registered before the state was read, so no signal is lost.
            idle.await;
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

/// The state and the signals between the handles and the sender task.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    wake: Notify,
    idle: Notify,
    /// The buffer memory: a permit per byte of a record between send and its batch's end.
    memory: Arc<Semaphore>,
}

/// The state the parts share, behind one lock: the accumulator's queues, the transaction
/// manager's producer id, epoch and transaction, and whether the producer flushes, is closed or
/// was dropped.
#[derive(Debug, Default)]
struct State {
    queues: HashMap<(String, i32), Queue>,
    producer_id: i64,
    producer_epoch: i16,
    flushing: usize,
    closed: bool,
    /// `init_transactions` succeeded: transactions may begin.
    transactions_initialized: bool,
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
    /// The first failure of a record of the open transaction ([`TransactionError::Failed`]): the
    /// transaction can only be aborted (the Java client's abortable error state).
    txn_error: Option<Error>,
}

impl State {
    fn is_idle(&self) -> bool {
        self.queues.values().all(Queue::is_idle)
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
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    match state.lock() {
        Ok(s) => s,
        Err(p) => p.into_inner(),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
