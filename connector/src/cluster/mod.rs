//! Past one machine: the Kafka source and sink as [timely-dataflow] operators, with exactly-once
//! checkpoints across processes (feature `timely`).
//!
//! The local runner ([`crate::runtime`]) serves one machine. Here the workers of a timely
//! computation, threads in processes on one or more machines, are the source and sink instances:
//!
//! - **Source.** Worker `w` of `n` reads the partitions Flink's assignment gives instance `w` of
//!   parallelism `n` (the same table as the local runner and Flink), with the source's start and
//!   stop offsets, isolation, discovery and bounded buffer. It fetches only while the commit point
//!   is within [`MAX_EPOCHS_IN_FLIGHT`] checkpoints of it: the backpressure.
//! - **Checkpoints are epochs.** Every record carries the checkpoint id it belongs to as its
//!   timely timestamp. At each interval a source writes its next offsets for epoch `e` to the
//!   [`SharedStore`] and moves its capability to `e + 1`. A stateful operator
//!   ([`checkpointed`]) and the sink ([`kafka_sink`]) hold a capability at `e` until their input
//!   frontier passes `e`; then they write their state for `e` (the sink pre-commits its
//!   transaction) and let go. When the frontier at the commit point passes `e`, every worker of
//!   every process has written its parts of `e`: the first worker to see it records `e` as
//!   complete, and each worker then commits its sink's transactions of `e` and its source's
//!   offsets (to the group, for monitoring).
//! - **Failure is fail-stop**, as timely is: a process that dies takes the computation down, and
//!   every process is restarted (by systemd, Kubernetes, a script) with the same processes and
//!   threads. Each resumes from the newest complete epoch: sources from its offsets, operators
//!   from their state, sinks commit what that epoch pre-committed and abort what later ones left
//!   open. A worker that meets an error it cannot go on from calls the failure hook (by default:
//!   the error on stderr and exit code 1), which ends its process and so the computation.
//!
//! A bounded read ends: a source that reached its stop offsets writes its final offsets as the
//! final epoch ([`FINAL_EPOCH`]); when every source has ended, the operators and sinks write
//! theirs there too, and the final epoch completes.
//!
//! [timely-dataflow]: https://github.com/TimelyDataflow/timely-dataflow

mod store;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::path::Path;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use timely::dataflow::channels::pact::{ParallelizationContract, Pipeline};
use timely::dataflow::operators::generic::operator::source as timely_source;
use timely::dataflow::operators::{Capability, Operator as _, Probe as _};
use timely::dataflow::{ProbeHandle, Scope, Stream};
use timely::progress::frontier::MutableAntichain;
use tracing::{debug, error, info};

use store::Epochs;
pub use store::{SharedDir, SharedStore, StoreError};
/// The timely-dataflow crate this module builds on, for the job's own operators.
pub use timely;

use crate::client::Error;
use crate::core::checkpoint::TopicPartition;
use crate::runtime::{JobError, Operator, Sink, SinkContext};
use crate::sink::KafkaSink;
use crate::source::{KafkaSource, SourceRecord, SourceState};

/// The epoch a bounded job's parts are written at when its input has ended.
pub const FINAL_EPOCH: u64 = u64::MAX - 1;

/// How many checkpoints a source may run ahead of the commit point before it stops fetching.
pub const MAX_EPOCHS_IN_FLIGHT: u64 = 2;

/// Records moved from a source reader per step of its worker.
const SOURCE_BATCH: usize = 4096;

/// The processes of a computation and the worker threads in each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    addresses: Vec<String>,
    process: usize,
    threads: usize,
}

impl Cluster {
    /// One process with `threads` workers.
    pub fn local(threads: usize) -> Self {
        Self {
            addresses: Vec::new(),
            process: 0,
            threads: threads.max(1),
        }
    }

    /// Process `process` of the processes at `addresses` (`host:port`, where each process
    /// listens for the others; the same list, in the same order, for every process), with
    /// `threads` workers each.
    pub fn new(addresses: Vec<String>, process: usize, threads: usize) -> Result<Self, ClusterError> {
        if process >= addresses.len().max(1) {
            return Err(ClusterError::Config(format!(
                "process {process} of a cluster of {} processes",
                addresses.len()
            )));
        }
        Ok(Self {
            addresses,
            process,
            threads: threads.max(1),
        })
    }

