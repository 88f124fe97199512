//! A consumer of assigned partitions (no group membership): start offsets, seek, pause and
//! resume, a bounded buffer that fetches only when it has room, and a [`Stream`] of per-partition
//! batches (or of single records, [`Consumer::records`]).
//!
//! Every reader of records in kwire goes through this one fetch loop: the source, `kwire consume`,
//! `kwire bench consume` and `kwire bench load`. Every error reaches the caller: a fetch that
//! fails yields the error, and the positions stay where they were, so polling again retries.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kwire_connector::client::Error> {
//! use futures_core::Stream;
//! use kwire_connector::client::{Client, Consumer, StartOffset};
//!
//! let client = Client::builder().bootstrap("127.0.0.1:9092").build().await?;
//! let mut consumer = Consumer::builder(client).build();
//! consumer.assign_topic("test", StartOffset::Earliest).await?;
//! while let Some(batch) = consumer.next_batch().await {
//!     for record in batch?.records {
//!         println!("{}: {:?}", record.offset, record.value);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Positions: a partition's position is the offset after the last batch the stream handed out
//! (control batches and aborted records included), which is what a checkpoint or an offset commit
//! stores. Batches buffered but not yet handed out are not counted.
//!
//! References: KIP-74 (fetch byte limits), KIP-98 (read_committed), the Java consumer's
//! `auto.offset.reset`, `seek`, `pause` and `resume`.

use crate::client::{BrokerError, ClientError, ProtocolError};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_core::Stream;
use kwire_protocol::records::ConsumerRecord;
use kwire_protocol::ErrorCode;

use super::fetch::reader_end;
use super::raw::{FetchOptions, Fetched};
use super::{Client, Error, IsolationLevel, OffsetReset, OffsetSpec};
use crate::core::fetch_plan::{BufferLimits, FetchDecision, FetchPlan};

/// Where a partition starts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartOffset {
    /// The log start offset.
    Earliest,
    /// The end as the consumer's isolation level sees it (the high watermark, or the last stable
    /// offset under read_committed): only records written from now on.
    Latest,
    /// The first record at or after this time (ms since the epoch); the end if none is.
    Timestamp(i64),
    /// This offset.
    At(i64),
    /// The offset committed under `group`; where none is, `otherwise`.
    Committed {
        /// The group id the offsets were committed under.
        group: String,
        /// Where to start a partition with no committed offset.
        otherwise: OffsetReset,
    },
}

/// What to do when the broker answers OFFSET_OUT_OF_RANGE, by why the offset is out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutOfRangePolicy {
    /// The offset is before the log start: the records were deleted (by retention, compaction of
    /// the head, or DeleteRecords). `None`: the error is returned.
    pub deleted: Option<OffsetReset>,
    /// The offset is past the log end: not yet written (a position from another cluster or a
    /// recreated topic, or a log truncated by an unclean leader election). `None`: the error is
    /// returned.
    pub not_yet_written: Option<OffsetReset>,
}

impl OutOfRangePolicy {
    /// Reset both cases to `to` (the Java consumer's `auto.offset.reset`).
    pub fn always(to: OffsetReset) -> Self {
        Self {
            deleted: Some(to),
            not_yet_written: Some(to),
        }
    }

    /// Never reset: return every OFFSET_OUT_OF_RANGE as an error.
    pub fn never() -> Self {
        Self {
            deleted: None,
            not_yet_written: None,
        }
    }
}

impl Default for OutOfRangePolicy {
    /// Records that are gone resume at the earliest one left (losing nothing that still exists);
    /// a position past the end is an error, since resetting would skip or re-read records
    /// silently.
    fn default() -> Self {
        Self {
            deleted: Some(OffsetReset::Earliest),
            not_yet_written: None,
        }
    }
}

/// Why an offset was out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutOfRange {
    /// Before the log start: deleted.
    Deleted,
    /// Past the log end: not yet written.
    NotYetWritten,
}

/// The records one fetch brought from one partition, in offset order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ConsumedBatch {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The data records (aborted ones left out under read_committed). May be empty when a fetch
    /// moved past control batches or aborted records only.
    pub records: Vec<ConsumerRecord>,
    /// The partition's position after this batch.
    pub next_offset: i64,
    /// The partition's high watermark when fetched.
    pub high_watermark: i64,
    /// The partition's last stable offset when fetched (-1 if unknown).
    pub last_stable_offset: i64,
    /// The bytes of record batches this came from.
    pub bytes: usize,
}

