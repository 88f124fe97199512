//! OffsetFetch response (API key 9): versions 1-10, flexible from 6.
//!
//! Declared from the field list of `OffsetFetchResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The OffsetFetch response (API key 9), versions 1-10.
    pub struct OffsetFetchResponse {
    /// ThrottleTimeMs: Versions 3+.
    throttle_time_ms: i32 = 0 => [3, 10] ignorable: true;
    /// Topics: Versions 1-7.
    topics: Vec<OffsetFetchResponseTopic> = Vec::new() => [1, 7];
    /// ErrorCode: Versions 2-7.
    error_code: i16 = 0 => [2, 7] ignorable: true;
    /// Groups: Versions 8+.
    groups: Vec<OffsetFetchResponseGroup> = Vec::new() => [8, 10];
    }
}

kafka_struct! {
    /// The `OffsetFetchResponseTopic` struct of this message.
    pub struct OffsetFetchResponseTopic {
    /// Name: Versions 1-7.
    name: String = String::new() => [1, 7];
    /// Partitions: Versions 1-7.
    partitions: Vec<OffsetFetchResponsePartition> = Vec::new() => [1, 7];
    }
}

kafka_struct! {
    /// The `OffsetFetchResponsePartition` struct of this message.
    pub struct OffsetFetchResponsePartition {
    /// PartitionIndex: Versions 1-7.
    partition_index: i32 = 0 => [1, 7];
    /// CommittedOffset: Versions 1-7.
    committed_offset: i64 = 0 => [1, 7];
    /// CommittedLeaderEpoch: Versions 5-7.
    committed_leader_epoch: i32 = -1 => [5, 7] ignorable: true;
    /// Metadata: Versions 1-7; nullable in 1-7.
    metadata: Option<String> = Some(String::new()) => [1, 7] null [1, 7];
    /// ErrorCode: Versions 1-7.
    error_code: i16 = 0 => [1, 7];
    }
}

kafka_struct! {
    /// The `OffsetFetchResponseGroup` struct of this message.
    pub struct OffsetFetchResponseGroup {
    /// GroupId: Versions 8+.
    group_id: String = String::new() => [8, 10];
    /// Topics: Versions 8+.
    topics: Vec<OffsetFetchResponseTopics> = Vec::new() => [8, 10];
    /// ErrorCode: Versions 8+.
    error_code: i16 = 0 => [8, 10];
    }
}

kafka_struct! {
    /// The `OffsetFetchResponseTopics` struct of this message.
    pub struct OffsetFetchResponseTopics {
    /// Name: Versions 8-9.
    name: String = String::new() => [8, 9] ignorable: true;
    /// TopicId: Versions 10+.
    topic_id: Uuid = Uuid::NIL => [10, 10] ignorable: true;
    /// Partitions: Versions 8+.
    partitions: Vec<OffsetFetchResponsePartitions> = Vec::new() => [8, 10];
    }
}

kafka_struct! {
    /// The `OffsetFetchResponsePartitions` struct of this message.
    pub struct OffsetFetchResponsePartitions {
    /// PartitionIndex: Versions 8+.
    partition_index: i32 = 0 => [8, 10];
    /// CommittedOffset: Versions 8+.
    committed_offset: i64 = 0 => [8, 10];
    /// CommittedLeaderEpoch: Versions 8+.
    committed_leader_epoch: i32 = -1 => [8, 10] ignorable: true;
    /// Metadata: Versions 8+; nullable in 8+.
    metadata: Option<String> = Some(String::new()) => [8, 10] null [8, 10];
    /// ErrorCode: Versions 8+.
    error_code: i16 = 0 => [8, 10];
    }
}

kafka_message!(OffsetFetchResponse, key 9, versions [1, 10], flexible 6, throttle);
