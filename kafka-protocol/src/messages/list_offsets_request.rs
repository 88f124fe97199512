//! ListOffsets request (API key 2): versions 1-9, flexible from 6.
//!
//! Declared from the field list of `ListOffsetsRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The ListOffsets request (API key 2), versions 1-9.
    pub struct ListOffsetsRequest {
    /// ReplicaId: Versions 1+.
    replica_id: i32 = 0 => [1, 9];
    /// IsolationLevel: Versions 2+.
    isolation_level: i8 = 0 => [2, 9];
    /// Topics: Versions 1+.
    topics: Vec<ListOffsetsTopic> = Vec::new() => [1, 9];
    }
}

kafka_struct! {
    /// The `ListOffsetsTopic` struct of this message.
    pub struct ListOffsetsTopic {
    /// Name: Versions 1+.
    name: String = String::new() => [1, 9];
    /// Partitions: Versions 1+.
    partitions: Vec<ListOffsetsPartition> = Vec::new() => [1, 9];
    }
}

kafka_struct! {
    /// The `ListOffsetsPartition` struct of this message.
    pub struct ListOffsetsPartition {
    /// PartitionIndex: Versions 1+.
    partition_index: i32 = 0 => [1, 9];
    /// CurrentLeaderEpoch: Versions 4+.
    current_leader_epoch: i32 = -1 => [4, 9] ignorable: true;
    /// Timestamp: Versions 1+.
    timestamp: i64 = 0 => [1, 9];
    }
}

kafka_message!(request ListOffsetsRequest, key 2, versions [1, 9], flexible 6, response super::list_offsets_response::ListOffsetsResponse);
