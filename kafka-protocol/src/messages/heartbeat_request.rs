//! Heartbeat request (API key 12): versions 0-4, flexible from 4.
//!
//! Declared from the field list of `HeartbeatRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The Heartbeat request (API key 12), versions 0-4.
    pub struct HeartbeatRequest {
    /// GroupId: Versions 0+.
    group_id: String = String::new() => [0, 4];
    /// GenerationId: Versions 0+.
    generation_id: i32 = 0 => [0, 4];
    /// MemberId: Versions 0+.
    member_id: String = String::new() => [0, 4];
    /// GroupInstanceId: Versions 3+; nullable in 3+.
    group_instance_id: Option<String> = None => [3, 4] null [3, 4];
    }
}

kafka_message!(request HeartbeatRequest, key 12, versions [0, 4], flexible 4, response super::heartbeat_response::HeartbeatResponse);
