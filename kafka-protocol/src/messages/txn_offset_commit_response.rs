//! TxnOffsetCommit response (API key 28): versions 0-4, flexible from 3.
//!
//! Declared from the field list of `TxnOffsetCommitResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The TxnOffsetCommit response (API key 28), versions 0-4.
    pub struct TxnOffsetCommitResponse {
    /// ThrottleTimeMs: Versions 0+.
    throttle_time_ms: i32 = 0 => [0, 4];
    /// Topics: Versions 0+.
    topics: Vec<TxnOffsetCommitResponseTopic> = Vec::new() => [0, 4];
    }
}

kafka_struct! {
    /// The `TxnOffsetCommitResponseTopic` struct of this message.
    pub struct TxnOffsetCommitResponseTopic {
    /// Name: Versions 0+.
    name: String = String::new() => [0, 4];
    /// Partitions: Versions 0+.
    partitions: Vec<TxnOffsetCommitResponsePartition> = Vec::new() => [0, 4];
    }
}

kafka_struct! {
    /// The `TxnOffsetCommitResponsePartition` struct of this message.
    pub struct TxnOffsetCommitResponsePartition {
    /// PartitionIndex: Versions 0+.
    partition_index: i32 = 0 => [0, 4];
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 4];
    }
}

kafka_message!(TxnOffsetCommitResponse, key 28, versions [0, 4], flexible 3);
