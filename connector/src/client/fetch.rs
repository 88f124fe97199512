//! Fetching records: one Fetch request per leader for the partitions it leads, records decoded
//! (zero-copy for uncompressed batches), control batches and aborted transactions handled.
//!
//! The position after a fetch is the offset after the last complete batch, control batches
//! included, so a consumer never stalls on a transaction marker. A partial batch at the end of a
//! response is normal (the broker cut at its byte limit) and is fetched again next time; a batch
//! larger than the partition's byte limit is still returned whole by the broker (KIP-74).
//!
//! References: KIP-74 (fetch max bytes), KIP-98 (transactions, read_committed), KIP-227 (fetch
//! sessions; not used: every request is a full fetch), KIP-516 (topic ids, Fetch v13+).

use crate::client::{ClientError, ProtocolError};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use kwire_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kwire_protocol::messages::fetch_response::AbortedTransaction;
use kwire_protocol::messages::FetchRequest;
use kwire_protocol::records::{Batch, ConsumerRecord, ControlRecord, RecordBatches};
use kwire_protocol::{DecodeError, DecodeErrorKind, ErrorCode, Uuid};

use super::{Client, Error};

/// Whether uncommitted transactional records are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    /// Every record, committed or not.
    #[default]
    ReadUncommitted,
    /// Only records of committed transactions (and non-transactional ones).
    ReadCommitted,
}

/// Settings of one raw fetch ([`super::raw::Raw::fetch`]), with the Java consumer's defaults.
///
/// ```
/// use std::time::Duration;
/// use kwire_connector::client::raw::FetchOptions;
///
/// let options = FetchOptions::default().max_wait(Duration::from_millis(10)).min_bytes(0);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FetchOptions {
    /// How long the broker may wait for `min_bytes` (default 500 ms).
    pub max_wait: Duration,
    /// The bytes the broker waits for before answering (default 1).
    pub min_bytes: i32,
    /// The most bytes in one response (default 50 MiB).
    pub max_bytes: i32,
    /// The most bytes per partition (default 1 MiB).
    pub partition_max_bytes: i32,
    /// Read committed or uncommitted records.
    pub isolation: IsolationLevel,
}

impl FetchOptions {
    /// How long the broker may wait for `min_bytes`.
    #[must_use]
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// The bytes the broker waits for before answering.
    #[must_use]
    pub fn min_bytes(mut self, bytes: i32) -> Self {
        self.min_bytes = bytes;
        self
    }

    /// The most bytes in one response.
    #[must_use]
    pub fn max_bytes(mut self, bytes: i32) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// The most bytes per partition.
    #[must_use]
    pub fn partition_max_bytes(mut self, bytes: i32) -> Self {
        self.partition_max_bytes = bytes;
        self
    }

    /// Read committed or uncommitted records.
    #[must_use]
    pub fn isolation(mut self, isolation: IsolationLevel) -> Self {
        self.isolation = isolation;
        self
    }
}

/// Where a fetch resumes after OFFSET_OUT_OF_RANGE (the Java consumer's `auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    /// The log start offset.
    Earliest,
    /// The log end offset.
    Latest,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_millis(500),
            min_bytes: 1,
            max_bytes: 52_428_800,
            partition_max_bytes: 1_048_576,
            isolation: IsolationLevel::ReadUncommitted,
        }
    }
}

/// What one partition's fetch brought.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The data records at or after the offset asked for, in offset order.
    pub records: Vec<ConsumerRecord>,
    /// The offset to fetch next: past the last complete batch, control batches included.
    pub next_offset: i64,
    /// The partition's high watermark.
    pub high_watermark: i64,
    /// The partition's last stable offset (read_committed readers stop there), -1 if unknown.
    pub last_stable_offset: i64,
    /// The partition's log start offset, -1 if unknown.
    pub log_start_offset: i64,
    /// Total bytes of the record batches received.
    pub bytes: usize,
    /// The transaction markers (commit or abort control records) at or after the offset asked
    /// for, in offset order: how each producer's transaction in this partition ended.
    pub markers: Vec<TransactionMarker>,
}

