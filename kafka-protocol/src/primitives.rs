//! The protocol's primitive types and the reader and writer they go through.
//!
//! [`Decoder`] reads from a [`Bytes`] with checked operations only and hands out zero-copy slices;
//! [`Encoder`] writes into a [`BytesMut`]. [`Wire`] is implemented by every type that can stand in a
//! message field, with the encoding chosen by the field's [`Ctx`] (version, flexible, nullable).
//!
//! References: the "Protocol Primitive Types" section of the Kafka protocol guide; KIP-482 for
//! compact forms and tagged fields.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, DecodeErrorKind, EncodeError};

/// How a field is encoded at one version of its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ctx {
    /// The message version.
    pub version: i16,
    /// Whether the version is flexible (KIP-482): compact lengths and tagged fields.
    pub flexible: bool,
    /// Whether the field may be null at this version.
    pub nullable: bool,
}

impl Ctx {
    /// The context of a message body at `version`.
    pub fn new(version: i16, flexible: bool) -> Self {
        Self {
            version,
            flexible,
            nullable: false,
        }
    }

    /// The same context with `nullable` set.
    pub fn with_nullable(self, nullable: bool) -> Self {
        Self { nullable, ..self }
    }
}

/// A bounded reader over a byte string. Every read is checked; none can panic.
#[derive(Debug, Clone)]
pub struct Decoder {
    buf: Bytes,
    /// Byte offset of `buf`'s start in the outermost input, for error messages.
    base: usize,
    start_len: usize,
}

impl Decoder {
    /// A reader over `buf`.
    pub fn new(buf: Bytes) -> Self {
        let start_len = buf.len();
        Self {
            buf,
            base: 0,
            start_len,
        }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Offset of the next byte in the outermost input.
    pub fn offset(&self) -> usize {
        self.base + self.start_len - self.buf.len()
    }

    /// An error of `kind` at the current offset.
    pub fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(kind, self.offset())
    }

    fn need(&self, n: usize) -> Result<(), DecodeError> {
        if self.buf.len() < n {
            return Err(self.error(DecodeErrorKind::UnexpectedEof {
                needed: n,
                remaining: self.buf.len(),
            }));
        }
        Ok(())
    }

    /// The next `n` bytes, as a zero-copy slice.
    pub fn take(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        self.need(n)?;
        Ok(self.buf.split_to(n))
    }

    /// A reader over the next `n` bytes; this reader moves past them.
    pub fn sub(&mut self, n: usize) -> Result<Self, DecodeError> {
        let base = self.offset();
        let buf = self.take(n)?;
        Ok(Self {
            start_len: buf.len(),
            buf,
            base,
        })
    }

    /// All bytes not read yet, as a zero-copy slice.
    pub fn take_rest(&mut self) -> Bytes {
        self.buf.split_off(0)
    }

