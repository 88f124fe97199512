//! The Kafka source, as Flink's KafkaSource reads Kafka, without a JVM.
//!
//! A [`KafkaSource`] is the job-wide description (topics, parallelism, start and stop offsets);
//! [`KafkaSource::reader`] makes the reader of one parallel instance. Partitions go to instances by
//! [`crate::core::assign::owner`], without a consumer group, so the same partitions go to the same
//! instance after a restart. A reader fetches only when its bounded buffer has room
//! ([`crate::core::fetch_plan`]): a slow downstream slows the fetching. Records of a partition
//! reach the downstream in offset order.
//!
//! Checkpoints: [`SourceReader::snapshot`] returns, per owned partition, the next offset to hand
//! downstream (past trailing transaction markers, so monitoring shows no phantom lag);
//! [`SourceReader::notify_checkpoint_complete`] commits those offsets under the group id, never
//! before; [`KafkaSource::reader`] with a restored [`SourceState`] resumes exactly there. The state
//! always holds resolved offsets, never "latest" or "earliest".
//!
//! References: FLIP-27 (the Source API), Flink's KafkaSource documentation and
//! `KafkaSourceEnumerator`, KIP-98 (transaction markers).

use crate::client::ClientError;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kwire_protocol::error::{DecodeError, DecodeErrorKind};
use kwire_protocol::primitives::{Decoder, Encoder};
use kwire_protocol::records::{ConsumerRecord, Header};
use tracing::{debug, info, warn};

use crate::client::{
    Client, ConsumedBatch, Consumer, Error, IsolationLevel, OffsetReset, OffsetSpec, OutOfRangePolicy,
    StartOffset,
};
use crate::core::assign::owner;
use crate::core::checkpoint::{CheckpointTracker, Offsets, TopicPartition};
use crate::core::fetch_plan::BufferLimits;

/// Where a partition without checkpointed state starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StartingOffsets {
    /// The log start offset.
    #[default]
    Earliest,
    /// The log end offset at start-up: only records written after.
    Latest,
    /// The group's committed offset, or `reset` where none is stored.
    Committed {
        /// Where to start without a committed offset.
        reset: OffsetReset,
    },
    /// The first record at or after this time (ms since the epoch); the end where there is none.
    Timestamp(i64),
    /// Given offsets; partitions not listed start at the earliest.
    Specific(Offsets),
}

/// Where a bounded read stops. The reader ends once every owned partition reached its stop offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoppingOffsets {
    /// The log end offsets seen when the reader starts.
    Latest,
    /// Given offsets (exclusive); partitions not listed are unbounded.
    Specific(Offsets),
}

/// A record as the source hands it downstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    /// The topic (shared by the records of a partition, not copied per record).
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The timestamp (ms since the epoch).
    pub timestamp: i64,
    /// The key.
    pub key: Option<Bytes>,
    /// The value.
    pub value: Option<Bytes>,
    /// The headers.
    pub headers: Vec<Header>,
}

/// The checkpointed state of one reader: the next offset to read per owned partition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceState {
    /// Next offset to hand downstream, per partition.
    pub offsets: Offsets,
}

/// The offsets' format: magic, version, the offsets, CRC-32C of all before it. The first format
/// had no header (a u32 count first) and is still read: its first byte is 0 for any count a
/// checkpoint can hold, and the magic's is not.
const STATE_MAGIC: &[u8; 4] = b"KWSO";
const STATE_VERSION: u8 = 1;

