//! DescribeCluster response (API key 60): versions 0-1, flexible from 0.
//!
//! Declared from the field list of `DescribeClusterResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The DescribeCluster response (API key 60), versions 0-1.
    pub struct DescribeClusterResponse {
    /// ThrottleTimeMs: Versions 0+.
    throttle_time_ms: i32 = 0 => [0, 1];
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 1];
    /// ErrorMessage: Versions 0+; nullable in 0+.
    error_message: Option<String> = None => [0, 1] null [0, 1];
    /// EndpointType: Versions 1+.
    endpoint_type: i8 = 1 => [1, 1];
    /// ClusterId: Versions 0+.
    cluster_id: String = String::new() => [0, 1];
    /// ControllerId: Versions 0+.
    controller_id: i32 = -1 => [0, 1];
    /// Brokers: Versions 0+.
    brokers: Vec<DescribeClusterBroker> = Vec::new() => [0, 1];
    /// ClusterAuthorizedOperations: Versions 0+.
    cluster_authorized_operations: i32 = -2147483648 => [0, 1];
    }
}

kafka_struct! {
    /// The `DescribeClusterBroker` struct of this message.
    pub struct DescribeClusterBroker {
    /// BrokerId: Versions 0+.
    broker_id: i32 = 0 => [0, 1];
    /// Host: Versions 0+.
    host: String = String::new() => [0, 1];
    /// Port: Versions 0+.
    port: i32 = 0 => [0, 1];
    /// Rack: Versions 0+; nullable in 0+.
    rack: Option<String> = None => [0, 1] null [0, 1];
    }
}

kafka_message!(DescribeClusterResponse, key 60, versions [0, 1], flexible 0);
