//! CreatePartitions response (API key 37): versions 0-3, flexible from 2.
//!
//! Declared from the field list of `CreatePartitionsResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The CreatePartitions response (API key 37), versions 0-3.
    pub struct CreatePartitionsResponse {
    /// ThrottleTimeMs: Versions 0+.
    throttle_time_ms: i32 = 0 => [0, 3];
    /// Results: Versions 0+.
    results: Vec<CreatePartitionsTopicResult> = Vec::new() => [0, 3];
    }
}

kafka_struct! {
    /// The `CreatePartitionsTopicResult` struct of this message.
    pub struct CreatePartitionsTopicResult {
    /// Name: Versions 0+.
    name: String = String::new() => [0, 3];
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 3];
    /// ErrorMessage: Versions 0+; nullable in 0+.
    error_message: Option<String> = None => [0, 3] null [0, 3];
    }
}

kafka_message!(CreatePartitionsResponse, key 37, versions [0, 3], flexible 2, throttle);
