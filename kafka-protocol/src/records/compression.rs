//! The compression codecs of record batches, all pure Rust, each behind a `compression-*` feature.
//!
//! | id | codec  | crate        | on the wire                                                        |
//! |----|--------|--------------|--------------------------------------------------------------------|
//! | 0  | none   |              |                                                                    |
//! | 1  | gzip   | `flate2` (miniz_oxide) | a gzip stream (several members are read as one)          |
//! | 2  | snappy | `snap`       | raw snappy on encode; raw or xerial-framed (Java's) on decode      |
//! | 3  | lz4    | `lz4_flex`   | the LZ4 frame format, independent 64 KiB blocks                    |
//! | 4  | zstd   | `ruzstd`     | one zstd frame; encode is ruzstd's "fastest" level (about zstd -1) |
//!
//! Every decoder's output is bounded: more than the limit is [`DecodeErrorKind::TooLarge`], found
//! after at most the limit plus one read's worth of output, so a decompression bomb costs no more
//! than the limit. Snappy's declared lengths are checked before anything is allocated.
//!
//! References: KIP-110 (zstd); KIP-57 (LZ4 frame checksum); the xerial snappy-java stream format
//! (`SnappyCodec` header: magic `\x82SNAPPY\0`, version and compatible version as int32s, then
//! blocks of int32 length + raw snappy); the LZ4 frame format (lz4/doc/lz4_Frame_format.md).

use std::fmt;
use std::str::FromStr;

use bytes::BytesMut;

use super::BatchEncodeError;
use crate::error::DecodeErrorKind;

/// A record batch compression codec: bits 0-2 of the batch attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Compression {
    /// No compression.
    #[default]
    None,
    /// gzip (id 1).
    Gzip,
    /// Snappy (id 2).
    Snappy,
    /// LZ4 frames (id 3).
    Lz4,
    /// Zstandard (id 4, magic 2 only).
    Zstd,
}

impl Compression {
    /// Every codec, in id order.
    pub const ALL: [Self; 5] = [Self::None, Self::Gzip, Self::Snappy, Self::Lz4, Self::Zstd];

    /// The codec with attribute id `id`, if there is one.
    pub const fn from_id(id: u8) -> Option<Self> {
        match id {
            0 => Some(Self::None),
            1 => Some(Self::Gzip),
            2 => Some(Self::Snappy),
            3 => Some(Self::Lz4),
            4 => Some(Self::Zstd),
            _ => None,
        }
    }

