//! OffsetCommit response (API key 8): versions 2-10, flexible from 8.
//!
//! Declared from the field list of `OffsetCommitResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The OffsetCommit response (API key 8), versions 2-10.
    pub struct OffsetCommitResponse {
    /// ThrottleTimeMs: Versions 3+.
    throttle_time_ms: i32 = 0 => [3, 10] ignorable: true;
    /// Topics: Versions 2+.
    topics: Vec<OffsetCommitResponseTopic> = Vec::new() => [2, 10];
    }
}

kafka_struct! {
    /// The `OffsetCommitResponseTopic` struct of this message.
    pub struct OffsetCommitResponseTopic {
    /// Name: Versions 2-9.
    name: String = String::new() => [2, 9] ignorable: true;
    /// TopicId: Versions 10+.
    topic_id: Uuid = Uuid::NIL => [10, 10] ignorable: true;
    /// Partitions: Versions 2+.
    partitions: Vec<OffsetCommitResponsePartition> = Vec::new() => [2, 10];
    }
}

kafka_struct! {
    /// The `OffsetCommitResponsePartition` struct of this message.
    pub struct OffsetCommitResponsePartition {
    /// PartitionIndex: Versions 2+.
    partition_index: i32 = 0 => [2, 10];
    /// ErrorCode: Versions 2+.
    error_code: i16 = 0 => [2, 10];
    }
}

kafka_message!(OffsetCommitResponse, key 8, versions [2, 10], flexible 8, throttle);