    /// [`Self::new`] with the addresses read from a host file: one `host:port` per line, blank
    /// lines and lines starting with `#` skipped (timely's `-h` format).
    pub fn from_hostfile(
        path: impl AsRef<Path>,
        process: usize,
        threads: usize,
    ) -> Result<Self, ClusterError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ClusterError::Config(format!("host file {}: {e}", path.display())))?;
        let addresses = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        Self::new(addresses, process, threads)
    }

    /// All workers of the computation.
    pub fn peers(&self) -> usize {
        self.threads * self.addresses.len().max(1)
    }

    /// This process's index.
    pub fn process(&self) -> usize {
        self.process
    }

    fn timely_config(&self) -> timely::Config {
        let communication = if self.addresses.len() > 1 {
            timely::CommunicationConfig::Cluster {
                threads: self.threads,
                process: self.process,
                addresses: self.addresses.clone(),
                report: false,
                zerocopy: false,
            }
        } else if self.threads > 1 {
            timely::CommunicationConfig::Process(self.threads)
        } else {
            timely::CommunicationConfig::Thread
        };
        timely::Config {
            communication,
            worker: timely::WorkerConfig::default(),
        }
    }
}

/// What a worker does with an error it cannot go on from. It must not return normally to a
/// computation that goes on without the worker; the default writes the error to stderr and ends
/// the process with exit code 1.
pub type FailureHook = Arc<dyn Fn(&ClusterError) + Send + Sync>;

/// Where and how often checkpoints are taken.
#[derive(Clone)]
pub struct Checkpointing {
    store: Arc<dyn SharedStore>,
    interval: Duration,
    on_failure: FailureHook,
}

impl fmt::Debug for Checkpointing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checkpointing")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl Checkpointing {
    /// Checkpoints every `interval` into `store`, which every process must reach.
    pub fn new(store: impl SharedStore, interval: Duration) -> Self {
        Self {
            store: Arc::new(store),
            interval,
            on_failure: Arc::new(|e| {
                // The process ends here, so the error goes to stderr whether or not a tracing
                // subscriber is installed.
                error!(error = %e, "worker failed; ending the process");
                eprintln!("error: {e}");
                std::process::exit(1);
            }),
        }
    }

    /// Replaces what a worker does with a fatal error (see [`FailureHook`]).
    pub fn on_failure(mut self, hook: impl Fn(&ClusterError) + Send + Sync + 'static) -> Self {
        self.on_failure = Arc::new(hook);
        self
    }
}

/// What failed in a cluster job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The cluster or job is configured wrong.
    #[error("cluster configuration: {0}")]
    Config(String),
    /// Timely could not start, or a worker panicked.
    #[error("timely: {0}")]
    Timely(String),
    /// The checkpoint store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The Kafka client failed.
    #[error("worker {worker}: {what}: {source}")]
    Kafka {
        /// The worker.
        worker: usize,
        /// What it was doing.
        what: &'static str,
        /// The client's error.
        #[source]
        source: Error,
    },
    /// A sink or operator failed.
    #[error("worker {worker}: {what}: {source}")]
    Job {
        /// The worker.
        worker: usize,
        /// What it was doing.
        what: &'static str,
        /// The failure.
        #[source]
        source: JobError,
    },
}