impl ConsumedBatch {
    /// How far the partition's end is past this batch: the high watermark, or the last stable
    /// offset under read_committed.
    pub fn lag(&self, isolation: IsolationLevel) -> i64 {
        (reader_end(self.high_watermark, self.last_stable_offset, isolation) - self.next_offset).max(0)
    }
}

/// One record with its topic and partition.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The record.
    pub record: ConsumerRecord,
}

/// Settings of a [`Consumer`], with the Java consumer's defaults.
#[derive(Debug, Clone)]
pub struct ConsumerBuilder {
    client: Client,
    max_wait: Duration,
    min_bytes: i32,
    partition_max_bytes: usize,
    isolation: IsolationLevel,
    pub(crate) limits: BufferLimits,
    out_of_range: OutOfRangePolicy,
}

impl ConsumerBuilder {
    pub(crate) fn client_ref(&self) -> &Client {
        &self.client
    }

    /// How long the broker may hold a fetch waiting for data (default 500 ms).
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// The bytes the broker waits for before it answers (default 1).
    pub fn min_bytes(mut self, bytes: i32) -> Self {
        self.min_bytes = bytes;
        self
    }

    /// The bytes per partition one fetch may ask for at least (default 1 MiB, the Java consumer's
    /// max.partition.fetch.bytes). When few partitions are fetched, each may take an equal share of
    /// the buffer's room instead, so one partition is read in fetches of up to the whole room
    /// rather than 1 MiB at a time. A larger first batch still comes whole (KIP-74).
    pub fn partition_max_bytes(mut self, bytes: usize) -> Self {
        self.partition_max_bytes = bytes;
        self
    }

    /// Read committed or uncommitted records (default uncommitted, as the Java consumer).
    pub fn isolation(mut self, isolation: IsolationLevel) -> Self {
        self.isolation = isolation;
        self
    }

    /// The bounds of the buffer (default 100,000 records, 50 MiB, the Java consumer's
    /// fetch.max.bytes): the consumer fetches only when the buffer has room, and asks for no more
    /// than the room.
    pub fn buffer(mut self, limits: BufferLimits) -> Self {
        self.limits = limits;
        self
    }

    /// What OFFSET_OUT_OF_RANGE does (default: deleted records resume at the earliest, a position
    /// past the end is an error).
    pub fn out_of_range(mut self, policy: OutOfRangePolicy) -> Self {
        self.out_of_range = policy;
        self
    }

    /// A consumer with no partitions yet.
    pub fn build(self) -> Consumer {
        Consumer {
            plan: FetchPlan::new(self.limits),
            config: self,
            parts: Vec::new(),
            index: HashMap::new(),
            buffer: VecDeque::new(),
            in_flight: None,
            waker: None,
            last_fetch: Duration::ZERO,
        }
    }
}

/// A partition the consumer reads.
#[derive(Debug)]
struct Partition {
    topic: Arc<str>,
    partition: i32,
    /// The next offset handed out.
    position: i64,
    /// The next offset fetched (ahead of `position` by what is buffered).
    fetch_at: i64,
    /// A bounded read ends here.
    stop: Option<i64>,
    paused: bool,
    /// False once unassigned (the slot stays, so indexes held by a fetch in flight stay valid).
    assigned: bool,
    /// Bumped by every seek: a fetch sent before it is stale.
    epoch: u64,
    high_watermark: i64,
}

impl Partition {
    fn fetchable(&self) -> bool {
        self.assigned && !self.paused && self.stop.is_none_or(|s| self.fetch_at < s)
    }

    fn finished(&self) -> bool {
        !self.assigned || self.stop.is_some_and(|s| self.position >= s)
    }
}

/// What a fetch in flight returns: per partition asked, the epoch it was asked at; how long it
/// took; its outcome.
type Round = (Vec<(usize, u64)>, Duration, Result<Outcome, Error>);

enum Outcome {
    Fetched(Vec<Fetched>),
    /// An out-of-range position the policy moved.
    Reset {
        index: usize,
        to: i64,
    },
}