    /// The codec's attribute id.
    pub const fn id(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Gzip => 1,
            Self::Snappy => 2,
            Self::Lz4 => 3,
            Self::Zstd => 4,
        }
    }

    /// What a decode error inside this codec's compressed records is said to be in (its path):
    /// "gzip-compressed records", so the error names the codec.
    pub const fn compressed_records(self) -> &'static str {
        match self {
            Self::None => "records",
            Self::Gzip => "gzip-compressed records",
            Self::Snappy => "snappy-compressed records",
            Self::Lz4 => "lz4-compressed records",
            Self::Zstd => "zstd-compressed records",
        }
    }

    /// The codec's name as Kafka's `compression.type` spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Snappy => "snappy",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
        }
    }

    /// Whether this build can compress and decompress with the codec (its feature is on).
    pub const fn is_available(self) -> bool {
        match self {
            Self::None => true,
            Self::Gzip => cfg!(feature = "compression-gzip"),
            Self::Snappy => cfg!(feature = "compression-snappy"),
            Self::Lz4 => cfg!(feature = "compression-lz4"),
            Self::Zstd => cfg!(feature = "compression-zstd"),
        }
    }

    /// Compresses `input` and appends the result to `out`.
    pub fn compress(self, input: &[u8], out: &mut BytesMut) -> Result<(), BatchEncodeError> {
        match self {
            Self::None => {
                out.extend_from_slice(input);
                Ok(())
            }
            #[cfg(feature = "compression-gzip")]
            Self::Gzip => codecs::gzip(input, out),
            #[cfg(feature = "compression-snappy")]
            Self::Snappy => codecs::snappy(input, out),
            #[cfg(feature = "compression-lz4")]
            Self::Lz4 => codecs::lz4(input, out),
            #[cfg(feature = "compression-zstd")]
            Self::Zstd => codecs::zstd(input, out),
            #[allow(unreachable_patterns)]
            other => Err(BatchEncodeError::CompressionUnavailable(other)),
        }
    }

    /// Decompresses `input`, failing with [`DecodeErrorKind::TooLarge`] as soon as the output
    /// would pass `limit` bytes.
    pub fn decompress(self, input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeErrorKind> {
        match self {
            Self::None => {
                if input.len() > limit {
                    return Err(DecodeErrorKind::TooLarge {
                        limit,
                        actual: input.len(),
                    });
                }
                Ok(input.to_vec())
            }
            #[cfg(feature = "compression-gzip")]
            Self::Gzip => guarded(|| codecs::gunzip(input, limit)),
            #[cfg(feature = "compression-snappy")]
            Self::Snappy => guarded(|| codecs::unsnappy(input, limit)),
            #[cfg(feature = "compression-lz4")]
            Self::Lz4 => guarded(|| codecs::unlz4(input, limit)),
            #[cfg(feature = "compression-zstd")]
            Self::Zstd => guarded(|| codecs::unzstd(input, limit)),
            #[allow(unreachable_patterns)]
            other => Err(DecodeErrorKind::CompressionUnavailable(other.name())),
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `compression.type` name that is not one of none, gzip, snappy, lz4, zstd.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown compression type {0:?}: expected none, gzip, snappy, lz4 or zstd")]
pub struct ParseCompressionError(pub String);

impl FromStr for Compression {
    type Err = ParseCompressionError;

    /// Parses a `compression.type` name, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseCompressionError(s.to_owned()))
    }
}

/// Runs a third-party decoder so that a bug of its (a panic on some input) becomes a decode error
/// rather than taking the caller down: the decoders see hostile bytes.
#[cfg(any(
    feature = "compression-gzip",
    feature = "compression-snappy",
    feature = "compression-lz4",
    feature = "compression-zstd"
))]
fn guarded(f: impl FnOnce() -> Result<Vec<u8>, DecodeErrorKind>) -> Result<Vec<u8>, DecodeErrorKind> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(DecodeErrorKind::Decompress("the decoder panicked".into())))
}

/// Rewrites the header checksum of an LZ4 frame written for a magic 0 message, which Kafka before
/// KIP-57 computed over the magic number too, so that a standard decoder accepts it. Input that is
/// not an LZ4 frame is returned unchanged (the decoder then reports it).
pub(crate) fn fix_legacy_lz4_header(input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    const MAGIC: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];
    let Some(&flg) = input.get(4) else {
        return out;
    };
    if input.get(..4) != Some(&MAGIC[..]) {
        return out;
    }
    // FLG, BD, then an 8-byte content size (FLG bit 3) and a 4-byte dictionary id (FLG bit 0).
    let mut end = 6;
    if flg & 0x08 != 0 {
        end += 8;
    }
    if flg & 0x01 != 0 {
        end += 4;
    }
    if let (Some(descriptor), true) = (input.get(4..end), end < input.len()) {
        out[end] = (xxh32(descriptor, 0) >> 8) as u8;
    }
    out
}

