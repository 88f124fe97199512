//! One partition's log as a Kafka leader keeps it: record batches stored as the producer sent them
//! (with the broker's base offset written in), the high watermark, the open and aborted
//! transactions that make the last stable offset and a read_committed fetch's aborted list, and
//! per producer id the sequence state that turns a resent batch into a duplicate, not a second copy.
//!
//! References: KIP-98 (idempotence, transactions, the last stable offset), KIP-360 (epoch bumps),
//! the protocol guide's "Record Batch" section.

use std::collections::{BTreeMap, HashMap, VecDeque};

use bytes::{Bytes, BytesMut};
use kwire_protocol::records::{ControlRecord, RecordBatch, RecordBatchView, RecordBatches};
use kwire_protocol::ErrorCode;

/// How many recent batches per producer the leader remembers for duplicate detection (Kafka: 5,
/// the most in-flight requests an idempotent producer may have).
const RECENT_BATCHES: usize = 5;

/// The largest batch the leader accepts: Kafka's default message.max.bytes (1 MiB plus 12). A
/// larger one is refused with MESSAGE_TOO_LARGE.
const MESSAGE_MAX_BYTES: usize = 1_048_588;

/// A stored batch.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) base_offset: i64,
    /// Offset after the batch's last record.
    pub(crate) next_offset: i64,
    pub(crate) max_timestamp: i64,
    pub(crate) bytes: Bytes,
}

/// A transaction that ended in an abort: read_committed consumers drop its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AbortedTxn {
    pub(crate) producer_id: i64,
    pub(crate) first_offset: i64,
    /// The offset of the abort marker.
    pub(crate) last_offset: i64,
}

#[derive(Debug, Clone, Default)]
struct ProducerState {
    epoch: i16,
    /// The last sequence written, -1 before the first batch of this epoch.
    last_sequence: i32,
    /// (first sequence, last sequence, base offset) of the latest batches, oldest first.
    recent: VecDeque<(i32, i32, i64)>,
}

/// What appending one batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Appended {
    /// Written at this base offset.
    New(i64),
    /// A resend of a batch already written at this base offset: nothing written again.
    Duplicate(i64),
}

/// A partition's log.
#[derive(Debug, Default)]
pub(crate) struct PartitionLog {
    batches: Vec<Stored>,
    log_start: i64,
    end: i64,
    producers: HashMap<i64, ProducerState>,
    /// Open transactions: producer id -> first offset.
    ongoing: BTreeMap<i64, i64>,
    aborted: Vec<AbortedTxn>,
}

/// The header fields of one incoming batch the leader checks.
#[derive(Debug, Clone, Copy)]
struct Incoming {
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
    last_sequence: i32,
    transactional: bool,
    control: bool,
    records: i32,
    max_timestamp: i64,
}

impl PartitionLog {
    /// The log start offset.
    pub(crate) fn log_start(&self) -> i64 {
        self.log_start
    }

    /// Deletes the records before `offset` (clamped to the end), as DeleteRecords or retention
    /// would: the log start moves there, and batches wholly before it go.
    pub(crate) fn delete_before(&mut self, offset: i64) -> i64 {
        let to = offset.clamp(self.log_start, self.end);
        self.batches.retain(|b| b.next_offset > to);
        self.log_start = to;
        to
    }

    /// The high watermark: every replica has every write here, so the log end offset.
    pub(crate) fn high_watermark(&self) -> i64 {
        self.end
    }

    /// The last stable offset: the first offset of the oldest open transaction, else the end.
    pub(crate) fn last_stable_offset(&self) -> i64 {
        self.ongoing
            .values()
            .copied()
            .min()
            .unwrap_or(self.end)
            .min(self.end)
    }

