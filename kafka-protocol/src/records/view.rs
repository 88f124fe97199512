//! Borrowed, lazy views of v2 batches: the header checked up front, the records decoded one at a
//! time as they are iterated, their keys, values and headers borrowed from the batch's bytes.
//!
//! Decoding a [`RecordBatchView`] does all the per-batch work once: it reads the header, checks the
//! CRC32C over the whole batch, and decompresses the records if the attributes say so. Iterating
//! [`RecordBatchView::records`] then reads each record's fields from the (decompressed) bytes and
//! yields a [`RecordView`] whose payloads are `&[u8]` slices of them: no allocation and no
//! reference count update per record. A payload becomes a [`Bytes`] (a zero-copy slice sharing
//! the batch's buffer) only when asked, with [`RecordView::key_bytes`] and its siblings, and
//! [`RecordView::to_consumer_record`] makes a whole owned [`ConsumerRecord`].
//!
//! The owned [`RecordBatch`] is decoded through the view ([`RecordBatchView::into_batch`]), so
//! both accept and reject exactly the same bytes, with the same errors. A view reports a broken
//! record when the iteration reaches it, and bytes after the last declared record as the last
//! item; the owned decode reports either as the batch's error.
//!
//! References: the "Record Batch" section of the Kafka documentation; Apache Kafka's
//! `DefaultRecordBatch.java` (`streamingIterator`, its own lazy record iterator).

use std::borrow::Cow;
use std::fmt;
use std::iter::FusedIterator;

use bytes::Bytes;

use super::batch::{BatchHeader, HEADER_SIZE, LOG_OVERHEAD};
use super::reader::{read_header, read_record, RawRecord, Reader, MIN_RECORD_SIZE};
use super::{
    Attributes, Compression, ConsumerRecord, ControlRecord, DecodeOptions, Header, LegacyMessage, Record,
    RecordBatch, TimestampType,
};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::primitives::Decoder;

/// A v2 batch whose header was read and checked (magic, CRC32C, attributes, records count) and
/// whose records were decompressed, but not yet decoded: [`Self::records`] decodes them one at a
/// time, borrowing their payloads.
///
/// Cloning is cheap: the records' bytes are shared.
#[derive(Clone)]
pub struct RecordBatchView {
    header: BatchHeader,
    /// The records' bytes: a slice of the input, or the decompressed buffer.
    records: Bytes,
    /// The records count the batch declares.
    count: usize,
    /// The offset of `records` in the outermost input, for errors; 0 when decompressed, whose
    /// errors count from the start of the decompressed data (as the owned decode's do).
    records_at: usize,
    decompressed: bool,
}

impl RecordBatchView {
    /// Decodes exactly one batch's header from `bytes` with the default [`DecodeOptions`].
    pub fn decode(bytes: Bytes) -> Result<Self, DecodeError> {
        Self::decode_with(bytes, &DecodeOptions::default())
    }

    /// Decodes exactly one batch's header from `bytes`: trailing bytes after the batch are an
    /// error (bytes after its last record are reported by the iteration of [`Self::records`]).
    pub fn decode_with(bytes: Bytes, options: &DecodeOptions) -> Result<Self, DecodeError> {
        let mut d = Decoder::new(bytes);
        let view = Self::decode_from(&mut d, options)?;
        d.finish()?;
        Ok(view)
    }

    /// Reads one batch from `d`, which moves past it: the header, the CRC check, and the
    /// decompression of the records, which are left to [`Self::records`].
    pub fn decode_from(d: &mut Decoder, options: &DecodeOptions) -> Result<Self, DecodeError> {
        let base_offset = d.i64()?;
        let len_at = d.offset();
        let len = d.i32()?;
        if len < (HEADER_SIZE - LOG_OVERHEAD) as i32 {
            return Err(DecodeError::new(
                DecodeErrorKind::InvalidLength(len.into()),
                len_at,
            ));
        }
        let mut b = d.sub(len as usize)?;
        let partition_leader_epoch = b.i32()?;
        let magic_at = b.offset();
        let magic = b.i8()?;
        if magic != RecordBatch::MAGIC {
            return Err(DecodeError::new(DecodeErrorKind::InvalidMagic(magic), magic_at));
        }
        let crc_at = b.offset();
        let expected = b.u32()?;
        if options.verify_crc {
            // The one pass over every byte of the batch; the records are read after it.
            let actual = crc32c::crc32c(b.peek());
            if actual != expected {
                return Err(DecodeError::new(
                    DecodeErrorKind::CrcMismatch { expected, actual },
                    crc_at,
                ));
            }
        }
        let attributes_at = b.offset();
        let attributes = Attributes::from_bits(b.i16()?).map_err(|k| DecodeError::new(k, attributes_at))?;
        let header = BatchHeader {
            base_offset,
            partition_leader_epoch,
            attributes,
            last_offset_delta: b.i32()?,
            base_timestamp: b.i64()?,
            max_timestamp: b.i64()?,
            producer_id: b.i64()?,
            producer_epoch: b.i16()?,
            base_sequence: b.i32()?,
        };
        let count_at = b.offset();
        let count = b.i32()?;
        let count = usize::try_from(count)
            .map_err(|_| DecodeError::new(DecodeErrorKind::InvalidLength(count.into()), count_at))?;
        let records_at = b.offset();
        let rest = b.take_rest();
        let (records, records_at, decompressed) = match attributes.compression {
            Compression::None => (rest, records_at, false),
            compression => {
                let data = compression
                    .decompress(&rest, options.max_decompressed_size)
                    .map_err(|k| DecodeError::new(k, records_at).within(compression.compressed_records()))?;
                (Bytes::from(data), 0, true)
            }
        };
        Ok(Self {
            header,
            records,
            count,
            records_at,
            decompressed,
        })
    }

