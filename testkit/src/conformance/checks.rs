//! The checkers: pure functions that say whether a broker's answer means what the protocol says it
//! should, given what was asked. Each returns `Err(why)` naming the field and the values. The cases
//! run them on live answers; tests run them on doctored answers to show that they catch a wrong one.

use std::collections::HashSet;

use kwire_protocol::messages::fetch_response::PartitionData;
use kwire_protocol::messages::list_offsets_response::ListOffsetsPartitionResponse;
use kwire_protocol::messages::{
    AddPartitionsToTxnResponse, ApiKey, ApiVersionsResponse, CreateTopicsResponse, DeleteTopicsResponse,
    DescribeClusterResponse, EndTxnResponse, FetchResponse, FindCoordinatorResponse, InitProducerIdResponse,
    ListOffsetsResponse, MetadataResponse, OffsetCommitResponse, OffsetFetchResponse, ProduceResponse,
    SaslAuthenticateResponse, SaslHandshakeResponse, TxnOffsetCommitResponse, VersionRange,
};
use kwire_protocol::records::{ConsumerRecord, RecordBatches};
use kwire_protocol::{ErrorCode, Uuid};

/// A broker as the cluster's metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Broker {
    /// The broker's id.
    pub node_id: i32,
    /// Its advertised host.
    pub host: String,
    /// Its advertised port.
    pub port: i32,
}

/// A checker's verdict: `Err(why)` when the answer is wrong.
pub type Check<T = ()> = Result<T, String>;

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

/// `got` (the field `what`) is the error code `want`.
pub fn error(got: i16, want: ErrorCode, what: &str) -> Check {
    ensure!(
        ErrorCode(got) == want,
        "{what} is {}, expected {want}",
        ErrorCode(got)
    );
    Ok(())
}

/// ApiVersions answered at `version`: no error, every API once with `0 <= min <= max`, and
/// ApiVersions itself listed with a range that holds `version` (v0 is always supported).
pub fn api_versions(resp: &ApiVersionsResponse, version: i16) -> Check {
    error(resp.error_code, ErrorCode::NONE, "error_code")?;
    ensure!(!resp.api_keys.is_empty(), "api_keys is empty");
    let mut seen = HashSet::new();
    for k in &resp.api_keys {
        ensure!(seen.insert(k.api_key), "API key {} is listed twice", k.api_key);
        ensure!(
            0 <= k.min_version && k.min_version <= k.max_version,
            "API key {} has versions {}..{}",
            k.api_key,
            k.min_version,
            k.max_version
        );
    }
    let own = resp
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::ApiVersions.0)
        .ok_or_else(|| "ApiVersions (18) itself is not listed".to_owned())?;
    ensure!(
        own.min_version == 0 && own.max_version >= version,
        "answered at v{version} but lists ApiVersions v{}-v{}",
        own.min_version,
        own.max_version
    );
    if version >= 1 {
        ensure!(
            resp.throttle_time_ms >= 0,
            "throttle_time_ms is {}",
            resp.throttle_time_ms
        );
    }
    Ok(())
}

/// The APIs and ranges in `resp` are those `known` says (the answer at connect time): the same
/// broker gives the same list whatever the ApiVersions version.
pub fn api_versions_agree(
    resp: &ApiVersionsResponse,
    known: impl Fn(ApiKey) -> Option<VersionRange>,
) -> Check {
    for k in &resp.api_keys {
        let now = VersionRange::new(k.min_version, k.max_version);
        let before = known(ApiKey(k.api_key));
        ensure!(
            before == Some(now),
            "API key {} is listed as v{}-v{}, but as {before:?} at connect",
            k.api_key,
            now.min,
            now.max
        );
    }
    for (key, name, _) in ApiKey::SUPPORTED {
        if known(*key).is_some() {
            ensure!(
                resp.api_keys.iter().any(|k| k.api_key == key.0),
                "{name} ({}) was listed at connect but is missing",
                key.0
            );
        }
    }
    Ok(())
}

/// The brokers a Metadata answer lists, sorted by id.
pub fn brokers(resp: &MetadataResponse) -> Vec<Broker> {
    let mut brokers: Vec<Broker> = resp
        .brokers
        .iter()
        .map(|b| Broker {
            node_id: b.node_id,
            host: b.host.clone(),
            port: b.port,
        })
        .collect();
    brokers.sort();
    brokers
}

