//! DescribeProducers response (API key 61): versions 0-0, flexible from 0.
//!
//! Declared from the field list of `DescribeProducersResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The DescribeProducers response (API key 61), versions 0-0.
    pub struct DescribeProducersResponse {
    /// ThrottleTimeMs: Versions 0+.
    throttle_time_ms: i32 = 0 => [0, 0];
    /// Topics: Versions 0+.
    topics: Vec<TopicResponse> = Vec::new() => [0, 0];
    }
}

kafka_struct! {
    /// The `TopicResponse` struct of this message.
    pub struct TopicResponse {
    /// Name: Versions 0+.
    name: String = String::new() => [0, 0];
    /// Partitions: Versions 0+.
    partitions: Vec<PartitionResponse> = Vec::new() => [0, 0];
    }
}

kafka_struct! {
    /// The `PartitionResponse` struct of this message.
    pub struct PartitionResponse {
    /// PartitionIndex: Versions 0+.
    partition_index: i32 = 0 => [0, 0];
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 0];
    /// ErrorMessage: Versions 0+; nullable in 0+.
    error_message: Option<String> = None => [0, 0] null [0, 0];
    /// ActiveProducers: Versions 0+.
    active_producers: Vec<ProducerState> = Vec::new() => [0, 0];
    }
}

kafka_struct! {
    /// The `ProducerState` struct of this message.
    pub struct ProducerState {
    /// ProducerId: Versions 0+.
    producer_id: i64 = 0 => [0, 0];
    /// ProducerEpoch: Versions 0+.
    producer_epoch: i32 = 0 => [0, 0];
    /// LastSequence: Versions 0+.
    last_sequence: i32 = -1 => [0, 0];
    /// LastTimestamp: Versions 0+.
    last_timestamp: i64 = -1 => [0, 0];
    /// CoordinatorEpoch: Versions 0+.
    coordinator_epoch: i32 = 0 => [0, 0];
    /// CurrentTxnStartOffset: Versions 0+.
    current_txn_start_offset: i64 = -1 => [0, 0];
    }
}

kafka_message!(DescribeProducersResponse, key 61, versions [0, 0], flexible 0, throttle);
