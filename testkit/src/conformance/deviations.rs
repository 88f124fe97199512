//! Broker deviations from Apache Kafka that are written down, and the exact symptom of each.
//!
//! A case reports [`super::Outcome::Deviation`] only when its strict check failed *and* the answer
//! shows the symptom of one of these; any other wrong answer is a failure. When a broker stops
//! deviating, the strict check passes and the case is a plain pass. Every deviation names the
//! document and the row that describe it; a test checks the row is there.

use kwire_connector::client::Error;
use kwire_connector::client::{ConnectionError, ProtocolError};
use kwire_protocol::messages::fetch_response::PartitionData;
use kwire_protocol::messages::list_offsets_response::ListOffsetsPartitionResponse;
use kwire_protocol::messages::{
    InitProducerIdResponse, MetadataResponse, OffsetFetchResponse, SaslHandshakeResponse,
};
use kwire_protocol::records::RecordBatches;
use kwire_protocol::{ErrorCode, Uuid};

use super::checks::{self, Committed};

/// A broker deviation from Apache Kafka, written down in the project's docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Deviation {
    /// A short identifier.
    pub id: &'static str,
    /// The file that documents it: `docs/interop.md`, or `docs/conformance.md` for deviations this
    /// suite found that are not in `docs/interop.md` yet.
    pub documented_in: &'static str,
    /// The first cell of the row of that file's table that documents it.
    pub row: &'static str,
    /// What the broker does instead, as the report shows it.
    pub note: &'static str,
}

const INTEROP: &str = "docs/interop.md";
const CONFORMANCE: &str = "docs/conformance.md";

/// tansu 0.6: a Fetch at an offset inside the last batch returns no bytes at all.
pub(crate) const FETCH_INSIDE_BATCH: Deviation = Deviation {
    id: "fetch-inside-batch",
    documented_in: INTEROP,
    row: "Fetch at an offset inside a batch",
    note: "tansu 0.6.0 answers a Fetch at an offset inside the last batch with no records (Kafka \
           returns the batch holding the offset); a reader positioned there cannot progress",
};

/// tansu 0.6: a Fetch at an offset inside a batch that is not the last starts at the next batch.
pub(crate) const FETCH_INSIDE_BATCH_SKIPS: Deviation = Deviation {
    id: "fetch-inside-batch-skips",
    documented_in: CONFORMANCE,
    row: "Fetch at an offset inside a batch that is not the last",
    note: "tansu 0.6.0 answers a Fetch at an offset inside a batch with the next batch: the records \
           from the offset to the end of its batch are skipped without an error",
};

/// tansu 0.6: a Fetch past the log end answers no error.
pub(crate) const FETCH_OUT_OF_RANGE: Deviation = Deviation {
    id: "fetch-out-of-range",
    documented_in: CONFORMANCE,
    row: "Fetch at an offset past the log end",
    note: "tansu 0.6.0 answers a Fetch past the log end with no error and no records (Kafka: \
           OFFSET_OUT_OF_RANGE, which starts a consumer's offset reset)",
};

/// tansu 0.6: ListOffsets "latest" is the last batch's base offset + 1.
pub(crate) const LIST_OFFSETS_LATEST: Deviation = Deviation {
    id: "list-offsets-latest",
    documented_in: INTEROP,
    row: "ListOffsets `latest` (-1)",
    note: "tansu 0.6.0 answers ListOffsets latest with the last batch's base offset + 1, not the log \
           end offset",
};

/// tansu 0.6: ListOffsets earliest/latest carry a timestamp where Kafka has -1.
pub(crate) const LIST_OFFSETS_SPECIAL_TIMESTAMP: Deviation = Deviation {
    id: "list-offsets-special-timestamp",
    documented_in: INTEROP,
    row: "ListOffsets earliest/latest timestamp",
    note: "tansu 0.6.0 answers ListOffsets earliest/latest with a batch's timestamp where Kafka has -1",
};

