//! Metadata request (API key 3): versions 0-13, flexible from 9.
//!
//! Declared from the field list of `MetadataRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The Metadata request (API key 3), versions 0-13.
    pub struct MetadataRequest {
    /// Topics: Versions 0+; nullable in 1+.
    topics: Option<Vec<MetadataRequestTopic>> = Some(Vec::new()) => [0, 13] null [1, 13];
    /// AllowAutoTopicCreation: Versions 4+.
    allow_auto_topic_creation: bool = true => [4, 13];
    /// IncludeClusterAuthorizedOperations: Versions 8-10.
    include_cluster_authorized_operations: bool = false => [8, 10];
    /// IncludeTopicAuthorizedOperations: Versions 8+.
    include_topic_authorized_operations: bool = false => [8, 13];
    }
}

kafka_struct! {
    /// The `MetadataRequestTopic` struct of this message.
    pub struct MetadataRequestTopic {
    /// TopicId: Versions 10+.
    topic_id: Uuid = Uuid::NIL => [10, 13] ignorable: true;
    /// Name: Versions 0+; nullable in 10+.
    name: Option<String> = Some(String::new()) => [0, 13] null [10, 13];
    }
}

kafka_message!(request MetadataRequest, key 3, versions [0, 13], flexible 9, response super::metadata_response::MetadataResponse);
