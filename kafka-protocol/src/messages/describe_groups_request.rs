//! DescribeGroups request (API key 15): versions 0-6, flexible from 5.
//!
//! Declared from the field list of `DescribeGroupsRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The DescribeGroups request (API key 15), versions 0-6.
    pub struct DescribeGroupsRequest {
    /// Groups: Versions 0+.
    groups: Vec<String> = Vec::new() => [0, 6];
    /// IncludeAuthorizedOperations: Versions 3+.
    include_authorized_operations: bool = false => [3, 6];
    }
}

kafka_message!(request DescribeGroupsRequest, key 15, versions [0, 6], flexible 5, response super::describe_groups_response::DescribeGroupsResponse);