/// A consumer of assigned partitions: start offsets, seek, pause and resume, a bounded buffer that
/// fetches only when it has room, and a [`Stream`] of per-partition batches.
pub struct Consumer {
    config: ConsumerBuilder,
    parts: Vec<Partition>,
    /// Topic -> (partition, index in `parts`).
    index: HashMap<Arc<str>, Vec<(i32, usize)>>,
    /// Batches fetched, not handed out, with the index of their partition.
    buffer: VecDeque<(usize, ConsumedBatch)>,
    plan: FetchPlan,
    /// The fetch in flight: a task of its own, so it proceeds while the caller processes what
    /// was handed out.
    in_flight: Option<tokio::task::JoinHandle<Round>>,
    /// The task waiting while nothing can be fetched (all paused or none assigned).
    waker: Option<Waker>,
    last_fetch: Duration,
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if let Some(task) = &self.in_flight {
            task.abort();
        }
    }
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("partitions", &self.parts)
            .field("buffered_batches", &self.buffer.len())
            .field("fetching", &self.in_flight.is_some())
            .finish_non_exhaustive()
    }
}

/// The Java consumer's fetch.max.bytes (50 MiB): the default room of a consumer's buffer.
const FETCH_MAX_BYTES: usize = 52_428_800;

impl Consumer {
    /// A builder with the Java consumer's defaults.
    pub fn builder(client: Client) -> ConsumerBuilder {
        ConsumerBuilder {
            client,
            max_wait: Duration::from_millis(500),
            min_bytes: 1,
            partition_max_bytes: 1 << 20,
            isolation: IsolationLevel::ReadUncommitted,
            limits: BufferLimits {
                max_records: 100_000,
                max_bytes: FETCH_MAX_BYTES,
                ..BufferLimits::default()
            },
            out_of_range: OutOfRangePolicy::default(),
        }
    }

    /// The client it fetches with.
    pub fn client(&self) -> &Client {
        &self.config.client
    }

    /// The isolation level it reads at.
    pub fn isolation(&self) -> IsolationLevel {
        self.config.isolation
    }

    /// Resolves `start` for `topic`-`partition`.
    pub async fn resolve(&self, topic: &str, partition: i32, start: &StartOffset) -> Result<i64, Error> {
        let client = &self.config.client;
        let earliest = || client.list_offset(topic, partition, OffsetSpec::Earliest);
        let latest = || client.end_offset(topic, partition, self.config.isolation);
        Ok(match start {
            StartOffset::Earliest => earliest().await?,
            StartOffset::Latest => latest().await?,
            StartOffset::At(o) => *o,
            StartOffset::Timestamp(ms) => match client
                .list_offset(topic, partition, OffsetSpec::Timestamp(*ms))
                .await?
            {
                -1 => latest().await?,
                o => o,
            },
            StartOffset::Committed { group, otherwise } => {
                let committed = client.committed_offsets(group, topic, &[partition]).await?;
                match (committed.iter().find(|(p, _)| *p == partition), otherwise) {
                    (Some((_, o)), _) if *o >= 0 => *o,
                    (_, OffsetReset::Earliest) => earliest().await?,
                    (_, OffsetReset::Latest) => latest().await?,
                }
            }
        })
    }

    /// Reads `topic`-`partition` from `start` (already assigned: moves it there, as
    /// [`Consumer::seek`]). Returns the offset it starts at.
    pub async fn assign(&mut self, topic: &str, partition: i32, start: StartOffset) -> Result<i64, Error> {
        let offset = self.resolve(topic, partition, &start).await?;
        self.assign_at(topic, partition, offset);
        Ok(offset)
    }

    /// Reads every partition of `topic` from `start`. Returns the partitions and their offsets.
    pub async fn assign_topic(&mut self, topic: &str, start: StartOffset) -> Result<Vec<(i32, i64)>, Error> {
        let meta = self.config.client.topic(topic).await?;
        let mut out = Vec::with_capacity(meta.partitions.len());
        for p in &meta.partitions {
            out.push((p.id, self.assign(topic, p.id, start.clone()).await?));
        }
        Ok(out)
    }