/// XXH32, the checksum of LZ4 frames: of the frame descriptor (its second byte), of each block
/// and of the whole content, when the frame's flags ask for them.
pub(crate) fn xxh32(data: &[u8], seed: u32) -> u32 {
    const P1: u32 = 0x9E37_79B1;
    const P2: u32 = 0x85EB_CA77;
    const P3: u32 = 0xC2B2_AE3D;
    const P4: u32 = 0x27D4_EB2F;
    const P5: u32 = 0x1656_67B1;
    // `chunks_exact(4)` hands out 4-byte words only.
    let word = |w: &[u8]| <[u8; 4]>::try_from(w).map_or(0, u32::from_le_bytes);
    let mut stripes = data.chunks_exact(16);
    let mut h = if data.len() >= 16 {
        let mut v = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        for stripe in &mut stripes {
            for (lane, w) in v.iter_mut().zip(stripe.chunks_exact(4)) {
                *lane = lane
                    .wrapping_add(word(w).wrapping_mul(P2))
                    .rotate_left(13)
                    .wrapping_mul(P1);
            }
        }
        v[0].rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18))
    } else {
        seed.wrapping_add(P5)
    };
    // The length modulo 2^32, as the specification has it.
    h = h.wrapping_add(data.len() as u32);
    let mut words = stripes.remainder().chunks_exact(4);
    for w in &mut words {
        h = h
            .wrapping_add(word(w).wrapping_mul(P3))
            .rotate_left(17)
            .wrapping_mul(P4);
    }
    for &b in words.remainder() {
        h = h
            .wrapping_add(u32::from(b).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    h ^= h >> 15;
    h = h.wrapping_mul(P2);
    h ^= h >> 13;
    h = h.wrapping_mul(P3);
    h ^= h >> 16;
    h
}

#[cfg(any(
    feature = "compression-gzip",
    feature = "compression-snappy",
    feature = "compression-lz4",
    feature = "compression-zstd"
))]
mod codecs {
    use bytes::BytesMut;

    use super::super::BatchEncodeError;
    use crate::error::DecodeErrorKind;

    fn decompress_error(e: impl std::fmt::Display) -> DecodeErrorKind {
        DecodeErrorKind::Decompress(e.to_string())
    }

