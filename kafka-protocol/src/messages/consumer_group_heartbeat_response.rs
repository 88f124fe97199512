//! ConsumerGroupHeartbeat response (API key 68): versions 0-1, flexible from 0.
//!
//! Declared from the field list of `ConsumerGroupHeartbeatResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The ConsumerGroupHeartbeat response (API key 68), versions 0-1.
    pub struct ConsumerGroupHeartbeatResponse {
    /// ThrottleTimeMs: Versions 0+.
    throttle_time_ms: i32 = 0 => [0, 1];
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 1];
    /// ErrorMessage: Versions 0+; nullable in 0+.
    error_message: Option<String> = None => [0, 1] null [0, 1];
    /// MemberId: Versions 0+; nullable in 0+.
    member_id: Option<String> = None => [0, 1] null [0, 1];
    /// MemberEpoch: Versions 0+.
    member_epoch: i32 = 0 => [0, 1];
    /// HeartbeatIntervalMs: Versions 0+.
    heartbeat_interval_ms: i32 = 0 => [0, 1];
    /// Assignment: Versions 0+; nullable in 0+.
    assignment: Option<Assignment> = None => [0, 1] null [0, 1];
    }
}

kafka_struct! {
    /// The `Assignment` struct of this message.
    pub struct Assignment {
    /// TopicPartitions: Versions 0+.
    topic_partitions: Vec<TopicPartitions> = Vec::new() => [0, 1];
    }
}

kafka_struct! {
    /// The `TopicPartitions` struct of this message.
    pub struct TopicPartitions {
    /// TopicId: Versions 0+.
    topic_id: Uuid = Uuid::NIL => [0, 1];
    /// Partitions: Versions 0+.
    partitions: Vec<i32> = Vec::new() => [0, 1];
    }
}

kafka_message!(ConsumerGroupHeartbeatResponse, key 68, versions [0, 1], flexible 0, throttle);
