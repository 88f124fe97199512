//! DescribeProducers request (API key 61): versions 0-0, flexible from 0.
//!
//! Declared from the field list of `DescribeProducersRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The DescribeProducers request (API key 61), versions 0-0.
    pub struct DescribeProducersRequest {
    /// Topics: Versions 0+.
    topics: Vec<TopicRequest> = Vec::new() => [0, 0];
    }
}

kafka_struct! {
    /// The `TopicRequest` struct of this message.
    pub struct TopicRequest {
    /// Name: Versions 0+.
    name: String = String::new() => [0, 0];
    /// PartitionIndexes: Versions 0+.
    partition_indexes: Vec<i32> = Vec::new() => [0, 0];
    }
}

kafka_message!(request DescribeProducersRequest, key 61, versions [0, 0], flexible 0, response super::describe_producers_response::DescribeProducersResponse);