/// The brokers of a Metadata answer at `version`: no top-level error (v13+), at least one broker,
/// ids unique, a host and a port each, the controller one of them (or -1, v1+), a cluster id
/// (v2+).
pub fn metadata_brokers(resp: &MetadataResponse, version: i16) -> Check {
    if version >= 13 {
        error(resp.error_code, ErrorCode::NONE, "error_code")?;
    }
    ensure!(!resp.brokers.is_empty(), "no broker listed");
    let mut ids = HashSet::new();
    for b in &resp.brokers {
        ensure!(ids.insert(b.node_id), "broker {} is listed twice", b.node_id);
        ensure!(!b.host.is_empty(), "broker {} has an empty host", b.node_id);
        ensure!(
            (1..=65535).contains(&b.port),
            "broker {} has port {}",
            b.node_id,
            b.port
        );
    }
    if version >= 1 {
        ensure!(
            resp.controller_id == -1 || ids.contains(&resp.controller_id),
            "controller_id {} is not a listed broker",
            resp.controller_id
        );
    }
    if version >= 2 {
        ensure!(
            resp.cluster_id.as_deref().is_some_and(|c| !c.is_empty()),
            "cluster_id is {:?}",
            resp.cluster_id
        );
    }
    Ok(())
}

/// A Metadata answer at `version` for `topic`, which has `partitions` partitions: the brokers (see
/// [`metadata_brokers`]), the topic once without error, partitions `0..partitions` each without
/// error, led by a listed broker that is among its replicas and in its ISR, a leader epoch (v7+),
/// a topic id (v10+), not internal (v1+).
pub fn metadata_topic(resp: &MetadataResponse, version: i16, topic: &str, partitions: i32) -> Check {
    metadata_brokers(resp, version)?;
    let found: Vec<_> = resp
        .topics
        .iter()
        .filter(|t| t.name.as_deref() == Some(topic))
        .collect();
    ensure!(found.len() == 1, "topic {topic} is listed {} times", found.len());
    let t = found[0];
    error(t.error_code, ErrorCode::NONE, &format!("{topic} error_code"))?;
    if version >= 1 {
        ensure!(!t.is_internal, "{topic} is marked internal");
    }
    if version >= 10 {
        ensure!(t.topic_id != Uuid::NIL, "{topic} has a nil topic_id");
    }
    let mut indexes: Vec<i32> = t.partitions.iter().map(|p| p.partition_index).collect();
    indexes.sort_unstable();
    ensure!(
        indexes == (0..partitions).collect::<Vec<_>>(),
        "{topic} has partitions {indexes:?}, expected 0..{partitions}"
    );
    let ids: HashSet<i32> = resp.brokers.iter().map(|b| b.node_id).collect();
    for p in &t.partitions {
        let i = p.partition_index;
        error(p.error_code, ErrorCode::NONE, &format!("{topic}-{i} error_code"))?;
        ensure!(
            ids.contains(&p.leader_id),
            "{topic}-{i} is led by {}, which is not a listed broker",
            p.leader_id
        );
        ensure!(
            p.replica_nodes.contains(&p.leader_id),
            "{topic}-{i}: leader {} is not among its replicas {:?}",
            p.leader_id,
            p.replica_nodes
        );
        ensure!(
            p.isr_nodes.contains(&p.leader_id),
            "{topic}-{i}: leader {} is not in its ISR {:?}",
            p.leader_id,
            p.isr_nodes
        );
        if version >= 7 {
            ensure!(
                p.leader_epoch >= 0,
                "{topic}-{i} has leader_epoch {}",
                p.leader_epoch
            );
        }
    }
    Ok(())
}

/// A Metadata answer for `topic`, which does not exist: listed with UNKNOWN_TOPIC_OR_PARTITION
/// and no partitions.
pub fn metadata_unknown_topic(resp: &MetadataResponse, version: i16, topic: &str) -> Check {
    metadata_brokers(resp, version)?;
    let t = resp
        .topics
        .iter()
        .find(|t| t.name.as_deref() == Some(topic))
        .ok_or_else(|| format!("{topic} is not in the answer (it should be, with an error)"))?;
    error(
        t.error_code,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
        &format!("{topic} error_code"),
    )?;
    ensure!(
        t.partitions.is_empty(),
        "{topic} does not exist but has partitions"
    );
    Ok(())
}

/// A Metadata answer to an empty topic list (v1+, where null means all): no topic.
pub fn metadata_no_topics(resp: &MetadataResponse, version: i16) -> Check {
    metadata_brokers(resp, version)?;
    let names: Vec<_> = resp.topics.iter().take(5).map(|t| t.name.clone()).collect();
    ensure!(
        resp.topics.is_empty(),
        "an empty topic list was answered with {} topics (first: {names:?}); it asks for none",
        resp.topics.len()
    );
    Ok(())
}

