//! ListOffsets response (API key 2): versions 1-11, flexible from 6.
//!
//! Declared from the field list of `ListOffsetsResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The ListOffsets response (API key 2), versions 1-11.
    pub struct ListOffsetsResponse {
    /// ThrottleTimeMs: Versions 2+.
    throttle_time_ms: i32 = 0 => [2, 11] ignorable: true;
    /// Topics: Versions 1+.
    topics: Vec<ListOffsetsTopicResponse> = Vec::new() => [1, 11];
    }
}

kafka_struct! {
    /// The `ListOffsetsTopicResponse` struct of this message.
    pub struct ListOffsetsTopicResponse {
    /// Name: Versions 1+.
    name: String = String::new() => [1, 11];
    /// Partitions: Versions 1+.
    partitions: Vec<ListOffsetsPartitionResponse> = Vec::new() => [1, 11];
    }
}

kafka_struct! {
    /// The `ListOffsetsPartitionResponse` struct of this message.
    pub struct ListOffsetsPartitionResponse {
    /// PartitionIndex: Versions 1+.
    partition_index: i32 = 0 => [1, 11];
    /// ErrorCode: Versions 1+.
    error_code: i16 = 0 => [1, 11];
    /// Timestamp: Versions 1+.
    timestamp: i64 = -1 => [1, 11];
    /// Offset: Versions 1+.
    offset: i64 = -1 => [1, 11];
    /// LeaderEpoch: Versions 4+.
    leader_epoch: i32 = -1 => [4, 11];
    }
}

kafka_message!(ListOffsetsResponse, key 2, versions [1, 11], flexible 6, throttle);
