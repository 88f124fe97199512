//! Data cases: Produce (every compression, acks 0/1/-1), Fetch (from the start, at a batch
//! boundary, inside a batch, below a batch's size, an empty partition, out of range) and
//! ListOffsets (earliest, latest, by timestamp, max timestamp, an empty partition).

use bytes::Bytes;
use kwire_connector::client::TopicMetadata;
use kwire_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kwire_protocol::messages::ListOffsetsRequest;
use kwire_protocol::records::{Compression, ConsumerRecord};
use kwire_protocol::ErrorCode;

use crate::conformance::checks;
use crate::conformance::deviations;
use crate::conformance::harness::{
    make_batch, now_ms, produce_request, BatchSpec, Cx, FetchSpec, Produced, Res,
};

/// Which Fetch case.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FetchCase {
    FromStart,
    BatchBoundary,
    InsideEarlierBatch,
    InsideLastBatch,
    MaxBytesBelowBatch,
    EmptyPartition,
    OutOfRange,
}

/// Which ListOffsets case.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ListCase {
    Earliest,
    Latest,
    Timestamp,
    MaxTimestamp,
    EmptyPartition,
}

pub(super) async fn produce(cx: &Cx, v: i16, compression: Compression, acks: i16) -> Res {
    let topic = cx.create_topic("", 1).await?;
    let conn = cx.leader(&topic.name, 0).await?;
    let first = cx.check(make_batch(BatchSpec {
        compression,
        ..BatchSpec::new("first", 0, 5)
    }))?;
    let second = cx.check(make_batch(BatchSpec {
        compression,
        ..BatchSpec::new("second", 5, 3)
    }))?;
    let want: Vec<ConsumerRecord> = first.records.iter().chain(&second.records).cloned().collect();
    if acks == 0 {
        // No answer, but the records must show up.
        let reqs = [
            produce_request(&topic, 0, first.bytes, 0, None),
            produce_request(&topic, 0, second.bytes, 0, None),
        ];
        let early = cx.answers_to_acks0(conn.addr(), &reqs, v).await?;
        cx.check_or_deviation(
            checks::no_answers(&early),
            deviations::produce_acks0_answered(&early, reqs.len()),
        )?;
        let got = cx.await_records(&topic, 0, want.len()).await?;
        return cx.check(checks::records(&got, &want));
    }
    let req = produce_request(&topic, 0, first.bytes, acks, None);
    let resp = cx.send(&conn, req, v).await?;
    cx.check(checks::produce_to(&resp, v, &topic.name, topic.id, 0, 0))?;
    let req = produce_request(&topic, 0, second.bytes, acks, None);
    let resp = cx.send(&conn, req, v).await?;
    cx.check(checks::produce_to(&resp, v, &topic.name, topic.id, 0, 5))?;
    // Acknowledged: readable at once, as written.
    let fv = cx.version::<kwire_protocol::messages::FetchRequest>()?;
    let got = cx
        .read_to_end(&conn, &topic, 0, 0, fv, FetchSpec::default())
        .await?;
    cx.check(checks::records(&got, &want))
}

/// Produces `batch` (with the negotiated Produce version) and checks it landed at `base_offset`.
async fn setup_produce(
    cx: &Cx,
    conn: &kwire_connector::client::raw::Connection,
    topic: &TopicMetadata,
    batch: &Produced,
    base_offset: i64,
) -> Res {
    let got = cx.produce(conn, topic, 0, batch.bytes.clone(), None).await?;
    if got == base_offset {
        Ok(())
    } else {
        Err(cx.fail(format!(
            "preparing: the batch landed at offset {got}, expected {base_offset}"
        )))
    }
}

fn raw(p: &kwire_protocol::messages::fetch_response::PartitionData) -> Bytes {
    p.records.clone().unwrap_or_default()
}

