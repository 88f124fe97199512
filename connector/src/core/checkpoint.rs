//! The checkpoint -> commit gate of a source instance: offsets snapshotted at checkpoint `n` go to
//! the broker only once checkpoint `n` is complete, never before.
//!
//! A checkpoint moves snapshotted -> completed -> committed. Completing `n` subsumes every older
//! pending checkpoint (their offsets are behind `n`'s), as in Flink. A failed commit leaves the
//! offsets for the next completed checkpoint to carry: correctness rests on checkpoint state, the
//! broker's committed offsets are for monitoring.
//!
//! References: Flink's `KafkaSourceReader#snapshotState` and `#notifyCheckpointComplete`; Chandy
//! and Lamport, "Distributed Snapshots" (1985).

use std::collections::BTreeMap;

/// A topic and partition.
pub type TopicPartition = (String, i32);

/// Next offsets to read, per partition, as a checkpoint holds them.
pub type Offsets = BTreeMap<TopicPartition, i64>;

/// Tracks the snapshots of one source instance until they complete.
#[derive(Debug, Default, Clone)]
pub struct CheckpointTracker {
    pending: BTreeMap<u64, Offsets>,
    last_committed: Option<u64>,
}

impl CheckpointTracker {
    /// A tracker with nothing pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// Call when checkpoint `id` snapshots the instance's state: `offsets` are the next offsets to
    /// read. They wait for [`Self::complete`].
    pub fn snapshot(&mut self, id: u64, offsets: Offsets) {
        self.pending.insert(id, offsets);
    }

    /// Call when checkpoint `id` is complete. Returns the offsets to commit to the broker, or
    /// `None` if `id` was never snapshotted here or is older than one already committed. Older
    /// pending checkpoints are dropped: `id` subsumes them.
    pub fn complete(&mut self, id: u64) -> Option<Offsets> {
        if self.last_committed.is_some_and(|c| id <= c) {
            return None;
        }
        let offsets = self.pending.remove(&id)?;
        self.pending.retain(|k, _| *k > id);
        self.last_committed = Some(id);
        Some(offsets)
    }

    /// Call when checkpoint `id` was aborted: its snapshot is dropped.
    pub fn abort(&mut self, id: u64) {
        self.pending.remove(&id);
    }

    /// Checkpoints snapshotted and not yet completed or aborted.
    pub fn pending(&self) -> impl Iterator<Item = u64> + '_ {
        self.pending.keys().copied()
    }

    /// The newest completed checkpoint.
    pub fn last_completed(&self) -> Option<u64> {
        self.last_committed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offs(v: &[(&str, i32, i64)]) -> Offsets {
        v.iter().map(|(t, p, o)| (((*t).to_owned(), *p), *o)).collect()
    }

    #[test]
    fn offsets_are_released_only_when_their_checkpoint_completes() {
        let mut t = CheckpointTracker::new();
        t.snapshot(1, offs(&[("a", 0, 10)]));
        t.snapshot(2, offs(&[("a", 0, 20)]));
        assert_eq!(t.pending().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(t.complete(2), Some(offs(&[("a", 0, 20)])));
        // 1 is subsumed by 2 and never committed afterwards.
        assert_eq!(t.complete(1), None);
        assert_eq!(t.pending().count(), 0);
        assert_eq!(t.last_completed(), Some(2));
    }

    #[test]
    fn an_unknown_or_aborted_checkpoint_releases_nothing() {
        let mut t = CheckpointTracker::new();
        assert_eq!(t.complete(7), None);
        t.snapshot(3, offs(&[("a", 1, 5)]));
        t.abort(3);
        assert_eq!(t.complete(3), None);
        t.snapshot(4, offs(&[("a", 1, 6)]));
        assert_eq!(t.complete(4), Some(offs(&[("a", 1, 6)])));
    }
}
