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

use super::batch::{BatchHeader, LOG_OVERHEAD, MAGIC_OFFSET};
use super::{
    DecodeOptions, Header, LegacyBatch, LegacyMessage, Record, RecordBatch, RecordBatchView, RecordViews,
    TimestampType,
};
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
        self.entry().magic()
    }

    /// The offset of the first record.
    pub fn base_offset(&self) -> i64 {
        self.entry().base_offset()
    }

    /// The offset of the last record as written.
    pub fn last_offset(&self) -> i64 {
        self.entry().last_offset()
    }

    /// The offset to fetch from after this batch: a consumer moves there even when the batch is a
    /// control batch or compaction emptied it.
    pub fn next_offset(&self) -> i64 {
        self.entry().next_offset()
    }

    /// Whether the batch holds control records (v2 only).
    pub fn is_control(&self) -> bool {
        self.entry().is_control()
    }

    /// Whether the batch belongs to a transaction (v2 only).
    pub fn is_transactional(&self) -> bool {
        self.entry().is_transactional()
    }

    /// The producer id of a v2 batch, -1 for none and for legacy entries.
    pub fn producer_id(&self) -> i64 {
        self.entry().producer_id()
    }

    /// The user records with absolute offsets and timestamps, in order. A control batch has none
    /// (its markers are read with [`RecordBatch::control_records`]), so a consumer that hands these
    /// to the application never delivers a transaction marker.
    ///
    /// The iterator moves each record out of the batch as it goes; nothing is collected.
    pub fn into_records(self) -> IntoRecords {
        let inner = match self {
            Self::V2(b) if b.is_control() => IntoRecordsInner::Legacy(Vec::new().into_iter()),
            Self::V2(b) => IntoRecordsInner::V2 {
                header: b.header(),
                records: b.records.into_iter(),
            },
            Self::Legacy(b) => IntoRecordsInner::Legacy(b.messages.into_iter()),
        };
        IntoRecords { inner }
    }

    fn entry(&self) -> Entry<'_> {
        match self {
            Self::V2(b) => Entry::V2(b.header()),
            Self::Legacy(b) => Entry::Legacy(b),
        }
    }
}

/// What [`Batch`] and [`BatchView`] tell about their entry without its records.
enum Entry<'a> {
    V2(BatchHeader),
    Legacy(&'a LegacyBatch),
}

impl Entry<'_> {
    fn magic(&self) -> i8 {
        match self {
            Self::V2(_) => RecordBatch::MAGIC,
            Self::Legacy(b) => b.magic,
        }
    }

    fn base_offset(&self) -> i64 {
        match self {
            Self::V2(h) => h.base_offset,
            Self::Legacy(b) => b.base_offset(),
        }
    }

    fn last_offset(&self) -> i64 {
        match self {
            Self::V2(h) => h.last_offset(),
            Self::Legacy(b) => b.last_offset(),
        }
    }

    fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }

    fn is_control(&self) -> bool {
        matches!(self, Self::V2(h) if h.is_control())
    }

    fn is_transactional(&self) -> bool {
        matches!(self, Self::V2(h) if h.is_transactional())
    }

    fn producer_id(&self) -> i64 {
        match self {
            Self::V2(h) => h.producer_id,
            Self::Legacy(_) => -1,
        }
    }
}

/// The user records of a [`Batch`], moved out of it one at a time: see [`Batch::into_records`].
#[derive(Debug, Clone)]
pub struct IntoRecords {
    inner: IntoRecordsInner,
}

#[derive(Debug, Clone)]
enum IntoRecordsInner {
    V2 {
        header: BatchHeader,
        records: std::vec::IntoIter<Record>,
    },
    Legacy(std::vec::IntoIter<LegacyMessage>),
}

impl ConsumerRecord {
    fn from_v2(header: &BatchHeader, r: Record) -> Self {
        Self {
            offset: header.offset_at(r.offset_delta),
            timestamp: header.timestamp_at(r.timestamp_delta),
            timestamp_type: header.attributes.timestamp_type,
            key: r.key,
            value: r.value,
            headers: r.headers,
        }
    }

    fn from_legacy(m: LegacyMessage) -> Self {
        Self {
            offset: m.offset,
            timestamp: m.timestamp,
            timestamp_type: m.timestamp_type,
            key: m.key,
            value: m.value,
            headers: Vec::new(),
        }
    }
}

impl Iterator for IntoRecords {
    type Item = ConsumerRecord;

    #[inline]
    fn next(&mut self) -> Option<ConsumerRecord> {
        match &mut self.inner {
            IntoRecordsInner::V2 { header, records } => {
                records.next().map(|r| ConsumerRecord::from_v2(header, r))
            }
            IntoRecordsInner::Legacy(messages) => messages.next().map(ConsumerRecord::from_legacy),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.len();
        (n, Some(n))
    }
}

impl DoubleEndedIterator for IntoRecords {
    fn next_back(&mut self) -> Option<ConsumerRecord> {
        match &mut self.inner {
            IntoRecordsInner::V2 { header, records } => {
                records.next_back().map(|r| ConsumerRecord::from_v2(header, r))
            }
            IntoRecordsInner::Legacy(messages) => messages.next_back().map(ConsumerRecord::from_legacy),
        }
    }
}

impl ExactSizeIterator for IntoRecords {
    fn len(&self) -> usize {
        match &self.inner {
            IntoRecordsInner::V2 { records, .. } => records.len(),
            IntoRecordsInner::Legacy(messages) => messages.len(),
        }
    }
}

impl FusedIterator for IntoRecords {}

/// One entry of a `records` byte string, its records not decoded yet: the lazy, borrowing form of
/// [`Batch`], from [`RecordBatches::views`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BatchView {
    /// A RecordBatch v2, checked and decompressed; its records are decoded as they are iterated.
    V2(RecordBatchView),
    /// A MessageSet v0/v1 entry, decoded (the legacy format is rare and has one message per entry
    /// unless compressed).
    Legacy(LegacyBatch),
}

