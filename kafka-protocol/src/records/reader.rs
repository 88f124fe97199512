//! The record decoder's hot path: a bounded reader over a borrowed slice, and the parse of one v2
//! record into borrowed parts.
//!
//! [`crate::primitives::Decoder`] hands out [`bytes::Bytes`], and each of those is a reference
//! count update (an atomic operation) when made and another when dropped. Per record that was a
//! sub-reader, a key and a value: about six atomic operations, a third of the decode time of a
//! batch of 1 KiB records. This reader borrows instead: a length-delimited part is a sub-slice,
//! free to make, and a payload is a `&[u8]` that becomes a `Bytes` only when a caller asks for
//! an owned one ([`bytes::Bytes::slice_ref`], one reference count).
//!
//! Errors are those of `Decoder`, at the same offsets: a reader knows the offset of its end in
//! the outermost input and computes the offset of an error from what is left.

use crate::error::{DecodeError, DecodeErrorKind};

/// The fewest bytes a record takes: a one-byte length and six one-byte fields.
pub(crate) const MIN_RECORD_SIZE: usize = 7;
/// The fewest bytes a header takes: a key length and a value length.
const MIN_HEADER_SIZE: usize = 2;

/// A bounded reader over a borrowed slice. Every read is checked; none can panic.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    /// The offset, in the outermost input, of the byte after `buf`'s last.
    end: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, whose first byte is at `offset` in the outermost input.
    pub(crate) fn new(buf: &'a [u8], offset: usize) -> Self {
        Self {
            buf,
            end: offset.saturating_add(buf.len()),
        }
    }

    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf
    }

    /// Offset of the next byte in the outermost input.
    pub(crate) fn offset(&self) -> usize {
        self.end - self.buf.len()
    }

    fn eof(&self, needed: usize) -> DecodeError {
        DecodeError::new(
            DecodeErrorKind::UnexpectedEof {
                needed,
                remaining: self.buf.len(),
            },
            self.offset(),
        )
    }

    /// Fails with [`DecodeErrorKind::TrailingBytes`] unless every byte was read.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::new(
                DecodeErrorKind::TrailingBytes(self.buf.len()),
                self.offset(),
            ))
        }
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let Some((taken, rest)) = self.buf.split_at_checked(n) else {
            return Err(self.eof(n));
        };
        self.buf = rest;
        Ok(taken)
    }

    /// A reader over the next `n` bytes; this reader moves past them.
    pub(crate) fn sub(&mut self, n: usize) -> Result<Self, DecodeError> {
        let at = self.offset();
        let buf = self.take(n)?;
        Ok(Self { buf, end: at + n })
    }

    /// Reads one byte.
    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let Some((&b, rest)) = self.buf.split_first() else {
            return Err(self.eof(1));
        };
        self.buf = rest;
        Ok(b)
    }

    /// Reads an int16, big-endian.
    pub(crate) fn i16(&mut self) -> Result<i16, DecodeError> {
        let Some((b, rest)) = self.buf.split_first_chunk::<2>() else {
            return Err(self.eof(2));
        };
        self.buf = rest;
        Ok(i16::from_be_bytes(*b))
    }

    /// Reads an int32, big-endian.
    pub(crate) fn i32(&mut self) -> Result<i32, DecodeError> {
        let Some((b, rest)) = self.buf.split_first_chunk::<4>() else {
            return Err(self.eof(4));
        };
        self.buf = rest;
        Ok(i32::from_be_bytes(*b))
    }

    /// Reads an unsigned varint of at most `max_bytes` (2 or more) bytes. Nearly every varint of
    /// a record is one or two bytes (lengths under 8 KiB, deltas within a batch), so those cases
    /// are tried first, inline.
    #[inline]
    fn uvarlong_max(&mut self, max_bytes: usize) -> Result<u64, DecodeError> {
        match *self.buf {
            [b0, ref rest @ ..] if b0 < 0x80 => {
                self.buf = rest;
                Ok(u64::from(b0))
            }
            [b0, b1, ref rest @ ..] if b1 < 0x80 => {
                self.buf = rest;
                Ok(u64::from(b0 & 0x7f) | (u64::from(b1) << 7))
            }
            _ => self.uvarlong_slow(max_bytes),
        }
    }

    #[cold]
    fn uvarlong_slow(&mut self, max_bytes: usize) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for i in 0..max_bytes {
            let b = self.u8()?;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::new(
            DecodeErrorKind::VarintTooLong { max_bytes },
            self.offset(),
        ))
    }

    /// Reads a zigzag varint (an i32) of at most 5 bytes.
    #[inline]
    pub(crate) fn varint(&mut self) -> Result<i32, DecodeError> {
        let v = self.uvarlong_max(5)?;
        let v = u32::try_from(v)
            .map_err(|_| DecodeError::new(DecodeErrorKind::VarintTooLong { max_bytes: 5 }, self.offset()))?;
        Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
    }

    /// Reads a zigzag varlong (an i64) of at most 10 bytes.
    #[inline]
    pub(crate) fn varlong(&mut self) -> Result<i64, DecodeError> {
        let v = self.uvarlong_max(10)?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// A varint length: `None` for -1 where `nullable`, an error for any other negative value.
    #[inline]
    pub(crate) fn varint_len(&mut self, nullable: bool) -> Result<Option<usize>, DecodeError> {
        let at = self.offset();
        match self.varint()? {
            -1 if nullable => Ok(None),
            n if n < 0 => Err(DecodeError::new(DecodeErrorKind::InvalidLength(n.into()), at)),
            n => Ok(Some(n as usize)),
        }
    }

    /// A varint-length byte string, -1 for null.
    #[inline]
    pub(crate) fn nullable_bytes(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        match self.varint_len(true)? {
            None => Ok(None),
            Some(n) => self.take(n).map(Some),
        }
    }
}

