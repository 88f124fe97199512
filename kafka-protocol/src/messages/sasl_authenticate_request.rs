//! SaslAuthenticate request (API key 36): versions 0-2, flexible from 2.
//!
//! Declared from the field list of `SaslAuthenticateRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The SaslAuthenticate request (API key 36), versions 0-2.
    pub struct SaslAuthenticateRequest {
    /// AuthBytes: Versions 0+.
    auth_bytes: Bytes = Bytes::new() => [0, 2];
    }
}

kafka_message!(request SaslAuthenticateRequest, key 36, versions [0, 2], flexible 2, response super::sasl_authenticate_response::SaslAuthenticateResponse);