/// tansu 0.6: ListOffsets by timestamp goes by when batches were stored, at batch granularity.
pub(crate) const LIST_OFFSETS_BY_TIMESTAMP: Deviation = Deviation {
    id: "list-offsets-by-timestamp",
    documented_in: CONFORMANCE,
    row: "ListOffsets by timestamp",
    note: "tansu 0.6.0 answers ListOffsets by timestamp with the base offset of the first batch \
           stored after that time, and the time it was stored, not the first record whose own \
           timestamp is at or after it (0 when there is none, Kafka: -1)",
};

/// tansu 0.6: ListOffsets max timestamp (-3) drops the connection.
pub(crate) const LIST_OFFSETS_MAX_TIMESTAMP: Deviation = Deviation {
    id: "list-offsets-max-timestamp",
    documented_in: CONFORMANCE,
    row: "ListOffsets max timestamp (-3, v7+)",
    note: "tansu 0.6.0 closes the connection on ListOffsets for the max timestamp (-3, KIP-734) \
           without an answer",
};

/// tansu 0.6: Metadata with an empty topic list answers every topic.
pub(crate) const METADATA_EMPTY_LIST: Deviation = Deviation {
    id: "metadata-empty-list",
    documented_in: INTEROP,
    row: "Metadata with an empty topic list (v1+)",
    note: "tansu 0.6.0 answers Metadata with an empty topic list with every topic (Kafka: none)",
};

/// tansu 0.6: Produce with acks=0 is answered.
pub(crate) const PRODUCE_ACKS0_ANSWERED: Deviation = Deviation {
    id: "produce-acks0-answered",
    documented_in: CONFORMANCE,
    row: "Produce with acks=0",
    note: "tansu 0.6.0 answers a Produce with acks=0 (Kafka sends no answer); a client that \
           treats an answer nobody waits for as a broken stream drops the connection",
};

/// tansu 0.6: the metadata string of a committed offset is not kept.
pub(crate) const OFFSET_COMMIT_METADATA: Deviation = Deviation {
    id: "offset-commit-metadata",
    documented_in: CONFORMANCE,
    row: "OffsetCommit metadata",
    note: "tansu 0.6.0 keeps committed offsets but not their metadata: OffsetFetch answers \"\" \
           (v1-v7) or null (v8+)",
};

/// tansu 0.6: OffsetFetch of all topics (null) v2-v7 gets a malformed answer.
pub(crate) const OFFSET_FETCH_ALL_TOPICS: Deviation = Deviation {
    id: "offset-fetch-all-topics",
    documented_in: CONFORMANCE,
    row: "OffsetFetch of all topics (null, v2-v7)",
    note: "tansu 0.6.0 answers OffsetFetch for all topics (null) at v2-v7 without the topics array \
           (v2-v5) or with it null (v6-v7): the answer cannot be decoded",
};

/// tansu 0.6: InitProducerId v0-v2 fails.
pub(crate) const INIT_PRODUCER_ID_OLD: Deviation = Deviation {
    id: "init-producer-id-v0-v2",
    documented_in: CONFORMANCE,
    row: "InitProducerId v0-v2",
    note: "tansu 0.6.0 answers InitProducerId v0-v2 (which have no producer id and epoch fields) \
           with UNKNOWN_SERVER_ERROR",
};

/// tansu 0.6: SaslHandshake on a listener without SASL echoes the mechanism asked for.
pub(crate) const SASL_HANDSHAKE_ECHO: Deviation = Deviation {
    id: "sasl-handshake-echo",
    documented_in: CONFORMANCE,
    row: "SaslHandshake without SASL",
    note: "tansu 0.6.0 without SASL answers SaslHandshake with UNSUPPORTED_SASL_MECHANISM and lists \
           the refused mechanism as the one enabled (Kafka on a plaintext listener: \
           ILLEGAL_SASL_STATE)",
};

/// Every deviation the suite recognises.
pub const KNOWN_DEVIATIONS: &[Deviation] = &[
    METADATA_EMPTY_LIST,
    PRODUCE_ACKS0_ANSWERED,
    FETCH_INSIDE_BATCH,
    FETCH_INSIDE_BATCH_SKIPS,
    FETCH_OUT_OF_RANGE,
    LIST_OFFSETS_SPECIAL_TIMESTAMP,
    LIST_OFFSETS_LATEST,
    LIST_OFFSETS_BY_TIMESTAMP,
    LIST_OFFSETS_MAX_TIMESTAMP,
    OFFSET_COMMIT_METADATA,
    OFFSET_FETCH_ALL_TOPICS,
    INIT_PRODUCER_ID_OLD,
    SASL_HANDSHAKE_ECHO,
];