    /// Reads `topic`-`partition` from `offset`, with no request.
    pub fn assign_at(&mut self, topic: &str, partition: i32, offset: i64) {
        match self.index_of(topic, partition) {
            Some(_) => self.seek(topic, partition, offset),
            None => {
                let topic: Arc<str> = Arc::from(topic);
                self.index
                    .entry(Arc::clone(&topic))
                    .or_default()
                    .push((partition, self.parts.len()));
                self.parts.push(Partition {
                    topic,
                    partition,
                    position: offset,
                    fetch_at: offset,
                    stop: None,
                    paused: false,
                    assigned: true,
                    epoch: 0,
                    high_watermark: -1,
                });
                self.wake();
            }
        }
    }

    /// Stops reading `topic`-`partition`: what is buffered for it is dropped, a fetch in flight
    /// for it is ignored when it returns, and it has no position until assigned again.
    pub fn unassign(&mut self, topic: &str, partition: i32) {
        let Some(i) = self.index_of(topic, partition) else {
            return;
        };
        self.drop_buffered(i);
        let p = &mut self.parts[i];
        p.assigned = false;
        p.paused = false;
        p.stop = None;
        p.epoch += 1;
    }

    /// Ends the read of `topic`-`partition` at `offset` (exclusive): records at or after it are
    /// not handed out, and the stream ends once every partition reached its stop.
    pub fn stop_at(&mut self, topic: &str, partition: i32, offset: i64) {
        if let Some(i) = self.index_of(topic, partition) {
            self.parts[i].stop = Some(offset);
        }
    }

    /// Moves `topic`-`partition` to `offset`: what was buffered for it is dropped, and a fetch in
    /// flight for it is ignored when it returns.
    pub fn seek(&mut self, topic: &str, partition: i32, offset: i64) {
        let Some(i) = self.index_of(topic, partition) else {
            return;
        };
        self.drop_buffered(i);
        let p = &mut self.parts[i];
        p.position = offset;
        p.fetch_at = offset;
        p.assigned = true;
        p.epoch += 1;
        self.wake();
    }

    /// Stops fetching `topic`-`partition`; what is buffered is still handed out.
    pub fn pause(&mut self, topic: &str, partition: i32) {
        if let Some(i) = self.index_of(topic, partition) {
            self.parts[i].paused = true;
        }
    }

    /// Fetches `topic`-`partition` again after [`Consumer::pause`].
    pub fn resume(&mut self, topic: &str, partition: i32) {
        if let Some(i) = self.index_of(topic, partition) {
            self.parts[i].paused = false;
            self.wake();
        }
    }

