//! RecordBatch v2 (magic 2): the batch header, its attributes, and the records inside.
//!
//! ```text
//! RecordBatch =>
//!   baseOffset int64, batchLength int32 (bytes after this field), partitionLeaderEpoch int32,
//!   magic int8 (2), crc uint32 (CRC32C of attributes..end),
//!   attributes int16 (bits 0-2 compression, 3 timestamp type, 4 transactional, 5 control,
//!                     6 delete horizon), lastOffsetDelta int32, baseTimestamp int64,
//!   maxTimestamp int64, producerId int64, producerEpoch int16, baseSequence int32,
//!   recordsCount int32, records (compressed as one block when attributes say so)
//! Record =>
//!   length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
//!   keyLength varint (-1 null), key, valueLength varint (-1 null), value,
//!   headersCount varint, [headerKeyLength varint, headerKey (UTF-8),
//!                         headerValueLength varint (-1 null), headerValue]
//! ```
//!
//! References: the "Record Batch" section of the Kafka documentation; KIP-98 (the v2 format,
//! producer id/epoch/sequence, transactional and control batches); KIP-82 (record headers);
//! KIP-534 (delete horizon); Apache Kafka's `DefaultRecordBatch.java` and `DefaultRecord.java`.

use bytes::{BufMut, Bytes, BytesMut};

use super::{BatchEncodeError, Compression, ControlRecord, DecodeOptions, RecordBatchView, TimestampType};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::primitives::{Decoder, Encoder};

/// Bytes before the batch length field's end: base offset (8) and batch length (4).
pub(crate) const LOG_OVERHEAD: usize = 12;
/// The size of a v2 batch header, records count included.
pub(crate) const HEADER_SIZE: usize = 61;
/// Where the magic byte is, in v2 batches and legacy entries alike.
pub(crate) const MAGIC_OFFSET: usize = 16;
/// Where the CRC is in a v2 batch.
const CRC_OFFSET: usize = 17;
/// Where the CRC32C's span starts: the attributes.
const ATTRIBUTES_OFFSET: usize = 21;

/// The attributes of a v2 batch, an int16 on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Attributes {
    /// Bits 0-2: how the records are compressed.
    pub compression: Compression,
    /// Bit 3: create time (clear) or log-append time (set).
    pub timestamp_type: TimestampType,
    /// Bit 4: the batch belongs to a transaction.
    pub transactional: bool,
    /// Bit 5: the batch holds control records (transaction markers), not user records.
    pub control: bool,
    /// Bit 6: the base timestamp is the delete horizon set by the log cleaner (KIP-534).
    pub delete_horizon: bool,
    /// Bits 7-15, which no Kafka version sets yet; kept so decode -> encode is byte-identical.
    pub unknown_bits: i16,
}

impl Attributes {
    const COMPRESSION: i16 = 0x07;
    const LOG_APPEND_TIME: i16 = 0x08;
    const TRANSACTIONAL: i16 = 0x10;
    const CONTROL: i16 = 0x20;
    const DELETE_HORIZON: i16 = 0x40;
    const KNOWN: i16 = 0x7f;

    /// Reads attribute bits; an unknown compression id is [`DecodeErrorKind::UnknownCompression`].
    pub fn from_bits(bits: i16) -> Result<Self, DecodeErrorKind> {
        let id = (bits & Self::COMPRESSION) as u8;
        let compression = Compression::from_id(id).ok_or(DecodeErrorKind::UnknownCompression(id))?;
        Ok(Self {
            compression,
            timestamp_type: if bits & Self::LOG_APPEND_TIME != 0 {
                TimestampType::LogAppendTime
            } else {
                TimestampType::CreateTime
            },
            transactional: bits & Self::TRANSACTIONAL != 0,
            control: bits & Self::CONTROL != 0,
            delete_horizon: bits & Self::DELETE_HORIZON != 0,
            unknown_bits: bits & !Self::KNOWN,
        })
    }

    /// The attribute bits. [`TimestampType::NoTimestamp`] is written as create time.
    pub fn to_bits(self) -> i16 {
        let mut bits = i16::from(self.compression.id()) | (self.unknown_bits & !Self::KNOWN);
        if self.timestamp_type == TimestampType::LogAppendTime {
            bits |= Self::LOG_APPEND_TIME;
        }
        if self.transactional {
            bits |= Self::TRANSACTIONAL;
        }
        if self.control {
            bits |= Self::CONTROL;
        }
        if self.delete_horizon {
            bits |= Self::DELETE_HORIZON;
        }
        bits
    }
}

