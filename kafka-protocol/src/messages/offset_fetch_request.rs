//! OffsetFetch request (API key 9): versions 1-10, flexible from 6.
//!
//! Declared from the field list of `OffsetFetchRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The OffsetFetch request (API key 9), versions 1-10.
    pub struct OffsetFetchRequest {
    /// GroupId: Versions 1-7.
    group_id: String = String::new() => [1, 7];
    /// Topics: Versions 1-7; nullable in 2-7.
    topics: Option<Vec<OffsetFetchRequestTopic>> = Some(Vec::new()) => [1, 7] null [2, 7];
    /// Groups: Versions 8+.
    groups: Vec<OffsetFetchRequestGroup> = Vec::new() => [8, 10];
    /// RequireStable: Versions 7+.
    require_stable: bool = false => [7, 10];
    }
}

kafka_struct! {
    /// The `OffsetFetchRequestTopic` struct of this message.
    pub struct OffsetFetchRequestTopic {
    /// Name: Versions 1-7.
    name: String = String::new() => [1, 7];
    /// PartitionIndexes: Versions 1-7.
    partition_indexes: Vec<i32> = Vec::new() => [1, 7];
    }
}

kafka_struct! {
    /// The `OffsetFetchRequestGroup` struct of this message.
    pub struct OffsetFetchRequestGroup {
    /// GroupId: Versions 8+.
    group_id: String = String::new() => [8, 10];
    /// MemberId: Versions 9+; nullable in 9+.
    member_id: Option<String> = None => [9, 10] null [9, 10] ignorable: true;
    /// MemberEpoch: Versions 9+.
    member_epoch: i32 = -1 => [9, 10] ignorable: true;
    /// Topics: Versions 8+; nullable in 8+.
    topics: Option<Vec<OffsetFetchRequestTopics>> = Some(Vec::new()) => [8, 10] null [8, 10];
    }
}

kafka_struct! {
    /// The `OffsetFetchRequestTopics` struct of this message.
    pub struct OffsetFetchRequestTopics {
    /// Name: Versions 8-9.
    name: String = String::new() => [8, 9] ignorable: true;
    /// TopicId: Versions 10+.
    topic_id: Uuid = Uuid::NIL => [10, 10] ignorable: true;
    /// PartitionIndexes: Versions 8+.
    partition_indexes: Vec<i32> = Vec::new() => [8, 10];
    }
}

kafka_message!(request OffsetFetchRequest, key 9, versions [1, 10], flexible 6, response super::offset_fetch_response::OffsetFetchResponse);