    /// Splits a produce request's `records` into batches and checks each. On an error nothing
    /// of the request is written (Kafka validates the whole partition's records first).
    pub(crate) fn append(
        &mut self,
        records: &Bytes,
        transactional_ok: impl Fn(i64, i16) -> Result<(), ErrorCode>,
    ) -> Result<Appended, ErrorCode> {
        let batches = split_batches(records).ok_or(ErrorCode::CORRUPT_MESSAGE)?;
        if batches.is_empty() {
            return Err(ErrorCode::CORRUPT_MESSAGE);
        }
        let mut checked = Vec::with_capacity(batches.len());
        for raw in batches {
            if raw.len() > MESSAGE_MAX_BYTES {
                return Err(ErrorCode::MESSAGE_TOO_LARGE);
            }
            let view = RecordBatchView::decode(raw.clone()).map_err(|_| ErrorCode::CORRUPT_MESSAGE)?;
            let h = view.header();
            if h.attributes.control {
                // Only a coordinator writes markers.
                return Err(ErrorCode::INVALID_RECORD);
            }
            let records = i32::try_from(view.record_count()).map_err(|_| ErrorCode::CORRUPT_MESSAGE)?;
            if records == 0 {
                return Err(ErrorCode::CORRUPT_MESSAGE);
            }
            let incoming = Incoming {
                producer_id: h.producer_id,
                epoch: h.producer_epoch,
                base_sequence: h.base_sequence,
                last_sequence: h.last_sequence(),
                transactional: h.attributes.transactional,
                control: false,
                records,
                max_timestamp: h.max_timestamp,
            };
            if incoming.transactional {
                transactional_ok(incoming.producer_id, incoming.epoch)?;
            }
            checked.push((raw, incoming));
        }
        // Idempotence: a request of one batch is checked for a duplicate first (what producers send).
        if let [(_, b)] = checked.as_slice() {
            if b.producer_id >= 0 {
                if let Some(base) = self.duplicate_of(b)? {
                    return Ok(Appended::Duplicate(base));
                }
            }
        }
        let mut expected: HashMap<i64, (i16, i32)> = HashMap::new();
        for (_, b) in &checked {
            if b.producer_id < 0 {
                continue;
            }
            let last = match expected.get(&b.producer_id) {
                Some(&(epoch, seq)) if epoch == b.epoch => Some(seq),
                _ => self.check_epoch(b)?,
            };
            let ok = match last {
                None => b.base_sequence == 0,
                Some(last) => b.base_sequence == next_sequence(last),
            };
            if !ok {
                return Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
            }
            expected.insert(b.producer_id, (b.epoch, b.last_sequence));
        }
        let base = self.end;
        for (raw, b) in checked {
            self.write(raw, b);
        }
        Ok(Appended::New(base))
    }

    /// The sequence state of `b`'s producer after an epoch check: `None` before its first batch
    /// in this epoch, else the last sequence written.
    fn check_epoch(&self, b: &Incoming) -> Result<Option<i32>, ErrorCode> {
        match self.producers.get(&b.producer_id) {
            Some(p) if b.epoch < p.epoch => Err(ErrorCode::INVALID_PRODUCER_EPOCH),
            Some(p) if b.epoch == p.epoch && p.last_sequence >= 0 => Ok(Some(p.last_sequence)),
            _ => Ok(None),
        }
    }

    /// The base offset a resent batch was first written at, if `b` is one.
    fn duplicate_of(&self, b: &Incoming) -> Result<Option<i64>, ErrorCode> {
        let Some(p) = self.producers.get(&b.producer_id) else {
            return Ok(None);
        };
        if b.epoch != p.epoch {
            return Ok(None);
        }
        Ok(p.recent
            .iter()
            .find(|(first, last, _)| *first == b.base_sequence && *last == b.last_sequence)
            .map(|(_, _, base)| *base))
    }