    /// The next offset [`Consumer::next_batch`] hands out for `topic`-`partition`.
    pub fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        self.index_of(topic, partition)
            .filter(|i| self.parts[*i].assigned)
            .map(|i| self.parts[i].position)
    }

    /// Every partition's position, in the order they were assigned.
    pub fn positions(&self) -> Vec<(Arc<str>, i32, i64)> {
        self.parts
            .iter()
            .filter(|p| p.assigned)
            .map(|p| (Arc::clone(&p.topic), p.partition, p.position))
            .collect()
    }

    /// The high watermark of `topic`-`partition` at its last fetch (-1 before one).
    pub fn high_watermark(&self, topic: &str, partition: i32) -> Option<i64> {
        self.index_of(topic, partition)
            .map(|i| self.parts[i].high_watermark)
    }

    /// Whether every partition has a stop and reached it (never, without stops).
    pub fn is_finished(&self) -> bool {
        self.buffer.is_empty()
            && self.parts.iter().any(|p| p.assigned)
            && self.parts.iter().all(Partition::finished)
    }

    /// Records and bytes buffered now.
    pub fn buffered(&self) -> (usize, usize) {
        (self.plan.buffered_records(), self.plan.buffered_bytes())
    }

    /// How long the last fetch took.
    pub fn last_fetch(&self) -> Duration {
        self.last_fetch
    }

    /// A batch already buffered, with no waiting (and a fetch started if there is room).
    pub fn try_next_batch(&mut self) -> Option<ConsumedBatch> {
        self.start_fetch();
        self.pop()
    }

    fn pop(&mut self) -> Option<ConsumedBatch> {
        let (i, batch) = self.buffer.pop_front()?;
        self.plan.handle_consumed(batch.records.len(), batch.bytes);
        self.parts[i].position = batch.next_offset;
        Some(batch)
    }

    /// The most bytes the buffer ever held.
    pub fn peak_buffered_bytes(&self) -> usize {
        self.plan.peak_bytes()
    }

    /// The next batch; `None` once a bounded read is finished. Cancel-safe: dropping the future
    /// loses nothing (a fetch in flight goes on with the next call).
    pub async fn next_batch(&mut self) -> Option<Result<ConsumedBatch, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The records one at a time, with their topic and partition.
    pub fn records(self) -> Records {
        Records {
            consumer: self,
            current: None,
        }
    }

    fn index_of(&self, topic: &str, partition: i32) -> Option<usize> {
        self.index
            .get(topic)?
            .iter()
            .find(|(p, _)| *p == partition)
            .map(|(_, i)| *i)
    }

    fn wake(&mut self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    fn drop_buffered(&mut self, i: usize) {
        let plan = &mut self.plan;
        self.buffer.retain(|(at, batch)| {
            if *at == i {
                plan.handle_consumed(batch.records.len(), batch.bytes);
            }
            *at != i
        });
    }

    /// Starts a fetch if there is room and something to fetch.
    fn start_fetch(&mut self) {
        if self.in_flight.is_some() {
            return;
        }
        let asked: Vec<usize> = (0..self.parts.len())
            .filter(|i| self.parts[*i].fetchable())
            .collect();
        if asked.is_empty() {
            return;
        }
        let FetchDecision::Fetch { max_bytes } = self.plan.poll_fetch() else {
            return;
        };
        let c = &self.config;
        let options = FetchOptions {
            max_wait: c.max_wait,
            min_bytes: c.min_bytes,
            max_bytes: i32::try_from(max_bytes).unwrap_or(i32::MAX),
            partition_max_bytes: i32::try_from(partition_limit(
                max_bytes,
                asked.len(),
                c.partition_max_bytes,
            ))
            .unwrap_or(i32::MAX),
            isolation: c.isolation,
        };
        let wanted: Vec<(String, i32, i64)> = asked
            .iter()
            .map(|i| {
                let p = &self.parts[*i];
                (p.topic.to_string(), p.partition, p.fetch_at)
            })
            .collect();
        let epochs: Vec<(usize, u64)> = asked.iter().map(|i| (*i, self.parts[*i].epoch)).collect();
        let client = c.client.clone();
        let policy = c.out_of_range;
        self.in_flight = Some(tokio::spawn(async move {
            let started = std::time::Instant::now();
            let res = fetch_round(&client, &wanted, &asked, &options, policy).await;
            (epochs, started.elapsed(), res)
        }));
    }

    /// Takes a finished fetch's outcome into the buffer. Returns the error to hand out.
    fn take_round(&mut self, (epochs, took, res): Round) -> Result<(), Error> {
        self.last_fetch = took;
        let fetched = match res {
            Err(e) => {
                self.plan.handle_fetched(0, 0);
                return Err(e);
            }
            Ok(Outcome::Reset { index, to }) => {
                self.plan.handle_fetched(0, 0);
                let asked_epoch = epochs.iter().find(|(i, _)| *i == index).map(|(_, e)| *e);
                let p = &mut self.parts[index];
                if asked_epoch == Some(p.epoch) {
                    p.fetch_at = to;
                    if self.buffer.iter().all(|(i, _)| *i != index) {
                        p.position = to;
                    }
                }
                return Ok(());
            }
            Ok(Outcome::Fetched(f)) => f,
        };
        let (mut records, mut bytes) = (0, 0);
        for f in fetched {
            let Some(i) = self.index_of(&f.topic, f.partition) else {
                continue;
            };
            let current = epochs.iter().any(|(at, e)| *at == i && *e == self.parts[i].epoch);
            if !current {
                continue; // Sought elsewhere while this was in flight.
            }
            let p = &mut self.parts[i];
            p.high_watermark = f.high_watermark;
            let mut batch_records = f.records;
            let mut next = f.next_offset.max(p.fetch_at);
            if let Some(stop) = p.stop {
                if let Some(cut) = batch_records.iter().position(|r| r.offset >= stop) {
                    batch_records.truncate(cut);
                }
                next = next.min(stop.max(p.fetch_at));
            }
            if next == p.fetch_at && batch_records.is_empty() {
                continue; // Nothing new.
            }
            p.fetch_at = next;
            records += batch_records.len();
            bytes += f.bytes;
            let batch = ConsumedBatch {
                topic: Arc::clone(&p.topic),
                partition: p.partition,
                records: batch_records,
                next_offset: next,
                high_watermark: f.high_watermark,
                last_stable_offset: f.last_stable_offset,
                bytes: f.bytes,
            };
            self.buffer.push_back((i, batch));
        }
        self.plan.handle_fetched(records, bytes);
        Ok(())
    }
}

