//! Backpressure as a decision: a reader fetches only when its buffer has room, and asks for no more
//! bytes than the room left, so a slow downstream slows the fetching and memory stays bounded.
//!
//! The buffer's room is the credit. Records are added when a fetch returns and removed when the
//! downstream takes them. One fetch is in flight at a time per reader.

/// The bounds of a reader's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferLimits {
    /// The most records buffered.
    pub max_records: usize,
    /// The most bytes (of record batches) buffered.
    pub max_bytes: usize,
    /// The smallest room worth a fetch (avoids many tiny fetches when nearly full).
    pub min_fetch_bytes: usize,
}

impl Default for BufferLimits {
    fn default() -> Self {
        Self {
            max_records: 10_000,
            max_bytes: 16 << 20,
            min_fetch_bytes: 64 << 10,
        }
    }
}

/// What the reader should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchDecision {
    /// Send a fetch asking for at most this many bytes.
    Fetch {
        /// The response's byte limit.
        max_bytes: usize,
    },
    /// Wait: the buffer is too full, or a fetch is already in flight.
    Wait,
}

/// A reader's buffer accounting.
#[derive(Debug, Clone)]
pub struct FetchPlan {
    limits: BufferLimits,
    records: usize,
    bytes: usize,
    in_flight: bool,
    peak_bytes: usize,
}

impl FetchPlan {
    /// An empty buffer with `limits`.
    pub fn new(limits: BufferLimits) -> Self {
        Self {
            limits,
            records: 0,
            bytes: 0,
            in_flight: false,
            peak_bytes: 0,
        }
    }

    /// Whether to fetch now, and how much.
    pub fn poll_fetch(&mut self) -> FetchDecision {
        if self.in_flight || self.records >= self.limits.max_records {
            return FetchDecision::Wait;
        }
        let room = self.limits.max_bytes.saturating_sub(self.bytes);
        if room < self.limits.min_fetch_bytes.min(self.limits.max_bytes) {
            return FetchDecision::Wait;
        }
        self.in_flight = true;
        FetchDecision::Fetch { max_bytes: room }
    }

    /// Call when a fetch returned `records` records in `bytes` bytes (0 and 0 when it failed).
    ///
    /// A batch larger than the room asked for is still returned whole by the broker (KIP-74); it is
    /// accepted, and the next fetch waits until the buffer drains below the bound.
    pub fn handle_fetched(&mut self, records: usize, bytes: usize) {
        self.in_flight = false;
        self.records += records;
        self.bytes += bytes;
        self.peak_bytes = self.peak_bytes.max(self.bytes);
    }

    /// Call when the downstream took `records` records of `bytes` bytes.
    pub fn handle_consumed(&mut self, records: usize, bytes: usize) {
        self.records = self.records.saturating_sub(records);
        self.bytes = self.bytes.saturating_sub(bytes);
    }

    /// Bytes buffered now.
    pub fn buffered_bytes(&self) -> usize {
        self.bytes
    }

    /// Records buffered now.
    pub fn buffered_records(&self) -> usize {
        self.records
    }

    /// The most bytes ever buffered.
    pub fn peak_bytes(&self) -> usize {
        self.peak_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> BufferLimits {
        BufferLimits {
            max_records: 100,
            max_bytes: 1000,
            min_fetch_bytes: 100,
        }
    }

    #[test]
    fn fetches_only_with_room_and_one_at_a_time() {
        let mut p = FetchPlan::new(limits());
        assert_eq!(p.poll_fetch(), FetchDecision::Fetch { max_bytes: 1000 });
        assert_eq!(p.poll_fetch(), FetchDecision::Wait, "one in flight");
        p.handle_fetched(10, 950);
        assert_eq!(
            p.poll_fetch(),
            FetchDecision::Wait,
            "50 bytes of room is below the minimum"
        );
        p.handle_consumed(5, 500);
        assert_eq!(p.poll_fetch(), FetchDecision::Fetch { max_bytes: 550 });
    }

    #[test]
    fn a_slow_consumer_keeps_the_buffer_within_bounds_plus_one_fetch() {
        let mut p = FetchPlan::new(limits());
        // The broker always fills what was asked; the consumer takes 10 bytes per round.
        for _ in 0..10_000 {
            if let FetchDecision::Fetch { max_bytes } = p.poll_fetch() {
                p.handle_fetched(1, max_bytes);
            }
            p.handle_consumed(1, 10.min(p.buffered_bytes()));
        }
        assert!(p.peak_bytes() <= 1000, "{}", p.peak_bytes());
    }

    #[test]
    fn the_record_bound_stops_fetching_too() {
        let mut p = FetchPlan::new(limits());
        assert!(matches!(p.poll_fetch(), FetchDecision::Fetch { .. }));
        p.handle_fetched(100, 10);
        assert_eq!(p.poll_fetch(), FetchDecision::Wait);
        p.handle_consumed(1, 0);
        assert!(matches!(p.poll_fetch(), FetchDecision::Fetch { .. }));
    }
}
