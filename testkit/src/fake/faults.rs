//! Faults the fake cluster stages on request, and seeded schedules of them.
//!
//! Per-request faults are armed for the next `count` requests of one API (on any broker) and
//! used up in the order they were armed; cluster faults (a leader moves, a broker stops and comes
//! back, connections close, a broker stalls) happen when played. A [`Schedule`] made from a seed
//! is a list of faults at times after its start: the same seed, the same list.

use std::time::Duration;

use kwire_protocol::messages::ApiKey;
use kwire_protocol::records::{Compression, DecodeOptions, RecordBatch};
use kwire_protocol::ErrorCode;

use crate::data::Seeded;

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestFault {
    /// Answer with `code` in every error field, without applying the request.
    Error(ErrorCode),
    /// Apply the request, then answer with `code` anyway (an outcome the client cannot know:
    /// a Produce written, then REQUEST_TIMED_OUT).
    ErrorAfterApply(ErrorCode),
    /// Hold the request this long before handling it.
    Delay(Duration),
    /// Answer with a frame of the right correlation id whose body is garbage.
    Malformed,
    /// Apply the request, write the first half of the response frame, then close.
    CloseMidFrame,
    /// Apply the request, then close the connection without answering.
    CloseBeforeResponse,
    /// A Fetch answered with its first non-empty partition's record bytes damaged.
    CorruptRecords(Corruption),
    /// A Metadata answered without the topics it was asked about (a response no broker may
    /// send: Kafka answers each topic asked for, if only with an error).
    OmitTopics,
    /// A Metadata answered with every partition's leader at -1 and `code` in the partition's
    /// error field: Kafka answers LEADER_NOT_AVAILABLE while a partition has no leader.
    Leaderless(ErrorCode),
    /// A Produce, Fetch or Metadata answered with `throttle_time_ms` set to this (a quota the
    /// client went over, KIP-219); the broker itself holds nothing back.
    Throttle(i32),
}

/// How [`RequestFault::CorruptRecords`] damages a Fetch's record bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Corruption {
    /// A byte of the first batch flipped after its CRC: the CRC no longer matches.
    Crc,
    /// The first batch's length field set to -1.
    NegativeLength,
    /// The record bytes cut in the middle of the first batch.
    Truncated,
    /// The first batch replaced by one of the same base offset and one record, compressed with
    /// this codec, whose records inflate to 1 GiB of zeros (sixteen times the decoder's default
    /// limit) from a few MiB at most; CRC correct.
    Bomb(Compression),
    /// The first batch compressed with this codec, its compressed stream cut in half, its length
    /// and CRC made to match: only the decompressor can tell.
    TruncatedStream(Compression),
}

impl Corruption {
    /// Damages `records` (a partition's record bytes); bytes too short to hold a batch header
    /// are left alone.
    pub(crate) fn apply(self, records: &[u8]) -> Vec<u8> {
        let mut out = records.to_vec();
        if out.len() < 61 {
            return out;
        }
        match self {
            // The last byte of the first batch lies in its CRC-covered part.
            Self::Crc => {
                let len = i32::from_be_bytes([out[8], out[9], out[10], out[11]]);
                let end = usize::try_from(len).map_or(out.len(), |l| (12 + l).min(out.len()));
                out[end - 1] ^= 0xff;
            }
            Self::NegativeLength => out[8..12].copy_from_slice(&(-1i32).to_be_bytes()),
            Self::Truncated => {
                let len = i32::from_be_bytes([out[8], out[9], out[10], out[11]]);
                let first = usize::try_from(len).map_or(out.len(), |l| (12 + l).min(out.len()));
                out.truncate(first / 2);
            }
            Self::Bomb(codec) => return recompressed(records, codec, true).unwrap_or(out),
            Self::TruncatedStream(codec) => return recompressed(records, codec, false).unwrap_or(out),
        }
        out
    }
}

