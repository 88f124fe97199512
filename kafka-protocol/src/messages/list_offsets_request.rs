//! ListOffsets request (API key 2): versions 1-11, flexible from 6.
//!
//! Declared from the field list of `ListOffsetsRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The ListOffsets request (API key 2), versions 1-11.
    pub struct ListOffsetsRequest {
    /// ReplicaId: Versions 1+.
    replica_id: i32 = 0 => [1, 11];
    /// IsolationLevel: Versions 2+.
    isolation_level: i8 = 0 => [2, 11];
    /// Topics: Versions 1+.
    topics: Vec<ListOffsetsTopic> = Vec::new() => [1, 11];
    /// TimeoutMs: Versions 10+.
    timeout_ms: i32 = 0 => [10, 11] ignorable: true;
    }
}

kafka_struct! {
    /// The `ListOffsetsTopic` struct of this message.
    pub struct ListOffsetsTopic {
    /// Name: Versions 1+.
    name: String = String::new() => [1, 11];
    /// Partitions: Versions 1+.
    partitions: Vec<ListOffsetsPartition> = Vec::new() => [1, 11];
    }
}

kafka_struct! {
    /// The `ListOffsetsPartition` struct of this message.
    pub struct ListOffsetsPartition {
    /// PartitionIndex: Versions 1+.
    partition_index: i32 = 0 => [1, 11];
    /// CurrentLeaderEpoch: Versions 4+.
    current_leader_epoch: i32 = -1 => [4, 11] ignorable: true;
    /// Timestamp: Versions 1+.
    timestamp: i64 = 0 => [1, 11];
    }
}

kafka_message!(request ListOffsetsRequest, key 2, versions [1, 11], flexible 6, response super::list_offsets_response::ListOffsetsResponse);
