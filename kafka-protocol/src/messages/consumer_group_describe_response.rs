//! ConsumerGroupDescribe response (API key 69): versions 0-1, flexible from 0.
//!
//! Declared from the field list of `ConsumerGroupDescribeResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The ConsumerGroupDescribe response (API key 69), versions 0-1.
    pub struct ConsumerGroupDescribeResponse {
    /// ThrottleTimeMs: Versions 0+.
    throttle_time_ms: i32 = 0 => [0, 1];
    /// Groups: Versions 0+.
    groups: Vec<DescribedGroup> = Vec::new() => [0, 1];
    }
}

kafka_struct! {
    /// The `DescribedGroup` struct of this message.
    pub struct DescribedGroup {
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 1];
    /// ErrorMessage: Versions 0+; nullable in 0+.
    error_message: Option<String> = None => [0, 1] null [0, 1];
    /// GroupId: Versions 0+.
    group_id: String = String::new() => [0, 1];
    /// GroupState: Versions 0+.
    group_state: String = String::new() => [0, 1];
    /// GroupEpoch: Versions 0+.
    group_epoch: i32 = 0 => [0, 1];
    /// AssignmentEpoch: Versions 0+.
    assignment_epoch: i32 = 0 => [0, 1];
    /// AssignorName: Versions 0+.
    assignor_name: String = String::new() => [0, 1];
    /// Members: Versions 0+.
    members: Vec<Member> = Vec::new() => [0, 1];
    /// AuthorizedOperations: Versions 0+.
    authorized_operations: i32 = -2147483648 => [0, 1];
    }
}

kafka_struct! {
    /// The `Member` struct of this message.
    pub struct Member {
    /// MemberId: Versions 0+.
    member_id: String = String::new() => [0, 1];
    /// InstanceId: Versions 0+; nullable in 0+.
    instance_id: Option<String> = None => [0, 1] null [0, 1];
    /// RackId: Versions 0+; nullable in 0+.
    rack_id: Option<String> = None => [0, 1] null [0, 1];
    /// MemberEpoch: Versions 0+.
    member_epoch: i32 = 0 => [0, 1];
    /// ClientId: Versions 0+.
    client_id: String = String::new() => [0, 1];
    /// ClientHost: Versions 0+.
    client_host: String = String::new() => [0, 1];
    /// SubscribedTopicNames: Versions 0+.
    subscribed_topic_names: Vec<String> = Vec::new() => [0, 1];
    /// SubscribedTopicRegex: Versions 0+; nullable in 0+.
    subscribed_topic_regex: Option<String> = None => [0, 1] null [0, 1];
    /// Assignment: Versions 0+.
    assignment: Assignment = Default::default() => [0, 1];
    /// TargetAssignment: Versions 0+.
    target_assignment: Assignment = Default::default() => [0, 1];
    /// MemberType: Versions 1+.
    member_type: i8 = -1 => [1, 1] ignorable: true;
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
    /// TopicName: Versions 0+.
    topic_name: String = String::new() => [0, 1];
    /// Partitions: Versions 0+.
    partitions: Vec<i32> = Vec::new() => [0, 1];
    }
}

kafka_message!(ConsumerGroupDescribeResponse, key 69, versions [0, 1], flexible 0, throttle);
