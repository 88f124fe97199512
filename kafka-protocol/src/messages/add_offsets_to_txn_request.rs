//! AddOffsetsToTxn request (API key 25): versions 0-4, flexible from 3.
//!
//! Declared from the field list of `AddOffsetsToTxnRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The AddOffsetsToTxn request (API key 25), versions 0-4.
    pub struct AddOffsetsToTxnRequest {
    /// TransactionalId: Versions 0+.
    transactional_id: String = String::new() => [0, 4];
    /// ProducerId: Versions 0+.
    producer_id: i64 = 0 => [0, 4];
    /// ProducerEpoch: Versions 0+.
    producer_epoch: i16 = 0 => [0, 4];
    /// GroupId: Versions 0+.
    group_id: String = String::new() => [0, 4];
    }
}

kafka_message!(request AddOffsetsToTxnRequest, key 25, versions [0, 4], flexible 3, response super::add_offsets_to_txn_response::AddOffsetsToTxnResponse);
