//! InitProducerId request (API key 22): versions 0-6, flexible from 2.
//!
//! Declared from the field list of `InitProducerIdRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The InitProducerId request (API key 22), versions 0-6.
    pub struct InitProducerIdRequest {
    /// TransactionalId: Versions 0+; nullable in 0+.
    transactional_id: Option<String> = Some(String::new()) => [0, 6] null [0, 6];
    /// TransactionTimeoutMs: Versions 0+.
    transaction_timeout_ms: i32 = 0 => [0, 6];
    /// ProducerId: Versions 3+.
    producer_id: i64 = -1 => [3, 6];
    /// ProducerEpoch: Versions 3+.
    producer_epoch: i16 = -1 => [3, 6];
    /// Enable2Pc: Versions 6+.
    enable2_pc: bool = false => [6, 6];
    /// KeepPreparedTxn: Versions 6+.
    keep_prepared_txn: bool = false => [6, 6];
    }
}

kafka_message!(request InitProducerIdRequest, key 22, versions [0, 6], flexible 2, response super::init_producer_id_response::InitProducerIdResponse);
