//! EndTxn request (API key 26): versions 0-5, flexible from 3.
//!
//! Declared from the field list of `EndTxnRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The EndTxn request (API key 26), versions 0-5.
    pub struct EndTxnRequest {
    /// TransactionalId: Versions 0+.
    transactional_id: String = String::new() => [0, 5];
    /// ProducerId: Versions 0+.
    producer_id: i64 = 0 => [0, 5];
    /// ProducerEpoch: Versions 0+.
    producer_epoch: i16 = 0 => [0, 5];
    /// Committed: Versions 0+.
    committed: bool = false => [0, 5];
    }
}

kafka_message!(request EndTxnRequest, key 26, versions [0, 5], flexible 3, response super::end_txn_response::EndTxnResponse);
