//! The transaction coordinator: InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
//! TxnOffsetCommit, EndTxn and DescribeTransactions, the markers and the transaction timeout.
//!
//! Transactions follow Kafka's coordinator: InitProducerId bumps the epoch (aborting an open
//! transaction first, answering CONCURRENT_TRANSACTIONS once while it does), AddPartitionsToTxn
//! and AddOffsetsToTxn open the transaction. EndTxn completes it asynchronously, as Kafka's
//! coordinator does: the answer comes at PrepareCommit or PrepareAbort, and the commit or abort
//! markers are written to every partition of it a marker delay later (20 ms unless set), only
//! then does the last stable offset move past it. Until then InitProducerId, AddPartitionsToTxn,
//! AddOffsetsToTxn and a retried EndTxn with the same outcome get CONCURRENT_TRANSACTIONS. A
//! retried EndTxn of a completed transaction with the same outcome succeeds, the other outcome is
//! INVALID_TXN_STATE, an old epoch is PRODUCER_FENCED. A transaction open longer than its timeout
//! is aborted with a bumped epoch, as Kafka's coordinator does.
//!
//! References: KIP-98 (transactions), KIP-360 (epoch bumps), KIP-890 (partitions verified
//! before a transactional produce), the protocol guide.

use std::collections::{BTreeSet, HashMap};

use kwire_protocol::messages::add_offsets_to_txn_response::AddOffsetsToTxnResponse;
use kwire_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kwire_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kwire_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kwire_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kwire_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse,
    DescribeTransactionsRequest, DescribeTransactionsResponse, EndTxnRequest, EndTxnResponse,
    InitProducerIdRequest, InitProducerIdResponse, TxnOffsetCommitRequest, TxnOffsetCommitResponse,
};
use kwire_protocol::ErrorCode;
use tracing::debug;

use super::ClusterState;

/// The longest transaction timeout the coordinator accepts (Kafka's
/// `transaction.max.timeout.ms` default, 15 minutes).
const MAX_TRANSACTION_TIMEOUT_MS: i32 = 900_000;

/// The default marker delay: as on a Kafka broker under light load, a few round trips.
pub(super) const MARKER_DELAY_MS: i64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
}

/// A transactional id's state at its coordinator.
#[derive(Debug)]
pub(super) struct Txn {
    producer_id: i64,
    epoch: i16,
    timeout_ms: i32,
    state: TxnState,
    started_ms: i64,
    partitions: BTreeSet<(String, i32)>,
    groups: BTreeSet<String>,
    /// Offsets of TxnOffsetCommit, applied when the transaction commits.
    pending_offsets: Vec<(String, String, i32, i64, Option<String>)>,
    /// When the markers of a transaction in PrepareCommit or PrepareAbort are written.
    markers_due_ms: i64,
}