    fn write(&mut self, raw: Bytes, b: Incoming) {
        let base = self.end;
        let mut bytes = BytesMut::from(&raw[..]);
        // The base offset is outside the CRC (which covers attributes onwards): rewrite it in place.
        bytes[..8].copy_from_slice(&base.to_be_bytes());
        self.end = base + i64::from(b.records);
        self.batches.push(Stored {
            base_offset: base,
            next_offset: self.end,
            max_timestamp: b.max_timestamp,
            bytes: bytes.freeze(),
        });
        if b.producer_id >= 0 {
            let p = self.producers.entry(b.producer_id).or_default();
            if p.epoch != b.epoch {
                p.epoch = b.epoch;
                p.recent.clear();
            }
            if !b.control {
                p.last_sequence = b.last_sequence;
                p.recent.push_back((b.base_sequence, b.last_sequence, base));
                if p.recent.len() > RECENT_BATCHES {
                    p.recent.pop_front();
                }
            }
            if b.transactional && !b.control {
                self.ongoing.entry(b.producer_id).or_insert(base);
            }
        }
    }

    /// Writes a transaction marker for `producer_id` and closes its open transaction here.
    pub(crate) fn write_marker(&mut self, producer_id: i64, epoch: i16, commit: bool, now_ms: i64) {
        let marker = if commit {
            ControlRecord::Commit { coordinator_epoch: 0 }
        } else {
            ControlRecord::Abort { coordinator_epoch: 0 }
        };
        let batch = RecordBatch::control_batch(producer_id, epoch, now_ms, &marker);
        let Ok(raw) = batch.to_bytes() else {
            return;
        };
        let at = self.end;
        let first = self.ongoing.remove(&producer_id);
        self.write(
            raw,
            Incoming {
                producer_id,
                epoch,
                base_sequence: -1,
                last_sequence: -1,
                transactional: true,
                control: true,
                records: 1,
                max_timestamp: now_ms,
            },
        );
        if let (false, Some(first_offset)) = (commit, first) {
            self.aborted.push(AbortedTxn {
                producer_id,
                first_offset,
                last_offset: at,
            });
        }
    }

    /// The batches from the one holding `offset`, whole, while their total stays within
    /// `max_bytes` (the first is always given whole, KIP-74), and not past `upto`.
    pub(crate) fn read(&self, offset: i64, max_bytes: usize, upto: i64) -> (Vec<Bytes>, usize) {
        let start = self.batches.partition_point(|b| b.next_offset <= offset);
        let mut out = Vec::new();
        let mut total = 0;
        for b in &self.batches[start..] {
            if b.base_offset >= upto {
                break;
            }
            if !out.is_empty() && total + b.bytes.len() > max_bytes {
                break;
            }
            total += b.bytes.len();
            out.push(b.bytes.clone());
            if total >= max_bytes {
                break;
            }
        }
        (out, total)
    }

    /// Aborted transactions that overlap `from..upto`.
    pub(crate) fn aborted_between(&self, from: i64, upto: i64) -> Vec<AbortedTxn> {
        self.aborted
            .iter()
            .filter(|a| a.last_offset >= from && a.first_offset < upto)
            .copied()
            .collect()
    }

    /// The offset and timestamp of the first record with a timestamp at or after `ts`, if any.
    pub(crate) fn offset_for_time(&self, ts: i64) -> Option<(i64, i64)> {
        for b in self.batches.iter().filter(|b| b.max_timestamp >= ts) {
            for batch in RecordBatches::new(b.bytes.clone()) {
                let Ok(batch) = batch else { break };
                if batch.is_control() {
                    continue;
                }
                if let Some(r) = batch.into_records().find(|r| r.timestamp >= ts) {
                    return Some((r.offset, r.timestamp));
                }
            }
        }
        None
    }

    /// The offset and timestamp of the record with the largest timestamp.
    pub(crate) fn max_timestamp(&self) -> Option<(i64, i64)> {
        let b = self.batches.iter().max_by_key(|b| b.max_timestamp)?;
        Some((b.base_offset, b.max_timestamp))
    }
}

/// The sequence after `seq` (wrapping to 0 past `i32::MAX`, as Kafka does).
fn next_sequence(seq: i32) -> i32 {
    if seq == i32::MAX {
        0
    } else {
        seq + 1
    }
}

