//! Metadata response (API key 3): versions 0-13, flexible from 9.
//!
//! Declared from the field list of `MetadataResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The Metadata response (API key 3), versions 0-13.
    pub struct MetadataResponse {
    /// ThrottleTimeMs: Versions 3+.
    throttle_time_ms: i32 = 0 => [3, 13] ignorable: true;
    /// Brokers: Versions 0+.
    brokers: Vec<MetadataResponseBroker> = Vec::new() => [0, 13];
    /// ClusterId: Versions 2+; nullable in 2+.
    cluster_id: Option<String> = None => [2, 13] null [2, 13] ignorable: true;
    /// ControllerId: Versions 1+.
    controller_id: i32 = -1 => [1, 13] ignorable: true;
    /// Topics: Versions 0+.
    topics: Vec<MetadataResponseTopic> = Vec::new() => [0, 13];
    /// ClusterAuthorizedOperations: Versions 8-10.
    cluster_authorized_operations: i32 = -2147483648 => [8, 10];
    /// ErrorCode: Versions 13+.
    error_code: i16 = 0 => [13, 13] ignorable: true;
    }
}

kafka_struct! {
    /// The `MetadataResponseBroker` struct of this message.
    pub struct MetadataResponseBroker {
    /// NodeId: Versions 0+.
    node_id: i32 = 0 => [0, 13];
    /// Host: Versions 0+.
    host: String = String::new() => [0, 13];
    /// Port: Versions 0+.
    port: i32 = 0 => [0, 13];
    /// Rack: Versions 1+; nullable in 1+.
    rack: Option<String> = None => [1, 13] null [1, 13] ignorable: true;
    }
}

kafka_struct! {
    /// The `MetadataResponseTopic` struct of this message.
    pub struct MetadataResponseTopic {
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 13];
    /// Name: Versions 0+; nullable in 12+.
    name: Option<String> = Some(String::new()) => [0, 13] null [12, 13];
    /// TopicId: Versions 10+.
    topic_id: Uuid = Uuid::NIL => [10, 13] ignorable: true;
    /// IsInternal: Versions 1+.
    is_internal: bool = false => [1, 13] ignorable: true;
    /// Partitions: Versions 0+.
    partitions: Vec<MetadataResponsePartition> = Vec::new() => [0, 13];
    /// TopicAuthorizedOperations: Versions 8+.
    topic_authorized_operations: i32 = -2147483648 => [8, 13];
    }
}

kafka_struct! {
    /// The `MetadataResponsePartition` struct of this message.
    pub struct MetadataResponsePartition {
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 13];
    /// PartitionIndex: Versions 0+.
    partition_index: i32 = 0 => [0, 13];
    /// LeaderId: Versions 0+.
    leader_id: i32 = 0 => [0, 13];
    /// LeaderEpoch: Versions 7+.
    leader_epoch: i32 = -1 => [7, 13] ignorable: true;
    /// ReplicaNodes: Versions 0+.
    replica_nodes: Vec<i32> = Vec::new() => [0, 13];
    /// IsrNodes: Versions 0+.
    isr_nodes: Vec<i32> = Vec::new() => [0, 13];
    /// OfflineReplicas: Versions 5+.
    offline_replicas: Vec<i32> = Vec::new() => [5, 13] ignorable: true;
    }
}

kafka_message!(MetadataResponse, key 3, versions [0, 13], flexible 9, throttle);
