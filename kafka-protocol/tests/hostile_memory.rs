//! Hostile input against bounded resources: lengths and counts up to 2^31 - 1 (and compact ones
//! up to 2^32 - 2), negative lengths, overlong varints, decompression bombs of every codec, huge
//! and nested tagged fields, and a 2 GiB frame. Each gives a typed error, and the memory the
//! decode takes stays within a small multiple of its input or of the configured limit.
//!
//! How the memory is measured: the workspace forbids `unsafe` code, so a counting global allocator
//! is out of reach here; the kernel counts instead. Each case runs alone in a child process of
//! this test binary (`--exact`, one test thread), and the child reports how far its peak address
//! space (`VmPeak` in `/proc/self/status`) rose above its size just before the decode. That counts
//! every allocation (a `Vec::with_capacity` that is never written to included), at page
//! granularity, and no other test's. The heap grows in steps of about 128 KiB, so every budget
//! below has a floor of [`FLOOR`]. The child also runs under `ulimit -v`, so a runaway allocation
//! fails the test rather than the machine.

#![cfg(target_os = "linux")]

use std::io::Write;
use std::process::Command;

use bytes::{BufMut, Bytes, BytesMut};
use kwire_protocol::frame::{FrameDecoder, RequestHeader, DEFAULT_MAX_FRAME_SIZE};
use kwire_protocol::messages::fetch_response::{
    EpochEndOffset, FetchResponse, FetchableTopicResponse, PartitionData,
};
use kwire_protocol::messages::{Message, MetadataResponse};
use kwire_protocol::records::{Compression, DecodeOptions, RecordBatch, RecordBatchView, RecordBatches};
use kwire_protocol::{Ctx, DecodeErrorKind, Decoder, Wire};

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;
const GIB: usize = 1 << 30;

/// The smallest budget: what the measurement can resolve (heap growth steps, stdout buffers).
const FLOOR: usize = MIB;

/// The decompression bound of the bomb cases (the default, 64 MiB, is used by one zstd case).
const LIMIT: usize = 16 * MIB;

/// The child's address-space limit, in KiB: 4 GiB, far above every budget, far below harm.
const ADDRESS_SPACE_KB: usize = 4 << 20;

/// Set in a child process to the name of the one case it runs.
const CASE: &str = "KWIRE_HOSTILE_CASE";
const REPORT: &str = "hostile-peak-bytes=";

fn status_bytes(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kb: usize = line.trim().trim_end_matches("kB").trim().parse().unwrap();
    kb * KIB
}

/// Runs one case in a child process and returns how much its peak address space rose during
/// `decode` (the input from `build` is made before the measurement starts). `case` is the name of
/// the test, then `#` and a number when one test has several cases. In the child, runs its one
/// case, prints the figure and returns `None`; the case's own assertions fail the child.
fn isolated<I>(case: &str, build: impl FnOnce() -> I, decode: impl FnOnce(I)) -> Option<usize> {
    if let Ok(running) = std::env::var(CASE) {
        if running == case {
            let input = build();
            let before = status_bytes("VmSize:");
            decode(input);
            let peak = status_bytes("VmPeak:");
            println!("{REPORT}{}", peak.saturating_sub(before));
            std::io::stdout().flush().unwrap();
        }
        return None;
    }
    let test = case.split('#').next().unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {ADDRESS_SPACE_KB} && exec \"$0\" \"$@\""))
        .arg(exe)
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env(CASE, case)
        // One malloc arena: a thread's own arena is reserved at twice its size and trimmed, which
        // would leave 64 MiB in the peak that no decode took.
        .env("MALLOC_ARENA_MAX", "1")
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "case {case} failed in its child process ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let peak = stdout
        .lines()
        .find_map(|l| l.split_once(REPORT).map(|(_, figure)| figure))
        .unwrap_or_else(|| panic!("case {case} reported no figure:\n{stdout}"));
    Some(peak.trim().parse().unwrap())
}