/// The first batch of `records` again, compressed with `codec`: as a bomb, or with its
/// compressed stream cut in half. `None` when the first batch does not decode.
fn recompressed(records: &[u8], codec: Compression, bomb: bool) -> Option<Vec<u8>> {
    let batch = RecordBatch::decode_from(
        &mut kwire_protocol::Decoder::new(bytes::Bytes::copy_from_slice(records)),
        &DecodeOptions::default(),
    )
    .ok()?;
    let mut header = batch.header();
    header.attributes.compression = codec;
    if bomb {
        header.last_offset_delta = 0;
        // The header of a batch of no records, then the bomb as its compressed records.
        let mut out = RecordBatch::from_parts(header, Vec::new())
            .to_bytes()
            .ok()?
            .to_vec();
        out.truncate(RECORDS_AT);
        out[57..61].copy_from_slice(&1i32.to_be_bytes());
        out.extend_from_slice(&bomb_stream(codec)?);
        return Some(with_length_and_crc(out));
    }
    let mut out = RecordBatch::from_parts(header, batch.records)
        .to_bytes()
        .ok()?
        .to_vec();
    // Cut the compressed records in half; the length and CRC follow, as a broker's would.
    out.truncate(RECORDS_AT + (out.len() - RECORDS_AT) / 2);
    Some(with_length_and_crc(out))
}

/// A v2 batch's bytes with its length field and CRC made to match them.
fn with_length_and_crc(mut batch: Vec<u8>) -> Vec<u8> {
    let len = i32::try_from(batch.len() - 12).unwrap_or(i32::MAX);
    batch[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    batch
}

/// How far a bomb inflates: 1 GiB, sixteen times the decoder's default limit.
const BOMB_SIZE: usize = 1 << 30;

/// A compressed stream of `codec` that inflates to [`BOMB_SIZE`] zero bytes from at most a few
/// MiB, built from one compressed MiB (or block) repeated, never holding the inflated output.
fn bomb_stream(codec: Compression) -> Option<Vec<u8>> {
    const MIB: usize = 1 << 20;
    let compressed = |input: &[u8]| {
        let mut out = bytes::BytesMut::new();
        codec.compress(input, &mut out).ok().map(|()| out.to_vec())
    };
    match codec {
        // gzip members back to back each inflate to their MiB.
        Compression::Gzip => Some(compressed(&vec![0; MIB])?.repeat(BOMB_SIZE / MIB)),
        // xerial framing: its header, then (length, raw snappy block) pairs.
        Compression::Snappy => {
            let block = compressed(&vec![0; MIB])?;
            let mut out = vec![
                0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
            ];
            let len = i32::try_from(block.len()).ok()?.to_be_bytes();
            for _ in 0..BOMB_SIZE / MIB {
                out.extend_from_slice(&len);
                out.extend_from_slice(&block);
            }
            Some(out)
        }
        // An LZ4 frame of one 64 KiB block (the codec's block size): its 7-byte header, the
        // block (size + data), the end mark. The block repeated inside one frame.
        Compression::Lz4 => {
            const BLOCK: usize = 64 << 10;
            let frame = compressed(&vec![0; BLOCK])?;
            let block = frame.get(7..frame.len().checked_sub(4)?)?;
            let size = u32::from_le_bytes(block.get(..4)?.try_into().ok()?) as usize;
            if block.len() != 4 + size {
                return None;
            }
            Some([&frame[..7], &block.repeat(BOMB_SIZE / BLOCK), &[0, 0, 0, 0][..]].concat())
        }
        // A zstd frame (no content size, a 1 MiB window) of RLE blocks of 128 KiB of zeros,
        // 4 bytes each.
        Compression::Zstd => {
            let mut out = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x50];
            let blocks = BOMB_SIZE / (128 << 10);
            for i in 0..blocks {
                let last = u32::from(i + 1 == blocks);
                let header = ((128u32 << 10) << 3) | (1 << 1) | last;
                out.extend_from_slice(&header.to_le_bytes()[..3]);
                out.push(0);
            }
            Some(out)
        }
        _ => None,
    }
}

/// Where a v2 batch's records start: after its 61-byte header.
const RECORDS_AT: usize = 61;

