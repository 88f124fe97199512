//! Record batches: the `records` bytes of Produce requests and Fetch responses.
//!
//! Kafka stores and ships records in batches. Since Kafka 0.11 a batch is a **RecordBatch v2** (magic
//! 2): a 61-byte header (offsets, a CRC32C, attributes, timestamps, the producer's id, epoch and
//! sequence) and then the records, each a run of varints, possibly compressed as one block. Older
//! logs may still hold **MessageSet v0/v1** entries (magic 0 and 1): one message each, with a CRC32,
//! or a compressed "wrapper" message whose value is a whole inner message set. Byte 16 of every
//! entry is its magic, so both kinds can sit back to back in one `records` byte string.
//!
//! - [`RecordBatch`] / [`Record`] / [`Header`]: decode and encode of v2 batches; decoding an
//!   uncompressed batch hands out keys and values as slices of the input (no copy).
//! - [`RecordBatchView`] / [`RecordView`] / [`HeaderView`]: the lazy, borrowed reading of a v2
//!   batch. The header, CRC and decompression are handled once when the view is made; each record
//!   is decoded when the iteration reaches it, its key, value and headers `&[u8]` slices of the
//!   batch's bytes (no allocation and no reference count per record), made owned [`Bytes`] only
//!   on request. The owned decode is built on it, so both read the same bytes the same way.
//! - [`RecordBatchBuilder`]: the producer's side, a batch written record by record with a chosen
//!   [`Compression`]; the header is reserved first and patched at the end (length and CRC).
//! - [`RecordBatches`]: iterates every batch of a Fetch response's `records`; a partial batch at the
//!   end (legal, the broker cuts at the byte limit) ends the iteration and is reported by
//!   [`RecordBatches::incomplete`], not as an error. It yields owned [`Batch`]es, whose
//!   [`Batch::into_records`] moves out [`ConsumerRecord`]s; [`RecordBatches::views`] yields
//!   [`BatchView`]s instead, whose [`BatchView::records`] is the fastest way through a fetch.
//! - [`ControlRecord`]: the typed commit/abort markers of transactional control batches.
//! - [`LegacyBatch`]: MessageSet v0/v1 decoding, compressed wrappers included.
//!
//! Hostile input never panics and never makes a large allocation: counts are capped by the bytes
//! that back them, decompressed output is bounded by [`DecodeOptions::max_decompressed_size`], and
//! CRCs are checked by default ([`DecodeErrorKind::CrcMismatch`] carries both values).
//!
//! Memory note: a decoded [`Record`] takes about 100 bytes besides its payload (which it shares
//! with the input or the decompressed buffer), so a batch of tiny records costs up to ~15 times its
//! decompressed size once decoded: size [`DecodeOptions::max_decompressed_size`] with that in mind.
//! A view costs its decompressed size and nothing per record.
//!
//! ```
//! use kwire_protocol::records::{Compression, RecordBatchBuilder, RecordBatches};
//!
//! let mut builder = RecordBatchBuilder::new(Compression::None);
//! builder.append(1_700_000_000_000, Some(b"key"), Some(b"value"), &[]).unwrap();
//! builder.append(1_700_000_000_001, None, Some(b"second"), &[]).unwrap();
//! let records = builder.finish().unwrap();
//!
//! let mut batches = RecordBatches::new(records.clone());
//! let mut values = Vec::new();
//! for batch in &mut batches {
//!     for record in batch.unwrap().into_records() {
//!         values.push((record.offset, record.value.unwrap()));
//!     }
//! }
//! assert_eq!(values, [(0, "value".into()), (1, "second".into())]);
//! assert!(batches.incomplete().is_none());
//!
//! // The same records, borrowed: nothing is allocated per record.
//! let mut batches = RecordBatches::new(records);
//! let mut lengths = Vec::new();
//! for batch in batches.views() {
//!     for record in batch.unwrap().records() {
//!         let record = record.unwrap();
//!         lengths.push((record.offset, record.value.map_or(0, <[u8]>::len)));
//!     }
//! }
//! assert_eq!(lengths, [(0, 5), (1, 6)]);
//! ```
//!
//! References: the "Record Batch" and "Message Sets (legacy)" sections of the Kafka protocol
//! documentation (kafka.apache.org/documentation/#recordbatch); KIP-98 (exactly-once delivery:
//! RecordBatch v2, producer id/epoch/sequence, transactional and control batches); KIP-32 (message
//! timestamps, magic 1); KIP-31 (relative offsets in compressed v1 wrappers); KIP-57 (the LZ4
//! frame checksum of magic 0); KIP-110 (zstd); KIP-534 (the delete-horizon attribute); KIP-74 (a
//! batch larger than the fetch limit is still returned whole).

