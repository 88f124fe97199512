//! DescribeCluster request (API key 60): versions 0-2, flexible from 0.
//!
//! Declared from the field list of `DescribeClusterRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The DescribeCluster request (API key 60), versions 0-2.
    pub struct DescribeClusterRequest {
    /// IncludeClusterAuthorizedOperations: Versions 0+.
    include_cluster_authorized_operations: bool = false => [0, 2];
    /// EndpointType: Versions 1+.
    endpoint_type: i8 = 1 => [1, 2];
    /// IncludeFencedBrokers: Versions 2+.
    include_fenced_brokers: bool = false => [2, 2];
    }
}

kafka_message!(request DescribeClusterRequest, key 60, versions [0, 2], flexible 0, response super::describe_cluster_response::DescribeClusterResponse);
