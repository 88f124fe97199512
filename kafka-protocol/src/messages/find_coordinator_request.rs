//! FindCoordinator request (API key 10): versions 0-6, flexible from 3.
//!
//! Declared from the field list of `FindCoordinatorRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The FindCoordinator request (API key 10), versions 0-6.
    pub struct FindCoordinatorRequest {
    /// Key: Versions 0-3.
    key: String = String::new() => [0, 3];
    /// KeyType: Versions 1+.
    key_type: i8 = 0 => [1, 6];
    /// CoordinatorKeys: Versions 4+.
    coordinator_keys: Vec<String> = Vec::new() => [4, 6];
    }
}

kafka_message!(request FindCoordinatorRequest, key 10, versions [0, 6], flexible 3, response super::find_coordinator_response::FindCoordinatorResponse);
