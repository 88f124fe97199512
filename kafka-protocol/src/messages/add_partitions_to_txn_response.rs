//! AddPartitionsToTxn response (API key 24): versions 0-5, flexible from 3.
//!
//! Declared from the field list of `AddPartitionsToTxnResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The AddPartitionsToTxn response (API key 24), versions 0-5.
    pub struct AddPartitionsToTxnResponse {
    /// ThrottleTimeMs: Versions 0+.
    throttle_time_ms: i32 = 0 => [0, 5];
    /// ErrorCode: Versions 4+.
    error_code: i16 = 0 => [4, 5] ignorable: true;
    /// ResultsByTransaction: Versions 4+.
    results_by_transaction: Vec<AddPartitionsToTxnResult> = Vec::new() => [4, 5];
    /// ResultsByTopicV3AndBelow: Versions 0-3.
    results_by_topic_v3_and_below: Vec<AddPartitionsToTxnTopicResult> = Vec::new() => [0, 3];
    }
}

kafka_struct! {
    /// The `AddPartitionsToTxnResult` struct of this message.
    pub struct AddPartitionsToTxnResult {
    /// TransactionalId: Versions 4+.
    transactional_id: String = String::new() => [4, 5];
    /// TopicResults: Versions 4+.
    topic_results: Vec<AddPartitionsToTxnTopicResult> = Vec::new() => [4, 5];
    }
}

kafka_struct! {
    /// The `AddPartitionsToTxnTopicResult` struct of this message.
    pub struct AddPartitionsToTxnTopicResult {
    /// Name: Versions 0+.
    name: String = String::new() => [0, 5];
    /// ResultsByPartition: Versions 0+.
    results_by_partition: Vec<AddPartitionsToTxnPartitionResult> = Vec::new() => [0, 5];
    }
}

kafka_struct! {
    /// The `AddPartitionsToTxnPartitionResult` struct of this message.
    pub struct AddPartitionsToTxnPartitionResult {
    /// PartitionIndex: Versions 0+.
    partition_index: i32 = 0 => [0, 5];
    /// PartitionErrorCode: Versions 0+.
    partition_error_code: i16 = 0 => [0, 5];
    }
}

kafka_message!(AddPartitionsToTxnResponse, key 24, versions [0, 5], flexible 3, throttle);
