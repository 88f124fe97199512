//! The batches of a `records` byte string, as a Fetch response carries it: v2 batches and legacy
//! entries back to back, the last one possibly cut short.
//!
//! Every entry starts with an int64 offset and an int32 length, and has its magic at byte 16, so
//! the kind of each is known before it is decoded. A partial entry at the end is normal (the broker
//! fills the response up to its byte limit and cuts), so it ends the iteration and is reported by
//! [`RecordBatches::incomplete`]; the consumer fetches again from the next offset.
//!
//! References: the "Record Batch" section of the Kafka documentation; KIP-74 (a first batch larger
//! than the limit is still returned whole); Apache Kafka's `ByteBufferLogInputStream.java`.

use std::iter::FusedIterator;

use bytes::Bytes;

use super::batch::{LOG_OVERHEAD, MAGIC_OFFSET};
use super::{DecodeOptions, Header, LegacyBatch, RecordBatch, TimestampType};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::primitives::Decoder;

/// The smallest entry size Kafka accepts after the length field (a magic 0 message).
const MIN_ENTRY_SIZE: i32 = 14;

/// One decoded entry of a `records` byte string.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Batch {
    /// A RecordBatch v2.
    V2(RecordBatch),
    /// A MessageSet v0/v1 entry: one message, or a compressed wrapper's messages.
    Legacy(LegacyBatch),
}

impl Batch {
    /// The entry's magic byte.
    pub fn magic(&self) -> i8 {
        match self {
            Self::V2(_) => RecordBatch::MAGIC,
            Self::Legacy(b) => b.magic,
        }
    }

    /// The offset of the first record.
    pub fn base_offset(&self) -> i64 {
        match self {
            Self::V2(b) => b.base_offset,
            Self::Legacy(b) => b.base_offset(),
        }
    }

    /// The offset of the last record as written.
    pub fn last_offset(&self) -> i64 {
        match self {
            Self::V2(b) => b.last_offset(),
            Self::Legacy(b) => b.last_offset(),
        }
    }

    /// The offset to fetch from after this batch: a consumer moves there even when the batch is a
    /// control batch or compaction emptied it.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }

    /// Whether the batch holds control records (v2 only).
    pub fn is_control(&self) -> bool {
        matches!(self, Self::V2(b) if b.is_control())
    }

    /// Whether the batch belongs to a transaction (v2 only).
    pub fn is_transactional(&self) -> bool {
        matches!(self, Self::V2(b) if b.is_transactional())
    }

    /// The producer id of a v2 batch, -1 for none and for legacy entries.
    pub fn producer_id(&self) -> i64 {
        match self {
            Self::V2(b) => b.producer_id,
            Self::Legacy(_) => -1,
        }
    }

    /// The user records with absolute offsets and timestamps, in order. A control batch has none
    /// (its markers are read with [`RecordBatch::control_records`]), so a consumer that hands these
    /// to the application never delivers a transaction marker.
    pub fn into_records(self) -> std::vec::IntoIter<ConsumerRecord> {
        let records: Vec<ConsumerRecord> = match self {
            Self::V2(b) if b.is_control() => Vec::new(),
            Self::V2(b) => {
                let timestamp_type = b.attributes.timestamp_type;
                let (base_offset, base_timestamp, max_timestamp) =
                    (b.base_offset, b.base_timestamp, b.max_timestamp);
                b.records
                    .into_iter()
                    .map(|r| ConsumerRecord {
                        offset: base_offset.wrapping_add(i64::from(r.offset_delta)),
                        timestamp: match timestamp_type {
                            TimestampType::LogAppendTime => max_timestamp,
                            _ => base_timestamp.wrapping_add(r.timestamp_delta),
                        },
                        timestamp_type,
                        key: r.key,
                        value: r.value,
                        headers: r.headers,
                    })
                    .collect()
            }
            Self::Legacy(b) => b
                .messages
                .into_iter()
                .map(|m| ConsumerRecord {
                    offset: m.offset,
                    timestamp: m.timestamp,
                    timestamp_type: m.timestamp_type,
                    key: m.key,
                    value: m.value,
                    headers: Vec::new(),
                })
                .collect(),
        };
        records.into_iter()
    }
}

