//! Fetch request (API key 1): versions 4-18, flexible from 12.
//!
//! Declared from the field list of `FetchRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The Fetch request (API key 1), versions 4-18.
    pub struct FetchRequest {
    /// ClusterId: Versions 12+; nullable in 12+; tagged field 0 in 12+.
    cluster_id: Option<String> = None => [12, 18] null [12, 18] tag 0 [12, 18] ignorable: true;
    /// ReplicaId: Versions 4-14.
    replica_id: i32 = -1 => [4, 14];
    /// ReplicaState: Versions 15+; tagged field 1 in 15+.
    replica_state: ReplicaState = Default::default() => [15, 18] tag 1 [15, 18];
    /// MaxWaitMs: Versions 4+.
    max_wait_ms: i32 = 0 => [4, 18];
    /// MinBytes: Versions 4+.
    min_bytes: i32 = 0 => [4, 18];
    /// MaxBytes: Versions 4+.
    max_bytes: i32 = 2147483647 => [4, 18] ignorable: true;
    /// IsolationLevel: Versions 4+.
    isolation_level: i8 = 0 => [4, 18] ignorable: true;
    /// SessionId: Versions 7+.
    session_id: i32 = 0 => [7, 18] ignorable: true;
    /// SessionEpoch: Versions 7+.
    session_epoch: i32 = -1 => [7, 18] ignorable: true;
    /// Topics: Versions 4+.
    topics: Vec<FetchTopic> = Vec::new() => [4, 18];
    /// ForgottenTopicsData: Versions 7+.
    forgotten_topics_data: Vec<ForgottenTopic> = Vec::new() => [7, 18];
    /// RackId: Versions 11+.
    rack_id: String = String::new() => [11, 18] ignorable: true;
    }
}

kafka_struct! {
    /// The `ReplicaState` struct of this message.
    pub struct ReplicaState {
    /// ReplicaId: Versions 15+.
    replica_id: i32 = -1 => [15, 18];
    /// ReplicaEpoch: Versions 15+.
    replica_epoch: i64 = -1 => [15, 18];
    }
}

kafka_struct! {
    /// The `FetchTopic` struct of this message.
    pub struct FetchTopic {
    /// Topic: Versions 4-12.
    topic: String = String::new() => [4, 12] ignorable: true;
    /// TopicId: Versions 13+.
    topic_id: Uuid = Uuid::NIL => [13, 18] ignorable: true;
    /// Partitions: Versions 4+.
    partitions: Vec<FetchPartition> = Vec::new() => [4, 18];
    }
}

kafka_struct! {
    /// The `FetchPartition` struct of this message.
    pub struct FetchPartition {
    /// Partition: Versions 4+.
    partition: i32 = 0 => [4, 18];
    /// CurrentLeaderEpoch: Versions 9+.
    current_leader_epoch: i32 = -1 => [9, 18] ignorable: true;
    /// FetchOffset: Versions 4+.
    fetch_offset: i64 = 0 => [4, 18];
    /// LastFetchedEpoch: Versions 12+.
    last_fetched_epoch: i32 = -1 => [12, 18];
    /// LogStartOffset: Versions 5+.
    log_start_offset: i64 = -1 => [5, 18] ignorable: true;
    /// PartitionMaxBytes: Versions 4+.
    partition_max_bytes: i32 = 0 => [4, 18];
    /// ReplicaDirectoryId: Versions 17+; tagged field 0 in 17+.
    replica_directory_id: Uuid = Uuid::NIL => [17, 18] tag 0 [17, 18] ignorable: true;
    /// HighWatermark: Versions 18+; tagged field 1 in 18+.
    high_watermark: i64 = 9223372036854775807 => [18, 18] tag 1 [18, 18] ignorable: true;
    }
}

kafka_struct! {
    /// The `ForgottenTopic` struct of this message.
    pub struct ForgottenTopic {
    /// Topic: Versions 7-12.
    topic: String = String::new() => [7, 12] ignorable: true;
    /// TopicId: Versions 13+.
    topic_id: Uuid = Uuid::NIL => [13, 18] ignorable: true;
    /// Partitions: Versions 7+.
    partitions: Vec<i32> = Vec::new() => [7, 18];
    }
}

kafka_message!(request FetchRequest, key 1, versions [4, 18], flexible 12, response super::fetch_response::FetchResponse);