/// Runs `job` on every worker of the cluster, with checkpoints as `checkpointing` says, until
/// the dataflows it builds finish (a bounded job) or the process ends. `job` builds the worker's
/// dataflow with the [`kafka_source`], [`checkpointed`] and [`kafka_sink`] operators and the
/// [`Context`] it is handed.
///
/// Every process runs this with the same `job`; all must be started (and, after a failure,
/// restarted) together. The Kafka client's async work runs on a tokio runtime this function
/// starts for the process.
pub fn execute<F>(cluster: Cluster, checkpointing: Checkpointing, job: F) -> Result<(), ClusterError>
where
    F: Fn(&mut timely::worker::Worker, &Context) + Send + Sync + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cluster.threads.clamp(1, 4))
        .thread_name("kwire-io")
        .enable_all()
        .build()
        .map_err(|e| ClusterError::Config(format!("tokio runtime: {e}")))?;
    let handle = runtime.handle().clone();
    let peers = cluster.peers();
    let epochs = Epochs::new(Arc::clone(&checkpointing.store), peers);
    // Read once per process, by its first worker to get there: after timely has connected the
    // processes, so a previous run's processes are gone, and before any worker lets the frontier
    // move, so no epoch of this run can have completed yet.
    let restored: Arc<OnceLock<Result<Option<u64>, String>>> = Arc::new(OnceLock::new());
    let guards = timely::execute(cluster.timely_config(), move |worker| {
        let latest = restored
            .get_or_init(|| epochs.latest_complete().map_err(|e| e.to_string()))
            .clone();
        let ctx = Context(Rc::new(Inner {
            index: worker.index(),
            peers: worker.peers(),
            handle: handle.clone(),
            epochs: epochs.clone(),
            restored: None,
            interval: checkpointing.interval,
            on_failure: Arc::clone(&checkpointing.on_failure),
            probe: ProbeHandle::new(),
            completions: RefCell::new(Vec::new()),
            assigned: RefCell::new(Vec::new()),
            claimed: RefCell::new(std::collections::BTreeSet::new()),
        }));
        let restored = match latest {
            Ok(r) => r,
            Err(e) => ctx.fail(ClusterError::Config(format!("reading the checkpoint store: {e}"))),
        };
        // What this worker wrote after the restored epoch in a run that failed is not this run's.
        if let Err(e) = epochs.clear_after(restored, worker.index()) {
            ctx.fail(e.into());
        }
        let ctx = Context(Rc::new(Inner {
            restored,
            ..Rc::into_inner(ctx.0).expect("not shared yet")
        }));
        if ctx.index() == 0 {
            match restored {
                Some(e) => info!(epoch = e, peers, "resuming from the last complete checkpoint"),
                None => info!(peers, "no complete checkpoint: starting fresh"),
            }
        }
        job(worker, &ctx);
    })
    .map_err(ClusterError::Timely)?;
    for r in guards.join() {
        r.map_err(ClusterError::Timely)?;
    }
    drop(runtime);
    Ok(())
}

type Completion = Box<dyn FnMut(u64) -> Result<(), ClusterError>>;

struct Inner {
    index: usize,
    peers: usize,
    handle: tokio::runtime::Handle,
    epochs: Epochs,
    restored: Option<u64>,
    interval: Duration,
    on_failure: FailureHook,
    /// The commit point's frontier, which the sources watch for backpressure.
    probe: ProbeHandle<u64>,
    /// What runs on this worker when an epoch completes (sinks first, then sources).
    completions: RefCell<Vec<(u8, Completion)>>,
    /// The partitions this worker's sources read.
    assigned: RefCell<Vec<TopicPartition>>,
    /// The part kinds (and the commit point) operators of this worker have claimed.
    claimed: RefCell<std::collections::BTreeSet<String>>,
}

/// A worker's view of the cluster job: its index, the checkpoint it resumes from, and the
/// runtime its Kafka clients run on. Cheap to clone; stays on its worker's thread.
#[derive(Clone)]
pub struct Context(Rc<Inner>);

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("index", &self.0.index)
            .field("peers", &self.0.peers)
            .field("restored", &self.0.restored)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// This worker's index, `0..peers`.
    pub fn index(&self) -> usize {
        self.0.index
    }

    /// The number of workers in the computation.
    pub fn peers(&self) -> usize {
        self.0.peers
    }

    /// The complete checkpoint this run resumes from (`None`: a fresh start).
    pub fn restored_epoch(&self) -> Option<u64> {
        self.0.restored
    }

    /// The partitions this worker's [`kafka_source`]s read (as discovered at their start).
    pub fn source_partitions(&self) -> Vec<TopicPartition> {
        self.0.assigned.borrow().clone()
    }

    /// The first epoch of this run.
    fn first_epoch(&self) -> u64 {
        self.0
            .restored
            .map_or(1, |e| e.saturating_add(1).min(FINAL_EPOCH))
    }

    /// Runs `fut` on the process's tokio runtime and waits for it (for building clients in the
    /// job closure).
    pub fn block_on<T>(&self, fut: impl Future<Output = T>) -> T {
        self.0.handle.block_on(fut)
    }

    /// Hands `e` to the failure hook; the hook ends the process.
    pub fn fail(&self, e: ClusterError) -> ! {
        (self.0.on_failure)(&e);
        // A hook must not return into a computation that goes on without this worker.
        std::process::exit(1)
    }

    fn part(kind: &str, index: usize) -> String {
        format!("{kind}-{index}")
    }

    /// This worker's part `kind` of the restored epoch: there, or (for a source that had ended
    /// before it, the only part that is not written at every epoch) at the final epoch. `None` on
    /// a fresh start.
    fn restored_part(&self, kind: &str, index: usize) -> Result<Option<Vec<u8>>, ClusterError> {
        let Some(e) = self.0.restored else {
            return Ok(None);
        };
        let part = Self::part(kind, index);
        if let Some(b) = self.0.epochs.get(e, &part)? {
            return Ok(Some(b));
        }
        if e != FINAL_EPOCH && kind == "source" {
            if let Some(b) = self.0.epochs.get(FINAL_EPOCH, &part)? {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }

    fn put_part(&self, epoch: u64, kind: &str, bytes: &[u8]) {
        if self.0.restored.is_some_and(|r| epoch <= r) {
            // A complete epoch is never written again: after a restart from the end of a bounded
            // job (the final epoch), its parts stand as they are.
            return;
        }
        if let Err(e) = self.0.epochs.put(epoch, &Self::part(kind, self.0.index), bytes) {
            self.fail(e.into());
        }
    }

    /// Claims part `kind` for one operator of this worker: a second `kafka_sink`, or a second
    /// `checkpointed` of the same name, would overwrite the first one's state.
    fn claim(&self, kind: &str) {
        if !self.0.claimed.borrow_mut().insert(kind.to_owned()) {
            self.fail(ClusterError::Config(format!(
                "two operators of the job write checkpoint part `{kind}`: one kafka_sink and one \
                 commit_point per job, and a distinct name for each checkpointed operator"
            )));
        }
    }

    fn on_complete(&self, order: u8, f: Completion) {
        self.0.completions.borrow_mut().push((order, f));
    }
}

/// A complete checkpoint of a cluster job, as [`last_checkpoint`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckpointInfo {
    /// Its epoch ([`FINAL_EPOCH`] for the end of a bounded job).
    pub epoch: u64,
    /// The next offset of every partition the job's sources read, merged over the workers.
    pub offsets: crate::core::checkpoint::Offsets,
}

