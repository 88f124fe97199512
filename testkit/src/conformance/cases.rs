//! The list of cases: each a row of the matrix, an API, the versions it runs at, and what it does.

mod cluster;
mod data;
mod groups;
mod txn;

use kwire_protocol::messages::{ApiKey, VersionRange};
use kwire_protocol::records::Compression;

use super::harness::{Cx, Res};

use data::{FetchCase, ListCase};

/// What a case does (its version comes with it when it runs).
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    ApiVersions,
    Metadata,
    MetadataUnknownTopic,
    MetadataEmptyList,
    DescribeCluster,
    CreateTopics,
    CreateTopicsExisting,
    DeleteTopics,
    DeleteTopicsById,
    DeleteTopicsUnknown,
    SaslHandshake,
    SaslAuthenticate,
    Produce { compression: Compression, acks: i16 },
    ProduceIdempotent,
    Fetch(FetchCase),
    FetchReadCommitted,
    ListOffsets(ListCase),
    FindCoordinator { key_type: i8 },
    OffsetCommit,
    OffsetFetch { all_topics: bool },
    InitProducerId { transactional: bool },
    AddPartitionsToTxn,
    AddOffsetsToTxn,
    TxnOffsetCommit,
    EndTxn { commit: bool },
}

/// One row of the matrix.
#[derive(Debug, Clone, Copy)]
pub(super) struct CaseDef {
    pub(super) api: ApiKey,
    pub(super) name: &'static str,
    pub(super) versions: VersionRange,
    pub(super) kind: Kind,
    /// Runs alone, after the others: it makes some brokers drop connections.
    pub(super) isolated: bool,
}

/// Every version of `api` this codec speaks.
fn ours(api: ApiKey) -> VersionRange {
    api.versions().unwrap_or(VersionRange::new(0, -1))
}

/// Every case, in the order of the matrix.
pub(super) fn all() -> Vec<CaseDef> {
    let case = |api: ApiKey, name: &'static str, kind: Kind| CaseDef {
        api,
        name,
        versions: ours(api),
        kind,
        isolated: false,
    };
    let from = |api: ApiKey, min: i16, name: &'static str, kind: Kind| CaseDef {
        api,
        name,
        versions: VersionRange::new(min, ours(api).max),
        kind,
        isolated: false,
    };
    let produce = |name: &'static str, compression: Compression, acks: i16| {
        case(ApiKey::Produce, name, Kind::Produce { compression, acks })
    };
    let fetch = |name: &'static str, c: FetchCase| case(ApiKey::Fetch, name, Kind::Fetch(c));
    let list = |name: &'static str, c: ListCase| case(ApiKey::ListOffsets, name, Kind::ListOffsets(c));
    vec![
        case(ApiKey::ApiVersions, "ApiVersions", Kind::ApiVersions),
        case(ApiKey::Metadata, "Metadata topic", Kind::Metadata),
        // Before v4 a broker may create the topic asked for (allow_auto_topic_creation came in v4).
        from(
            ApiKey::Metadata,
            4,
            "Metadata unknown topic",
            Kind::MetadataUnknownTopic,
        ),
        // v0 has no null: its empty list means all topics.
        from(
            ApiKey::Metadata,
            1,
            "Metadata empty list",
            Kind::MetadataEmptyList,
        ),
        case(ApiKey::DescribeCluster, "DescribeCluster", Kind::DescribeCluster),
        case(ApiKey::CreateTopics, "CreateTopics", Kind::CreateTopics),
        case(
            ApiKey::CreateTopics,
            "CreateTopics existing",
            Kind::CreateTopicsExisting,
        ),
        case(ApiKey::DeleteTopics, "DeleteTopics", Kind::DeleteTopics),
        from(
            ApiKey::DeleteTopics,
            6,
            "DeleteTopics by id",
            Kind::DeleteTopicsById,
        ),
        case(
            ApiKey::DeleteTopics,
            "DeleteTopics unknown",
            Kind::DeleteTopicsUnknown,
        ),
        produce("Produce acks=-1 none", Compression::None, -1),
        produce("Produce acks=-1 gzip", Compression::Gzip, -1),
        produce("Produce acks=-1 snappy", Compression::Snappy, -1),
        produce("Produce acks=-1 lz4", Compression::Lz4, -1),
        // Zstandard came in v7 (KIP-110): Kafka refuses it below with UNSUPPORTED_COMPRESSION_TYPE.
        from(
            ApiKey::Produce,
            7,
            "Produce acks=-1 zstd",
            Kind::Produce {
                compression: Compression::Zstd,
                acks: -1,
            },
        ),
        produce("Produce acks=1", Compression::None, 1),
        produce("Produce acks=0", Compression::None, 0),
        case(ApiKey::Produce, "Produce idempotent", Kind::ProduceIdempotent),
        fetch("Fetch from the start", FetchCase::FromStart),
        fetch("Fetch at a batch boundary", FetchCase::BatchBoundary),
        fetch("Fetch inside an earlier batch", FetchCase::InsideEarlierBatch),
        fetch("Fetch inside the last batch", FetchCase::InsideLastBatch),
        fetch("Fetch max_bytes < batch", FetchCase::MaxBytesBelowBatch),
        fetch("Fetch empty partition", FetchCase::EmptyPartition),
        fetch("Fetch out of range", FetchCase::OutOfRange),
        case(ApiKey::Fetch, "Fetch read_committed", Kind::FetchReadCommitted),
        list("ListOffsets earliest", ListCase::Earliest),
        list("ListOffsets latest", ListCase::Latest),
        list("ListOffsets timestamp", ListCase::Timestamp),
        // KIP-734: max timestamp (-3) came in v7. tansu 0.6 drops connections on it, others'
        // in flight too: it runs alone.
        CaseDef {
            isolated: true,
            ..from(
                ApiKey::ListOffsets,
                7,
                "ListOffsets max timestamp",
                Kind::ListOffsets(ListCase::MaxTimestamp),
            )
        },
        list("ListOffsets empty partition", ListCase::EmptyPartition),
        case(
            ApiKey::FindCoordinator,
            "FindCoordinator group",
            Kind::FindCoordinator { key_type: 0 },
        ),
        // The key type came in v1.
        from(
            ApiKey::FindCoordinator,
            1,
            "FindCoordinator transaction",
            Kind::FindCoordinator { key_type: 1 },
        ),
        case(ApiKey::OffsetCommit, "OffsetCommit", Kind::OffsetCommit),
        case(
            ApiKey::OffsetFetch,
            "OffsetFetch",
            Kind::OffsetFetch { all_topics: false },
        ),
        // Null topics (all of the group's) came in v2.
        from(
            ApiKey::OffsetFetch,
            2,
            "OffsetFetch all topics",
            Kind::OffsetFetch { all_topics: true },
        ),
        case(
            ApiKey::InitProducerId,
            "InitProducerId idempotent",
            Kind::InitProducerId { transactional: false },
        ),
        case(
            ApiKey::InitProducerId,
            "InitProducerId transactional",
            Kind::InitProducerId { transactional: true },
        ),
        // v4+ are broker-to-broker (KIP-890): a client speaks v0-v3.
        CaseDef {
            api: ApiKey::AddPartitionsToTxn,
            name: "AddPartitionsToTxn",
            versions: VersionRange::new(0, 3),
            kind: Kind::AddPartitionsToTxn,
            isolated: false,
        },
        case(ApiKey::AddOffsetsToTxn, "AddOffsetsToTxn", Kind::AddOffsetsToTxn),
        case(ApiKey::TxnOffsetCommit, "TxnOffsetCommit", Kind::TxnOffsetCommit),
        case(ApiKey::EndTxn, "EndTxn commit", Kind::EndTxn { commit: true }),
        case(ApiKey::EndTxn, "EndTxn abort", Kind::EndTxn { commit: false }),
        case(ApiKey::SaslHandshake, "SaslHandshake", Kind::SaslHandshake),
        case(
            ApiKey::SaslAuthenticate,
            "SaslAuthenticate",
            Kind::SaslAuthenticate,
        ),
    ]
}

