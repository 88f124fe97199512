//! The Java client's key hash, so kwire and Java producers send a key to the same partition.
//!
//! References: `org.apache.kafka.common.utils.Utils.murmur2` and `toPositive`, and the built-in
//! partitioner's rule `toPositive(murmur2(keyBytes)) % numPartitions`.

/// MurmurHash2 (32-bit) with the seed the Java client uses, over `data`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, b) in tail.iter().enumerate().rev() {
            h ^= u32::from(*b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition the Java client's default partitioner picks for a keyed record.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    debug_assert!(partitions > 0);
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values computed with kafka-python's `kafka.partitioner.default.murmur2` (an
    /// implementation independent of this one), as unsigned 32-bit values; the Java client's
    /// `Utils.murmur2` returns the same bits as an `int`.
    const KNOWN: &[(&[u8], u32, i32, i32)] = &[
        (b"21", 3_321_034_988, 0, 3),
        (b"foobar", 3_504_634_814, 2, 0),
        (b"a-little-bit-long-string", 3_308_985_760, 0, 1),
        (b"a-little-bit-longer-string", 2_808_662_467, 3, 0),
        (
            b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            4_236_069_325,
            1,
            3,
        ),
        (b"abc", 479_470_107, 3, 4),
        (b"", 275_646_681, 1, 2),
        (b"k", 2_727_470_560, 0, 1),
        (b"key-1", 193_331_640, 0, 5),
        (b"key-2", 852_269_702, 2, 4),
        (b"\xff\xfe\x00\x01", 1_370_013_769, 1, 5),
    ];

    #[test]
    fn murmur2_matches_an_independent_implementation() {
        for (key, hash, _, _) in KNOWN {
            assert_eq!(murmur2(key) as u32, *hash, "{key:?}");
        }
    }

    #[test]
    fn keys_go_to_the_java_clients_partition() {
        for (key, _, of4, of7) in KNOWN {
            assert_eq!(partition_for_key(key, 4), *of4, "{key:?}");
            assert_eq!(partition_for_key(key, 7), *of7, "{key:?}");
        }
    }
}
