//! The record accumulator: a queue of batches per partition, filled by
//! [`Producer::send`](super::Producer::send) and emptied by the sender, and the buffer memory that
//! bounds the bytes held between a send and the end of its batch.
//!
//! A record joins its partition's open batch, which is full at the batch size and due when its
//! first record has waited the linger (or at once on flush). The sender takes the batches that may
//! go ([`take_ready`], under the producer's lock), giving each its producer id, epoch, first
//! sequence number and place in its partition, and seals them into record batches
//! ([`seal_round`], outside the lock, where compression runs). A batch to send again goes back
//! into its queue in its place ([`Queue::reenqueue`]). Each record holds permits of the buffer
//! memory for its bytes until its batch is acknowledged or fails.
//!
//! References: the protocol guide's "Record Batch" section, KIP-98 (producer id, epoch and
//! sequence in the batch header).

use crate::client::{ClientError, ProtocolError};
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kwire_protocol::records::{BatchEncodeError, Compression, Header, RecordBatchBuilder};
use tokio::sync::{oneshot, OwnedSemaphorePermit};

use super::{Core, ProducerRecord, RecordMetadata, State};
use crate::client::Error;

/// What a record batch adds to its records (the v2 header: offset, length, epoch, magic, CRC,
/// attributes, offsets, timestamps, producer id, epoch, sequence, count), counted against
/// `max_request_size` with the record as the Java client does.
pub(super) const BATCH_OVERHEAD: usize = 61;

/// The bytes `record` is counted for, against the batch size and in the buffer memory: its key,
/// value and headers, and 16 for its framing in the batch.
pub(super) fn record_size(record: &ProducerRecord) -> usize {
    record.key.as_ref().map_or(0, Bytes::len)
        + record.value.as_ref().map_or(0, Bytes::len)
        + record
            .headers
            .iter()
            .map(|h| h.key.len() + h.value.as_ref().map_or(0, Bytes::len))
            .sum::<usize>()
        + 16
}

/// Where a record's result goes.
pub(super) type Waiter = oneshot::Sender<Result<RecordMetadata, Error>>;

/// A record waiting in an open batch.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) timestamp: i64,
    pub(super) key: Option<Bytes>,
    pub(super) value: Option<Bytes>,
    pub(super) headers: Vec<Header>,
    pub(super) waiter: Waiter,
    /// The record's share of the buffer memory, given back when its batch is done with.
    pub(super) memory: OwnedSemaphorePermit,
}

/// Records of a partition not sealed yet.
#[derive(Debug)]
pub(super) struct OpenBatch {
    records: Vec<Pending>,
    size: usize,
    created: Instant,
}

/// A batch encoded as a record batch, with the records' waiters and timestamps.
#[derive(Debug)]
pub(super) struct Sealed {
    pub(super) bytes: Bytes,
    pub(super) waiters: Vec<(Waiter, i64)>,
    /// The records' buffer memory, given back when the batch is dropped (acknowledged or failed).
    _memory: Option<OwnedSemaphorePermit>,
    pub(super) created: Instant,
    /// The batch's place in its partition (sealing order): a retried batch goes back before
    /// every later one.
    pub(super) order: u64,
}

/// A partition's batches: the open one, full ones waiting to be sealed, sealed ones waiting to be
/// sent again, and the places of those in flight.
#[derive(Debug, Default)]
pub(super) struct Queue {
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

impl Queue {
    /// Adds a record of `size` bytes to the open batch; whether the sender should be woken: a
    /// batch became full with this record, or a new batch was opened (its linger deadline is one the sender does
    /// not know yet).
    pub(super) fn append(&mut self, pending: Pending, size: usize, batch_size: usize) -> bool {
        let full_before = self.full.len();
        // A batch never grows past the batch size while an earlier one is in flight: a record
        // that would not fit starts a new batch (a record larger than the batch size goes
        // alone), so requests stay within the broker's message.max.bytes.
        if self
            .open
            .as_ref()
            .is_some_and(|o| !o.records.is_empty() && o.size + size > batch_size)
        {
            self.full.extend(self.open.take());
        }
        let opened = self.open.is_none();
        let open = self.open.get_or_insert_with(|| OpenBatch {
            records: Vec::new(),
            size: 0,
            created: Instant::now(),
        });
        open.records.push(pending);
        open.size += size;
        if open.size >= batch_size {
            self.full.extend(self.open.take());
        }
        // The sender is told of a new batch (its linger starts) and of a batch that became full;
        // full batches waiting for room in flight go when an answer wakes it, so the records
        // appended meanwhile do not wake it again, one by one.
        opened || self.full.len() > full_before
    }

    /// Whether the partition has nothing queued and nothing in flight.
    pub(super) fn is_idle(&self) -> bool {
        self.open.is_none() && self.full.is_empty() && self.sealed.is_empty() && self.in_flight.is_empty()
    }

    /// Fails the records not sealed yet (the open and the full batches) with `err`.
    pub(super) fn fail_unsealed(&mut self, err: &Error) {
        for open in self.full.drain(..).chain(self.open.take()) {
            for p in open.records {
                let _ = p.waiter.send(Err(err.clone()));
            }
        }
    }

    /// Starts the partition's sequence numbers over (a new producer id or epoch).
    pub(super) fn reset_sequence(&mut self) {
        self.next_sequence = 0;
    }

