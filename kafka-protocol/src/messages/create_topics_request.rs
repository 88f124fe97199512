//! CreateTopics request (API key 19): versions 2-7, flexible from 5.
//!
//! Declared from the field list of `CreateTopicsRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The CreateTopics request (API key 19), versions 2-7.
    pub struct CreateTopicsRequest {
    /// Topics: Versions 2+.
    topics: Vec<CreatableTopic> = Vec::new() => [2, 7];
    /// timeoutMs: Versions 2+.
    timeout_ms: i32 = 60000 => [2, 7];
    /// validateOnly: Versions 2+.
    validate_only: bool = false => [2, 7];
    }
}

kafka_struct! {
    /// The `CreatableTopic` struct of this message.
    pub struct CreatableTopic {
    /// Name: Versions 2+.
    name: String = String::new() => [2, 7];
    /// NumPartitions: Versions 2+.
    num_partitions: i32 = 0 => [2, 7];
    /// ReplicationFactor: Versions 2+.
    replication_factor: i16 = 0 => [2, 7];
    /// Assignments: Versions 2+.
    assignments: Vec<CreatableReplicaAssignment> = Vec::new() => [2, 7];
    /// Configs: Versions 2+.
    configs: Vec<CreatableTopicConfig> = Vec::new() => [2, 7];
    }
}

kafka_struct! {
    /// The `CreatableReplicaAssignment` struct of this message.
    pub struct CreatableReplicaAssignment {
    /// PartitionIndex: Versions 2+.
    partition_index: i32 = 0 => [2, 7];
    /// BrokerIds: Versions 2+.
    broker_ids: Vec<i32> = Vec::new() => [2, 7];
    }
}

kafka_struct! {
    /// The `CreatableTopicConfig` struct of this message.
    pub struct CreatableTopicConfig {
    /// Name: Versions 2+.
    name: String = String::new() => [2, 7];
    /// Value: Versions 2+; nullable in 2+.
    value: Option<String> = Some(String::new()) => [2, 7] null [2, 7];
    }
}

kafka_message!(request CreateTopicsRequest, key 19, versions [2, 7], flexible 5, response super::create_topics_response::CreateTopicsResponse);
