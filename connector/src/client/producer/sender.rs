//! The sender: one task that takes the batches that may go from the accumulator and groups them
//! by leader, and a task per leader that sends its rounds in order, one Produce request a round,
//! each answered in a task of its own, so that up to max-in-flight batches of a partition are out
//! at once.
//!
//! Answers settle the batches: acknowledged records get their offsets; a batch refused with a
//! retriable error goes back into its queue in its place, and its partition sends nothing more
//! until every batch in flight has come back, so batches go out again in sequence order (the
//! broker refuses those behind a gap with OUT_OF_ORDER_SEQUENCE_NUMBER and they are retried too).
//! A batch past its delivery timeout, or refused for good, fails its records.
//!
//! References: KIP-98 (idempotent producer: sequence numbers and duplicates),
//! KIP-679 (acks=all and idempotence by default).

use crate::client::{BrokerError, ClientError, ProtocolError};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use kwire_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kwire_protocol::messages::{ProduceRequest, ProduceResponse};
use kwire_protocol::ErrorCode;

use super::accumulator::{fail_all, fail_queued, seal_round, take_ready, Round, Sealed};
use super::transaction::is_fatal;
use super::{Acks, Core, RecordMetadata};
use crate::client::Error;

/// Sends the rounds for `leader` in the order they come.
async fn leader_loop(p: Core, leader: i32, mut rounds: tokio::sync::mpsc::UnboundedReceiver<Round>) {
    while let Some(batches) = rounds.recv().await {
        send_to(&p, leader, batches).await;
        p.shared.wake.notify_one();
    }
}

/// The sender task: takes the batches that may go from the queues, seals them, and hands each
/// leader's share to that leader's task; ends when the producer is closed and idle, or dropped.
pub(super) async fn sender_loop(p: Core) {
    let mut leaders: HashMap<i32, tokio::sync::mpsc::UnboundedSender<Round>> = HashMap::new();
    loop {
        let (round, deadline, stop) = {
            let mut st = p.state();
            if st.dropped {
                // Every handle is gone (a writer killed, say): nothing it queued goes out now.
                fail_queued(&mut st, &Error::Client(ClientError::ProducerDropped));
                return;
            }
            if let Some(e) = st.txn_error.clone() {
                // The transaction can only be aborted: what it still has queued is not sent (so
                // no batch goes out after a gap in its partition's sequence either).
                fail_queued(&mut st, &e);
            }
            let (round, deadline) = take_ready(&p, &mut st, Instant::now());
            let stop = st.closed && round.is_empty() && st.is_idle();
            if st.is_idle() || st.fatal.is_some() {
                // Flushes waiting for this (they check which it is).
                p.shared.idle.notify_waiters();
            }
            (round, deadline, stop)
        };
        if stop {
            p.shared.idle.notify_waiters();
            return;
        }
        let taken = !round.is_empty();
        let round = seal_round(&p, round);
        if taken && round.is_empty() {
            // Every batch taken failed to seal (and was failed): the queues may be idle now, so
            // look again (and tell waiting flushes) before sleeping.
            continue;
        }
        if round.is_empty() {
            // Woken by a send, a flush, an answer, a close or a drop (every change of the state
            // the sender acts on notifies), or at the next linger or retry deadline.
            let wake = p.shared.wake.notified();
            match deadline {
                Some(d) => {
                    let _ = tokio::time::timeout_at(d.into(), wake).await;
                }
                None => wake.await,
            }
            continue;
        }
        // Group by leader; partitions without a known leader wait for a metadata refresh.
        let mut by_leader: HashMap<i32, Round> = HashMap::new();
        for (tp, batch) in round {
            let leader = match p.client.topic(&tp.0).await {
                Ok(t) => t
                    .partitions
                    .iter()
                    .find(|x| x.id == tp.1)
                    .map(|x| x.leader)
                    .filter(|l| *l >= 0),
                Err(_) => None,
            };
            match leader {
                Some(l) => by_leader.entry(l).or_default().push((tp, batch)),
                None => {
                    p.client.invalidate(&tp.0);
                    let err = Error::Client(ClientError::NoLeader {
                        topic: tp.0.clone(),
                        partition: tp.1,
                    });
                    requeue(&p, tp, batch, &err);
                }
            }
        }
        if p.state().dropped {
            // Dropped while the leaders were looked up: these are not sent either.
            for (tp, batch) in by_leader.into_values().flatten() {
                requeue(&p, tp, batch, &Error::Client(ClientError::ProducerDropped));
            }
            continue;
        }
        for (leader, batches) in by_leader {
            // One queue per leader, worked in order by a task of its own: a batch of a partition
            // is submitted after the batches before it (its sequence follows theirs), and a
            // leader slow to connect holds up no other.
            let queue = leaders.entry(leader).or_insert_with(|| {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                tokio::spawn(leader_loop(p.clone(), leader, rx));
                tx
            });
            if let Err(unsent) = queue.send(batches) {
                leaders.remove(&leader);
                for (tp, batch) in unsent.0 {
                    requeue(&p, tp, batch, &Error::Client(ClientError::ProducerDropped));
                }
            }
        }
    }
}