    #[cfg(any(
        feature = "compression-gzip",
        feature = "compression-snappy",
        feature = "compression-lz4"
    ))]
    fn compress_error(e: impl std::fmt::Display) -> BatchEncodeError {
        BatchEncodeError::Compress(e.to_string())
    }

    /// Reads `r` to its end, but never more than `limit` bytes: one byte more is
    /// [`DecodeErrorKind::TooLarge`]. The buffer grows with the output, never from a declared size.
    #[cfg(any(
        feature = "compression-gzip",
        feature = "compression-lz4",
        feature = "compression-zstd"
    ))]
    fn read_bounded(
        r: impl std::io::Read,
        limit: usize,
        input_len: usize,
    ) -> Result<Vec<u8>, DecodeErrorKind> {
        use std::io::Read;

        // Compressed batches usually inflate a few times; start there, but within the limit.
        let mut out = Vec::with_capacity(input_len.saturating_mul(4).min(limit).min(1 << 20));
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        r.take(cap).read_to_end(&mut out).map_err(decompress_error)?;
        if out.len() > limit {
            return Err(DecodeErrorKind::TooLarge {
                limit,
                actual: out.len(),
            });
        }
        Ok(out)
    }

    #[cfg(feature = "compression-gzip")]
    pub(super) fn gzip(input: &[u8], out: &mut BytesMut) -> Result<(), BatchEncodeError> {
        use bytes::BufMut;
        use std::io::Write;

        let mut enc = flate2::write::GzEncoder::new(out.writer(), flate2::Compression::default());
        enc.write_all(input).map_err(compress_error)?;
        enc.finish().map_err(compress_error)?;
        Ok(())
    }

    #[cfg(feature = "compression-gzip")]
    pub(super) fn gunzip(input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeErrorKind> {
        read_bounded(flate2::read::MultiGzDecoder::new(input), limit, input.len())
    }

    /// The header of snappy-java's stream format, which the Java client writes.
    #[cfg(feature = "compression-snappy")]
    const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];

    #[cfg(feature = "compression-snappy")]
    pub(super) fn snappy(input: &[u8], out: &mut BytesMut) -> Result<(), BatchEncodeError> {
        let max = snap::raw::max_compress_len(input.len());
        if max == 0 && !input.is_empty() {
            return Err(compress_error("input too large for snappy"));
        }
        let start = out.len();
        out.resize(start + max, 0);
        match snap::raw::Encoder::new().compress(input, &mut out[start..]) {
            Ok(n) => {
                out.truncate(start + n);
                Ok(())
            }
            Err(e) => {
                out.truncate(start);
                Err(compress_error(e))
            }
        }
    }

    #[cfg(feature = "compression-snappy")]
    pub(super) fn unsnappy(input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeErrorKind> {
        let mut out = Vec::new();
        let Some(mut rest) = input.strip_prefix(&XERIAL_MAGIC[..]) else {
            snappy_block(input, &mut out, limit)?;
            return Ok(out);
        };
        // Version and compatible version, then blocks of int32 length + raw snappy.
        rest = rest
            .get(8..)
            .ok_or_else(|| decompress_error("truncated xerial snappy header"))?;
        while !rest.is_empty() {
            let (len, tail) = rest
                .split_first_chunk::<4>()
                .ok_or_else(|| decompress_error("truncated xerial snappy block length"))?;
            let len = usize::try_from(i32::from_be_bytes(*len))
                .map_err(|_| decompress_error("negative xerial snappy block length"))?;
            let block = tail
                .get(..len)
                .ok_or_else(|| decompress_error("truncated xerial snappy block"))?;
            snappy_block(block, &mut out, limit)?;
            rest = &tail[len..];
        }
        Ok(out)
    }

    /// Appends one raw snappy block to `out`, checking its declared length against `limit` before
    /// allocating for it.
    #[cfg(feature = "compression-snappy")]
    fn snappy_block(block: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), DecodeErrorKind> {
        let len = snap::raw::decompress_len(block).map_err(decompress_error)?;
        let total = out.len().saturating_add(len);
        if total > limit {
            return Err(DecodeErrorKind::TooLarge { limit, actual: total });
        }
        let start = out.len();
        out.resize(total, 0);
        let n = snap::raw::Decoder::new()
            .decompress(block, &mut out[start..])
            .map_err(decompress_error)?;
        out.truncate(start + n);
        Ok(())
    }

    #[cfg(feature = "compression-lz4")]
    pub(super) fn lz4(input: &[u8], out: &mut BytesMut) -> Result<(), BatchEncodeError> {
        use bytes::BufMut;
        use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};
        use std::io::Write;

        // Independent 64 KiB blocks, no content size: what Kafka's own LZ4 stream reads.
        let info = FrameInfo::new()
            .block_size(BlockSize::Max64KB)
            .block_mode(BlockMode::Independent);
        let mut enc = FrameEncoder::with_frame_info(info, out.writer());
        enc.write_all(input).map_err(compress_error)?;
        enc.finish().map_err(compress_error)?;
        Ok(())
    }

    /// The magic number that starts an LZ4 frame, little-endian 0x184D2204.
    #[cfg(feature = "compression-lz4")]
    const LZ4_MAGIC: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];

    /// Decodes LZ4 frames, one or more back to back, block by block straight into the output
    /// (lz4_flex's block decoder; its frame reader would decode each block into a buffer of its
    /// own and copy it out). Checks what the frame format has: version and reserved bits, the
    /// header checksum, block sizes within the declared maximum, block checksums, the content
    /// checksum and content size when the flags announce them, and the end mark. Input that is
    /// not a standard frame (the legacy LZ4 format, which Kafka never writes) goes to lz4_flex's
    /// frame reader as before.
    #[cfg(feature = "compression-lz4")]
    pub(super) fn unlz4(input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeErrorKind> {
        if !input.starts_with(&LZ4_MAGIC) {
            return read_bounded(lz4_flex::frame::FrameDecoder::new(input), limit, input.len());
        }
        // Compressed batches usually inflate a few times; start there, within the limit.
        let mut out = Vec::with_capacity(input.len().saturating_mul(4).min(limit));
        let mut written = 0;
        let mut rest = input;
        while !rest.is_empty() {
            rest = lz4_frame(rest, &mut out, &mut written, limit)?;
        }
        out.truncate(written);
        Ok(out)
    }

    #[cfg(feature = "compression-lz4")]
    fn lz4_error(what: &str) -> DecodeErrorKind {
        DecodeErrorKind::Decompress(format!("lz4 frame: {what}"))
    }

    /// Splits `n` bytes off the front of `input`.
    #[cfg(feature = "compression-lz4")]
    fn lz4_take<'a>(input: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], DecodeErrorKind> {
        let (taken, rest) = input
            .split_at_checked(n)
            .ok_or_else(|| lz4_error(&format!("truncated {what}")))?;
        *input = rest;
        Ok(taken)
    }

    #[cfg(feature = "compression-lz4")]
    fn lz4_u32(input: &mut &[u8], what: &str) -> Result<u32, DecodeErrorKind> {
        let (word, rest) = input
            .split_first_chunk::<4>()
            .ok_or_else(|| lz4_error(&format!("truncated {what}")))?;
        *input = rest;
        Ok(u32::from_le_bytes(*word))
    }

    /// Decodes one frame from the start of `input` into `out` at `written`, and returns the
    /// input after it. `out` is kept zero-filled past `written` (safe code cannot decode into
    /// uninitialized memory), and it grows only: each byte is zeroed once.
    #[cfg(feature = "compression-lz4")]
    fn lz4_frame<'a>(
        mut input: &'a [u8],
        out: &mut Vec<u8>,
        written: &mut usize,
        limit: usize,
    ) -> Result<&'a [u8], DecodeErrorKind> {
        use super::xxh32;

        /// How far back a match may reach, so what a linked block may refer to.
        const WINDOW: usize = 64 << 10;
        let frame = input;
        if lz4_take(&mut input, 4, "magic")? != LZ4_MAGIC {
            return Err(lz4_error("bad magic number"));
        }
        let &[flg, bd] = lz4_take(&mut input, 2, "descriptor")? else {
            return Err(lz4_error("truncated descriptor"));
        };
        if flg & 0xc0 != 0x40 {
            return Err(lz4_error("unsupported version"));
        }
        if flg & 0x02 != 0 || bd & 0x8f != 0 {
            return Err(lz4_error("reserved bits set"));
        }
        if flg & 0x01 != 0 {
            return Err(lz4_error("dictionary ids are not supported"));
        }
        let max_block: usize = match bd >> 4 {
            4 => 64 << 10,
            5 => 256 << 10,
            6 => 1 << 20,
            7 => 4 << 20,
            _ => return Err(lz4_error("unsupported block size")),
        };
        let linked = flg & 0x20 == 0;
        let block_checksums = flg & 0x10 != 0;
        let content_size = if flg & 0x08 != 0 {
            let raw = lz4_take(&mut input, 8, "content size")?;
            Some(<[u8; 8]>::try_from(raw).map_or(0, u64::from_le_bytes))
        } else {
            None
        };
        let content_checksum = flg & 0x04 != 0;
        let descriptor_len = frame.len() - input.len();
        let checksum = lz4_take(&mut input, 1, "header checksum")?;
        let descriptor = frame.get(4..descriptor_len).unwrap_or_default();
        if checksum != [(xxh32(descriptor, 0) >> 8) as u8] {
            return Err(lz4_error("header checksum mismatch"));
        }

        let start = *written;
        loop {
            let size = lz4_u32(&mut input, "block size")?;
            if size == 0 {
                break; // the end mark
            }
            let stored = (size & 0x7fff_ffff) as usize;
            if stored > max_block {
                return Err(lz4_error("block larger than the frame's block size"));
            }
            let block = lz4_take(&mut input, stored, "block")?;
            if block_checksums && lz4_u32(&mut input, "block checksum")? != xxh32(block, 0) {
                return Err(lz4_error("block checksum mismatch"));
            }
            let at = *written;
            // Room for a whole block, but never past the limit plus the byte that shows it is
            // passed.
            let room = max_block.min(limit.saturating_sub(at).saturating_add(1));
            if out.len() < at + room {
                out.resize(at + room, 0);
            }
            let (head, tail) = out.split_at_mut(at);
            let tail = tail.get_mut(..room).unwrap_or_default();
            let n = if size & 0x8000_0000 != 0 {
                // Stored uncompressed.
                let dst = tail.get_mut(..stored).ok_or(DecodeErrorKind::TooLarge {
                    limit,
                    actual: at.saturating_add(stored),
                })?;
                dst.copy_from_slice(block);
                stored
            } else {
                let decoded = if linked && at > start {
                    // The previous blocks of this frame, up to 64 KiB back, are the dictionary.
                    let dict = head
                        .get(start.max(at.saturating_sub(WINDOW))..)
                        .unwrap_or_default();
                    lz4_flex::block::decompress_into_with_dict(block, tail, dict)
                } else {
                    lz4_flex::block::decompress_into(block, tail)
                };
                match decoded {
                    Ok(n) => n,
                    Err(lz4_flex::block::DecompressError::OutputTooSmall { .. }) if room < max_block => {
                        return Err(DecodeErrorKind::TooLarge {
                            limit,
                            actual: at + room,
                        })
                    }
                    Err(e) => return Err(decompress_error(e)),
                }
            };
            *written = at + n;
            if *written > limit {
                return Err(DecodeErrorKind::TooLarge {
                    limit,
                    actual: *written,
                });
            }
        }
        let content = out.get(start..*written).unwrap_or_default();
        if content_checksum && lz4_u32(&mut input, "content checksum")? != xxh32(content, 0) {
            return Err(lz4_error("content checksum mismatch"));
        }
        if content_size.is_some_and(|size| size != content.len() as u64) {
            return Err(lz4_error("content size mismatch"));
        }
        Ok(input)
    }

    #[cfg(feature = "compression-zstd")]
    pub(super) fn zstd(input: &[u8], out: &mut BytesMut) -> Result<(), BatchEncodeError> {
        use bytes::BufMut;

        // ruzstd 0.9 implements only the Uncompressed and Fastest levels; Fastest is about zstd -1.
        ruzstd::encoding::compress(input, out.writer(), ruzstd::encoding::CompressionLevel::Fastest);
        Ok(())
    }

    #[cfg(feature = "compression-zstd")]
    pub(super) fn unzstd(input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeErrorKind> {
        // The decoder reserves the frame's declared window up front: allow what real producers use
        // (8 MiB covers every level of zstd without long mode), or the output limit if larger, but
        // never more than ruzstd's own default bound.
        let window = u64::try_from(limit)
            .unwrap_or(u64::MAX)
            .clamp(8 << 20, ruzstd::decoding::DEFAULT_MAX_WINDOW_SIZE);
        let dec = ruzstd::decoding::StreamingDecoder::new_with_max_window_size(input, window)
            .map_err(decompress_error)?;
        read_bounded(dec, limit, input.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_roundtrip() {
        for c in Compression::ALL {
            assert_eq!(Compression::from_id(c.id()), Some(c));
            assert_eq!(c.name().parse::<Compression>().unwrap(), c);
        }
        assert_eq!(Compression::from_id(5), None);
        assert!("brotli".parse::<Compression>().is_err());
        assert_eq!("GZIP".parse::<Compression>().unwrap(), Compression::Gzip);
    }

    #[test]
    fn every_available_codec_roundtrips() {
        let input: Vec<u8> = (0..200_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 1000) as u8)
            .collect();
        for c in Compression::ALL.into_iter().filter(|c| c.is_available()) {
            let mut out = BytesMut::new();
            c.compress(&input, &mut out).unwrap();
            assert_eq!(c.decompress(&out, input.len()).unwrap(), input, "{c}");
            let err = c.decompress(&out, input.len() - 1).unwrap_err();
            assert!(matches!(err, DecodeErrorKind::TooLarge { .. }), "{c}: {err:?}");
            // Empty input too.
            let mut out = BytesMut::new();
            c.compress(&[], &mut out).unwrap();
            assert_eq!(c.decompress(&out, 0).unwrap(), Vec::<u8>::new(), "{c}");
        }
    }

    #[test]
    fn garbage_is_a_decompress_error_not_a_panic() {
        let garbage = [
            0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1, 0xff,
        ];
        for c in Compression::ALL
            .into_iter()
            .filter(|c| c.is_available() && *c != Compression::None)
        {
            assert!(c.decompress(&garbage, 1 << 20).is_err(), "{c}");
            assert!(c.decompress(&garbage[..3], 1 << 20).is_err(), "{c}");
        }
    }

    #[cfg(feature = "compression-lz4")]
    #[test]
    fn xxh32_matches_the_lz4_frame_header_checksum() {
        let mut out = BytesMut::new();
        Compression::Lz4.compress(b"hello hello hello", &mut out).unwrap();
        // Magic (4), FLG, BD, HC: no content size, no dictionary id.
        assert_eq!(out[4] & 0x09, 0);
        assert_eq!(out[6], (xxh32(&out[4..6], 0) >> 8) as u8);
        // Break it the way Kafka's magic 0 writer did, and fix it again.
        let mut broken = out.to_vec();
        broken[6] = (xxh32(&out[0..6], 0) >> 8) as u8;
        assert_ne!(broken[6], out[6]);
        assert_eq!(fix_legacy_lz4_header(&broken), out.to_vec());
    }

    #[test]
    fn xxh32_known_answers() {
        // Reference values of XXH32 with seed 0.
        assert_eq!(xxh32(b"", 0), 0x02CC_5D05);
        assert_eq!(xxh32(b"a", 0), 0x550D_7456);
        assert_eq!(xxh32(b"abc", 0), 0x32D1_53FF);
        // Past 16 bytes, the four-lane path (python-xxhash's documented example).
        assert_eq!(xxh32(b"Nobody inspects the spammish repetition", 0), 0xE229_3B2F);
    }

    /// 300 KB that compresses, with repeats across 64 KiB block boundaries so that linked blocks
    /// refer to earlier ones.
    #[cfg(feature = "compression-lz4")]
    fn lz4_input() -> Vec<u8> {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let chunk: Vec<u8> = (0..20_000)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                b"abcdefgh"[(rng % 8) as usize]
            })
            .collect();
        (0..15u8)
            .flat_map(|i| chunk.iter().map(move |&b| b ^ (i & 1)))
            .collect()
    }

    #[cfg(feature = "compression-lz4")]
    fn lz4_frame(input: &[u8], info: lz4_flex::frame::FrameInfo) -> Vec<u8> {
        use std::io::Write;

        let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
        enc.write_all(input).unwrap();
        enc.finish().unwrap()
    }

    #[cfg(feature = "compression-lz4")]
    #[test]
    fn lz4_frames_of_every_shape_decode() {
        use lz4_flex::frame::{BlockMode, BlockSize, FrameInfo};

        let input = lz4_input();
        let len = input.len();
        for mode in [BlockMode::Independent, BlockMode::Linked] {
            for size in [BlockSize::Max64KB, BlockSize::Max256KB] {
                for (block_checksums, content_checksum, content_size) in
                    [(false, false, None), (true, true, Some(len as u64))]
                {
                    let info = FrameInfo::new()
                        .block_mode(mode)
                        .block_size(size)
                        .block_checksums(block_checksums)
                        .content_checksum(content_checksum)
                        .content_size(content_size);
                    let frame = lz4_frame(&input, info);
                    let what = format!("{mode:?} {size:?} {block_checksums} {content_checksum}");
                    assert_eq!(Compression::Lz4.decompress(&frame, len).unwrap(), input, "{what}");
                    for limit in [0, 1000, len - 1] {
                        let err = Compression::Lz4.decompress(&frame, limit).unwrap_err();
                        assert!(matches!(err, DecodeErrorKind::TooLarge { .. }), "{what}: {err:?}");
                    }
                    // Frames back to back are one stream.
                    let two = [&frame[..], &frame[..]].concat();
                    let out = Compression::Lz4.decompress(&two, 2 * len).unwrap();
                    assert!(out.len() == 2 * len && out[..len] == input[..] && out[len..] == input[..]);
                }
            }
        }
        // The linked frame does refer across blocks: it is smaller than the independent one.
        let small = FrameInfo::new().block_size(BlockSize::Max64KB);
        let linked = lz4_frame(&input, small.clone().block_mode(BlockMode::Linked));
        let independent = lz4_frame(&input, small.block_mode(BlockMode::Independent));
        assert!(
            linked.len() < independent.len(),
            "{} {}",
            linked.len(),
            independent.len()
        );
        // Blocks stored uncompressed (incompressible input) are copied, and bounded too.
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..100_000)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                (rng >> 24) as u8
            })
            .collect();
        let frame = lz4_frame(&noise, FrameInfo::new().block_size(BlockSize::Max64KB));
        // Magic, FLG, BD, HC, then the block size, whose high bit says "stored".
        assert_ne!(frame[10] & 0x80, 0, "the block is stored uncompressed");
        assert_eq!(Compression::Lz4.decompress(&frame, noise.len()).unwrap(), noise);
        let err = Compression::Lz4.decompress(&frame, 70_000).unwrap_err();
        assert!(matches!(err, DecodeErrorKind::TooLarge { .. }), "{err:?}");
    }

    #[cfg(feature = "compression-lz4")]
    #[test]
    fn lz4_frame_checks_catch_damage() {
        use lz4_flex::frame::FrameInfo;

        let input = lz4_input();
        let checked = FrameInfo::new()
            .block_checksums(true)
            .content_checksum(true)
            .content_size(Some(input.len() as u64));
        let frame = lz4_frame(&input, checked);
        let decode = |f: &[u8]| Compression::Lz4.decompress(f, 1 << 20);
        assert!(decode(&frame).is_ok());
        // Magic (4), FLG, BD, content size (8), HC, then the first block's size.
        let mut bad = frame.clone();
        bad[30] ^= 1; // inside the first block
        assert!(decode(&bad).is_err(), "block checksum");
        let mut bad = frame.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert!(decode(&bad).is_err(), "content checksum");
        let mut bad = frame.clone();
        bad[14] ^= 1;
        assert!(decode(&bad).is_err(), "header checksum");
        // The content size, with a header checksum that matches it.
        let mut bad = frame.clone();
        bad[6] ^= 1;
        bad[14] = (xxh32(&bad[4..14], 0) >> 8) as u8;
        assert!(decode(&bad).is_err(), "content size");
        // A frame cut anywhere, the end mark included, is an error.
        for cut in [5, 14, 20, 1000, frame.len() - 8, frame.len() - 4, frame.len() - 1] {
            assert!(decode(&frame[..cut]).is_err(), "cut at {cut}");
        }
        let plain = lz4_frame(&input, FrameInfo::new());
        assert!(decode(&plain[..plain.len() - 4]).is_err(), "no end mark");
        // Trailing bytes that are not another frame.
        assert!(decode(&[&plain[..], b"junk"].concat()).is_err());
    }
}