    /// Fails with [`DecodeErrorKind::TrailingBytes`] unless every byte was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(self.error(DecodeErrorKind::TrailingBytes(self.buf.len())))
        }
    }

    /// The bytes not read yet, without consuming them.
    pub fn peek(&self) -> &[u8] {
        &self.buf
    }

    /// Reads an int8.
    pub fn i8(&mut self) -> Result<i8, DecodeError> {
        self.need(1)?;
        Ok(self.buf.get_i8())
    }
    /// Reads an int16, big-endian.
    pub fn i16(&mut self) -> Result<i16, DecodeError> {
        self.need(2)?;
        Ok(self.buf.get_i16())
    }
    /// Reads an int32, big-endian.
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        self.need(4)?;
        Ok(self.buf.get_i32())
    }
    /// Reads an int64, big-endian.
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        self.need(8)?;
        Ok(self.buf.get_i64())
    }
    /// Reads a uint16, big-endian.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        self.need(2)?;
        Ok(self.buf.get_u16())
    }
    /// Reads a uint32, big-endian.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        self.need(4)?;
        Ok(self.buf.get_u32())
    }
    /// Reads a float64, big-endian IEEE 754.
    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        self.need(8)?;
        Ok(self.buf.get_f64())
    }
    /// Reads a boolean: 0 is false, anything else true (as the Java client reads it).
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.i8()? != 0)
    }

    /// Reads an unsigned varint of at most 5 bytes (a u32).
    pub fn uvarint(&mut self) -> Result<u32, DecodeError> {
        let v = self.uvarlong_max(5)?;
        u32::try_from(v).map_err(|_| self.error(DecodeErrorKind::VarintTooLong { max_bytes: 5 }))
    }

    /// Reads an unsigned varint of at most 10 bytes (a u64).
    pub fn uvarlong(&mut self) -> Result<u64, DecodeError> {
        self.uvarlong_max(10)
    }

    fn uvarlong_max(&mut self, max_bytes: usize) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for i in 0..max_bytes {
            let b = self.i8()? as u8;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error(DecodeErrorKind::VarintTooLong { max_bytes }))
    }

    /// Reads a zigzag varint (an i32).
    pub fn varint(&mut self) -> Result<i32, DecodeError> {
        let v = self.uvarint()?;
        Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
    }

    /// Reads a zigzag varlong (an i64).
    pub fn varlong(&mut self) -> Result<i64, DecodeError> {
        let v = self.uvarlong()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// Reads a length prefix: int16 or int32 in classic versions, unsigned varint N+1 in flexible
    /// ones. `None` is null (-1). A negative length other than -1 is an error.
    fn length(&mut self, flexible: bool, wide: bool) -> Result<Option<usize>, DecodeError> {
        let n: i64 = if flexible {
            i64::from(self.uvarint()?) - 1
        } else if wide {
            i64::from(self.i32()?)
        } else {
            i64::from(self.i16()?)
        };
        match n {
            -1 => Ok(None),
            n if n < -1 => Err(self.error(DecodeErrorKind::InvalidLength(n))),
            n => Ok(Some(n as usize)),
        }
    }

    /// Reads a string length (int16, or compact in flexible versions); `None` is null.
    pub fn string_len(&mut self, flexible: bool) -> Result<Option<usize>, DecodeError> {
        self.length(flexible, false)
    }

    /// Reads a bytes or array length (int32, or compact in flexible versions); `None` is null.
    pub fn bytes_len(&mut self, flexible: bool) -> Result<Option<usize>, DecodeError> {
        self.length(flexible, true)
    }

    /// Reads a string's bytes after its length and checks they are UTF-8.
    pub fn utf8(&mut self, len: usize) -> Result<String, DecodeError> {
        let at = self.offset();
        let raw = self.take(len)?;
        match std::str::from_utf8(&raw) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(DecodeError::new(DecodeErrorKind::InvalidUtf8, at)),
        }
    }

    /// A capacity for `count` elements of at least `min_size` bytes each that the remaining input
    /// can back: a hostile count never makes a large allocation.
    pub fn capacity_for(&self, count: usize, min_size: usize) -> usize {
        count.min(self.remaining() / min_size.max(1))
    }
}

/// A writer into a growable buffer.
#[derive(Debug, Default)]
pub struct Encoder {
    buf: BytesMut,
}

impl Encoder {
    /// A writer into a new buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer that appends to `buf`.
    pub fn from_buf(buf: BytesMut) -> Self {
        Self { buf }
    }

    /// The bytes written.
    pub fn into_inner(self) -> BytesMut {
        self.buf
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The buffer, for writers that patch a length in place.
    pub fn buf_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Writes an int8.
    pub fn i8(&mut self, v: i8) {
        self.buf.put_i8(v);
    }
    /// Writes an int16.
    pub fn i16(&mut self, v: i16) {
        self.buf.put_i16(v);
    }
    /// Writes an int32.
    pub fn i32(&mut self, v: i32) {
        self.buf.put_i32(v);
    }
    /// Writes an int64.
    pub fn i64(&mut self, v: i64) {
        self.buf.put_i64(v);
    }
    /// Writes a uint16.
    pub fn u16(&mut self, v: u16) {
        self.buf.put_u16(v);
    }
    /// Writes a uint32.
    pub fn u32(&mut self, v: u32) {
        self.buf.put_u32(v);
    }
    /// Writes a float64.
    pub fn f64(&mut self, v: f64) {
        self.buf.put_f64(v);
    }
    /// Writes a boolean as one byte.
    pub fn bool(&mut self, v: bool) {
        self.buf.put_u8(u8::from(v));
    }
    /// Writes raw bytes.
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.put_slice(b);
    }

