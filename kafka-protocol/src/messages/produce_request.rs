//! Produce request (API key 0): versions 3-13, flexible from 9.
//!
//! Declared from the field list of `ProduceRequest.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The Produce request (API key 0), versions 3-13.
    pub struct ProduceRequest {
    /// TransactionalId: Versions 3+; nullable in 3+.
    transactional_id: Option<String> = None => [3, 13] null [3, 13];
    /// Acks: Versions 3+.
    acks: i16 = 0 => [3, 13];
    /// TimeoutMs: Versions 3+.
    timeout_ms: i32 = 0 => [3, 13];
    /// TopicData: Versions 3+.
    topic_data: Vec<TopicProduceData> = Vec::new() => [3, 13];
    }
}

kafka_struct! {
    /// The `TopicProduceData` struct of this message.
    pub struct TopicProduceData {
    /// Name: Versions 3-12.
    name: String = String::new() => [3, 12] ignorable: true;
    /// TopicId: Versions 13+.
    topic_id: Uuid = Uuid::NIL => [13, 13] ignorable: true;
    /// PartitionData: Versions 3+.
    partition_data: Vec<PartitionProduceData> = Vec::new() => [3, 13];
    }
}

kafka_struct! {
    /// The `PartitionProduceData` struct of this message.
    pub struct PartitionProduceData {
    /// Index: Versions 3+.
    index: i32 = 0 => [3, 13];
    /// Records: Versions 3+; nullable in 3+.
    records: Option<Bytes> = None => [3, 13] null [3, 13];
    }
}

kafka_message!(request ProduceRequest, key 0, versions [3, 13], flexible 9, response super::produce_response::ProduceResponse);
