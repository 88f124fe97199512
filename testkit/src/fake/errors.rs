//! The answer to a request with one error code everywhere it can carry one: what an injected
//! error looks like on the wire (each partition of a Produce, a Fetch, ... gets the code; an API
//! with a single error code gets it there).

use kwire_protocol::messages::add_offsets_to_txn_response::AddOffsetsToTxnResponse;
use kwire_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kwire_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kwire_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kwire_protocol::messages::create_topics_response::CreatableTopicResult;
use kwire_protocol::messages::delete_topics_response::DeletableTopicResult;
use kwire_protocol::messages::fetch_response::FetchableTopicResponse;
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

use super::state::{api_versions, unread_partition};

/// The answer to every partition of every topic of a request, the shape each per-partition error
/// answer shares: `partitions` lists a request topic's partitions, `partition` answers one of
/// them, and `topic` makes a topic's answer from the request topic and its partitions' answers.
/// The two closures are each API's thin adapter: its response types and the fields they set.
fn per_partition<'r, T, P: 'r, TA, PA>(
    topics: &'r [T],
    partitions: impl Fn(&'r T) -> &'r [P],
    partition: impl Fn(&'r P) -> PA,
    topic: impl Fn(&'r T, Vec<PA>) -> TA,
) -> Vec<TA> {
    topics
        .iter()
        .map(|t| topic(t, partitions(t).iter().map(&partition).collect()))
        .collect()
}

/// AddPartitionsToTxn's topics (v3 and below, and each transaction's from v4) with `code` at
/// every partition.
fn txn_topics(topics: &[AddPartitionsToTxnTopic], code: i16) -> Vec<AddPartitionsToTxnTopicResult> {
    per_partition(
        topics,
        |t| &t.partitions,
        |p| AddPartitionsToTxnPartitionResult {
            partition_index: *p,
            partition_error_code: code,
            ..Default::default()
        },
        |t, results_by_partition| AddPartitionsToTxnTopicResult {
            name: t.name.clone(),
            results_by_partition,
            ..Default::default()
        },
    )
}

/// The response to `req` with `code` in every error field it has; `None` for an API the cluster
/// does not answer.
pub(crate) fn error_response(req: &RequestBody, code: ErrorCode) -> Option<ResponseBody> {
    let c = code.code();
    let body = match req {
        RequestBody::Produce(r) => ResponseBody::Produce(ProduceResponse {
            responses: per_partition(
                &r.topic_data,
                |t| &t.partition_data,
                |p| PartitionProduceResponse {
                    index: p.index,
                    error_code: c,
                    base_offset: -1,
                    log_append_time_ms: -1,
                    log_start_offset: -1,
                    ..Default::default()
                },
                |t, partition_responses| TopicProduceResponse {
                    name: t.name.clone(),
                    partition_responses,
                    ..Default::default()
                },
            ),
            ..Default::default()
        }),
        RequestBody::Fetch(r) => ResponseBody::Fetch(FetchResponse {
            responses: per_partition(
                &r.topics,
                |t| &t.partitions,
                |p| unread_partition(p.partition, c),
                |t, partitions| FetchableTopicResponse {
                    topic: t.topic.clone(),
                    topic_id: t.topic_id,
                    partitions,
                    ..Default::default()
                },
            ),
            ..Default::default()
        }),
        RequestBody::ListOffsets(r) => ResponseBody::ListOffsets(ListOffsetsResponse {
            topics: per_partition(
                &r.topics,
                |t| &t.partitions,
                |p| ListOffsetsPartitionResponse {
                    partition_index: p.partition_index,
                    error_code: c,
                    ..Default::default()
                },
                |t, partitions| ListOffsetsTopicResponse {
                    name: t.name.clone(),
                    partitions,
                    ..Default::default()
                },
            ),
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
            topics: per_partition(
                &r.topics,
                |t| &t.partitions,
                |p| OffsetCommitResponsePartition {
                    partition_index: p.partition_index,
                    error_code: c,
                    ..Default::default()
                },
                |t, partitions| OffsetCommitResponseTopic {
                    name: t.name.clone(),
                    topic_id: t.topic_id,
                    partitions,
                    ..Default::default()
                },
            ),
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
            topics: per_partition(
                &r.topics,
                |t| &t.partitions,
                |p| TxnOffsetCommitResponsePartition {
                    partition_index: p.partition_index,
                    error_code: c,
                    ..Default::default()
                },
                |t, partitions| TxnOffsetCommitResponseTopic {
                    name: t.name.clone(),
                    partitions,
                    ..Default::default()
                },
            ),
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
