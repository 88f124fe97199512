//! Fetch response (API key 1): versions 4-18, flexible from 12.
//!
//! Declared from the field list of `FetchResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The Fetch response (API key 1), versions 4-18.
    pub struct FetchResponse {
    /// ThrottleTimeMs: Versions 4+.
    throttle_time_ms: i32 = 0 => [4, 18] ignorable: true;
    /// ErrorCode: Versions 7+.
    error_code: i16 = 0 => [7, 18] ignorable: true;
    /// SessionId: Versions 7+.
    session_id: i32 = 0 => [7, 18];
    /// Responses: Versions 4+.
    responses: Vec<FetchableTopicResponse> = Vec::new() => [4, 18];
    /// NodeEndpoints: Versions 16+; tagged field 0 in 16+.
    node_endpoints: Vec<NodeEndpoint> = Vec::new() => [16, 18] tag 0 [16, 18];
    }
}

kafka_struct! {
    /// The `FetchableTopicResponse` struct of this message.
    pub struct FetchableTopicResponse {
    /// Topic: Versions 4-12.
    topic: String = String::new() => [4, 12] ignorable: true;
    /// TopicId: Versions 13+.
    topic_id: Uuid = Uuid::NIL => [13, 18] ignorable: true;
    /// Partitions: Versions 4+.
    partitions: Vec<PartitionData> = Vec::new() => [4, 18];
    }
}

kafka_struct! {
    /// The `PartitionData` struct of this message.
    pub struct PartitionData {
    /// PartitionIndex: Versions 4+.
    partition_index: i32 = 0 => [4, 18];
    /// ErrorCode: Versions 4+.
    error_code: i16 = 0 => [4, 18];
    /// HighWatermark: Versions 4+.
    high_watermark: i64 = 0 => [4, 18];
    /// LastStableOffset: Versions 4+.
    last_stable_offset: i64 = -1 => [4, 18] ignorable: true;
    /// LogStartOffset: Versions 5+.
    log_start_offset: i64 = -1 => [5, 18] ignorable: true;
    /// DivergingEpoch: Versions 12+; tagged field 0 in 12+.
    diverging_epoch: EpochEndOffset = Default::default() => [12, 18] tag 0 [12, 18];
    /// CurrentLeader: Versions 12+; tagged field 1 in 12+.
    current_leader: LeaderIdAndEpoch = Default::default() => [12, 18] tag 1 [12, 18];
    /// SnapshotId: Versions 12+; tagged field 2 in 12+.
    snapshot_id: SnapshotId = Default::default() => [12, 18] tag 2 [12, 18];
    /// AbortedTransactions: Versions 4+; nullable in 4+.
    aborted_transactions: Option<Vec<AbortedTransaction>> = Some(Vec::new()) => [4, 18] null [4, 18] ignorable: true;
    /// PreferredReadReplica: Versions 11+.
    preferred_read_replica: i32 = -1 => [11, 18];
    /// Records: Versions 4+; nullable in 4+.
    records: Option<Bytes> = None => [4, 18] null [4, 18];
    }
}

kafka_struct! {
    /// The `EpochEndOffset` struct of this message.
    pub struct EpochEndOffset {
    /// Epoch: Versions 12+.
    epoch: i32 = -1 => [12, 18];
    /// EndOffset: Versions 12+.
    end_offset: i64 = -1 => [12, 18];
    }
}

kafka_struct! {
    /// The `LeaderIdAndEpoch` struct of this message.
    pub struct LeaderIdAndEpoch {
    /// LeaderId: Versions 12+.
    leader_id: i32 = -1 => [12, 18];
    /// LeaderEpoch: Versions 12+.
    leader_epoch: i32 = -1 => [12, 18];
    }
}

kafka_struct! {
    /// The `SnapshotId` struct of this message.
    pub struct SnapshotId {
    /// EndOffset: Versions 4+.
    end_offset: i64 = -1 => [4, 18];
    /// Epoch: Versions 4+.
    epoch: i32 = -1 => [4, 18];
    }
}

kafka_struct! {
    /// The `AbortedTransaction` struct of this message.
    pub struct AbortedTransaction {
    /// ProducerId: Versions 4+.
    producer_id: i64 = 0 => [4, 18];
    /// FirstOffset: Versions 4+.
    first_offset: i64 = 0 => [4, 18];
    }
}

kafka_struct! {
    /// The `NodeEndpoint` struct of this message.
    pub struct NodeEndpoint {
    /// NodeId: Versions 16+.
    node_id: i32 = 0 => [16, 18];
    /// Host: Versions 16+.
    host: String = String::new() => [16, 18];
    /// Port: Versions 16+.
    port: i32 = 0 => [16, 18];
    /// Rack: Versions 16+; nullable in 16+.
    rack: Option<String> = None => [16, 18] null [16, 18];
    }
}

kafka_message!(FetchResponse, key 1, versions [4, 18], flexible 12, throttle);