/// Splits `records` into whole v2 batches by their length fields; `None` on a bad length, an
/// incomplete batch or a batch of another magic.
fn split_batches(records: &Bytes) -> Option<Vec<Bytes>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < records.len() {
        let len_field = records.get(at + 8..at + 12)?;
        let len = i32::from_be_bytes(len_field.try_into().ok()?);
        let len = usize::try_from(len).ok()?;
        let end = at.checked_add(12)?.checked_add(len)?;
        if end > records.len() || *records.get(at + 16)? as i8 != RecordBatch::MAGIC {
            return None;
        }
        out.push(records.slice(at..end));
        at = end;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kwire_protocol::records::{Compression, RecordBatchBuilder};

    fn batch(pid: i64, epoch: i16, seq: i32, n: usize, txn: bool) -> Bytes {
        let mut b = RecordBatchBuilder::new(Compression::None);
        if pid >= 0 {
            b = b.with_producer(pid, epoch, seq).with_transactional(txn);
        }
        for i in 0..n {
            b.append(i as i64, None, Some(format!("{i}").as_bytes()), &[])
                .unwrap();
        }
        b.finish().unwrap()
    }

    #[test]
    fn a_batch_over_message_max_bytes_is_refused_and_nothing_is_written() {
        let mut log = PartitionLog::default();
        let mut b = RecordBatchBuilder::new(Compression::None);
        b.append(0, None, Some(&vec![b'x'; MESSAGE_MAX_BYTES][..]), &[])
            .unwrap();
        let huge = b.finish().unwrap();
        assert_eq!(
            log.append(&huge, |_, _| Ok(())),
            Err(ErrorCode::MESSAGE_TOO_LARGE)
        );
        assert_eq!(log.high_watermark(), 0);
    }

    #[test]
    fn a_resent_batch_is_a_duplicate_with_its_first_offset() {
        let mut log = PartitionLog::default();
        let ok = |_, _| Ok(());
        assert_eq!(log.append(&batch(-1, -1, -1, 3, false), ok), Ok(Appended::New(0)));
        assert_eq!(log.append(&batch(7, 0, 0, 2, false), ok), Ok(Appended::New(3)));
        assert_eq!(log.append(&batch(7, 0, 2, 2, false), ok), Ok(Appended::New(5)));
        assert_eq!(
            log.append(&batch(7, 0, 0, 2, false), ok),
            Ok(Appended::Duplicate(3))
        );
        assert_eq!(
            log.append(&batch(7, 0, 9, 1, false), ok),
            Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        assert_eq!(log.append(&batch(7, 1, 0, 1, false), ok), Ok(Appended::New(7)));
        assert_eq!(
            log.append(&batch(7, 0, 4, 1, false), ok),
            Err(ErrorCode::INVALID_PRODUCER_EPOCH)
        );
        assert_eq!(log.high_watermark(), 8);
        let (read, _) = log.read(4, 1, i64::MAX);
        assert_eq!(read.len(), 1, "the batch holding offset 4, whole");
        assert_eq!(i64::from_be_bytes(read[0][..8].try_into().unwrap()), 3);
    }

    #[test]
    fn an_aborted_transaction_is_listed_and_holds_the_stable_offset_while_open() {
        let mut log = PartitionLog::default();
        let ok = |_, _| Ok(());
        log.append(&batch(-1, -1, -1, 2, false), ok).unwrap();
        log.append(&batch(9, 0, 0, 3, true), ok).unwrap();
        assert_eq!(log.last_stable_offset(), 2);
        log.write_marker(9, 0, false, 0);
        assert_eq!(log.last_stable_offset(), 6);
        assert_eq!(
            log.aborted_between(0, 6),
            vec![AbortedTxn {
                producer_id: 9,
                first_offset: 2,
                last_offset: 5
            }]
        );
        assert!(log.aborted_between(6, 10).is_empty());
    }
}