fn is_empty(p: &PartitionData) -> bool {
    p.records.as_ref().is_none_or(|r| r.is_empty())
}

/// A Fetch at `offset`, inside the last batch of a log ending at `log_end`, answered with no
/// error, the right high watermark, and no bytes.
pub(crate) fn fetch_inside_last_batch(
    p: &PartitionData,
    offset: i64,
    log_end: i64,
) -> Option<&'static Deviation> {
    (p.error_code == 0 && p.high_watermark == log_end && offset < log_end && is_empty(p))
        .then_some(&FETCH_INSIDE_BATCH)
}

/// A Fetch at `offset`, inside a batch followed by one at `next_batch`, answered with no error
/// and batches from `next_batch` on.
pub(crate) fn fetch_inside_batch_skips(
    p: &PartitionData,
    offset: i64,
    next_batch: i64,
) -> Option<&'static Deviation> {
    let first = p
        .records
        .clone()
        .and_then(|r| RecordBatches::new(r).next())
        .and_then(Result::ok);
    let starts_at_next = first.is_some_and(|b| b.base_offset() == next_batch && next_batch > offset);
    (p.error_code == 0 && starts_at_next).then_some(&FETCH_INSIDE_BATCH_SKIPS)
}

/// A Fetch past the end of a log ending at `log_end` answered with no error, the right high
/// watermark and no bytes.
pub(crate) fn fetch_out_of_range(p: &PartitionData, log_end: i64) -> Option<&'static Deviation> {
    (p.error_code == 0 && p.high_watermark == log_end && is_empty(p)).then_some(&FETCH_OUT_OF_RANGE)
}

/// A ListOffsets answer for a special timestamp (-1 latest, -2 earliest) that is wrong only in
/// the documented ways: "latest" as `last_batch_base + 1`, or a timestamp other than -1 with the
/// right offset.
pub(crate) fn list_offsets_special(
    p: &ListOffsetsPartitionResponse,
    asked: i64,
    offset: i64,
    last_batch_base: i64,
) -> Option<&'static Deviation> {
    if p.error_code != 0 {
        return None;
    }
    let tansu_latest = last_batch_base + 1;
    if asked == -1 && p.offset == tansu_latest && tansu_latest != offset {
        return Some(&LIST_OFFSETS_LATEST);
    }
    (p.offset == offset && p.timestamp != -1).then_some(&LIST_OFFSETS_SPECIAL_TIMESTAMP)
}

/// A ListOffsets answer by timestamp that names a batch's base offset (or 0) with a timestamp that
/// is no record's: the batch-store-time lookup.
pub(crate) fn list_offsets_by_timestamp(
    p: &ListOffsetsPartitionResponse,
    batch_bases: &[i64],
    record_timestamps: &[i64],
) -> Option<&'static Deviation> {
    let batch_offset = p.offset == 0 || batch_bases.contains(&p.offset);
    let foreign_time = p.timestamp >= 0 && !record_timestamps.contains(&p.timestamp);
    (p.error_code == 0 && batch_offset && foreign_time).then_some(&LIST_OFFSETS_BY_TIMESTAMP)
}

/// ListOffsets max timestamp answered by closing the connection.
pub(crate) fn list_offsets_max_timestamp(err: &Error) -> Option<&'static Deviation> {
    matches!(
        err,
        Error::Connection(ConnectionError::Closed { .. }) | Error::Connection(ConnectionError::Io { .. })
    )
    .then_some(&LIST_OFFSETS_MAX_TIMESTAMP)
}

/// A Metadata answer to an empty topic list that lists topics, `ours` among them (so: every
/// topic, as documented).
pub(crate) fn metadata_empty_list(resp: &MetadataResponse, ours: &str) -> Option<&'static Deviation> {
    let lists_ours = resp
        .topics
        .iter()
        .any(|t| t.name.as_deref() == Some(ours) && t.error_code == 0);
    lists_ours.then_some(&METADATA_EMPTY_LIST)
}

