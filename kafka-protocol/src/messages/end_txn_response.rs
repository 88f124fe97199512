//! EndTxn response (API key 26): versions 0-5, flexible from 3.
//!
//! Declared from the field list of `EndTxnResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The EndTxn response (API key 26), versions 0-5.
    pub struct EndTxnResponse {
    /// ThrottleTimeMs: Versions 0+.
    throttle_time_ms: i32 = 0 => [0, 5];
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 5];
    /// ProducerId: Versions 5+.
    producer_id: i64 = -1 => [5, 5] ignorable: true;
    /// ProducerEpoch: Versions 5+.
    producer_epoch: i16 = -1 => [5, 5] ignorable: true;
    }
}

kafka_message!(EndTxnResponse, key 26, versions [0, 5], flexible 3, throttle);