impl SourceState {
    /// The state as bytes, for a checkpoint store: magic `KWSO`, version 1, a count, then per
    /// partition the topic (u32 length + UTF-8), the partition (i32) and the offset (i64), then a
    /// CRC-32C of everything before it; all big-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.raw(STATE_MAGIC);
        e.i8(STATE_VERSION as i8);
        e.u32(u32::try_from(self.offsets.len()).unwrap_or(u32::MAX));
        for ((topic, partition), offset) in &self.offsets {
            e.u32(u32::try_from(topic.len()).unwrap_or(u32::MAX));
            e.raw(topic.as_bytes());
            e.i32(*partition);
            e.i64(*offset);
        }
        let crc = crc32c::crc32c(&e.buf_mut()[..]);
        e.u32(crc);
        e.into_inner().to_vec()
    }

    /// Reads what [`Self::to_bytes`] wrote (or the first, header-less format); a typed error on
    /// damaged bytes or a version this build does not know.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let Some(rest) = bytes.strip_prefix(STATE_MAGIC) else {
            return Self::read_offsets(bytes);
        };
        let invalid = |why| DecodeError::new(DecodeErrorKind::Invalid(why), 0);
        let (body, crc) = rest
            .split_at_checked(
                rest.len()
                    .checked_sub(4)
                    .ok_or_else(|| invalid("source state: truncated"))?,
            )
            .ok_or_else(|| invalid("source state: truncated"))?;
        let mut whole = crc32c::crc32c(STATE_MAGIC);
        whole = crc32c::crc32c_append(whole, body);
        if whole.to_be_bytes() != crc {
            return Err(invalid("source state: CRC mismatch"));
        }
        match body.split_first() {
            Some((&STATE_VERSION, offsets)) => Self::read_offsets(offsets),
            Some(_) => Err(invalid("source state: a newer version than this build reads")),
            None => Err(invalid("source state: truncated")),
        }
    }

    fn read_offsets(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Decoder::new(Bytes::copy_from_slice(bytes));
        let count = d.u32()?;
        let mut offsets = Offsets::new();
        for _ in 0..count {
            let len = d.u32()?;
            let topic = d.utf8(len as usize)?;
            let partition = d.i32()?;
            offsets.insert((topic, partition), d.i64()?);
        }
        d.finish()?;
        Ok(Self { offsets })
    }

    /// One state holding every partition of `states` (the states of all instances of a source):
    /// after a restore each reader takes the partitions it owns, whatever the parallelism was.
    pub fn merge<'a>(states: impl IntoIterator<Item = &'a Self>) -> Self {
        let mut offsets = Offsets::new();
        for s in states {
            offsets.extend(s.offsets.iter().map(|(k, v)| (k.clone(), *v)));
        }
        Self { offsets }
    }
}

/// What a reader has done, for monitoring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMetrics {
    /// Records handed downstream.
    pub records: u64,
    /// Bytes of record batches fetched.
    pub bytes: u64,
    /// Records and bytes buffered now.
    pub buffered_records: usize,
    /// Bytes buffered now.
    pub buffered_bytes: usize,
    /// The most bytes ever buffered.
    pub peak_buffered_bytes: usize,
    /// Whether the reader owns no partition (it then holds back no watermark).
    pub idle: bool,
    /// Per partition: high watermark minus the next offset, from the last fetch.
    pub lag: BTreeMap<TopicPartition, i64>,
    /// Duration of the last fetch.
    pub last_fetch: Duration,
    /// Commits to the broker that failed (they are retried with the next checkpoint).
    pub failed_commits: u64,
}

/// Chooses topics by name, for a source that reads every topic matching a pattern (new matching
/// topics are found by partition discovery). The library takes a predicate so that any pattern
/// language fits, e.g. `move |t| re.is_match(t)` with the `regex` crate.
#[derive(Clone)]
pub struct TopicFilter(Arc<dyn Fn(&str) -> bool + Send + Sync>);

impl TopicFilter {
    /// A filter from a predicate over topic names.
    pub fn new(f: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Whether `topic` is chosen.
    pub fn matches(&self, topic: &str) -> bool {
        (self.0)(topic)
    }
}

impl fmt::Debug for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TopicFilter(..)")
    }
}

/// The job-wide description of a Kafka source.
#[derive(Debug, Clone)]
pub struct KafkaSource {
    client: Client,
    topics: Vec<String>,
    filter: Option<TopicFilter>,
    pub(crate) parallelism: usize,
    starting: StartingOffsets,
    stopping: Option<StoppingOffsets>,
    isolation: IsolationLevel,
    group_id: Option<String>,
    limits: BufferLimits,
    max_wait: Duration,
    discovery: Option<Duration>,
}

/// Builds a [`KafkaSource`].
#[derive(Debug, Clone)]
pub struct KafkaSourceBuilder {
    source: KafkaSource,
}

