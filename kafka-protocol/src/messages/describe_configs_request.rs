//! DescribeConfigs request (API key 32): versions 1-4, flexible from 4.
//!
//! Declared from the field list of `DescribeConfigsRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The DescribeConfigs request (API key 32), versions 1-4.
    pub struct DescribeConfigsRequest {
    /// Resources: Versions 1+.
    resources: Vec<DescribeConfigsResource> = Vec::new() => [1, 4];
    /// IncludeSynonyms: Versions 1+.
    include_synonyms: bool = false => [1, 4];
    /// IncludeDocumentation: Versions 3+.
    include_documentation: bool = false => [3, 4];
    }
}

kafka_struct! {
    /// The `DescribeConfigsResource` struct of this message.
    pub struct DescribeConfigsResource {
    /// ResourceType: Versions 1+.
    resource_type: i8 = 0 => [1, 4];
    /// ResourceName: Versions 1+.
    resource_name: String = String::new() => [1, 4];
    /// ConfigurationKeys: Versions 1+; nullable in 1+.
    configuration_keys: Option<Vec<String>> = Some(Vec::new()) => [1, 4] null [1, 4];
    }
}

kafka_message!(request DescribeConfigsRequest, key 32, versions [1, 4], flexible 4, response super::describe_configs_response::DescribeConfigsResponse);
