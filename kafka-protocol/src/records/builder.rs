//! The producer's side: a v2 batch written record by record.
//!
//! The builder reserves the 61-byte header, writes each record (uncompressed) right behind it as
//! it is appended, so its size is known exactly at any time (for `batch.size` and
//! `max.request.size` decisions), and on [`RecordBatchBuilder::finish`] compresses the records
//! once, then patches the header: length, count, timestamps, and last the CRC32C.
//!
//! References: Apache Kafka's `MemoryRecordsBuilder.java`; KIP-98 (producer id, epoch, sequence,
//! transactional batches).

use bytes::{BufMut, Bytes, BytesMut};

use super::batch::{self, RecordParts, HEADER_SIZE};
use super::{Attributes, BatchEncodeError, BatchHeader, Compression, Header, TimestampType};
use crate::error::EncodeError;
use crate::primitives::Encoder;

/// Builds one v2 batch from appended records.
#[derive(Debug)]
pub struct RecordBatchBuilder {
    attributes: Attributes,
    base_offset: i64,
    partition_leader_epoch: i32,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    base_timestamp: Option<i64>,
    max_timestamp: i64,
    count: i32,
    /// The reserved header, then the records as written, uncompressed.
    buf: Encoder,
}

impl RecordBatchBuilder {
    /// An empty batch compressed with `compression`, base offset 0, no producer id (-1), create
    /// time. Whether the codec is in this build is checked by [`Self::finish`]; ask
    /// [`Compression::is_available`] to know before.
    pub fn new(compression: Compression) -> Self {
        let mut buf = BytesMut::with_capacity(1024);
        buf.put_bytes(0, HEADER_SIZE);
        Self {
            attributes: Attributes {
                compression,
                ..Attributes::default()
            },
            base_offset: 0,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            base_timestamp: None,
            max_timestamp: -1,
            count: 0,
            buf: Encoder::from_buf(buf),
        }
    }

    /// Sets the base offset (a broker assigning offsets; producers leave 0).
    #[must_use]
    pub fn with_base_offset(mut self, base_offset: i64) -> Self {
        self.base_offset = base_offset;
        self
    }

    /// Sets the partition leader epoch (a broker; producers leave -1).
    #[must_use]
    pub fn with_partition_leader_epoch(mut self, epoch: i32) -> Self {
        self.partition_leader_epoch = epoch;
        self
    }

    /// Sets the idempotent producer's id, epoch and the sequence number of the first record.
    #[must_use]
    pub fn with_producer(mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Self {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self
    }

    /// Marks the batch as part of a transaction.
    #[must_use]
    pub fn with_transactional(mut self, transactional: bool) -> Self {
        self.attributes.transactional = transactional;
        self
    }

    /// Sets the timestamp type (a broker rewriting to log-append time; producers leave create time).
    #[must_use]
    pub fn with_timestamp_type(mut self, timestamp_type: TimestampType) -> Self {
        self.attributes.timestamp_type = timestamp_type;
        self
    }

    /// Appends a record and returns its offset delta. The first record's timestamp is the base
    /// the others' deltas are from. On error (a payload over 2 GiB, more than `i32::MAX` records)
    /// nothing is appended.
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> Result<i32, BatchEncodeError> {
        let offset_delta = self.count;
        let next = offset_delta.checked_add(1).ok_or(EncodeError::TooLong {
            field: "records",
            len: self.count as usize + 1,
        })?;
        let base = *self.base_timestamp.get_or_insert(timestamp);
        let parts = RecordParts { key, value, headers };
        batch::write_record(
            &mut self.buf,
            0,
            timestamp.wrapping_sub(base),
            offset_delta,
            parts,
        )?;
        self.count = next;
        self.max_timestamp = self.max_timestamp.max(timestamp);
        Ok(offset_delta)
    }

    /// The number of records appended.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether no record was appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The size of the batch if it were finished uncompressed now: header and records. A
    /// compressed batch is usually smaller.
    pub fn uncompressed_size(&self) -> usize {
        self.buf.len()
    }

    /// Whether a record would keep the uncompressed batch within `max_bytes`. An empty batch
    /// always has room (as in the Java client, a record larger than the limit goes alone).
    pub fn has_room_for(
        &self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
        max_bytes: usize,
    ) -> bool {
        if self.is_empty() {
            return true;
        }
        let delta = timestamp.wrapping_sub(self.base_timestamp.unwrap_or(timestamp));
        let parts = RecordParts { key, value, headers };
        match batch::record_len(delta, self.count, parts) {
            Ok(len) => self.buf.len().saturating_add(len) <= max_bytes,
            Err(_) => false,
        }
    }

    /// The finished batch: records compressed, header filled in, CRC computed.
    pub fn finish(self) -> Result<Bytes, BatchEncodeError> {
        let compression = self.attributes.compression;
        let header = BatchHeader {
            base_offset: self.base_offset,
            partition_leader_epoch: self.partition_leader_epoch,
            attributes: self.attributes,
            last_offset_delta: (self.count - 1).max(0),
            base_timestamp: self.base_timestamp.unwrap_or(-1),
            max_timestamp: self.max_timestamp,
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            base_sequence: self.base_sequence,
        };
        let count = self.count;
        let mut buf = self.buf.into_inner();
        if compression == Compression::None {
            header.patch(count, &mut buf)?;
            return Ok(buf.freeze());
        }
        if !compression.is_available() {
            return Err(BatchEncodeError::CompressionUnavailable(compression));
        }
        let mut out = BytesMut::with_capacity(buf.len() / 2 + HEADER_SIZE);
        out.put_bytes(0, HEADER_SIZE);
        compression.compress(&buf[HEADER_SIZE..], &mut out)?;
        header.patch(count, &mut out)?;
        Ok(out.freeze())
    }
}