/// DescribeCluster at `version`: no error, the cluster id and brokers Metadata gives, a listed
/// controller (or -1), endpoint type 1 (brokers, v1), none of them fenced (v2, which lists fenced
/// brokers only when asked to).
pub fn describe_cluster(
    resp: &DescribeClusterResponse,
    version: i16,
    cluster_id: Option<&str>,
    brokers: &[Broker],
) -> Check {
    error(resp.error_code, ErrorCode::NONE, "error_code")?;
    if let Some(id) = cluster_id {
        ensure!(
            resp.cluster_id == id,
            "cluster_id is {:?}, Metadata says {id:?}",
            resp.cluster_id
        );
    }
    let mut got: Vec<Broker> = resp
        .brokers
        .iter()
        .map(|b| Broker {
            node_id: b.broker_id,
            host: b.host.clone(),
            port: b.port,
        })
        .collect();
    got.sort();
    ensure!(got == brokers, "brokers are {got:?}, Metadata says {brokers:?}");
    ensure!(
        resp.controller_id == -1 || brokers.iter().any(|b| b.node_id == resp.controller_id),
        "controller_id {} is not a listed broker",
        resp.controller_id
    );
    if version >= 2 {
        let fenced: Vec<i32> = resp
            .brokers
            .iter()
            .filter(|b| b.is_fenced)
            .map(|b| b.broker_id)
            .collect();
        ensure!(
            fenced.is_empty(),
            "brokers {fenced:?} are listed as fenced, without include_fenced_brokers"
        );
    }
    if version >= 1 {
        ensure!(
            resp.endpoint_type == 1,
            "endpoint_type is {}, asked 1",
            resp.endpoint_type
        );
    }
    Ok(())
}

/// CreateTopics at `version` for `topic` with `partitions` and `replication_factor`: one result,
/// for the topic, without error; the partitions and replication factor (v5+) and a topic id (v7+).
pub fn create_topics(
    resp: &CreateTopicsResponse,
    version: i16,
    topic: &str,
    partitions: i32,
    replication_factor: i16,
) -> Check {
    ensure!(
        resp.topics.len() == 1,
        "{} results for one topic",
        resp.topics.len()
    );
    let t = &resp.topics[0];
    ensure!(t.name == topic, "the result is for {:?}, asked {topic:?}", t.name);
    error(t.error_code, ErrorCode::NONE, "error_code")?;
    if version >= 5 {
        ensure!(
            t.num_partitions == partitions,
            "num_partitions is {}, asked {partitions}",
            t.num_partitions
        );
        ensure!(
            t.replication_factor == replication_factor,
            "replication_factor is {}, asked {replication_factor}",
            t.replication_factor
        );
    }
    if version >= 7 {
        ensure!(t.topic_id != Uuid::NIL, "topic_id is nil");
    }
    Ok(())
}

/// CreateTopics for `topic` answered with the error `want` (e.g. TOPIC_ALREADY_EXISTS).
pub fn create_topics_error(resp: &CreateTopicsResponse, topic: &str, want: ErrorCode) -> Check {
    ensure!(
        resp.topics.len() == 1,
        "{} results for one topic",
        resp.topics.len()
    );
    let t = &resp.topics[0];
    ensure!(t.name == topic, "the result is for {:?}, asked {topic:?}", t.name);
    error(t.error_code, want, "error_code")
}

/// DeleteTopics at `version` for `topic` (by name, or by `id` at v6): one result, for it, with
/// error `want`.
pub fn delete_topics(
    resp: &DeleteTopicsResponse,
    version: i16,
    topic: Option<&str>,
    id: Option<Uuid>,
    want: ErrorCode,
) -> Check {
    ensure!(
        resp.responses.len() == 1,
        "{} results for one topic",
        resp.responses.len()
    );
    let r = &resp.responses[0];
    if let Some(topic) = topic {
        ensure!(
            r.name.as_deref() == Some(topic),
            "the result is for {:?}, asked {topic:?}",
            r.name
        );
    }
    if let (Some(id), true) = (id, version >= 6) {
        ensure!(
            r.topic_id == id,
            "the result is for topic id {}, asked {id}",
            r.topic_id
        );
    }
    error(r.error_code, want, "error_code")
}

/// Produce at `version` to `topic`-`partition`, for versions that name topics (up to v12; see
/// [`produce_to`]): one result, for it, without error, at `base_offset`, create time
/// (log_append_time -1), a log start offset at or below it (v5+), no record errors (v8+).
pub fn produce(resp: &ProduceResponse, version: i16, topic: &str, partition: i32, base_offset: i64) -> Check {
    produce_to(resp, version, topic, Uuid::NIL, partition, base_offset)
}

/// Like [`produce`], with the topic named by `topic` up to v12 and by `topic_id` from v13
/// (KIP-516).
pub fn produce_to(
    resp: &ProduceResponse,
    version: i16,
    topic: &str,
    topic_id: Uuid,
    partition: i32,
    base_offset: i64,
) -> Check {
    produce_answer(resp, version, (topic, topic_id), partition, base_offset, &[-1])
}

