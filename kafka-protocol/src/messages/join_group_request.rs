//! JoinGroup request (API key 11): versions 0-9, flexible from 6.
//!
//! Declared from the field list of `JoinGroupRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The JoinGroup request (API key 11), versions 0-9.
    pub struct JoinGroupRequest {
    /// GroupId: Versions 0+.
    group_id: String = String::new() => [0, 9];
    /// SessionTimeoutMs: Versions 0+.
    session_timeout_ms: i32 = 0 => [0, 9];
    /// RebalanceTimeoutMs: Versions 1+.
    rebalance_timeout_ms: i32 = -1 => [1, 9] ignorable: true;
    /// MemberId: Versions 0+.
    member_id: String = String::new() => [0, 9];
    /// GroupInstanceId: Versions 5+; nullable in 5+.
    group_instance_id: Option<String> = None => [5, 9] null [5, 9];
    /// ProtocolType: Versions 0+.
    protocol_type: String = String::new() => [0, 9];
    /// Protocols: Versions 0+.
    protocols: Vec<JoinGroupRequestProtocol> = Vec::new() => [0, 9];
    /// Reason: Versions 8+; nullable in 8+.
    reason: Option<String> = None => [8, 9] null [8, 9] ignorable: true;
    }
}

kafka_struct! {
    /// The `JoinGroupRequestProtocol` struct of this message.
    pub struct JoinGroupRequestProtocol {
    /// Name: Versions 0+.
    name: String = String::new() => [0, 9];
    /// Metadata: Versions 0+.
    metadata: Bytes = Bytes::new() => [0, 9];
    }
}

kafka_message!(request JoinGroupRequest, key 11, versions [0, 9], flexible 6, response super::join_group_response::JoinGroupResponse);
