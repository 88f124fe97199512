//! Partition assignment against values computed by Java itself: `String.hashCode` over UTF-16 for
//! ASCII and non-ASCII topic names (surrogate pairs included), and Flink's start index for
//! parallelism 1..16; partitions 1..64 then each have exactly one owner, `(start + p) % parallelism`,
//! and instances share the partitions fairly.

use kwire_connector::core::assign::{java_string_hash, owner, partitions_of};

struct Row {
    topic: String,
    hash: i32,
    starts: Vec<usize>,
}

fn table() -> Vec<Row> {
    include_str!("fixtures/flink_assignment.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (numbers, topic) = l.split_once('\t').expect("tab before the topic");
            let mut n = numbers.split(' ');
            let hash = n.next().unwrap().parse().unwrap();
            Row {
                topic: topic.to_owned(),
                hash,
                starts: n.map(|s| s.parse().unwrap()).collect(),
            }
        })
        .collect()
}

#[test]
fn the_hash_is_javas_string_hash_code() {
    let rows = table();
    assert_eq!(rows.len(), 11);
    for r in &rows {
        assert_eq!(java_string_hash(&r.topic), r.hash, "topic {:?}", r.topic);
    }
}

#[test]
fn every_partition_has_the_owner_flink_gives_it_and_exactly_one() {
    for r in table() {
        assert_eq!(r.starts.len(), 16);
        for parallelism in 1..=16usize {
            let start = r.starts[parallelism - 1];
            for partitions in 1..=64i32 {
                let mut owned = vec![0usize; parallelism];
                let mut seen = vec![0u32; partitions as usize];
                for (instance, count) in owned.iter_mut().enumerate() {
                    for p in partitions_of(&r.topic, partitions, instance, parallelism) {
                        seen[p as usize] += 1;
                        *count += 1;
                    }
                }
                assert!(
                    seen.iter().all(|c| *c == 1),
                    "{:?} {partitions}/{parallelism}",
                    r.topic
                );
                let (min, max) = (owned.iter().min().unwrap(), owned.iter().max().unwrap());
                assert!(max - min <= 1, "fair share: {owned:?}");
                for p in 0..partitions {
                    assert_eq!(
                        owner(&r.topic, p, parallelism),
                        Some((start + p as usize) % parallelism),
                        "{:?} partition {p} parallelism {parallelism}",
                        r.topic
                    );
                }
            }
        }
    }
}
