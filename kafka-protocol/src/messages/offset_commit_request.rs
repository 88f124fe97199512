//! OffsetCommit request (API key 8): versions 2-10, flexible from 8.
//!
//! Declared from the field list of `OffsetCommitRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The OffsetCommit request (API key 8), versions 2-10.
    pub struct OffsetCommitRequest {
    /// GroupId: Versions 2+.
    group_id: String = String::new() => [2, 10];
    /// GenerationIdOrMemberEpoch: Versions 2+.
    generation_id_or_member_epoch: i32 = -1 => [2, 10] ignorable: true;
    /// MemberId: Versions 2+.
    member_id: String = String::new() => [2, 10] ignorable: true;
    /// GroupInstanceId: Versions 7+; nullable in 7+.
    group_instance_id: Option<String> = None => [7, 10] null [7, 10];
    /// RetentionTimeMs: Versions 2-4.
    retention_time_ms: i64 = -1 => [2, 4] ignorable: true;
    /// Topics: Versions 2+.
    topics: Vec<OffsetCommitRequestTopic> = Vec::new() => [2, 10];
    }
}

kafka_struct! {
    /// The `OffsetCommitRequestTopic` struct of this message.
    pub struct OffsetCommitRequestTopic {
    /// Name: Versions 2-9.
    name: String = String::new() => [2, 9] ignorable: true;
    /// TopicId: Versions 10+.
    topic_id: Uuid = Uuid::NIL => [10, 10] ignorable: true;
    /// Partitions: Versions 2+.
    partitions: Vec<OffsetCommitRequestPartition> = Vec::new() => [2, 10];
    }
}

kafka_struct! {
    /// The `OffsetCommitRequestPartition` struct of this message.
    pub struct OffsetCommitRequestPartition {
    /// PartitionIndex: Versions 2+.
    partition_index: i32 = 0 => [2, 10];
    /// CommittedOffset: Versions 2+.
    committed_offset: i64 = 0 => [2, 10];
    /// CommittedLeaderEpoch: Versions 6+.
    committed_leader_epoch: i32 = -1 => [6, 10] ignorable: true;
    /// CommittedMetadata: Versions 2+; nullable in 2+.
    committed_metadata: Option<String> = Some(String::new()) => [2, 10] null [2, 10];
    }
}

kafka_message!(request OffsetCommitRequest, key 8, versions [2, 10], flexible 8, response super::offset_commit_response::OffsetCommitResponse);