/// A record header: a UTF-8 key and an optional value (KIP-82).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Header {
    /// The header's key. A key that is not UTF-8 on the wire is decoded lossily (as the Java client
    /// does), so that one bad header cannot make a partition unreadable.
    pub key: String,
    /// The header's value; `None` is null.
    pub value: Option<Bytes>,
}

impl Header {
    /// A header with a value.
    pub fn new(key: impl Into<String>, value: impl Into<Bytes>) -> Self {
        Self {
            key: key.into(),
            value: Some(value.into()),
        }
    }
}

/// One record of a v2 batch, with its offset and timestamp as deltas from the batch's base (see
/// [`RecordBatch::offset_of`] and [`RecordBatch::timestamp_of`] for the absolute values).
///
/// The v2 format is fixed (a new format would be a new magic), so the struct is exhaustive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Record {
    /// The record's attributes byte; no bit is used yet, producers write 0.
    pub attributes: i8,
    /// The timestamp minus the batch's base timestamp.
    pub timestamp_delta: i64,
    /// The offset minus the batch's base offset.
    pub offset_delta: i32,
    /// The key; `None` is null. A slice of the input when the batch was not compressed.
    pub key: Option<Bytes>,
    /// The value; `None` is null (a tombstone in a compacted topic).
    pub value: Option<Bytes>,
    /// The headers, in order.
    pub headers: Vec<Header>,
}

/// A RecordBatch v2: the header fields and the records.
///
/// The wire's batch length, magic, CRC and records count are not fields: decoding checks them,
/// encoding computes them. The v2 format is fixed, so the struct is exhaustive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordBatch {
    /// The offset of the first record (assigned by the broker; a producer writes 0).
    pub base_offset: i64,
    /// The leader epoch the broker wrote the batch under; -1 from a producer.
    pub partition_leader_epoch: i32,
    /// Compression, timestamp type, transactional, control, delete horizon.
    pub attributes: Attributes,
    /// The offset delta of the last record as written, which stays when compaction removes it.
    pub last_offset_delta: i32,
    /// The timestamp the records' deltas are from (the delete horizon if that attribute is set).
    pub base_timestamp: i64,
    /// The largest timestamp of the batch (the log-append time under that timestamp type).
    pub max_timestamp: i64,
    /// The idempotent or transactional producer's id; -1 for none.
    pub producer_id: i64,
    /// The producer's epoch; -1 for none.
    pub producer_epoch: i16,
    /// The sequence number of the first record, per producer and partition; -1 for none.
    pub base_sequence: i32,
    /// The records.
    pub records: Vec<Record>,
}

/// The header of a v2 batch: every field but the records (and the length, magic, CRC and
/// records count, which decoding checks and encoding computes). Exhaustive, as [`RecordBatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchHeader {
    /// The offset of the first record (assigned by the broker; a producer writes 0).
    pub base_offset: i64,
    /// The leader epoch the broker wrote the batch under; -1 from a producer.
    pub partition_leader_epoch: i32,
    /// Compression, timestamp type, transactional, control, delete horizon.
    pub attributes: Attributes,
    /// The offset delta of the last record as written, which stays when compaction removes it.
    pub last_offset_delta: i32,
    /// The timestamp the records' deltas are from (the delete horizon if that attribute is set).
    pub base_timestamp: i64,
    /// The largest timestamp of the batch (the log-append time under that timestamp type).
    pub max_timestamp: i64,
    /// The idempotent or transactional producer's id; -1 for none.
    pub producer_id: i64,
    /// The producer's epoch; -1 for none.
    pub producer_epoch: i16,
    /// The sequence number of the first record, per producer and partition; -1 for none.
    pub base_sequence: i32,
}

impl BatchHeader {
    /// The offset of the last record as written: base offset + last offset delta.
    pub fn last_offset(&self) -> i64 {
        self.base_offset.wrapping_add(i64::from(self.last_offset_delta))
    }

    /// The offset a consumer goes on from after this batch, even when compaction left it empty.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }

