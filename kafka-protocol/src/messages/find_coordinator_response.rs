//! FindCoordinator response (API key 10): versions 0-6, flexible from 3.
//!
//! Declared from the field list of `FindCoordinatorResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The FindCoordinator response (API key 10), versions 0-6.
    pub struct FindCoordinatorResponse {
    /// ThrottleTimeMs: Versions 1+.
    throttle_time_ms: i32 = 0 => [1, 6] ignorable: true;
    /// ErrorCode: Versions 0-3.
    error_code: i16 = 0 => [0, 3];
    /// ErrorMessage: Versions 1-3; nullable in 1-3.
    error_message: Option<String> = Some(String::new()) => [1, 3] null [1, 3] ignorable: true;
    /// NodeId: Versions 0-3.
    node_id: i32 = 0 => [0, 3];
    /// Host: Versions 0-3.
    host: String = String::new() => [0, 3];
    /// Port: Versions 0-3.
    port: i32 = 0 => [0, 3];
    /// Coordinators: Versions 4+.
    coordinators: Vec<Coordinator> = Vec::new() => [4, 6];
    }
}

kafka_struct! {
    /// The `Coordinator` struct of this message.
    pub struct Coordinator {
    /// Key: Versions 4+.
    key: String = String::new() => [4, 6];
    /// NodeId: Versions 4+.
    node_id: i32 = 0 => [4, 6];
    /// Host: Versions 4+.
    host: String = String::new() => [4, 6];
    /// Port: Versions 4+.
    port: i32 = 0 => [4, 6];
    /// ErrorCode: Versions 4+.
    error_code: i16 = 0 => [4, 6];
    /// ErrorMessage: Versions 4+; nullable in 4+.
    error_message: Option<String> = Some(String::new()) => [4, 6] null [4, 6] ignorable: true;
    }
}

kafka_message!(FindCoordinatorResponse, key 10, versions [0, 6], flexible 3, throttle);
