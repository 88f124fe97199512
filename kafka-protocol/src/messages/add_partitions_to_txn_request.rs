//! AddPartitionsToTxn request (API key 24): versions 0-5, flexible from 3.
//!
//! Declared from the field list of `AddPartitionsToTxnRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The AddPartitionsToTxn request (API key 24), versions 0-5.
    pub struct AddPartitionsToTxnRequest {
    /// Transactions: Versions 4+.
    transactions: Vec<AddPartitionsToTxnTransaction> = Vec::new() => [4, 5];
    /// V3AndBelowTransactionalId: Versions 0-3.
    v3_and_below_transactional_id: String = String::new() => [0, 3];
    /// V3AndBelowProducerId: Versions 0-3.
    v3_and_below_producer_id: i64 = 0 => [0, 3];
    /// V3AndBelowProducerEpoch: Versions 0-3.
    v3_and_below_producer_epoch: i16 = 0 => [0, 3];
    /// V3AndBelowTopics: Versions 0-3.
    v3_and_below_topics: Vec<AddPartitionsToTxnTopic> = Vec::new() => [0, 3];
    }
}

kafka_struct! {
    /// The `AddPartitionsToTxnTransaction` struct of this message.
    pub struct AddPartitionsToTxnTransaction {
    /// TransactionalId: Versions 4+.
    transactional_id: String = String::new() => [4, 5];
    /// ProducerId: Versions 4+.
    producer_id: i64 = 0 => [4, 5];
    /// ProducerEpoch: Versions 4+.
    producer_epoch: i16 = 0 => [4, 5];
    /// VerifyOnly: Versions 4+.
    verify_only: bool = false => [4, 5];
    /// Topics: Versions 4+.
    topics: Vec<AddPartitionsToTxnTopic> = Vec::new() => [4, 5];
    }
}

kafka_struct! {
    /// The `AddPartitionsToTxnTopic` struct of this message.
    pub struct AddPartitionsToTxnTopic {
    /// Name: Versions 0+.
    name: String = String::new() => [0, 5];
    /// Partitions: Versions 0+.
    partitions: Vec<i32> = Vec::new() => [0, 5];
    }
}

kafka_message!(request AddPartitionsToTxnRequest, key 24, versions [0, 5], flexible 3, response super::add_partitions_to_txn_response::AddPartitionsToTxnResponse);
