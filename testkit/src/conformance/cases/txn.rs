//! Idempotence and transaction cases (KIP-98): InitProducerId, idempotent Produce,
//! AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn (commit and abort), and a
//! read_committed Fetch that stops at an open transaction.

use std::time::{Duration, Instant};

use kwire_connector::client::{raw::Connection, TopicMetadata};
use kwire_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kwire_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kwire_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, EndTxnRequest, FetchRequest, OffsetFetchRequest,
    TxnOffsetCommitRequest,
};
use kwire_protocol::records::ConsumerRecord;
use kwire_protocol::ErrorCode;

use super::groups::offset_fetch_request;
use crate::conformance::checks::{self, Committed};
use crate::conformance::deviations;
use crate::conformance::harness::{
    init_producer_id_request, make_batch, produce_request, BatchSpec, Cx, FetchSpec, Res,
};

/// A transactional producer: its id, epoch and coordinator.
struct Txn {
    id: String,
    pid: i64,
    epoch: i16,
    coord: std::sync::Arc<Connection>,
}

async fn begin(cx: &Cx) -> Res<Txn> {
    let id = cx.name("-txn");
    let (pid, epoch, coord) = cx.init_producer_id(Some(&id)).await?;
    Ok(Txn {
        id,
        pid,
        epoch,
        coord,
    })
}