    /// The absolute offset of the record with `offset_delta`.
    pub fn offset_at(&self, offset_delta: i32) -> i64 {
        self.base_offset.wrapping_add(i64::from(offset_delta))
    }

    /// The timestamp of the record with `timestamp_delta`: the batch's max timestamp under
    /// log-append time, else base timestamp plus the delta.
    pub fn timestamp_at(&self, timestamp_delta: i64) -> i64 {
        match self.attributes.timestamp_type {
            TimestampType::LogAppendTime => self.max_timestamp,
            _ => self.base_timestamp.wrapping_add(timestamp_delta),
        }
    }

    /// The sequence number of the last record, wrapping past `i32::MAX` to 0 as the broker does;
    /// -1 when the batch has no sequence.
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        let increment = self.last_offset_delta.max(0);
        if self.base_sequence > i32::MAX - increment {
            increment - (i32::MAX - self.base_sequence) - 1
        } else {
            self.base_sequence + increment
        }
    }

    /// Whether the batch holds control records.
    pub fn is_control(&self) -> bool {
        self.attributes.control
    }

    /// Whether the batch belongs to a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes.transactional
    }

    /// The delete horizon set by the log cleaner (KIP-534), if any.
    pub fn delete_horizon(&self) -> Option<i64> {
        self.attributes.delete_horizon.then_some(self.base_timestamp)
    }
}

impl Default for RecordBatch {
    /// An empty uncompressed batch with no producer: ids, epochs and sequence -1, as the Java
    /// client writes them for a plain producer.
    fn default() -> Self {
        Self {
            base_offset: 0,
            partition_leader_epoch: -1,
            attributes: Attributes::default(),
            last_offset_delta: 0,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            records: Vec::new(),
        }
    }
}

impl RecordBatch {
    /// The magic byte of this format.
    pub const MAGIC: i8 = 2;

    /// Decodes exactly one batch from `bytes` with the default [`DecodeOptions`].
    pub fn decode(bytes: Bytes) -> Result<Self, DecodeError> {
        Self::decode_with(bytes, &DecodeOptions::default())
    }

    /// Decodes exactly one batch from `bytes`: trailing bytes are an error.
    pub fn decode_with(bytes: Bytes, options: &DecodeOptions) -> Result<Self, DecodeError> {
        let mut d = Decoder::new(bytes);
        let batch = Self::decode_from(&mut d, options)?;
        d.finish()?;
        Ok(batch)
    }

    /// Reads one batch from `d`, which moves past it. A batch cut short is
    /// [`DecodeErrorKind::UnexpectedEof`]; use [`super::RecordBatches`] to tell a partial trailing
    /// batch from a broken one.
    pub fn decode_from(d: &mut Decoder, options: &DecodeOptions) -> Result<Self, DecodeError> {
        RecordBatchView::decode_from(d, options)?.into_batch()
    }

    /// The header fields, without the records.
    pub fn header(&self) -> BatchHeader {
        BatchHeader {
            base_offset: self.base_offset,
            partition_leader_epoch: self.partition_leader_epoch,
            attributes: self.attributes,
            last_offset_delta: self.last_offset_delta,
            base_timestamp: self.base_timestamp,
            max_timestamp: self.max_timestamp,
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            base_sequence: self.base_sequence,
        }
    }

    /// A batch of `header` and `records`.
    pub fn from_parts(header: BatchHeader, records: Vec<Record>) -> Self {
        let BatchHeader {
            base_offset,
            partition_leader_epoch,
            attributes,
            last_offset_delta,
            base_timestamp,
            max_timestamp,
            producer_id,
            producer_epoch,
            base_sequence,
        } = header;
        Self {
            base_offset,
            partition_leader_epoch,
            attributes,
            last_offset_delta,
            base_timestamp,
            max_timestamp,
            producer_id,
            producer_epoch,
            base_sequence,
            records,
        }
    }

    /// Writes the batch to the end of `out`: header, records compressed as the attributes say,
    /// length and CRC patched in at the end. On error `out` is left as it was.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), BatchEncodeError> {
        let start = out.len();
        let mut e = Encoder::from_buf(std::mem::take(out));
        let result = self.encode_into(&mut e, start);
        *out = e.into_inner();
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// The batch's bytes.
    pub fn to_bytes(&self) -> Result<Bytes, BatchEncodeError> {
        let mut out = BytesMut::new();
        self.encode(&mut out)?;
        Ok(out.freeze())
    }

