//! The fake cluster's state and its answers, sans IO: a request body in, a response body out.
//!
//! The model: N brokers share every partition's log (each partition is replicated to every
//! broker and all replicas are in sync), one broker leads each partition and only the leader
//! answers Produce, Fetch and ListOffsets for it; a stopped broker's partitions move to the next
//! live broker. Group and transaction coordinators are picked by a hash of the key over the live
//! brokers; their state (offsets, transactions) survives any broker stopping, as Kafka's
//! replicated `__consumer_offsets` and `__transaction_state` do.
//!
//! Transactions follow Kafka's coordinator: InitProducerId bumps the epoch (aborting an open
//! transaction first, answering CONCURRENT_TRANSACTIONS once while it does), AddPartitionsToTxn
//! and AddOffsetsToTxn open the transaction. EndTxn completes it asynchronously, as Kafka's
//! coordinator does: the answer comes at PrepareCommit or PrepareAbort, and the commit or abort
//! markers are written to every partition of it a marker delay later (20 ms unless set), only
//! then does the last stable offset move past it. Until then InitProducerId, AddPartitionsToTxn,
//! AddOffsetsToTxn and a retried EndTxn with the same outcome get CONCURRENT_TRANSACTIONS. A
//! retried EndTxn of a completed transaction with the same outcome succeeds, the other outcome is
//! INVALID_TXN_STATE, an old epoch is PRODUCER_FENCED. A transaction open longer than its timeout
//! is aborted with a bumped epoch, as Kafka's coordinator does.
//!
//! References: KIP-98 (transactions), KIP-360 (epoch bumps), KIP-890 (partitions verified
//! before a transactional produce), KIP-516 (topic ids), the protocol guide.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::{Bytes, BytesMut};
use kwire_protocol::messages::add_offsets_to_txn_response::AddOffsetsToTxnResponse;
use kwire_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kwire_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kwire_protocol::messages::api_versions_response::ApiVersion;
use kwire_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kwire_protocol::messages::create_topics_response::CreatableTopicResult;
use kwire_protocol::messages::delete_topics_response::DeletableTopicResult;
use kwire_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kwire_protocol::messages::fetch_response::{AbortedTransaction, FetchableTopicResponse, PartitionData};
use kwire_protocol::messages::find_coordinator_response::Coordinator;
use kwire_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kwire_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kwire_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kwire_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kwire_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kwire_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kwire_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey,
    ApiVersionsResponse, CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest,
    CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse, DescribeTransactionsRequest,
    DescribeTransactionsResponse, EndTxnRequest, EndTxnResponse, FetchRequest, FetchResponse,
    FindCoordinatorRequest, FindCoordinatorResponse, InitProducerIdRequest, InitProducerIdResponse,
    ListOffsetsRequest, ListOffsetsResponse, MetadataRequest, MetadataResponse, OffsetCommitRequest,
    OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse, ProduceRequest, ProduceResponse,
    RequestBody, ResponseBody, TxnOffsetCommitRequest, TxnOffsetCommitResponse,
};
use kwire_protocol::{ErrorCode, Uuid};
use tracing::debug;

use super::log::{Appended, PartitionLog};

/// The APIs the fake cluster answers (with the versions the codec speaks).
pub(crate) const IMPLEMENTED: &[ApiKey] = &[
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::Metadata,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::FindCoordinator,
    ApiKey::ApiVersions,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::InitProducerId,
    ApiKey::AddPartitionsToTxn,
    ApiKey::AddOffsetsToTxn,
    ApiKey::EndTxn,
    ApiKey::TxnOffsetCommit,
    ApiKey::CreatePartitions,
    ApiKey::DescribeTransactions,
];

/// The newest version the cluster answers of an API it implements, where that is below the newest
/// the codec speaks: ApiVersions advertises no higher. Each entry says what it does not model.
const FAKE_MAX: &[(ApiKey, i16)] = &[
    // Produce 12 is transactions v2 (KIP-890 part 2): the broker adds the partition to the
    // transaction itself, where this cluster wants AddPartitionsToTxn first. Produce 13 also
    // names topics by id.
    (ApiKey::Produce, 11),
    // EndTxn 5 is transactions v2: an epoch bump at every commit or abort, sent in the answer.
    (ApiKey::EndTxn, 4),
    // TxnOffsetCommit 5 is transactions v2 (the group joins the transaction without
    // AddOffsetsToTxn); 6 names topics by id.
    (ApiKey::TxnOffsetCommit, 4),
];

/// The first OffsetCommit and OffsetFetch version that names topics by id (KIP-848).
const OFFSETS_BY_TOPIC_ID: i16 = 10;

/// The longest transaction timeout the coordinator accepts (Kafka's
/// `transaction.max.timeout.ms` default, 15 minutes).
const MAX_TRANSACTION_TIMEOUT_MS: i32 = 900_000;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
}

#[derive(Debug)]
struct Txn {
    producer_id: i64,
    epoch: i16,
    timeout_ms: i32,
    state: TxnState,
    started_ms: i64,
    partitions: BTreeSet<(String, i32)>,
    groups: BTreeSet<String>,
    /// Offsets of TxnOffsetCommit, applied when the transaction commits.
    pending_offsets: Vec<(String, String, i32, i64, Option<String>)>,
    /// When the markers of a transaction in PrepareCommit or PrepareAbort are written.
    markers_due_ms: i64,
}

/// A group's committed offsets: (topic, partition) -> (offset, metadata).
type GroupOffsets = BTreeMap<(String, i32), (i64, Option<String>)>;

/// Offsets by topic: (topic, [(partition, offset, metadata)]).
type TopicOffsets = Vec<(String, Vec<(i32, i64, Option<String>)>)>;

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