/// Puts a batch back at the front of its queue for a retry, or fails it if its delivery timeout
/// has passed, the error is not retriable or the producer was dropped.
fn requeue(p: &Core, tp: (String, i32), batch: Sealed, err: &Error) {
    let mut st = p.state();
    let expired = batch.created.elapsed() >= p.cfg.delivery_timeout;
    let dropped = st.dropped;
    let q = st.queues.entry(tp.clone()).or_default();
    q.remove_in_flight(batch.order);
    // A batch behind one that failed is refused for the gap in its partition's sequence: it is
    // sent again after that one, in order (a batch with nothing before it keeps the error).
    let behind_a_retry = matches!(
        err,
        Error::Broker(BrokerError {
            code: ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
            ..
        })
    ) && q.has_earlier(batch.order);
    let retry = (err.is_retriable() || behind_a_retry) && !expired;
    if retry && !dropped {
        // Back in its place: before every later batch of its partition.
        q.reenqueue(batch, Duration::from_millis(100));
        return;
    }

    {
        let e = if expired {
            Error::Client(ClientError::Timeout {
                what: format!("delivery ({err})"),
                after: p.cfg.delivery_timeout,
            })
        } else if retry {
            Error::Client(ClientError::ProducerDropped)
        } else {
            err.clone()
        };
        fail_all(batch.waiters, &e);
        if is_fatal(&e) {
            st.fatal.get_or_insert(e.clone());
        }
        st.record_failed(p.cfg.transactional_id.is_some(), &tp, &e);
        if p.cfg.idempotence {
            // The broker's sequence for this partition no longer matches ours: start over with a
            // new producer id for the next batch (the Java client does the same). A
            // transactional producer's transaction is failed (above) and is aborted; the next
            // one starts with a bumped epoch, which resets every sequence.
            if matches!(e, Error::Client(ClientError::Timeout { .. }))
                || matches!(
                    err,
                    Error::Broker(BrokerError {
                        code: ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER,
                        ..
                    })
                )
            {
                if p.cfg.transactional_id.is_some() {
                    st.needs_fence = true;
                } else {
                    st.fatal.get_or_insert(e);
                }
            }
        }
    }
}

