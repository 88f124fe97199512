//! DeleteGroups request (API key 42): versions 0-3, flexible from 2.
//!
//! Declared from the field list of `DeleteGroupsRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The DeleteGroups request (API key 42), versions 0-3.
    pub struct DeleteGroupsRequest {
    /// GroupsNames: Versions 0+.
    groups_names: Vec<String> = Vec::new() => [0, 3];
    }
}

kafka_message!(request DeleteGroupsRequest, key 42, versions [0, 3], flexible 2, response super::delete_groups_response::DeleteGroupsResponse);
