//! DescribeTransactions request (API key 65): versions 0-0, flexible from 0.
//!
//! Declared from the field list of `DescribeTransactionsRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The DescribeTransactions request (API key 65), versions 0-0.
    pub struct DescribeTransactionsRequest {
    /// TransactionalIds: Versions 0+.
    transactional_ids: Vec<String> = Vec::new() => [0, 0];
    }
}

kafka_message!(request DescribeTransactionsRequest, key 65, versions [0, 0], flexible 0, response super::describe_transactions_response::DescribeTransactionsResponse);
