//! DescribeTransactions response (API key 65): versions 0-0, flexible from 0.
//!
//! Declared from the field list of `DescribeTransactionsResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The DescribeTransactions response (API key 65), versions 0-0.
    pub struct DescribeTransactionsResponse {
    /// ThrottleTimeMs: Versions 0+.
    throttle_time_ms: i32 = 0 => [0, 0];
    /// TransactionStates: Versions 0+.
    transaction_states: Vec<TransactionState> = Vec::new() => [0, 0];
    }
}

kafka_struct! {
    /// The `TransactionState` struct of this message.
    pub struct TransactionState {
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 0];
    /// TransactionalId: Versions 0+.
    transactional_id: String = String::new() => [0, 0];
    /// TransactionState: Versions 0+.
    transaction_state: String = String::new() => [0, 0];
    /// TransactionTimeoutMs: Versions 0+.
    transaction_timeout_ms: i32 = 0 => [0, 0];
    /// TransactionStartTimeMs: Versions 0+.
    transaction_start_time_ms: i64 = 0 => [0, 0];
    /// ProducerId: Versions 0+.
    producer_id: i64 = 0 => [0, 0];
    /// ProducerEpoch: Versions 0+.
    producer_epoch: i16 = 0 => [0, 0];
    /// Topics: Versions 0+.
    topics: Vec<TopicData> = Vec::new() => [0, 0];
    }
}

kafka_struct! {
    /// The `TopicData` struct of this message.
    pub struct TopicData {
    /// Topic: Versions 0+.
    topic: String = String::new() => [0, 0];
    /// Partitions: Versions 0+.
    partitions: Vec<i32> = Vec::new() => [0, 0];
    }
}

kafka_message!(DescribeTransactionsResponse, key 65, versions [0, 0], flexible 0, throttle);
