//! DeleteTopics request (API key 20): versions 1-6, flexible from 4.
//!
//! Declared from the field list of `DeleteTopicsRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The DeleteTopics request (API key 20), versions 1-6.
    pub struct DeleteTopicsRequest {
    /// Topics: Versions 6+.
    topics: Vec<DeleteTopicState> = Vec::new() => [6, 6];
    /// TopicNames: Versions 1-5.
    topic_names: Vec<String> = Vec::new() => [1, 5] ignorable: true;
    /// TimeoutMs: Versions 1+.
    timeout_ms: i32 = 0 => [1, 6];
    }
}

kafka_struct! {
    /// The `DeleteTopicState` struct of this message.
    pub struct DeleteTopicState {
    /// Name: Versions 6+; nullable in 6+.
    name: Option<String> = None => [6, 6] null [6, 6];
    /// TopicId: Versions 6+.
    topic_id: Uuid = Uuid::NIL => [6, 6];
    }
}

kafka_message!(request DeleteTopicsRequest, key 20, versions [1, 6], flexible 4, response super::delete_topics_response::DeleteTopicsResponse);
