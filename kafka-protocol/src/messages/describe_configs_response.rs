//! DescribeConfigs response (API key 32): versions 1-4, flexible from 4.
//!
//! Declared from the field list of `DescribeConfigsResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The DescribeConfigs response (API key 32), versions 1-4.
    pub struct DescribeConfigsResponse {
    /// ThrottleTimeMs: Versions 1+.
    throttle_time_ms: i32 = 0 => [1, 4];
    /// Results: Versions 1+.
    results: Vec<DescribeConfigsResult> = Vec::new() => [1, 4];
    }
}

kafka_struct! {
    /// The `DescribeConfigsResult` struct of this message.
    pub struct DescribeConfigsResult {
    /// ErrorCode: Versions 1+.
    error_code: i16 = 0 => [1, 4];
    /// ErrorMessage: Versions 1+; nullable in 1+.
    error_message: Option<String> = Some(String::new()) => [1, 4] null [1, 4];
    /// ResourceType: Versions 1+.
    resource_type: i8 = 0 => [1, 4];
    /// ResourceName: Versions 1+.
    resource_name: String = String::new() => [1, 4];
    /// Configs: Versions 1+.
    configs: Vec<DescribeConfigsResourceResult> = Vec::new() => [1, 4];
    }
}

kafka_struct! {
    /// The `DescribeConfigsResourceResult` struct of this message.
    pub struct DescribeConfigsResourceResult {
    /// Name: Versions 1+.
    name: String = String::new() => [1, 4];
    /// Value: Versions 1+; nullable in 1+.
    value: Option<String> = Some(String::new()) => [1, 4] null [1, 4];
    /// ReadOnly: Versions 1+.
    read_only: bool = false => [1, 4];
    /// ConfigSource: Versions 1+.
    config_source: i8 = -1 => [1, 4] ignorable: true;
    /// IsSensitive: Versions 1+.
    is_sensitive: bool = false => [1, 4];
    /// Synonyms: Versions 1+.
    synonyms: Vec<DescribeConfigsSynonym> = Vec::new() => [1, 4] ignorable: true;
    /// ConfigType: Versions 3+.
    config_type: i8 = 0 => [3, 4] ignorable: true;
    /// Documentation: Versions 3+; nullable in 3+.
    documentation: Option<String> = Some(String::new()) => [3, 4] null [3, 4] ignorable: true;
    }
}

kafka_struct! {
    /// The `DescribeConfigsSynonym` struct of this message.
    pub struct DescribeConfigsSynonym {
    /// Name: Versions 1+.
    name: String = String::new() => [1, 4];
    /// Value: Versions 1+; nullable in 1+.
    value: Option<String> = Some(String::new()) => [1, 4] null [1, 4];
    /// Source: Versions 1+.
    source: i8 = 0 => [1, 4];
    }
}

kafka_message!(DescribeConfigsResponse, key 32, versions [1, 4], flexible 4, throttle);