    /// Writes an unsigned varint.
    pub fn uvarlong(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.put_u8((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.put_u8(v as u8);
    }
    /// Writes an unsigned varint of a u32.
    pub fn uvarint(&mut self, v: u32) {
        self.uvarlong(u64::from(v));
    }
    /// Writes a zigzag varint.
    pub fn varint(&mut self, v: i32) {
        self.uvarint(((v << 1) ^ (v >> 31)) as u32);
    }
    /// Writes a zigzag varlong.
    pub fn varlong(&mut self, v: i64) {
        self.uvarlong(((v << 1) ^ (v >> 63)) as u64);
    }

    fn length(&mut self, len: Option<usize>, flexible: bool, wide: bool) -> Result<(), EncodeError> {
        let too_long = |len| EncodeError::TooLong { field: "", len };
        match (len, flexible) {
            (None, true) => self.uvarint(0),
            (None, false) if wide => self.i32(-1),
            (None, false) => self.i16(-1),
            (Some(n), true) => {
                let n1 = u32::try_from(n).ok().and_then(|n| n.checked_add(1));
                self.uvarint(n1.ok_or(too_long(n))?);
            }
            (Some(n), false) if wide => self.i32(i32::try_from(n).map_err(|_| too_long(n))?),
            (Some(n), false) => self.i16(i16::try_from(n).map_err(|_| too_long(n))?),
        }
        Ok(())
    }

    /// Writes a string length (int16, or compact); `None` is null.
    pub fn string_len(&mut self, len: Option<usize>, flexible: bool) -> Result<(), EncodeError> {
        self.length(len, flexible, false)
    }

    /// Writes a bytes or array length (int32, or compact); `None` is null.
    pub fn bytes_len(&mut self, len: Option<usize>, flexible: bool) -> Result<(), EncodeError> {
        self.length(len, flexible, true)
    }
}

/// A 16-byte UUID as the protocol carries it (topic ids, directory ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The all-zero UUID, which the protocol uses for "no id".
    pub const NIL: Self = Self([0; 16]);
}

impl std::fmt::Display for Uuid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A tagged field this codec does not know (KIP-482), kept so a decode -> encode is byte-identical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTaggedField {
    /// The tag.
    pub tag: u32,
    /// The field's bytes.
    pub data: Bytes,
}

/// A type that can stand in a message field.
pub trait Wire: Sized {
    /// The fewest bytes one value takes on the wire; caps allocation from a decoded count.
    const MIN_SIZE: usize = 1;

    /// Writes the value as `ctx` says.
    fn encode(&self, e: &mut Encoder, ctx: Ctx) -> Result<(), EncodeError>;

    /// Reads a value as `ctx` says.
    fn decode(d: &mut Decoder, ctx: Ctx) -> Result<Self, DecodeError>;

    /// Changes the value so that it can be encoded at `ctx`'s version: fields that version does not
    /// have go back to their defaults, and nulls where null is not allowed become empty values.
    fn normalize(&mut self, _ctx: Ctx) {}

