//! TxnOffsetCommit response (API key 28): versions 0-6, flexible from 3.
//!
//! Declared from the field list of `TxnOffsetCommitResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The TxnOffsetCommit response (API key 28), versions 0-6.
    pub struct TxnOffsetCommitResponse {
    /// ThrottleTimeMs: Versions 0+.
    throttle_time_ms: i32 = 0 => [0, 6];
    /// Topics: Versions 0+.
    topics: Vec<TxnOffsetCommitResponseTopic> = Vec::new() => [0, 6];
    }
}

kafka_struct! {
    /// The `TxnOffsetCommitResponseTopic` struct of this message.
    pub struct TxnOffsetCommitResponseTopic {
    /// Name: Versions 0-5.
    name: String = String::new() => [0, 5] ignorable: true;
    /// TopicId: Versions 6+.
    topic_id: Uuid = Uuid::NIL => [6, 6] ignorable: true;
    /// Partitions: Versions 0+.
    partitions: Vec<TxnOffsetCommitResponsePartition> = Vec::new() => [0, 6];
    }
}

kafka_struct! {
    /// The `TxnOffsetCommitResponsePartition` struct of this message.
    pub struct TxnOffsetCommitResponsePartition {
    /// PartitionIndex: Versions 0+.
    partition_index: i32 = 0 => [0, 6];
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 6];
    }
}

kafka_message!(TxnOffsetCommitResponse, key 28, versions [0, 6], flexible 3, throttle);