mod batch;
mod batches;
mod builder;
mod compression;
mod control;
mod legacy;
mod reader;
mod view;

#[cfg(doc)]
use bytes::Bytes;

use crate::error::EncodeError;

pub use batch::{Attributes, BatchHeader, Header, Record, RecordBatch};
pub use batches::{Batch, BatchView, BatchViews, ConsumerRecord, Incomplete, IntoRecords, RecordBatches};
pub use builder::RecordBatchBuilder;
pub use compression::{Compression, ParseCompressionError};
pub use control::ControlRecord;
pub use legacy::{LegacyBatch, LegacyMessage};
pub use view::{HeaderView, HeaderViews, RecordBatchView, RecordView, RecordViews};

#[cfg(doc)]
use crate::error::DecodeErrorKind;

/// How a record's timestamp was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// No timestamp: MessageSet v0 messages only. A v2 batch writes it as [`Self::CreateTime`].
    NoTimestamp,
    /// Set by the producer when the record was made.
    #[default]
    CreateTime,
    /// Set by the broker when the batch was appended to the log; every record of the batch then
    /// has the batch's max timestamp.
    LogAppendTime,
}

/// Limits and checks applied while decoding record batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// The most bytes one compressed batch (or legacy wrapper message) may decompress to; more is
    /// [`DecodeErrorKind::TooLarge`], found without inflating the rest. Default
    /// [`Self::DEFAULT_MAX_DECOMPRESSED_SIZE`].
    pub max_decompressed_size: usize,
    /// Whether to check each batch's CRC (CRC32C for v2, CRC32 for v0/v1). Default true, as the
    /// Java client's `check.crcs`.
    pub verify_crc: bool,
}

impl DecodeOptions {
    /// The default bound on one batch's decompressed size: 64 MiB.
    pub const DEFAULT_MAX_DECOMPRESSED_SIZE: usize = 64 << 20;

    /// The defaults: a 64 MiB decompression bound and CRC checks on.
    pub const fn new() -> Self {
        Self {
            max_decompressed_size: Self::DEFAULT_MAX_DECOMPRESSED_SIZE,
            verify_crc: true,
        }
    }

    /// The same options with another decompression bound.
    #[must_use]
    pub const fn with_max_decompressed_size(self, max_decompressed_size: usize) -> Self {
        Self {
            max_decompressed_size,
            ..self
        }
    }

    /// The same options with CRC checks on or off.
    #[must_use]
    pub const fn with_verify_crc(self, verify_crc: bool) -> Self {
        Self { verify_crc, ..self }
    }
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a record batch could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchEncodeError {
    /// A field too long for its length prefix (a key, value or header over 2 GiB, a batch over
    /// 2 GiB, more than `i32::MAX` records).
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The batch asks for a codec this build leaves out (its `compression-*` cargo feature is off).
    #[error("compression codec {} is not enabled in this build (cargo feature compression-{})", .0.name(), .0.name())]
    CompressionUnavailable(Compression),
    /// The compressor failed (it does not when writing to memory; kept so no failure is hidden).
    #[error("compression failed: {0}")]
    Compress(String),
}