impl Stream for Consumer {
    type Item = Result<ConsumedBatch, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            // Fetch ahead while there is room, so the next batch is on its way while this one is
            // processed.
            this.start_fetch();
            if let Some(batch) = this.pop() {
                return Poll::Ready(Some(Ok(batch)));
            }
            if this.is_finished() {
                return Poll::Ready(None);
            }
            let Some(fut) = this.in_flight.as_mut() else {
                // Nothing to fetch: all paused, none assigned, or stops reached with nothing
                // buffered. Assigning, seeking or resuming wakes the task.
                this.waker = Some(cx.waker().clone());
                return Poll::Pending;
            };
            let round = match Pin::new(fut).poll(cx) {
                Poll::Ready(Ok(r)) => r,
                Poll::Ready(Err(e)) => {
                    this.in_flight = None;
                    this.plan.handle_fetched(0, 0);
                    return Poll::Ready(Some(Err(Error::Client(ClientError::TaskFailed(format!(
                        "the consumer's fetch: {e}"
                    ))))));
                }
                Poll::Pending => return Poll::Pending,
            };
            this.in_flight = None;
            if let Err(e) = this.take_round(round) {
                return Poll::Ready(Some(Err(e)));
            }
        }
    }
}

/// A [`Consumer`]'s records one at a time (see [`Consumer::records`]).
#[derive(Debug)]
pub struct Records {
    consumer: Consumer,
    current: Option<(Arc<str>, i32, std::vec::IntoIter<ConsumerRecord>)>,
}

impl Records {
    /// The consumer, for its positions, seeks and pauses.
    pub fn consumer(&mut self) -> &mut Consumer {
        &mut self.consumer
    }