/// Sends `batches` to `leader`: submitted here, in the order the leader's rounds come, and
/// answered in a task of its own, so the next round can go out before this one is answered.
async fn send_to(p: &Core, leader: i32, batches: Round) {
    if p.cfg.transactional_id.is_some() {
        let parts: Vec<(String, i32)> = batches.iter().map(|(tp, _)| tp.clone()).collect();
        if let Err(e) = p.add_partitions_to_txn(&parts).await {
            for (tp, b) in batches {
                requeue(p, tp, b, &e);
            }
            return;
        }
    }
    let conn = match p.client.broker(leader).await {
        Ok(c) => c,
        Err(e) => {
            for (tp, b) in batches {
                p.client.invalidate(&tp.0);
                requeue(p, tp, b, &e);
            }
            return;
        }
    };
    let mut topics: Vec<TopicProduceData> = Vec::new();
    for ((topic, partition), b) in &batches {
        let pd = PartitionProduceData {
            index: *partition,
            records: Some(b.bytes.clone()),
            ..Default::default()
        };
        match topics.iter_mut().find(|t| &t.name == topic) {
            Some(t) => t.partition_data.push(pd),
            None => topics.push(TopicProduceData {
                name: topic.clone(),
                partition_data: vec![pd],
                ..Default::default()
            }),
        }
    }
    let req = ProduceRequest {
        transactional_id: p.cfg.transactional_id.clone(),
        acks: p.cfg.acks.wire(),
        timeout_ms: p.cfg.request_timeout_ms,
        topic_data: topics,
        ..Default::default()
    };
    let version = match conn.version_for::<ProduceRequest>() {
        Ok(v) => v,
        Err(e) => {
            for (tp, b) in batches {
                requeue(p, tp, b, &e);
            }
            return;
        }
    };
    if p.cfg.acks == Acks::None {
        let res = conn.send_no_response(&req, version).await;
        let mut st = p.state();
        for (tp, b) in batches {
            if let Some(q) = st.queues.get_mut(&tp) {
                q.remove_in_flight(b.order);
            }
            for (w, ts) in b.waiters {
                let _ = w.send(res.clone().map(|()| RecordMetadata {
                    topic: tp.0.clone(),
                    partition: tp.1,
                    offset: -1,
                    timestamp: ts,
                }));
            }
        }
        return;
    }
    let response = match conn.start(&req, version) {
        Ok(r) => r,
        Err(e) => {
            for (tp, b) in batches {
                requeue(p, tp, b, &e);
            }
            return;
        }
    };
    let p = p.clone();
    let addr = conn.addr().to_owned();
    tokio::spawn(async move {
        let res = response.await;
        answered(&p, &addr, batches, res);
        p.shared.wake.notify_one();
    });
}

/// Settles the batches of one Produce request by its answer.
fn answered(p: &Core, addr: &str, batches: Round, res: Result<ProduceResponse, Error>) {
    match res {
        Ok(resp) => {
            let mut results: HashMap<(String, i32), (ErrorCode, i64, Option<String>)> = HashMap::new();
            for t in &resp.responses {
                for r in &t.partition_responses {
                    results.insert(
                        (t.name.clone(), r.index),
                        (ErrorCode(r.error_code), r.base_offset, r.error_message.clone()),
                    );
                }
            }
            for (tp, b) in batches {
                let Some((code, base, message)) = results.remove(&tp) else {
                    let err = Error::Protocol(ProtocolError::InvalidResponse {
                        api: "Produce",
                        broker: addr.to_owned(),
                        reason: format!("no result for {}-{}", tp.0, tp.1),
                    });
                    requeue(p, tp, b, &err);
                    continue;
                };
                if code.is_ok() || code == ErrorCode::DUPLICATE_SEQUENCE_NUMBER {
                    let mut st = p.state();
                    if let Some(q) = st.queues.get_mut(&tp) {
                        q.remove_in_flight(b.order);
                    }
                    drop(st);
                    for (i, (w, ts)) in b.waiters.into_iter().enumerate() {
                        let _ = w.send(Ok(RecordMetadata {
                            topic: tp.0.clone(),
                            partition: tp.1,
                            offset: if base >= 0 { base + i as i64 } else { -1 },
                            timestamp: ts,
                        }));
                    }
                } else {
                    let err = Error::Broker(BrokerError {
                        api: "Produce",
                        topic: Some(tp.0.clone()),
                        partition: Some(tp.1),
                        code,
                        message,
                    });
                    if err.needs_metadata_refresh() {
                        p.client.invalidate(&tp.0);
                    }
                    requeue(p, tp, b, &err);
                }
            }
        }
        Err(e) => {
            // The outcome is unknown: the idempotent producer resends with the same sequence and
            // the broker drops a duplicate; a transactional one must also fence before the next
            // transaction.
            if p.cfg.transactional_id.is_some() {
                p.mark_unknown();
            }
            for (tp, b) in batches {
                if e.needs_metadata_refresh() {
                    p.client.invalidate(&tp.0);
                }
                requeue(p, tp, b, &e);
            }
        }
    }
}