/// A transaction marker in a partition's log: the coordinator's commit or abort of one
/// producer's transaction, written to every partition the transaction wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionMarker {
    /// The marker's offset.
    pub offset: i64,
    /// The producer whose transaction ended.
    pub producer_id: i64,
    /// The producer epoch of the marker: the transaction's, or one higher when the coordinator
    /// bumped it to end the transaction (a timeout, a fencing, or transactions v2).
    pub producer_epoch: i16,
    /// Commit (true) or abort.
    pub commit: bool,
}

impl Fetched {
    /// The end of the partition as a reader at `isolation` saw it in this fetch.
    pub fn end(&self, isolation: IsolationLevel) -> i64 {
        reader_end(self.high_watermark, self.last_stable_offset, isolation)
    }
}

/// The end of a partition a reader at `isolation` reads to: the high watermark, or under
/// read_committed the last stable offset (when the broker gave one).
pub(crate) fn reader_end(high_watermark: i64, last_stable_offset: i64, isolation: IsolationLevel) -> i64 {
    match isolation {
        IsolationLevel::ReadCommitted if last_stable_offset >= 0 => last_stable_offset,
        _ => high_watermark,
    }
}

impl Client {
    /// Fetches `topic`-`partition` from `offset`.
    pub(crate) async fn fetch_one(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        options: &FetchOptions,
    ) -> Result<Fetched, Error> {
        let mut got = self
            .fetch(&[(topic.to_owned(), partition, offset)], options)
            .await?;
        got.pop().ok_or_else(|| {
            Error::Protocol(ProtocolError::InvalidResponse {
                api: "Fetch",
                broker: format!("the leader of {topic}-{partition}"),
                reason: format!("no answer for {topic}-{partition}, which it was asked for"),
            })
        })
    }

    /// The end of `topic`-`partition` as a reader at `isolation` sees it: the high watermark, or
    /// under read_committed the last stable offset, from the leader's Fetch answer at the offset
    /// ListOffsets calls the latest. On Apache Kafka that is ListOffsets' own answer; tansu
    /// answers ListOffsets "latest" with the last batch's base offset + 1 (docs/interop.md).
    pub async fn end_offset(
        &self,
        topic: &str,
        partition: i32,
        isolation: IsolationLevel,
    ) -> Result<i64, Error> {
        let near_end = self
            .list_offset(topic, partition, super::OffsetSpec::Latest)
            .await?
            .max(0);
        let options = FetchOptions {
            max_wait: Duration::ZERO,
            min_bytes: 0,
            partition_max_bytes: 1,
            isolation,
            ..FetchOptions::default()
        };
        Ok(self
            .fetch_one(topic, partition, near_end, &options)
            .await?
            .end(isolation))
    }

    /// Fetches each `(topic, partition, offset)` from its leader: one request per leader, sent
    /// concurrently. Retriable errors (a leader moved, a connection dropped) are retried after a
    /// metadata refresh. A partition-level error, OFFSET_OUT_OF_RANGE among them (the
    /// [`super::Consumer`]'s policy resets it), fails the call with that partition named.
    pub(crate) async fn fetch(
        &self,
        wanted: &[(String, i32, i64)],
        options: &FetchOptions,
    ) -> Result<Vec<Fetched>, Error> {
        self.retry(None, || async {
            let res = self.fetch_once(wanted, options).await;
            if let Err(e) = &res {
                if e.needs_metadata_refresh() {
                    for (t, _, _) in wanted {
                        self.invalidate(t);
                    }
                }
            }
            res
        })
        .await
    }

