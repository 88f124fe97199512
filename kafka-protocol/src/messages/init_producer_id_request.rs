//! InitProducerId request (API key 22): versions 0-5, flexible from 2.
//!
//! Declared from the field list of `InitProducerIdRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The InitProducerId request (API key 22), versions 0-5.
    pub struct InitProducerIdRequest {
    /// TransactionalId: Versions 0+; nullable in 0+.
    transactional_id: Option<String> = Some(String::new()) => [0, 5] null [0, 5];
    /// TransactionTimeoutMs: Versions 0+.
    transaction_timeout_ms: i32 = 0 => [0, 5];
    /// ProducerId: Versions 3+.
    producer_id: i64 = -1 => [3, 5];
    /// ProducerEpoch: Versions 3+.
    producer_epoch: i16 = -1 => [3, 5];
    }
}

kafka_message!(request InitProducerIdRequest, key 22, versions [0, 5], flexible 2, response super::init_producer_id_response::InitProducerIdResponse);