    fn encode_into(&self, e: &mut Encoder, start: usize) -> Result<(), BatchEncodeError> {
        let count = i32::try_from(self.records.len()).map_err(|_| EncodeError::TooLong {
            field: "records",
            len: self.records.len(),
        })?;
        e.buf_mut().put_bytes(0, HEADER_SIZE);
        let compression = self.attributes.compression;
        if compression == Compression::None {
            for r in &self.records {
                write_record(e, r.attributes, r.timestamp_delta, r.offset_delta, r.parts())?;
            }
        } else {
            if !compression.is_available() {
                return Err(BatchEncodeError::CompressionUnavailable(compression));
            }
            let mut raw = Encoder::new();
            for r in &self.records {
                write_record(
                    &mut raw,
                    r.attributes,
                    r.timestamp_delta,
                    r.offset_delta,
                    r.parts(),
                )?;
            }
            compression.compress(&raw.into_inner(), e.buf_mut())?;
        }
        self.header().patch(count, &mut e.buf_mut()[start..])
    }

    /// The offset of the last record as written: base offset + last offset delta.
    pub fn last_offset(&self) -> i64 {
        self.header().last_offset()
    }

    /// The offset a consumer goes on from after this batch, even when compaction left it empty.
    pub fn next_offset(&self) -> i64 {
        self.header().next_offset()
    }

    /// A record's absolute offset.
    pub fn offset_of(&self, record: &Record) -> i64 {
        self.header().offset_at(record.offset_delta)
    }

    /// A record's timestamp: the batch's max timestamp under log-append time, else base timestamp
    /// plus the record's delta.
    pub fn timestamp_of(&self, record: &Record) -> i64 {
        self.header().timestamp_at(record.timestamp_delta)
    }

    /// The sequence number of the last record, wrapping past `i32::MAX` to 0 as the broker does;
    /// -1 when the batch has no sequence.
    pub fn last_sequence(&self) -> i32 {
        self.header().last_sequence()
    }

    /// Whether the batch holds control records.
    pub fn is_control(&self) -> bool {
        self.header().is_control()
    }

    /// Whether the batch belongs to a transaction.
    pub fn is_transactional(&self) -> bool {
        self.header().is_transactional()
    }

    /// The delete horizon set by the log cleaner (KIP-534), if any.
    pub fn delete_horizon(&self) -> Option<i64> {
        self.header().delete_horizon()
    }

    /// The control records of a control batch (none for a batch of user records).
    pub fn control_records(&self) -> impl Iterator<Item = Result<ControlRecord, DecodeError>> + '_ {
        let records = if self.is_control() { &self.records[..] } else { &[] };
        records.iter().map(ControlRecord::decode)
    }

    /// A control batch holding one transaction marker (or other control record), as a
    /// transaction coordinator has the partition leader write it.
    pub fn control_batch(
        producer_id: i64,
        producer_epoch: i16,
        timestamp: i64,
        marker: &ControlRecord,
    ) -> Self {
        Self {
            attributes: Attributes {
                transactional: true,
                control: true,
                ..Attributes::default()
            },
            base_timestamp: timestamp,
            max_timestamp: timestamp,
            producer_id,
            producer_epoch,
            records: vec![marker.to_record()],
            ..Self::default()
        }
    }
}

impl Record {
    fn parts(&self) -> RecordParts<'_> {
        RecordParts {
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            headers: &self.headers,
        }
    }
}

/// The payload of a record to write: borrowed, so the builder can write from slices.
#[derive(Clone, Copy)]
pub(crate) struct RecordParts<'a> {
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
    pub(crate) headers: &'a [Header],
}