/// Every acks=0 Produce (correlation ids 1..=`sent`) was answered, in order.
pub(crate) fn produce_acks0_answered(early: &[i32], sent: usize) -> Option<&'static Deviation> {
    let all: Vec<i32> = (1..=i32::try_from(sent).unwrap_or(0)).collect();
    (early == all.as_slice()).then_some(&PRODUCE_ACKS0_ANSWERED)
}

/// An OffsetFetch answer right in every way but the committed metadata, which is "" or null.
pub(crate) fn offset_commit_metadata(
    resp: &OffsetFetchResponse,
    version: i16,
    group: &str,
    topic: (&str, Uuid),
    want: &[Committed],
) -> Option<&'static Deviation> {
    let without: Vec<Committed> = want
        .iter()
        .map(|w| Committed {
            metadata: None,
            ..w.clone()
        })
        .collect();
    let metadata: Vec<Option<&String>> = if version >= 8 {
        resp.groups
            .iter()
            .flat_map(|g| g.topics.iter())
            .flat_map(|t| t.partitions.iter())
            .map(|p| p.metadata.as_ref())
            .collect()
    } else {
        resp.topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .map(|p| p.metadata.as_ref())
            .collect()
    };
    let dropped = metadata.iter().all(|m| m.is_none_or(String::is_empty));
    let rest_ok = checks::offset_fetch(resp, version, group, topic, &without).is_ok();
    (dropped && rest_ok).then_some(&OFFSET_COMMIT_METADATA)
}

/// An OffsetFetch for all topics at v2-v7 whose answer fails to decode at `topics`.
pub(crate) fn offset_fetch_all_topics(err: &Error, version: i16) -> Option<&'static Deviation> {
    let at_topics =
        matches!(err, Error::Protocol(ProtocolError::Decode { source, .. }) if source.path() == "topics");
    ((2..=7).contains(&version) && at_topics).then_some(&OFFSET_FETCH_ALL_TOPICS)
}

/// InitProducerId at v0-v2 answered UNKNOWN_SERVER_ERROR.
pub(crate) fn init_producer_id_old(
    resp: &InitProducerIdResponse,
    version: i16,
) -> Option<&'static Deviation> {
    (version <= 2 && ErrorCode(resp.error_code) == ErrorCode::UNKNOWN_SERVER_ERROR)
        .then_some(&INIT_PRODUCER_ID_OLD)
}

