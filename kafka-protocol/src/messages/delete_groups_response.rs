//! DeleteGroups response (API key 42): versions 0-3, flexible from 2.
//!
//! Declared from the field list of `DeleteGroupsResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The DeleteGroups response (API key 42), versions 0-3.
    pub struct DeleteGroupsResponse {
    /// ThrottleTimeMs: Versions 0+.
    throttle_time_ms: i32 = 0 => [0, 3];
    /// Results: Versions 0+.
    results: Vec<DeletableGroupResult> = Vec::new() => [0, 3];
    }
}

kafka_struct! {
    /// The `DeletableGroupResult` struct of this message.
    pub struct DeletableGroupResult {
    /// GroupId: Versions 0+.
    group_id: String = String::new() => [0, 3];
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 3];
    /// ErrorMessage: Versions 3+; nullable in 3+.
    error_message: Option<String> = None => [3, 3] null [3, 3] ignorable: true;
    }
}

kafka_message!(DeleteGroupsResponse, key 42, versions [0, 3], flexible 2, throttle);