    /// The header fields.
    pub fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// The number of records the batch declares (compaction may have left gaps in their offsets).
    pub fn record_count(&self) -> usize {
        self.count
    }

    /// The records' bytes, uncompressed: a slice of the input, or the decompressed buffer.
    pub fn records_bytes(&self) -> &Bytes {
        &self.records
    }

    /// Every record of the batch in order, control records included, each decoded as the
    /// iteration reaches it. A broken record is yielded as an error and ends the iteration; so
    /// are bytes after the last declared record.
    pub fn records(&self) -> RecordViews<'_> {
        RecordViews {
            inner: Inner::V2 {
                raw: self.raw_records(),
                header: &self.header,
                source: &self.records,
            },
        }
    }

    /// The control records of a control batch (none for a batch of user records).
    pub fn control_records(&self) -> impl Iterator<Item = Result<ControlRecord, DecodeError>> + '_ {
        let records = if self.header.is_control() {
            self.records()
        } else {
            RecordViews::empty()
        };
        records.map(|r| r.and_then(|r| ControlRecord::decode_view(&r)))
    }

    /// The owned batch: every record decoded, payloads as [`Bytes`] slices of the records' bytes.
    pub fn into_batch(self) -> Result<RecordBatch, DecodeError> {
        // Capped by what the bytes can hold, counted in memory (a `Record` is far larger than the
        // fewest bytes it takes on the wire): a hostile count reserves no more than the records'
        // bytes, and the vector grows only with records actually read.
        let per_record = MIN_RECORD_SIZE.max(size_of::<Record>());
        let mut records = Vec::with_capacity(self.count.min(self.records.len() / per_record));
        for raw in self.raw_records() {
            records.push(owned_record(raw?, &self.records));
        }
        Ok(RecordBatch::from_parts(self.header, records))
    }

    fn raw_records(&self) -> RawRecords<'_> {
        RawRecords {
            r: Reader::new(&self.records, self.records_at),
            left: self.count,
            done: false,
            decompressed: self.decompressed,
        }
    }
}

impl fmt::Debug for RecordBatchView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordBatchView")
            .field("header", &self.header)
            .field("record_count", &self.count)
            .field("records_len", &self.records.len())
            .finish_non_exhaustive()
    }
}

fn owned_record(raw: RawRecord<'_>, source: &Bytes) -> Record {
    Record {
        attributes: raw.attributes,
        timestamp_delta: raw.timestamp_delta,
        offset_delta: raw.offset_delta,
        key: raw.key.map(|k| share(source, k)),
        value: raw.value.map(|v| share(source, v)),
        headers: HeaderViews::new(raw.headers, raw.header_count, source).to_headers(),
    }
}

/// `part` as a zero-copy slice of `source` (one reference count), which it is whenever it came
/// from a view of `source`; a copy if a caller put other bytes in a view's field (never a panic).
fn share(source: &Bytes, part: &[u8]) -> Bytes {
    if contains(source, part) {
        source.slice_ref(part)
    } else {
        Bytes::copy_from_slice(part)
    }
}

/// Whether `part` lies within `whole`'s memory.
fn contains(whole: &[u8], part: &[u8]) -> bool {
    let (w, p) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    p >= w
        && (p - w)
            .checked_add(part.len())
            .is_some_and(|end| end <= whole.len())
}

/// The records of a batch as the wire has them, in order: the iteration behind both the view
/// and the owned decode.
#[derive(Clone)]
struct RawRecords<'a> {
    r: Reader<'a>,
    left: usize,
    done: bool,
    decompressed: bool,
}