/// Runs a case alone and asserts the decode's peak stays within `budget` bytes.
fn within(case: &str, budget: usize, build: impl FnOnce() -> Bytes, decode: impl FnOnce(Bytes)) {
    if let Some(peak) = isolated(case, build, decode) {
        eprintln!("{case}: peak +{peak} bytes, budget {budget}");
        assert!(
            peak <= budget,
            "{case}: the decode's peak rose {peak} bytes, over its budget of {budget}"
        );
    }
}

fn dec(bytes: &Bytes) -> Decoder {
    Decoder::new(bytes.clone())
}

const CLASSIC: Ctx = Ctx {
    version: 0,
    flexible: false,
    nullable: false,
};
const FLEX: Ctx = Ctx {
    version: 0,
    flexible: true,
    nullable: false,
};

fn eof(needed: usize, remaining: usize) -> DecodeErrorKind {
    DecodeErrorKind::UnexpectedEof { needed, remaining }
}

/// `prefix` then `len` bytes of `fill`.
fn padded(prefix: &[u8], fill: u8, len: usize) -> Bytes {
    let mut b = BytesMut::with_capacity(prefix.len() + len);
    b.put_slice(prefix);
    b.put_bytes(fill, len);
    b.freeze()
}

/// A RecordBatch v2 around `records` (compressed with `compression`), `count` records declared,
/// with a correct CRC32C: a bomb that passes every check before the decompression.
fn batch_v2(compression: Compression, count: i32, records: &[u8]) -> Bytes {
    let mut body = BytesMut::new();
    body.put_i16(i16::from(compression.id()));
    body.put_i32(0); // last offset delta
    body.put_i64(0); // base timestamp
    body.put_i64(0); // max timestamp
    body.put_i64(-1); // producer id
    body.put_i16(-1); // producer epoch
    body.put_i32(-1); // base sequence
    body.put_i32(count);
    body.put_slice(records);
    let mut out = BytesMut::new();
    out.put_i64(0); // base offset
    out.put_i32(i32::try_from(body.len() + 9).unwrap()); // length, from the leader epoch on
    out.put_i32(0); // partition leader epoch
    out.put_i8(RecordBatch::MAGIC);
    out.put_u32(crc32c::crc32c(&body));
    out.put_slice(&body);
    out.freeze()
}

/// Decodes `batch` both ways (owned, and the view's header pass) and returns the error kind,
/// after checking both gave the same one.
fn batch_error(batch: &Bytes, options: &DecodeOptions) -> DecodeErrorKind {
    let owned = RecordBatch::decode_with(batch.clone(), options).unwrap_err();
    let view = RecordBatchView::decode_with(batch.clone(), options).unwrap_err();
    assert_eq!(owned.kind(), view.kind());
    owned.kind().clone()
}

fn limit_options() -> DecodeOptions {
    DecodeOptions::new().with_max_decompressed_size(LIMIT)
}

// ---------------------------------------------------------------------------------------------
// Lengths and counts