impl BatchHeader {
    /// Fills in the header of `batch` (a whole batch whose first [`HEADER_SIZE`] bytes were
    /// reserved): every field, the batch length, and last the CRC32C over attributes..end.
    pub(crate) fn patch(&self, count: i32, batch: &mut [u8]) -> Result<(), BatchEncodeError> {
        debug_assert!(batch.len() >= HEADER_SIZE);
        let body = batch.len() - LOG_OVERHEAD;
        let length = i32::try_from(body).map_err(|_| EncodeError::TooLong {
            field: "batch",
            len: body,
        })?;
        let mut header = [0u8; HEADER_SIZE];
        let mut w = &mut header[..];
        w.put_i64(self.base_offset);
        w.put_i32(length);
        w.put_i32(self.partition_leader_epoch);
        w.put_i8(RecordBatch::MAGIC);
        w.put_u32(0); // the CRC, computed below
        w.put_i16(self.attributes.to_bits());
        w.put_i32(self.last_offset_delta);
        w.put_i64(self.base_timestamp);
        w.put_i64(self.max_timestamp);
        w.put_i64(self.producer_id);
        w.put_i16(self.producer_epoch);
        w.put_i32(self.base_sequence);
        w.put_i32(count);
        debug_assert!(w.is_empty());
        batch[..HEADER_SIZE].copy_from_slice(&header);
        let crc = crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..]);
        batch[CRC_OFFSET..ATTRIBUTES_OFFSET].copy_from_slice(&crc.to_be_bytes());
        Ok(())
    }
}

/// The bytes a zigzag varint takes.
pub(crate) fn varint_len(v: i32) -> usize {
    varlong_len(i64::from(v))
}

/// The bytes a zigzag varlong takes.
pub(crate) fn varlong_len(v: i64) -> usize {
    let z = ((v << 1) ^ (v >> 63)) as u64;
    (64 - (z | 1).leading_zeros() as usize).div_ceil(7)
}

/// A payload length as a varint, or the error that it does not fit one.
fn len_i32(len: usize, field: &'static str) -> Result<i32, EncodeError> {
    i32::try_from(len).map_err(|_| EncodeError::TooLong { field, len })
}

fn nullable_len(b: Option<&[u8]>, field: &'static str) -> Result<usize, EncodeError> {
    Ok(match b {
        None => 1,
        Some(b) => varint_len(len_i32(b.len(), field)?) + b.len(),
    })
}

/// The size of a record's body (everything after its length varint).
pub(crate) fn record_body_len(
    timestamp_delta: i64,
    offset_delta: i32,
    parts: RecordParts<'_>,
) -> Result<usize, EncodeError> {
    let mut len = 1 + varlong_len(timestamp_delta) + varint_len(offset_delta);
    len += nullable_len(parts.key, "key")?;
    len += nullable_len(parts.value, "value")?;
    len += varint_len(len_i32(parts.headers.len(), "headers")?);
    for h in parts.headers {
        len += nullable_len(Some(h.key.as_bytes()), "header key")?;
        len += nullable_len(h.value.as_deref(), "header value")?;
    }
    len_i32(len, "record")?;
    Ok(len)
}

/// The size of a whole record, length varint included.
pub(crate) fn record_len(
    timestamp_delta: i64,
    offset_delta: i32,
    parts: RecordParts<'_>,
) -> Result<usize, EncodeError> {
    let body = record_body_len(timestamp_delta, offset_delta, parts)?;
    Ok(varint_len(body as i32) + body)
}

fn write_nullable(e: &mut Encoder, b: Option<&[u8]>) {
    match b {
        None => e.varint(-1),
        Some(b) => {
            // Lengths were checked by `record_body_len` before anything was written.
            e.varint(b.len() as i32);
            e.raw(b);
        }
    }
}

/// Writes one record. Every length is checked before the first byte is written, so an error
/// leaves `e` as it was.
pub(crate) fn write_record(
    e: &mut Encoder,
    attributes: i8,
    timestamp_delta: i64,
    offset_delta: i32,
    parts: RecordParts<'_>,
) -> Result<(), EncodeError> {
    let body = record_body_len(timestamp_delta, offset_delta, parts)?;
    e.varint(body as i32);
    let before = e.len();
    e.i8(attributes);
    e.varlong(timestamp_delta);
    e.varint(offset_delta);
    write_nullable(e, parts.key);
    write_nullable(e, parts.value);
    e.varint(parts.headers.len() as i32);
    for h in parts.headers {
        write_nullable(e, Some(h.key.as_bytes()));
        write_nullable(e, h.value.as_deref());
    }
    debug_assert_eq!(e.len() - before, body);
    Ok(())
}