/// A SaslHandshake refused as unsupported with the refused mechanism as the only one listed.
pub(crate) fn sasl_handshake_echo(resp: &SaslHandshakeResponse, asked: &str) -> Option<&'static Deviation> {
    let echo = resp.mechanisms.len() == 1 && resp.mechanisms[0] == asked;
    (ErrorCode(resp.error_code) == ErrorCode::UNSUPPORTED_SASL_MECHANISM && echo)
        .then_some(&SASL_HANDSHAKE_ECHO)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kwire_protocol::records::{Compression, RecordBatchBuilder};

    use super::*;

    fn partition(error_code: i16, high_watermark: i64, records: Option<Bytes>) -> PartitionData {
        PartitionData {
            error_code,
            high_watermark,
            records,
            ..Default::default()
        }
    }

    fn batch_at(base_offset: i64) -> Bytes {
        let mut b = RecordBatchBuilder::new(Compression::None).with_base_offset(base_offset);
        b.append(1, None, Some(b"v"), &[]).unwrap();
        b.finish().unwrap()
    }

    #[test]
    fn only_the_documented_fetch_symptoms_are_deviations() {
        assert!(fetch_inside_last_batch(&partition(0, 10, None), 7, 10).is_some());
        assert!(fetch_inside_last_batch(&partition(0, 10, Some(Bytes::new())), 7, 10).is_some());
        // An error, a wrong high watermark, or some bytes: a failure, not this deviation.
        assert!(fetch_inside_last_batch(&partition(1, 10, None), 7, 10).is_none());
        assert!(fetch_inside_last_batch(&partition(0, 9, None), 7, 10).is_none());
        assert!(fetch_inside_last_batch(&partition(0, 10, Some(batch_at(5))), 7, 10).is_none());

        assert!(fetch_inside_batch_skips(&partition(0, 10, Some(batch_at(5))), 3, 5).is_some());
        assert!(fetch_inside_batch_skips(&partition(0, 10, Some(batch_at(6))), 3, 5).is_none());
        assert!(fetch_inside_batch_skips(&partition(0, 10, None), 3, 5).is_none());
        assert!(fetch_inside_batch_skips(&partition(6, 10, Some(batch_at(5))), 3, 5).is_none());

        assert!(fetch_out_of_range(&partition(0, 10, None), 10).is_some());
        assert!(fetch_out_of_range(&partition(0, 10, Some(batch_at(5))), 10).is_none());
    }

    #[test]
    fn only_the_documented_list_offsets_symptoms_are_deviations() {
        let p = |offset, timestamp| ListOffsetsPartitionResponse {
            offset,
            timestamp,
            ..Default::default()
        };
        // "latest" as the last batch's base + 1.
        assert_eq!(
            list_offsets_special(&p(4, -1), -1, 6, 3),
            Some(&LIST_OFFSETS_LATEST)
        );
        // Any other wrong offset is a failure.
        assert_eq!(list_offsets_special(&p(5, -1), -1, 6, 3), None);
        assert_eq!(list_offsets_special(&p(1, 123), -2, 0, 3), None);
        // The right offset with a timestamp instead of -1.
        assert_eq!(
            list_offsets_special(&p(0, 123), -2, 0, 3),
            Some(&LIST_OFFSETS_SPECIAL_TIMESTAMP)
        );
        let mut err = p(0, 123);
        err.error_code = ErrorCode::UNKNOWN_SERVER_ERROR.0;
        assert_eq!(list_offsets_special(&err, -2, 0, 3), None);

        assert!(list_offsets_by_timestamp(&p(3, 999), &[0, 3], &[1, 2]).is_some());
        assert!(
            list_offsets_by_timestamp(&p(2, 999), &[0, 3], &[1, 2]).is_none(),
            "not a batch base"
        );
        assert!(
            list_offsets_by_timestamp(&p(3, 2), &[0, 3], &[1, 2]).is_none(),
            "a record's time"
        );
    }

    #[test]
    fn acks0_answers_must_be_all_of_them_in_order() {
        assert!(produce_acks0_answered(&[1, 2], 2).is_some());
        assert!(produce_acks0_answered(&[1], 2).is_none());
        assert!(produce_acks0_answered(&[2, 1], 2).is_none());
        assert!(produce_acks0_answered(&[], 2).is_none());
    }

    fn connection_closed() -> Error {
        Error::Connection(ConnectionError::Closed {
            broker: "b:9092".into(),
            reason: "closed by the broker".into(),
        })
    }

    fn decode_error_at(field: &'static str) -> Error {
        let source =
            kwire_protocol::DecodeError::new(kwire_protocol::DecodeErrorKind::Invalid("x"), 3).within(field);
        Error::Protocol(ProtocolError::Decode {
            api: "OffsetFetchRequest",
            source,
        })
    }

    #[test]
    fn only_a_closed_connection_is_the_max_timestamp_deviation() {
        assert!(list_offsets_max_timestamp(&connection_closed()).is_some());
        // An answer with an error, a decode failure or a timeout is a failure.
        let broker_error = Error::broker("ListOffsets", ErrorCode::UNSUPPORTED_VERSION);
        assert!(list_offsets_max_timestamp(&broker_error).is_none());
        assert!(list_offsets_max_timestamp(&decode_error_at("topics")).is_none());
        let timeout = Error::Connection(ConnectionError::Timeout {
            what: "ListOffsets".into(),
            after: std::time::Duration::from_secs(1),
        });
        assert!(list_offsets_max_timestamp(&timeout).is_none());
    }

    #[test]
    fn only_an_answer_listing_our_topic_is_the_empty_list_deviation() {
        use kwire_protocol::messages::metadata_response::MetadataResponseTopic;
        let topic = |name: &str, error_code| MetadataResponseTopic {
            name: Some(name.into()),
            error_code,
            ..Default::default()
        };
        let resp = |topics| MetadataResponse {
            topics,
            ..Default::default()
        };
        assert!(metadata_empty_list(&resp(vec![topic("ours", 0), topic("x", 0)]), "ours").is_some());
        // Kafka's answer (no topics), other topics only, or ours with an error: not this.
        assert!(metadata_empty_list(&resp(vec![]), "ours").is_none());
        assert!(metadata_empty_list(&resp(vec![topic("x", 0)]), "ours").is_none());
        assert!(metadata_empty_list(&resp(vec![topic("ours", 3)]), "ours").is_none());
    }

    #[test]
    fn only_dropped_metadata_with_the_right_offsets_is_the_commit_metadata_deviation() {
        use kwire_protocol::messages::offset_fetch_response::{
            OffsetFetchResponsePartition, OffsetFetchResponseTopic,
        };
        let resp = |offset, metadata: Option<&str>| OffsetFetchResponse {
            topics: vec![OffsetFetchResponseTopic {
                name: "t".into(),
                partitions: vec![OffsetFetchResponsePartition {
                    partition_index: 0,
                    committed_offset: offset,
                    metadata: metadata.map(str::to_owned),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let want = [Committed {
            partition: 0,
            offset: 7,
            metadata: Some("m".into()),
        }];
        let check = |r: &OffsetFetchResponse| offset_commit_metadata(r, 7, "g", ("t", Uuid::NIL), &want);
        assert!(check(&resp(7, Some(""))).is_some());
        assert!(check(&resp(7, None)).is_some());
        // Other metadata, or the wrong offset: a failure.
        assert!(check(&resp(7, Some("other"))).is_none());
        assert!(check(&resp(6, Some(""))).is_none());
    }

    #[test]
    fn only_a_decode_failure_at_topics_at_v2_to_v7_is_the_all_topics_deviation() {
        assert!(offset_fetch_all_topics(&decode_error_at("topics"), 2).is_some());
        assert!(offset_fetch_all_topics(&decode_error_at("topics"), 7).is_some());
        assert!(offset_fetch_all_topics(&decode_error_at("topics"), 8).is_none());
        assert!(offset_fetch_all_topics(&decode_error_at("topics"), 1).is_none());
        assert!(offset_fetch_all_topics(&decode_error_at("groups"), 4).is_none());
        assert!(offset_fetch_all_topics(&connection_closed(), 4).is_none());
    }

    #[test]
    fn only_unknown_server_error_at_v0_to_v2_is_the_init_producer_id_deviation() {
        let resp = |code: ErrorCode| InitProducerIdResponse {
            error_code: code.0,
            ..Default::default()
        };
        assert!(init_producer_id_old(&resp(ErrorCode::UNKNOWN_SERVER_ERROR), 0).is_some());
        assert!(init_producer_id_old(&resp(ErrorCode::UNKNOWN_SERVER_ERROR), 2).is_some());
        assert!(init_producer_id_old(&resp(ErrorCode::UNKNOWN_SERVER_ERROR), 3).is_none());
        assert!(init_producer_id_old(&resp(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS), 1).is_none());
        assert!(init_producer_id_old(&resp(ErrorCode::NONE), 1).is_none());
    }

    #[test]
    fn only_the_echoed_mechanism_is_the_sasl_handshake_deviation() {
        let resp = |code: ErrorCode, mechanisms: &[&str]| SaslHandshakeResponse {
            error_code: code.0,
            mechanisms: mechanisms.iter().map(|m| (*m).to_owned()).collect(),
            ..Default::default()
        };
        let unsupported = ErrorCode::UNSUPPORTED_SASL_MECHANISM;
        assert!(sasl_handshake_echo(&resp(unsupported, &["NOPE"]), "NOPE").is_some());
        assert!(sasl_handshake_echo(&resp(unsupported, &["PLAIN"]), "NOPE").is_none());
        assert!(sasl_handshake_echo(&resp(unsupported, &["NOPE", "PLAIN"]), "NOPE").is_none());
        assert!(sasl_handshake_echo(&resp(ErrorCode::ILLEGAL_SASL_STATE, &["NOPE"]), "NOPE").is_none());
    }
}
