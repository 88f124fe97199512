//! SyncGroup request (API key 14): versions 0-5, flexible from 4.
//!
//! Declared from the field list of `SyncGroupRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The SyncGroup request (API key 14), versions 0-5.
    pub struct SyncGroupRequest {
    /// GroupId: Versions 0+.
    group_id: String = String::new() => [0, 5];
    /// GenerationId: Versions 0+.
    generation_id: i32 = 0 => [0, 5];
    /// MemberId: Versions 0+.
    member_id: String = String::new() => [0, 5];
    /// GroupInstanceId: Versions 3+; nullable in 3+.
    group_instance_id: Option<String> = None => [3, 5] null [3, 5];
    /// ProtocolType: Versions 5+; nullable in 5+.
    protocol_type: Option<String> = None => [5, 5] null [5, 5] ignorable: true;
    /// ProtocolName: Versions 5+; nullable in 5+.
    protocol_name: Option<String> = None => [5, 5] null [5, 5] ignorable: true;
    /// Assignments: Versions 0+.
    assignments: Vec<SyncGroupRequestAssignment> = Vec::new() => [0, 5];
    }
}

kafka_struct! {
    /// The `SyncGroupRequestAssignment` struct of this message.
    pub struct SyncGroupRequestAssignment {
    /// MemberId: Versions 0+.
    member_id: String = String::new() => [0, 5];
    /// Assignment: Versions 0+.
    assignment: Bytes = Bytes::new() => [0, 5];
    }
}

kafka_message!(request SyncGroupRequest, key 14, versions [0, 5], flexible 4, response super::sync_group_response::SyncGroupResponse);