/// One v2 record as on the wire, its payloads borrowed from the records' bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawRecord<'a> {
    pub(crate) attributes: i8,
    pub(crate) timestamp_delta: i64,
    pub(crate) offset_delta: i32,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
    /// The headers' bytes, already checked to hold exactly `header_count` headers.
    pub(crate) headers: &'a [u8],
    pub(crate) header_count: usize,
}

/// Reads one record: its length, then exactly that many bytes of fields. The headers are walked
/// (lengths only, no allocation) so that a broken one is an error here, not later.
pub(crate) fn read_record<'a>(d: &mut Reader<'a>) -> Result<RawRecord<'a>, DecodeError> {
    let len = d.varint_len(false)?.unwrap_or(0);
    let mut r = d.sub(len)?;
    let attributes = r.u8()? as i8;
    let timestamp_delta = r.varlong()?;
    let offset_delta = r.varint()?;
    let key = r.nullable_bytes().map_err(|e| e.within("key"))?;
    let value = r.nullable_bytes().map_err(|e| e.within("value"))?;
    let header_count = r.varint_len(false)?.unwrap_or(0);
    let headers = r.rest();
    // Each header takes at least two bytes, so a hostile count fails after at most `len / 2`
    // turns of this loop.
    for _ in 0..header_count {
        read_header(&mut r)?;
    }
    r.finish()?;
    // `headers` ran to the record's end, which the loop reached exactly.
    debug_assert!(headers.len() >= header_count * MIN_HEADER_SIZE);
    Ok(RawRecord {
        attributes,
        timestamp_delta,
        offset_delta,
        key,
        value,
        headers,
        header_count,
    })
}

/// Reads one header: a key (not nullable) and a nullable value.
pub(crate) fn read_header<'a>(r: &mut Reader<'a>) -> Result<(&'a [u8], Option<&'a [u8]>), DecodeError> {
    let key_len = r.varint_len(false)?.unwrap_or(0);
    let key = r.take(key_len)?;
    let value = r.nullable_bytes()?;
    Ok((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::{Decoder, Encoder};
    use bytes::Bytes;

    /// The reader's varints and errors are the `Decoder`'s, offsets included.
    #[test]
    fn varints_and_errors_match_the_decoder() {
        let mut inputs: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x80],
            vec![0xff; 5],
            vec![0xff; 11],
            vec![0xff, 0xff, 0xff, 0xff, 0x1f],
            vec![0xff, 0xff, 0xff, 0xff, 0x0f],
        ];
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            300,
            -300,
            i32::MAX.into(),
            i32::MIN.into(),
            i64::MAX,
            i64::MIN,
        ] {
            let mut e = Encoder::new();
            e.varlong(v);
            inputs.push(e.into_inner().to_vec());
        }
        for input in inputs {
            for base in [0, 100] {
                let mut padded = vec![0u8; base];
                padded.extend_from_slice(&input);
                let mut d = Decoder::new(Bytes::from(padded.clone()));
                d.take(base).unwrap();
                let mut r = Reader::new(&padded[base..], base);
                assert_eq!(r.varint(), d.clone().varint(), "{input:?}");
                assert_eq!(r.offset(), {
                    let mut d2 = d.clone();
                    let _ = d2.varint();
                    d2.offset()
                });
                let mut r = Reader::new(&padded[base..], base);
                assert_eq!(r.varlong(), d.clone().varlong(), "{input:?}");
            }
        }
    }

    #[test]
    fn take_and_sub_are_bounded() {
        let data = [1u8, 2, 3, 4];
        let mut r = Reader::new(&data, 10);
        let mut s = r.sub(3).unwrap();
        assert_eq!(s.offset(), 10);
        assert_eq!(s.take(2).unwrap(), &[1, 2]);
        let err = s.take(2).unwrap_err();
        assert_eq!(
            err.kind(),
            &DecodeErrorKind::UnexpectedEof {
                needed: 2,
                remaining: 1
            }
        );
        assert_eq!(err.offset(), 12);
        assert_eq!(r.offset(), 13);
        assert!(r.sub(2).is_err());
        assert_eq!(r.finish().unwrap_err().kind(), &DecodeErrorKind::TrailingBytes(1));
    }
}
