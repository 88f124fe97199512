//! LeaveGroup request (API key 13): versions 0-5, flexible from 4.
//!
//! Declared from the field list of `LeaveGroupRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The LeaveGroup request (API key 13), versions 0-5.
    pub struct LeaveGroupRequest {
    /// GroupId: Versions 0+.
    group_id: String = String::new() => [0, 5];
    /// MemberId: Versions 0-2.
    member_id: String = String::new() => [0, 2];
    /// Members: Versions 3+.
    members: Vec<MemberIdentity> = Vec::new() => [3, 5];
    }
}

kafka_struct! {
    /// The `MemberIdentity` struct of this message.
    pub struct MemberIdentity {
    /// MemberId: Versions 3+.
    member_id: String = String::new() => [3, 5];
    /// GroupInstanceId: Versions 3+; nullable in 3+.
    group_instance_id: Option<String> = None => [3, 5] null [3, 5];
    /// Reason: Versions 5+; nullable in 5+.
    reason: Option<String> = None => [5, 5] null [5, 5] ignorable: true;
    }
}

kafka_message!(request LeaveGroupRequest, key 13, versions [0, 5], flexible 4, response super::leave_group_response::LeaveGroupResponse);