/// Runs the case `kind` at `version`.
pub(super) async fn run(cx: &Cx, kind: Kind, version: i16) -> Res {
    match kind {
        Kind::ApiVersions => cluster::api_versions(cx, version).await,
        Kind::Metadata => cluster::metadata(cx, version).await,
        Kind::MetadataUnknownTopic => cluster::metadata_unknown_topic(cx, version).await,
        Kind::MetadataEmptyList => cluster::metadata_empty_list(cx, version).await,
        Kind::DescribeCluster => cluster::describe_cluster(cx, version).await,
        Kind::CreateTopics => cluster::create_topics(cx, version).await,
        Kind::CreateTopicsExisting => cluster::create_topics_existing(cx, version).await,
        Kind::DeleteTopics => cluster::delete_topics(cx, version, false).await,
        Kind::DeleteTopicsById => cluster::delete_topics(cx, version, true).await,
        Kind::DeleteTopicsUnknown => cluster::delete_topics_unknown(cx, version).await,
        Kind::SaslHandshake => cluster::sasl_handshake(cx, version).await,
        Kind::SaslAuthenticate => cluster::sasl_authenticate(cx, version).await,
        Kind::Produce { compression, acks } => data::produce(cx, version, compression, acks).await,
        Kind::ProduceIdempotent => txn::produce_idempotent(cx, version).await,
        Kind::Fetch(c) => data::fetch(cx, version, c).await,
        Kind::FetchReadCommitted => txn::fetch_read_committed(cx, version).await,
        Kind::ListOffsets(c) => data::list_offsets(cx, version, c).await,
        Kind::FindCoordinator { key_type } => cluster::find_coordinator(cx, version, key_type).await,
        Kind::OffsetCommit => groups::offset_commit(cx, version).await,
        Kind::OffsetFetch { all_topics } => groups::offset_fetch(cx, version, all_topics).await,
        Kind::InitProducerId { transactional } => txn::init_producer_id(cx, version, transactional).await,
        Kind::AddPartitionsToTxn => txn::add_partitions_to_txn(cx, version).await,
        Kind::AddOffsetsToTxn => txn::add_offsets_to_txn(cx, version).await,
        Kind::TxnOffsetCommit => txn::txn_offset_commit(cx, version).await,
        Kind::EndTxn { commit } => txn::end_txn(cx, version, commit).await,
    }
}
