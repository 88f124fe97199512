//! ListTransactions response (API key 66): versions 0-2, flexible from 0.
//!
//! Declared from the field list of `ListTransactionsResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The ListTransactions response (API key 66), versions 0-2.
    pub struct ListTransactionsResponse {
    /// ThrottleTimeMs: Versions 0+.
    throttle_time_ms: i32 = 0 => [0, 2];
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 2];
    /// UnknownStateFilters: Versions 0+.
    unknown_state_filters: Vec<String> = Vec::new() => [0, 2];
    /// TransactionStates: Versions 0+.
    transaction_states: Vec<TransactionState> = Vec::new() => [0, 2];
    }
}

kafka_struct! {
    /// The `TransactionState` struct of this message.
    pub struct TransactionState {
    /// TransactionalId: Versions 0+.
    transactional_id: String = String::new() => [0, 2];
    /// ProducerId: Versions 0+.
    producer_id: i64 = 0 => [0, 2];
    /// TransactionState: Versions 0+.
    transaction_state: String = String::new() => [0, 2];
    }
}

kafka_message!(ListTransactionsResponse, key 66, versions [0, 2], flexible 0, throttle);