impl KafkaSource {
    /// A builder reading `topics` through `client`, with parallelism 1, from the earliest offsets,
    /// unbounded, read_uncommitted, a 16 MiB / 10,000-record buffer per reader.
    pub fn builder(client: Client, topics: &[&str]) -> KafkaSourceBuilder {
        KafkaSourceBuilder {
            source: Self {
                client,
                topics: topics.iter().map(|t| (*t).to_owned()).collect(),
                filter: None,
                parallelism: 1,
                starting: StartingOffsets::Earliest,
                stopping: None,
                isolation: IsolationLevel::ReadUncommitted,
                group_id: None,
                limits: BufferLimits::default(),
                max_wait: Duration::from_millis(100),
                discovery: Some(Duration::from_secs(30)),
            },
        }
    }

    /// A builder reading every topic whose name `filter` accepts, now and later (new topics are
    /// found at each partition discovery and read from the earliest offset); otherwise as
    /// [`Self::builder`].
    pub fn builder_matching(client: Client, filter: TopicFilter) -> KafkaSourceBuilder {
        let mut b = Self::builder(client, &[]);
        b.source.filter = Some(filter);
        b
    }

    /// The number of parallel readers.
    pub fn parallelism(&self) -> usize {
        self.parallelism
    }

    /// The reader of instance `instance`, resuming from `restored` if given (partitions absent from
    /// it start as the starting offsets say; partitions found later start from the earliest).
    pub async fn reader(
        &self,
        instance: usize,
        restored: Option<SourceState>,
    ) -> Result<SourceReader, Error> {
        if instance >= self.parallelism {
            return Err(Error::Client(ClientError::InvalidArgument(format!(
                "instance {instance} of parallelism {}",
                self.parallelism
            ))));
        }
        // A position the log no longer has resumes at the log start, whichever side it is on.
        let consumer = Consumer::builder(self.client.clone())
            .max_wait(self.max_wait)
            .isolation(self.isolation)
            .buffer(self.limits)
            .out_of_range(OutOfRangePolicy::always(OffsetReset::Earliest))
            .build();
        let mut reader = SourceReader {
            source: self.clone(),
            instance,
            positions: BTreeMap::new(),
            stops: BTreeMap::new(),
            consumer,
            current: None,
            tracker: CheckpointTracker::new(),
            metrics: SourceMetrics::default(),
            last_discovery: Instant::now(),
            restored: restored.map(|s| s.offsets).unwrap_or_default(),
            first_start: true,
        };
        reader.discover().await?;
        reader.first_start = false;
        Ok(reader)
    }
}

impl KafkaSourceBuilder {
    /// The number of parallel readers (default 1).
    pub fn parallelism(mut self, n: usize) -> Self {
        self.source.parallelism = n.max(1);
        self
    }

    /// Where partitions without checkpointed state start (default earliest).
    pub fn starting_offsets(mut self, s: StartingOffsets) -> Self {
        self.source.starting = s;
        self
    }

    /// Makes the read bounded: it ends at these offsets.
    pub fn stopping_offsets(mut self, s: StoppingOffsets) -> Self {
        self.source.stopping = Some(s);
        self
    }

    /// read_committed or read_uncommitted (default).
    pub fn isolation(mut self, i: IsolationLevel) -> Self {
        self.source.isolation = i;
        self
    }

    /// The group id under which completed checkpoints' offsets are committed (for monitoring;
    /// no group membership).
    pub fn group_id(mut self, g: &str) -> Self {
        self.source.group_id = Some(g.to_owned());
        self
    }

    /// Each reader's buffer bounds.
    pub fn buffer(mut self, limits: BufferLimits) -> Self {
        self.source.limits = limits;
        self
    }

    /// How long the broker may hold a fetch (default 100 ms).
    pub fn max_wait(mut self, d: Duration) -> Self {
        self.source.max_wait = d;
        self
    }

    /// How often new partitions are looked for (default 30 s). `None` turns discovery off, which
    /// must be said explicitly: a partition added later is then never read.
    pub fn partition_discovery(mut self, every: Option<Duration>) -> Self {
        self.source.discovery = every;
        self
    }

    /// The source.
    pub fn build(self) -> KafkaSource {
        self.source
    }
}

