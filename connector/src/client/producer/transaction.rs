//! The transaction manager: the producer id and epoch (InitProducerId, for an idempotent producer
//! too), the partitions and consumer offsets a transaction writes (AddPartitionsToTxn,
//! AddOffsetsToTxn and TxnOffsetCommit), its end (EndTxn), and the states that decide what may
//! come next: a record failed (the transaction can only be aborted), an outcome unknown (bump the
//! epoch before the next transaction), or fenced (nothing more).
//!
//! References: KIP-98 (transactions), KIP-360 (epoch bump on InitProducerId), KIP-890
//! (transaction verification, the epoch bump after each transaction).

use crate::client::{BrokerError, TransactionError};
use std::sync::Arc;

use kwire_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kwire_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kwire_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, EndTxnRequest, InitProducerIdRequest,
    TxnOffsetCommitRequest,
};
use kwire_protocol::ErrorCode;
use tracing::{debug, warn};

use super::{Core, Producer, State};
use crate::client::admin::TRANSACTION_KEY;
use crate::client::{Client, Connection, Error};

impl Producer {
    /// For a transactional producer: fences older instances with the same transactional id and
    /// aborts their open transaction. Call once before the first transaction.
    pub async fn init_transactions(&self) -> Result<(), Error> {
        if self.core.cfg.transactional_id.is_none() {
            return Err(Error::Transaction(TransactionError::State {
                call: "init_transactions",
                why: "the producer has no transactional id",
            }));
        }
        self.core.init_producer_id(None).await?;
        self.core.state().transactions_initialized = true;
        Ok(())
    }

    /// Starts a transaction.
    pub async fn begin_transaction(&self) -> Result<(), Error> {
        let fence = {
            let st = self.core.state();
            if let Some(e) = &st.fatal {
                return Err(e.clone());
            }
            if self.core.cfg.transactional_id.is_none() {
                return Err(Error::Transaction(TransactionError::State {
                    call: "begin_transaction",
                    why: "the producer has no transactional id",
                }));
            }
            if !st.transactions_initialized {
                // What the Java client refuses too; the broker would refuse the first
                // AddPartitionsToTxn later, with INVALID_PRODUCER_ID_MAPPING.
                return Err(Error::Transaction(TransactionError::State {
                    call: "begin_transaction",
                    why: "init_transactions was not called, or did not succeed",
                }));
            }
            if let (true, Some(e)) = (st.in_transaction, &st.txn_error) {
                // The open transaction failed: it must be aborted first (the error says so).
                return Err(e.clone());
            }
            if st.in_transaction {
                return Err(Error::Transaction(TransactionError::State {
                    call: "begin_transaction",
                    why: "a transaction is already open",
                }));
            }
            if st.needs_fence {
                warn!("an earlier transactional request had an unknown outcome: bumping the epoch first");
            }
            (st.needs_fence || st.ended_in_epoch).then_some((st.producer_id, st.producer_epoch))
        };
        if let Some(current) = fence {
            self.core.init_producer_id(Some(current)).await?;
        }
        let mut st = self.core.state();
        st.in_transaction = true;
        st.txn_partitions.clear();
        st.txn_error = None;
        Ok(())
    }