/// The answer to a batch sent again with the same producer id, epoch and sequence (a retry after
/// a lost answer): as [`produce_to`] says of the first write (its offset, not written twice),
/// except that log_append_time_ms may also be `batch_max_timestamp`. Kafka answers a duplicate
/// from the batch metadata it kept, whose log append time is the batch's max timestamp even on a
/// create-time topic (`UnifiedLog.append`: `setLogAppendTime(duplicate.timestamp())`).
pub fn produce_duplicate(
    resp: &ProduceResponse,
    version: i16,
    (topic, topic_id): (&str, Uuid),
    partition: i32,
    base_offset: i64,
    batch_max_timestamp: i64,
) -> Check {
    produce_answer(
        resp,
        version,
        (topic, topic_id),
        partition,
        base_offset,
        &[-1, batch_max_timestamp],
    )
}

/// The first Produce version that names topics by id (KIP-516).
const PRODUCE_BY_TOPIC_ID: i16 = 13;

/// The checks of [`produce_to`], with the log append times allowed.
fn produce_answer(
    resp: &ProduceResponse,
    version: i16,
    (topic, topic_id): (&str, Uuid),
    partition: i32,
    base_offset: i64,
    append_times: &[i64],
) -> Check {
    ensure!(
        resp.responses.len() == 1,
        "{} topic results for one topic",
        resp.responses.len()
    );
    let t = &resp.responses[0];
    same_topic(
        version >= PRODUCE_BY_TOPIC_ID,
        (&t.name, t.topic_id),
        (topic, topic_id),
    )?;
    ensure!(
        t.partition_responses.len() == 1,
        "{} partition results for one partition",
        t.partition_responses.len()
    );
    let p = &t.partition_responses[0];
    ensure!(
        p.index == partition,
        "the result is for partition {}, asked {partition}",
        p.index
    );
    error(p.error_code, ErrorCode::NONE, "error_code")?;
    ensure!(
        p.base_offset == base_offset,
        "base_offset is {}, expected {base_offset}",
        p.base_offset
    );
    ensure!(
        append_times.contains(&p.log_append_time_ms),
        "log_append_time_ms is {} on a create-time topic (expected one of {append_times:?})",
        p.log_append_time_ms
    );
    if version >= 5 {
        ensure!(
            (0..=base_offset).contains(&p.log_start_offset),
            "log_start_offset is {}, expected 0..={base_offset}",
            p.log_start_offset
        );
    }
    if version >= 8 {
        ensure!(p.record_errors.is_empty(), "record_errors: {:?}", p.record_errors);
    }
    Ok(())
}

/// A result is for the topic asked: by name, or (`by_id`, versions naming topics by id) by id.
fn same_topic(by_id: bool, (name, id): (&str, Uuid), (topic, topic_id): (&str, Uuid)) -> Check {
    if by_id {
        ensure!(
            id == topic_id,
            "the result is for topic id {id}, asked {topic_id} ({topic})"
        );
    } else {
        ensure!(name == topic, "the result is for {name:?}, asked {topic:?}");
    }
    Ok(())
}

/// Produce with acks=0: the broker sends no answer (`early`: the correlation ids of the answers that
/// came back before the next request's).
pub fn no_answers(early: &[i32]) -> Check {
    ensure!(
        early.is_empty(),
        "the broker answered a Produce with acks=0 (correlation ids {early:?}); acks=0 gets no answer"
    );
    Ok(())
}

/// The one partition of a Fetch answer at `version` for `topic` (by name up to v12, by `topic_id`
/// from v13) and `partition`, after checking the top-level error (v7+).
pub fn fetch_partition<'a>(
    resp: &'a FetchResponse,
    version: i16,
    topic: &str,
    topic_id: Uuid,
    partition: i32,
) -> Check<&'a PartitionData> {
    if version >= 7 {
        error(resp.error_code, ErrorCode::NONE, "error_code")?;
    }
    ensure!(
        resp.responses.len() == 1,
        "{} topics in the answer, asked one",
        resp.responses.len()
    );
    let t = &resp.responses[0];
    if version >= 13 {
        ensure!(
            t.topic_id == topic_id,
            "the answer is for topic id {}, asked {topic_id}",
            t.topic_id
        );
    } else {
        ensure!(
            t.topic == topic,
            "the answer is for {:?}, asked {topic:?}",
            t.topic
        );
    }
    ensure!(
        t.partitions.len() == 1,
        "{} partitions in the answer, asked one",
        t.partitions.len()
    );
    let p = &t.partitions[0];
    ensure!(
        p.partition_index == partition,
        "the answer is for partition {}, asked {partition}",
        p.partition_index
    );
    Ok(p)
}

