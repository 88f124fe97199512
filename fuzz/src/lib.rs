//! The checks behind the fuzz targets. Each target in `fuzz_targets/` is one call into here, so
//! the targets stay thin and the oracles are written once.

use bytes::{BufMut, Bytes, BytesMut};
use kwire_protocol::frame::{RequestHeader, ResponseHeader};
use kwire_protocol::messages::{ApiKey, RequestBody, ResponseBody};
use kwire_protocol::records::{
    Batch, BatchView, Compression, DecodeOptions, LegacyBatch, RecordBatch, RecordBatchView, RecordBatches,
};
use kwire_protocol::{DecodeError, DecodeErrorKind, Decoder, EncodeError, Encoder};

/// The decompression bound the record targets decode with: small, so that a bomb is found fast
/// and the bound itself is what is tested.
pub const MAX_DECOMPRESSED: usize = 1 << 20;

/// A request or response body of any API: what the `request` and `response` targets share.
pub trait Body: Sized + PartialEq + std::fmt::Debug {
    /// Decodes a body of `key` at `version`.
    fn decode(key: ApiKey, version: i16, bytes: Bytes) -> Result<Self, DecodeError>;
    /// Encodes the body at `version`.
    fn encode(&self, version: i16) -> Result<Bytes, EncodeError>;
}

impl Body for RequestBody {
    fn decode(key: ApiKey, version: i16, bytes: Bytes) -> Result<Self, DecodeError> {
        Self::decode(key, version, bytes)
    }
    fn encode(&self, version: i16) -> Result<Bytes, EncodeError> {
        self.encode(version)
    }
}

impl Body for ResponseBody {
    fn decode(key: ApiKey, version: i16, bytes: Bytes) -> Result<Self, DecodeError> {
        Self::decode(key, version, bytes)
    }
    fn encode(&self, version: i16) -> Result<Bytes, EncodeError> {
        self.encode(version)
    }
}

/// The API and version a body target's first two bytes pick: byte 0 indexes
/// [`ApiKey::SUPPORTED`], byte 1 is an offset into that API's versions (both wrap around).
pub fn pick_api(k: u8, v: u8) -> (ApiKey, i16) {
    let (key, _, versions) = ApiKey::SUPPORTED[usize::from(k) % ApiKey::SUPPORTED.len()];
    let span = i32::from(versions.max) - i32::from(versions.min) + 1;
    let version = i32::from(versions.min) + i32::from(v) % span;
    (key, version as i16)
}

/// The two bytes that make [`pick_api`] choose `key` at `version`, for building seeds.
pub fn api_prefix(key: ApiKey, version: i16) -> Option<[u8; 2]> {
    let index = ApiKey::SUPPORTED.iter().position(|(k, _, _)| *k == key)?;
    let (_, _, versions) = ApiKey::SUPPORTED[index];
    let offset = version.checked_sub(versions.min)?;
    (version <= versions.max).then_some([u8::try_from(index).ok()?, u8::try_from(offset).ok()?])
}

