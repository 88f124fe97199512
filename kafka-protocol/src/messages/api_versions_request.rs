//! ApiVersions request (API key 18): versions 0-4, flexible from 3.
//!
//! Declared from the field list of `ApiVersionsRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The ApiVersions request (API key 18), versions 0-4.
    pub struct ApiVersionsRequest {
    /// ClientSoftwareName: Versions 3+.
    client_software_name: String = String::new() => [3, 4] ignorable: true;
    /// ClientSoftwareVersion: Versions 3+.
    client_software_version: String = String::new() => [3, 4] ignorable: true;
    }
}

kafka_message!(request ApiVersionsRequest, key 18, versions [0, 4], flexible 3, response super::api_versions_response::ApiVersionsResponse);
