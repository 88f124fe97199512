//! ApiVersions request (API key 18): versions 0-5, flexible from 3.
//!
//! Declared from the field list of `ApiVersionsRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The ApiVersions request (API key 18), versions 0-5.
    pub struct ApiVersionsRequest {
    /// ClientSoftwareName: Versions 3+.
    client_software_name: String = String::new() => [3, 5] ignorable: true;
    /// ClientSoftwareVersion: Versions 3+.
    client_software_version: String = String::new() => [3, 5] ignorable: true;
    /// ClusterId: Versions 5+; nullable in 5+.
    cluster_id: Option<String> = None => [5, 5] null [5, 5] ignorable: true;
    /// NodeId: Versions 5+.
    node_id: i32 = -1 => [5, 5] ignorable: true;
    }
}

kafka_message!(request ApiVersionsRequest, key 18, versions [0, 5], flexible 3, response super::api_versions_response::ApiVersionsResponse);
