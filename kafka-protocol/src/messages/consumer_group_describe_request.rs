//! ConsumerGroupDescribe request (API key 69): versions 0-1, flexible from 0.
//!
//! Declared from the field list of `ConsumerGroupDescribeRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The ConsumerGroupDescribe request (API key 69), versions 0-1.
    pub struct ConsumerGroupDescribeRequest {
    /// GroupIds: Versions 0+.
    group_ids: Vec<String> = Vec::new() => [0, 1];
    /// IncludeAuthorizedOperations: Versions 0+.
    include_authorized_operations: bool = false => [0, 1];
    }
}

kafka_message!(request ConsumerGroupDescribeRequest, key 69, versions [0, 1], flexible 0, response super::consumer_group_describe_response::ConsumerGroupDescribeResponse);