impl RawRecords<'_> {
    /// Where an error was found: the records, and the decompressed data if they were compressed.
    fn context(&self, e: DecodeError, trailing: bool) -> DecodeError {
        match (self.decompressed, trailing) {
            (false, true) => e,
            (false, false) => e.within("records"),
            (true, _) => e.within("records").within("decompressed"),
        }
    }
}

impl<'a> Iterator for RawRecords<'a> {
    type Item = Result<RawRecord<'a>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            if self.done {
                return None;
            }
            self.done = true;
            return self.r.finish().err().map(|e| Err(self.context(e, true)));
        }
        match read_record(&mut self.r) {
            Ok(record) => {
                self.left -= 1;
                Some(Ok(record))
            }
            Err(e) => {
                self.left = 0;
                self.done = true;
                Some(Err(self.context(e, false)))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            return (0, Some(0));
        }
        // At most one more item than the records left: the error that ends the iteration.
        let most = self.left.min(self.r.rest().len() / MIN_RECORD_SIZE);
        (0, Some(most.saturating_add(1)))
    }
}

/// A record as a consumer sees it, its key, value and headers borrowed from the batch: the
/// borrowed form of [`ConsumerRecord`].
#[derive(Clone, Copy)]
pub struct RecordView<'a> {
    /// The absolute offset.
    pub offset: i64,
    /// The timestamp (the batch's max timestamp under log-append time; -1 for magic 0 messages).
    pub timestamp: i64,
    /// How the timestamp was set.
    pub timestamp_type: TimestampType,
    /// The key; `None` is null.
    pub key: Option<&'a [u8]>,
    /// The value; `None` is null.
    pub value: Option<&'a [u8]>,
    /// The headers (none before magic 2).
    pub headers: HeaderViews<'a>,
    source: Source<'a>,
}

/// Where a view's payloads live, to make owned [`Bytes`] of them.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// The records' bytes of a v2 batch, which the payloads are slices of.
    Batch(&'a Bytes),
    /// A legacy message, which holds its payloads as `Bytes` already.
    Legacy(&'a LegacyMessage),
}

impl Source<'_> {
    /// `part`, one of the view's payloads, as owned bytes sharing their buffer.
    fn share(&self, part: &[u8]) -> Bytes {
        match *self {
            Source::Batch(b) => share(b, part),
            Source::Legacy(m) => {
                let owner = [&m.key, &m.value]
                    .into_iter()
                    .flatten()
                    .find(|b| contains(b, part));
                owner.map_or_else(|| Bytes::copy_from_slice(part), |b| share(b, part))
            }
        }
    }
}

impl<'a> RecordView<'a> {
    pub(crate) fn legacy(m: &'a LegacyMessage) -> Self {
        Self {
            offset: m.offset,
            timestamp: m.timestamp,
            timestamp_type: m.timestamp_type,
            key: m.key.as_deref(),
            value: m.value.as_deref(),
            headers: HeaderViews::empty(),
            source: Source::Legacy(m),
        }
    }

    /// The key as a zero-copy [`Bytes`] sharing the batch's buffer.
    pub fn key_bytes(&self) -> Option<Bytes> {
        self.key.map(|k| self.source.share(k))
    }

    /// The value as a zero-copy [`Bytes`] sharing the batch's buffer.
    pub fn value_bytes(&self) -> Option<Bytes> {
        self.value.map(|v| self.source.share(v))
    }

    /// The owned record; its key, value and header values share the batch's buffer.
    pub fn to_consumer_record(&self) -> ConsumerRecord {
        ConsumerRecord {
            offset: self.offset,
            timestamp: self.timestamp,
            timestamp_type: self.timestamp_type,
            key: self.key_bytes(),
            value: self.value_bytes(),
            headers: self.headers.to_headers(),
        }
    }
}

impl fmt::Debug for RecordView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordView")
            .field("offset", &self.offset)
            .field("timestamp", &self.timestamp)
            .field("timestamp_type", &self.timestamp_type)
            .field("key", &self.key.map(Bytes::copy_from_slice))
            .field("value", &self.value.map(Bytes::copy_from_slice))
            .field("headers", &self.headers)
            .finish()
    }
}

/// Views are equal when their fields are, wherever their bytes live.
impl PartialEq for RecordView<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.offset == other.offset
            && self.timestamp == other.timestamp
            && self.timestamp_type == other.timestamp_type
            && self.key == other.key
            && self.value == other.value
            && self.headers == other.headers
    }
}

impl Eq for RecordView<'_> {}

/// The records of a batch as [`RecordView`]s, decoded one at a time.
///
/// Yields each record, or the error that stopped the iteration (and then nothing more).
#[derive(Clone)]
pub struct RecordViews<'a> {
    inner: Inner<'a>,
}

