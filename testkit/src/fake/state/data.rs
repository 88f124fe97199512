//! Produce and Fetch: the partition logs written and read, as the leader of each partition
//! answers them. A log's idempotence and sequence checks live in `log`; a transactional batch is
//! checked against its transaction here (KIP-890).
//!
//! References: KIP-98 (idempotent and transactional produce), KIP-74 (fetch max bytes), KIP-890,
//! the protocol guide.

use bytes::{Bytes, BytesMut};
use kwire_protocol::messages::fetch_response::{AbortedTransaction, FetchableTopicResponse, PartitionData};
use kwire_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kwire_protocol::messages::{FetchRequest, FetchResponse, ProduceRequest, ProduceResponse};
use kwire_protocol::{ErrorCode, Uuid};

use super::ClusterState;
use crate::fake::log::Appended;

impl ClusterState {
    pub(super) fn produce(&mut self, broker: i32, r: &ProduceRequest) -> ProduceResponse {
        let acks_ok = matches!(r.acks, -1..=1);
        let mut responses = Vec::new();
        for t in &r.topic_data {
            let mut partition_responses = Vec::new();
            for pd in &t.partition_data {
                let res = if acks_ok {
                    self.produce_one(broker, &t.name, pd.index, pd.records.as_ref())
                } else {
                    Err(ErrorCode::INVALID_REQUIRED_ACKS)
                };
                let log_start = self
                    .partition(&t.name, pd.index)
                    .map_or(-1, |p| p.log.log_start());
                let (code, base) = match res {
                    Ok(base) => (ErrorCode::NONE, base),
                    Err(code) => (code, -1),
                };
                partition_responses.push(PartitionProduceResponse {
                    index: pd.index,
                    error_code: code.code(),
                    base_offset: base,
                    log_append_time_ms: -1,
                    log_start_offset: log_start,
                    ..Default::default()
                });
            }
            responses.push(TopicProduceResponse {
                name: t.name.clone(),
                partition_responses,
                ..Default::default()
            });
        }
        ProduceResponse {
            responses,
            ..Default::default()
        }
    }

    pub(super) fn produce_one(
        &mut self,
        broker: i32,
        topic: &str,
        partition: i32,
        records: Option<&Bytes>,
    ) -> Result<i64, ErrorCode> {
        self.led(broker, topic, partition)?;
        let records = records.ok_or(ErrorCode::CORRUPT_MESSAGE)?;
        let txns = &self.txns;
        let p = self
            .topics
            .get_mut(topic)
            .and_then(|t| t.partitions.get_mut(usize::try_from(partition).ok()?))
            .ok_or(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)?;
        let res = p.log.append(records, |pid, epoch| {
            Self::transactional_ok(txns, topic, partition, pid, epoch)
        });
        match res {
            Ok(Appended::New(base)) => Ok(base),
            Ok(Appended::Duplicate(base)) => {
                self.stats.duplicates += 1;
                Ok(base)
            }
            Err(code) => {
                if code == ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER {
                    self.stats.out_of_order += 1;
                }
                Err(code)
            }
        }
    }

    /// A Fetch's answer, its record bytes, and whether a partition had an error.
    pub(crate) fn fetch(&self, broker: i32, r: &FetchRequest, version: i16) -> (FetchResponse, usize, bool) {
        let read_committed = r.isolation_level == 1;
        let mut budget = usize::try_from(r.max_bytes.max(0)).unwrap_or(usize::MAX);
        let mut total = 0;
        let mut any_error = false;
        let mut responses = Vec::new();
        for t in &r.topics {
            let name = if version >= 13 {
                self.topics
                    .iter()
                    .find(|(_, x)| x.id == t.topic_id)
                    .map(|(n, _)| n.clone())
            } else {
                Some(t.topic.clone())
            };
            let mut partitions = Vec::new();
            for fp in &t.partitions {
                let mut out = unread_partition(fp.partition, ErrorCode::NONE.code());
                let led = match &name {
                    Some(n) => self.led(broker, n, fp.partition),
                    None => Err(ErrorCode::UNKNOWN_TOPIC_ID),
                };
                match led {
                    Err(code) => {
                        any_error = true;
                        out.error_code = code.code();
                    }
                    Ok(p) => {
                        let log = &p.log;
                        out.high_watermark = log.high_watermark();
                        out.last_stable_offset = log.last_stable_offset();
                        out.log_start_offset = log.log_start();
                        if fp.fetch_offset < log.log_start() || fp.fetch_offset > log.high_watermark() {
                            any_error = true;
                            out.error_code = ErrorCode::OFFSET_OUT_OF_RANGE.code();
                        } else {
                            let upto = if read_committed {
                                log.last_stable_offset()
                            } else {
                                log.high_watermark()
                            };
                            let limit = usize::try_from(fp.partition_max_bytes.max(0))
                                .unwrap_or(usize::MAX)
                                .min(budget);
                            let (batches, bytes) = if limit == 0 && total > 0 {
                                (Vec::new(), 0)
                            } else {
                                log.read(fp.fetch_offset, limit.max(1), upto)
                            };
                            budget = budget.saturating_sub(bytes);
                            total += bytes;
                            if read_committed {
                                let last = batches.last().map_or(fp.fetch_offset, |_| upto);
                                out.aborted_transactions = Some(
                                    log.aborted_between(fp.fetch_offset, last)
                                        .into_iter()
                                        .map(|a| AbortedTransaction {
                                            producer_id: a.producer_id,
                                            first_offset: a.first_offset,
                                            ..Default::default()
                                        })
                                        .collect(),
                                );
                            }
                            out.records = Some(concat(batches, bytes));
                        }
                    }
                }
                partitions.push(out);
            }
            responses.push(FetchableTopicResponse {
                topic: if version >= 13 {
                    String::new()
                } else {
                    t.topic.clone()
                },
                topic_id: if version >= 13 { t.topic_id } else { Uuid::NIL },
                partitions,
                ..Default::default()
            });
        }
        (
            FetchResponse {
                error_code: 0,
                session_id: 0,
                responses,
                ..Default::default()
            },
            total,
            any_error,
        )
    }
}

/// A Fetch answer's partition with nothing read and `code`: no records, no aborted list, and -1
/// for the offsets. The leader fills in what its log has; an injected error is sent as it is.
pub(crate) fn unread_partition(partition_index: i32, code: i16) -> PartitionData {
    PartitionData {
        partition_index,
        error_code: code,
        high_watermark: -1,
        last_stable_offset: -1,
        log_start_offset: -1,
        aborted_transactions: None,
        records: Some(Bytes::new()),
        ..Default::default()
    }
}

fn concat(batches: Vec<Bytes>, bytes: usize) -> Bytes {
    match batches.len() {
        0 => Bytes::new(),
        1 => batches.into_iter().next().unwrap_or_default(),
        _ => {
            let mut out = BytesMut::with_capacity(bytes);
            for b in batches {
                out.extend_from_slice(&b);
            }
            out.freeze()
        }
    }
}
