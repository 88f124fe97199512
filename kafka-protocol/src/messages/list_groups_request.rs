//! ListGroups request (API key 16): versions 0-5, flexible from 3.
//!
//! Declared from the field list of `ListGroupsRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The ListGroups request (API key 16), versions 0-5.
    pub struct ListGroupsRequest {
    /// StatesFilter: Versions 4+.
    states_filter: Vec<String> = Vec::new() => [4, 5];
    /// TypesFilter: Versions 5+.
    types_filter: Vec<String> = Vec::new() => [5, 5];
    }
}

kafka_message!(request ListGroupsRequest, key 16, versions [0, 5], flexible 3, response super::list_groups_response::ListGroupsResponse);
