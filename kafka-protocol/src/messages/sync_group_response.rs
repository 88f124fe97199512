//! SyncGroup response (API key 14): versions 0-5, flexible from 4.
//!
//! Declared from the field list of `SyncGroupResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The SyncGroup response (API key 14), versions 0-5.
    pub struct SyncGroupResponse {
    /// ThrottleTimeMs: Versions 1+.
    throttle_time_ms: i32 = 0 => [1, 5] ignorable: true;
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 5];
    /// ProtocolType: Versions 5+; nullable in 5+.
    protocol_type: Option<String> = None => [5, 5] null [5, 5] ignorable: true;
    /// ProtocolName: Versions 5+; nullable in 5+.
    protocol_name: Option<String> = None => [5, 5] null [5, 5] ignorable: true;
    /// Assignment: Versions 0+.
    assignment: Bytes = Bytes::new() => [0, 5];
    }
}

kafka_message!(SyncGroupResponse, key 14, versions [0, 5], flexible 4, throttle);