/// A Fetch partition at `version` of a log `log_start..log_end` without transactions: no error,
/// high watermark and last stable offset `log_end`, log start offset (v5+), no aborted
/// transactions, no preferred read replica (v11+).
pub fn fetch_offsets(p: &PartitionData, version: i16, log_start: i64, log_end: i64) -> Check {
    error(p.error_code, ErrorCode::NONE, "error_code")?;
    ensure!(
        p.high_watermark == log_end,
        "high_watermark is {}, the log ends at {log_end}",
        p.high_watermark
    );
    ensure!(
        p.last_stable_offset == log_end,
        "last_stable_offset is {}, expected {log_end} (no transaction is open)",
        p.last_stable_offset
    );
    if version >= 5 {
        ensure!(
            p.log_start_offset == log_start,
            "log_start_offset is {}, expected {log_start}",
            p.log_start_offset
        );
    }
    ensure!(
        p.aborted_transactions.as_ref().is_none_or(Vec::is_empty),
        "aborted_transactions is {:?}, no transaction was aborted",
        p.aborted_transactions
    );
    if version >= 11 {
        ensure!(
            p.preferred_read_replica == -1,
            "preferred_read_replica is {}, expected -1",
            p.preferred_read_replica
        );
    }
    Ok(())
}

/// A Fetch partition of a log with transactions: no error, high watermark `high_watermark`, last
/// stable offset `last_stable` (the first offset of the oldest open transaction, else the high
/// watermark).
pub fn fetch_stable(p: &PartitionData, high_watermark: i64, last_stable: i64) -> Check {
    error(p.error_code, ErrorCode::NONE, "error_code")?;
    ensure!(
        p.high_watermark == high_watermark,
        "high_watermark is {}, expected {high_watermark}",
        p.high_watermark
    );
    ensure!(
        p.last_stable_offset == last_stable,
        "last_stable_offset is {}, expected {last_stable}",
        p.last_stable_offset
    );
    Ok(())
}

/// The records read are exactly `want`: offsets, timestamps, keys, values and headers, in order.
pub fn records(got: &[ConsumerRecord], want: &[ConsumerRecord]) -> Check {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        ensure!(
            g.offset == w.offset,
            "record {i} has offset {}, expected {}",
            g.offset,
            w.offset
        );
        ensure!(
            g.timestamp == w.timestamp && g.timestamp_type == w.timestamp_type,
            "record at offset {} has timestamp {} ({:?}), expected {} ({:?})",
            g.offset,
            g.timestamp,
            g.timestamp_type,
            w.timestamp,
            w.timestamp_type
        );
        ensure!(
            g.key == w.key,
            "record at offset {} has key {:?}, expected {:?}",
            g.offset,
            g.key,
            w.key
        );
        ensure!(
            g.value == w.value,
            "record at offset {} has value {:?}, expected {:?}",
            g.offset,
            g.value,
            w.value
        );
        ensure!(
            g.headers == w.headers,
            "record at offset {} has headers {:?}, expected {:?}",
            g.offset,
            g.headers,
            w.headers
        );
    }
    ensure!(
        got.len() == want.len(),
        "{} records read, expected {} (offsets {:?})",
        got.len(),
        want.len(),
        got.iter().map(|r| r.offset).collect::<Vec<_>>()
    );
    Ok(())
}

/// The `records` bytes of a Fetch start with a whole batch that holds `offset`, the batch's
/// records are `want` (KIP-74: a first batch larger than the byte limits still comes whole).
pub fn first_batch_whole(raw: &bytes::Bytes, offset: i64, want: &[ConsumerRecord]) -> Check {
    ensure!(!raw.is_empty(), "no records returned");
    let mut batches = RecordBatches::new(raw.clone());
    let first = match batches.next() {
        Some(Ok(b)) => b,
        Some(Err(e)) => return Err(format!("the first batch does not decode: {e}")),
        None => {
            return Err(format!(
                "the {} bytes returned hold no whole batch ({:?})",
                raw.len(),
                batches.incomplete()
            ))
        }
    };
    ensure!(
        first.base_offset() <= offset && offset <= first.last_offset(),
        "the first batch holds offsets {}..={}, not {offset}",
        first.base_offset(),
        first.last_offset()
    );
    let got: Vec<ConsumerRecord> = first.into_records().collect();
    records(&got, want)
}

/// The one partition of a ListOffsets answer for `topic`-`partition`: without error, at `offset`
/// with `timestamp` (v1+ answers carry both; -1 for "none" and for earliest/latest).
pub fn list_offsets(
    resp: &ListOffsetsResponse,
    topic: &str,
    partition: i32,
    offset: i64,
    timestamp: i64,
) -> Check {
    let p = list_offsets_partition(resp, topic, partition)?;
    error(p.error_code, ErrorCode::NONE, "error_code")?;
    ensure!(p.offset == offset, "offset is {}, expected {offset}", p.offset);
    ensure!(
        p.timestamp == timestamp,
        "timestamp is {}, expected {timestamp}",
        p.timestamp
    );
    Ok(())
}

