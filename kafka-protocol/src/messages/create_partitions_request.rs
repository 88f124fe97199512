//! CreatePartitions request (API key 37): versions 0-3, flexible from 2.
//!
//! Declared from the field list of `CreatePartitionsRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The CreatePartitions request (API key 37), versions 0-3.
    pub struct CreatePartitionsRequest {
    /// Topics: Versions 0+.
    topics: Vec<CreatePartitionsTopic> = Vec::new() => [0, 3];
    /// TimeoutMs: Versions 0+.
    timeout_ms: i32 = 0 => [0, 3];
    /// ValidateOnly: Versions 0+.
    validate_only: bool = false => [0, 3];
    }
}

kafka_struct! {
    /// The `CreatePartitionsTopic` struct of this message.
    pub struct CreatePartitionsTopic {
    /// Name: Versions 0+.
    name: String = String::new() => [0, 3];
    /// Count: Versions 0+.
    count: i32 = 0 => [0, 3];
    /// Assignments: Versions 0+; nullable in 0+.
    assignments: Option<Vec<CreatePartitionsAssignment>> = Some(Vec::new()) => [0, 3] null [0, 3];
    }
}

kafka_struct! {
    /// The `CreatePartitionsAssignment` struct of this message.
    pub struct CreatePartitionsAssignment {
    /// BrokerIds: Versions 0+.
    broker_ids: Vec<i32> = Vec::new() => [0, 3];
    }
}

kafka_message!(request CreatePartitionsRequest, key 37, versions [0, 3], flexible 2, response super::create_partitions_response::CreatePartitionsResponse);