/// The newest complete checkpoint in `store` of a job on `peers` workers, for monitoring and
/// tests: where a restart would resume. `None` when no checkpoint has completed.
pub fn last_checkpoint(store: impl SharedStore, peers: usize) -> Result<Option<CheckpointInfo>, StoreError> {
    let epochs = Epochs::new(Arc::new(store), peers);
    let Some(epoch) = epochs.latest_complete()? else {
        return Ok(None);
    };
    let mut states = Vec::new();
    for w in 0..peers {
        let part = Context::part("source", w);
        let bytes = match epochs.get(epoch, &part)? {
            Some(b) => Some(b),
            None if epoch != FINAL_EPOCH => epochs.get(FINAL_EPOCH, &part)?,
            None => None,
        };
        let Some(bytes) = bytes else { continue };
        let state = SourceState::from_bytes(&bytes).map_err(|e| StoreError::Damaged {
            key: format!("{}/{part}", store::epoch_dir(epoch)),
            why: e.to_string(),
        })?;
        states.push(state);
    }
    Ok(Some(CheckpointInfo {
        epoch,
        offsets: SourceState::merge(&states).offsets,
    }))
}

/// The Kafka source on this worker: the partitions Flink's assignment gives instance
/// `ctx.index()` of `ctx.peers()` (the source's own parallelism is replaced by the worker count),
/// resumed from the restored checkpoint. Each record's timestamp is its checkpoint epoch.
pub fn kafka_source<'s>(
    scope: Scope<'s, u64>,
    ctx: &Context,
    source: &KafkaSource,
) -> Stream<'s, u64, Vec<SourceRecord>> {
    let index = ctx.index();
    let mut source = source.clone();
    source.parallelism = ctx.peers();
    let restored = match ctx.restored_epoch() {
        None => None,
        Some(_) => {
            // Offsets follow their partitions: the merged offsets of every worker's part.
            let mut states = Vec::new();
            for w in 0..ctx.peers() {
                match ctx.restored_part("source", w) {
                    Ok(Some(b)) => match SourceState::from_bytes(&b) {
                        Ok(s) => states.push(s),
                        Err(e) => ctx.fail(ClusterError::Config(format!(
                            "checkpoint {:?}: source offsets of worker {w} damaged: {e}",
                            ctx.restored_epoch()
                        ))),
                    },
                    Ok(None) => ctx.fail(ClusterError::Config(format!(
                        "checkpoint {:?} has no source offsets of worker {w}",
                        ctx.restored_epoch()
                    ))),
                    Err(e) => ctx.fail(e),
                }
            }
            Some(SourceState::merge(&states))
        }
    };
    let reader = match ctx.block_on(source.reader(index, restored)) {
        Ok(r) => Rc::new(RefCell::new(r)),
        Err(source) => ctx.fail(ClusterError::Kafka {
            worker: index,
            what: "starting the source reader",
            source,
        }),
    };
    info!(worker = index, partitions = ?reader.borrow().assigned(), "source assigned");
    ctx.0.assigned.borrow_mut().extend(reader.borrow().assigned());
    let on_done = Rc::clone(&reader);
    let c = ctx.clone();
    ctx.on_complete(
        1,
        Box::new(move |epoch| {
            c.block_on(on_done.borrow_mut().notify_checkpoint_complete(epoch));
            Ok(())
        }),
    );
    let ctx = ctx.clone();
    timely_source(scope, "KafkaSource", move |cap: Capability<u64>, info| {
        let activator = scope.activator_for(info.address);
        let mut cap = Some(cap);
        let first = ctx.first_epoch();
        if let Some(c) = cap.as_mut() {
            c.downgrade(&first);
        }
        let mut since = Instant::now();
        let mut batch = Vec::with_capacity(SOURCE_BATCH);
        move |output| {
            let Some(c) = cap.as_mut() else { return };
            let epoch = *c.time();
            if epoch != FINAL_EPOCH && ctx.0.probe.less_than(&epoch.saturating_sub(MAX_EPOCHS_IN_FLIGHT)) {
                // Backpressure: the commit point is too far behind; look again shortly.
                activator.activate_after(Duration::from_millis(1));
                return;
            }
            let mut r = reader.borrow_mut();
            if epoch == FINAL_EPOCH && !r.is_finished() {
                ctx.fail(ClusterError::Config(
                    "the checkpoint resumed from is the end of a bounded job, and this job's \
                     source is unbounded: start it with a new checkpoint store"
                        .into(),
                ));
            }
            if epoch != FINAL_EPOCH {
                if let Err(source) = ctx.block_on(r.next_batch(&mut batch, SOURCE_BATCH)) {
                    ctx.fail(ClusterError::Kafka {
                        worker: ctx.index(),
                        what: "reading",
                        source,
                    });
                }
                if !batch.is_empty() {
                    output.session(c).give_container(&mut batch);
                    batch.clear();
                }
            }
            if r.is_finished() {
                // Ended: the final offsets stand for every later epoch of this worker.
                let state = r.snapshot(FINAL_EPOCH);
                ctx.put_part(FINAL_EPOCH, "source", &state.to_bytes());
                debug!(worker = ctx.index(), epoch, "source finished");
                cap = None;
                return;
            }
            if since.elapsed() >= ctx.0.interval {
                let state = r.snapshot(epoch);
                ctx.put_part(epoch, "source", &state.to_bytes());
                c.downgrade(&(epoch + 1));
                since = Instant::now();
            }
            activator.activate();
        }
    })
}