/// The batch a reader is handing downstream. The position of its partition moves here, per
/// record, and reaches the reader's table at the batch's end or at a snapshot: no map lookup or
/// string copy per record.
#[derive(Debug)]
struct Current {
    topic: Arc<str>,
    tp: TopicPartition,
    /// The next offset to hand downstream.
    position: i64,
    /// The position after the batch (past control batches).
    next: i64,
    records: std::vec::IntoIter<ConsumerRecord>,
}

/// The reader of one parallel instance.
#[derive(Debug)]
pub struct SourceReader {
    source: KafkaSource,
    instance: usize,
    /// Next offset to hand downstream, per owned partition.
    positions: BTreeMap<TopicPartition, i64>,
    stops: BTreeMap<TopicPartition, i64>,
    /// Fetches the owned partitions: one fetch loop for every reader of records in kwire.
    consumer: Consumer,
    /// The batch being handed downstream.
    current: Option<Current>,
    tracker: CheckpointTracker,
    metrics: SourceMetrics,
    last_discovery: Instant,
    restored: Offsets,
    first_start: bool,
}

impl SourceReader {
    /// This reader's instance index.
    pub fn instance(&self) -> usize {
        self.instance
    }

    /// The partitions this reader owns, in order.
    pub fn assigned(&self) -> Vec<TopicPartition> {
        self.positions.keys().cloned().collect()
    }

    /// What the reader has done.
    pub fn metrics(&self) -> SourceMetrics {
        let mut m = self.metrics.clone();
        let (records, bytes) = self.consumer.buffered();
        m.buffered_records = records;
        m.buffered_bytes = bytes;
        m.peak_buffered_bytes = self.consumer.peak_buffered_bytes();
        m.last_fetch = self.consumer.last_fetch();
        m.idle = self.positions.is_empty();
        m
    }

    /// Finds the partitions of the topics that this instance owns and are not known yet, and
    /// resolves where each starts.
    async fn discover(&mut self) -> Result<(), Error> {
        let mut topics = self.source.topics.clone();
        if let Some(filter) = &self.source.filter {
            match self.source.client.list_topics().await {
                Ok(all) => topics.extend(all.into_iter().filter(|t| filter.matches(t))),
                Err(e) if !self.first_start => warn!(error = %e, "topic discovery failed"),
                Err(e) => return Err(e),
            }
            topics.sort();
            topics.dedup();
        }
        for topic in topics {
            self.source.client.invalidate(&topic);
            let meta = match self.source.client.topic(&topic).await {
                Ok(m) => m,
                Err(e) if !self.first_start => {
                    warn!(%topic, error = %e, "partition discovery failed");
                    continue;
                }
                Err(e) => return Err(e),
            };
            for p in &meta.partitions {
                let tp = (topic.clone(), p.id);
                if self.positions.contains_key(&tp)
                    || owner(&topic, p.id, self.source.parallelism) != Some(self.instance)
                {
                    continue;
                }
                let start = match self.restored.get(&tp) {
                    Some(o) => *o,
                    // Found after the start (not in the first discovery): from the earliest.
                    None if !self.first_start => {
                        self.source
                            .client
                            .list_offset(&topic, p.id, OffsetSpec::Earliest)
                            .await?
                    }
                    None => self.resolve_start(&tp).await?,
                };
                if let Some(stop) = self.resolve_stop(&tp).await? {
                    self.stops.insert(tp.clone(), stop);
                }
                info!(topic = %tp.0, partition = tp.1, start, instance = self.instance, "partition assigned");
                self.consumer.assign_at(&tp.0, tp.1, start);
                if let Some(stop) = self.stops.get(&tp) {
                    self.consumer.stop_at(&tp.0, tp.1, *stop);
                }
                self.positions.insert(tp, start);
            }
        }
        self.last_discovery = Instant::now();
        Ok(())
    }

