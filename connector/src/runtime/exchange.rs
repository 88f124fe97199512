//! Exchanges between stages: every upstream instance has a bounded channel to every downstream
//! instance, so a full downstream blocks its senders (backpressure end to end) and a downstream
//! task can align checkpoint barriers per input channel, as Flink does.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::sync::mpsc::{self, Receiver, Sender};

use super::chain::{BoxFuture, Chain};
use super::JobError;

/// What flows on a channel between two tasks.
#[derive(Debug)]
pub(crate) enum Msg<T> {
    Record(T),
    /// Checkpoint barrier: every record before it belongs to the checkpoint, none after it.
    Barrier(u64),
    /// The sender's input has ended and its operators have finished (their final outputs are
    /// before this): only barriers and the end follow (Flink's EndOfData).
    EndOfData,
    /// The sender has ended its output.
    End,
}

/// How a record picks its downstream instance.
pub(crate) enum Route<T> {
    /// In turn to every instance (`rebalance()`).
    RoundRobin,
    /// By a stable hash of a key: the same key always reaches the same instance (`key_by()`).
    Key(Arc<dyn Fn(&T) -> u64 + Send + Sync>),
}

impl<T> Clone for Route<T> {
    fn clone(&self) -> Self {
        match self {
            Self::RoundRobin => Self::RoundRobin,
            Self::Key(f) => Self::Key(f.clone()),
        }
    }
}

/// A channel set that can be rebuilt for each run of the job.
pub(crate) trait Rewire: Send + Sync {
    /// Makes fresh channels of `capacity` records.
    fn rewire(&self, capacity: usize);
}

type Ends<T> = (
    Vec<Vec<Option<Sender<Msg<T>>>>>,
    Vec<Vec<Option<Receiver<Msg<T>>>>>,
);

/// The channels of one exchange: `senders[up][down]` and `receivers[down][up]`.
pub(crate) struct Wiring<T> {
    upstream: usize,
    downstream: usize,
    ends: Mutex<Ends<T>>,
}

impl<T: Send + 'static> Wiring<T> {
    pub(crate) fn new(upstream: usize, downstream: usize) -> Self {
        Self {
            upstream,
            downstream,
            ends: Mutex::new((Vec::new(), Vec::new())),
        }
    }

    /// The senders of upstream instance `up`, one per downstream instance. Each is handed out
    /// once per run, so a channel closes when its sender's task ends.
    pub(crate) fn senders(&self, up: usize) -> Vec<Sender<Msg<T>>> {
        take_row(&mut self.ends.lock().unwrap_or_else(|e| e.into_inner()).0, up)
    }

    /// The receivers of downstream instance `down`, one per upstream instance.
    pub(crate) fn receivers(&self, down: usize) -> Vec<Receiver<Msg<T>>> {
        take_row(&mut self.ends.lock().unwrap_or_else(|e| e.into_inner()).1, down)
    }
}

/// Takes the ends of row `i` that are still there.
fn take_row<X>(rows: &mut [Vec<Option<X>>], i: usize) -> Vec<X> {
    rows.get_mut(i)
        .map(|row| row.iter_mut().filter_map(Option::take).collect())
        .unwrap_or_default()
}

impl<T: Send + 'static> Rewire for Wiring<T> {
    fn rewire(&self, capacity: usize) {
        let mut senders: Vec<Vec<_>> = (0..self.upstream).map(|_| Vec::new()).collect();
        let mut receivers: Vec<Vec<_>> = (0..self.downstream).map(|_| Vec::new()).collect();
        for row in &mut senders {
            for col in receivers.iter_mut() {
                let (tx, rx) = mpsc::channel(capacity.max(1));
                row.push(Some(tx));
                col.push(Some(rx));
            }
        }
        *self.ends.lock().unwrap_or_else(|e| e.into_inner()) = (senders, receivers);
    }
}

/// The end of a chain that sends to the next stage.
pub(crate) struct ExchangeEnd<T> {
    outputs: Vec<Sender<Msg<T>>>,
    route: Route<T>,
    next: usize,
    pending: Vec<(usize, T)>,
    /// EndOfData was sent.
    finished: bool,
}

impl<T: Send + 'static> ExchangeEnd<T> {
    /// The end of upstream instance `instance`.
    pub(crate) fn new(outputs: Vec<Sender<Msg<T>>>, route: Route<T>, instance: usize) -> Self {
        let n = outputs.len().max(1);
        Self {
            outputs,
            route,
            // Instances start their round-robin at different places, so that a few records from
            // each still spread.
            next: instance % n,
            pending: Vec::new(),
            finished: false,
        }
    }

    async fn send_pending(&mut self) -> Result<(), JobError> {
        for (to, item) in std::mem::take(&mut self.pending) {
            self.outputs[to]
                .send(Msg::Record(item))
                .await
                .map_err(|_| JobError::DownstreamLost)?;
        }
        Ok(())
    }

    async fn broadcast(&mut self, make: impl Fn() -> Msg<T>) -> Result<(), JobError> {
        self.send_pending().await?;
        for out in &self.outputs {
            out.send(make()).await.map_err(|_| JobError::DownstreamLost)?;
        }
        Ok(())
    }
}

