//! CreateTopics response (API key 19): versions 2-7, flexible from 5.
//!
//! Declared from the field list of `CreateTopicsResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The CreateTopics response (API key 19), versions 2-7.
    pub struct CreateTopicsResponse {
    /// ThrottleTimeMs: Versions 2+.
    throttle_time_ms: i32 = 0 => [2, 7] ignorable: true;
    /// Topics: Versions 2+.
    topics: Vec<CreatableTopicResult> = Vec::new() => [2, 7];
    }
}

kafka_struct! {
    /// The `CreatableTopicResult` struct of this message.
    pub struct CreatableTopicResult {
    /// Name: Versions 2+.
    name: String = String::new() => [2, 7];
    /// TopicId: Versions 7+.
    topic_id: Uuid = Uuid::NIL => [7, 7] ignorable: true;
    /// ErrorCode: Versions 2+.
    error_code: i16 = 0 => [2, 7];
    /// ErrorMessage: Versions 2+; nullable in 2+.
    error_message: Option<String> = Some(String::new()) => [2, 7] null [2, 7] ignorable: true;
    /// TopicConfigErrorCode: Versions 5+; tagged field 0 in 5+.
    topic_config_error_code: i16 = 0 => [5, 7] tag 0 [5, 7] ignorable: true;
    /// NumPartitions: Versions 5+.
    num_partitions: i32 = -1 => [5, 7] ignorable: true;
    /// ReplicationFactor: Versions 5+.
    replication_factor: i16 = -1 => [5, 7] ignorable: true;
    /// Configs: Versions 5+; nullable in 5+.
    configs: Option<Vec<CreatableTopicConfigs>> = Some(Vec::new()) => [5, 7] null [5, 7] ignorable: true;
    }
}

kafka_struct! {
    /// The `CreatableTopicConfigs` struct of this message.
    pub struct CreatableTopicConfigs {
    /// Name: Versions 5+.
    name: String = String::new() => [5, 7];
    /// Value: Versions 5+; nullable in 5+.
    value: Option<String> = Some(String::new()) => [5, 7] null [5, 7];
    /// ReadOnly: Versions 5+.
    read_only: bool = false => [5, 7];
    /// ConfigSource: Versions 5+.
    config_source: i8 = -1 => [5, 7] ignorable: true;
    /// IsSensitive: Versions 5+.
    is_sensitive: bool = false => [5, 7];
    }
}

kafka_message!(CreateTopicsResponse, key 19, versions [2, 7], flexible 5, throttle);