/// A record as a consumer sees it, whatever format it came in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConsumerRecord {
    /// The absolute offset.
    pub offset: i64,
    /// The timestamp (-1 for magic 0 messages).
    pub timestamp: i64,
    /// How the timestamp was set.
    pub timestamp_type: TimestampType,
    /// The key; `None` is null.
    pub key: Option<Bytes>,
    /// The value; `None` is null.
    pub value: Option<Bytes>,
    /// The headers (none before magic 2).
    pub headers: Vec<Header>,
}

/// A partial entry at the end of a `records` byte string: normal, the broker cut at its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incomplete {
    /// The byte offset in the `records` byte string where the partial entry starts.
    pub offset: usize,
    /// The entry's whole size, when its length field was there to say it.
    pub size: Option<usize>,
    /// The bytes of it that were there.
    pub available: usize,
}

/// An iterator over the batches of a `records` byte string.
///
/// Yields each complete entry decoded, or the error that stopped it (and then nothing more). A
/// partial entry at the end ends the iteration quietly; [`Self::incomplete`] then describes it.
#[derive(Debug, Clone)]
pub struct RecordBatches {
    d: Decoder,
    options: DecodeOptions,
    incomplete: Option<Incomplete>,
    done: bool,
}

impl RecordBatches {
    /// The batches of `records`, with the default [`DecodeOptions`].
    pub fn new(records: Bytes) -> Self {
        Self::with_options(records, DecodeOptions::default())
    }

    /// The batches of `records`, decoded with `options`.
    pub fn with_options(records: Bytes, options: DecodeOptions) -> Self {
        Self {
            d: Decoder::new(records),
            options,
            incomplete: None,
            done: false,
        }
    }

    /// The partial entry at the end, once the iteration has reached it.
    pub fn incomplete(&self) -> Option<Incomplete> {
        self.incomplete
    }

    fn next_batch(&mut self) -> Result<Option<Batch>, DecodeError> {
        let available = self.d.remaining();
        if available == 0 {
            return Ok(None);
        }
        let at = self.d.offset();
        // Read the length without consuming: the entry may turn out incomplete.
        let mut probe = self.d.clone();
        let size = match (probe.i64(), probe.i32()) {
            (Ok(_), Ok(size)) => size,
            _ => {
                self.incomplete = Some(Incomplete {
                    offset: at,
                    size: None,
                    available,
                });
                return Ok(None);
            }
        };
        if size < MIN_ENTRY_SIZE {
            return Err(DecodeError::new(
                DecodeErrorKind::InvalidLength(size.into()),
                at + LOG_OVERHEAD - 4,
            ));
        }
        let total = LOG_OVERHEAD + size as usize;
        if available < total {
            self.incomplete = Some(Incomplete {
                offset: at,
                size: Some(total),
                available,
            });
            return Ok(None);
        }
        let mut entry = self.d.sub(total)?;
        let magic = entry.peek().get(MAGIC_OFFSET).map_or(0, |&m| m as i8);
        let batch = match magic {
            0 | 1 => Batch::Legacy(LegacyBatch::decode_from(&mut entry, &self.options)?),
            RecordBatch::MAGIC => Batch::V2(RecordBatch::decode_from(&mut entry, &self.options)?),
            other => {
                return Err(DecodeError::new(
                    DecodeErrorKind::InvalidMagic(other),
                    at + MAGIC_OFFSET,
                ))
            }
        };
        entry.finish()?;
        Ok(Some(batch))
    }
}

impl Iterator for RecordBatches {
    type Item = Result<Batch, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_batch().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

impl FusedIterator for RecordBatches {}
