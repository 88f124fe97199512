//! DeleteTopics response (API key 20): versions 1-6, flexible from 4.
//!
//! Declared from the field list of `DeleteTopicsResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The DeleteTopics response (API key 20), versions 1-6.
    pub struct DeleteTopicsResponse {
    /// ThrottleTimeMs: Versions 1+.
    throttle_time_ms: i32 = 0 => [1, 6] ignorable: true;
    /// Responses: Versions 1+.
    responses: Vec<DeletableTopicResult> = Vec::new() => [1, 6];
    }
}

kafka_struct! {
    /// The `DeletableTopicResult` struct of this message.
    pub struct DeletableTopicResult {
    /// Name: Versions 1+; nullable in 6+.
    name: Option<String> = Some(String::new()) => [1, 6] null [6, 6];
    /// TopicId: Versions 6+.
    topic_id: Uuid = Uuid::NIL => [6, 6] ignorable: true;
    /// ErrorCode: Versions 1+.
    error_code: i16 = 0 => [1, 6];
    /// ErrorMessage: Versions 5+; nullable in 5+.
    error_message: Option<String> = None => [5, 6] null [5, 6] ignorable: true;
    }
}

kafka_message!(DeleteTopicsResponse, key 20, versions [1, 6], flexible 4, throttle);
