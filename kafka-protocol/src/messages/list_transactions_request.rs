//! ListTransactions request (API key 66): versions 0-2, flexible from 0.
//!
//! Declared from the field list of `ListTransactionsRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The ListTransactions request (API key 66), versions 0-2.
    pub struct ListTransactionsRequest {
    /// StateFilters: Versions 0+.
    state_filters: Vec<String> = Vec::new() => [0, 2];
    /// ProducerIdFilters: Versions 0+.
    producer_id_filters: Vec<i64> = Vec::new() => [0, 2];
    /// DurationFilter: Versions 1+.
    duration_filter: i64 = -1 => [1, 2];
    /// TransactionalIdPattern: Versions 2+; nullable in 2+.
    transactional_id_pattern: Option<String> = None => [2, 2] null [2, 2];
    }
}

kafka_message!(request ListTransactionsRequest, key 66, versions [0, 2], flexible 0, response super::list_transactions_response::ListTransactionsResponse);