#[cfg(feature = "arbitrary")]
mod arb {
    use arbitrary::{Result, Unstructured};
    use bytes::Bytes;

    use super::{Attributes, Header, Record, RecordBatch};
    use crate::arb::Arb;
    use crate::records::{Compression, TimestampType};

    impl Arb for Header {
        fn arb(u: &mut Unstructured<'_>) -> Result<Self> {
            Ok(Self {
                key: String::arb(u)?,
                value: Option::<Bytes>::arb(u)?,
            })
        }
    }

    impl Arb for Record {
        fn arb(u: &mut Unstructured<'_>) -> Result<Self> {
            Ok(Self {
                attributes: i8::arb(u)?,
                timestamp_delta: i64::arb(u)?,
                offset_delta: i32::arb(u)?,
                key: Option::<Bytes>::arb(u)?,
                value: Option::<Bytes>::arb(u)?,
                headers: Vec::<Header>::arb(u)?,
            })
        }
    }

    /// Attributes with a codec this build has, and any unknown high bits.
    impl Arb for Attributes {
        fn arb(u: &mut Unstructured<'_>) -> Result<Self> {
            let available: Vec<Compression> = Compression::ALL
                .into_iter()
                .filter(|c| c.is_available())
                .collect();
            Ok(Self {
                compression: *u.choose(&available)?,
                timestamp_type: if bool::arb(u)? {
                    TimestampType::LogAppendTime
                } else {
                    TimestampType::CreateTime
                },
                transactional: bool::arb(u)?,
                control: bool::arb(u)?,
                delete_horizon: bool::arb(u)?,
                unknown_bits: i16::arb(u)? & !Self::KNOWN,
            })
        }
    }

    /// Batches of up to eight records.
    impl Arb for RecordBatch {
        fn arb(u: &mut Unstructured<'_>) -> Result<Self> {
            let mut batch = Self {
                base_offset: i64::arb(u)?,
                partition_leader_epoch: i32::arb(u)?,
                attributes: Attributes::arb(u)?,
                last_offset_delta: i32::arb(u)?,
                base_timestamp: i64::arb(u)?,
                max_timestamp: i64::arb(u)?,
                producer_id: i64::arb(u)?,
                producer_epoch: i16::arb(u)?,
                base_sequence: i32::arb(u)?,
                records: Vec::new(),
            };
            let n = u.int_in_range(0..=8)?;
            for _ in 0..n {
                if u.is_empty() {
                    break;
                }
                batch.records.push(Record::arb(u)?);
            }
            Ok(batch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_lengths_match_the_encoder() {
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            -65,
            8191,
            8192,
            i32::MAX as i64,
            i32::MIN as i64,
            i64::MAX,
            i64::MIN,
        ] {
            let mut e = Encoder::new();
            e.varlong(v);
            assert_eq!(varlong_len(v), e.len(), "{v}");
            if let Ok(v32) = i32::try_from(v) {
                let mut e = Encoder::new();
                e.varint(v32);
                assert_eq!(varint_len(v32), e.len(), "{v}");
            }
        }
    }

    #[test]
    fn attributes_bits_roundtrip() {
        for bits in [0i16, 1, 2, 3, 4, 0x08, 0x10, 0x20, 0x40, 0x7c, -0x80 | 0x33] {
            assert_eq!(Attributes::from_bits(bits).unwrap().to_bits(), bits);
        }
        assert_eq!(
            Attributes::from_bits(5),
            Err(DecodeErrorKind::UnknownCompression(5))
        );
        assert_eq!(
            Attributes::from_bits(7),
            Err(DecodeErrorKind::UnknownCompression(7))
        );
    }

    #[test]
    fn a_decoded_record_is_about_100_bytes() {
        // The module docs' memory note depends on it.
        assert!(size_of::<Record>() <= 112, "{}", size_of::<Record>());
    }

    #[test]
    fn last_sequence_wraps_like_the_broker() {
        let mut b = RecordBatch {
            base_sequence: 5,
            last_offset_delta: 3,
            ..RecordBatch::default()
        };
        assert_eq!(b.last_sequence(), 8);
        b.base_sequence = i32::MAX - 1;
        assert_eq!(b.last_sequence(), 1);
        b.base_sequence = -1;
        assert_eq!(b.last_sequence(), -1);
    }
}
