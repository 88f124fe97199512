//! The fake cluster's state and its answers, sans IO: a request body in, a response body out.
//!
//! The model: N brokers share every partition's log (each partition is replicated to every
//! broker and all replicas are in sync), one broker leads each partition and only the leader
//! answers Produce, Fetch and ListOffsets for it; a stopped broker's partitions move to the next
//! live broker. Group and transaction coordinators are picked by a hash of the key over the live
//! brokers; their state (offsets, transactions) survives any broker stopping, as Kafka's
//! replicated `__consumer_offsets` and `__transaction_state` do.
//!
//! This module holds the cluster's tables and the helpers every API shares; the answers live by
//! API group: `cluster` (ApiVersions, Metadata, topics and partitions, ListOffsets, and the
//! control the cluster's handle uses: leaders, brokers down and up, deleted records), `data`
//! (Produce and Fetch over the partition logs), `groups` (FindCoordinator, OffsetCommit,
//! OffsetFetch) and `transactions` (the transaction coordinator and its markers).
//!
//! References: KIP-516 (topic ids), the protocol guide.

mod cluster;
mod data;
mod groups;
mod transactions;

use std::collections::{BTreeMap, HashMap};

use kwire_protocol::messages::{RequestBody, ResponseBody};
use kwire_protocol::{ErrorCode, Uuid};
use tracing::debug;

pub(crate) use cluster::api_versions;
pub(crate) use data::unread_partition;
use groups::GroupOffsets;
use transactions::{Txn, MARKER_DELAY_MS};

use super::log::PartitionLog;

/// What the cluster answers.
#[derive(Debug)]
pub(crate) enum Reply {
    /// A response body.
    Body(ResponseBody),
    /// No response (a Produce with acks=0).
    Nothing,
    /// Close the connection (an API the cluster does not answer, as Kafka does).
    Close,
}

#[derive(Debug, Clone)]
pub(crate) struct BrokerInfo {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) up: bool,
}

#[derive(Debug)]
struct Partition {
    leader: i32,
    leader_epoch: i32,
    log: PartitionLog,
}

#[derive(Debug)]
struct Topic {
    id: Uuid,
    partitions: Vec<Partition>,
}

/// Counters a test can read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterStats {
    /// Transactions committed by EndTxn.
    pub commits: u64,
    /// Transactions aborted (EndTxn, fencing by InitProducerId, or timeout).
    pub aborts: u64,
    /// Produce batches answered as duplicates of one already written.
    pub duplicates: u64,
    /// Produce batches refused with OUT_OF_ORDER_SEQUENCE_NUMBER.
    pub out_of_order: u64,
    /// Producer epochs bumped by InitProducerId.
    pub epoch_bumps: u64,
}

/// The whole cluster.
#[derive(Debug)]
pub(crate) struct ClusterState {
    pub(crate) brokers: BTreeMap<i32, BrokerInfo>,
    topics: BTreeMap<String, Topic>,
    next_topic_id: u64,
    next_producer_id: i64,
    txns: HashMap<String, Txn>,
    groups: HashMap<String, GroupOffsets>,
    pub(crate) stats: ClusterStats,
    cluster_id: String,
    /// How long after EndTxn (or an abort by InitProducerId or timeout) the markers are written.
    pub(crate) marker_delay_ms: i64,
}

