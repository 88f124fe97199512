//! SaslHandshake request (API key 17): versions 0-1, none flexible.
//!
//! Declared from the field list of `SaslHandshakeRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The SaslHandshake request (API key 17), versions 0-1.
    pub struct SaslHandshakeRequest {
    /// Mechanism: Versions 0+.
    mechanism: String = String::new() => [0, 1];
    }
}

kafka_message!(request SaslHandshakeRequest, key 17, versions [0, 1], flexible 32767, response super::sasl_handshake_response::SaslHandshakeResponse);
