//! DescribeCluster response (API key 60): versions 0-2, flexible from 0.
//!
//! Declared from the field list of `DescribeClusterResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The DescribeCluster response (API key 60), versions 0-2.
    pub struct DescribeClusterResponse {
    /// ThrottleTimeMs: Versions 0+.
    throttle_time_ms: i32 = 0 => [0, 2];
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 2];
    /// ErrorMessage: Versions 0+; nullable in 0+.
    error_message: Option<String> = None => [0, 2] null [0, 2];
    /// EndpointType: Versions 1+.
    endpoint_type: i8 = 1 => [1, 2];
    /// ClusterId: Versions 0+.
    cluster_id: String = String::new() => [0, 2];
    /// ControllerId: Versions 0+.
    controller_id: i32 = -1 => [0, 2];
    /// Brokers: Versions 0+.
    brokers: Vec<DescribeClusterBroker> = Vec::new() => [0, 2];
    /// ClusterAuthorizedOperations: Versions 0+.
    cluster_authorized_operations: i32 = -2147483648 => [0, 2];
    }
}

kafka_struct! {
    /// The `DescribeClusterBroker` struct of this message.
    pub struct DescribeClusterBroker {
    /// BrokerId: Versions 0+.
    broker_id: i32 = 0 => [0, 2];
    /// Host: Versions 0+.
    host: String = String::new() => [0, 2];
    /// Port: Versions 0+.
    port: i32 = 0 => [0, 2];
    /// Rack: Versions 0+; nullable in 0+.
    rack: Option<String> = None => [0, 2] null [0, 2];
    /// IsFenced: Versions 2+.
    is_fenced: bool = false => [2, 2];
    }
}

kafka_message!(DescribeClusterResponse, key 60, versions [0, 2], flexible 0, throttle);