/// A stable hash of a coordinator key (FNV-1a).
fn key_hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl ClusterState {
    pub(crate) fn new(brokers: BTreeMap<i32, BrokerInfo>) -> Self {
        Self {
            brokers,
            topics: BTreeMap::new(),
            next_topic_id: 1,
            next_producer_id: 1000,
            txns: HashMap::new(),
            groups: HashMap::new(),
            stats: ClusterStats::default(),
            cluster_id: "kwire-fake-cluster".to_owned(),
            marker_delay_ms: MARKER_DELAY_MS,
        }
    }

    fn live(&self) -> Vec<i32> {
        self.brokers
            .iter()
            .filter(|(_, b)| b.up)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The broker coordinating `key`, if any is up.
    fn coordinator(&self, key: &str) -> Option<i32> {
        let live = self.live();
        if live.is_empty() {
            return None;
        }
        let n = live.len() as u64;
        live.get(usize::try_from(key_hash(key) % n).unwrap_or(0)).copied()
    }

    /// `broker` is `key`'s coordinator, or the error to answer.
    fn check_coordinator(&self, broker: i32, key: &str) -> Result<(), ErrorCode> {
        match self.coordinator(key) {
            Some(c) if c == broker => Ok(()),
            Some(_) => Err(ErrorCode::NOT_COORDINATOR),
            None => Err(ErrorCode::COORDINATOR_NOT_AVAILABLE),
        }
    }

    fn partition(&self, topic: &str, partition: i32) -> Option<&Partition> {
        self.topics
            .get(topic)?
            .partitions
            .get(usize::try_from(partition).ok()?)
    }

    fn partition_mut(&mut self, topic: &str, partition: i32) -> Option<&mut Partition> {
        self.topics
            .get_mut(topic)?
            .partitions
            .get_mut(usize::try_from(partition).ok()?)
    }

    /// The partition if `broker` leads it, else the error to answer.
    fn led(&self, broker: i32, topic: &str, partition: i32) -> Result<&Partition, ErrorCode> {
        let p = self
            .partition(topic, partition)
            .ok_or(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)?;
        if p.leader != broker {
            return Err(ErrorCode::NOT_LEADER_OR_FOLLOWER);
        }
        Ok(p)
    }

    /// The name of a topic a request names (`name`), or gives by id (`id`, versions that name
    /// topics by id, KIP-516); `None`: no topic has that id.
    fn topic_name(&self, by_id: bool, name: &str, id: Uuid) -> Option<String> {
        if !by_id {
            return Some(name.to_owned());
        }
        self.topics
            .iter()
            .find(|(_, t)| t.id == id)
            .map(|(n, _)| n.clone())
    }

    /// The id of topic `name` (nil if there is none).
    fn topic_id(&self, name: &str) -> Uuid {
        self.topics.get(name).map_or(Uuid::NIL, |t| t.id)
    }

    /// Answers one request `body` at `version` on broker `broker`.
    pub(crate) fn handle(&mut self, broker: i32, version: i16, body: RequestBody, now_ms: i64) -> Reply {
        self.advance(now_ms);
        let resp = match body {
            RequestBody::ApiVersions(_) => ResponseBody::ApiVersions(api_versions()),
            RequestBody::Metadata(r) => ResponseBody::Metadata(self.metadata(&r, version)),
            RequestBody::CreateTopics(r) => ResponseBody::CreateTopics(self.create_topics(&r)),
            RequestBody::DeleteTopics(r) => ResponseBody::DeleteTopics(self.delete_topics(&r, version)),
            RequestBody::Produce(r) => {
                let resp = self.produce(broker, &r);
                if r.acks == 0 {
                    return Reply::Nothing;
                }
                ResponseBody::Produce(resp)
            }
            RequestBody::Fetch(r) => ResponseBody::Fetch(self.fetch(broker, &r, version).0),
            RequestBody::ListOffsets(r) => ResponseBody::ListOffsets(self.list_offsets(broker, &r)),
            RequestBody::FindCoordinator(r) => {
                ResponseBody::FindCoordinator(self.find_coordinator(&r, version))
            }
            RequestBody::InitProducerId(r) => {
                ResponseBody::InitProducerId(self.init_producer_id(broker, &r, now_ms))
            }
            RequestBody::AddPartitionsToTxn(r) => {
                ResponseBody::AddPartitionsToTxn(self.add_partitions_to_txn(broker, &r, version, now_ms))
            }
            RequestBody::AddOffsetsToTxn(r) => {
                ResponseBody::AddOffsetsToTxn(self.add_offsets_to_txn(broker, &r, now_ms))
            }
            RequestBody::EndTxn(r) => ResponseBody::EndTxn(self.end_txn(broker, &r, now_ms)),
            RequestBody::TxnOffsetCommit(r) => {
                ResponseBody::TxnOffsetCommit(self.txn_offset_commit(broker, &r))
            }
            RequestBody::OffsetCommit(r) => {
                ResponseBody::OffsetCommit(self.offset_commit(broker, &r, version))
            }
            RequestBody::CreatePartitions(r) => ResponseBody::CreatePartitions(self.create_partitions(&r)),
            RequestBody::OffsetFetch(r) => ResponseBody::OffsetFetch(self.offset_fetch(broker, &r, version)),
            RequestBody::DescribeTransactions(r) => {
                ResponseBody::DescribeTransactions(self.describe_transactions(broker, &r))
            }
            other => {
                debug!(api = ?other.api_key(), "an API not advertised: closing");
                return Reply::Close;
            }
        };
        Reply::Body(resp)
    }
}