    /// The next record; `None` once a bounded read is finished.
    pub async fn next_record(&mut self) -> Option<Result<Record, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl Stream for Records {
    type Item = Result<Record, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some((topic, partition, records)) = &mut this.current {
                if let Some(record) = records.next() {
                    return Poll::Ready(Some(Ok(Record {
                        topic: Arc::clone(topic),
                        partition: *partition,
                        record,
                    })));
                }
                this.current = None;
            }
            match Pin::new(&mut this.consumer).poll_next(cx) {
                Poll::Ready(Some(Ok(batch))) => {
                    this.current = Some((batch.topic, batch.partition, batch.records.into_iter()));
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// How far back from a position a read steps to find the start of the batch it is in, on a
/// broker that answers nothing for an offset inside a batch (the most records in one batch that
/// it will look through).
const MAX_BATCH_PROBE: i64 = 100_000;

/// One fetch of `wanted` (`asked` are their indexes in the consumer): the records, or the reset
/// of a partition whose position was out of range, or the error.
async fn fetch_round(
    client: &Client,
    wanted: &[(String, i32, i64)],
    asked: &[usize],
    options: &FetchOptions,
    policy: OutOfRangePolicy,
) -> Result<Outcome, Error> {
    let mut fetched = match client.fetch(wanted, options).await {
        Ok(f) => f,
        Err(e) => {
            let Some((at, why, to)) = out_of_range(client, wanted, &e, policy, options.isolation).await?
            else {
                return Err(e);
            };
            let (topic, partition, offset) = &wanted[at];
            let Some(to) = to else {
                return Err(Error::Client(ClientError::OffsetOutOfRange {
                    topic: topic.clone(),
                    partition: *partition,
                    offset: *offset,
                    why,
                }));
            };
            tracing::warn!(%topic, partition, offset, to, ?why, "offset out of range: reset");
            return Ok(Outcome::Reset { index: asked[at], to });
        }
    };
    // A broker sends the first partition with data at least one batch: a response with no bytes
    // at all while a partition has records at its position means the broker cannot read from
    // there. tansu answers so for an offset inside a batch (Apache Kafka returns the batch;
    // docs/interop.md): step back to the batch's start, where it answers.
    if fetched.iter().all(|f| f.bytes == 0) {
        for f in &mut fetched {
            let Some((_, _, pos)) = wanted.iter().find(|(t, p, _)| *t == f.topic && *p == f.partition) else {
                continue;
            };
            if *pos < f.end(options.isolation) {
                *f = read_inside_batch(client, f, *pos, options).await?;
            }
        }
    }
    Ok(Outcome::Fetched(fetched))
}

/// Classifies an OFFSET_OUT_OF_RANGE `e` for one of `wanted`: its index there, why, and where the
/// policy moves it (`None`: it does not). `Ok(None)`: `e` is another error.
async fn out_of_range(
    client: &Client,
    wanted: &[(String, i32, i64)],
    e: &Error,
    policy: OutOfRangePolicy,
    isolation: IsolationLevel,
) -> Result<Option<(usize, OutOfRange, Option<i64>)>, Error> {
    let Error::Broker(BrokerError {
        code: ErrorCode::OFFSET_OUT_OF_RANGE,
        topic: Some(topic),
        partition: Some(partition),
        ..
    }) = e
    else {
        return Ok(None);
    };
    let Some(at) = wanted.iter().position(|(t, p, _)| t == topic && p == partition) else {
        return Ok(None);
    };
    let offset = wanted[at].2;
    let start = client
        .list_offset(topic, *partition, OffsetSpec::Earliest)
        .await?;
    let why = if offset < start {
        OutOfRange::Deleted
    } else {
        OutOfRange::NotYetWritten
    };
    let reset = match why {
        OutOfRange::Deleted => policy.deleted,
        OutOfRange::NotYetWritten => policy.not_yet_written,
    };
    let to = match reset {
        None => None,
        Some(OffsetReset::Earliest) => Some(start),
        Some(OffsetReset::Latest) => Some(client.end_offset(topic, *partition, isolation).await?),
    };
    Ok(Some((at, why, to)))
}

/// The records from `pos` on, fetched from the start of the batch `pos` is in (see
/// [`fetch_round`]).
async fn read_inside_batch(
    client: &Client,
    f: &Fetched,
    pos: i64,
    options: &FetchOptions,
) -> Result<Fetched, Error> {
    let options = FetchOptions {
        max_wait: Duration::ZERO,
        min_bytes: 0,
        ..options.clone()
    };
    let floor = f.log_start_offset.max(0).max(pos - MAX_BATCH_PROBE);
    let mut from = pos;
    while from > floor {
        from -= 1;
        let mut got = client.fetch_one(&f.topic, f.partition, from, &options).await?;
        if got.bytes > 0 {
            got.records.retain(|r| r.offset >= pos);
            got.markers.retain(|m| m.offset >= pos);
            got.next_offset = got.next_offset.max(pos);
            return Ok(got);
        }
    }
    Err(Error::Protocol(ProtocolError::Unreadable {
        topic: f.topic.clone(),
        partition: f.partition,
        offset: pos,
        high_watermark: f.high_watermark,
    }))
}

/// The per-partition byte limit of a fetch asking for `room` bytes of `partitions` partitions: an
/// equal share of the room, at least `floor` (the configured limit) and at most the room.
fn partition_limit(room: usize, partitions: usize, floor: usize) -> usize {
    (room / partitions.max(1)).max(floor).min(room)
}

#[cfg(test)]
mod tests {
    use super::partition_limit;

    #[test]
    fn a_partition_takes_its_share_of_the_room_and_at_least_the_configured_limit() {
        const MIB: usize = 1 << 20;
        // One partition: the whole room.
        assert_eq!(partition_limit(16 * MIB, 1, MIB), 16 * MIB);
        // Four: a quarter each.
        assert_eq!(partition_limit(16 * MIB, 4, MIB), 4 * MIB);
        // Many: the configured limit, as the Java consumer.
        assert_eq!(partition_limit(16 * MIB, 100, MIB), MIB);
        // Never more than the room.
        assert_eq!(partition_limit(64 << 10, 1, MIB), 64 << 10);
        assert_eq!(partition_limit(MIB, 0, MIB), MIB);
    }
}
