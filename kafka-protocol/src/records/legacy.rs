//! MessageSet v0/v1 (magic 0 and 1), the format before Kafka 0.11: decode only.
//!
//! ```text
//! MessageSet => [offset int64, messageSize int32, Message]
//! Message    => crc uint32 (CRC32 of magic..end), magic int8, attributes int8
//!               (bits 0-2 compression, bit 3 timestamp type, magic 1), timestamp int64 (magic 1),
//!               key bytes (int32 length, -1 null), value bytes (int32 length, -1 null)
//! ```
//!
//! A compressed message is a *wrapper*: its value, once decompressed, is a whole message set of
//! uncompressed messages. In magic 0 the inner offsets are absolute; in magic 1 they are relative
//! (0, 1, ...), and the wrapper's offset is the absolute offset of the last inner message
//! (KIP-31). Under log-append time a magic 1 wrapper's timestamp applies to every inner message.
//!
//! References: the "Message Sets (legacy)" section of the Kafka documentation; KIP-31 (relative
//! offsets); KIP-32 (timestamps, magic 1); KIP-57 (the LZ4 header checksum of magic 0); Apache
//! Kafka's `LegacyRecord.java` and `AbstractLegacyRecordBatch.java`.

use bytes::Bytes;

use super::batch::LOG_OVERHEAD;
use super::compression::fix_legacy_lz4_header;
use super::{Compression, DecodeOptions, TimestampType};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::primitives::Decoder;

/// The smallest magic 0 message: CRC, magic, attributes, two -1 lengths.
const MIN_MESSAGE_V0: usize = 14;

/// One message of a legacy entry, with its absolute offset.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LegacyMessage {
    /// The absolute offset.
    pub offset: i64,
    /// The timestamp; -1 in magic 0.
    pub timestamp: i64,
    /// How the timestamp was set; [`TimestampType::NoTimestamp`] in magic 0.
    pub timestamp_type: TimestampType,
    /// The key; `None` is null. A slice of the input when the entry was not compressed.
    pub key: Option<Bytes>,
    /// The value; `None` is null.
    pub value: Option<Bytes>,
}

/// One top-level entry of a legacy message set: a single message, or a compressed wrapper
/// expanded to its inner messages.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LegacyBatch {
    /// The entry's magic, 0 or 1.
    pub magic: i8,
    /// The entry's offset: for a wrapper, the offset of its last inner message.
    pub offset: i64,
    /// The wrapper's compression ([`Compression::None`] for a single message).
    pub compression: Compression,
    /// The messages, in order, with absolute offsets.
    pub messages: Vec<LegacyMessage>,
}

/// A message as on the wire, before offsets and timestamps are resolved.
struct RawMessage {
    magic: i8,
    attributes: i8,
    timestamp: i64,
    key: Option<Bytes>,
    value: Option<Bytes>,
}

impl RawMessage {
    fn compression_id(&self) -> u8 {
        (self.attributes & 0x07) as u8
    }

    fn timestamp_type(&self) -> TimestampType {
        match (self.magic, self.attributes & 0x08 != 0) {
            (0, _) => TimestampType::NoTimestamp,
            (_, true) => TimestampType::LogAppendTime,
            (_, false) => TimestampType::CreateTime,
        }
    }
}

impl LegacyBatch {
    /// Decodes exactly one legacy entry (offset, size, message) with the default options.
    pub fn decode(bytes: Bytes) -> Result<Self, DecodeError> {
        Self::decode_with(bytes, &DecodeOptions::default())
    }

    /// Decodes exactly one legacy entry: trailing bytes are an error.
    pub fn decode_with(bytes: Bytes, options: &DecodeOptions) -> Result<Self, DecodeError> {
        let mut d = Decoder::new(bytes);
        let batch = Self::decode_from(&mut d, options)?;
        d.finish()?;
        Ok(batch)
    }

