//! TxnOffsetCommit request (API key 28): versions 0-6, flexible from 3.
//!
//! Declared from the field list of `TxnOffsetCommitRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The TxnOffsetCommit request (API key 28), versions 0-6.
    pub struct TxnOffsetCommitRequest {
    /// TransactionalId: Versions 0+.
    transactional_id: String = String::new() => [0, 6];
    /// GroupId: Versions 0+.
    group_id: String = String::new() => [0, 6];
    /// ProducerId: Versions 0+.
    producer_id: i64 = 0 => [0, 6];
    /// ProducerEpoch: Versions 0+.
    producer_epoch: i16 = 0 => [0, 6];
    /// GenerationIdOrMemberEpoch: Versions 3+.
    generation_id_or_member_epoch: i32 = -1 => [3, 6];
    /// MemberId: Versions 3+.
    member_id: String = String::new() => [3, 6];
    /// GroupInstanceId: Versions 3+; nullable in 3+.
    group_instance_id: Option<String> = None => [3, 6] null [3, 6];
    /// Topics: Versions 0+.
    topics: Vec<TxnOffsetCommitRequestTopic> = Vec::new() => [0, 6];
    }
}

kafka_struct! {
    /// The `TxnOffsetCommitRequestTopic` struct of this message.
    pub struct TxnOffsetCommitRequestTopic {
    /// Name: Versions 0-5.
    name: String = String::new() => [0, 5] ignorable: true;
    /// TopicId: Versions 6+.
    topic_id: Uuid = Uuid::NIL => [6, 6] ignorable: true;
    /// Partitions: Versions 0+.
    partitions: Vec<TxnOffsetCommitRequestPartition> = Vec::new() => [0, 6];
    }
}

kafka_struct! {
    /// The `TxnOffsetCommitRequestPartition` struct of this message.
    pub struct TxnOffsetCommitRequestPartition {
    /// PartitionIndex: Versions 0+.
    partition_index: i32 = 0 => [0, 6];
    /// CommittedOffset: Versions 0+.
    committed_offset: i64 = 0 => [0, 6];
    /// CommittedLeaderEpoch: Versions 2+.
    committed_leader_epoch: i32 = -1 => [2, 6] ignorable: true;
    /// CommittedMetadata: Versions 0+; nullable in 0+.
    committed_metadata: Option<String> = Some(String::new()) => [0, 6] null [0, 6];
    }
}

kafka_message!(request TxnOffsetCommitRequest, key 28, versions [0, 6], flexible 3, response super::txn_offset_commit_response::TxnOffsetCommitResponse);