    /// Whether the value may be written as null (only `Option`s).
    fn is_null(&self) -> bool {
        false
    }
}

macro_rules! fixed_wire {
    ($($t:ty => $enc:ident, $size:expr;)*) => {$(
        impl Wire for $t {
            const MIN_SIZE: usize = $size;
            fn encode(&self, e: &mut Encoder, _ctx: Ctx) -> Result<(), EncodeError> {
                e.$enc(*self);
                Ok(())
            }
            fn decode(d: &mut Decoder, _ctx: Ctx) -> Result<Self, DecodeError> {
                d.$enc()
            }
        }
    )*};
}

fixed_wire! {
    i8 => i8, 1;
    i16 => i16, 2;
    i32 => i32, 4;
    i64 => i64, 8;
    u16 => u16, 2;
    u32 => u32, 4;
    f64 => f64, 8;
    bool => bool, 1;
}

impl Wire for Uuid {
    const MIN_SIZE: usize = 16;
    fn encode(&self, e: &mut Encoder, _ctx: Ctx) -> Result<(), EncodeError> {
        e.raw(&self.0);
        Ok(())
    }
    fn decode(d: &mut Decoder, _ctx: Ctx) -> Result<Self, DecodeError> {
        let raw = d.take(16)?;
        let mut id = [0u8; 16];
        id.copy_from_slice(&raw);
        Ok(Self(id))
    }
}

fn null_error(d: &Decoder) -> DecodeError {
    d.error(DecodeErrorKind::NullNotAllowed)
}

impl Wire for String {
    fn encode(&self, e: &mut Encoder, ctx: Ctx) -> Result<(), EncodeError> {
        e.string_len(Some(self.len()), ctx.flexible)?;
        e.raw(self.as_bytes());
        Ok(())
    }
    fn decode(d: &mut Decoder, ctx: Ctx) -> Result<Self, DecodeError> {
        match d.string_len(ctx.flexible)? {
            Some(n) => d.utf8(n),
            None => Err(null_error(d)),
        }
    }
}

impl Wire for Bytes {
    fn encode(&self, e: &mut Encoder, ctx: Ctx) -> Result<(), EncodeError> {
        e.bytes_len(Some(self.len()), ctx.flexible)?;
        e.raw(self);
        Ok(())
    }
    fn decode(d: &mut Decoder, ctx: Ctx) -> Result<Self, DecodeError> {
        match d.bytes_len(ctx.flexible)? {
            Some(n) => d.take(n),
            None => Err(null_error(d)),
        }
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn encode(&self, e: &mut Encoder, ctx: Ctx) -> Result<(), EncodeError> {
        e.bytes_len(Some(self.len()), ctx.flexible)?;
        let inner = ctx.with_nullable(false);
        for item in self {
            item.encode(e, inner)?;
        }
        Ok(())
    }
    fn decode(d: &mut Decoder, ctx: Ctx) -> Result<Self, DecodeError> {
        let Some(n) = d.bytes_len(ctx.flexible)? else {
            return Err(null_error(d));
        };
        let inner = ctx.with_nullable(false);
        // Per element, the larger of its wire size and its size in memory: a struct of a few bytes
        // on the wire may take a hundred, and what is reserved before any element is read must be
        // backed by the input, not by the count.
        let per_element = T::MIN_SIZE.max(size_of::<T>());
        let mut out = Self::with_capacity(d.capacity_for(n, per_element));
        for _ in 0..n {
            out.push(T::decode(d, inner)?);
        }
        Ok(out)
    }
    fn normalize(&mut self, ctx: Ctx) {
        let inner = ctx.with_nullable(false);
        for item in self {
            item.normalize(inner);
        }
    }
}

/// Nullable strings, byte strings and arrays. Null is allowed only where `ctx.nullable` says so.
impl<T: Wire + Default + Nullable> Wire for Option<T> {
    fn encode(&self, e: &mut Encoder, ctx: Ctx) -> Result<(), EncodeError> {
        match self {
            Some(v) => {
                T::encode_present(e);
                v.encode(e, ctx)
            }
            None if ctx.nullable => T::encode_null(e, ctx.flexible),
            None => Err(EncodeError::NullNotAllowed {
                field: "",
                version: ctx.version,
            }),
        }
    }
    fn decode(d: &mut Decoder, ctx: Ctx) -> Result<Self, DecodeError> {
        if T::peek_null(d, ctx.flexible)? {
            if !ctx.nullable {
                return Err(null_error(d));
            }
            T::skip_null(d, ctx.flexible)?;
            return Ok(None);
        }
        T::decode_present(d)?;
        T::decode(d, ctx).map(Some)
    }
    fn normalize(&mut self, ctx: Ctx) {
        match self {
            Some(v) => v.normalize(ctx),
            None if !ctx.nullable => *self = Some(T::default()),
            None => {}
        }
    }
    fn is_null(&self) -> bool {
        self.is_none()
    }
}

/// Types that may be null: strings, byte strings and arrays, whose null is a length of -1 (or
/// compact 0), and structs, whose null is a marker byte of -1 (a value has 1 before it).
pub trait Nullable {
    /// Whether the length prefix is short (int16, strings) rather than int32.
    const SHORT_LEN: bool = false;

    /// Writes a null.
    fn encode_null(e: &mut Encoder, flexible: bool) -> Result<(), EncodeError> {
        if Self::SHORT_LEN {
            e.string_len(None, flexible)
        } else {
            e.bytes_len(None, flexible)
        }
    }

    /// Whether the next value is a null, without consuming it.
    fn peek_null(d: &Decoder, flexible: bool) -> Result<bool, DecodeError> {
        let mut probe = d.clone();
        let len = if Self::SHORT_LEN {
            probe.string_len(flexible)?
        } else {
            probe.bytes_len(flexible)?
        };
        Ok(len.is_none())
    }

    /// Consumes a null.
    fn skip_null(d: &mut Decoder, flexible: bool) -> Result<(), DecodeError> {
        if Self::SHORT_LEN {
            d.string_len(flexible).map(drop)
        } else {
            d.bytes_len(flexible).map(drop)
        }
    }

    /// Writes what precedes a value that is not null (nothing, but for structs).
    fn encode_present(e: &mut Encoder) {
        let _ = e;
    }

    /// Consumes what precedes a value that is not null.
    fn decode_present(d: &mut Decoder) -> Result<(), DecodeError> {
        let _ = d;
        Ok(())
    }
}

impl Nullable for String {
    const SHORT_LEN: bool = true;
}
impl Nullable for Bytes {}
impl<T> Nullable for Vec<T> {}

/// Writes the tagged-field section of a flexible struct: `entries` must be sorted by tag.
pub fn encode_tagged(e: &mut Encoder, entries: &[(u32, Bytes)]) -> Result<(), EncodeError> {
    e.uvarint(entries.len() as u32);
    for (tag, data) in entries {
        e.uvarint(*tag);
        // The size of a tagged field is a plain unsigned varint (not N+1 like compact lengths).
        let len = u32::try_from(data.len()).map_err(|_| EncodeError::TooLong {
            field: "tagged field",
            len: data.len(),
        })?;
        e.uvarint(len);
        e.raw(data);
    }
    Ok(())
}