/// The one partition of a ListOffsets answer for `topic`-`partition`.
pub fn list_offsets_partition<'a>(
    resp: &'a ListOffsetsResponse,
    topic: &str,
    partition: i32,
) -> Check<&'a ListOffsetsPartitionResponse> {
    ensure!(
        resp.topics.len() == 1,
        "{} topics in the answer, asked one",
        resp.topics.len()
    );
    let t = &resp.topics[0];
    ensure!(t.name == topic, "the answer is for {:?}, asked {topic:?}", t.name);
    ensure!(
        t.partitions.len() == 1,
        "{} partitions in the answer, asked one",
        t.partitions.len()
    );
    let p = &t.partitions[0];
    ensure!(
        p.partition_index == partition,
        "the answer is for partition {}, asked {partition}",
        p.partition_index
    );
    Ok(p)
}

/// The first OffsetCommit and OffsetFetch version that names topics by id (KIP-848).
const OFFSETS_BY_TOPIC_ID: i16 = 10;
/// The first TxnOffsetCommit version that names topics by id (KIP-1319).
const TXN_OFFSETS_BY_TOPIC_ID: i16 = 6;

/// OffsetCommit at `version` for `partitions` of `topic` (by name, by `topic_id` from v10): each
/// partition once, without error, nothing else.
pub fn offset_commit(
    resp: &OffsetCommitResponse,
    version: i16,
    (topic, topic_id): (&str, Uuid),
    partitions: &[i32],
) -> Check {
    let answered: Vec<Answered<'_>> = resp
        .topics
        .iter()
        .map(|t| {
            let ps = t.partitions.iter().map(|p| (p.partition_index, p.error_code));
            ((t.name.as_str(), t.topic_id), ps.collect())
        })
        .collect();
    committed_partitions(
        &answered,
        version >= OFFSETS_BY_TOPIC_ID,
        (topic, topic_id),
        partitions,
    )
}

/// TxnOffsetCommit at `version` for `partitions` of `topic` (by name, by `topic_id` from v6): each
/// partition once, without error, nothing else.
pub fn txn_offset_commit(
    resp: &TxnOffsetCommitResponse,
    version: i16,
    (topic, topic_id): (&str, Uuid),
    partitions: &[i32],
) -> Check {
    let answered: Vec<Answered<'_>> = resp
        .topics
        .iter()
        .map(|t| {
            let ps = t.partitions.iter().map(|p| (p.partition_index, p.error_code));
            ((t.name.as_str(), t.topic_id), ps.collect())
        })
        .collect();
    committed_partitions(
        &answered,
        version >= TXN_OFFSETS_BY_TOPIC_ID,
        (topic, topic_id),
        partitions,
    )
}

/// One topic of a commit's answer: (name, id) and [(partition, error code)].
type Answered<'a> = ((&'a str, Uuid), Vec<(i32, i16)>);

/// The answer to a commit of `partitions` of `topic`: that topic only (by name, or `by_id`), each
/// partition once, without error.
fn committed_partitions(
    answered: &[Answered<'_>],
    by_id: bool,
    (topic, topic_id): (&str, Uuid),
    partitions: &[i32],
) -> Check {
    ensure!(
        answered.len() == 1,
        "{} topics in the answer, committed one",
        answered.len()
    );
    let (named, results) = &answered[0];
    same_topic(by_id, *named, (topic, topic_id))?;
    let mut got: Vec<i32> = results.iter().map(|(p, _)| *p).collect();
    got.sort_unstable();
    ensure!(
        got == partitions,
        "the answer has partitions {got:?}, committed {partitions:?}"
    );
    for (p, code) in results {
        error(*code, ErrorCode::NONE, &format!("{topic}-{p} error_code"))?;
    }
    Ok(())
}

/// An offset stored under a group, as OffsetFetch must give it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The partition.
    pub partition: i32,
    /// The offset; -1 for none.
    pub offset: i64,
    /// The metadata committed with it; `None`: not checked.
    pub metadata: Option<String>,
}