impl<T: Send + 'static> Chain<T> for ExchangeEnd<T> {
    fn push(&mut self, item: T) {
        let n = self.outputs.len();
        if n == 0 {
            return;
        }
        let to = match &self.route {
            Route::RoundRobin => {
                let to = self.next;
                self.next = (self.next + 1) % n;
                to
            }
            Route::Key(f) => (f(&item) % n as u64) as usize,
        };
        self.pending.push((to, item));
    }

    fn drain(&mut self) -> BoxFuture<'_, Result<(), JobError>> {
        Box::pin(self.send_pending())
    }

    fn barrier(&mut self, id: u64) -> BoxFuture<'_, Result<Vec<super::State>, JobError>> {
        Box::pin(async move {
            self.broadcast(|| Msg::Barrier(id)).await?;
            Ok(Vec::new())
        })
    }

    fn complete(&mut self, _id: u64) -> BoxFuture<'_, Result<(), JobError>> {
        Box::pin(async { Ok(()) })
    }

    fn restore(
        &mut self,
        _states: std::collections::VecDeque<super::State>,
    ) -> BoxFuture<'_, Result<(), JobError>> {
        Box::pin(async { Ok(()) })
    }

    fn finish(&mut self) -> BoxFuture<'_, Result<(), JobError>> {
        Box::pin(async move {
            if !self.finished {
                self.finished = true;
                self.broadcast(|| Msg::EndOfData).await?;
            }
            Ok(())
        })
    }

    fn mark_finished(&mut self) {}

    fn end(&mut self) -> BoxFuture<'_, Result<(), JobError>> {
        Box::pin(async move {
            self.finish().await?;
            self.broadcast(|| Msg::End).await
        })
    }
}

/// The inputs of a downstream task, with barrier alignment: an input that delivered barrier `n`
/// is not read again until every input delivered it (or ended).
pub(crate) struct Inputs<T> {
    receivers: Vec<Receiver<Msg<T>>>,
    blocked: Vec<bool>,
    ended: Vec<bool>,
    /// Inputs that delivered EndOfData.
    finished: Vec<bool>,
    /// EndOfData was yielded.
    finish_reported: bool,
    aligning: Option<u64>,
    start: usize,
}

/// What [`Inputs::poll_next`] yields.
#[derive(Debug)]
pub(crate) enum Input<T> {
    Record(T),
    /// Every input delivered barrier `n`: snapshot now.
    Aligned(u64),
    /// Every input delivered EndOfData (or ended): finish the operators now, before any later
    /// barrier (which the upstream tasks sent after their EndOfData).
    EndOfData,
    /// Every input has ended.
    Ended,
    /// An input closed without ending: its task failed.
    Lost,
}

impl<T> Inputs<T> {
    pub(crate) fn new(receivers: Vec<Receiver<Msg<T>>>) -> Self {
        let n = receivers.len();
        Self {
            receivers,
            blocked: vec![false; n],
            ended: vec![false; n],
            finished: vec![false; n],
            finish_reported: false,
            aligning: None,
            start: 0,
        }
    }

    fn all(&self, f: impl Fn(usize) -> bool) -> bool {
        (0..self.receivers.len()).all(f)
    }

    /// The next event; cancel-safe (nothing is lost if the caller stops polling).
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Input<T>> {
        loop {
            // Before a barrier's alignment: every input sent its EndOfData before its barrier.
            if !self.finish_reported && self.all(|i| self.finished[i] || self.ended[i]) {
                self.finish_reported = true;
                return Poll::Ready(Input::EndOfData);
            }
            if let Some(id) = self.aligning {
                if self.all(|i| self.blocked[i] || self.ended[i]) {
                    self.aligning = None;
                    self.blocked.fill(false);
                    return Poll::Ready(Input::Aligned(id));
                }
            }
            if self.all(|i| self.ended[i]) {
                return Poll::Ready(Input::Ended);
            }
            let n = self.receivers.len();
            let mut got = None;
            for k in 0..n {
                let i = (self.start + k) % n;
                if self.blocked[i] || self.ended[i] {
                    continue;
                }
                if let Poll::Ready(m) = self.receivers[i].poll_recv(cx) {
                    // The next poll starts after this input: no input starves the others.
                    self.start = (i + 1) % n;
                    got = Some((i, m));
                    break;
                }
            }
            let Some((i, m)) = got else {
                return Poll::Pending;
            };
            match m {
                Some(Msg::Record(r)) => return Poll::Ready(Input::Record(r)),
                Some(Msg::Barrier(id)) => {
                    self.blocked[i] = true;
                    self.aligning = Some(id);
                }
                Some(Msg::EndOfData) => self.finished[i] = true,
                Some(Msg::End) => self.ended[i] = true,
                None => return Poll::Ready(Input::Lost),
            }
        }
    }
}

