//! ListGroups response (API key 16): versions 0-5, flexible from 3.
//!
//! Declared from the field list of `ListGroupsResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The ListGroups response (API key 16), versions 0-5.
    pub struct ListGroupsResponse {
    /// ThrottleTimeMs: Versions 1+.
    throttle_time_ms: i32 = 0 => [1, 5] ignorable: true;
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 5];
    /// Groups: Versions 0+.
    groups: Vec<ListedGroup> = Vec::new() => [0, 5];
    }
}

kafka_struct! {
    /// The `ListedGroup` struct of this message.
    pub struct ListedGroup {
    /// GroupId: Versions 0+.
    group_id: String = String::new() => [0, 5];
    /// ProtocolType: Versions 0+.
    protocol_type: String = String::new() => [0, 5];
    /// GroupState: Versions 4+.
    group_state: String = String::new() => [4, 5] ignorable: true;
    /// GroupType: Versions 5+.
    group_type: String = String::new() => [5, 5] ignorable: true;
    }
}

kafka_message!(ListGroupsResponse, key 16, versions [0, 5], flexible 3, throttle);