impl BatchView {
    /// The entry's magic byte.
    pub fn magic(&self) -> i8 {
        self.entry().magic()
    }

    /// The offset of the first record.
    pub fn base_offset(&self) -> i64 {
        self.entry().base_offset()
    }

    /// The offset of the last record as written.
    pub fn last_offset(&self) -> i64 {
        self.entry().last_offset()
    }

    /// The offset to fetch from after this batch: a consumer moves there even when the batch is a
    /// control batch or compaction emptied it.
    pub fn next_offset(&self) -> i64 {
        self.entry().next_offset()
    }

    /// Whether the batch holds control records (v2 only).
    pub fn is_control(&self) -> bool {
        self.entry().is_control()
    }

    /// Whether the batch belongs to a transaction (v2 only).
    pub fn is_transactional(&self) -> bool {
        self.entry().is_transactional()
    }

    /// The producer id of a v2 batch, -1 for none and for legacy entries.
    pub fn producer_id(&self) -> i64 {
        self.entry().producer_id()
    }

    /// The user records with absolute offsets and timestamps, in order, borrowed from the batch
    /// and decoded as the iteration reaches them. A control batch has none (its markers are read
    /// with [`RecordBatchView::control_records`]), as with [`Batch::into_records`].
    ///
    /// This is the fastest way through a batch: no allocation and no reference count update per
    /// record. [`RecordView::to_consumer_record`](super::RecordView::to_consumer_record) makes an
    /// owned record where one is kept.
    pub fn records(&self) -> RecordViews<'_> {
        match self {
            Self::V2(b) if b.header().is_control() => RecordViews::empty(),
            Self::V2(b) => b.records(),
            Self::Legacy(b) => RecordViews::legacy(&b.messages),
        }
    }

    /// The owned entry, every record decoded.
    pub fn into_batch(self) -> Result<Batch, DecodeError> {
        Ok(match self {
            Self::V2(b) => Batch::V2(b.into_batch()?),
            Self::Legacy(b) => Batch::Legacy(b),
        })
    }

    fn entry(&self) -> Entry<'_> {
        match self {
            Self::V2(b) => Entry::V2(*b.header()),
            Self::Legacy(b) => Entry::Legacy(b),
        }
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

    /// The entries as [`BatchView`]s: each checked (framing, CRC, decompression) as it is reached,
    /// its records decoded only as they are iterated. Shares this iterator's position, so the two
    /// can be mixed, and [`Self::incomplete`] tells about the end either way.
    ///
    /// ```
    /// use kwire_protocol::records::{Compression, RecordBatchBuilder, RecordBatches};
    ///
    /// let mut builder = RecordBatchBuilder::new(Compression::None);
    /// builder.append(1_700_000_000_000, Some(b"key"), Some(b"value"), &[]).unwrap();
    /// let mut batches = RecordBatches::new(builder.finish().unwrap());
    /// let mut total = 0;
    /// for batch in batches.views() {
    ///     for record in batch.unwrap().records() {
    ///         let record = record.unwrap();
    ///         total += record.value.map_or(0, <[u8]>::len);
    ///     }
    /// }
    /// assert_eq!(total, 5);
    /// assert!(batches.incomplete().is_none());
    /// ```
    pub fn views(&mut self) -> BatchViews<'_> {
        BatchViews { batches: self }
    }

    fn next_view(&mut self) -> Option<Result<BatchView, DecodeError>> {
        if self.done {
            return None;
        }
        let next = self.read_view().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }

    fn read_view(&mut self) -> Result<Option<BatchView>, DecodeError> {
        let available = self.d.remaining();
        if available == 0 {
            return Ok(None);
        }
        let at = self.d.offset();
        // Read the length without consuming: the entry may turn out incomplete.
        let Some(&[_, _, _, _, _, _, _, _, s0, s1, s2, s3]) = self.d.peek().first_chunk::<LOG_OVERHEAD>()
        else {
            self.incomplete = Some(Incomplete {
                offset: at,
                size: None,
                available,
            });
            return Ok(None);
        };
        let size = i32::from_be_bytes([s0, s1, s2, s3]);
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
        let view = match magic {
            0 | 1 => BatchView::Legacy(LegacyBatch::decode_from(&mut entry, &self.options)?),
            RecordBatch::MAGIC => BatchView::V2(RecordBatchView::decode_from(&mut entry, &self.options)?),
            other => {
                return Err(DecodeError::new(
                    DecodeErrorKind::InvalidMagic(other),
                    at + MAGIC_OFFSET,
                ))
            }
        };
        entry.finish()?;
        Ok(Some(view))
    }
}

impl Iterator for RecordBatches {
    type Item = Result<Batch, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.next_view()?.and_then(BatchView::into_batch);
        if next.is_err() {
            self.done = true;
        }
        Some(next)
    }
}

impl FusedIterator for RecordBatches {}

/// The entries of a [`RecordBatches`] as [`BatchView`]s: see [`RecordBatches::views`].
///
/// Yields each complete entry, or the error that stopped it (and then nothing more). A partial
/// entry at the end ends the iteration quietly, as with [`RecordBatches`].
#[derive(Debug)]
pub struct BatchViews<'a> {
    batches: &'a mut RecordBatches,
}

impl Iterator for BatchViews<'_> {
    type Item = Result<BatchView, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.batches.next_view()
    }
}

impl FusedIterator for BatchViews<'_> {}
