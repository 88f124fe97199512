//! Cluster and admin APIs: ApiVersions, Metadata, CreateTopics, DeleteTopics, CreatePartitions
//! and ListOffsets, with the control the cluster's handle uses (topics, leaders, brokers going
//! down and up, deleted records).
//!
//! References: KIP-516 (topic ids), the protocol guide.

use kwire_protocol::messages::api_versions_response::ApiVersion;
use kwire_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kwire_protocol::messages::create_topics_response::CreatableTopicResult;
use kwire_protocol::messages::delete_topics_response::DeletableTopicResult;
use kwire_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kwire_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kwire_protocol::messages::{
    ApiKey, ApiVersionsResponse, CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest,
    CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse, ListOffsetsRequest, ListOffsetsResponse,
    MetadataRequest, MetadataResponse,
};
use kwire_protocol::{ErrorCode, Uuid};

use super::{ClusterState, Partition, Topic};
use crate::fake::log::PartitionLog;

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

impl ClusterState {
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

    // ----- requests -----

    /// CreatePartitions: grows each topic to its new total (nothing changes when validate_only).
    pub(super) fn create_partitions(&mut self, r: &CreatePartitionsRequest) -> CreatePartitionsResponse {
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

    pub(super) fn metadata(&self, r: &MetadataRequest, version: i16) -> MetadataResponse {
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

    pub(super) fn create_topics(&mut self, r: &CreateTopicsRequest) -> CreateTopicsResponse {
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

    pub(super) fn delete_topics(&mut self, r: &DeleteTopicsRequest, version: i16) -> DeleteTopicsResponse {
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

    pub(super) fn list_offsets(&self, broker: i32, r: &ListOffsetsRequest) -> ListOffsetsResponse {
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
}
