//! Admin operations (create, delete and list topics; list offsets; describe transactions) and
//! offsets stored under a group id without group membership (OffsetCommit with generation -1, as
//! Flink's source does).
//!
//! References: KIP-664 (DescribeTransactions, ListTransactions, DescribeProducers).

use crate::client::{BrokerError, ClientError, ProtocolError};
use std::collections::HashMap;
use std::sync::Arc;

use kwire_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kwire_protocol::messages::delete_topics_request::DeleteTopicState;
use kwire_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kwire_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kwire_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kwire_protocol::messages::{
    CreateTopicsRequest, DeleteTopicsRequest, DescribeTransactionsRequest, FindCoordinatorRequest,
    ListOffsetsRequest, OffsetCommitRequest, OffsetFetchRequest,
};
use kwire_protocol::{ErrorCode, Uuid};

use super::{Client, Connection, Error, TopicMetadata};

/// Which offset [`Client::list_offset`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The log end offset (the next offset to be written).
    Latest,
    /// The first offset whose timestamp is at or after this many ms since the epoch.
    Timestamp(i64),
}

impl OffsetSpec {
    fn wire(self) -> i64 {
        match self {
            Self::Earliest => -2,
            Self::Latest => -1,
            Self::Timestamp(ms) => ms,
        }
    }
}

/// A transaction's state as its coordinator names it (Kafka's `TransactionState`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionState {
    /// No transaction open (a fresh or re-initialised producer).
    Empty,
    /// A transaction is open.
    Ongoing,
    /// Commit decided; markers being written.
    PrepareCommit,
    /// Abort decided (by the producer, a fencing, or the coordinator's timeout); markers being
    /// written.
    PrepareAbort,
    /// The last transaction committed.
    CompleteCommit,
    /// The last transaction aborted.
    CompleteAbort,
    /// The transactional id expired and is being removed.
    Dead,
    /// A newer producer fences this one: its open transaction is being aborted.
    PrepareEpochFence,
    /// A state this client does not know, by its name.
    Unknown(String),
}