/// OffsetFetch at `version` for `group` and `topic` (by name, by `topic_id` from v10): no error
/// (top level v2+, group v8+), the group (v8+), and for each of `want` the partition without
/// error, at its offset, with its metadata. Partitions not in `want` may be present (an
/// all-topics fetch) but `want`'s must be.
pub fn offset_fetch(
    resp: &OffsetFetchResponse,
    version: i16,
    group: &str,
    (topic, topic_id): (&str, Uuid),
    want: &[Committed],
) -> Check {
    let ours = |name: &str, id: Uuid| {
        if version >= OFFSETS_BY_TOPIC_ID {
            id == topic_id
        } else {
            name == topic
        }
    };
    // (partition, offset, metadata, error)
    let mut got: Vec<(i32, i64, Option<String>, i16)> = Vec::new();
    if version >= 8 {
        ensure!(
            resp.groups.len() == 1,
            "{} groups in the answer, asked one",
            resp.groups.len()
        );
        let g = &resp.groups[0];
        ensure!(
            g.group_id == group,
            "the answer is for group {:?}, asked {group:?}",
            g.group_id
        );
        error(g.error_code, ErrorCode::NONE, "group error_code")?;
        for t in g.topics.iter().filter(|t| ours(&t.name, t.topic_id)) {
            got.extend(t.partitions.iter().map(|p| {
                (
                    p.partition_index,
                    p.committed_offset,
                    p.metadata.clone(),
                    p.error_code,
                )
            }));
        }
    } else {
        if version >= 2 {
            error(resp.error_code, ErrorCode::NONE, "error_code")?;
        }
        for t in resp.topics.iter().filter(|t| ours(&t.name, Uuid::NIL)) {
            got.extend(t.partitions.iter().map(|p| {
                (
                    p.partition_index,
                    p.committed_offset,
                    p.metadata.clone(),
                    p.error_code,
                )
            }));
        }
    }
    for w in want {
        let found: Vec<_> = got.iter().filter(|g| g.0 == w.partition).collect();
        ensure!(
            found.len() == 1,
            "{topic}-{} is in the answer {} times",
            w.partition,
            found.len()
        );
        let (_, offset, metadata, code) = found[0];
        error(
            *code,
            ErrorCode::NONE,
            &format!("{topic}-{} error_code", w.partition),
        )?;
        ensure!(
            *offset == w.offset,
            "{topic}-{} has offset {offset}, expected {}",
            w.partition,
            w.offset
        );
        if let Some(m) = &w.metadata {
            ensure!(
                metadata.as_ref() == Some(m),
                "{topic}-{} has metadata {metadata:?}, committed {m:?}",
                w.partition
            );
        }
    }
    Ok(())
}

/// FindCoordinator at `version` for `key`: no error, one coordinator for the key (v4+), a listed
/// broker with the host and port Metadata gives. Returns that broker.
pub fn find_coordinator(
    resp: &FindCoordinatorResponse,
    version: i16,
    key: &str,
    brokers: &[Broker],
) -> Check<Broker> {
    let (code, node_id, host, port) = if version >= 4 {
        ensure!(
            resp.coordinators.len() == 1,
            "{} coordinators in the answer, asked one key",
            resp.coordinators.len()
        );
        let c = &resp.coordinators[0];
        ensure!(c.key == key, "the answer is for key {:?}, asked {key:?}", c.key);
        (c.error_code, c.node_id, c.host.clone(), c.port)
    } else {
        (resp.error_code, resp.node_id, resp.host.clone(), resp.port)
    };
    error(code, ErrorCode::NONE, "error_code")?;
    let got = Broker { node_id, host, port };
    ensure!(
        brokers.contains(&got),
        "the coordinator {got:?} is not a broker Metadata lists ({brokers:?})"
    );
    Ok(got)
}

/// InitProducerId: no error, a producer id and epoch (both >= 0). Returns them.
pub fn init_producer_id(resp: &InitProducerIdResponse) -> Check<(i64, i16)> {
    error(resp.error_code, ErrorCode::NONE, "error_code")?;
    ensure!(resp.producer_id >= 0, "producer_id is {}", resp.producer_id);
    ensure!(
        resp.producer_epoch >= 0,
        "producer_epoch is {}",
        resp.producer_epoch
    );
    Ok((resp.producer_id, resp.producer_epoch))
}

/// AddPartitionsToTxn v0-v3 for `partitions` of `topic`: each once, without error.
pub fn add_partitions_to_txn(resp: &AddPartitionsToTxnResponse, topic: &str, partitions: &[i32]) -> Check {
    let t = &resp.results_by_topic_v3_and_below;
    ensure!(t.len() == 1, "{} topics in the answer, added one", t.len());
    let t = &t[0];
    ensure!(t.name == topic, "the answer is for {:?}, added {topic:?}", t.name);
    let mut got: Vec<i32> = t.results_by_partition.iter().map(|p| p.partition_index).collect();
    got.sort_unstable();
    ensure!(
        got == partitions,
        "the answer has partitions {got:?}, added {partitions:?}"
    );
    for p in &t.results_by_partition {
        error(
            p.partition_error_code,
            ErrorCode::NONE,
            &format!("{topic}-{} partition_error_code", p.partition_index),
        )?;
    }
    Ok(())
}

