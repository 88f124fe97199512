//! JoinGroup response (API key 11): versions 0-9, flexible from 6.
//!
//! Declared from the field list of `JoinGroupResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The JoinGroup response (API key 11), versions 0-9.
    pub struct JoinGroupResponse {
    /// ThrottleTimeMs: Versions 2+.
    throttle_time_ms: i32 = 0 => [2, 9] ignorable: true;
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 9];
    /// GenerationId: Versions 0+.
    generation_id: i32 = -1 => [0, 9];
    /// ProtocolType: Versions 7+; nullable in 7+.
    protocol_type: Option<String> = None => [7, 9] null [7, 9] ignorable: true;
    /// ProtocolName: Versions 0+; nullable in 7+.
    protocol_name: Option<String> = Some(String::new()) => [0, 9] null [7, 9];
    /// Leader: Versions 0+.
    leader: String = String::new() => [0, 9];
    /// SkipAssignment: Versions 9+.
    skip_assignment: bool = false => [9, 9];
    /// MemberId: Versions 0+.
    member_id: String = String::new() => [0, 9];
    /// Members: Versions 0+.
    members: Vec<JoinGroupResponseMember> = Vec::new() => [0, 9];
    }
}

kafka_struct! {
    /// The `JoinGroupResponseMember` struct of this message.
    pub struct JoinGroupResponseMember {
    /// MemberId: Versions 0+.
    member_id: String = String::new() => [0, 9];
    /// GroupInstanceId: Versions 5+; nullable in 5+.
    group_instance_id: Option<String> = None => [5, 9] null [5, 9] ignorable: true;
    /// Metadata: Versions 0+.
    metadata: Bytes = Bytes::new() => [0, 9];
    }
}

kafka_message!(JoinGroupResponse, key 11, versions [0, 9], flexible 6, throttle);
