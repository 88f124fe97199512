//! Partition -> source instance assignment: deterministic, without consumer groups, and the same as
//! Flink's KafkaSource, so a reader of either sees the same owner for a split.
//!
//! `start = ((java_string_hash(topic) * 31) & 0x7FFFFFFF) % parallelism` and partition `p` goes to
//! `(start + p) % parallelism`. The start is spread by topic so that many single-partition topics do
//! not all land on instance 0. The result depends only on (topic, partition, parallelism), so after
//! a restart the same partitions go to the same instances.
//!
//! References: Flink's `KafkaSourceEnumerator#getSplitOwner`; Java's `String#hashCode` (UTF-16
//! code units, wrapping 32-bit arithmetic).

/// Java's `String.hashCode()`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units, wrapping.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

/// The instance (0-based) that reads `topic`-`partition` among `parallelism` instances; `None`
/// for a negative partition or a parallelism of 0, which no instance reads.
pub fn owner(topic: &str, partition: i32, parallelism: usize) -> Option<usize> {
    if parallelism == 0 || partition < 0 {
        return None;
    }
    let n = i64::try_from(parallelism).unwrap_or(i64::MAX);
    let start = i64::from(java_string_hash(topic).wrapping_mul(31) & 0x7FFF_FFFF) % n;
    usize::try_from((start + i64::from(partition)) % n).ok()
}

/// The partitions of `topic` (out of `partitions`) that `instance` reads, in increasing order.
pub fn partitions_of(topic: &str, partitions: i32, instance: usize, parallelism: usize) -> Vec<i32> {
    (0..partitions.max(0))
        .filter(|p| owner(topic, *p, parallelism) == Some(instance))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_string_hash_matches_known_values() {
        // Values of "...".hashCode() as the JVM computes them.
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("test"), 3_556_498);
        assert_eq!(java_string_hash("hello world"), 1_794_106_052);
        // Wraps past i32::MAX.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        // Non-BMP characters count as two UTF-16 units.
        assert_eq!(java_string_hash("😀"), 0xd83d * 31 + 0xde00);
    }

    #[test]
    fn partitions_follow_the_flink_formula() {
        // "test".hashCode() = 3556498; * 31 = 110251438; % 4 = 2.
        let owners: Vec<Option<usize>> = (0..6).map(|p| owner("test", p, 4)).collect();
        assert_eq!(owners, [2, 3, 0, 1, 2, 3].map(Some));
    }

    #[test]
    fn a_negative_partition_or_no_instance_has_no_owner() {
        assert_eq!(owner("test", -1, 4), None);
        assert_eq!(owner("test", i32::MIN, 4), None);
        assert_eq!(owner("test", 0, 0), None);
        assert!(partitions_of("test", 3, 0, 0).is_empty());
    }

    #[test]
    fn more_instances_than_partitions_leaves_some_idle() {
        let busy: std::collections::BTreeSet<usize> = (0..3).filter_map(|p| owner("events", p, 8)).collect();
        assert_eq!(busy.len(), 3);
        let idle = (0..8)
            .filter(|i| partitions_of("events", 3, *i, 8).is_empty())
            .count();
        assert_eq!(idle, 5);
    }

    #[test]
    fn more_partitions_than_instances_spreads_them_evenly() {
        for parallelism in 1..=7usize {
            let counts: Vec<usize> = (0..parallelism)
                .map(|i| partitions_of("orders", 20, i, parallelism).len())
                .collect();
            let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            assert!(max - min <= 1, "{parallelism}: {counts:?}");
            assert_eq!(counts.iter().sum::<usize>(), 20);
        }
    }
}
