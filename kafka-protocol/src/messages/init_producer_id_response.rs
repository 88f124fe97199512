//! InitProducerId response (API key 22): versions 0-6, flexible from 2.
//!
//! Declared from the field list of `InitProducerIdResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The InitProducerId response (API key 22), versions 0-6.
    pub struct InitProducerIdResponse {
    /// ThrottleTimeMs: Versions 0+.
    throttle_time_ms: i32 = 0 => [0, 6] ignorable: true;
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 6];
    /// ProducerId: Versions 0+.
    producer_id: i64 = -1 => [0, 6];
    /// ProducerEpoch: Versions 0+.
    producer_epoch: i16 = 0 => [0, 6];
    /// OngoingTxnProducerId: Versions 6+.
    ongoing_txn_producer_id: i64 = -1 => [6, 6];
    /// OngoingTxnProducerEpoch: Versions 6+.
    ongoing_txn_producer_epoch: i16 = -1 => [6, 6];
    }
}

kafka_message!(InitProducerIdResponse, key 22, versions [0, 6], flexible 2, throttle);