/// Holds a capability at the oldest epoch whose end its operator has not yet handled, and hands
/// the operator its input one epoch at a time: records of later epochs wait until the earlier
/// ones end, so a state written at the end of `e` holds exactly the records of epochs up to `e`.
struct EpochGate<T> {
    cap: Option<Capability<u64>>,
    waiting: BTreeMap<u64, Vec<T>>,
    /// The end just handed out: the capability moves past it at the next step.
    ended: Option<u64>,
}

/// The epoch of received records (a total order: one time per stamp).
fn epoch_of(c: &timely::dataflow::operators::InputCapability<u64>) -> u64 {
    c.least().copied().unwrap_or_default()
}

/// What an operator behind an [`EpochGate`] does next.
enum Step<T> {
    /// Process these records, of the capability's epoch.
    Records(Vec<T>),
    /// The frontier passed this epoch (or the input ended: [`FINAL_EPOCH`]): write its state.
    End(u64),
    /// Records after the end of a bounded job the run resumed from: refused.
    AfterEnd,
}

impl<T> EpochGate<T> {
    fn new(mut cap: Capability<u64>, first: u64) -> Self {
        cap.downgrade(&first);
        Self {
            cap: Some(cap),
            waiting: BTreeMap::new(),
            ended: None,
        }
    }

    fn push(&mut self, epoch: u64, records: &mut Vec<T>) {
        self.waiting.entry(epoch).or_default().append(records);
    }

    /// The capability to give outputs with.
    fn cap(&self) -> Option<&Capability<u64>> {
        self.cap.as_ref()
    }