impl TransactionState {
    /// The state the coordinator names `name`.
    pub fn from_name(name: &str) -> Self {
        match name {
            "Empty" => Self::Empty,
            "Ongoing" => Self::Ongoing,
            "PrepareCommit" => Self::PrepareCommit,
            "PrepareAbort" => Self::PrepareAbort,
            "CompleteCommit" => Self::CompleteCommit,
            "CompleteAbort" => Self::CompleteAbort,
            "Dead" => Self::Dead,
            "PrepareEpochFence" => Self::PrepareEpochFence,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

/// A transactional id as its coordinator describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionDescription {
    /// The transactional id.
    pub transactional_id: String,
    /// The state of its current (or last) transaction.
    pub state: TransactionState,
    /// Its producer id now.
    pub producer_id: i64,
    /// Its producer epoch now: bumped by every InitProducerId, by a coordinator's abort of a
    /// timed-out or fenced transaction, and (transactions v2, KIP-890) by every commit or abort.
    pub producer_epoch: i16,
    /// Its transaction timeout.
    pub timeout_ms: i32,
    /// When its current transaction started (ms since the epoch), -1 if none.
    pub start_time_ms: i64,
    /// The partitions of the open transaction (none once it completed).
    pub partitions: Vec<(String, i32)>,
}

/// FindCoordinator's key type for a consumer group.
const GROUP_KEY: i8 = 0;

/// FindCoordinator's key type for a transactional id.
pub(crate) const TRANSACTION_KEY: i8 = 1;

/// The first OffsetCommit and OffsetFetch version that names topics by id (KIP-848).
const OFFSETS_BY_TOPIC_ID: i16 = 10;

/// A topic of an answer: by its name, or (versions naming topics by id) by the name its id has
/// in `ids`.
fn topic_name(name: &str, id: Uuid, ids: &HashMap<String, Uuid>) -> String {
    if !name.is_empty() {
        return name.to_owned();
    }
    ids.iter()
        .find(|(_, v)| **v == id)
        .map_or_else(|| id.to_string(), |(n, _)| n.clone())
}

impl Client {
    /// Creates `topic` with `partitions` partitions and waits until each has a leader.
    /// An existing topic is an error with code TOPIC_ALREADY_EXISTS.
    pub async fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
    ) -> Result<(), Error> {
        self.create_topic_with_config(topic, partitions, replication_factor, &[])
            .await
    }

    /// [`Client::create_topic`] with topic configs (`retention.ms`, `cleanup.policy`, ...); a
    /// config the broker refuses fails the creation with INVALID_CONFIG and its message.
    pub async fn create_topic_with_config(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &[(&str, &str)],
    ) -> Result<(), Error> {
        let conn = self.controller().await?;
        let configs: Vec<CreatableTopicConfig> = configs
            .iter()
            .map(|(k, v)| CreatableTopicConfig {
                name: (*k).to_owned(),
                value: Some((*v).to_owned()),
                ..Default::default()
            })
            .collect();
        let resp = conn
            .send_built(|_| CreateTopicsRequest {
                topics: vec![CreatableTopic {
                    name: topic.to_owned(),
                    num_partitions: partitions,
                    replication_factor,
                    configs: configs.clone(),
                    ..Default::default()
                }],
                timeout_ms: 30_000,
                ..Default::default()
            })
            .await?;
        for t in &resp.topics {
            let code = ErrorCode(t.error_code);
            if !code.is_ok() {
                return Err(Error::Broker(BrokerError {
                    api: "CreateTopics",
                    topic: Some(t.name.clone()),
                    partition: None,
                    code,
                    message: t.error_message.clone(),
                }));
            }
        }
        self.wait_for_leaders(topic, partitions).await
    }

    /// Waits until each of the `partitions` partitions of `topic` has a leader (with -1, the
    /// broker's default count: the partitions the metadata lists, at least one).
    async fn wait_for_leaders(&self, topic: &str, partitions: i32) -> Result<(), Error> {
        let partitions = self
            .retry(Some(topic), || async {
                self.invalidate(topic);
                let t = self.topic(topic).await?;
                let partitions = if partitions < 0 {
                    i32::try_from(t.partitions.len()).unwrap_or(i32::MAX).max(1)
                } else {
                    partitions
                };
                match (0..partitions).find(|id| !t.partitions.iter().any(|p| p.id == *id && p.leader >= 0)) {
                    None => Ok(partitions),
                    // The broker's own word for the partition when it sent one
                    // (LEADER_NOT_AVAILABLE while a leader is elected), else the client's.
                    Some(id) => match t.partitions.iter().find(|p| p.id == id && !p.error.is_ok()) {
                        Some(p) => Err(Error::broker_at("Metadata", p.error, topic, Some(id))),
                        None => Err(Error::Client(ClientError::NoLeader {
                            topic: topic.to_owned(),
                            partition: id,
                        })),
                    },
                }
            })
            .await?;
        // Metadata may name a leader before that broker has taken the partition on (Apache
        // Kafka's brokers apply the controller's records a moment later and answer
        // NOT_LEADER_OR_FOLLOWER meanwhile, and close the connection of an acks=0 Produce):
        // ListOffsets, which retries that error, tells when each partition is served.
        for partition in 0..partitions {
            self.list_offset(topic, partition, OffsetSpec::Latest).await?;
        }
        Ok(())
    }

    /// Deletes `topic`.
    pub async fn delete_topic(&self, topic: &str) -> Result<(), Error> {
        let conn = self.controller().await?;
        let resp = conn
            .send_built(|version| {
                let mut req = DeleteTopicsRequest {
                    timeout_ms: 30_000,
                    ..Default::default()
                };
                if version >= 6 {
                    req.topics = vec![DeleteTopicState {
                        name: Some(topic.to_owned()),
                        ..Default::default()
                    }];
                } else {
                    req.topic_names = vec![topic.to_owned()];
                }
                req
            })
            .await?;
        self.invalidate(topic);
        for r in &resp.responses {
            let code = ErrorCode(r.error_code);
            if !code.is_ok() {
                return Err(Error::Broker(BrokerError {
                    api: "DeleteTopics",
                    topic: Some(topic.to_owned()),
                    partition: None,
                    code,
                    message: r.error_message.clone(),
                }));
            }
        }
        Ok(())
    }

    /// The names of every topic, sorted.
    pub async fn list_topics(&self) -> Result<Vec<String>, Error> {
        self.topic_names(true).await
    }

    /// The metadata of `topics` asked for again (not from the cache); a topic that does not
    /// exist (yet, or any more) is left out.
    pub(crate) async fn fresh_topics<'a>(
        &self,
        topics: impl IntoIterator<Item = &'a String>,
    ) -> Result<Vec<TopicMetadata>, Error> {
        let mut out = Vec::new();
        for topic in topics {
            self.invalidate(topic);
            match self.topic(topic).await {
                Ok(meta) => out.push(meta),
                Err(e) if e.code() == Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The names of every topic, sorted, with or without the internal ones (`__consumer_offsets`,
    /// `__transaction_state`).
    pub(crate) async fn topic_names(&self, internal: bool) -> Result<Vec<String>, Error> {
        let resp = self.refresh_metadata(&[]).await?;
        let mut names: Vec<String> = resp
            .topics
            .into_iter()
            .filter(|t| ErrorCode(t.error_code).is_ok() && (internal || !t.is_internal))
            .filter_map(|t| t.name)
            .collect();
        names.sort();
        Ok(names)
    }

    /// The controller, or any broker when the cluster names none.
    async fn controller(&self) -> Result<Arc<Connection>, Error> {
        let id = self.read_meta(|m| m.controller_id);
        match self.broker(id).await {
            Ok(c) => Ok(c),
            Err(_) => self.any_broker().await,
        }
    }

    /// The offset of `topic`-`partition` that `spec` names, from the partition's leader;
    /// -1 when no record has a timestamp at or after the one asked for.
    pub async fn list_offset(&self, topic: &str, partition: i32, spec: OffsetSpec) -> Result<i64, Error> {
        // v10+: how long the leader may take over offsets in remote storage (KIP-1075).
        let timeout_ms =
            i32::try_from(self.inner.config.connection.request_timeout.as_millis()).unwrap_or(i32::MAX);
        self.retry(Some(topic), || async {
            let conn = self.leader(topic, partition).await?;
            let resp = conn
                .send_built(|_| ListOffsetsRequest {
                    replica_id: -1,
                    timeout_ms,
                    topics: vec![ListOffsetsTopic {
                        name: topic.to_owned(),
                        partitions: vec![ListOffsetsPartition {
                            partition_index: partition,
                            current_leader_epoch: -1,
                            timestamp: spec.wire(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                    ..Default::default()
                })
                .await?;
            let p = resp
                .topics
                .iter()
                .flat_map(|t| t.partitions.iter())
                .find(|p| p.partition_index == partition)
                .ok_or_else(|| {
                    Error::Protocol(ProtocolError::InvalidResponse {
                        api: "ListOffsets",
                        broker: conn.addr().to_owned(),
                        reason: format!("no answer for {topic}-{partition}, which it was asked for"),
                    })
                })?;
            let code = ErrorCode(p.error_code);
            if code.is_ok() {
                Ok(p.offset)
            } else {
                Err(Error::broker_at("ListOffsets", code, topic, Some(partition)))
            }
        })
        .await
    }

    /// DescribeTransactions at `transactional_id`'s coordinator: the state of its transaction,
    /// or `None` when the coordinator does not know the id (never used, or expired).
    pub async fn describe_transaction(
        &self,
        transactional_id: &str,
    ) -> Result<Option<TransactionDescription>, Error> {
        self.retry(None, || async {
            let conn = self.coordinator(transactional_id, TRANSACTION_KEY).await?;
            let resp = conn
                .send_built(|_| DescribeTransactionsRequest {
                    transactional_ids: vec![transactional_id.to_owned()],
                    ..Default::default()
                })
                .await?;
            let t = resp
                .transaction_states
                .into_iter()
                .find(|t| t.transactional_id == transactional_id)
                .ok_or_else(|| {
                    Error::Protocol(ProtocolError::InvalidResponse {
                        api: "DescribeTransactions",
                        broker: conn.addr().to_owned(),
                        reason: format!(
                            "no answer for transactional id {transactional_id}, which it was asked for"
                        ),
                    })
                })?;
            let code = ErrorCode(t.error_code);
            if code == ErrorCode::TRANSACTIONAL_ID_NOT_FOUND {
                return Ok(None);
            }
            if !code.is_ok() {
                return Err(Error::broker_at(
                    "DescribeTransactions",
                    code,
                    transactional_id,
                    None,
                ));
            }
            Ok(Some(TransactionDescription {
                state: TransactionState::from_name(&t.transaction_state),
                producer_id: t.producer_id,
                producer_epoch: t.producer_epoch,
                timeout_ms: t.transaction_timeout_ms,
                start_time_ms: t.transaction_start_time_ms,
                partitions: t
                    .topics
                    .into_iter()
                    .flat_map(|d| {
                        let topic = d.topic;
                        d.partitions.into_iter().map(move |p| (topic.clone(), p))
                    })
                    .collect(),
                transactional_id: t.transactional_id,
            }))
        })
        .await
    }

    /// OffsetFetch for `group`: the partitions of `topic`, or every committed offset with `None`;
    /// the group in a list of its own from v8 on, at the top level before.
    pub(crate) fn offset_fetch_request(
        version: i16,
        group: &str,
        topic: Option<OffsetFetchRequestTopics>,
    ) -> OffsetFetchRequest {
        if version >= 8 {
            OffsetFetchRequest {
                groups: vec![OffsetFetchRequestGroup {
                    group_id: group.to_owned(),
                    member_epoch: -1,
                    topics: topic.map(|t| vec![t]),
                    ..Default::default()
                }],
                ..Default::default()
            }
        } else {
            OffsetFetchRequest {
                group_id: group.to_owned(),
                topics: topic.map(|t| {
                    vec![OffsetFetchRequestTopic {
                        name: t.name,
                        partition_indexes: t.partition_indexes,
                        ..Default::default()
                    }]
                }),
                ..Default::default()
            }
        }
    }

    /// The coordinator of consumer group `group`.
    pub(crate) async fn group_coordinator(&self, group: &str) -> Result<Arc<Connection>, Error> {
        self.coordinator(group, GROUP_KEY).await
    }

    /// A connection of its own to the coordinator of `group`, not shared with the client's other
    /// requests: for a classic group member, whose JoinGroup and SyncGroup the coordinator holds
    /// until the group has formed (and a broker answers a connection's requests in order).
    pub(crate) async fn dedicated_group_coordinator(&self, group: &str) -> Result<Arc<Connection>, Error> {
        self.find_coordinator(group, GROUP_KEY, true).await
    }

    /// The coordinator of `key`: a consumer group (`key_type` 0) or a transactional id (1).
    pub(crate) async fn coordinator(&self, key: &str, key_type: i8) -> Result<Arc<Connection>, Error> {
        self.find_coordinator(key, key_type, false).await
    }

    async fn find_coordinator(
        &self,
        key: &str,
        key_type: i8,
        dedicated: bool,
    ) -> Result<Arc<Connection>, Error> {
        self.retry(None, || async {
            let conn = self.any_broker().await?;
            let resp = conn
                .send_built(|version| FindCoordinatorRequest {
                    key: if version < 4 {
                        key.to_owned()
                    } else {
                        String::new()
                    },
                    key_type,
                    coordinator_keys: if version >= 4 {
                        vec![key.to_owned()]
                    } else {
                        Vec::new()
                    },
                    ..Default::default()
                })
                .await?;
            let (code, host, port) = match resp.coordinators.first() {
                Some(c) => (ErrorCode(c.error_code), c.host.clone(), c.port),
                None => (ErrorCode(resp.error_code), resp.host.clone(), resp.port),
            };
            if !code.is_ok() {
                return Err(Error::broker_at("FindCoordinator", code, key, None));
            }
            let addr = format!("{host}:{port}");
            if dedicated {
                let config = self.inner.config.connection.clone();
                return Ok(Arc::new(Connection::connect(&addr, config).await?));
            }
            self.connection(&addr).await
        })
        .await
    }

    /// The ids of `topics`, from the metadata (asked for if not cached), for requests that name
    /// topics by id (KIP-516); `needed` false: none are looked up and every id is nil.
    async fn topic_ids(&self, mut topics: Vec<String>, needed: bool) -> Result<HashMap<String, Uuid>, Error> {
        topics.sort_unstable();
        topics.dedup();
        let mut ids = HashMap::with_capacity(topics.len());
        for topic in topics {
            let id = if needed {
                self.topic(&topic).await?.id
            } else {
                Uuid::NIL
            };
            ids.insert(topic, id);
        }
        Ok(ids)
    }

    /// Stores `offsets` (topic, partition, next offset to read) under `group` with `metadata`,
    /// without joining the group.
    pub async fn commit_offsets(
        &self,
        group: &str,
        offsets: &[(String, i32, i64)],
        metadata: &str,
    ) -> Result<(), Error> {
        self.commit_offsets_as(group, None, offsets, metadata).await
    }

    /// [`Self::commit_offsets`] as a member of the group (`member`: its id, its epoch or
    /// generation, and its instance id if static), which a group with members requires.
    pub(crate) async fn commit_offsets_as(
        &self,
        group: &str,
        member: Option<(&str, i32, Option<&str>)>,
        offsets: &[(String, i32, i64)],
        metadata: &str,
    ) -> Result<(), Error> {
        self.retry(None, || async {
            let conn = self.group_coordinator(group).await?;
            // v10+ names topics by id, older versions by name; normalisation drops the other.
            let by_id = conn.version_for::<OffsetCommitRequest>()? >= OFFSETS_BY_TOPIC_ID;
            let ids = self
                .topic_ids(offsets.iter().map(|o| o.0.clone()).collect(), by_id)
                .await?;
            let mut topics: Vec<OffsetCommitRequestTopic> = Vec::new();
            for (topic, partition, offset) in offsets {
                let entry = OffsetCommitRequestPartition {
                    partition_index: *partition,
                    committed_offset: *offset,
                    committed_leader_epoch: -1,
                    committed_metadata: Some(metadata.to_owned()),
                    ..Default::default()
                };
                match topics.iter_mut().find(|t| &t.name == topic) {
                    Some(t) => t.partitions.push(entry),
                    None => topics.push(OffsetCommitRequestTopic {
                        name: topic.clone(),
                        topic_id: ids[topic],
                        partitions: vec![entry],
                        ..Default::default()
                    }),
                }
            }
            let resp = conn
                .send_built(|_| OffsetCommitRequest {
                    group_id: group.to_owned(),
                    generation_id_or_member_epoch: member.map_or(-1, |m| m.1),
                    member_id: member.map(|m| m.0.to_owned()).unwrap_or_default(),
                    group_instance_id: member.and_then(|m| m.2.map(str::to_owned)),
                    retention_time_ms: -1,
                    topics,
                    ..Default::default()
                })
                .await?;
            for t in &resp.topics {
                for p in &t.partitions {
                    let code = ErrorCode(p.error_code);
                    if !code.is_ok() {
                        return Err(Error::broker_at(
                            "OffsetCommit",
                            code,
                            &topic_name(&t.name, t.topic_id, &ids),
                            Some(p.partition_index),
                        ));
                    }
                }
            }
            Ok(())
        })
        .await
    }

    /// The offsets stored under `group` for `partitions` of `topic`: `(partition, offset)`,
    /// offset -1 where none is stored.
    pub async fn committed_offsets(
        &self,
        group: &str,
        topic: &str,
        partitions: &[i32],
    ) -> Result<Vec<(i32, i64)>, Error> {
        self.retry(None, || async {
            let conn = self.group_coordinator(group).await?;
            // v10+ names topics by id, older versions by name; normalisation drops the other.
            let by_id = conn.version_for::<OffsetFetchRequest>()? >= OFFSETS_BY_TOPIC_ID;
            let topic_id = self.topic_ids(vec![topic.to_owned()], by_id).await?[topic];
            let resp = conn
                .send_built(|version| {
                    Self::offset_fetch_request(
                        version,
                        group,
                        Some(OffsetFetchRequestTopics {
                            name: topic.to_owned(),
                            topic_id,
                            partition_indexes: partitions.to_vec(),
                            ..Default::default()
                        }),
                    )
                })
                .await?;
            let mut out = Vec::new();
            let check = |code: i16, partition: Option<i32>| {
                let code = ErrorCode(code);
                if code.is_ok() {
                    Ok(())
                } else {
                    Err(Error::broker_at("OffsetFetch", code, topic, partition))
                }
            };
            check(resp.error_code, None)?;
            for t in &resp.topics {
                for p in &t.partitions {
                    check(p.error_code, Some(p.partition_index))?;
                    out.push((p.partition_index, p.committed_offset));
                }
            }
            for g in &resp.groups {
                check(g.error_code, None)?;
                for t in &g.topics {
                    for p in &t.partitions {
                        check(p.error_code, Some(p.partition_index))?;
                        out.push((p.partition_index, p.committed_offset));
                    }
                }
            }
            Ok(out)
        })
        .await
    }
}