/// A fault of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The next `count` requests of `api` get `fault`.
    Request {
        /// The API.
        api: ApiKey,
        /// What happens to each.
        fault: RequestFault,
        /// How many requests.
        count: u32,
    },
    /// Every open connection (of one broker, or of all) is closed.
    DropConnections {
        /// The broker, or all when `None`.
        broker: Option<i32>,
    },
    /// A broker stops reading requests for a while; its connections stay open.
    Stall {
        /// The broker.
        broker: i32,
        /// For how long.
        duration: Duration,
    },
    /// A partition's leadership moves to another broker (`None`: the next live broker).
    MoveLeader {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The new leader.
        to: Option<i32>,
    },
    /// A broker stops (listener and connections gone, partitions led elsewhere) and starts again
    /// on the same port after `down_for`, its data kept.
    RestartBroker {
        /// The broker.
        broker: i32,
        /// How long it stays down.
        down_for: Duration,
    },
    /// Every open transaction times out now: its coordinator bumps the epoch and aborts it, as
    /// when `transaction.timeout.ms` passes (the producer's next EndTxn gets PRODUCER_FENCED).
    TimeOutTransactions,
}

/// A request fault armed for the next `left` requests of `api`.
#[derive(Debug, Clone)]
pub(crate) struct Armed {
    pub(crate) api: ApiKey,
    pub(crate) fault: RequestFault,
    pub(crate) left: u32,
}

/// The armed request faults.
#[derive(Debug, Default)]
pub(crate) struct Armory {
    armed: Vec<Armed>,
    /// Request faults used so far.
    pub(crate) used: u64,
    /// Request faults used so far, per API key.
    pub(crate) used_by_api: std::collections::BTreeMap<i16, u64>,
}

impl Armory {
    pub(crate) fn arm(&mut self, api: ApiKey, fault: RequestFault, count: u32) {
        if count > 0 {
            self.armed.push(Armed {
                api,
                fault,
                left: count,
            });
        }
    }

    /// The fault for the next request of `api`, if one is armed.
    pub(crate) fn take(&mut self, api: ApiKey) -> Option<RequestFault> {
        let i = self.armed.iter().position(|a| a.api == api)?;
        let a = &mut self.armed[i];
        let fault = a.fault;
        a.left -= 1;
        if a.left == 0 {
            self.armed.remove(i);
        }
        self.used += 1;
        *self.used_by_api.entry(api.0).or_default() += 1;
        Some(fault)
    }

    pub(crate) fn clear(&mut self) {
        self.armed.clear();
    }
}

/// Which faults a random schedule draws from, and how they are spaced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Mix {
    /// Brokers of the cluster (ids 0..brokers).
    pub brokers: i32,
    /// Topics and their partition counts whose leaders may move.
    pub topics: Vec<(String, i32)>,
    /// Request faults a schedule may arm: a retriable error (NOT_COORDINATOR,
    /// COORDINATOR_LOAD_IN_PROGRESS, ...), or an answer lost after the request was applied
    /// ([`RequestFault::CloseBeforeResponse`] on EndTxn or Produce).
    pub request_faults: Vec<(ApiKey, RequestFault)>,
    /// Weights of: connection drops, broker restarts, leader moves, request faults, stalls,
    /// transaction timeouts.
    pub weights: [u32; 6],
    /// The longest gap between two faults.
    pub max_gap: Duration,
    /// The longest a broker stays down or stalled.
    pub max_down: Duration,
}

impl Mix {
    /// Connection drops, broker restarts and leader moves over `brokers` brokers and `topics`;
    /// no request faults or stalls unless set.
    pub fn new(brokers: i32, topics: &[(&str, i32)]) -> Self {
        Self {
            brokers,
            topics: topics.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect(),
            request_faults: Vec::new(),
            weights: [4, 2, 3, 0, 0, 0],
            max_gap: Duration::from_millis(300),
            max_down: Duration::from_millis(300),
        }
    }
}

/// Faults at times after a start: made from a seed, or by hand.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    /// The seed it was made from (0 when by hand).
    pub seed: u64,
    /// (delay after the previous fault, fault), in order.
    pub events: Vec<(Duration, Fault)>,
}