/// A 64-bit FNV-1a hasher: a key's hash, and so its instance, is the same in every build and run,
/// which keyed state restored from a checkpoint relies on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StableHasher(u64);

impl Default for StableHasher {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// The stable hash of `key`.
pub(crate) fn stable_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut h = StableHasher::default();
    key.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use super::*;

    async fn next<T>(inputs: &mut Inputs<T>) -> Input<T> {
        poll_fn(|cx| inputs.poll_next(cx)).await
    }

    #[tokio::test]
    async fn a_barrier_blocks_its_input_until_every_input_delivered_it() {
        let wiring = Wiring::<u32>::new(2, 1);
        wiring.rewire(16);
        let (a, b) = (wiring.senders(0), wiring.senders(1));
        let mut inputs = Inputs::new(wiring.receivers(0));
        a[0].send(Msg::Barrier(1)).await.unwrap();
        // Sent after a's barrier: belongs to the next checkpoint, must wait for alignment.
        a[0].send(Msg::Record(10)).await.unwrap();
        b[0].send(Msg::Record(20)).await.unwrap();
        b[0].send(Msg::Barrier(1)).await.unwrap();
        assert!(matches!(next(&mut inputs).await, Input::Record(20)));
        assert!(matches!(next(&mut inputs).await, Input::Aligned(1)));
        assert!(matches!(next(&mut inputs).await, Input::Record(10)));
        a[0].send(Msg::End).await.unwrap();
        b[0].send(Msg::End).await.unwrap();
        assert!(matches!(next(&mut inputs).await, Input::EndOfData));
        assert!(matches!(next(&mut inputs).await, Input::Ended));
    }

    #[tokio::test]
    async fn end_of_data_comes_once_every_input_sent_it_and_before_the_barrier_after_it() {
        let wiring = Wiring::<u32>::new(2, 1);
        wiring.rewire(16);
        let (a, b) = (wiring.senders(0), wiring.senders(1));
        let mut inputs = Inputs::new(wiring.receivers(0));
        a[0].send(Msg::EndOfData).await.unwrap();
        a[0].send(Msg::Barrier(4)).await.unwrap();
        b[0].send(Msg::Record(1)).await.unwrap();
        b[0].send(Msg::EndOfData).await.unwrap();
        b[0].send(Msg::Barrier(4)).await.unwrap();
        assert!(matches!(next(&mut inputs).await, Input::Record(1)));
        assert!(matches!(next(&mut inputs).await, Input::EndOfData));
        assert!(matches!(next(&mut inputs).await, Input::Aligned(4)));
    }

    #[tokio::test]
    async fn an_input_closed_without_end_is_lost() {
        let wiring = Wiring::<u32>::new(1, 1);
        wiring.rewire(4);
        let mut inputs = Inputs::new(wiring.receivers(0));
        drop(wiring.senders(0));
        assert!(matches!(next(&mut inputs).await, Input::Lost));
    }

    #[tokio::test]
    async fn round_robin_spreads_and_keys_stick_to_one_instance() {
        let wiring = Wiring::<String>::new(1, 3);
        wiring.rewire(64);
        let mut rr = ExchangeEnd::new(wiring.senders(0), Route::RoundRobin, 0);
        let mut receivers = wiring.receivers(0);
        receivers.extend(wiring.receivers(1));
        receivers.extend(wiring.receivers(2));
        for i in 0..6 {
            rr.push(format!("r{i}"));
        }
        rr.drain().await.unwrap();
        for rx in &mut receivers {
            let mut got = 0;
            while let Ok(Msg::Record(_)) = rx.try_recv() {
                got += 1;
            }
            assert_eq!(got, 2);
        }
        wiring.rewire(64);
        let key: Route<String> = Route::Key(Arc::new(|s: &String| stable_hash(s.as_str())));
        let mut keyed = ExchangeEnd::new(wiring.senders(0), key, 0);
        for _ in 0..5 {
            keyed.push("same".to_owned());
        }
        keyed.drain().await.unwrap();
        let counts: Vec<usize> = (0..3)
            .map(|d| {
                let mut rx = wiring.receivers(d).pop().unwrap();
                std::iter::from_fn(|| rx.try_recv().ok()).count()
            })
            .collect();
        assert_eq!(counts.iter().sum::<usize>(), 5);
        assert!(counts.contains(&5));
    }

    #[test]
    fn the_stable_hash_does_not_change() {
        // FNV-1a 64 of the bytes of "a" then the 0xff that `str`'s Hash appends.
        let mut h = StableHasher::default();
        h.write(b"a");
        h.write(&[0xff]);
        assert_eq!(stable_hash("a"), h.finish());
        assert_eq!(StableHasher::default().finish(), 0xcbf2_9ce4_8422_2325);
        let mut one = StableHasher::default();
        one.write(b"a");
        assert_eq!(one.finish(), 0xaf63_dc4c_8601_ec8c);
    }
}