    /// Adds `offsets` (topic, partition, next offset) of consumer group `group` to the open
    /// transaction: they are committed with it.
    pub async fn send_offsets_to_transaction(
        &self,
        offsets: &[(String, i32, i64)],
        group: &str,
    ) -> Result<(), Error> {
        let txn = self.core.cfg.transactional_id.clone().unwrap_or_default();
        let (pid, epoch) = self.producer_id_and_epoch();
        let coord = self.core.txn_coordinator().await?;
        let resp = coord
            .send_built(|_| AddOffsetsToTxnRequest {
                transactional_id: txn.clone(),
                producer_id: pid,
                producer_epoch: epoch,
                group_id: group.to_owned(),
                ..Default::default()
            })
            .await
            .inspect_err(|_| self.core.mark_unknown())?;
        check("AddOffsetsToTxn", resp.error_code)?;
        let mut topics: Vec<TxnOffsetCommitRequestTopic> = Vec::new();
        for (topic, partition, offset) in offsets {
            let p = TxnOffsetCommitRequestPartition {
                partition_index: *partition,
                committed_offset: *offset,
                committed_leader_epoch: -1,
                committed_metadata: Some(String::new()),
                ..Default::default()
            };
            match topics.iter_mut().find(|t| &t.name == topic) {
                Some(t) => t.partitions.push(p),
                None => topics.push(TxnOffsetCommitRequestTopic {
                    name: topic.clone(),
                    partitions: vec![p],
                    ..Default::default()
                }),
            }
        }
        let group_coord = self.core.client.group_coordinator(group).await?;
        let resp = group_coord
            .send_built(|_| TxnOffsetCommitRequest {
                transactional_id: txn.clone(),
                group_id: group.to_owned(),
                producer_id: pid,
                producer_epoch: epoch,
                generation_id_or_member_epoch: -1,
                topics: topics.clone(),
                ..Default::default()
            })
            .await
            .inspect_err(|_| self.core.mark_unknown())?;
        for t in &resp.topics {
            for p in &t.partitions {
                let code = ErrorCode(p.error_code);
                if !code.is_ok() {
                    return Err(Error::broker_at(
                        "TxnOffsetCommit",
                        code,
                        &t.name,
                        Some(p.partition_index),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Flushes and commits the open transaction.
    ///
    /// When a record of the transaction failed (the broker refused it, its partition could not
    /// be added, it was too large to send), nothing is committed: the error is
    /// [`TransactionError::Failed`] with the first failure, and the transaction stays open for
    /// [`Producer::abort_transaction`], after which the next one can begin. After a fatal error
    /// (fenced by a newer instance, not authorized for the transactional id) that error is
    /// returned instead, and the producer cannot go on.
    pub async fn commit_transaction(&self) -> Result<(), Error> {
        self.flush().await?;
        self.end_transaction(true).await
    }

    /// Aborts the open transaction: records not sent yet are dropped with an error, records sent
    /// are discarded by the broker.
    pub async fn abort_transaction(&self) -> Result<(), Error> {
        {
            let mut st = self.core.state();
            let aborted = Error::Transaction(TransactionError::Aborted);
            for q in st.queues.values_mut() {
                q.fail_unsealed(&aborted);
            }
        }
        let _ = self.flush().await;
        self.end_transaction(false).await
    }

    async fn end_transaction(&self, commit: bool) -> Result<(), Error> {
        let (pid, epoch, any) = {
            let st = self.core.state();
            (st.producer_id, st.producer_epoch, !st.txn_partitions.is_empty())
        };
        let txn = self.core.cfg.transactional_id.clone().unwrap_or_default();
        let mut ended = true;
        let res = match self.core.client.end_transaction(&txn, pid, epoch, commit).await {
            // Nothing was ever added: the coordinator has no transaction to end.
            Err(Error::Broker(BrokerError { code, .. })) if code == ErrorCode::INVALID_TXN_STATE && !any => {
                ended = false;
                Ok(())
            }
            res => res,
        };
        let mut st = self.core.state();
        st.in_transaction = false;
        st.txn_partitions.clear();
        st.txn_error = None;
        st.ended_in_epoch |= ended && res.is_ok();
        if let Err(e) = &res {
            if is_fatal(e) {
                st.fatal.get_or_insert(e.clone());
                // A flush waiting elsewhere learns of it through the sender task.
                self.core.shared.wake.notify_one();
            } else if !matches!(e, Error::Broker(BrokerError { .. })) {
                st.needs_fence = true;
            }
        }
        res
    }
}

impl Client {
    /// EndTxn: commits (or aborts) the transaction that producer `producer_id` at
    /// `producer_epoch` has open under `transactional_id`, retrying retriable errors. A sink
    /// restored from a checkpoint uses it to finish the transaction the checkpoint pre-committed,
    /// with the producer id and epoch the checkpoint recorded, without a producer of its own
    /// (a new InitProducerId would abort that transaction instead).
    pub async fn end_transaction(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
    ) -> Result<(), Error> {
        self.retry(None, || async {
            let coord = self.coordinator(transactional_id, TRANSACTION_KEY).await?;
            let resp = coord
                .send_built(|_| EndTxnRequest {
                    transactional_id: transactional_id.to_owned(),
                    producer_id,
                    producer_epoch,
                    committed: commit,
                    ..Default::default()
                })
                .await?;
            check("EndTxn", resp.error_code)
        })
        .await
    }
}

impl Core {
    async fn txn_coordinator(&self) -> Result<Arc<Connection>, Error> {
        let id = self.cfg.transactional_id.as_deref().unwrap_or_default();
        self.client.coordinator(id, TRANSACTION_KEY).await
    }

    /// InitProducerId: a new producer id (idempotent), or for a transactional id the id with a
    /// bumped epoch, which fences older instances and aborts their open transaction. `current`
    /// is the id and epoch to bump after an unknown outcome (KIP-360).
    pub(super) async fn init_producer_id(&self, current: Option<(i64, i16)>) -> Result<(), Error> {
        let txn = self.cfg.transactional_id.clone();
        let timeout_ms = i32::try_from(self.cfg.transaction_timeout.as_millis()).unwrap_or(i32::MAX);
        let resp = self
            .client
            .retry(None, || async {
                let conn = match &txn {
                    Some(_) => self.txn_coordinator().await?,
                    None => self.client.any_broker().await?,
                };
                let resp = conn
                    .send_built(|_| InitProducerIdRequest {
                        transactional_id: txn.clone(),
                        transaction_timeout_ms: timeout_ms,
                        producer_id: current.map_or(-1, |c| c.0),
                        producer_epoch: current.map_or(-1, |c| c.1),
                        ..Default::default()
                    })
                    .await?;
                let code = ErrorCode(resp.error_code);
                if code.is_ok() {
                    Ok(resp)
                } else {
                    // CONCURRENT_TRANSACTIONS (the previous transaction is still being completed)
                    // is retriable.
                    Err(Error::broker("InitProducerId", code))
                }
            })
            .await?;
        let mut st = self.state();
        st.producer_id = resp.producer_id;
        st.producer_epoch = resp.producer_epoch;
        for q in st.queues.values_mut() {
            q.reset_sequence();
        }
        st.needs_fence = false;
        st.ended_in_epoch = false;
        st.fatal = None;
        debug!(
            producer_id = resp.producer_id,
            epoch = resp.producer_epoch,
            "producer id"
        );
        Ok(())
    }

    pub(super) fn mark_unknown(&self) {
        self.state().needs_fence = true;
    }

    /// Adds partitions to the open transaction before their first batch is produced.
    pub(super) async fn add_partitions_to_txn(&self, parts: &[(String, i32)]) -> Result<(), Error> {
        let new: Vec<(String, i32)> = {
            let st = self.state();
            parts
                .iter()
                .filter(|p| !st.txn_partitions.contains(*p))
                .cloned()
                .collect()
        };
        if new.is_empty() {
            return Ok(());
        }
        let txn = self.cfg.transactional_id.clone().unwrap_or_default();
        let (pid, epoch) = self.producer_id_and_epoch();
        let mut topics: Vec<AddPartitionsToTxnTopic> = Vec::new();
        for (t, p) in &new {
            match topics.iter_mut().find(|x| &x.name == t) {
                Some(x) => x.partitions.push(*p),
                None => topics.push(AddPartitionsToTxnTopic {
                    name: t.clone(),
                    partitions: vec![*p],
                    ..Default::default()
                }),
            }
        }
        self.client
            .retry(None, || async {
                let coord = self.txn_coordinator().await?;
                // Versions 4+ are for brokers; version_for keeps to 3 or lower.
                let version = coord.version_for::<AddPartitionsToTxnRequest>()?;
                let mut req = AddPartitionsToTxnRequest {
                    v3_and_below_transactional_id: txn.clone(),
                    v3_and_below_producer_id: pid,
                    v3_and_below_producer_epoch: epoch,
                    v3_and_below_topics: topics.clone(),
                    ..Default::default()
                };
                kwire_protocol::messages::Message::normalize_to(&mut req, version);
                let resp = coord.send_raw(&req, version).await?;
                // The first failure, by name (CONCURRENT_TRANSACTIONS is retriable). A partition
                // answered OPERATION_NOT_ATTEMPTED only because another one failed: name that one.
                let failed = resp.results_by_topic_v3_and_below.iter().flat_map(|t| {
                    t.results_by_partition
                        .iter()
                        .map(move |p| (t, p, ErrorCode(p.partition_error_code)))
                        .filter(|(_, _, code)| !code.is_ok())
                });
                let first = failed
                    .clone()
                    .find(|(_, _, code)| *code != ErrorCode::OPERATION_NOT_ATTEMPTED)
                    .or_else(|| failed.clone().next());
                match first {
                    Some((t, p, code)) => Err(Error::broker_at(
                        "AddPartitionsToTxn",
                        code,
                        &t.name,
                        Some(p.partition_index),
                    )),
                    None => Ok(()),
                }
            })
            .await?;
        self.state().txn_partitions.extend(new);
        Ok(())
    }
}

impl State {
    /// Notes that a record for `tp` failed with `err`. In a transaction the first failure makes
    /// it abortable only: committing it would commit the rest without that record.
    pub(super) fn record_failed(&mut self, transactional: bool, tp: &(String, i32), err: &Error) {
        if transactional && self.in_transaction && self.txn_error.is_none() {
            self.txn_error = Some(Error::Transaction(TransactionError::Failed {
                topic: tp.0.clone(),
                partition: tp.1,
                source: Box::new(err.clone()),
            }));
        }
    }
}

fn check(api: &'static str, code: i16) -> Result<(), Error> {
    let code = ErrorCode(code);
    if code.is_ok() {
        Ok(())
    } else {
        Err(Error::broker(api, code))
    }
}

/// Whether the producer cannot go on after `err` (the Java client's fatal errors): a newer
/// instance took over its transactional id, or it may not use that id.
pub(super) fn is_fatal(err: &Error) -> bool {
    matches!(
        err,
        Error::Broker(BrokerError {
            code: ErrorCode::PRODUCER_FENCED
                | ErrorCode::INVALID_PRODUCER_EPOCH
                | ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            ..
        })
    )
}