#[derive(Clone)]
enum Inner<'a> {
    V2 {
        raw: RawRecords<'a>,
        header: &'a BatchHeader,
        source: &'a Bytes,
    },
    Legacy(std::slice::Iter<'a, LegacyMessage>),
}

impl<'a> RecordViews<'a> {
    pub(crate) fn empty() -> Self {
        Self::legacy(&[])
    }

    pub(crate) fn legacy(messages: &'a [LegacyMessage]) -> Self {
        Self {
            inner: Inner::Legacy(messages.iter()),
        }
    }
}

impl<'a> Iterator for RecordViews<'a> {
    type Item = Result<RecordView<'a>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::V2 { raw, header, source } => {
                let raw = match raw.next()? {
                    Ok(raw) => raw,
                    Err(e) => return Some(Err(e)),
                };
                Some(Ok(RecordView {
                    offset: header.offset_at(raw.offset_delta),
                    timestamp: header.timestamp_at(raw.timestamp_delta),
                    timestamp_type: header.attributes.timestamp_type,
                    key: raw.key,
                    value: raw.value,
                    headers: HeaderViews::new(raw.headers, raw.header_count, source),
                    source: Source::Batch(source),
                }))
            }
            Inner::Legacy(messages) => messages.next().map(|m| Ok(RecordView::legacy(m))),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            Inner::V2 { raw, .. } => raw.size_hint(),
            Inner::Legacy(messages) => messages.size_hint(),
        }
    }
}

impl FusedIterator for RecordViews<'_> {}

impl fmt::Debug for RecordViews<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordViews")
            .field("size_hint", &self.size_hint())
            .finish_non_exhaustive()
    }
}

/// A record header borrowed from its batch: the borrowed form of [`Header`].
#[derive(Clone, Copy)]
pub struct HeaderView<'a> {
    /// The key's bytes, meant to be UTF-8 ([`Self::key_str`] reads them as the owned decode does).
    pub key: &'a [u8],
    /// The value; `None` is null.
    pub value: Option<&'a [u8]>,
    source: &'a Bytes,
}

impl<'a> HeaderView<'a> {
    /// The key as text; bytes that are not UTF-8 become U+FFFD, as the Java client reads them.
    pub fn key_str(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.key)
    }

    /// The value as a zero-copy [`Bytes`] sharing the batch's buffer.
    pub fn value_bytes(&self) -> Option<Bytes> {
        self.value.map(|v| share(self.source, v))
    }

    /// The owned header.
    pub fn to_header(&self) -> Header {
        Header {
            key: self.key_str().into_owned(),
            value: self.value_bytes(),
        }
    }
}

impl fmt::Debug for HeaderView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeaderView")
            .field("key", &self.key_str())
            .field("value", &self.value.map(Bytes::copy_from_slice))
            .finish()
    }
}

impl PartialEq for HeaderView<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key && self.value == other.value
    }
}

impl Eq for HeaderView<'_> {}

/// The headers of a [`RecordView`], in order. Their bytes were checked when the record was
/// decoded, so the iteration cannot fail.
#[derive(Clone, Copy)]
pub struct HeaderViews<'a> {
    r: Reader<'a>,
    left: usize,
    source: &'a Bytes,
}

/// The source of views that have no headers.
static NO_BYTES: Bytes = Bytes::new();

impl<'a> HeaderViews<'a> {
    /// `count` headers in `raw`, a slice of `source` that [`read_record`] checked holds exactly
    /// them.
    fn new(raw: &'a [u8], count: usize, source: &'a Bytes) -> Self {
        Self {
            r: Reader::new(raw, 0),
            left: count,
            source,
        }
    }

    fn empty() -> Self {
        Self::new(&[], 0, &NO_BYTES)
    }

    /// The owned headers.
    pub fn to_headers(&self) -> Vec<Header> {
        if self.left == 0 {
            return Vec::new();
        }
        self.map(|h| h.to_header()).collect()
    }
}

impl<'a> Iterator for HeaderViews<'a> {
    type Item = HeaderView<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        match read_header(&mut self.r) {
            Ok((key, value)) => {
                self.left -= 1;
                Some(HeaderView {
                    key,
                    value,
                    source: self.source,
                })
            }
            // Not reached: the record's decode walked these same bytes without error.
            Err(_) => {
                self.left = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for HeaderViews<'_> {}

impl FusedIterator for HeaderViews<'_> {}

impl fmt::Debug for HeaderViews<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(*self).finish()
    }
}

impl PartialEq for HeaderViews<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.zip(*other).all(|(a, b)| a == b)
    }
}

impl Eq for HeaderViews<'_> {}
