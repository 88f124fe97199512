//! The answer to a request with one error code everywhere it can carry one: what an injected
//! error looks like on the wire (each partition of a Produce, a Fetch, ... gets the code; an API
//! with a single error code gets it there).

use bytes::Bytes;
use kwire_protocol::messages::add_offsets_to_txn_response::AddOffsetsToTxnResponse;
use kwire_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kwire_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kwire_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kwire_protocol::messages::create_topics_response::CreatableTopicResult;
use kwire_protocol::messages::delete_topics_response::DeletableTopicResult;
use kwire_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kwire_protocol::messages::find_coordinator_response::Coordinator;
use kwire_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kwire_protocol::messages::metadata_response::MetadataResponseTopic;
use kwire_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kwire_protocol::messages::offset_fetch_response::OffsetFetchResponseGroup;
use kwire_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kwire_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kwire_protocol::messages::{
    AddPartitionsToTxnResponse, ApiVersionsResponse, CreatePartitionsResponse, CreateTopicsResponse,
    DeleteTopicsResponse, EndTxnResponse, FetchResponse, FindCoordinatorResponse, InitProducerIdResponse,
    ListOffsetsResponse, MetadataResponse, OffsetCommitResponse, OffsetFetchResponse, ProduceResponse,
    RequestBody, ResponseBody, TxnOffsetCommitResponse,
};
use kwire_protocol::ErrorCode;

use super::state::api_versions;

fn txn_topics(topics: &[AddPartitionsToTxnTopic], code: i16) -> Vec<AddPartitionsToTxnTopicResult> {
    topics
        .iter()
        .map(|t| AddPartitionsToTxnTopicResult {
            name: t.name.clone(),
            results_by_partition: t
                .partitions
                .iter()
                .map(|p| AddPartitionsToTxnPartitionResult {
                    partition_index: *p,
                    partition_error_code: code,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect()
}

/// The response to `req` with `code` in every error field it has; `None` for an API the cluster
/// does not answer.
pub(crate) fn error_response(req: &RequestBody, code: ErrorCode) -> Option<ResponseBody> {
    let c = code.code();
    let body = match req {
        RequestBody::Produce(r) => ResponseBody::Produce(ProduceResponse {
            responses: r
                .topic_data
                .iter()
                .map(|t| TopicProduceResponse {
                    name: t.name.clone(),
                    partition_responses: t
                        .partition_data
                        .iter()
                        .map(|p| PartitionProduceResponse {
                            index: p.index,
                            error_code: c,
                            base_offset: -1,
                            log_append_time_ms: -1,
                            log_start_offset: -1,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        RequestBody::Fetch(r) => ResponseBody::Fetch(FetchResponse {
            responses: r
                .topics
                .iter()
                .map(|t| FetchableTopicResponse {
                    topic: t.topic.clone(),
                    topic_id: t.topic_id,
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| PartitionData {
                            partition_index: p.partition,
                            error_code: c,
                            high_watermark: -1,
                            last_stable_offset: -1,
                            log_start_offset: -1,
                            aborted_transactions: None,
                            records: Some(Bytes::new()),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        RequestBody::ListOffsets(r) => ResponseBody::ListOffsets(ListOffsetsResponse {
            topics: r
                .topics
                .iter()
                .map(|t| ListOffsetsTopicResponse {
                    name: t.name.clone(),
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| ListOffsetsPartitionResponse {
                            partition_index: p.partition_index,
                            error_code: c,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        RequestBody::Metadata(r) => ResponseBody::Metadata(MetadataResponse {
            topics: r
                .topics
                .iter()
                .flatten()
                .map(|t| MetadataResponseTopic {
                    error_code: c,
                    name: t.name.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        RequestBody::OffsetCommit(r) => ResponseBody::OffsetCommit(OffsetCommitResponse {
            topics: r
                .topics
                .iter()
                .map(|t| OffsetCommitResponseTopic {
                    name: t.name.clone(),
                    topic_id: t.topic_id,
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| OffsetCommitResponsePartition {
                            partition_index: p.partition_index,
                            error_code: c,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        RequestBody::OffsetFetch(r) => ResponseBody::OffsetFetch(OffsetFetchResponse {
            error_code: c,
            groups: r
                .groups
                .iter()
                .map(|g| OffsetFetchResponseGroup {
                    group_id: g.group_id.clone(),
                    error_code: c,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        RequestBody::FindCoordinator(r) => ResponseBody::FindCoordinator(FindCoordinatorResponse {
            error_code: c,
            error_message: None,
            node_id: -1,
            port: -1,
            coordinators: r
                .coordinator_keys
                .iter()
                .map(|k| Coordinator {
                    key: k.clone(),
                    node_id: -1,
                    port: -1,
                    error_code: c,
                    error_message: None,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        RequestBody::ApiVersions(_) => ResponseBody::ApiVersions(ApiVersionsResponse {
            error_code: c,
            ..api_versions()
        }),
        RequestBody::CreateTopics(r) => ResponseBody::CreateTopics(CreateTopicsResponse {
            topics: r
                .topics
                .iter()
                .map(|t| CreatableTopicResult {
                    name: t.name.clone(),
                    error_code: c,
                    error_message: None,
                    configs: None,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        RequestBody::DeleteTopics(r) => ResponseBody::DeleteTopics(DeleteTopicsResponse {
            responses: r
                .topic_names
                .iter()
                .map(|n| DeletableTopicResult {
                    name: Some(n.clone()),
                    error_code: c,
                    ..Default::default()
                })
                .chain(r.topics.iter().map(|t| DeletableTopicResult {
                    name: t.name.clone(),
                    topic_id: t.topic_id,
                    error_code: c,
                    ..Default::default()
                }))
                .collect(),
            ..Default::default()
        }),
        RequestBody::InitProducerId(_) => ResponseBody::InitProducerId(InitProducerIdResponse {
            error_code: c,
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        }),
        RequestBody::AddPartitionsToTxn(r) => ResponseBody::AddPartitionsToTxn(AddPartitionsToTxnResponse {
            error_code: c,
            results_by_topic_v3_and_below: txn_topics(&r.v3_and_below_topics, c),
            results_by_transaction: r
                .transactions
                .iter()
                .map(|t| AddPartitionsToTxnResult {
                    transactional_id: t.transactional_id.clone(),
                    topic_results: txn_topics(&t.topics, c),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        RequestBody::AddOffsetsToTxn(_) => ResponseBody::AddOffsetsToTxn(AddOffsetsToTxnResponse {
            error_code: c,
            ..Default::default()
        }),
        RequestBody::EndTxn(_) => ResponseBody::EndTxn(EndTxnResponse {
            error_code: c,
            ..Default::default()
        }),
        RequestBody::TxnOffsetCommit(r) => ResponseBody::TxnOffsetCommit(TxnOffsetCommitResponse {
            topics: r
                .topics
                .iter()
                .map(|t| TxnOffsetCommitResponseTopic {
                    name: t.name.clone(),
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| TxnOffsetCommitResponsePartition {
                            partition_index: p.partition_index,
                            error_code: c,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        RequestBody::CreatePartitions(r) => ResponseBody::CreatePartitions(CreatePartitionsResponse {
            results: r
                .topics
                .iter()
                .map(|t| CreatePartitionsTopicResult {
                    name: t.name.clone(),
                    error_code: c,
                    error_message: None,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        // SASL, DescribeCluster and the other APIs not advertised: the connection is closed
        // instead.
        _ => return None,
    };
    Some(body)
}