impl Schedule {
    /// `count` faults drawn from `mix` by the generator seeded with `seed`.
    pub fn random(seed: u64, count: usize, mix: &Mix) -> Self {
        let mut rng = Seeded::new(seed);
        let total: u32 = mix.weights.iter().sum();
        let mut events = Vec::with_capacity(count);
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let brokers = u64::try_from(mix.brokers.max(1)).unwrap_or(1);
        for _ in 0..count {
            let gap = Duration::from_millis(rng.below(ms(mix.max_gap)) + 1);
            let mut pick = rng.below(u64::from(total.max(1)));
            let mut kind = 0;
            for (i, w) in mix.weights.iter().enumerate() {
                if pick < u64::from(*w) {
                    kind = i;
                    break;
                }
                pick -= u64::from(*w);
            }
            let broker = i32::try_from(rng.below(brokers)).unwrap_or(0);
            let fault = match kind {
                1 => Fault::RestartBroker {
                    broker,
                    down_for: Duration::from_millis(rng.below(ms(mix.max_down)) + 1),
                },
                2 if !mix.topics.is_empty() => {
                    let (topic, n) =
                        &mix.topics[usize::try_from(rng.below(mix.topics.len() as u64)).unwrap_or(0)];
                    Fault::MoveLeader {
                        topic: topic.clone(),
                        partition: i32::try_from(rng.below(u64::try_from((*n).max(1)).unwrap_or(1)))
                            .unwrap_or(0),
                        to: Some(broker),
                    }
                }
                3 if !mix.request_faults.is_empty() => {
                    let (api, fault) = mix.request_faults
                        [usize::try_from(rng.below(mix.request_faults.len() as u64)).unwrap_or(0)];
                    Fault::Request {
                        api,
                        fault,
                        count: u32::try_from(rng.below(3) + 1).unwrap_or(1),
                    }
                }
                4 => Fault::Stall {
                    broker,
                    duration: Duration::from_millis(rng.below(ms(mix.max_down)) + 1),
                },
                5 => Fault::TimeOutTransactions,
                _ => Fault::DropConnections {
                    broker: (rng.below(2) == 0).then_some(broker),
                },
            };
            events.push((gap, fault));
        }
        Self { seed, events }
    }

    /// How many events of each kind: drops, restarts, leader moves, request faults, stalls,
    /// transaction timeouts.
    pub fn counts(&self) -> [usize; 6] {
        let mut c = [0; 6];
        for (_, f) in &self.events {
            let i = match f {
                Fault::DropConnections { .. } => 0,
                Fault::RestartBroker { .. } => 1,
                Fault::MoveLeader { .. } => 2,
                Fault::Request { .. } => 3,
                Fault::Stall { .. } => 4,
                Fault::TimeOutTransactions => 5,
            };
            c[i] += 1;
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_schedule() {
        let mix = Mix::new(3, &[("t", 4)]);
        let a = Schedule::random(42, 50, &mix);
        let b = Schedule::random(42, 50, &mix);
        let c = Schedule::random(44, 50, &mix);
        assert_eq!(a.events, b.events);
        assert_ne!(a.events, c.events);
        // Seeds that differ in their lowest bit only are different schedules too.
        for k in [0u64, 1, 21, 1 << 40] {
            assert_ne!(
                Schedule::random(2 * k, 50, &mix).events,
                Schedule::random(2 * k + 1, 50, &mix).events,
                "seeds {} and {}",
                2 * k,
                2 * k + 1
            );
        }
        assert_eq!(a.events.len(), 50);
        let counts = a.counts();
        assert!(counts[0] > 0 && counts[1] > 0 && counts[2] > 0, "{counts:?}");
    }

    #[test]
    fn armed_faults_are_used_up_in_order() {
        let mut a = Armory::default();
        a.arm(
            ApiKey::Produce,
            RequestFault::Error(ErrorCode::REQUEST_TIMED_OUT),
            2,
        );
        a.arm(ApiKey::Produce, RequestFault::Malformed, 1);
        assert_eq!(a.take(ApiKey::Fetch), None);
        assert_eq!(
            a.take(ApiKey::Produce),
            Some(RequestFault::Error(ErrorCode::REQUEST_TIMED_OUT))
        );
        assert_eq!(
            a.take(ApiKey::Produce),
            Some(RequestFault::Error(ErrorCode::REQUEST_TIMED_OUT))
        );
        assert_eq!(a.take(ApiKey::Produce), Some(RequestFault::Malformed));
        assert_eq!(a.take(ApiKey::Produce), None);
        assert_eq!(a.used, 3);
    }
}