    /// The next thing to do, `None` when nothing can be done until the frontier moves.
    fn step(&mut self, frontier: &MutableAntichain<u64>) -> Option<Step<T>> {
        if let Some(ended) = self.ended.take() {
            match self.cap.as_mut() {
                Some(cap) if ended != FINAL_EPOCH => cap.downgrade(&(ended + 1)),
                _ => self.cap = None,
            }
        }
        let epoch = *self.cap.as_ref()?.time();
        if epoch == FINAL_EPOCH && !self.waiting.is_empty() {
            return Some(Step::AfterEnd);
        }
        // Records of the capability's epoch (or, from an input that is not a kafka_source, of an
        // earlier time: they count in this epoch).
        if let Some(entry) = self.waiting.first_entry() {
            if *entry.key() <= epoch {
                return Some(Step::Records(entry.remove()));
            }
        }
        if frontier.less_equal(&epoch) {
            return None;
        }
        // The input ended: the epochs whose records still wait are ended one by one, each with
        // its own state, as when the frontier passes them (other workers' operators may still be
        // at those epochs, and any of them may complete); then the final epoch.
        if frontier.frontier().is_empty() && self.waiting.is_empty() {
            self.ended = Some(FINAL_EPOCH);
            return Some(Step::End(FINAL_EPOCH));
        }
        self.ended = Some(epoch);
        Some(Step::End(epoch))
    }
}

/// A stateful operator whose state is part of every checkpoint: `operator` (the local runner's
/// [`Operator`]) sees its input in epoch order, its state is restored from the resumed
/// checkpoint, and [`Operator::snapshot`] is written for each epoch the input frontier passes.
/// `pact` routes records to workers (an `Exchange` by key for a keyed state; routing must be the
/// same in every run). State is per worker: restart with the same processes and threads.
pub fn checkpointed<'s, I, O, P, Op>(
    stream: Stream<'s, u64, Vec<I>>,
    ctx: &Context,
    name: &str,
    pact: P,
    mut operator: Op,
) -> Stream<'s, u64, Vec<O>>
where
    I: Clone + 'static,
    O: Clone + 'static,
    P: ParallelizationContract<u64, Vec<I>>,
    Op: Operator<I, O>,
{
    let kind = format!("op-{name}");
    ctx.claim(&kind);
    match ctx.restored_part(&kind, ctx.index()) {
        Ok(Some(b)) => operator.restore(&b),
        Ok(None) if ctx.restored_epoch().is_some() => ctx.fail(ClusterError::Config(format!(
            "checkpoint {:?} has no state of operator {name} on worker {}",
            ctx.restored_epoch(),
            ctx.index()
        ))),
        Ok(None) => {}
        Err(e) => ctx.fail(e),
    }
    let ctx = ctx.clone();
    stream.unary_frontier(pact, name, move |cap, _info| {
        let mut gate = EpochGate::new(cap, ctx.first_epoch());
        let mut out = Vec::new();
        move |(input, frontier), output| {
            input.for_each(|c, data| gate.push(epoch_of(&c), data));
            while let Some(step) = gate.step(frontier) {
                match step {
                    Step::Records(batch) => {
                        for item in batch {
                            operator.process(item, &mut out);
                        }
                    }
                    Step::AfterEnd => ctx.fail(ClusterError::Config(
                        "records after the end of the bounded job this run resumed from: start \
                         the job with a new checkpoint store"
                            .into(),
                    )),
                    Step::End(epoch) => {
                        if epoch == FINAL_EPOCH {
                            operator.finish(&mut out);
                        }
                        ctx.put_part(epoch, &kind, &operator.snapshot());
                    }
                }
                if let (false, Some(cap)) = (out.is_empty(), gate.cap()) {
                    output.session(cap).give_iterator(out.drain(..));
                }
            }
        }
    })
}

