//! Group coordination: FindCoordinator (for groups and transactional ids alike), OffsetCommit and
//! OffsetFetch. Groups have no members here: offsets are committed and fetched by group id.
//!
//! References: KIP-848 (OffsetCommit and OffsetFetch by topic id), KIP-709 (OffsetFetch for
//! several groups), the protocol guide.

use std::collections::BTreeMap;

use kwire_protocol::messages::find_coordinator_response::Coordinator;
use kwire_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kwire_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kwire_protocol::messages::{
    FindCoordinatorRequest, FindCoordinatorResponse, OffsetCommitRequest, OffsetCommitResponse,
    OffsetFetchRequest, OffsetFetchResponse,
};
use kwire_protocol::ErrorCode;

use super::ClusterState;

/// The first OffsetCommit and OffsetFetch version that names topics by id (KIP-848).
const OFFSETS_BY_TOPIC_ID: i16 = 10;

/// A group's committed offsets: (topic, partition) -> (offset, metadata).
pub(super) type GroupOffsets = BTreeMap<(String, i32), (i64, Option<String>)>;

/// Offsets by topic: (topic, [(partition, offset, metadata)]).
type TopicOffsets = Vec<(String, Vec<(i32, i64, Option<String>)>)>;

impl ClusterState {
    pub(super) fn find_coordinator(
        &self,
        r: &FindCoordinatorRequest,
        version: i16,
    ) -> FindCoordinatorResponse {
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

    pub(super) fn offset_commit(
        &mut self,
        broker: i32,
        r: &OffsetCommitRequest,
        version: i16,
    ) -> OffsetCommitResponse {
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

    pub(super) fn offset_fetch(
        &self,
        broker: i32,
        r: &OffsetFetchRequest,
        version: i16,
    ) -> OffsetFetchResponse {
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