fn add_partitions_request(
    txn: &Txn,
    epoch: i16,
    topic: &str,
    partitions: &[i32],
) -> AddPartitionsToTxnRequest {
    AddPartitionsToTxnRequest {
        v3_and_below_transactional_id: txn.id.clone(),
        v3_and_below_producer_id: txn.pid,
        v3_and_below_producer_epoch: epoch,
        v3_and_below_topics: vec![AddPartitionsToTxnTopic {
            name: topic.to_owned(),
            partitions: partitions.to_vec(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The version a client speaks of AddPartitionsToTxn: the highest common, at most v3.
fn add_partitions_version(cx: &Cx) -> Res<i16> {
    Ok(cx.version::<AddPartitionsToTxnRequest>()?.min(3))
}

/// Adds `partitions` of `topic` to the transaction (at the negotiated version).
async fn add_partitions(cx: &Cx, txn: &Txn, topic: &str, partitions: &[i32]) -> Res {
    let v = add_partitions_version(cx)?;
    let resp = cx
        .send(
            &txn.coord,
            add_partitions_request(txn, txn.epoch, topic, partitions),
            v,
        )
        .await?;
    cx.check(checks::add_partitions_to_txn(&resp, topic, partitions))
}

/// Adds `group`'s offsets to the transaction (at the negotiated version).
async fn add_offsets(cx: &Cx, txn: &Txn, group: &str, v: Option<i16>) -> Res {
    let v = match v {
        Some(v) => v,
        None => cx.version::<AddOffsetsToTxnRequest>()?,
    };
    let req = AddOffsetsToTxnRequest {
        transactional_id: txn.id.clone(),
        producer_id: txn.pid,
        producer_epoch: txn.epoch,
        group_id: group.to_owned(),
        ..Default::default()
    };
    let resp = cx.send(&txn.coord, req, v).await?;
    cx.check(checks::error(resp.error_code, ErrorCode::NONE, "error_code"))
}

fn end_request(txn: &Txn, commit: bool) -> EndTxnRequest {
    EndTxnRequest {
        transactional_id: txn.id.clone(),
        producer_id: txn.pid,
        producer_epoch: txn.epoch,
        committed: commit,
        ..Default::default()
    }
}

/// Aborts the transaction when the broker offers EndTxn, so none is left open (best effort).
async fn abort_if_offered(cx: &Cx, txn: &Txn) {
    if let Ok(v) = cx.env.conn.version_for::<EndTxnRequest>() {
        let mut req = end_request(txn, false);
        kwire_protocol::messages::Message::normalize_to(&mut req, v);
        let _ = txn.coord.send_raw(&req, v).await;
    }
}

/// A transactional batch of `count` records at `first_offset`, sequences from 0.
fn txn_batch(
    cx: &Cx,
    txn: &Txn,
    tag: &str,
    first_offset: i64,
    count: usize,
) -> Res<crate::conformance::harness::Produced> {
    cx.check(make_batch(BatchSpec {
        producer: Some((txn.pid, txn.epoch, 0)),
        transactional: true,
        ..BatchSpec::new(tag, first_offset, count)
    }))
}

pub(super) async fn init_producer_id(cx: &Cx, v: i16, transactional: bool) -> Res {
    if !transactional {
        let resp = cx.send_any(init_producer_id_request(None), v).await?;
        let (pid, epoch) = cx.check_or_deviation(
            checks::init_producer_id(&resp),
            deviations::init_producer_id_old(&resp, v),
        )?;
        // The id is one the broker accepts: an idempotent batch with it lands at offset 0.
        let topic = cx.create_topic("", 1).await?;
        let conn = cx.leader(&topic.name, 0).await?;
        let batch = cx.check(make_batch(BatchSpec {
            producer: Some((pid, epoch, 0)),
            ..BatchSpec::new("idempotent", 0, 3)
        }))?;
        let base = cx.produce(&conn, &topic, 0, batch.bytes, None).await?;
        if base != 0 {
            return Err(cx.fail(format!(
                "a batch with the new producer id landed at {base}, expected 0"
            )));
        }
        // Another producer gets another id.
        let resp = cx.send_any(init_producer_id_request(None), v).await?;
        let (other, _) = cx.check(checks::init_producer_id(&resp))?;
        if other == pid {
            return Err(cx.fail(format!("two idempotent producers both got producer id {pid}")));
        }
        return Ok(());
    }
    let id = cx.name("-txn");
    let coord = cx.coordinator(&id, 1).await?;
    let resp = cx.send(&coord, init_producer_id_request(Some(&id)), v).await?;
    let (pid, epoch) = cx.check_or_deviation(
        checks::init_producer_id(&resp),
        deviations::init_producer_id_old(&resp, v),
    )?;
    // Again with the same transactional id: the same producer id, the epoch bumped (fencing the
    // first instance).
    let resp = cx.send(&coord, init_producer_id_request(Some(&id)), v).await?;
    let (pid2, epoch2) = cx.check(checks::init_producer_id(&resp))?;
    if pid2 != pid || epoch2 != epoch + 1 {
        return Err(cx.fail(format!(
            "a second InitProducerId for {id} gave id {pid2} epoch {epoch2}; expected id {pid} epoch {}",
            epoch + 1
        )));
    }
    // The first instance is fenced: its epoch is refused.
    let txn = Txn {
        id,
        pid,
        epoch: epoch2,
        coord,
    };
    let topic = cx.create_topic("", 1).await?;
    let av = add_partitions_version(cx)?;
    let resp = cx
        .send(
            &txn.coord,
            add_partitions_request(&txn, epoch, &topic.name, &[0]),
            av,
        )
        .await?;
    let codes: Vec<i16> = resp
        .results_by_topic_v3_and_below
        .iter()
        .flat_map(|t| t.results_by_partition.iter().map(|p| p.partition_error_code))
        .collect();
    let fenced = [ErrorCode::INVALID_PRODUCER_EPOCH, ErrorCode::PRODUCER_FENCED];
    if codes.is_empty() || !codes.iter().all(|c| fenced.contains(&ErrorCode(*c))) {
        return Err(cx.fail(format!(
            "the fenced epoch {epoch} was answered with {:?}; expected INVALID_PRODUCER_EPOCH or PRODUCER_FENCED",
            codes.iter().map(|c| ErrorCode(*c)).collect::<Vec<_>>()
        )));
    }
    Ok(())
}

pub(super) async fn produce_idempotent(cx: &Cx, v: i16) -> Res {
    let topic = cx.create_topic("", 1).await?;
    let conn = cx.leader(&topic.name, 0).await?;
    let (pid, epoch, _) = cx.init_producer_id(None).await?;
    let batch = |tag: &str, first_offset: i64, count: usize, sequence: i32| {
        cx.check(make_batch(BatchSpec {
            producer: Some((pid, epoch, sequence)),
            ..BatchSpec::new(tag, first_offset, count)
        }))
    };
    let first = batch("first", 0, 5, 0)?;
    let second = batch("second", 5, 3, 5)?;
    let gap = batch("gap", 8, 1, 20)?;
    let send = |b: bytes::Bytes| cx.send(&conn, produce_request(&topic, 0, b, -1, None), v);
    let named = (topic.name.as_str(), topic.id);
    let resp = send(first.bytes.clone()).await?;
    cx.check(checks::produce_to(&resp, v, named.0, named.1, 0, 0))?;
    // The same batch again (a retry after a lost answer) is not written twice: Kafka answers with
    // the first write's offset (older brokers: DUPLICATE_SEQUENCE_NUMBER).
    let resp = send(first.bytes.clone()).await?;
    let first_max_timestamp = first.records.iter().map(|r| r.timestamp).max().unwrap_or(-1);
    let duplicate = checks::produce_duplicate(&resp, v, named, 0, 0, first_max_timestamp).or_else(|why| {
        let code = resp
            .responses
            .first()
            .and_then(|t| t.partition_responses.first())
            .map(|p| p.error_code);
        if code == Some(ErrorCode::DUPLICATE_SEQUENCE_NUMBER.0) {
            Ok(())
        } else {
            Err(format!("a retried batch (same sequence): {why}"))
        }
    });
    cx.check(duplicate)?;
    let resp = send(second.bytes.clone()).await?;
    cx.check(checks::produce_to(&resp, v, named.0, named.1, 0, 5))?;
    // A gap in the sequence is refused.
    let resp = send(gap.bytes.clone()).await?;
    let code = resp
        .responses
        .first()
        .and_then(|t| t.partition_responses.first())
        .map_or(0, |p| p.error_code);
    cx.check(checks::error(
        code,
        ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
        "error_code (sequence 20 after 7)",
    ))?;
    let fv = cx.version::<FetchRequest>()?;
    let got = cx
        .read_to_end(&conn, &topic, 0, 0, fv, FetchSpec::default())
        .await?;
    let want: Vec<ConsumerRecord> = first.records.iter().chain(&second.records).cloned().collect();
    cx.check(checks::records(&got, &want))
}

pub(super) async fn fetch_read_committed(cx: &Cx, v: i16) -> Res {
    let topic = cx.create_topic("", 1).await?;
    let conn = cx.leader(&topic.name, 0).await?;
    let plain = cx.check(make_batch(BatchSpec::new("plain", 0, 3)))?;
    let base = cx.produce(&conn, &topic, 0, plain.bytes.clone(), None).await?;
    if base != 0 {
        return Err(cx.fail(format!("preparing: the batch landed at {base}, expected 0")));
    }
    let txn = begin(cx).await?;
    add_partitions(cx, &txn, &topic.name, &[0]).await?;
    let open = txn_batch(cx, &txn, "open", 3, 3)?;
    let base = cx
        .produce(&conn, &topic, 0, open.bytes.clone(), Some(&txn.id))
        .await?;
    if base != 3 {
        return Err(cx.fail(format!(
            "preparing: the transactional batch landed at {base}, expected 3"
        )));
    }
    // read_committed stops at the open transaction: last stable offset 3, records 0-2 only.
    let committed = FetchSpec {
        isolation: 1,
        ..FetchSpec::default()
    };
    let resp = cx.fetch(&conn, &topic, 0, 0, v, committed).await?;
    let p = cx.check(checks::fetch_partition(&resp, v, &topic.name, topic.id, 0))?;
    cx.check(checks::fetch_stable(p, 6, 3))?;
    let (got, _) = kwire_connector::client::raw::decode_records(
        p.records.clone().unwrap_or_default(),
        0,
        kwire_connector::client::IsolationLevel::ReadCommitted,
        &p.aborted_transactions.clone().unwrap_or_default(),
    )
    .map_err(|e| cx.fail(format!("the records do not decode: {e}")))?;
    cx.check(
        checks::records(&got, &plain.records)
            .map_err(|why| format!("read_committed with a transaction open at offset 3: {why}")),
    )?;
    // read_uncommitted sees everything.
    let got = cx
        .read_to_end(&conn, &topic, 0, 0, v, FetchSpec::default())
        .await?;
    let every: Vec<ConsumerRecord> = plain.records.iter().chain(&open.records).cloned().collect();
    cx.check(checks::records(&got, &every))?;
    abort_if_offered(cx, &txn).await;
    Ok(())
}

pub(super) async fn add_partitions_to_txn(cx: &Cx, v: i16) -> Res {
    let topic = cx.create_topic("", 2).await?;
    let txn = begin(cx).await?;
    let resp = cx
        .send(
            &txn.coord,
            add_partitions_request(&txn, txn.epoch, &topic.name, &[0, 1]),
            v,
        )
        .await?;
    cx.check(checks::add_partitions_to_txn(&resp, &topic.name, &[0, 1]))?;
    // The partitions are in the transaction: a transactional batch to each is accepted.
    for partition in [0, 1] {
        let conn = cx.leader(&topic.name, partition).await?;
        let batch = txn_batch(cx, &txn, "txn", 0, 2)?;
        let base = cx
            .produce(&conn, &topic, partition, batch.bytes, Some(&txn.id))
            .await?;
        if base != 0 {
            return Err(cx.fail(format!("a transactional batch landed at {base}, expected 0")));
        }
    }
    abort_if_offered(cx, &txn).await;
    Ok(())
}

/// A TxnOffsetCommit of `offset` for partition 0 of `topic`: by name (v0-v5) and by id (v6+); the
/// version's normalisation drops the one it lacks.
fn txn_commit_request(txn: &Txn, group: &str, topic: &TopicMetadata, offset: i64) -> TxnOffsetCommitRequest {
    TxnOffsetCommitRequest {
        transactional_id: txn.id.clone(),
        group_id: group.to_owned(),
        producer_id: txn.pid,
        producer_epoch: txn.epoch,
        generation_id_or_member_epoch: -1,
        member_id: String::new(),
        group_instance_id: None,
        topics: vec![TxnOffsetCommitRequestTopic {
            name: topic.name.clone(),
            topic_id: topic.id,
            partitions: vec![TxnOffsetCommitRequestPartition {
                partition_index: 0,
                committed_offset: offset,
                committed_leader_epoch: -1,
                committed_metadata: Some("txn".to_owned()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

pub(super) async fn add_offsets_to_txn(cx: &Cx, v: i16) -> Res {
    let topic = cx.create_topic("", 1).await?;
    let group = cx.name("-group");
    let txn = begin(cx).await?;
    add_offsets(cx, &txn, &group, Some(v)).await?;
    // The group's offsets can now be committed in the transaction.
    let gcoord = cx.coordinator(&group, 0).await?;
    let tv = cx.version::<TxnOffsetCommitRequest>()?;
    let resp = cx
        .send(&gcoord, txn_commit_request(&txn, &group, &topic, 7), tv)
        .await?;
    cx.check(checks::txn_offset_commit(
        &resp,
        tv,
        (&topic.name, topic.id),
        &[0],
    ))?;
    abort_if_offered(cx, &txn).await;
    Ok(())
}

pub(super) async fn txn_offset_commit(cx: &Cx, v: i16) -> Res {
    let topic = cx.create_topic("", 1).await?;
    let group = cx.name("-group");
    let txn = begin(cx).await?;
    add_offsets(cx, &txn, &group, None).await?;
    let gcoord = cx.coordinator(&group, 0).await?;
    let resp = cx
        .send(&gcoord, txn_commit_request(&txn, &group, &topic, 7), v)
        .await?;
    cx.check(checks::txn_offset_commit(&resp, v, (&topic.name, topic.id), &[0]))?;
    // Not visible before the transaction commits.
    let fv = cx.version::<OffsetFetchRequest>()?;
    let fetch = || offset_fetch_request(fv, &group, Some((&topic, &[0][..])));
    let resp = cx.send(&gcoord, fetch(), fv).await?;
    cx.check(
        checks::offset_fetch(
            &resp,
            fv,
            &group,
            (&topic.name, topic.id),
            &[Committed {
                partition: 0,
                offset: -1,
                metadata: None,
            }],
        )
        .map_err(|why| format!("an offset of an open transaction is visible: {why}")),
    )?;
    let Ok(ev) = cx.env.conn.version_for::<EndTxnRequest>() else {
        return Ok(());
    };
    // Committed: now visible.
    let resp = cx.send(&txn.coord, end_request(&txn, true), ev).await?;
    cx.check(checks::end_txn(&resp, ev, txn.pid, txn.epoch).map_err(|why| format!("EndTxn: {why}")))?;
    let want = [Committed {
        partition: 0,
        offset: 7,
        metadata: Some("txn".to_owned()),
    }];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let resp = cx.send(&gcoord, fetch(), fv).await?;
        match checks::offset_fetch(&resp, fv, &group, (&topic.name, topic.id), &want) {
            Ok(()) => return Ok(()),
            Err(why) if Instant::now() > deadline => {
                return Err(cx.fail(format!("5 s after the commit: {why}")))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

pub(super) async fn end_txn(cx: &Cx, v: i16, commit: bool) -> Res {
    let topic = cx.create_topic("", 1).await?;
    let conn = cx.leader(&topic.name, 0).await?;
    let txn = begin(cx).await?;
    add_partitions(cx, &txn, &topic.name, &[0]).await?;
    let batch = txn_batch(cx, &txn, "txn", 0, 3)?;
    let base = cx
        .produce(&conn, &topic, 0, batch.bytes.clone(), Some(&txn.id))
        .await?;
    if base != 0 {
        return Err(cx.fail(format!(
            "preparing: the transactional batch landed at {base}, expected 0"
        )));
    }
    let resp = cx.send(&txn.coord, end_request(&txn, commit), v).await?;
    cx.check(checks::end_txn(&resp, v, txn.pid, txn.epoch))?;
    // The marker (offset 3) follows the records; the last stable offset moves past it.
    let fv = cx.version::<FetchRequest>()?;
    let committed = FetchSpec {
        isolation: 1,
        ..FetchSpec::default()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let resp = cx.fetch(&conn, &topic, 0, 0, fv, committed).await?;
        let p = cx.check(checks::fetch_partition(&resp, fv, &topic.name, topic.id, 0))?;
        match checks::fetch_stable(p, 4, 4) {
            Ok(()) => {
                if !commit {
                    let listed = p
                        .aborted_transactions
                        .as_ref()
                        .is_some_and(|a| a.iter().any(|a| a.producer_id == txn.pid && a.first_offset == 0));
                    if !listed {
                        return Err(cx.fail(format!(
                            "the aborted transaction of producer {} from offset 0 is not in aborted_transactions",
                            txn.pid
                        )));
                    }
                }
                break;
            }
            Err(why) if Instant::now() > deadline => return Err(cx.fail(format!("5 s after EndTxn: {why}"))),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let got = cx.read_to_end(&conn, &topic, 0, 0, fv, committed).await?;
    let want: &[ConsumerRecord] = if commit { &batch.records } else { &[] };
    cx.check(
        checks::records(&got, want).map_err(|why| format!("read_committed after EndTxn({commit}): {why}")),
    )?;
    let got = cx
        .read_to_end(&conn, &topic, 0, 0, fv, FetchSpec::default())
        .await?;
    cx.check(checks::records(&got, &batch.records).map_err(|why| format!("read_uncommitted: {why}")))
}
