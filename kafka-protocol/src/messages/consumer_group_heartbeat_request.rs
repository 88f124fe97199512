//! ConsumerGroupHeartbeat request (API key 68): versions 0-1, flexible from 0.
//!
//! Declared from the field list of `ConsumerGroupHeartbeatRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The ConsumerGroupHeartbeat request (API key 68), versions 0-1.
    pub struct ConsumerGroupHeartbeatRequest {
    /// GroupId: Versions 0+.
    group_id: String = String::new() => [0, 1];
    /// MemberId: Versions 0+.
    member_id: String = String::new() => [0, 1];
    /// MemberEpoch: Versions 0+.
    member_epoch: i32 = 0 => [0, 1];
    /// InstanceId: Versions 0+; nullable in 0+.
    instance_id: Option<String> = None => [0, 1] null [0, 1];
    /// RackId: Versions 0+; nullable in 0+.
    rack_id: Option<String> = None => [0, 1] null [0, 1];
    /// RebalanceTimeoutMs: Versions 0+.
    rebalance_timeout_ms: i32 = -1 => [0, 1];
    /// SubscribedTopicNames: Versions 0+; nullable in 0+.
    subscribed_topic_names: Option<Vec<String>> = None => [0, 1] null [0, 1];
    /// SubscribedTopicRegex: Versions 1+; nullable in 1+.
    subscribed_topic_regex: Option<String> = None => [1, 1] null [1, 1];
    /// ServerAssignor: Versions 0+; nullable in 0+.
    server_assignor: Option<String> = None => [0, 1] null [0, 1];
    /// TopicPartitions: Versions 0+; nullable in 0+.
    topic_partitions: Option<Vec<TopicPartitions>> = None => [0, 1] null [0, 1];
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

kafka_message!(request ConsumerGroupHeartbeatRequest, key 68, versions [0, 1], flexible 0, response super::consumer_group_heartbeat_response::ConsumerGroupHeartbeatResponse);