impl ClusterState {
    /// Brings the coordinators to `now_ms`: writes the markers that are due, then aborts every
    /// transaction open past its timeout, bumping its epoch (Kafka's coordinator).
    pub(crate) fn advance(&mut self, now_ms: i64) {
        let due: Vec<(String, bool)> = self
            .txns
            .iter()
            .filter(|(_, t)| t.markers_due_ms <= now_ms)
            .filter_map(|(id, t)| match t.state {
                TxnState::PrepareCommit => Some((id.clone(), true)),
                TxnState::PrepareAbort => Some((id.clone(), false)),
                _ => None,
            })
            .collect();
        for (id, commit) in due {
            self.complete(&id, commit, now_ms);
        }
        let expired: Vec<String> = self
            .txns
            .iter()
            .filter(|(_, t)| t.state == TxnState::Ongoing && now_ms - t.started_ms > i64::from(t.timeout_ms))
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            debug!(transactional_id = %id, "transaction timed out: aborting");
            self.bump_epoch(&id);
            self.prepare(&id, false, now_ms);
        }
    }

    /// Times out every open transaction now: bumps its epoch and aborts it.
    pub(crate) fn time_out_transactions(&mut self, now_ms: i64) {
        let open: Vec<String> = self
            .txns
            .iter()
            .filter(|(_, t)| t.state == TxnState::Ongoing)
            .map(|(id, _)| id.clone())
            .collect();
        for id in open {
            debug!(transactional_id = %id, "transaction timed out (fault): aborting");
            self.bump_epoch(&id);
            self.prepare(&id, false, now_ms);
        }
    }

    /// Moves transaction `id` to PrepareCommit or PrepareAbort; its markers follow after the
    /// marker delay (at once when the delay is 0).
    fn prepare(&mut self, id: &str, commit: bool, now_ms: i64) {
        let delay = self.marker_delay_ms;
        let Some(txn) = self.txns.get_mut(id) else {
            return;
        };
        if delay <= 0 {
            self.complete(id, commit, now_ms);
            return;
        }
        txn.state = if commit {
            TxnState::PrepareCommit
        } else {
            TxnState::PrepareAbort
        };
        txn.markers_due_ms = now_ms + delay;
    }

    /// CONCURRENT_TRANSACTIONS while transaction `id` is completing (its markers not written).
    fn check_not_completing(&self, id: &str) -> Result<(), ErrorCode> {
        match self.txns.get(id).map(|t| t.state) {
            Some(TxnState::PrepareCommit | TxnState::PrepareAbort) => Err(ErrorCode::CONCURRENT_TRANSACTIONS),
            _ => Ok(()),
        }
    }

    /// Whether a transactional batch of `producer_id` at `epoch` may go to `topic`-`partition`:
    /// its transaction is open and has the partition (KIP-890's verification).
    pub(super) fn transactional_ok(
        txns: &HashMap<String, Txn>,
        topic: &str,
        partition: i32,
        producer_id: i64,
        epoch: i16,
    ) -> Result<(), ErrorCode> {
        let Some(txn) = txns.values().find(|t| t.producer_id == producer_id) else {
            return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        };
        if epoch < txn.epoch {
            return Err(ErrorCode::INVALID_PRODUCER_EPOCH);
        }
        if epoch > txn.epoch
            || txn.state != TxnState::Ongoing
            || !txn.partitions.contains(&(topic.to_owned(), partition))
        {
            return Err(ErrorCode::INVALID_TXN_STATE);
        }
        Ok(())
    }

    fn new_producer_id(&mut self) -> i64 {
        let id = self.next_producer_id;
        self.next_producer_id += 1;
        id
    }

    /// Bumps the epoch of transactional id `id` (a new producer id when the epoch runs out).
    fn bump_epoch(&mut self, id: &str) {
        let fresh = self.next_producer_id;
        let Some(txn) = self.txns.get_mut(id) else {
            return;
        };
        if txn.epoch >= i16::MAX - 1 {
            txn.producer_id = fresh;
            txn.epoch = 0;
            self.next_producer_id += 1;
        } else {
            txn.epoch += 1;
        }
        self.stats.epoch_bumps += 1;
    }

    /// Ends transaction `id`: markers on every partition, offsets applied on commit.
    fn complete(&mut self, id: &str, commit: bool, now_ms: i64) {
        let Some(txn) = self.txns.get_mut(id) else {
            return;
        };
        let (pid, epoch) = (txn.producer_id, txn.epoch);
        let partitions = std::mem::take(&mut txn.partitions);
        let offsets = std::mem::take(&mut txn.pending_offsets);
        txn.groups.clear();
        txn.state = if commit {
            TxnState::CompleteCommit
        } else {
            TxnState::CompleteAbort
        };
        for (topic, partition) in partitions {
            if let Some(p) = self.partition_mut(&topic, partition) {
                p.log.write_marker(pid, epoch, commit, now_ms);
            }
        }
        if commit {
            for (group, topic, partition, offset, metadata) in offsets {
                self.groups
                    .entry(group)
                    .or_default()
                    .insert((topic, partition), (offset, metadata));
            }
            self.stats.commits += 1;
        } else {
            self.stats.aborts += 1;
        }
    }

    pub(super) fn init_producer_id(
        &mut self,
        broker: i32,
        r: &InitProducerIdRequest,
        now_ms: i64,
    ) -> InitProducerIdResponse {
        let err = |code: ErrorCode| InitProducerIdResponse {
            error_code: code.code(),
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        };
        let Some(id) = r.transactional_id.clone() else {
            return InitProducerIdResponse {
                producer_id: self.new_producer_id(),
                producer_epoch: 0,
                ..Default::default()
            };
        };
        if id.is_empty() {
            return err(ErrorCode::INVALID_REQUEST);
        }
        if let Err(code) = self.check_coordinator(broker, &id) {
            return err(code);
        }
        if r.transaction_timeout_ms <= 0 || r.transaction_timeout_ms > MAX_TRANSACTION_TIMEOUT_MS {
            return err(ErrorCode::INVALID_TRANSACTION_TIMEOUT);
        }
        if !self.txns.contains_key(&id) {
            let pid = self.new_producer_id();
            self.txns.insert(
                id.clone(),
                Txn {
                    producer_id: pid,
                    epoch: 0,
                    timeout_ms: r.transaction_timeout_ms,
                    state: TxnState::Empty,
                    started_ms: now_ms,
                    partitions: BTreeSet::new(),
                    groups: BTreeSet::new(),
                    pending_offsets: Vec::new(),
                    markers_due_ms: 0,
                },
            );
            return InitProducerIdResponse {
                producer_id: pid,
                producer_epoch: 0,
                ..Default::default()
            };
        }
        let txn = &self.txns[&id];
        if r.producer_id >= 0 && (r.producer_id != txn.producer_id || r.producer_epoch != txn.epoch) {
            return err(ErrorCode::PRODUCER_FENCED);
        }
        if let Err(code) = self.check_not_completing(&id) {
            return err(code);
        }
        if txn.state == TxnState::Ongoing {
            // Fence the old producer and abort its transaction; the caller retries and then gets
            // a new epoch (Kafka answers CONCURRENT_TRANSACTIONS while the abort completes).
            self.bump_epoch(&id);
            self.prepare(&id, false, now_ms);
            return err(ErrorCode::CONCURRENT_TRANSACTIONS);
        }
        self.bump_epoch(&id);
        let txn = self.txns.get_mut(&id).expect("present");
        txn.state = TxnState::Empty;
        txn.timeout_ms = r.transaction_timeout_ms;
        InitProducerIdResponse {
            producer_id: txn.producer_id,
            producer_epoch: txn.epoch,
            ..Default::default()
        }
    }

    /// Checks that `pid` at `epoch` is transactional id `id`'s current producer.
    fn check_producer(&self, id: &str, pid: i64, epoch: i16) -> Result<(), ErrorCode> {
        let txn = self.txns.get(id).ok_or(ErrorCode::INVALID_PRODUCER_ID_MAPPING)?;
        if txn.producer_id != pid {
            return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        }
        if txn.epoch != epoch {
            return Err(ErrorCode::PRODUCER_FENCED);
        }
        Ok(())
    }

    /// Opens transaction `id` if it is not open yet.
    fn open(&mut self, id: &str, now_ms: i64) {
        if let Some(txn) = self.txns.get_mut(id) {
            if txn.state != TxnState::Ongoing {
                txn.state = TxnState::Ongoing;
                txn.started_ms = now_ms;
            }
        }
    }

    fn add_partitions_one(
        &mut self,
        broker: i32,
        (id, pid, epoch): (&str, i64, i16),
        topics: &[AddPartitionsToTxnTopic],
        verify_only: bool,
        now_ms: i64,
    ) -> Vec<AddPartitionsToTxnTopicResult> {
        let check = self
            .check_coordinator(broker, id)
            .and_then(|()| self.check_producer(id, pid, epoch))
            .and_then(|()| {
                if verify_only {
                    Ok(())
                } else {
                    self.check_not_completing(id)
                }
            });
        let unknown: BTreeSet<(String, i32)> = topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(move |p| (t.name.clone(), *p)))
            .filter(|(t, p)| self.partition(t, *p).is_none())
            .collect();
        let code_for = |t: &str, p: i32| -> ErrorCode {
            match &check {
                Err(code) => *code,
                Ok(()) if unknown.contains(&(t.to_owned(), p)) => ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                Ok(()) if !unknown.is_empty() => ErrorCode::OPERATION_NOT_ATTEMPTED,
                Ok(()) => ErrorCode::NONE,
            }
        };
        let mut results = Vec::new();
        let mut add = Vec::new();
        for t in topics {
            let mut rs = Vec::new();
            for p in &t.partitions {
                let mut code = code_for(&t.name, *p);
                if code.is_ok() && verify_only {
                    let has = self.txns.get(id).is_some_and(|x| {
                        x.state == TxnState::Ongoing && x.partitions.contains(&(t.name.clone(), *p))
                    });
                    if !has {
                        code = ErrorCode::INVALID_TXN_STATE;
                    }
                }
                if code.is_ok() {
                    add.push((t.name.clone(), *p));
                }
                rs.push(AddPartitionsToTxnPartitionResult {
                    partition_index: *p,
                    partition_error_code: code.code(),
                    ..Default::default()
                });
            }
            results.push(AddPartitionsToTxnTopicResult {
                name: t.name.clone(),
                results_by_partition: rs,
                ..Default::default()
            });
        }
        if !verify_only && check.is_ok() && unknown.is_empty() {
            self.open(id, now_ms);
            if let Some(txn) = self.txns.get_mut(id) {
                txn.partitions.extend(add);
            }
        }
        results
    }

    pub(super) fn add_partitions_to_txn(
        &mut self,
        broker: i32,
        r: &AddPartitionsToTxnRequest,
        version: i16,
        now_ms: i64,
    ) -> AddPartitionsToTxnResponse {
        if version <= 3 {
            let results = self.add_partitions_one(
                broker,
                (
                    &r.v3_and_below_transactional_id,
                    r.v3_and_below_producer_id,
                    r.v3_and_below_producer_epoch,
                ),
                &r.v3_and_below_topics,
                false,
                now_ms,
            );
            return AddPartitionsToTxnResponse {
                results_by_topic_v3_and_below: results,
                ..Default::default()
            };
        }
        let results = r
            .transactions
            .iter()
            .map(|t| AddPartitionsToTxnResult {
                transactional_id: t.transactional_id.clone(),
                topic_results: self.add_partitions_one(
                    broker,
                    (&t.transactional_id, t.producer_id, t.producer_epoch),
                    &t.topics,
                    t.verify_only,
                    now_ms,
                ),
                ..Default::default()
            })
            .collect();
        AddPartitionsToTxnResponse {
            results_by_transaction: results,
            ..Default::default()
        }
    }

    pub(super) fn add_offsets_to_txn(
        &mut self,
        broker: i32,
        r: &AddOffsetsToTxnRequest,
        now_ms: i64,
    ) -> AddOffsetsToTxnResponse {
        let id = &r.transactional_id;
        let res = self
            .check_coordinator(broker, id)
            .and_then(|()| self.check_producer(id, r.producer_id, r.producer_epoch))
            .and_then(|()| self.check_not_completing(id));
        if res.is_ok() {
            self.open(id, now_ms);
            if let Some(txn) = self.txns.get_mut(id) {
                txn.groups.insert(r.group_id.clone());
            }
        }
        AddOffsetsToTxnResponse {
            error_code: res.err().unwrap_or(ErrorCode::NONE).code(),
            ..Default::default()
        }
    }

    pub(super) fn end_txn(&mut self, broker: i32, r: &EndTxnRequest, now_ms: i64) -> EndTxnResponse {
        let id = &r.transactional_id;
        let res = self.check_coordinator(broker, id).and_then(|()| {
            let txn = self.txns.get(id).ok_or(ErrorCode::INVALID_PRODUCER_ID_MAPPING)?;
            if txn.producer_id != r.producer_id {
                return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
            }
            if txn.epoch != r.producer_epoch {
                return Err(ErrorCode::PRODUCER_FENCED);
            }
            match (txn.state, r.committed) {
                (TxnState::Ongoing, commit) => {
                    self.prepare(id, commit, now_ms);
                    Ok(())
                }
                // A retry while the markers are being written: Kafka asks to retry later.
                (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
                    Err(ErrorCode::CONCURRENT_TRANSACTIONS)
                }
                // A retry of an EndTxn that completed: the same outcome again is fine.
                (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => Ok(()),
                _ => Err(ErrorCode::INVALID_TXN_STATE),
            }
        });
        EndTxnResponse {
            error_code: res.err().unwrap_or(ErrorCode::NONE).code(),
            ..Default::default()
        }
    }

    /// DescribeTransactions: each transactional id's state as Kafka's coordinator names it, with
    /// its producer id, epoch and (while open) partitions.
    pub(super) fn describe_transactions(
        &self,
        broker: i32,
        r: &DescribeTransactionsRequest,
    ) -> DescribeTransactionsResponse {
        let transaction_states = r
            .transactional_ids
            .iter()
            .map(|id| {
                let found = self
                    .check_coordinator(broker, id)
                    .and_then(|()| self.txns.get(id).ok_or(ErrorCode::TRANSACTIONAL_ID_NOT_FOUND));
                let txn = match found {
                    Ok(txn) => txn,
                    Err(code) => {
                        return TransactionState {
                            error_code: code.code(),
                            transactional_id: id.clone(),
                            producer_id: -1,
                            producer_epoch: -1,
                            ..Default::default()
                        }
                    }
                };
                let mut topics: Vec<TopicData> = Vec::new();
                for (topic, partition) in &txn.partitions {
                    match topics.iter_mut().find(|t| &t.topic == topic) {
                        Some(t) => t.partitions.push(*partition),
                        None => topics.push(TopicData {
                            topic: topic.clone(),
                            partitions: vec![*partition],
                            ..Default::default()
                        }),
                    }
                }
                TransactionState {
                    transactional_id: id.clone(),
                    transaction_state: match txn.state {
                        TxnState::Empty => "Empty",
                        TxnState::Ongoing => "Ongoing",
                        TxnState::PrepareCommit => "PrepareCommit",
                        TxnState::PrepareAbort => "PrepareAbort",
                        TxnState::CompleteCommit => "CompleteCommit",
                        TxnState::CompleteAbort => "CompleteAbort",
                    }
                    .to_owned(),
                    transaction_timeout_ms: txn.timeout_ms,
                    transaction_start_time_ms: if txn.state == TxnState::Empty {
                        -1
                    } else {
                        txn.started_ms
                    },
                    producer_id: txn.producer_id,
                    producer_epoch: txn.epoch,
                    topics,
                    ..Default::default()
                }
            })
            .collect();
        DescribeTransactionsResponse {
            transaction_states,
            ..Default::default()
        }
    }

    pub(super) fn txn_offset_commit(
        &mut self,
        broker: i32,
        r: &TxnOffsetCommitRequest,
    ) -> TxnOffsetCommitResponse {
        let res = self.check_coordinator(broker, &r.group_id).and_then(|()| {
            self.check_producer(&r.transactional_id, r.producer_id, r.producer_epoch)?;
            let txn = &self.txns[&r.transactional_id];
            if txn.state != TxnState::Ongoing || !txn.groups.contains(&r.group_id) {
                return Err(ErrorCode::INVALID_TXN_STATE);
            }
            Ok(())
        });
        let mut topics = Vec::new();
        for t in &r.topics {
            let mut partitions = Vec::new();
            for p in &t.partitions {
                let code = match res {
                    Err(code) => code,
                    Ok(()) if self.partition(&t.name, p.partition_index).is_none() => {
                        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                    }
                    Ok(()) => {
                        if let Some(txn) = self.txns.get_mut(&r.transactional_id) {
                            txn.pending_offsets.push((
                                r.group_id.clone(),
                                t.name.clone(),
                                p.partition_index,
                                p.committed_offset,
                                p.committed_metadata.clone(),
                            ));
                        }
                        ErrorCode::NONE
                    }
                };
                partitions.push(TxnOffsetCommitResponsePartition {
                    partition_index: p.partition_index,
                    error_code: code.code(),
                    ..Default::default()
                });
            }
            topics.push(TxnOffsetCommitResponseTopic {
                name: t.name.clone(),
                partitions,
                ..Default::default()
            });
        }
        TxnOffsetCommitResponse {
            topics,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use kwire_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
    use kwire_protocol::records::{Compression, RecordBatchBuilder};

    use super::super::BrokerInfo;
    use super::*;

    const ID: &str = "t-id";

    fn one_broker() -> ClusterState {
        let mut brokers = BTreeMap::new();
        brokers.insert(
            0,
            BrokerInfo {
                host: "127.0.0.1".into(),
                port: 1,
                up: true,
            },
        );
        let mut c = ClusterState::new(brokers);
        c.create_topic("t", 1).unwrap();
        c
    }

    fn init(c: &mut ClusterState, now: i64) -> InitProducerIdResponse {
        c.init_producer_id(
            0,
            &InitProducerIdRequest {
                transactional_id: Some(ID.into()),
                transaction_timeout_ms: 60_000,
                ..Default::default()
            },
            now,
        )
    }

    fn add_partition(c: &mut ClusterState, pid: i64, epoch: i16, now: i64) -> i16 {
        let r = AddPartitionsToTxnRequest {
            v3_and_below_transactional_id: ID.into(),
            v3_and_below_producer_id: pid,
            v3_and_below_producer_epoch: epoch,
            v3_and_below_topics: vec![AddPartitionsToTxnTopic {
                name: "t".into(),
                partitions: vec![0],
                ..Default::default()
            }],
            ..Default::default()
        };
        c.add_partitions_to_txn(0, &r, 3, now)
            .results_by_topic_v3_and_below[0]
            .results_by_partition[0]
            .partition_error_code
    }

    fn end(c: &mut ClusterState, pid: i64, epoch: i16, commit: bool, now: i64) -> ErrorCode {
        let r = EndTxnRequest {
            transactional_id: ID.into(),
            producer_id: pid,
            producer_epoch: epoch,
            committed: commit,
            ..Default::default()
        };
        ErrorCode(c.end_txn(0, &r, now).error_code)
    }

    fn state(c: &ClusterState) -> String {
        let r = DescribeTransactionsRequest {
            transactional_ids: vec![ID.into()],
            ..Default::default()
        };
        c.describe_transactions(0, &r).transaction_states[0]
            .transaction_state
            .clone()
    }

    fn lso(c: &ClusterState) -> (i64, i64) {
        let log = &c.partition("t", 0).unwrap().log;
        (log.last_stable_offset(), log.high_watermark())
    }

    /// Kafka's coordinator answers EndTxn at PrepareCommit and writes the markers afterwards:
    /// until then the transaction is still completing (CONCURRENT_TRANSACTIONS for the next
    /// InitProducerId, AddPartitionsToTxn or a retried EndTxn) and the last stable offset stays
    /// before its records.
    #[test]
    fn end_txn_answers_before_the_markers_and_the_lso_moves_only_with_them() {
        let mut c = one_broker();
        let r = init(&mut c, 0);
        let (pid, epoch) = (r.producer_id, r.producer_epoch);
        assert_eq!(add_partition(&mut c, pid, epoch, 0), 0);
        let mut b = RecordBatchBuilder::new(Compression::None)
            .with_producer(pid, epoch, 0)
            .with_transactional(true);
        b.append(0, None, Some(&b"v"[..]), &[]).unwrap();
        let batch = b.finish().unwrap();
        c.produce_one(0, "t", 0, Some(&batch)).unwrap();
        assert_eq!(lso(&c), (0, 1));

        assert_eq!(end(&mut c, pid, epoch, true, 10), ErrorCode::NONE);
        c.advance(10 + MARKER_DELAY_MS - 1);
        assert_eq!(state(&c), "PrepareCommit");
        assert_eq!(lso(&c), (0, 1), "no marker yet");
        assert_eq!(
            end(&mut c, pid, epoch, true, 11),
            ErrorCode::CONCURRENT_TRANSACTIONS
        );
        assert_eq!(end(&mut c, pid, epoch, false, 11), ErrorCode::INVALID_TXN_STATE);
        assert_eq!(
            add_partition(&mut c, pid, epoch, 11),
            ErrorCode::CONCURRENT_TRANSACTIONS.code()
        );
        assert_eq!(
            ErrorCode(init(&mut c, 11).error_code),
            ErrorCode::CONCURRENT_TRANSACTIONS
        );
        assert_eq!(c.stats.commits, 0);

        c.advance(10 + MARKER_DELAY_MS);
        assert_eq!(state(&c), "CompleteCommit");
        assert_eq!(lso(&c), (2, 2), "the commit marker is written");
        assert_eq!(c.stats.commits, 1);
        assert_eq!(
            end(&mut c, pid, epoch, true, 40),
            ErrorCode::NONE,
            "a retry after the end"
        );
        let next = init(&mut c, 40);
        assert_eq!((next.error_code, next.producer_epoch), (0, epoch + 1));
    }

    /// InitProducerId on an open transaction fences it: PrepareAbort at the bumped epoch, and
    /// CONCURRENT_TRANSACTIONS until the abort markers are written; a timed-out transaction goes
    /// the same way.
    #[test]
    fn a_fenced_or_timed_out_transaction_aborts_through_prepare_abort() {
        let mut c = one_broker();
        let r = init(&mut c, 0);
        assert_eq!(add_partition(&mut c, r.producer_id, r.producer_epoch, 0), 0);
        assert_eq!(
            ErrorCode(init(&mut c, 5).error_code),
            ErrorCode::CONCURRENT_TRANSACTIONS
        );
        assert_eq!(state(&c), "PrepareAbort");
        assert_eq!(
            ErrorCode(init(&mut c, 6).error_code),
            ErrorCode::CONCURRENT_TRANSACTIONS
        );
        c.advance(5 + MARKER_DELAY_MS);
        assert_eq!(state(&c), "CompleteAbort");
        assert_eq!(c.stats.aborts, 1);
        let r = init(&mut c, 30);
        assert_eq!((r.error_code, r.producer_epoch), (0, 2));

        assert_eq!(add_partition(&mut c, r.producer_id, r.producer_epoch, 30), 0);
        c.advance(30 + 60_001);
        assert_eq!(state(&c), "PrepareAbort", "timed out");
        c.advance(30 + 60_001 + MARKER_DELAY_MS);
        assert_eq!(state(&c), "CompleteAbort");
        assert_eq!(c.stats.aborts, 2);
    }
}