    /// The batch at `order` is no longer in flight (answered, failed, or back for a retry).
    pub(super) fn remove_in_flight(&mut self, order: u64) {
        self.in_flight.remove(&order);
    }

    /// Whether a batch before `order` is in flight or waiting to be sent again.
    pub(super) fn has_earlier(&self, order: u64) -> bool {
        self.in_flight.first().is_some_and(|o| *o < order)
            || self.sealed.front().is_some_and(|b| b.order < order)
    }

    /// Puts `batch` back before every later batch of the partition, to be sent again after
    /// `backoff` once the batches in flight have come back.
    pub(super) fn reenqueue(&mut self, batch: Sealed, backoff: Duration) {
        let at = self.sealed.partition_point(|b| b.order < batch.order);
        self.sealed.insert(at, batch);
        self.retry_at = Some(Instant::now() + backoff);
        self.draining = true;
    }
}

impl Core {
    /// Waits (up to the max block time) for `size` bytes of room in the buffer memory.
    pub(super) async fn reserve(&self, size: usize) -> Result<OwnedSemaphorePermit, Error> {
        let cfg = &self.cfg;
        let n = u32::try_from(size.min(cfg.buffer_memory)).unwrap_or(u32::MAX);
        let memory = Arc::clone(&self.shared.memory);
        if let Ok(p) = Arc::clone(&memory).try_acquire_many_owned(n) {
            return Ok(p);
        }
        match tokio::time::timeout(cfg.max_block, memory.acquire_many_owned(n)).await {
            Ok(Ok(p)) => Ok(p),
            // The semaphore is never closed.
            Ok(Err(_)) => Err(Error::Client(ClientError::ProducerDropped)),
            Err(_) => Err(Error::Client(ClientError::Timeout {
                what: format!(
                    "waiting for {size} bytes of room in the producer's buffer memory ({} bytes, full of records not yet acknowledged)",
                    cfg.buffer_memory
                ),
                after: cfg.max_block,
            })),
        }
    }
}

/// What the sender takes out of the queues in one round.
pub(super) type Round = Vec<((String, i32), Sealed)>;

/// The batches taken in one round, with their partitions.
pub(super) type Taken = Vec<((String, i32), Ready)>;

/// Takes every batch that may be sent now, and the time of the next linger deadline.
pub(super) fn take_ready(p: &Core, st: &mut State, now: Instant) -> (Taken, Option<Instant>) {
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
pub(super) enum Ready {
    /// A batch sent before, to be sent again as it is.
    Sealed(Sealed),
    /// A batch to seal, with its producer id, epoch and first sequence (when idempotent) and its
    /// place in its partition.
    Open {
        batch: OpenBatch,
        producer: Option<(i64, i16, i32)>,
        order: u64,
    },
}

/// Seals the batches of a round, outside the lock that `send` takes. A batch that cannot be
/// encoded fails its records; its sequence numbers are given back when no later batch has them.
pub(super) fn seal_round(p: &Core, ready: Taken) -> Round {
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
                match seal(&tp, batch, p.cfg.compression, producer, transactional) {
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

/// Seals a partition's open batch into record-batch bytes with its producer id and sequence.
fn seal(
    tp: &(String, i32),
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
                failed = Some(encode_error(tp, e));
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
        Err(e) => Err((waiters, encode_error(tp, e))),
    }
}

fn encode_error(tp: &(String, i32), source: BatchEncodeError) -> Error {
    Error::Protocol(ProtocolError::BatchEncode {
        topic: tp.0.clone(),
        partition: tp.1,
        source,
    })
}

/// Fails every record of a batch with `err`.
pub(super) fn fail_all(waiters: Vec<(Waiter, i64)>, err: &Error) {
    for (w, _) in waiters {
        let _ = w.send(Err(err.clone()));
    }
}

/// Fails every record that is queued and not in flight with `err`.
pub(super) fn fail_queued(st: &mut State, err: &Error) {
    for q in st.queues.values_mut() {
        q.fail_unsealed(err);
        for sealed in q.sealed.drain(..) {
            fail_all(sealed.waiters, err);
        }
        q.retry_at = None;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::{oneshot, Semaphore};

    use super::*;

    fn pending(memory: &Arc<Semaphore>) -> Pending {
        Pending {
            timestamp: 0,
            key: None,
            value: Some(Bytes::from_static(b"0123456789")),
            headers: Vec::new(),
            waiter: oneshot::channel().0,
            memory: Arc::clone(memory).try_acquire_owned().unwrap(),
        }
    }

    /// The sender is woken when a batch opens or becomes full, not for every record appended while
    /// full batches wait for room in flight (each wake-up of a parked thread is a system call).
    #[test]
    fn an_append_wakes_the_sender_only_when_a_batch_opens_or_fills() {
        let memory = Arc::new(Semaphore::new(1_000));
        let mut q = Queue::default();
        let woke: Vec<bool> = (0..10).map(|_| q.append(pending(&memory), 10, 30)).collect();
        // Batches of three records of 10 B in 30 B: the first opens one, the third fills it, and
        // the next opens the next one; the full batches are never taken here.
        assert_eq!(
            woke,
            [true, false, true, true, false, true, true, false, true, true]
        );
        assert_eq!(q.full.len(), 3);
    }
}