pub(super) async fn fetch(cx: &Cx, v: i16, case: FetchCase) -> Res {
    let topic = cx.create_topic("", 1).await?;
    let t = &topic;
    let conn = cx.leader(&t.name, 0).await?;
    let all = FetchSpec::default();
    match case {
        FetchCase::EmptyPartition => {
            let resp = cx.fetch(&conn, t, 0, 0, v, all).await?;
            let p = cx.check(checks::fetch_partition(&resp, v, &t.name, t.id, 0))?;
            cx.check(checks::fetch_offsets(p, v, 0, 0))?;
            if !raw(p).is_empty() {
                return Err(cx.fail(format!(
                    "an empty partition returned {} bytes of records",
                    raw(p).len()
                )));
            }
            return Ok(());
        }
        FetchCase::MaxBytesBelowBatch => {
            // One batch of about 10 KiB, fetched with limits of 100 bytes: KIP-74 says the first
            // batch still comes whole, so a consumer always makes progress.
            let big = cx.check(make_batch(BatchSpec {
                value_len: 1000,
                ..BatchSpec::new("big", 0, 10)
            }))?;
            setup_produce(cx, &conn, t, &big, 0).await?;
            let spec = FetchSpec {
                max_bytes: 100,
                partition_max_bytes: 100,
                isolation: 0,
            };
            let resp = cx.fetch(&conn, t, 0, 0, v, spec).await?;
            let p = cx.check(checks::fetch_partition(&resp, v, &t.name, t.id, 0))?;
            cx.check(checks::fetch_offsets(p, v, 0, 10))?;
            return cx.check(checks::first_batch_whole(&raw(p), 0, &big.records));
        }
        _ => {}
    }
    // Two batches: offsets 0-4 uncompressed, 5-9 gzip.
    let a = cx.check(make_batch(BatchSpec::new("a", 0, 5)))?;
    let b = cx.check(make_batch(BatchSpec {
        compression: Compression::Gzip,
        ..BatchSpec::new("b", 5, 5)
    }))?;
    setup_produce(cx, &conn, t, &a, 0).await?;
    setup_produce(cx, &conn, t, &b, 5).await?;
    let every: Vec<ConsumerRecord> = a.records.iter().chain(&b.records).cloned().collect();
    match case {
        FetchCase::FromStart => {
            let resp = cx.fetch(&conn, t, 0, 0, v, all).await?;
            let p = cx.check(checks::fetch_partition(&resp, v, &t.name, t.id, 0))?;
            cx.check(checks::fetch_offsets(p, v, 0, 10))?;
            cx.check(checks::first_batch_whole(&raw(p), 0, &a.records))?;
            let got = cx.read_to_end(&conn, t, 0, 0, v, all).await?;
            cx.check(checks::records(&got, &every))
        }
        FetchCase::BatchBoundary => {
            let resp = cx.fetch(&conn, t, 0, 5, v, all).await?;
            let p = cx.check(checks::fetch_partition(&resp, v, &t.name, t.id, 0))?;
            cx.check(checks::fetch_offsets(p, v, 0, 10))?;
            cx.check(checks::first_batch_whole(&raw(p), 5, &b.records))
        }
        FetchCase::InsideEarlierBatch => {
            // Kafka answers with the batch holding offset 3 (base 0); the client drops 0-2.
            let resp = cx.fetch(&conn, t, 0, 3, v, all).await?;
            let p = cx.check(checks::fetch_partition(&resp, v, &t.name, t.id, 0))?;
            cx.check(checks::fetch_offsets(p, v, 0, 10))?;
            cx.check_or_deviation(
                checks::first_batch_whole(&raw(p), 3, &a.records),
                deviations::fetch_inside_batch_skips(p, 3, 5),
            )?;
            let got = cx.read_to_end(&conn, t, 0, 3, v, all).await?;
            cx.check(checks::records(&got, &every[3..]))
        }
        FetchCase::InsideLastBatch => {
            // The batch holding offset 7 has base 5; the client drops 5-6.
            let resp = cx.fetch(&conn, t, 0, 7, v, all).await?;
            let p = cx.check(checks::fetch_partition(&resp, v, &t.name, t.id, 0))?;
            cx.check(checks::fetch_offsets(p, v, 0, 10))?;
            cx.check_or_deviation(
                checks::first_batch_whole(&raw(p), 7, &b.records),
                deviations::fetch_inside_last_batch(p, 7, 10),
            )?;
            let got = cx.read_to_end(&conn, t, 0, 7, v, all).await?;
            cx.check(checks::records(&got, &every[7..]))
        }
        FetchCase::OutOfRange => {
            let resp = cx.fetch(&conn, t, 0, 100, v, all).await?;
            let p = cx.check(checks::fetch_partition(&resp, v, &t.name, t.id, 0))?;
            cx.check_or_deviation(
                checks::error(
                    p.error_code,
                    ErrorCode::OFFSET_OUT_OF_RANGE,
                    "error_code (offset 100 of a log ending at 10)",
                ),
                deviations::fetch_out_of_range(p, 10),
            )
        }
        FetchCase::EmptyPartition | FetchCase::MaxBytesBelowBatch => Ok(()),
    }
}