/// Any bytes as a body of the API and version the first two bytes pick: decoding never panics,
/// and what decodes re-encodes to bytes that decode to the same value.
pub fn check_body<B: Body>(data: &[u8]) {
    let Some((&[k, v], body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let (key, version) = pick_api(k, v);
    if let Ok(msg) = B::decode(key, version, Bytes::copy_from_slice(body)) {
        let again = msg.encode(version).expect("a decoded body encodes");
        let back = B::decode(key, version, again).expect("a re-encoded body decodes");
        assert_eq!(back, msg);
    }
}

/// Byte 0 picks a request header v0/v1/v2 or a response header v0/v1; the rest is the header
/// and whatever follows it. A header that decodes re-encodes to bytes that decode to it again,
/// and the encoding is never longer than what was read.
pub fn check_header(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 5 {
        v @ 0..=2 => header_roundtrip(rest, i16::from(v), RequestHeader::decode, RequestHeader::encode),
        v => header_roundtrip(
            rest,
            i16::from(v - 3),
            ResponseHeader::decode,
            ResponseHeader::encode,
        ),
    }
}

fn header_roundtrip<H: PartialEq + std::fmt::Debug>(
    bytes: &[u8],
    version: i16,
    decode: fn(&mut Decoder, i16) -> Result<H, DecodeError>,
    encode: fn(&H, &mut Encoder, i16) -> Result<(), EncodeError>,
) {
    let mut d = Decoder::new(Bytes::copy_from_slice(bytes));
    let Ok(header) = decode(&mut d, version) else {
        return;
    };
    let read = d.offset();
    let mut e = Encoder::new();
    encode(&header, &mut e, version).expect("a decoded header encodes");
    assert!(e.len() <= read, "re-encoded {} bytes from {read}", e.len());
    let mut again = Decoder::new(e.into_inner().freeze());
    let back = decode(&mut again, version).expect("a re-encoded header decodes");
    again.finish().expect("the re-encoded header is read whole");
    assert_eq!(back, header);
}

/// The options the record targets decode with: CRC checks as asked, a small decompression bound.
pub fn options(verify_crc: bool) -> DecodeOptions {
    DecodeOptions::new()
        .with_max_decompressed_size(MAX_DECOMPRESSED)
        .with_verify_crc(verify_crc)
}

/// One v2 batch through both APIs. The owned decode and the view agree (the same batch or the
/// same error); the view's records are the owned batch's; a decoded batch encodes, and the
/// encoding decodes to the same batch.
pub fn check_record_batch(bytes: Bytes, options: &DecodeOptions) {
    let owned = RecordBatch::decode_with(bytes.clone(), options);
    let view = RecordBatchView::decode_with(bytes, options);
    let (batch, view) = match (owned, view) {
        (Ok(batch), Ok(view)) => (batch, view),
        // A view made, the records broken: the owned decode fails with the error the view's
        // records give. (Input broken twice over may fail with either error first.)
        (owned, Ok(view)) => {
            assert_eq!(owned, view.into_batch(), "the owned decode and the view disagree");
            return;
        }
        (Ok(batch), Err(e)) => panic!("the owned decode read {batch:?}, the view failed: {e}"),
        (Err(_), Err(_)) => return,
    };
    assert_eq!(view.record_count(), batch.records.len());
    let mut views = view.records();
    for record in &batch.records {
        let r = views
            .next()
            .expect("the view has every record")
            .expect("the view reads every record the owned decode read");
        assert_eq!(r.offset, batch.offset_of(record));
        assert_eq!(r.key, record.key.as_deref());
        assert_eq!(r.value, record.value.as_deref());
        assert_eq!(r.headers.to_headers(), record.headers);
    }
    assert!(views.next().is_none(), "the view has no record past the count");

    let again = batch.to_bytes().expect("a decoded batch encodes");
    // The re-encoding has a correct CRC whatever the input had.
    let strict = options.with_verify_crc(true);
    let back = RecordBatch::decode_with(again, &strict).expect("a re-encoded batch decodes");
    assert_eq!(back, batch);
}

/// Writes a v2 batch header for `records` (already compressed with `compression`), `count`
/// records declared, and a correct CRC32C: what lets a target feed a codec's hostile input
/// through the whole batch decode.
pub fn wrap_v2(compression: Compression, count: i32, records: &[u8]) -> Bytes {
    let mut body = BytesMut::new();
    body.put_i16(i16::from(compression.id()));
    body.put_i32(count.saturating_sub(1).max(0)); // last offset delta
    body.put_i64(1_700_000_000_000); // base timestamp
    body.put_i64(1_700_000_000_000); // max timestamp
    body.put_i64(-1); // producer id
    body.put_i16(-1); // producer epoch
    body.put_i32(-1); // base sequence
    body.put_i32(count);
    body.put_slice(records);
    let crc = crc32c::crc32c(&body);
    let mut out = BytesMut::new();
    out.put_i64(0); // base offset
    out.put_i32(i32::try_from(body.len() + 9).unwrap_or(i32::MAX)); // from the leader epoch on
    out.put_i32(0); // partition leader epoch
    out.put_i8(RecordBatch::MAGIC);
    out.put_u32(crc);
    out.put_slice(&body);
    out.freeze()
}

/// Byte 0 picks a codec, byte 1 the records count, the rest is that codec's compressed records.
/// The codec alone: its output stays within the bound, and what it decompresses compresses and
/// decompresses back. Then the same bytes as the records of a v2 batch with a correct CRC,
/// through [`check_record_batch`].
pub fn check_codec(data: &[u8]) {
    let Some((&[c, n], payload)) = data.split_first_chunk::<2>() else {
        return;
    };
    let compression = Compression::ALL[usize::from(c) % Compression::ALL.len()];
    match compression.decompress(payload, MAX_DECOMPRESSED) {
        Ok(out) => {
            assert!(
                out.len() <= MAX_DECOMPRESSED,
                "{compression}: {} bytes",
                out.len()
            );
            let mut packed = BytesMut::new();
            compression
                .compress(&out, &mut packed)
                .expect("decompressed bytes compress");
            let back = compression
                .decompress(&packed, MAX_DECOMPRESSED)
                .expect("our own compression decompresses");
            assert!(back == out, "{compression}: a roundtrip changed the bytes");
        }
        Err(DecodeErrorKind::TooLarge { limit, .. }) => assert_eq!(limit, MAX_DECOMPRESSED),
        Err(_) => {}
    }
    let batch = wrap_v2(compression, i32::from(n), payload);
    check_record_batch(batch, &options(true));
}

/// One legacy (magic 0/1) entry, CRC checks off so that the fuzzer reaches past them, then on.
/// `LegacyBatch` and the `RecordBatches` reading of the same bytes agree.
pub fn check_legacy(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    for verify_crc in [false, true] {
        let options = options(verify_crc);
        let direct = LegacyBatch::decode_with(bytes.clone(), &options);
        let mut batches = RecordBatches::with_options(bytes.clone(), options);
        let first = batches.next();
        if let Ok(legacy) = direct {
            assert_eq!(first, Some(Ok(Batch::Legacy(legacy))));
            assert!(batches.next().is_none());
            assert!(batches.incomplete().is_none());
        }
    }
}

/// A `records` byte string (v2 batches and legacy entries back to back) through both iterations
/// of [`RecordBatches`]: the owned batches and the views give the same entries, records and
/// errors, and stop at the same partial entry.
pub fn check_records(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    for verify_crc in [false, true] {
        let options = options(verify_crc);
        let mut owned = RecordBatches::with_options(bytes.clone(), options);
        let mut lazy = RecordBatches::with_options(bytes.clone(), options);
        let mut views = lazy.views();
        let ended = loop {
            match (owned.next(), views.next()) {
                (None, None) => break true,
                (Some(Ok(batch)), Some(Ok(view))) => compare_entry(batch, view),
                (Some(Err(a)), Some(Ok(view))) => {
                    assert_eq!(
                        Err(a),
                        view.into_batch(),
                        "the owned decode and the view disagree"
                    );
                    break false;
                }
                (Some(Err(a)), Some(Err(b))) => {
                    assert_eq!(a, b);
                    break false;
                }
                (a, b) => panic!("the owned decode and the view disagree: {a:?} / {b:?}"),
            }
        };
        assert!(
            owned.next().is_none(),
            "the owned iteration ends after an error or the end"
        );
        if ended {
            assert_eq!(owned.incomplete(), lazy.incomplete());
        }
    }
}

fn compare_entry(batch: Batch, view: BatchView) {
    assert_eq!(batch.magic(), view.magic());
    assert_eq!(batch.base_offset(), view.base_offset());
    assert_eq!(batch.next_offset(), view.next_offset());
    let viewed: Result<Vec<_>, _> = view
        .records()
        .map(|r| r.map(|r| r.to_consumer_record()))
        .collect();
    let owned: Vec<_> = batch.into_records().collect();
    assert_eq!(
        viewed.expect("the view reads every record of a decoded batch"),
        owned
    );
}

/// SASL SCRAM's client against a hostile server: the first byte picks SHA-256 or SHA-512, the rest
/// is the server's first message and, after a NUL, its final one. Every answer is a `ScramError`
/// or a valid step; a refused first message leaves no proof, so the final one is then refused too.
pub fn check_scram(data: &[u8]) {
    use kwire_protocol::sasl::{ScramClient, ScramHash};
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let hash = if pick & 1 == 0 {
        ScramHash::Sha256
    } else {
        ScramHash::Sha512
    };
    let (first, last) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let mut scram = ScramClient::new(hash, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
    let proof = scram.client_final(first);
    let checked = scram.check_server_final(last);
    if proof.is_err() {
        assert!(checked.is_err(), "a final message passed without a proof");
    }
}

/// Any bytes as a classic group member's subscription (JoinGroup metadata) and assignment
/// (SyncGroup): the consumer protocol's decoders end in a value or an error, and a value written
/// again (at the version read, or 3 for a later one) reads back the same.
pub fn check_consumer_protocol(data: &[u8]) {
    use kwire_protocol::consumer_protocol::{
        decode_versioned, encode_versioned, ConsumerProtocolAssignment, ConsumerProtocolSubscription,
    };
    let bytes = Bytes::copy_from_slice(data);
    let version = match data {
        [a, b, ..] => i16::from_be_bytes([*a, *b]).clamp(0, 3),
        _ => 0,
    };
    if let Ok(s) = decode_versioned::<ConsumerProtocolSubscription>(&bytes) {
        let again = encode_versioned(&s, version).expect("a decoded subscription encodes");
        let back: ConsumerProtocolSubscription = decode_versioned(&again).expect("and decodes");
        assert_eq!(back, s);
    }
    if let Ok(a) = decode_versioned::<ConsumerProtocolAssignment>(&bytes) {
        let again = encode_versioned(&a, version).expect("a decoded assignment encodes");
        let back: ConsumerProtocolAssignment = decode_versioned(&again).expect("and decodes");
        assert_eq!(back, a);
    }
}