#[test]
fn lengths_up_to_i32_max_allocate_nothing_ahead_of_the_bytes() {
    let data = KIB;
    within(
        "lengths_up_to_i32_max_allocate_nothing_ahead_of_the_bytes",
        FLOOR,
        || padded(&[], 0x61, data),
        |tail| {
            let with = |prefix: &[u8]| Bytes::from([prefix, &tail[..]].concat());
            // Bytes and nullable bytes, int32 length 2^31 - 1.
            let input = with(&i32::MAX.to_be_bytes());
            let err = Bytes::decode(&mut dec(&input), CLASSIC).unwrap_err();
            assert_eq!(err.kind(), &eof(i32::MAX as usize, data));
            let nullable = CLASSIC.with_nullable(true);
            let err = Option::<Bytes>::decode(&mut dec(&input), nullable).unwrap_err();
            assert_eq!(err.kind(), &eof(i32::MAX as usize, data));
            // String, int16 length 2^15 - 1.
            let input = with(&i16::MAX.to_be_bytes());
            let err = String::decode(&mut dec(&input), CLASSIC).unwrap_err();
            assert_eq!(err.kind(), &eof(i16::MAX as usize, data));
            // Compact string and bytes, uvarint N + 1 = 2^32 - 1: length 2^32 - 2.
            let input = with(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
            let err = String::decode(&mut dec(&input), FLEX).unwrap_err();
            assert_eq!(err.kind(), &eof(u32::MAX as usize - 1, data));
            let err = Bytes::decode(&mut dec(&input), FLEX).unwrap_err();
            assert_eq!(err.kind(), &eof(u32::MAX as usize - 1, data));
        },
    );
}

#[test]
fn negative_lengths_on_non_nullable_fields_are_typed_errors() {
    within(
        "negative_lengths_on_non_nullable_fields_are_typed_errors",
        FLOOR,
        || padded(&[], 0, KIB),
        |tail| {
            let with = |prefix: &[u8]| Bytes::from([prefix, &tail[..]].concat());
            // -1 (null) and lengths below it, as an int16 (strings) and an int32 (bytes, arrays).
            let expected = |n: i64| match n {
                -1 => DecodeErrorKind::NullNotAllowed,
                n => DecodeErrorKind::InvalidLength(n),
            };
            for (short, long) in [(-1i16, -1i32), (-2, -2), (i16::MIN, i32::MIN)] {
                let input = with(&short.to_be_bytes());
                let err = String::decode(&mut dec(&input), CLASSIC).unwrap_err();
                assert_eq!(err.kind(), &expected(short.into()), "string {short}");
                let input = with(&long.to_be_bytes());
                let err = Bytes::decode(&mut dec(&input), CLASSIC).unwrap_err();
                assert_eq!(err.kind(), &expected(long.into()), "bytes {long}");
                let err = Vec::<i32>::decode(&mut dec(&input), CLASSIC).unwrap_err();
                assert_eq!(err.kind(), &expected(long.into()), "array {long}");
            }
            // Compact: 0 is null (N + 1 = 0).
            let err = String::decode(&mut dec(&with(&[0])), FLEX).unwrap_err();
            assert_eq!(err.kind(), &DecodeErrorKind::NullNotAllowed);
            // A record batch and a frame with a negative length.
            let mut batch = batch_v2(Compression::None, 0, &[]).to_vec();
            batch[8..12].copy_from_slice(&(-7i32).to_be_bytes());
            let err = RecordBatch::decode(Bytes::from(batch)).unwrap_err();
            assert_eq!(err.kind(), &DecodeErrorKind::InvalidLength(-7));
            let mut buf = BytesMut::from(&i32::MIN.to_be_bytes()[..]);
            let err = FrameDecoder::default().decode(&mut buf).unwrap_err();
            assert_eq!(err.kind(), &DecodeErrorKind::InvalidLength(i32::MIN.into()));
        },
    );
}

#[test]
fn array_counts_of_2_pow_31_minus_1_allocate_by_the_input() {
    let data = MIB;
    within(
        "array_counts_of_2_pow_31_minus_1_allocate_by_the_input",
        FLOOR + 2 * data,
        || padded(&[], 0, data),
        |tail| {
            let with = |prefix: &[u8]| Bytes::from([prefix, &tail[..]].concat());
            // int64s: the 1 MiB behind the count holds 131072 of them, then the input ends.
            let err = Vec::<i64>::decode(&mut dec(&with(&i32::MAX.to_be_bytes())), CLASSIC).unwrap_err();
            assert_eq!(err.kind(), &eof(8, 0));
            // Compact count 2^32 - 2.
            let input = with(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
            let err = Vec::<i64>::decode(&mut dec(&input), FLEX).unwrap_err();
            assert_eq!(err.kind(), &eof(8, 0));
        },
    );
}

#[test]
fn a_struct_array_count_allocates_by_the_input_not_the_struct_size() {
    // MetadataResponse v1: brokers, a count of 2^31 - 1, then 1 MiB of 0xff: the first broker's
    // host is a -1 (null) string, which is refused. What was allocated for the array before that
    // must be backed by the input: not 1 MiB of brokers of ~100 bytes each.
    let data = MIB;
    within(
        "a_struct_array_count_allocates_by_the_input_not_the_struct_size",
        FLOOR + 2 * data,
        || padded(&i32::MAX.to_be_bytes(), 0xff, data),
        |input| {
            let err = MetadataResponse::decode_bytes(input, 1).unwrap_err();
            assert_eq!(err.kind(), &DecodeErrorKind::NullNotAllowed);
        },
    );
    // Compact: FetchResponse v12, responses count 2^32 - 2, then garbage.
    within(
        "a_struct_array_count_allocates_by_the_input_not_the_struct_size#2",
        FLOOR + 2 * data,
        || {
            padded(
                &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f],
                0,
                data,
            )
        },
        |input| {
            let err = FetchResponse::decode_bytes(input, 12).unwrap_err();
            assert_eq!(err.kind(), &DecodeErrorKind::NullNotAllowed);
        },
    );
}

#[test]
fn a_record_count_of_2_pow_31_minus_1_allocates_by_the_records_bytes() {
    // 1 MiB of records bytes, zero-length records: the first is refused. What is reserved for the
    // records before that must be backed by the bytes, not by the count.
    let data = MIB;
    within(
        "a_record_count_of_2_pow_31_minus_1_allocates_by_the_records_bytes",
        FLOOR + 2 * data,
        || batch_v2(Compression::None, i32::MAX, &vec![0; data]),
        |batch| {
            // A zero-length record has no attributes byte.
            assert_eq!(batch_error_owned(&batch), eof(1, 0));
        },
    );
}

fn batch_error_owned(batch: &Bytes) -> DecodeErrorKind {
    RecordBatch::decode(batch.clone()).unwrap_err().kind().clone()
}

// ---------------------------------------------------------------------------------------------
// Varints

#[test]
fn varints_of_ten_bytes_and_more_stop_at_their_limit() {
    within(
        "varints_of_ten_bytes_and_more_stop_at_their_limit",
        FLOOR,
        || padded(&[], 0xff, MIB),
        |ones| {
            // A megabyte of continuation bits: refused after 5 (varint) or 10 (varlong) bytes.
            let mut d = dec(&ones);
            assert_eq!(
                d.uvarint().unwrap_err().kind(),
                &DecodeErrorKind::VarintTooLong { max_bytes: 5 }
            );
            assert_eq!(d.offset(), 5);
            let mut d = dec(&ones);
            assert_eq!(
                d.varlong().unwrap_err().kind(),
                &DecodeErrorKind::VarintTooLong { max_bytes: 10 }
            );
            assert_eq!(d.offset(), 10);
            // Six bytes whose value would fit: still too long for a varint.
            let six = Bytes::from_static(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
            assert_eq!(
                dec(&six).varint().unwrap_err().kind(),
                &DecodeErrorKind::VarintTooLong { max_bytes: 5 }
            );
            // As a compact length, and as a record's length inside a batch.
            assert_eq!(
                String::decode(&mut dec(&ones), FLEX).unwrap_err().kind(),
                &DecodeErrorKind::VarintTooLong { max_bytes: 5 }
            );
            let batch = batch_v2(Compression::None, 1, &ones[..11]);
            assert_eq!(
                batch_error_owned(&batch),
                DecodeErrorKind::VarintTooLong { max_bytes: 5 }
            );
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Decompression bombs: each about a megabyte or less, each inflating toward 1 GiB

/// The output of a bomb must stop at the limit: the decode's peak is within a few times it (the
/// output buffer doubles as it grows) plus the input.
fn bomb_budget(input: usize, limit: usize) -> usize {
    FLOOR + 3 * limit + 2 * input
}

fn too_large(limit: usize) -> DecodeErrorKind {
    DecodeErrorKind::TooLarge {
        limit,
        actual: limit + 1,
    }
}

/// gzip members of 1 MiB of zeros each, back to back: a stream of `members` MiB.
fn gzip_bomb(members: usize) -> Vec<u8> {
    let mut one = BytesMut::new();
    Compression::Gzip.compress(&vec![0; MIB], &mut one).unwrap();
    one.repeat(members)
}

#[test]
fn gzip_bomb_stops_at_the_limit() {
    // 1024 members of ~1 KiB: 1 MiB in, 1 GiB out.
    let input = gzip_bomb(1024);
    assert!(input.len() < 2 * MIB, "{}", input.len());
    let len = input.len();
    within(
        "gzip_bomb_stops_at_the_limit",
        bomb_budget(len, LIMIT),
        || batch_v2(Compression::Gzip, 1, &input),
        |batch| assert_eq!(batch_error(&batch, &limit_options()), too_large(LIMIT)),
    );
}

#[test]
fn snappy_declared_lengths_are_checked_before_allocating() {
    within(
        "snappy_declared_lengths_are_checked_before_allocating",
        FLOOR + 4 * KIB,
        || {
            // Raw snappy: a preamble saying 1 GiB, then 1 KiB of copies.
            let mut raw = vec![0x80, 0x80, 0x80, 0x80, 0x04];
            raw.extend(std::iter::repeat_n([0xfe, 0x01, 0x00], 340).flatten());
            raw.into()
        },
        |raw| {
            let batch = batch_v2(Compression::Snappy, 1, &raw);
            let kind = batch_error(&batch, &limit_options());
            assert_eq!(
                kind,
                DecodeErrorKind::TooLarge {
                    limit: LIMIT,
                    actual: GIB
                }
            );
            // xerial framing: one block saying 1 GiB.
            let mut xerial = vec![
                0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
            ];
            xerial.extend_from_slice(&(raw.len() as i32).to_be_bytes());
            xerial.extend_from_slice(&raw);
            let batch = batch_v2(Compression::Snappy, 1, &xerial);
            let kind = batch_error(&batch, &limit_options());
            assert_eq!(
                kind,
                DecodeErrorKind::TooLarge {
                    limit: LIMIT,
                    actual: GIB
                }
            );
        },
    );
}

#[test]
fn xerial_snappy_bomb_of_many_blocks_stops_at_the_limit() {
    // Blocks of 1 MiB of zeros (~48 KiB each, snappy's ratio is low); 20 of them pass the limit.
    let mut block = BytesMut::new();
    Compression::Snappy.compress(&vec![0; MIB], &mut block).unwrap();
    let mut xerial = vec![
        0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
    ];
    for _ in 0..20 {
        xerial.extend_from_slice(&(block.len() as i32).to_be_bytes());
        xerial.extend_from_slice(&block);
    }
    let len = xerial.len();
    within(
        "xerial_snappy_bomb_of_many_blocks_stops_at_the_limit",
        bomb_budget(len, LIMIT),
        || batch_v2(Compression::Snappy, 1, &xerial),
        |batch| {
            let kind = batch_error(&batch, &limit_options());
            // Refused at the 17th block, by its declared length, before it is inflated.
            assert_eq!(
                kind,
                DecodeErrorKind::TooLarge {
                    limit: LIMIT,
                    actual: LIMIT + MIB
                }
            );
        },
    );
}

/// An LZ4 frame of `blocks` blocks of 4 MiB of zeros each (~16 KiB compressed).
fn lz4_bomb(blocks: usize) -> Vec<u8> {
    use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};

    let info = FrameInfo::new()
        .block_size(BlockSize::Max4MB)
        .block_mode(BlockMode::Independent);
    let mut enc = FrameEncoder::with_frame_info(info, Vec::new());
    enc.write_all(&vec![0; 4 * MIB]).unwrap();
    let frame = enc.finish().unwrap();
    // Magic, FLG, BD, header checksum (7 bytes); one block (size + data); the end mark.
    let block = &frame[7..frame.len() - 4];
    let size = u32::from_le_bytes(block[..4].try_into().unwrap()) as usize;
    assert_eq!(block.len(), 4 + size, "one block, no checksums");
    [&frame[..7], &block.repeat(blocks), &[0, 0, 0, 0][..]].concat()
}

#[test]
fn lz4_bomb_stops_at_the_limit() {
    // 256 blocks of 4 MiB: ~4 MiB in, 1 GiB out.
    let input = lz4_bomb(256);
    let len = input.len();
    within(
        "lz4_bomb_stops_at_the_limit",
        bomb_budget(len, LIMIT),
        || batch_v2(Compression::Lz4, 1, &input),
        |batch| assert_eq!(batch_error(&batch, &limit_options()), too_large(LIMIT)),
    );
}

/// A zstd frame of `blocks` RLE blocks of 128 KiB of zeros each, 4 bytes per block: with
/// `content_size`, a single-segment frame declaring it (and so a window of that size); without,
/// a 1 MiB window.
fn zstd_bomb(blocks: usize, content_size: Option<u32>) -> Vec<u8> {
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd];
    match content_size {
        // Frame header descriptor: 4-byte content size, single segment.
        Some(size) => {
            out.push(0xa0);
            out.extend_from_slice(&size.to_le_bytes());
        }
        // No content size; window descriptor 2^20.
        None => out.extend_from_slice(&[0x00, 0x50]),
    }
    for i in 0..blocks {
        let last = u32::from(i + 1 == blocks);
        let header = (128 << 10) << 3 | 1 << 1 | last; // size, RLE, last
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.push(0);
    }
    out
}

#[test]
fn zstd_bomb_stops_at_the_limit() {
    // 8192 RLE blocks: 32 KiB in, 1 GiB out. Under the configured limit, and under the default.
    let input = zstd_bomb(8192, None);
    assert!(input.len() <= 33 * KIB);
    let len = input.len();
    within(
        "zstd_bomb_stops_at_the_limit",
        bomb_budget(len, LIMIT),
        || batch_v2(Compression::Zstd, 1, &input),
        |batch| assert_eq!(batch_error(&batch, &limit_options()), too_large(LIMIT)),
    );
    let default = DecodeOptions::DEFAULT_MAX_DECOMPRESSED_SIZE;
    within(
        "zstd_bomb_stops_at_the_limit#2",
        bomb_budget(len, default),
        || batch_v2(Compression::Zstd, 1, &input),
        |batch| assert_eq!(batch_error(&batch, &DecodeOptions::default()), too_large(default)),
    );
}

#[test]
fn zstd_declared_content_size_of_1_gib_reserves_nothing() {
    // A single-segment frame declares its window as its content size: 1 GiB, with 1 KiB of
    // blocks behind it. Refused (the window is over what the limit allows) before anything
    // of that size is reserved.
    within(
        "zstd_declared_content_size_of_1_gib_reserves_nothing",
        FLOOR + LIMIT,
        || batch_v2(Compression::Zstd, 1, &zstd_bomb(256, Some(GIB as u32))),
        |batch| {
            let kind = batch_error(&batch, &limit_options());
            assert!(matches!(kind, DecodeErrorKind::Decompress(_)), "{kind:?}");
        },
    );
}

/// A magic 1 entry whose value is `value`, compressed with gzip, CRC32 correct.
fn legacy_gzip_wrapper(value: &[u8]) -> Bytes {
    let mut message = BytesMut::new();
    message.put_i8(1); // magic
    message.put_i8(1); // attributes: gzip
    message.put_i64(0); // timestamp
    message.put_i32(-1); // key: null
    message.put_i32(i32::try_from(value.len()).unwrap());
    message.put_slice(value);
    let mut entry = BytesMut::new();
    entry.put_i64(0);
    entry.put_i32(i32::try_from(message.len() + 4).unwrap());
    entry.put_u32(crc32fast::hash(&message));
    entry.put_slice(&message);
    entry.freeze()
}

#[test]
fn a_legacy_wrapper_bomb_stops_at_the_limit() {
    // A wrapper whose value inflates toward 1 GiB.
    let input = gzip_bomb(1024);
    within(
        "a_legacy_wrapper_bomb_stops_at_the_limit",
        bomb_budget(input.len(), LIMIT),
        || legacy_gzip_wrapper(&input),
        |entry| {
            let mut batches = RecordBatches::with_options(entry, limit_options());
            let err = batches.next().unwrap().unwrap_err();
            assert_eq!(err.kind(), &too_large(LIMIT));
        },
    );
    // One that inflates to exactly the limit, of zeros: its first inner entry (size 0) is
    // refused, and what was reserved for inner entries before it is backed by the bytes.
    let input = gzip_bomb(LIMIT / MIB);
    within(
        "a_legacy_wrapper_bomb_stops_at_the_limit#2",
        bomb_budget(input.len(), LIMIT),
        || legacy_gzip_wrapper(&input),
        |entry| {
            let mut batches = RecordBatches::with_options(entry, limit_options());
            let err = batches.next().unwrap().unwrap_err();
            assert_eq!(err.kind(), &DecodeErrorKind::InvalidLength(0));
        },
    );
}

#[test]
fn a_bomb_with_a_record_count_of_2_pow_31_minus_1_allocates_by_the_output() {
    // 16 MiB of zeros (within the limit) and a count of 2^31 - 1: the records are zero-length,
    // refused at the first; what is reserved for records before that is backed by the output.
    let input = zstd_bomb(LIMIT / (128 << 10), None);
    within(
        "a_bomb_with_a_record_count_of_2_pow_31_minus_1_allocates_by_the_output",
        FLOOR + 4 * LIMIT,
        || batch_v2(Compression::Zstd, i32::MAX, &input),
        |batch| {
            let err = RecordBatch::decode_with(batch, &limit_options()).unwrap_err();
            assert_eq!(err.kind(), &eof(1, 0));
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Tagged fields

#[test]
fn huge_tagged_field_counts_and_sizes_are_bounded_by_the_input() {
    within(
        "huge_tagged_field_counts_and_sizes_are_bounded_by_the_input",
        FLOOR,
        || Bytes::from_static(&[0, 18, 0, 3, 0, 0, 0, 1, 0, 0]),
        |header| {
            // Request header v2: api key, version, correlation id, client id "", then tags.
            let with = |tags: &[u8]| Bytes::from([&header[..], tags].concat());
            // 2^32 - 1 fields declared, one there.
            let input = with(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0]);
            let err = RequestHeader::decode(&mut dec(&input), 2).unwrap_err();
            assert_eq!(err.kind(), &eof(1, 0));
            // One field of 2^32 - 1 bytes, three there.
            let input = with(&[1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]);
            let err = RequestHeader::decode(&mut dec(&input), 2).unwrap_err();
            assert_eq!(err.kind(), &eof(u32::MAX as usize, 3));
        },
    );
}

#[test]
fn a_megabyte_of_tagged_fields_costs_a_bounded_multiple_of_it() {
    // 2^18 empty unknown fields with ascending tags (4 bytes each): each is kept (tag and a
    // zero-length slice, 40 bytes), so the section costs about ten times its size, and the
    // vector's doubling twice that.
    let fields = 1 << 18;
    let mut tags = BytesMut::from(&[0, 18, 0, 3, 0, 0, 0, 1, 0, 0][..]);
    let mut e = kwire_protocol::Encoder::new();
    e.uvarint(fields);
    for tag in 0..fields {
        e.uvarint(tag + (1 << 14)); // three bytes each
        e.uvarint(0);
    }
    tags.extend_from_slice(&e.into_inner());
    let input = tags.freeze();
    let len = input.len();
    within(
        "a_megabyte_of_tagged_fields_costs_a_bounded_multiple_of_it",
        FLOOR + 24 * len,
        || input,
        |input| {
            let header = RequestHeader::decode(&mut dec(&input), 2).unwrap();
            assert_eq!(header.unknown_tagged_fields.len(), fields as usize);
        },
    );
}

#[test]
fn nested_tagged_fields_are_bounded_by_the_field_that_holds_them() {
    // FetchResponse v12: a partition's diverging_epoch is tagged field 0, a struct with tagged
    // fields of its own. Inside it, a section declaring 2^32 - 1 fields and then one of
    // 2^32 - 1 bytes: bounded by the 20 bytes of the field that holds them.
    within(
        "nested_tagged_fields_are_bounded_by_the_field_that_holds_them",
        FLOOR,
        || {
            let partition = PartitionData {
                diverging_epoch: EpochEndOffset {
                    epoch: 7,
                    end_offset: 9,
                    ..Default::default()
                },
                ..Default::default()
            };
            let response = FetchResponse {
                responses: vec![FetchableTopicResponse {
                    topic: "t".into(),
                    partitions: vec![partition],
                    ..Default::default()
                }],
                ..Default::default()
            };
            response.encode_to_bytes(12).unwrap()
        },
        |body| {
            // Tag 0, size 13: epoch 7, end offset 9, no tagged fields.
            let field: &[u8] = &[0, 13, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 9, 0];
            let at = body
                .windows(field.len())
                .position(|w| w == field)
                .expect("the tagged field");
            let nested: &[u8] = &[
                0, 20, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 9, // tag 0, size 20, epoch, end offset
                0xff, 0xff, 0xff, 0xff, 0x0f, // 2^32 - 1 fields
                1, 0xff, 0xff, // tag 1, a size running past the field
            ];
            let hostile = [&body[..at], nested, &body[at + field.len()..]].concat();
            let err = FetchResponse::decode_bytes(hostile.into(), 12).unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    DecodeErrorKind::UnexpectedEof { .. } | DecodeErrorKind::VarintTooLong { .. }
                ),
                "{err}"
            );
            assert!(err.path().contains("diverging_epoch"), "{}", err.path());
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Frames

#[test]
fn a_frame_declaring_2_gib_is_refused_or_buffered_by_what_arrived() {
    let fed = 4 * MIB;
    // The buffer reserves ahead by at most what it holds, and moves when it grows (old and new
    // at once): up to about four times what arrived.
    within(
        "a_frame_declaring_2_gib_is_refused_or_buffered_by_what_arrived",
        FLOOR + 5 * fed,
        || padded(&i32::MAX.to_be_bytes(), 0x5a, fed),
        |stream| {
            // The default limit (100 MiB) refuses it from the prefix alone.
            let mut buf = BytesMut::from(&stream[..4]);
            let err = FrameDecoder::default().decode(&mut buf).unwrap_err();
            assert_eq!(
                err.kind(),
                &DecodeErrorKind::TooLarge {
                    limit: DEFAULT_MAX_FRAME_SIZE,
                    actual: i32::MAX as usize
                }
            );
            assert!(buf.capacity() < 64);
            // A limit that lets it through: 4 MiB fed in 64 KiB reads is waited for, and the
            // buffer grows with what arrived, never toward the 2 GiB declared.
            let frames = FrameDecoder::new(usize::MAX);
            let mut buf = BytesMut::new();
            for chunk in stream.chunks(64 * KIB) {
                buf.extend_from_slice(chunk);
                assert_eq!(frames.decode(&mut buf).unwrap(), None);
                assert!(
                    buf.capacity() <= 4 * buf.len().max(4 * KIB),
                    "{} for {}",
                    buf.capacity(),
                    buf.len()
                );
            }
            assert_eq!(buf.len(), stream.len());
        },
    );
}