fn list_request(topic: &str, timestamp: i64) -> ListOffsetsRequest {
    ListOffsetsRequest {
        replica_id: -1,
        isolation_level: 0,
        // v10+: how long the leader may wait for offsets in remote storage (KIP-1075).
        timeout_ms: 10_000,
        topics: vec![ListOffsetsTopic {
            name: topic.to_owned(),
            partitions: vec![ListOffsetsPartition {
                partition_index: 0,
                current_leader_epoch: -1,
                timestamp,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The log a ListOffsets case asks about: its batches' base offsets and its records' timestamps,
/// so that a documented deviation can be recognised.
struct Log {
    batch_bases: Vec<i64>,
    timestamps: Vec<i64>,
}

/// Asks for `asked` (a timestamp, or -1 latest, -2 earliest, -3 max timestamp) and expects
/// `offset` and `timestamp`.
async fn ask(
    cx: &Cx,
    conn: &kwire_connector::client::raw::Connection,
    v: i16,
    topic: &str,
    asked: i64,
    (offset, timestamp): (i64, i64),
    log: &Log,
) -> Res {
    let resp = match cx.exchange(conn, list_request(topic, asked), v).await {
        Ok(resp) => resp,
        Err(e) => {
            let why = format!("asked for {asked}: no valid answer: {e}");
            let deviation = if asked == -3 {
                deviations::list_offsets_max_timestamp(&e)
            } else {
                None
            };
            return cx.check_or_deviation(Err(why), deviation);
        }
    };
    let p = cx.check(checks::list_offsets_partition(&resp, topic, 0))?;
    let strict = checks::list_offsets(&resp, topic, 0, offset, timestamp)
        .map_err(|why| format!("asked for {asked}: {why}"));
    let deviation = match asked {
        -1 | -2 => {
            deviations::list_offsets_special(p, asked, offset, log.batch_bases.last().copied().unwrap_or(-1))
        }
        -3 => None,
        _ => deviations::list_offsets_by_timestamp(p, &log.batch_bases, &log.timestamps),
    };
    cx.tolerate(strict, deviation)
}

pub(super) async fn list_offsets(cx: &Cx, v: i16, case: ListCase) -> Res {
    let topic = cx.create_topic("", 1).await?;
    let t = &topic;
    let conn = cx.leader(&t.name, 0).await?;
    if let ListCase::EmptyPartition = case {
        let log = Log {
            batch_bases: Vec::new(),
            timestamps: Vec::new(),
        };
        ask(cx, &conn, v, &t.name, -2, (0, -1), &log).await?;
        return ask(cx, &conn, v, &t.name, -1, (0, -1), &log).await;
    }
    // Offsets 0-2 at t0..t0+2, offsets 3-5 at t0+10..t0+12; an hour old, well within retention.
    let t0 = now_ms() - 3_600_000;
    let a = cx.check(make_batch(BatchSpec {
        timestamp: t0,
        ..BatchSpec::new("a", 0, 3)
    }))?;
    let b = cx.check(make_batch(BatchSpec {
        timestamp: t0 + 10,
        ..BatchSpec::new("b", 3, 3)
    }))?;
    setup_produce(cx, &conn, t, &a, 0).await?;
    setup_produce(cx, &conn, t, &b, 3).await?;
    let log = Log {
        batch_bases: vec![0, 3],
        timestamps: a.records.iter().chain(&b.records).map(|r| r.timestamp).collect(),
    };
    let name = t.name.as_str();
    match case {
        ListCase::Earliest => ask(cx, &conn, v, name, -2, (0, -1), &log).await,
        ListCase::Latest => ask(cx, &conn, v, name, -1, (6, -1), &log).await,
        ListCase::Timestamp => {
            // Inside the first batch, between the batches, after the last record.
            ask(cx, &conn, v, name, t0 + 1, (1, t0 + 1), &log).await?;
            ask(cx, &conn, v, name, t0 + 5, (3, t0 + 10), &log).await?;
            ask(cx, &conn, v, name, t0 + 100, (-1, -1), &log).await
        }
        ListCase::MaxTimestamp => ask(cx, &conn, v, name, -3, (5, t0 + 12), &log).await,
        ListCase::EmptyPartition => Ok(()),
    }
}
