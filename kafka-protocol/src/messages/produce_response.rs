//! Produce response (API key 0): versions 3-13, flexible from 9.
//!
//! Declared from the field list of `ProduceResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The Produce response (API key 0), versions 3-13.
    pub struct ProduceResponse {
    /// Responses: Versions 3+.
    responses: Vec<TopicProduceResponse> = Vec::new() => [3, 13];
    /// ThrottleTimeMs: Versions 3+.
    throttle_time_ms: i32 = 0 => [3, 13] ignorable: true;
    /// NodeEndpoints: Versions 10+; tagged field 0 in 10+.
    node_endpoints: Vec<NodeEndpoint> = Vec::new() => [10, 13] tag 0 [10, 13];
    }
}

kafka_struct! {
    /// The `TopicProduceResponse` struct of this message.
    pub struct TopicProduceResponse {
    /// Name: Versions 3-12.
    name: String = String::new() => [3, 12] ignorable: true;
    /// TopicId: Versions 13+.
    topic_id: Uuid = Uuid::NIL => [13, 13] ignorable: true;
    /// PartitionResponses: Versions 3+.
    partition_responses: Vec<PartitionProduceResponse> = Vec::new() => [3, 13];
    }
}

kafka_struct! {
    /// The `PartitionProduceResponse` struct of this message.
    pub struct PartitionProduceResponse {
    /// Index: Versions 3+.
    index: i32 = 0 => [3, 13];
    /// ErrorCode: Versions 3+.
    error_code: i16 = 0 => [3, 13];
    /// BaseOffset: Versions 3+.
    base_offset: i64 = 0 => [3, 13];
    /// LogAppendTimeMs: Versions 3+.
    log_append_time_ms: i64 = -1 => [3, 13] ignorable: true;
    /// LogStartOffset: Versions 5+.
    log_start_offset: i64 = -1 => [5, 13] ignorable: true;
    /// RecordErrors: Versions 8+.
    record_errors: Vec<BatchIndexAndErrorMessage> = Vec::new() => [8, 13] ignorable: true;
    /// ErrorMessage: Versions 8+; nullable in 8+.
    error_message: Option<String> = None => [8, 13] null [8, 13] ignorable: true;
    /// CurrentLeader: Versions 10+; tagged field 0 in 10+.
    current_leader: LeaderIdAndEpoch = Default::default() => [10, 13] tag 0 [10, 13];
    }
}

kafka_struct! {
    /// The `BatchIndexAndErrorMessage` struct of this message.
    pub struct BatchIndexAndErrorMessage {
    /// BatchIndex: Versions 8+.
    batch_index: i32 = 0 => [8, 13];
    /// BatchIndexErrorMessage: Versions 8+; nullable in 8+.
    batch_index_error_message: Option<String> = None => [8, 13] null [8, 13];
    }
}

kafka_struct! {
    /// The `LeaderIdAndEpoch` struct of this message.
    pub struct LeaderIdAndEpoch {
    /// LeaderId: Versions 10+.
    leader_id: i32 = -1 => [10, 13];
    /// LeaderEpoch: Versions 10+.
    leader_epoch: i32 = -1 => [10, 13];
    }
}

kafka_struct! {
    /// The `NodeEndpoint` struct of this message.
    pub struct NodeEndpoint {
    /// NodeId: Versions 10+.
    node_id: i32 = 0 => [10, 13];
    /// Host: Versions 10+.
    host: String = String::new() => [10, 13];
    /// Port: Versions 10+.
    port: i32 = 0 => [10, 13];
    /// Rack: Versions 10+; nullable in 10+.
    rack: Option<String> = None => [10, 13] null [10, 13];
    }
}

kafka_message!(ProduceResponse, key 0, versions [3, 13], flexible 9, throttle);
