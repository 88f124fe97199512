//! AddOffsetsToTxn response (API key 25): versions 0-4, flexible from 3.
//!
//! Declared from the field list of `AddOffsetsToTxnResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The AddOffsetsToTxn response (API key 25), versions 0-4.
    pub struct AddOffsetsToTxnResponse {
    /// ThrottleTimeMs: Versions 0+.
    throttle_time_ms: i32 = 0 => [0, 4];
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 4];
    }
}

kafka_message!(AddOffsetsToTxnResponse, key 25, versions [0, 4], flexible 3, throttle);
