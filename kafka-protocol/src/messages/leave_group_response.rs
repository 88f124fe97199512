//! LeaveGroup response (API key 13): versions 0-5, flexible from 4.
//!
//! Declared from the field list of `LeaveGroupResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The LeaveGroup response (API key 13), versions 0-5.
    pub struct LeaveGroupResponse {
    /// ThrottleTimeMs: Versions 1+.
    throttle_time_ms: i32 = 0 => [1, 5] ignorable: true;
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 5];
    /// Members: Versions 3+.
    members: Vec<MemberResponse> = Vec::new() => [3, 5];
    }
}

kafka_struct! {
    /// The `MemberResponse` struct of this message.
    pub struct MemberResponse {
    /// MemberId: Versions 3+.
    member_id: String = String::new() => [3, 5];
    /// GroupInstanceId: Versions 3+; nullable in 3+.
    group_instance_id: Option<String> = Some(String::new()) => [3, 5] null [3, 5];
    /// ErrorCode: Versions 3+.
    error_code: i16 = 0 => [3, 5];
    }
}

kafka_message!(LeaveGroupResponse, key 13, versions [0, 5], flexible 4, throttle);