/// The Kafka sink on this worker (instance `ctx.index()` of `ctx.peers()`), then the commit
/// point. Exactly-once: records of epoch `e` go into a transaction pre-committed when the input
/// frontier passes `e` and committed once `e` is complete everywhere; a restart commits what the
/// resumed checkpoint pre-committed and aborts the rest. At-least-once: flushed at each epoch's
/// end.
pub fn kafka_sink<T>(stream: Stream<'_, u64, Vec<T>>, ctx: &Context, sink: &KafkaSink<T>)
where
    T: Clone + Send + 'static,
{
    let index = ctx.index();
    ctx.claim("sink");
    if sink.guarantee == crate::sink::DeliveryGuarantee::ExactlyOnce
        && sink.pool < MAX_EPOCHS_IN_FLIGHT as usize + 2
    {
        ctx.fail(ClusterError::Config(format!(
            "the exactly-once sink's transaction pool of {} is too small on a cluster: epochs in \
             flight need {} (transaction_pool)",
            sink.pool,
            MAX_EPOCHS_IN_FLIGHT + 2
        )));
    }
    let writer = Rc::new(RefCell::new(sink.writer(
        SinkContext::new(index, ctx.peers()).with_checkpoint_interval(ctx.0.interval),
    )));
    let state = match ctx.restored_part("sink", index) {
        Ok(s) => s,
        Err(e) => ctx.fail(e),
    };
    if let Err(source) = ctx.block_on(writer.borrow_mut().restore(state)) {
        ctx.fail(ClusterError::Job {
            worker: index,
            what: "restoring the sink",
            source,
        });
    }
    let on_done = Rc::clone(&writer);
    let c = ctx.clone();
    ctx.on_complete(
        0,
        Box::new(move |epoch| {
            c.block_on(on_done.borrow_mut().checkpoint_complete(epoch))
                .map_err(|source| ClusterError::Job {
                    worker: index,
                    what: "committing",
                    source,
                })
        }),
    );
    let c = ctx.clone();
    let ended = stream.unary_frontier::<timely::container::CapacityContainerBuilder<Vec<()>>, _, _, _>(
        Pipeline,
        "KafkaSink",
        move |cap, _info| {
            let ctx = c;
            let mut gate = EpochGate::new(cap, ctx.first_epoch());
            move |(input, frontier), _output| {
                input.for_each(|c, data| gate.push(epoch_of(&c), data));
                let fail = |what, source| -> ! {
                    ctx.fail(ClusterError::Job {
                        worker: ctx.index(),
                        what,
                        source,
                    })
                };
                while let Some(step) = gate.step(frontier) {
                    let mut w = writer.borrow_mut();
                    match step {
                        Step::Records(batch) => {
                            let written = ctx.block_on(async {
                                for item in batch {
                                    w.write(item).await?;
                                }
                                Ok::<_, JobError>(())
                            });
                            if let Err(e) = written {
                                fail("writing", e);
                            }
                        }
                        Step::AfterEnd => ctx.fail(ClusterError::Config(
                            "records after the end of the bounded job this run resumed from: start \
                             the job with a new checkpoint store"
                                .into(),
                        )),
                        Step::End(epoch) => match ctx.block_on(w.prepare_checkpoint(epoch)) {
                            Ok(state) => ctx.put_part(epoch, "sink", &state),
                            Err(e) => fail("pre-committing", e),
                        },
                    }
                }
            }
        },
    );
    commit_point(ended, ctx);
}

/// The commit point: where epochs complete. When the frontier here passes `e`, every worker has
/// written its parts of `e` (sources, [`checkpointed`] operators, sinks), so `e` is recorded
/// complete, and this worker's sinks commit and its sources commit their offsets.
///
/// Every dataflow with a [`kafka_source`] needs exactly one, downstream of all its stateful
/// operators and sinks (concatenate their streams if there are several ends): [`kafka_sink`]
/// ends in its own; a job that ends otherwise (its own sink, an `inspect`) calls this on the
/// stream its end produces. Without one, checkpoints never complete and the sources stop after
/// [`MAX_EPOCHS_IN_FLIGHT`] epochs; with a second one upstream of a sink, an epoch could be
/// recorded complete before that sink wrote its part.
pub fn commit_point<D: Clone + 'static>(stream: Stream<'_, u64, Vec<D>>, ctx: &Context) {
    ctx.claim("commit point");
    let ctx = ctx.clone();
    let mut completed = ctx.0.restored.unwrap_or(0);
    stream
        .probe_with(&ctx.0.probe)
        .sink(Pipeline, "CommitPoint", move |(input, frontier)| {
            input.for_each(|_, _| {});
            let target = match frontier.frontier().first() {
                Some(&f) => f.saturating_sub(1),
                None => FINAL_EPOCH,
            };
            if target <= completed || target == FINAL_EPOCH && !frontier.frontier().is_empty() {
                return;
            }
            if let Err(e) = ctx.0.epochs.complete(target, ctx.index() == 0) {
                ctx.fail(e.into());
            }
            completed = target;
            debug!(worker = ctx.index(), epoch = target, "checkpoint complete");
            let mut completions = ctx.0.completions.borrow_mut();
            completions.sort_by_key(|(order, _)| *order);
            for (_, f) in completions.iter_mut() {
                if let Err(e) = f(target) {
                    ctx.fail(e);
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use timely::dataflow::channels::pact::Exchange;
    use timely::dataflow::InputHandle;

    use super::*;

    /// Sums its input; the state is the sum (8 bytes, big-endian).
    #[derive(Default)]
    struct Sum(u64);

    impl Operator<u64, u64> for Sum {
        fn process(&mut self, item: u64, out: &mut Vec<u64>) {
            self.0 += item;
            out.push(self.0);
        }
        fn snapshot(&mut self) -> Vec<u8> {
            self.0.to_be_bytes().to_vec()
        }
        fn restore(&mut self, state: &[u8]) {
            self.0 = u64::from_be_bytes(state.try_into().expect("8 bytes"));
        }
    }

    /// Runs the sum on 2 local workers: worker 0 sends 0..10 in each of `epochs` epochs, each
    /// value to worker `value % 2`.
    fn run(dir: &Path, epochs: u64) {
        let store = SharedDir::open(dir).unwrap();
        let checkpoints = Checkpointing::new(store, Duration::from_secs(1)).on_failure(|e| panic!("{e}"));
        execute(Cluster::local(2), checkpoints, move |worker, ctx| {
            let mut input = InputHandle::new();
            worker.dataflow::<u64, _, _>(|scope| {
                let values = input.to_stream(scope);
                let sums = checkpointed(values, ctx, "sum", Exchange::new(|x: &u64| *x), Sum::default());
                commit_point(sums, ctx);
            });
            input.advance_to(ctx.first_epoch());
            for _ in 0..epochs {
                if ctx.index() == 0 {
                    for x in 0..10u64 {
                        input.send(x);
                    }
                }
                let next = *input.time() + 1;
                input.advance_to(next);
                worker.step();
            }
        })
        .unwrap();
    }

    fn sum_at(dir: &Path, epoch: u64, worker: usize) -> Option<u64> {
        let epochs = Epochs::new(Arc::new(SharedDir::open(dir).unwrap()), 2);
        let bytes = epochs.get(epoch, &format!("op-sum-{worker}")).unwrap()?;
        Some(u64::from_be_bytes(bytes.try_into().unwrap()))
    }

    #[test]
    fn operator_state_is_written_per_epoch_completes_at_the_end_and_restores() {
        let dir = std::env::temp_dir().join(format!("kwire-cluster-sum-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        run(&dir, 3);
        let epochs = Epochs::new(Arc::new(SharedDir::open(&dir).unwrap()), 2);
        assert_eq!(epochs.latest_complete().unwrap(), Some(FINAL_EPOCH));
        // Evens (sum 20 per epoch) on worker 0, odds (25) on worker 1.
        assert_eq!(sum_at(&dir, FINAL_EPOCH, 0), Some(60));
        assert_eq!(sum_at(&dir, FINAL_EPOCH, 1), Some(75));
        // The epochs in between that the store still keeps hold the sums up to them.
        let mut kept = 0;
        for e in 1..=3 {
            if let Some(s) = sum_at(&dir, e, 0) {
                assert_eq!(s, 20 * e, "worker 0 at epoch {e}");
                kept += 1;
            }
            if let Some(s) = sum_at(&dir, e, 1) {
                assert_eq!(s, 25 * e, "worker 1 at epoch {e}");
                kept += 1;
            }
        }
        assert!(kept >= 2, "no state of an epoch before the end was kept");
        // A second run resumes from the end: nothing more to do, and the complete final epoch
        // is not written again.
        run(&dir, 0);
        assert_eq!(sum_at(&dir, FINAL_EPOCH, 0), Some(60));
        // As if the first run had died before its end completed: a run resumes from the newest
        // complete epoch before it, with the sums of that epoch, and adds one more epoch.
        std::fs::remove_file(dir.join(format!("{}/COMPLETE", store::epoch_dir(FINAL_EPOCH)))).unwrap();
        let resumed = epochs
            .latest_complete()
            .unwrap()
            .expect("an epoch before the end");
        assert!(resumed < FINAL_EPOCH);
        run(&dir, 1);
        assert_eq!(sum_at(&dir, FINAL_EPOCH, 0), Some(20 * (resumed + 1)));
        assert_eq!(sum_at(&dir, FINAL_EPOCH, 1), Some(25 * (resumed + 1)));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