    async fn resolve_start(&self, tp: &TopicPartition) -> Result<i64, Error> {
        let start = match &self.source.starting {
            StartingOffsets::Earliest => StartOffset::Earliest,
            StartingOffsets::Latest => StartOffset::Latest,
            StartingOffsets::Timestamp(ms) => StartOffset::Timestamp(*ms),
            StartingOffsets::Specific(offsets) => offsets
                .get(tp)
                .map_or(StartOffset::Earliest, |o| StartOffset::At(*o)),
            StartingOffsets::Committed { reset } => StartOffset::Committed {
                group: self.source.group_id.clone().ok_or_else(|| {
                    Error::Client(ClientError::InvalidArgument(
                        "starting from committed offsets needs a group id".into(),
                    ))
                })?,
                otherwise: *reset,
            },
        };
        self.consumer.resolve(&tp.0, tp.1, &start).await
    }

    async fn resolve_stop(&self, tp: &TopicPartition) -> Result<Option<i64>, Error> {
        Ok(match &self.source.stopping {
            None => None,
            Some(StoppingOffsets::Specific(offsets)) => offsets.get(tp).copied(),
            // The end as the partition's leader sees it (the high watermark), right on brokers
            // whose ListOffsets "latest" is not (docs/interop.md).
            Some(StoppingOffsets::Latest) => Some(
                self.source
                    .client
                    .end_offset(&tp.0, tp.1, IsolationLevel::ReadUncommitted)
                    .await?,
            ),
        })
    }

    /// Whether a bounded read is finished: every owned partition reached its stop offset.
    pub fn is_finished(&self) -> bool {
        self.source.stopping.is_some()
            && self.current.is_none()
            && self
                .positions
                .iter()
                .all(|(tp, pos)| self.stops.get(tp).is_some_and(|s| pos >= s))
    }

    /// The next record, in offset order per partition; `None` once a bounded read is finished.
    /// Fetches only when the buffer has room.
    pub async fn next(&mut self) -> Option<Result<SourceRecord, Error>> {
        loop {
            if let Some(r) = self.pop() {
                return Some(Ok(r));
            }
            if self.is_finished() {
                return None;
            }
            if let Err(e) = self.poll_fetch().await {
                return Some(Err(e));
            }
        }
    }

    /// Moves up to `max` buffered records into `out`, in offset order per partition. When none is
    /// buffered it first waits for one round of fetching (at most about the fetch's max wait, so a
    /// caller that must also react to other events, such as checkpoint barriers, gets control
    /// back). Returns how many records were moved; 0 may mean no data yet or a finished read
    /// ([`Self::is_finished`]).
    pub async fn next_batch(&mut self, out: &mut Vec<SourceRecord>, max: usize) -> Result<usize, Error> {
        let mut n = 0;
        while n < max {
            let Some(r) = self.pop() else { break };
            out.push(r);
            n += 1;
        }
        if n == 0 && !self.is_finished() {
            self.poll_fetch().await?;
            while n < max {
                let Some(r) = self.pop() else { break };
                out.push(r);
                n += 1;
            }
        }
        Ok(n)
    }

    /// The next record of the current batch, or of the next batch already fetched, moving the
    /// position past it (and past control batches at a batch's end).
    fn pop(&mut self) -> Option<SourceRecord> {
        loop {
            if let Some(cur) = &mut self.current {
                if let Some(r) = cur.records.next() {
                    cur.position = r.offset + 1;
                    self.metrics.records += 1;
                    return Some(SourceRecord {
                        topic: Arc::clone(&cur.topic),
                        partition: cur.tp.1,
                        offset: r.offset,
                        timestamp: r.timestamp,
                        key: r.key,
                        value: r.value,
                        headers: r.headers,
                    });
                }
                cur.position = cur.position.max(cur.next);
                self.settle_current();
                self.current = None;
            }
            let batch = self.consumer.try_next_batch()?;
            self.take(batch);
        }
    }

    /// Writes the current batch's position into the reader's table. It may be lower than the
    /// table's: after an out-of-range reset to the earliest offset the records come from below.
    fn settle_current(&mut self) {
        if let Some(cur) = &self.current {
            if let Some(p) = self.positions.get_mut(&cur.tp) {
                *p = cur.position;
            }
        }
    }

    fn take(&mut self, batch: ConsumedBatch) {
        let tp = (batch.topic.to_string(), batch.partition);
        self.metrics
            .lag
            .insert(tp.clone(), batch.lag(self.source.isolation));
        self.metrics.bytes += batch.bytes as u64;
        let position = self.positions.get(&tp).copied().unwrap_or(0);
        self.current = Some(Current {
            topic: batch.topic,
            tp,
            position,
            next: batch.next_offset,
            records: batch.records.into_iter(),
        });
    }