/// EndTxn at `version` by producer `producer_id` at `producer_epoch`: no error; from v5
/// (transactions v2, KIP-890 part 2) the coordinator bumps the epoch at every commit or abort and
/// answers with the producer id and the new epoch, one above the one the transaction ran at.
pub fn end_txn(resp: &EndTxnResponse, version: i16, producer_id: i64, producer_epoch: i16) -> Check {
    error(resp.error_code, ErrorCode::NONE, "error_code")?;
    if version >= 5 {
        ensure!(
            resp.producer_id == producer_id,
            "producer_id is {}, the transaction's producer is {producer_id}",
            resp.producer_id
        );
        ensure!(
            i32::from(resp.producer_epoch) == i32::from(producer_epoch) + 1,
            "producer_epoch is {}, expected {} (one above the transaction's {producer_epoch})",
            resp.producer_epoch,
            i32::from(producer_epoch) + 1
        );
    }
    Ok(())
}

/// What a SASL handshake established.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaslState {
    /// The mechanism was accepted: SaslAuthenticate follows.
    Accepted,
    /// The mechanism is not enabled; these are.
    Unsupported(Vec<String>),
    /// The listener does not do SASL: Kafka answers ILLEGAL_SASL_STATE on a plaintext listener.
    NoSasl,
}

/// SaslHandshake for `asked`: accepted and listed, refused as unsupported and not listed, or
/// ILLEGAL_SASL_STATE (a listener without SASL). Any other answer is wrong.
pub fn sasl_handshake(resp: &SaslHandshakeResponse, asked: &str) -> Check<SaslState> {
    let listed = resp.mechanisms.iter().any(|m| m == asked);
    match ErrorCode(resp.error_code) {
        ErrorCode::NONE => {
            ensure!(
                listed,
                "{asked} was accepted but the enabled mechanisms {:?} do not include it",
                resp.mechanisms
            );
            Ok(SaslState::Accepted)
        }
        ErrorCode::UNSUPPORTED_SASL_MECHANISM => {
            ensure!(
                !listed,
                "{asked} was refused as unsupported but is listed as enabled: {:?}",
                resp.mechanisms
            );
            Ok(SaslState::Unsupported(resp.mechanisms.clone()))
        }
        ErrorCode::ILLEGAL_SASL_STATE => Ok(SaslState::NoSasl),
        other => Err(format!(
            "error_code is {other}; expected NONE, UNSUPPORTED_SASL_MECHANISM or ILLEGAL_SASL_STATE"
        )),
    }
}

/// SaslHandshake on a listener with SASL: `asked` is accepted when the listener `enables` it, and
/// refused as unsupported when not.
pub fn sasl_listener(state: &SaslState, asked: &str, enables: bool) -> Check {
    match (state, enables) {
        (SaslState::Accepted, true) | (SaslState::Unsupported(_), false) => Ok(()),
        (state, true) => Err(format!(
            "{asked} on a listener that enables it gave {state:?}; expected it accepted"
        )),
        (state, false) => Err(format!(
            "{asked} on a listener that does not enable it gave {state:?}; expected UNSUPPORTED_SASL_MECHANISM"
        )),
    }
}

/// SaslAuthenticate with a user's right password: NONE, and from version 1 a session lifetime
/// that is not negative (0: the session does not expire).
pub fn sasl_authenticated(resp: &SaslAuthenticateResponse, version: i16) -> Check {
    ensure!(
        ErrorCode(resp.error_code).is_ok(),
        "error_code is {} ({:?}) for the right password; expected NONE",
        ErrorCode(resp.error_code),
        resp.error_message
    );
    if version >= 1 {
        ensure!(
            resp.session_lifetime_ms >= 0,
            "session_lifetime_ms is {}; expected 0 or more",
            resp.session_lifetime_ms
        );
    }
    Ok(())
}

/// SaslAuthenticate with the credentials of a user that does not exist, after a handshake that
/// ended in `state`: SASL_AUTHENTICATION_FAILED after an accepted mechanism, ILLEGAL_SASL_STATE on a
/// listener without SASL.
pub fn sasl_authenticate(resp: &SaslAuthenticateResponse, state: &SaslState) -> Check {
    match state {
        SaslState::Accepted => error(
            resp.error_code,
            ErrorCode::SASL_AUTHENTICATION_FAILED,
            "error_code (credentials of a user that does not exist)",
        ),
        SaslState::NoSasl => error(
            resp.error_code,
            ErrorCode::ILLEGAL_SASL_STATE,
            "error_code (the listener does no SASL)",
        ),
        SaslState::Unsupported(m) => Err(format!("no mechanism was accepted (enabled: {m:?})")),
    }
}