/// The default marker delay: as on a Kafka broker under light load, a few round trips.
const MARKER_DELAY_MS: i64 = 20;

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

    pub(crate) fn delete_records(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<i64, ErrorCode> {
        self.partition_mut(topic, partition)
            .map(|p| p.log.delete_before(offset))
            .ok_or(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
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

    // ----- control, from the cluster's handle -----

    /// Creates `topic` with `partitions` partitions, leaders spread over the live brokers.
    pub(crate) fn create_topic(&mut self, name: &str, partitions: i32) -> Result<Uuid, ErrorCode> {
        if name.is_empty()
            || name.len() > 249
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            || name == "."
            || name == ".."
        {
            return Err(ErrorCode::INVALID_TOPIC_EXCEPTION);
        }
        if self.topics.contains_key(name) {
            return Err(ErrorCode::TOPIC_ALREADY_EXISTS);
        }
        if partitions <= 0 {
            return Err(ErrorCode::INVALID_PARTITIONS);
        }
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&0x6b77_6972_6566_616bu64.to_be_bytes());
        id[8..].copy_from_slice(&self.next_topic_id.to_be_bytes());
        self.next_topic_id += 1;
        let id = Uuid(id);
        self.topics.insert(
            name.to_owned(),
            Topic {
                id,
                partitions: Vec::new(),
            },
        );
        self.add_partitions(name, partitions)?;
        Ok(id)
    }

    /// Grows `topic` to `total` partitions (CreatePartitions); new ones start empty.
    pub(crate) fn add_partitions(&mut self, name: &str, total: i32) -> Result<(), ErrorCode> {
        let live = self.live();
        let offset = self.topics.len();
        let topic = self
            .topics
            .get_mut(name)
            .ok_or(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)?;
        let have = topic.partitions.len();
        let total = usize::try_from(total).map_err(|_| ErrorCode::INVALID_PARTITIONS)?;
        if total <= have && have > 0 {
            return Err(ErrorCode::INVALID_PARTITIONS);
        }
        for i in have..total {
            let leader = if live.is_empty() {
                -1
            } else {
                live[(i + offset) % live.len()]
            };
            topic.partitions.push(Partition {
                leader,
                leader_epoch: 0,
                log: PartitionLog::default(),
            });
        }
        Ok(())
    }

    /// Makes `to` the leader of `topic`-`partition`, with a new leader epoch.
    pub(crate) fn move_leader(&mut self, topic: &str, partition: i32, to: i32) -> Result<(), ErrorCode> {
        if !self.brokers.get(&to).is_some_and(|b| b.up) {
            return Err(ErrorCode::BROKER_NOT_AVAILABLE);
        }
        let p = self
            .partition_mut(topic, partition)
            .ok_or(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)?;
        p.leader = to;
        p.leader_epoch += 1;
        Ok(())
    }

    /// The leader of `topic`-`partition`.
    pub(crate) fn leader(&self, topic: &str, partition: i32) -> Option<i32> {
        self.partition(topic, partition).map(|p| p.leader)
    }

    /// Marks `broker` down or up; a broker going down hands its partitions to the next live one.
    pub(crate) fn set_broker_up(&mut self, broker: i32, up: bool) {
        if let Some(b) = self.brokers.get_mut(&broker) {
            b.up = up;
        }
        let live = self.live();
        for topic in self.topics.values_mut() {
            for (i, p) in topic.partitions.iter_mut().enumerate() {
                let orphaned = p.leader == broker && !up || p.leader < 0;
                if orphaned {
                    p.leader = if live.is_empty() { -1 } else { live[i % live.len()] };
                    p.leader_epoch += 1;
                }
            }
        }
    }

    /// Brings the coordinators to `now_ms`: writes the markers that are due, then aborts every
    /// transaction open past its timeout, bumping its epoch (Kafka's coordinator).
    pub(crate) fn advance(&mut self, now_ms: i64) {
        let due: Vec<(String, bool)> = self
            .txns
            .iter()
            .filter(|(_, t)| t.markers_due_ms <= now_ms)
            .filter_map(|(id, t)| match t.state {
                TxnState::PrepareCommit => Some((id.clone(), true)),
                TxnState::PrepareAbort => Some((id.clone(), false)),
                _ => None,
            })
            .collect();
        for (id, commit) in due {
            self.complete(&id, commit, now_ms);
        }
        let expired: Vec<String> = self
            .txns
            .iter()
            .filter(|(_, t)| t.state == TxnState::Ongoing && now_ms - t.started_ms > i64::from(t.timeout_ms))
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            debug!(transactional_id = %id, "transaction timed out: aborting");
            self.bump_epoch(&id);
            self.prepare(&id, false, now_ms);
        }
    }

    /// Times out every open transaction now: bumps its epoch and aborts it.
    pub(crate) fn time_out_transactions(&mut self, now_ms: i64) {
        let open: Vec<String> = self
            .txns
            .iter()
            .filter(|(_, t)| t.state == TxnState::Ongoing)
            .map(|(id, _)| id.clone())
            .collect();
        for id in open {
            debug!(transactional_id = %id, "transaction timed out (fault): aborting");
            self.bump_epoch(&id);
            self.prepare(&id, false, now_ms);
        }
    }

    /// Moves transaction `id` to PrepareCommit or PrepareAbort; its markers follow after the
    /// marker delay (at once when the delay is 0).
    fn prepare(&mut self, id: &str, commit: bool, now_ms: i64) {
        let delay = self.marker_delay_ms;
        let Some(txn) = self.txns.get_mut(id) else {
            return;
        };
        if delay <= 0 {
            self.complete(id, commit, now_ms);
            return;
        }
        txn.state = if commit {
            TxnState::PrepareCommit
        } else {
            TxnState::PrepareAbort
        };
        txn.markers_due_ms = now_ms + delay;
    }

    /// CONCURRENT_TRANSACTIONS while transaction `id` is completing (its markers not written).
    fn check_not_completing(&self, id: &str) -> Result<(), ErrorCode> {
        match self.txns.get(id).map(|t| t.state) {
            Some(TxnState::PrepareCommit | TxnState::PrepareAbort) => Err(ErrorCode::CONCURRENT_TRANSACTIONS),
            _ => Ok(()),
        }
    }

    // ----- requests -----

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

    /// CreatePartitions: grows each topic to its new total (nothing changes when validate_only).
    fn create_partitions(&mut self, r: &CreatePartitionsRequest) -> CreatePartitionsResponse {
        let results = r
            .topics
            .iter()
            .map(|t| {
                let res = if r.validate_only {
                    Ok(())
                } else {
                    self.add_partitions(&t.name, t.count)
                };
                CreatePartitionsTopicResult {
                    name: t.name.clone(),
                    error_code: res.err().unwrap_or(ErrorCode::NONE).code(),
                    error_message: None,
                    ..Default::default()
                }
            })
            .collect();
        CreatePartitionsResponse {
            results,
            ..Default::default()
        }
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

    fn metadata(&self, r: &MetadataRequest, version: i16) -> MetadataResponse {
        let brokers = self
            .brokers
            .iter()
            .filter(|(_, b)| b.up)
            .map(|(id, b)| MetadataResponseBroker {
                node_id: *id,
                host: b.host.clone(),
                port: i32::from(b.port),
                rack: None,
                ..Default::default()
            })
            .collect();
        let names: Vec<Option<String>> = match &r.topics {
            None => self.topics.keys().cloned().map(Some).collect(),
            Some(list) if list.is_empty() && version == 0 => self.topics.keys().cloned().map(Some).collect(),
            Some(list) => list
                .iter()
                .map(|t| {
                    t.name.clone().filter(|n| !n.is_empty()).or_else(|| {
                        self.topics
                            .iter()
                            .find(|(_, x)| x.id == t.topic_id)
                            .map(|(n, _)| n.clone())
                    })
                })
                .collect(),
        };
        let all: Vec<i32> = self.brokers.keys().copied().collect();
        let live = self.live();
        let topics = names
            .into_iter()
            .map(|name| {
                let Some(topic) = name.as_deref().and_then(|n| self.topics.get(n)) else {
                    return MetadataResponseTopic {
                        error_code: ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code(),
                        name,
                        ..Default::default()
                    };
                };
                MetadataResponseTopic {
                    error_code: 0,
                    name,
                    topic_id: topic.id,
                    is_internal: false,
                    partitions: topic
                        .partitions
                        .iter()
                        .enumerate()
                        .map(|(i, p)| MetadataResponsePartition {
                            error_code: if p.leader < 0 {
                                ErrorCode::LEADER_NOT_AVAILABLE.code()
                            } else {
                                0
                            },
                            partition_index: i32::try_from(i).unwrap_or(i32::MAX),
                            leader_id: p.leader,
                            leader_epoch: p.leader_epoch,
                            replica_nodes: all.clone(),
                            isr_nodes: live.clone(),
                            offline_replicas: all.iter().filter(|b| !live.contains(b)).copied().collect(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }
            })
            .collect();
        MetadataResponse {
            brokers,
            cluster_id: Some(self.cluster_id.clone()),
            controller_id: live.first().copied().unwrap_or(-1),
            topics,
            ..Default::default()
        }
    }

    fn create_topics(&mut self, r: &CreateTopicsRequest) -> CreateTopicsResponse {
        let mut topics = Vec::new();
        for t in &r.topics {
            let partitions = if t.num_partitions == -1 {
                if t.assignments.is_empty() {
                    1
                } else {
                    i32::try_from(t.assignments.len()).unwrap_or(i32::MAX)
                }
            } else {
                t.num_partitions
            };
            let rf = if t.replication_factor == -1 {
                1
            } else {
                t.replication_factor
            };
            let res = if rf <= 0 || usize::try_from(rf).unwrap_or(usize::MAX) > self.brokers.len() {
                Err(ErrorCode::INVALID_REPLICATION_FACTOR)
            } else if r.validate_only {
                if self.topics.contains_key(&t.name) {
                    Err(ErrorCode::TOPIC_ALREADY_EXISTS)
                } else {
                    Ok(Uuid::NIL)
                }
            } else {
                self.create_topic(&t.name, partitions)
            };
            let (code, id) = match res {
                Ok(id) => (ErrorCode::NONE, id),
                Err(code) => (code, Uuid::NIL),
            };
            topics.push(CreatableTopicResult {
                name: t.name.clone(),
                topic_id: id,
                error_code: code.code(),
                error_message: None,
                num_partitions: if code.is_ok() { partitions } else { -1 },
                replication_factor: if code.is_ok() { rf } else { -1 },
                configs: None,
                ..Default::default()
            });
        }
        CreateTopicsResponse {
            topics,
            ..Default::default()
        }
    }

    fn delete_topics(&mut self, r: &DeleteTopicsRequest, version: i16) -> DeleteTopicsResponse {
        let wanted: Vec<(Option<String>, Uuid)> = if version >= 6 {
            r.topics.iter().map(|t| (t.name.clone(), t.topic_id)).collect()
        } else {
            r.topic_names
                .iter()
                .map(|n| (Some(n.clone()), Uuid::NIL))
                .collect()
        };
        let responses = wanted
            .into_iter()
            .map(|(name, id)| {
                let name = name.or_else(|| {
                    self.topics
                        .iter()
                        .find(|(_, t)| t.id == id)
                        .map(|(n, _)| n.clone())
                });
                let removed = name.as_deref().and_then(|n| self.topics.remove(n));
                let code = match (&removed, id == Uuid::NIL) {
                    (Some(_), _) => ErrorCode::NONE,
                    (None, true) => ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                    (None, false) => ErrorCode::UNKNOWN_TOPIC_ID,
                };
                DeletableTopicResult {
                    name,
                    topic_id: removed.map_or(id, |t| t.id),
                    error_code: code.code(),
                    error_message: None,
                    ..Default::default()
                }
            })
            .collect();
        DeleteTopicsResponse {
            responses,
            ..Default::default()
        }
    }

    /// Whether a transactional batch of `producer_id` at `epoch` may go to `topic`-`partition`:
    /// its transaction is open and has the partition (KIP-890's verification).
    fn transactional_ok(
        txns: &HashMap<String, Txn>,
        topic: &str,
        partition: i32,
        producer_id: i64,
        epoch: i16,
    ) -> Result<(), ErrorCode> {
        let Some(txn) = txns.values().find(|t| t.producer_id == producer_id) else {
            return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        };
        if epoch < txn.epoch {
            return Err(ErrorCode::INVALID_PRODUCER_EPOCH);
        }
        if epoch > txn.epoch
            || txn.state != TxnState::Ongoing
            || !txn.partitions.contains(&(topic.to_owned(), partition))
        {
            return Err(ErrorCode::INVALID_TXN_STATE);
        }
        Ok(())
    }

    fn produce(&mut self, broker: i32, r: &ProduceRequest) -> ProduceResponse {
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

    fn produce_one(
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
                let mut out = PartitionData {
                    partition_index: fp.partition,
                    high_watermark: -1,
                    last_stable_offset: -1,
                    log_start_offset: -1,
                    aborted_transactions: None,
                    records: Some(Bytes::new()),
                    ..Default::default()
                };
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

    fn list_offsets(&self, broker: i32, r: &ListOffsetsRequest) -> ListOffsetsResponse {
        let topics = r
            .topics
            .iter()
            .map(|t| ListOffsetsTopicResponse {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|lp| {
                        let mut out = ListOffsetsPartitionResponse {
                            partition_index: lp.partition_index,
                            timestamp: -1,
                            offset: -1,
                            leader_epoch: -1,
                            ..Default::default()
                        };
                        match self.led(broker, &t.name, lp.partition_index) {
                            Err(code) => out.error_code = code.code(),
                            Ok(p) => {
                                out.leader_epoch = p.leader_epoch;
                                let log = &p.log;
                                match lp.timestamp {
                                    -1 => {
                                        out.offset = if r.isolation_level == 1 {
                                            log.last_stable_offset()
                                        } else {
                                            log.high_watermark()
                                        };
                                    }
                                    -2 | -4 | -5 => out.offset = log.log_start(),
                                    -3 => {
                                        if let Some((offset, ts)) = log.max_timestamp() {
                                            out.offset = offset;
                                            out.timestamp = ts;
                                        }
                                    }
                                    ts if ts >= 0 => {
                                        if let Some((offset, found)) = log.offset_for_time(ts) {
                                            out.offset = offset;
                                            out.timestamp = found;
                                        }
                                    }
                                    _ => out.error_code = ErrorCode::INVALID_REQUEST.code(),
                                }
                            }
                        }
                        out
                    })
                    .collect(),
                ..Default::default()
            })
            .collect();
        ListOffsetsResponse {
            topics,
            ..Default::default()
        }
    }

    fn find_coordinator(&self, r: &FindCoordinatorRequest, version: i16) -> FindCoordinatorResponse {
        let keys: Vec<String> = if version >= 4 {
            r.coordinator_keys.clone()
        } else {
            vec![r.key.clone()]
        };
        let coordinators: Vec<Coordinator> = keys
            .into_iter()
            .map(|key| {
                let found = if matches!(r.key_type, 0 | 1) {
                    self.coordinator(&key).ok_or(ErrorCode::COORDINATOR_NOT_AVAILABLE)
                } else {
                    Err(ErrorCode::INVALID_REQUEST)
                };
                match found.and_then(|id| {
                    Ok((
                        id,
                        self.brokers
                            .get(&id)
                            .ok_or(ErrorCode::COORDINATOR_NOT_AVAILABLE)?,
                    ))
                }) {
                    Ok((id, b)) => Coordinator {
                        key,
                        node_id: id,
                        host: b.host.clone(),
                        port: i32::from(b.port),
                        error_code: 0,
                        error_message: None,
                        ..Default::default()
                    },
                    Err(code) => Coordinator {
                        key,
                        node_id: -1,
                        host: String::new(),
                        port: -1,
                        error_code: code.code(),
                        error_message: None,
                        ..Default::default()
                    },
                }
            })
            .collect();
        if version >= 4 {
            FindCoordinatorResponse {
                coordinators,
                ..Default::default()
            }
        } else {
            let c = coordinators.into_iter().next().unwrap_or_default();
            FindCoordinatorResponse {
                error_code: c.error_code,
                error_message: None,
                node_id: c.node_id,
                host: c.host,
                port: c.port,
                ..Default::default()
            }
        }
    }

    fn new_producer_id(&mut self) -> i64 {
        let id = self.next_producer_id;
        self.next_producer_id += 1;
        id
    }

    /// Bumps the epoch of transactional id `id` (a new producer id when the epoch runs out).
    fn bump_epoch(&mut self, id: &str) {
        let fresh = self.next_producer_id;
        let Some(txn) = self.txns.get_mut(id) else {
            return;
        };
        if txn.epoch >= i16::MAX - 1 {
            txn.producer_id = fresh;
            txn.epoch = 0;
            self.next_producer_id += 1;
        } else {
            txn.epoch += 1;
        }
        self.stats.epoch_bumps += 1;
    }

    /// Ends transaction `id`: markers on every partition, offsets applied on commit.
    fn complete(&mut self, id: &str, commit: bool, now_ms: i64) {
        let Some(txn) = self.txns.get_mut(id) else {
            return;
        };
        let (pid, epoch) = (txn.producer_id, txn.epoch);
        let partitions = std::mem::take(&mut txn.partitions);
        let offsets = std::mem::take(&mut txn.pending_offsets);
        txn.groups.clear();
        txn.state = if commit {
            TxnState::CompleteCommit
        } else {
            TxnState::CompleteAbort
        };
        for (topic, partition) in partitions {
            if let Some(p) = self.partition_mut(&topic, partition) {
                p.log.write_marker(pid, epoch, commit, now_ms);
            }
        }
        if commit {
            for (group, topic, partition, offset, metadata) in offsets {
                self.groups
                    .entry(group)
                    .or_default()
                    .insert((topic, partition), (offset, metadata));
            }
            self.stats.commits += 1;
        } else {
            self.stats.aborts += 1;
        }
    }

    fn init_producer_id(
        &mut self,
        broker: i32,
        r: &InitProducerIdRequest,
        now_ms: i64,
    ) -> InitProducerIdResponse {
        let err = |code: ErrorCode| InitProducerIdResponse {
            error_code: code.code(),
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        };
        let Some(id) = r.transactional_id.clone() else {
            return InitProducerIdResponse {
                producer_id: self.new_producer_id(),
                producer_epoch: 0,
                ..Default::default()
            };
        };
        if id.is_empty() {
            return err(ErrorCode::INVALID_REQUEST);
        }
        if let Err(code) = self.check_coordinator(broker, &id) {
            return err(code);
        }
        if r.transaction_timeout_ms <= 0 || r.transaction_timeout_ms > MAX_TRANSACTION_TIMEOUT_MS {
            return err(ErrorCode::INVALID_TRANSACTION_TIMEOUT);
        }
        if !self.txns.contains_key(&id) {
            let pid = self.new_producer_id();
            self.txns.insert(
                id.clone(),
                Txn {
                    producer_id: pid,
                    epoch: 0,
                    timeout_ms: r.transaction_timeout_ms,
                    state: TxnState::Empty,
                    started_ms: now_ms,
                    partitions: BTreeSet::new(),
                    groups: BTreeSet::new(),
                    pending_offsets: Vec::new(),
                    markers_due_ms: 0,
                },
            );
            return InitProducerIdResponse {
                producer_id: pid,
                producer_epoch: 0,
                ..Default::default()
            };
        }
        let txn = &self.txns[&id];
        if r.producer_id >= 0 && (r.producer_id != txn.producer_id || r.producer_epoch != txn.epoch) {
            return err(ErrorCode::PRODUCER_FENCED);
        }
        if let Err(code) = self.check_not_completing(&id) {
            return err(code);
        }
        if txn.state == TxnState::Ongoing {
            // Fence the old producer and abort its transaction; the caller retries and then gets
            // a new epoch (Kafka answers CONCURRENT_TRANSACTIONS while the abort completes).
            self.bump_epoch(&id);
            self.prepare(&id, false, now_ms);
            return err(ErrorCode::CONCURRENT_TRANSACTIONS);
        }
        self.bump_epoch(&id);
        let txn = self.txns.get_mut(&id).expect("present");
        txn.state = TxnState::Empty;
        txn.timeout_ms = r.transaction_timeout_ms;
        InitProducerIdResponse {
            producer_id: txn.producer_id,
            producer_epoch: txn.epoch,
            ..Default::default()
        }
    }

    /// Checks that `pid` at `epoch` is transactional id `id`'s current producer.
    fn check_producer(&self, id: &str, pid: i64, epoch: i16) -> Result<(), ErrorCode> {
        let txn = self.txns.get(id).ok_or(ErrorCode::INVALID_PRODUCER_ID_MAPPING)?;
        if txn.producer_id != pid {
            return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        }
        if txn.epoch != epoch {
            return Err(ErrorCode::PRODUCER_FENCED);
        }
        Ok(())
    }

    /// Opens transaction `id` if it is not open yet.
    fn open(&mut self, id: &str, now_ms: i64) {
        if let Some(txn) = self.txns.get_mut(id) {
            if txn.state != TxnState::Ongoing {
                txn.state = TxnState::Ongoing;
                txn.started_ms = now_ms;
            }
        }
    }

    fn add_partitions_one(
        &mut self,
        broker: i32,
        (id, pid, epoch): (&str, i64, i16),
        topics: &[AddPartitionsToTxnTopic],
        verify_only: bool,
        now_ms: i64,
    ) -> Vec<AddPartitionsToTxnTopicResult> {
        let check = self
            .check_coordinator(broker, id)
            .and_then(|()| self.check_producer(id, pid, epoch))
            .and_then(|()| {
                if verify_only {
                    Ok(())
                } else {
                    self.check_not_completing(id)
                }
            });
        let unknown: BTreeSet<(String, i32)> = topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(move |p| (t.name.clone(), *p)))
            .filter(|(t, p)| self.partition(t, *p).is_none())
            .collect();
        let code_for = |t: &str, p: i32| -> ErrorCode {
            match &check {
                Err(code) => *code,
                Ok(()) if unknown.contains(&(t.to_owned(), p)) => ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                Ok(()) if !unknown.is_empty() => ErrorCode::OPERATION_NOT_ATTEMPTED,
                Ok(()) => ErrorCode::NONE,
            }
        };
        let mut results = Vec::new();
        let mut add = Vec::new();
        for t in topics {
            let mut rs = Vec::new();
            for p in &t.partitions {
                let mut code = code_for(&t.name, *p);
                if code.is_ok() && verify_only {
                    let has = self.txns.get(id).is_some_and(|x| {
                        x.state == TxnState::Ongoing && x.partitions.contains(&(t.name.clone(), *p))
                    });
                    if !has {
                        code = ErrorCode::INVALID_TXN_STATE;
                    }
                }
                if code.is_ok() {
                    add.push((t.name.clone(), *p));
                }
                rs.push(AddPartitionsToTxnPartitionResult {
                    partition_index: *p,
                    partition_error_code: code.code(),
                    ..Default::default()
                });
            }
            results.push(AddPartitionsToTxnTopicResult {
                name: t.name.clone(),
                results_by_partition: rs,
                ..Default::default()
            });
        }
        if !verify_only && check.is_ok() && unknown.is_empty() {
            self.open(id, now_ms);
            if let Some(txn) = self.txns.get_mut(id) {
                txn.partitions.extend(add);
            }
        }
        results
    }

    fn add_partitions_to_txn(
        &mut self,
        broker: i32,
        r: &AddPartitionsToTxnRequest,
        version: i16,
        now_ms: i64,
    ) -> AddPartitionsToTxnResponse {
        if version <= 3 {
            let results = self.add_partitions_one(
                broker,
                (
                    &r.v3_and_below_transactional_id,
                    r.v3_and_below_producer_id,
                    r.v3_and_below_producer_epoch,
                ),
                &r.v3_and_below_topics,
                false,
                now_ms,
            );
            return AddPartitionsToTxnResponse {
                results_by_topic_v3_and_below: results,
                ..Default::default()
            };
        }
        let results = r
            .transactions
            .iter()
            .map(|t| AddPartitionsToTxnResult {
                transactional_id: t.transactional_id.clone(),
                topic_results: self.add_partitions_one(
                    broker,
                    (&t.transactional_id, t.producer_id, t.producer_epoch),
                    &t.topics,
                    t.verify_only,
                    now_ms,
                ),
                ..Default::default()
            })
            .collect();
        AddPartitionsToTxnResponse {
            results_by_transaction: results,
            ..Default::default()
        }
    }

    fn add_offsets_to_txn(
        &mut self,
        broker: i32,
        r: &AddOffsetsToTxnRequest,
        now_ms: i64,
    ) -> AddOffsetsToTxnResponse {
        let id = &r.transactional_id;
        let res = self
            .check_coordinator(broker, id)
            .and_then(|()| self.check_producer(id, r.producer_id, r.producer_epoch))
            .and_then(|()| self.check_not_completing(id));
        if res.is_ok() {
            self.open(id, now_ms);
            if let Some(txn) = self.txns.get_mut(id) {
                txn.groups.insert(r.group_id.clone());
            }
        }
        AddOffsetsToTxnResponse {
            error_code: res.err().unwrap_or(ErrorCode::NONE).code(),
            ..Default::default()
        }
    }

    fn end_txn(&mut self, broker: i32, r: &EndTxnRequest, now_ms: i64) -> EndTxnResponse {
        let id = &r.transactional_id;
        let res = self.check_coordinator(broker, id).and_then(|()| {
            let txn = self.txns.get(id).ok_or(ErrorCode::INVALID_PRODUCER_ID_MAPPING)?;
            if txn.producer_id != r.producer_id {
                return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
            }
            if txn.epoch != r.producer_epoch {
                return Err(ErrorCode::PRODUCER_FENCED);
            }
            match (txn.state, r.committed) {
                (TxnState::Ongoing, commit) => {
                    self.prepare(id, commit, now_ms);
                    Ok(())
                }
                // A retry while the markers are being written: Kafka asks to retry later.
                (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
                    Err(ErrorCode::CONCURRENT_TRANSACTIONS)
                }
                // A retry of an EndTxn that completed: the same outcome again is fine.
                (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => Ok(()),
                _ => Err(ErrorCode::INVALID_TXN_STATE),
            }
        });
        EndTxnResponse {
            error_code: res.err().unwrap_or(ErrorCode::NONE).code(),
            ..Default::default()
        }
    }

    /// DescribeTransactions: each transactional id's state as Kafka's coordinator names it, with
    /// its producer id, epoch and (while open) partitions.
    fn describe_transactions(
        &self,
        broker: i32,
        r: &DescribeTransactionsRequest,
    ) -> DescribeTransactionsResponse {
        let transaction_states = r
            .transactional_ids
            .iter()
            .map(|id| {
                let found = self
                    .check_coordinator(broker, id)
                    .and_then(|()| self.txns.get(id).ok_or(ErrorCode::TRANSACTIONAL_ID_NOT_FOUND));
                let txn = match found {
                    Ok(txn) => txn,
                    Err(code) => {
                        return TransactionState {
                            error_code: code.code(),
                            transactional_id: id.clone(),
                            producer_id: -1,
                            producer_epoch: -1,
                            ..Default::default()
                        }
                    }
                };
                let mut topics: Vec<TopicData> = Vec::new();
                for (topic, partition) in &txn.partitions {
                    match topics.iter_mut().find(|t| &t.topic == topic) {
                        Some(t) => t.partitions.push(*partition),
                        None => topics.push(TopicData {
                            topic: topic.clone(),
                            partitions: vec![*partition],
                            ..Default::default()
                        }),
                    }
                }
                TransactionState {
                    transactional_id: id.clone(),
                    transaction_state: match txn.state {
                        TxnState::Empty => "Empty",
                        TxnState::Ongoing => "Ongoing",
                        TxnState::PrepareCommit => "PrepareCommit",
                        TxnState::PrepareAbort => "PrepareAbort",
                        TxnState::CompleteCommit => "CompleteCommit",
                        TxnState::CompleteAbort => "CompleteAbort",
                    }
                    .to_owned(),
                    transaction_timeout_ms: txn.timeout_ms,
                    transaction_start_time_ms: if txn.state == TxnState::Empty {
                        -1
                    } else {
                        txn.started_ms
                    },
                    producer_id: txn.producer_id,
                    producer_epoch: txn.epoch,
                    topics,
                    ..Default::default()
                }
            })
            .collect();
        DescribeTransactionsResponse {
            transaction_states,
            ..Default::default()
        }
    }

    fn txn_offset_commit(&mut self, broker: i32, r: &TxnOffsetCommitRequest) -> TxnOffsetCommitResponse {
        let res = self.check_coordinator(broker, &r.group_id).and_then(|()| {
            self.check_producer(&r.transactional_id, r.producer_id, r.producer_epoch)?;
            let txn = &self.txns[&r.transactional_id];
            if txn.state != TxnState::Ongoing || !txn.groups.contains(&r.group_id) {
                return Err(ErrorCode::INVALID_TXN_STATE);
            }
            Ok(())
        });
        let mut topics = Vec::new();
        for t in &r.topics {
            let mut partitions = Vec::new();
            for p in &t.partitions {
                let code = match res {
                    Err(code) => code,
                    Ok(()) if self.partition(&t.name, p.partition_index).is_none() => {
                        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                    }
                    Ok(()) => {
                        if let Some(txn) = self.txns.get_mut(&r.transactional_id) {
                            txn.pending_offsets.push((
                                r.group_id.clone(),
                                t.name.clone(),
                                p.partition_index,
                                p.committed_offset,
                                p.committed_metadata.clone(),
                            ));
                        }
                        ErrorCode::NONE
                    }
                };
                partitions.push(TxnOffsetCommitResponsePartition {
                    partition_index: p.partition_index,
                    error_code: code.code(),
                    ..Default::default()
                });
            }
            topics.push(TxnOffsetCommitResponseTopic {
                name: t.name.clone(),
                partitions,
                ..Default::default()
            });
        }
        TxnOffsetCommitResponse {
            topics,
            ..Default::default()
        }
    }

    fn offset_commit(&mut self, broker: i32, r: &OffsetCommitRequest, version: i16) -> OffsetCommitResponse {
        let coordinator = self.check_coordinator(broker, &r.group_id);
        let mut topics = Vec::new();
        for t in &r.topics {
            let name = self.topic_name(version >= OFFSETS_BY_TOPIC_ID, &t.name, t.topic_id);
            let mut partitions = Vec::new();
            for p in &t.partitions {
                let code = match (coordinator, &name) {
                    (Err(code), _) => code,
                    (Ok(()), None) => ErrorCode::UNKNOWN_TOPIC_ID,
                    (Ok(()), Some(n)) if self.partition(n, p.partition_index).is_none() => {
                        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                    }
                    (Ok(()), Some(n)) => {
                        self.groups.entry(r.group_id.clone()).or_default().insert(
                            (n.clone(), p.partition_index),
                            (p.committed_offset, p.committed_metadata.clone()),
                        );
                        ErrorCode::NONE
                    }
                };
                partitions.push(OffsetCommitResponsePartition {
                    partition_index: p.partition_index,
                    error_code: code.code(),
                    ..Default::default()
                });
            }
            topics.push(OffsetCommitResponseTopic {
                name: t.name.clone(),
                topic_id: t.topic_id,
                partitions,
                ..Default::default()
            });
        }
        OffsetCommitResponse {
            topics,
            ..Default::default()
        }
    }

    /// The offsets of `group` for `topics` (`None`: all it has), by topic.
    fn group_offsets(&self, group: &str, topics: Option<Vec<(String, Vec<i32>)>>) -> TopicOffsets {
        let stored = self.groups.get(group);
        let wanted = topics.unwrap_or_else(|| {
            let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
            for (t, p) in stored.into_iter().flat_map(BTreeMap::keys) {
                by_topic.entry(t.clone()).or_default().push(*p);
            }
            by_topic.into_iter().collect()
        });
        wanted
            .into_iter()
            .map(|(t, ps)| {
                let list = ps
                    .into_iter()
                    .map(|p| match stored.and_then(|g| g.get(&(t.clone(), p))) {
                        Some((o, m)) => (p, *o, m.clone()),
                        None => (p, -1, Some(String::new())),
                    })
                    .collect();
                (t, list)
            })
            .collect()
    }

    fn offset_fetch(&self, broker: i32, r: &OffsetFetchRequest, version: i16) -> OffsetFetchResponse {
        if version >= 8 {
            let groups = r
                .groups
                .iter()
                .map(|g| {
                    if let Err(code) = self.check_coordinator(broker, &g.group_id) {
                        return OffsetFetchResponseGroup {
                            group_id: g.group_id.clone(),
                            error_code: code.code(),
                            ..Default::default()
                        };
                    }
                    // v10+ names topics by id: an id no topic has is answered UNKNOWN_TOPIC_ID.
                    let by_id = version >= OFFSETS_BY_TOPIC_ID;
                    let mut unknown = Vec::new();
                    let wanted = g.topics.as_ref().map(|ts| {
                        ts.iter()
                            .filter_map(|t| match self.topic_name(by_id, &t.name, t.topic_id) {
                                Some(name) => Some((name, t.partition_indexes.clone())),
                                None => {
                                    unknown.push(OffsetFetchResponseTopics {
                                        topic_id: t.topic_id,
                                        partitions: t
                                            .partition_indexes
                                            .iter()
                                            .map(|p| OffsetFetchResponsePartitions {
                                                partition_index: *p,
                                                committed_offset: -1,
                                                committed_leader_epoch: -1,
                                                metadata: None,
                                                error_code: ErrorCode::UNKNOWN_TOPIC_ID.code(),
                                                ..Default::default()
                                            })
                                            .collect(),
                                        ..Default::default()
                                    });
                                    None
                                }
                            })
                            .collect()
                    });
                    OffsetFetchResponseGroup {
                        group_id: g.group_id.clone(),
                        topics: self
                            .group_offsets(&g.group_id, wanted)
                            .into_iter()
                            .map(|(name, ps)| OffsetFetchResponseTopics {
                                topic_id: self.topic_id(&name),
                                name,
                                partitions: ps
                                    .into_iter()
                                    .map(|(p, o, m)| OffsetFetchResponsePartitions {
                                        partition_index: p,
                                        committed_offset: o,
                                        committed_leader_epoch: -1,
                                        metadata: m,
                                        error_code: 0,
                                        ..Default::default()
                                    })
                                    .collect(),
                                ..Default::default()
                            })
                            .chain(unknown)
                            .collect(),
                        error_code: 0,
                        ..Default::default()
                    }
                })
                .collect();
            return OffsetFetchResponse {
                groups,
                ..Default::default()
            };
        }
        if let Err(code) = self.check_coordinator(broker, &r.group_id) {
            return OffsetFetchResponse {
                error_code: code.code(),
                ..Default::default()
            };
        }
        let wanted = r.topics.as_ref().map(|ts| {
            ts.iter()
                .map(|t| (t.name.clone(), t.partition_indexes.clone()))
                .collect()
        });
        OffsetFetchResponse {
            topics: self
                .group_offsets(&r.group_id, wanted)
                .into_iter()
                .map(|(name, ps)| OffsetFetchResponseTopic {
                    name,
                    partitions: ps
                        .into_iter()
                        .map(|(p, o, m)| OffsetFetchResponsePartition {
                            partition_index: p,
                            committed_offset: o,
                            committed_leader_epoch: -1,
                            metadata: m,
                            error_code: 0,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }
}

/// ApiVersions: every implemented API with the versions the codec speaks, up to `FAKE_MAX`.
pub(crate) fn api_versions() -> ApiVersionsResponse {
    let mut api_keys: Vec<ApiVersion> = ApiKey::SUPPORTED
        .iter()
        .filter(|(k, _, _)| IMPLEMENTED.contains(k))
        .map(|(k, _, v)| {
            let cap = FAKE_MAX
                .iter()
                .find(|(api, _)| api == k)
                .map_or(v.max, |(_, m)| *m);
            ApiVersion {
                api_key: k.0,
                min_version: v.min,
                max_version: v.max.min(cap),
                ..Default::default()
            }
        })
        .collect();
    api_keys.sort_by_key(|k| k.api_key);
    ApiVersionsResponse {
        api_keys,
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

#[cfg(test)]
mod tests {
    use kwire_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
    use kwire_protocol::records::{Compression, RecordBatchBuilder};

    use super::*;

    const ID: &str = "t-id";

    fn one_broker() -> ClusterState {
        let mut brokers = BTreeMap::new();
        brokers.insert(
            0,
            BrokerInfo {
                host: "127.0.0.1".into(),
                port: 1,
                up: true,
            },
        );
        let mut c = ClusterState::new(brokers);
        c.create_topic("t", 1).unwrap();
        c
    }

    fn init(c: &mut ClusterState, now: i64) -> InitProducerIdResponse {
        c.init_producer_id(
            0,
            &InitProducerIdRequest {
                transactional_id: Some(ID.into()),
                transaction_timeout_ms: 60_000,
                ..Default::default()
            },
            now,
        )
    }

    fn add_partition(c: &mut ClusterState, pid: i64, epoch: i16, now: i64) -> i16 {
        let r = AddPartitionsToTxnRequest {
            v3_and_below_transactional_id: ID.into(),
            v3_and_below_producer_id: pid,
            v3_and_below_producer_epoch: epoch,
            v3_and_below_topics: vec![AddPartitionsToTxnTopic {
                name: "t".into(),
                partitions: vec![0],
                ..Default::default()
            }],
            ..Default::default()
        };
        c.add_partitions_to_txn(0, &r, 3, now)
            .results_by_topic_v3_and_below[0]
            .results_by_partition[0]
            .partition_error_code
    }

    fn end(c: &mut ClusterState, pid: i64, epoch: i16, commit: bool, now: i64) -> ErrorCode {
        let r = EndTxnRequest {
            transactional_id: ID.into(),
            producer_id: pid,
            producer_epoch: epoch,
            committed: commit,
            ..Default::default()
        };
        ErrorCode(c.end_txn(0, &r, now).error_code)
    }

    fn state(c: &ClusterState) -> String {
        let r = DescribeTransactionsRequest {
            transactional_ids: vec![ID.into()],
            ..Default::default()
        };
        c.describe_transactions(0, &r).transaction_states[0]
            .transaction_state
            .clone()
    }

    fn lso(c: &ClusterState) -> (i64, i64) {
        let log = &c.partition("t", 0).unwrap().log;
        (log.last_stable_offset(), log.high_watermark())
    }

    /// Kafka's coordinator answers EndTxn at PrepareCommit and writes the markers afterwards:
    /// until then the transaction is still completing (CONCURRENT_TRANSACTIONS for the next
    /// InitProducerId, AddPartitionsToTxn or a retried EndTxn) and the last stable offset stays
    /// before its records.
    #[test]
    fn end_txn_answers_before_the_markers_and_the_lso_moves_only_with_them() {
        let mut c = one_broker();
        let r = init(&mut c, 0);
        let (pid, epoch) = (r.producer_id, r.producer_epoch);
        assert_eq!(add_partition(&mut c, pid, epoch, 0), 0);
        let mut b = RecordBatchBuilder::new(Compression::None)
            .with_producer(pid, epoch, 0)
            .with_transactional(true);
        b.append(0, None, Some(&b"v"[..]), &[]).unwrap();
        let batch = b.finish().unwrap();
        c.produce_one(0, "t", 0, Some(&batch)).unwrap();
        assert_eq!(lso(&c), (0, 1));

        assert_eq!(end(&mut c, pid, epoch, true, 10), ErrorCode::NONE);
        c.advance(10 + MARKER_DELAY_MS - 1);
        assert_eq!(state(&c), "PrepareCommit");
        assert_eq!(lso(&c), (0, 1), "no marker yet");
        assert_eq!(
            end(&mut c, pid, epoch, true, 11),
            ErrorCode::CONCURRENT_TRANSACTIONS
        );
        assert_eq!(end(&mut c, pid, epoch, false, 11), ErrorCode::INVALID_TXN_STATE);
        assert_eq!(
            add_partition(&mut c, pid, epoch, 11),
            ErrorCode::CONCURRENT_TRANSACTIONS.code()
        );
        assert_eq!(
            ErrorCode(init(&mut c, 11).error_code),
            ErrorCode::CONCURRENT_TRANSACTIONS
        );
        assert_eq!(c.stats.commits, 0);

        c.advance(10 + MARKER_DELAY_MS);
        assert_eq!(state(&c), "CompleteCommit");
        assert_eq!(lso(&c), (2, 2), "the commit marker is written");
        assert_eq!(c.stats.commits, 1);
        assert_eq!(
            end(&mut c, pid, epoch, true, 40),
            ErrorCode::NONE,
            "a retry after the end"
        );
        let next = init(&mut c, 40);
        assert_eq!((next.error_code, next.producer_epoch), (0, epoch + 1));
    }

    /// InitProducerId on an open transaction fences it: PrepareAbort at the bumped epoch, and
    /// CONCURRENT_TRANSACTIONS until the abort markers are written; a timed-out transaction goes
    /// the same way.
    #[test]
    fn a_fenced_or_timed_out_transaction_aborts_through_prepare_abort() {
        let mut c = one_broker();
        let r = init(&mut c, 0);
        assert_eq!(add_partition(&mut c, r.producer_id, r.producer_epoch, 0), 0);
        assert_eq!(
            ErrorCode(init(&mut c, 5).error_code),
            ErrorCode::CONCURRENT_TRANSACTIONS
        );
        assert_eq!(state(&c), "PrepareAbort");
        assert_eq!(
            ErrorCode(init(&mut c, 6).error_code),
            ErrorCode::CONCURRENT_TRANSACTIONS
        );
        c.advance(5 + MARKER_DELAY_MS);
        assert_eq!(state(&c), "CompleteAbort");
        assert_eq!(c.stats.aborts, 1);
        let r = init(&mut c, 30);
        assert_eq!((r.error_code, r.producer_epoch), (0, 2));

        assert_eq!(add_partition(&mut c, r.producer_id, r.producer_epoch, 30), 0);
        c.advance(30 + 60_001);
        assert_eq!(state(&c), "PrepareAbort", "timed out");
        c.advance(30 + 60_001 + MARKER_DELAY_MS);
        assert_eq!(state(&c), "CompleteAbort");
        assert_eq!(c.stats.aborts, 2);
    }
}
