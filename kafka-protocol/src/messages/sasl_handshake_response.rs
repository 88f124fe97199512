//! SaslHandshake response (API key 17): versions 0-1, none flexible.
//!
//! Declared from the field list of `SaslHandshakeResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The SaslHandshake response (API key 17), versions 0-1.
    pub struct SaslHandshakeResponse {
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 1];
    /// Mechanisms: Versions 0+.
    mechanisms: Vec<String> = Vec::new() => [0, 1];
    }
}

kafka_message!(SaslHandshakeResponse, key 17, versions [0, 1], flexible 32767);
