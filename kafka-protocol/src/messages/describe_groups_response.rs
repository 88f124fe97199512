//! DescribeGroups response (API key 15): versions 0-6, flexible from 5.
//!
//! Declared from the field list of `DescribeGroupsResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The DescribeGroups response (API key 15), versions 0-6.
    pub struct DescribeGroupsResponse {
    /// ThrottleTimeMs: Versions 1+.
    throttle_time_ms: i32 = 0 => [1, 6] ignorable: true;
    /// Groups: Versions 0+.
    groups: Vec<DescribedGroup> = Vec::new() => [0, 6];
    }
}

kafka_struct! {
    /// The `DescribedGroup` struct of this message.
    pub struct DescribedGroup {
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 6];
    /// ErrorMessage: Versions 6+; nullable in 6+.
    error_message: Option<String> = None => [6, 6] null [6, 6];
    /// GroupId: Versions 0+.
    group_id: String = String::new() => [0, 6];
    /// GroupState: Versions 0+.
    group_state: String = String::new() => [0, 6];
    /// ProtocolType: Versions 0+.
    protocol_type: String = String::new() => [0, 6];
    /// ProtocolData: Versions 0+.
    protocol_data: String = String::new() => [0, 6];
    /// Members: Versions 0+.
    members: Vec<DescribedGroupMember> = Vec::new() => [0, 6];
    /// AuthorizedOperations: Versions 3+.
    authorized_operations: i32 = -2147483648 => [3, 6];
    }
}

kafka_struct! {
    /// The `DescribedGroupMember` struct of this message.
    pub struct DescribedGroupMember {
    /// MemberId: Versions 0+.
    member_id: String = String::new() => [0, 6];
    /// GroupInstanceId: Versions 4+; nullable in 4+.
    group_instance_id: Option<String> = None => [4, 6] null [4, 6] ignorable: true;
    /// ClientId: Versions 0+.
    client_id: String = String::new() => [0, 6];
    /// ClientHost: Versions 0+.
    client_host: String = String::new() => [0, 6];
    /// MemberMetadata: Versions 0+.
    member_metadata: Bytes = Bytes::new() => [0, 6];
    /// MemberAssignment: Versions 0+.
    member_assignment: Bytes = Bytes::new() => [0, 6];
    }
}

kafka_message!(DescribeGroupsResponse, key 15, versions [0, 6], flexible 5, throttle);
