//! Heartbeat response (API key 12): versions 0-4, flexible from 4.
//!
//! Declared from the field list of `HeartbeatResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The Heartbeat response (API key 12), versions 0-4.
    pub struct HeartbeatResponse {
    /// ThrottleTimeMs: Versions 1+.
    throttle_time_ms: i32 = 0 => [1, 4] ignorable: true;
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 4];
    }
}

kafka_message!(HeartbeatResponse, key 12, versions [0, 4], flexible 4, throttle);
