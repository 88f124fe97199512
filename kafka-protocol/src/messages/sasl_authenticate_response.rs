//! SaslAuthenticate response (API key 36): versions 0-2, flexible from 2.
//!
//! Declared from the field list of `SaslAuthenticateResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The SaslAuthenticate response (API key 36), versions 0-2.
    pub struct SaslAuthenticateResponse {
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 2];
    /// ErrorMessage: Versions 0+; nullable in 0+.
    error_message: Option<String> = Some(String::new()) => [0, 2] null [0, 2];
    /// AuthBytes: Versions 0+.
    auth_bytes: Bytes = Bytes::new() => [0, 2];
    /// SessionLifetimeMs: Versions 1+.
    session_lifetime_ms: i64 = 0 => [1, 2] ignorable: true;
    }
}

kafka_message!(SaslAuthenticateResponse, key 36, versions [0, 2], flexible 2);