    /// Reads one legacy entry from `d`, which moves past it.
    pub fn decode_from(d: &mut Decoder, options: &DecodeOptions) -> Result<Self, DecodeError> {
        let entry_at = d.offset();
        let (offset, message) = read_entry(d, options)?;
        let magic = message.magic;
        let compression_id = message.compression_id();
        let compression = match Compression::from_id(compression_id) {
            Some(Compression::Zstd) => {
                return Err(DecodeError::new(
                    DecodeErrorKind::Invalid("zstd compression needs magic 2"),
                    entry_at,
                ))
            }
            Some(c) => c,
            None => {
                return Err(DecodeError::new(
                    DecodeErrorKind::UnknownCompression(compression_id),
                    entry_at,
                ))
            }
        };
        let timestamp_type = message.timestamp_type();
        if compression == Compression::None {
            return Ok(Self {
                magic,
                offset,
                compression,
                messages: vec![LegacyMessage {
                    offset,
                    timestamp: message.timestamp,
                    timestamp_type,
                    key: message.key,
                    value: message.value,
                }],
            });
        }

        let invalid = |why| DecodeError::new(DecodeErrorKind::Invalid(why), entry_at);
        let compressed = message
            .value
            .ok_or_else(|| invalid("compressed message without a value"))?;
        let fixed;
        let input: &[u8] = if magic == 0 && compression == Compression::Lz4 {
            fixed = fix_legacy_lz4_header(&compressed);
            &fixed
        } else {
            &compressed
        };
        let data = compression
            .decompress(input, options.max_decompressed_size)
            .map_err(|k| DecodeError::new(k, entry_at).within("value"))?;

        // Offsets in errors below count from the start of the decompressed data.
        let mut inner = Decoder::new(Bytes::from(data));
        // Reserved for the most entries the bytes could hold, counted in memory, so no more than the
        // decompressed bytes themselves.
        let min_entry = LOG_OVERHEAD + MIN_MESSAGE_V0;
        let per_entry = min_entry.max(size_of::<(i64, RawMessage)>());
        let mut raw = Vec::with_capacity(inner.capacity_for(usize::MAX, per_entry));
        while inner.remaining() > 0 {
            let at = inner.offset();
            let (inner_offset, m) = read_entry(&mut inner, options).map_err(|e| e.within("decompressed"))?;
            if m.compression_id() != 0 {
                return Err(DecodeError::new(
                    DecodeErrorKind::Invalid("a compressed message inside a compressed message"),
                    at,
                )
                .within("decompressed"));
            }
            raw.push((inner_offset, m));
        }
        let Some(&(last_inner, _)) = raw.last() else {
            return Err(invalid("compressed message set with no messages"));
        };
        // Magic 1 wrappers carry relative inner offsets; the wrapper's is the last one's absolute.
        // A wrapper offset before that (a producer's, before the broker assigned offsets: 0) leaves
        // the inner offsets as they are, as the Java and Python clients do.
        let base = match offset.checked_sub(last_inner) {
            Some(base) if magic >= 1 && base >= 0 => base,
            _ => 0,
        };
        let mut messages = Vec::with_capacity(raw.len());
        for (inner_offset, m) in raw {
            let absolute = base
                .checked_add(inner_offset)
                .ok_or_else(|| invalid("inner message offset out of range"))?;
            let (timestamp, timestamp_type) = if magic >= 1 && timestamp_type == TimestampType::LogAppendTime
            {
                (message.timestamp, TimestampType::LogAppendTime)
            } else {
                (m.timestamp, m.timestamp_type())
            };
            messages.push(LegacyMessage {
                offset: absolute,
                timestamp,
                timestamp_type,
                key: m.key,
                value: m.value,
            });
        }
        Ok(Self {
            magic,
            offset,
            compression,
            messages,
        })
    }

    /// The offset of the first message.
    pub fn base_offset(&self) -> i64 {
        self.messages.first().map_or(self.offset, |m| m.offset)
    }

    /// The offset of the last message (the entry's own offset).
    pub fn last_offset(&self) -> i64 {
        self.messages.last().map_or(self.offset, |m| m.offset)
    }
}

/// Reads an entry: offset, size, and a message of exactly that size.
fn read_entry(d: &mut Decoder, options: &DecodeOptions) -> Result<(i64, RawMessage), DecodeError> {
    let offset = d.i64()?;
    let size_at = d.offset();
    let size = d.i32()?;
    if size < MIN_MESSAGE_V0 as i32 {
        return Err(DecodeError::new(
            DecodeErrorKind::InvalidLength(size.into()),
            size_at,
        ));
    }
    let mut m = d.sub(size as usize)?;
    let message = read_message(&mut m, options)?;
    m.finish()?;
    Ok((offset, message))
}

fn read_message(d: &mut Decoder, options: &DecodeOptions) -> Result<RawMessage, DecodeError> {
    let crc_at = d.offset();
    let expected = d.u32()?;
    if options.verify_crc {
        let actual = crc32fast::hash(d.peek());
        if actual != expected {
            return Err(DecodeError::new(
                DecodeErrorKind::CrcMismatch { expected, actual },
                crc_at,
            ));
        }
    }
    let magic_at = d.offset();
    let magic = d.i8()?;
    if !(0..=1).contains(&magic) {
        return Err(DecodeError::new(DecodeErrorKind::InvalidMagic(magic), magic_at));
    }
    let attributes = d.i8()?;
    let timestamp = if magic == 1 { d.i64()? } else { -1 };
    let key = nullable_bytes(d).map_err(|e| e.within("key"))?;
    let value = nullable_bytes(d).map_err(|e| e.within("value"))?;
    Ok(RawMessage {
        magic,
        attributes,
        timestamp,
        key,
        value,
    })
}

/// An int32-length byte string, -1 for null; below -1 is an error.
fn nullable_bytes(d: &mut Decoder) -> Result<Option<Bytes>, DecodeError> {
    match d.bytes_len(false)? {
        None => Ok(None),
        Some(n) => d.take(n).map(Some),
    }
}