    /// One round: partition discovery when due, then waits up to the fetch's max wait for a
    /// batch.
    async fn poll_fetch(&mut self) -> Result<(), Error> {
        if let Some(every) = self.source.discovery {
            if self.last_discovery.elapsed() >= every {
                self.discover().await?;
            }
        }
        if self.positions.is_empty() {
            // Idle: wait a little for discovery to find partitions.
            tokio::time::sleep(self.source.max_wait).await;
            return Ok(());
        }
        // Cancel-safe: a fetch that outlasts the wait goes on, and its batch comes next round.
        let wait = self.source.max_wait.max(Duration::from_millis(10));
        match tokio::time::timeout(wait, self.consumer.next_batch()).await {
            Ok(Some(Ok(batch))) => self.take(batch),
            Ok(Some(Err(e))) => return Err(e),
            Ok(None) | Err(_) => {}
        }
        Ok(())
    }

    /// Snapshots the reader for checkpoint `checkpoint_id`: the next offset to hand downstream per
    /// owned partition. Call when the checkpoint barrier passes this reader, after the last record
    /// before the barrier was handed downstream.
    pub fn snapshot(&mut self, checkpoint_id: u64) -> SourceState {
        self.settle_current();
        let offsets = self.positions.clone();
        self.tracker.snapshot(checkpoint_id, offsets.clone());
        SourceState { offsets }
    }

    /// Call when checkpoint `checkpoint_id` is complete: its offsets are committed under the group
    /// id (with the checkpoint id as metadata). A failed commit is logged and left to the next
    /// completed checkpoint; it never fails the reader.
    pub async fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) {
        let Some(offsets) = self.tracker.complete(checkpoint_id) else {
            return;
        };
        let Some(group) = self.source.group_id.clone() else {
            return;
        };
        if offsets.is_empty() {
            return;
        }
        let list: Vec<(String, i32, i64)> = offsets.iter().map(|((t, p), o)| (t.clone(), *p, *o)).collect();
        let metadata = format!("kwire-checkpoint-{checkpoint_id}");
        match self.source.client.commit_offsets(&group, &list, &metadata).await {
            Ok(()) => debug!(checkpoint_id, partitions = list.len(), "offsets committed"),
            Err(e) => {
                self.metrics.failed_commits += 1;
                warn!(checkpoint_id, error = %e, "offset commit failed; the next checkpoint retries");
            }
        }
    }
}

#[cfg(test)]
mod state_tests {
    use super::*;

    fn state() -> SourceState {
        let mut offsets = Offsets::new();
        offsets.insert(("orders".to_owned(), 0), 42);
        offsets.insert(("orders".to_owned(), 3), 7);
        offsets.insert(("payments".to_owned(), 1), 0);
        SourceState { offsets }
    }

    #[test]
    fn offsets_read_back_and_any_damage_is_an_error() {
        let bytes = state().to_bytes();
        assert!(bytes.starts_with(STATE_MAGIC));
        assert_eq!(SourceState::from_bytes(&bytes).unwrap(), state());
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            assert!(SourceState::from_bytes(&bad).is_err(), "flip at {i}");
        }
        for cut in 0..bytes.len() {
            assert!(SourceState::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn the_first_header_less_format_still_reads() {
        let mut e = Encoder::new();
        e.u32(1);
        e.u32(6);
        e.raw(b"orders");
        e.i32(2);
        e.i64(99);
        let got = SourceState::from_bytes(&e.into_inner()).unwrap();
        assert_eq!(got.offsets.get(&("orders".to_owned(), 2)), Some(&99));
    }

    #[test]
    fn a_newer_version_is_an_error() {
        let mut bytes = state().to_bytes();
        bytes[4] = STATE_VERSION + 1;
        let body_end = bytes.len() - 4;
        let crc = crc32c::crc32c(&bytes[..body_end]);
        bytes[body_end..].copy_from_slice(&crc.to_be_bytes());
        let err = SourceState::from_bytes(&bytes).unwrap_err().to_string();
        assert!(err.contains("newer version"), "{err}");
    }
}
