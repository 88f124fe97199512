//! CreatePartitions (API key 37), which the codec does not declare yet and the client does not
//! send: declared here with the codec's declaration macros so the fake cluster can answer it
//! (admin tools of other clients grow topics with it).
//!
//! Declared from the field lists of `CreatePartitionsRequest.json` and
//! `CreatePartitionsResponse.json`: versions 0-3, flexible from 2.

#![allow(missing_docs, unexpected_cfgs)]

use bytes::Bytes;
use kwire_protocol::frame::{RequestHeader, ResponseHeader};
use kwire_protocol::messages::Message;
use kwire_protocol::{kafka_message, kafka_struct, Decoder, Encoder, ErrorCode};

use super::state::ClusterState;

kafka_struct! {
    /// The CreatePartitions request, versions 0-3.
    pub struct CreatePartitionsRequest {
    /// Topics: Versions 0+.
    topics: Vec<CreatePartitionsTopic> = Vec::new() => [0, 3];
    /// TimeoutMs: Versions 0+.
    timeout_ms: i32 = 0 => [0, 3];
    /// ValidateOnly: Versions 0+.
    validate_only: bool = false => [0, 3];
    }
}

kafka_struct! {
    /// A topic to grow.
    pub struct CreatePartitionsTopic {
    /// Name: Versions 0+.
    name: String = String::new() => [0, 3];
    /// Count: Versions 0+ (the new total).
    count: i32 = 0 => [0, 3];
    /// Assignments: Versions 0+; nullable in 0+.
    assignments: Option<Vec<CreatePartitionsAssignment>> = None => [0, 3] null [0, 3];
    }
}

kafka_struct! {
    /// The replicas of one new partition.
    pub struct CreatePartitionsAssignment {
    /// BrokerIds: Versions 0+.
    broker_ids: Vec<i32> = Vec::new() => [0, 3];
    }
}

kafka_struct! {
    /// The CreatePartitions response, versions 0-3.
    pub struct CreatePartitionsResponse {
    /// ThrottleTimeMs: Versions 0+.
    throttle_time_ms: i32 = 0 => [0, 3];
    /// Results: Versions 0+.
    results: Vec<CreatePartitionsTopicResult> = Vec::new() => [0, 3];
    }
}

kafka_struct! {
    /// One topic's result.
    pub struct CreatePartitionsTopicResult {
    /// Name: Versions 0+.
    name: String = String::new() => [0, 3];
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 3];
    /// ErrorMessage: Versions 0+; nullable in 0+.
    error_message: Option<String> = None => [0, 3] null [0, 3];
    }
}

kafka_message!(request CreatePartitionsRequest, key 37, versions [0, 3], flexible 2, response CreatePartitionsResponse);
kafka_message!(CreatePartitionsResponse, key 37, versions [0, 3], flexible 2);

/// Answers a CreatePartitions request frame (contents without the length prefix) on the
/// cluster: the response frame, or `None` when the request cannot be read (then the connection
/// is closed, as Kafka does).
pub(crate) fn answer(state: &mut ClusterState, frame: Bytes) -> Option<Bytes> {
    let version = i16::from_be_bytes([*frame.get(2)?, *frame.get(3)?]);
    if !CreatePartitionsRequest::VERSIONS.contains(version) {
        return None;
    }
    let flexible = CreatePartitionsRequest::is_flexible(version);
    let mut d = Decoder::new(frame);
    let header = RequestHeader::decode(&mut d, if flexible { 2 } else { 1 }).ok()?;
    let req = CreatePartitionsRequest::decode_from(&mut d, version).ok()?;
    let results = req
        .topics
        .iter()
        .map(|t| {
            let res = if req.validate_only {
                Ok(())
            } else {
                state.add_partitions(&t.name, t.count)
            };
            CreatePartitionsTopicResult {
                name: t.name.clone(),
                error_code: res.err().unwrap_or(ErrorCode::NONE).code(),
                error_message: None,
                ..Default::default()
            }
        })
        .collect();
    let resp = CreatePartitionsResponse {
        results,
        ..Default::default()
    };
    let mut e = Encoder::new();
    e.i32(0);
    ResponseHeader {
        correlation_id: header.correlation_id,
        ..Default::default()
    }
    .encode(&mut e, if flexible { 1 } else { 0 })
    .ok()?;
    let mut buf = e.into_inner();
    resp.encode_into(version, &mut buf).ok()?;
    let len = i32::try_from(buf.len() - 4).ok()?;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Some(buf.freeze())
}