    async fn fetch_once(
        &self,
        wanted: &[(String, i32, i64)],
        options: &FetchOptions,
    ) -> Result<Vec<Fetched>, Error> {
        let mut by_leader: BTreeMap<i32, Vec<(String, i32, i64)>> = BTreeMap::new();
        for (topic, partition, offset) in wanted {
            let t = self.topic(topic).await?;
            let leader = t
                .partitions
                .iter()
                .find(|p| p.id == *partition)
                .map(|p| p.leader)
                .filter(|l| *l >= 0)
                .ok_or_else(|| {
                    Error::Client(ClientError::NoLeader {
                        topic: topic.clone(),
                        partition: *partition,
                    })
                })?;
            by_leader
                .entry(leader)
                .or_default()
                .push((topic.clone(), *partition, *offset));
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (leader, parts) in by_leader {
            let client = self.clone();
            let options = options.clone();
            tasks.spawn(async move { client.fetch_from(leader, &parts, &options).await });
        }
        let mut out = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let part = joined.map_err(|e| {
                Error::Client(ClientError::TaskFailed(format!("a fetch from one leader: {e}")))
            })?;
            out.extend(part?);
        }
        Ok(out)
    }

    async fn fetch_from(
        &self,
        leader: i32,
        parts: &[(String, i32, i64)],
        options: &FetchOptions,
    ) -> Result<Vec<Fetched>, Error> {
        let conn = self.broker(leader).await?;
        let mut ids: HashMap<String, Uuid> = HashMap::new();
        for (topic, _, _) in parts {
            ids.insert(topic.clone(), self.topic(topic).await?.id);
        }
        let mut topics: Vec<FetchTopic> = Vec::new();
        for (topic, partition, offset) in parts {
            let p = FetchPartition {
                partition: *partition,
                current_leader_epoch: -1,
                fetch_offset: *offset,
                last_fetched_epoch: -1,
                log_start_offset: -1,
                partition_max_bytes: options.partition_max_bytes,
                ..Default::default()
            };
            match topics.iter_mut().find(|t| &t.topic == topic) {
                Some(t) => t.partitions.push(p),
                None => topics.push(FetchTopic {
                    topic: topic.clone(),
                    topic_id: ids[topic],
                    partitions: vec![p],
                    ..Default::default()
                }),
            }
        }
        let max_wait_ms = i32::try_from(options.max_wait.as_millis()).unwrap_or(i32::MAX);
        let resp = conn
            .send_built(|version| {
                // Topic ids (v13+) need ids the broker gave; a nil id means it gave none.
                debug_assert!(version < 13 || topics.iter().all(|t| t.topic_id != Uuid::NIL));
                FetchRequest {
                    replica_id: -1,
                    max_wait_ms,
                    min_bytes: options.min_bytes,
                    max_bytes: options.max_bytes,
                    isolation_level: match options.isolation {
                        IsolationLevel::ReadUncommitted => 0,
                        IsolationLevel::ReadCommitted => 1,
                    },
                    session_id: 0,
                    session_epoch: -1,
                    topics: topics.clone(),
                    ..Default::default()
                }
            })
            .await?;
        let code = ErrorCode(resp.error_code);
        if !code.is_ok() {
            return Err(Error::broker("Fetch", code));
        }
        let names: HashMap<Uuid, String> = ids.iter().map(|(n, id)| (*id, n.clone())).collect();
        let mut out = Vec::new();
        let mut data_seen = false;
        for t in resp.responses {
            let name = if t.topic.is_empty() {
                names.get(&t.topic_id).cloned().unwrap_or_default()
            } else {
                t.topic
            };
            for p in t.partitions {
                let code = ErrorCode(p.error_code);
                if !code.is_ok() {
                    return Err(Error::broker_at("Fetch", code, &name, Some(p.partition_index)));
                }
                let asked = parts
                    .iter()
                    .find(|(n, i, _)| *n == name && *i == p.partition_index)
                    .map_or(0, |(_, _, o)| *o);
                let aborted = p.aborted_transactions.unwrap_or_default();
                let records = p.records.unwrap_or_default();
                let bytes = records.len();
                // The first entry's declared size: its length field (at 8) plus the 12 bytes
                // before the batch it counts.
                let declared = records
                    .get(8..12)
                    .map(|b| i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])) + 12);
                let mut markers = Vec::new();
                let records_error = |source| {
                    Error::Protocol(ProtocolError::Records {
                        topic: name.clone(),
                        partition: p.partition_index,
                        source,
                    })
                };
                let (records, next_offset, complete) =
                    decode(records, asked, options.isolation, &aborted, &mut markers)
                        .map_err(records_error)?;
                let first_with_data = bytes > 0 && !data_seen;
                data_seen |= bytes > 0;
                if first_with_data && complete == 0 {
                    // A broker sends the first partition with data at least one whole batch
                    // (KIP-74; later ones may be cut by the response's size limit): bytes without
                    // one are a truncated batch, and fetching the offset again would only get
                    // them again.
                    let needed = declared.and_then(|d| usize::try_from(d).ok()).unwrap_or(12);
                    return Err(records_error(DecodeError::new(
                        DecodeErrorKind::UnexpectedEof {
                            needed,
                            remaining: bytes,
                        },
                        0,
                    )));
                }
                out.push(Fetched {
                    topic: name.clone(),
                    partition: p.partition_index,
                    records,
                    next_offset,
                    high_watermark: p.high_watermark,
                    last_stable_offset: p.last_stable_offset,
                    log_start_offset: p.log_start_offset,
                    bytes,
                    markers,
                });
            }
        }
        Ok(out)
    }
}

/// Decodes a partition's `records`: data records at or after `from`, without those of aborted
/// transactions under read_committed, and the offset to fetch next.
pub fn decode_records(
    records: bytes::Bytes,
    from: i64,
    isolation: IsolationLevel,
    aborted: &[AbortedTransaction],
) -> Result<(Vec<ConsumerRecord>, i64), DecodeError> {
    decode(records, from, isolation, aborted, &mut Vec::new()).map(|(records, next, _)| (records, next))
}

/// [`decode_records`], also collecting the transaction markers at or after `from`, and counting
/// the complete batches (the third value).
fn decode(
    records: bytes::Bytes,
    from: i64,
    isolation: IsolationLevel,
    aborted: &[AbortedTransaction],
    markers: &mut Vec<TransactionMarker>,
) -> Result<(Vec<ConsumerRecord>, i64, usize), DecodeError> {
    let mut aborted: Vec<&AbortedTransaction> = aborted.iter().collect();
    aborted.sort_by_key(|a| a.first_offset);
    let mut pending_aborts = aborted.into_iter().peekable();
    let mut aborting: HashSet<i64> = HashSet::new();
    let mut out = Vec::new();
    let mut next = from;
    let mut complete = 0;
    for batch in RecordBatches::new(records) {
        let batch = batch?;
        complete += 1;
        if batch.next_offset() <= from {
            continue;
        }
        next = next.max(batch.next_offset());
        if isolation == IsolationLevel::ReadCommitted {
            while let Some(a) = pending_aborts.next_if(|a| a.first_offset <= batch.last_offset()) {
                aborting.insert(a.producer_id);
            }
        }
        if batch.is_control() {
            if let Batch::V2(b) = &batch {
                for control in b.control_records() {
                    let commit = match control? {
                        ControlRecord::Commit { .. } => true,
                        ControlRecord::Abort { .. } => false,
                        _ => continue,
                    };
                    aborting.remove(&b.producer_id);
                    if b.base_offset >= from {
                        markers.push(TransactionMarker {
                            offset: b.base_offset,
                            producer_id: b.producer_id,
                            producer_epoch: b.producer_epoch,
                            commit,
                        });
                    }
                }
            }
            continue;
        }
        if batch.is_transactional() && aborting.contains(&batch.producer_id()) {
            continue;
        }
        out.extend(batch.into_records().filter(|r| r.offset >= from));
    }
    Ok((out, next, complete))
}
