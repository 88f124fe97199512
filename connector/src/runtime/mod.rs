//! The local runner: runs a job of parallel Kafka source instances, record-at-a-time operators and
//! sinks on tokio tasks, with aligned checkpoint barriers and restarts from the last completed
//! checkpoint, as Flink runs a job on one machine.
//!
//! ```no_run
//! # async fn demo(client: kwire_connector::client::Client) -> Result<(), kwire_connector::runtime::JobError> {
//! use kwire_connector::runtime::{JobBuilder, sinks::Print};
//! use kwire_connector::source::KafkaSource;
//!
//! let source = KafkaSource::builder(client, &["test"]).parallelism(2).build();
//! JobBuilder::new("read")
//!     .source(source)
//!     .rebalance()
//!     .map(|r| format!("Kafka and kwire says: {}", String::from_utf8_lossy(r.value.as_deref().unwrap_or_default())))
//!     .sink(|_| Print::stdout())
//!     .run()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! Shape of a job: the source stage (one task per source instance), then a stage after each
//! `rebalance()` or `key_by()` (one task per instance of the job's parallelism). The operators
//! between two exchanges run chained in one task; the sink runs in the last stage's tasks. Stages
//! are joined by bounded channels, one per pair of instances, so a slow sink slows every stage back
//! to the source's fetching.
//!
//! Checkpoints (Chandy-Lamport with aligned barriers, as Flink does): the coordinator triggers
//! checkpoint `n` at the sources; each source snapshots its offsets after the records it handed
//! downstream and sends barrier `n` on every output; a task with several inputs stops reading an
//! input once its barrier arrived, until the barrier arrived on all of them; then it snapshots its
//! operators and sink and passes the barrier on. When every task acknowledged `n` the coordinator
//! writes the checkpoint to the store and notifies every task: sources commit their offsets,
//! sinks commit their transactions. A failed task restarts the whole job from the last completed
//! checkpoint, within the restart policy. A bounded job ends as Flink's does: when a task's input
//! ends its operators finish (push their final outputs) and it sends EndOfData downstream; once
//! every source has finished, a final checkpoint holds the state after the finish and the sinks'
//! pre-committed final outputs; when it completes the sinks commit and the tasks close. A job
//! restored from a checkpoint taken after its operators finished does not finish them again.
//!
//! References: Chandy and Lamport, "Distributed Snapshots" (1985); Carbone et al., "Lightweight
//! Asynchronous Snapshots for Distributed Dataflows" (2015); Flink's checkpointing documentation.

mod chain;
mod exchange;
pub mod sinks;
mod store;
mod task;

use std::collections::VecDeque;
use std::future::Future;
use std::hash::Hash;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chain::{Chain, FnOp, OpChain, SinkEnd, Tail};
use exchange::{stable_hash, ExchangeEnd, Rewire, Route, Wiring};
pub use store::{CheckpointStore, Snapshot, State, StateKind};
use task::{InputStage, SourceStage, Stage};

use crate::client::Error as ClientError;
use crate::source::{KafkaSource, SourceRecord};

/// Why a job or one of its tasks failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The Kafka client failed (a source or sink).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The checkpoint store could not be read or written.
    #[error("checkpoint store {path}: {source}")]
    Store {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A task panicked.
    #[error("task {instance} of stage {stage} panicked: {message}")]
    Panicked {
        /// The stage (0 = the source).
        stage: usize,
        /// The instance.
        instance: usize,
        /// The panic's message.
        message: String,
    },
    /// A task's upstream ended without finishing its output (it failed).
    #[error("an upstream task was lost")]
    UpstreamLost,
    /// A task's downstream is gone (it failed).
    #[error("a downstream task was lost")]
    DownstreamLost,
    /// The job cannot run as configured (not retried).
    #[error("job configuration: {0}")]
    Config(String),
    /// The checkpoint restored holds another kind of state where the job has an operator, a
    /// source or a sink: it was taken by another job (not retried).
    #[error("the checkpoint does not fit the job: it holds {found:?} state where the job restores {expected:?} state")]
    StateMismatch {
        /// What the job restores there.
        expected: StateKind,
        /// What the checkpoint holds there.
        found: StateKind,
    },
    /// A user operator or sink failed.
    #[error("{0}")]
    Operator(String),
    /// An exactly-once sink's restore found a pre-committed transaction aborted (its records
    /// lost) or could not tell how it ended. An abort ends the job without restarts: no restart
    /// can bring the records back.
    #[error(transparent)]
    Recovery(#[from] crate::sink::RecoveryError),
    /// The restart policy's limit was reached.
    #[error("gave up after {restarts} restarts; last failure: {last}")]
    RestartsExhausted {
        /// Restarts made.
        restarts: u32,
        /// The failure that ended the job.
        last: Box<Self>,
    },
}

impl JobError {
    fn store(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Store {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A record-at-a-time operator with state that checkpoints carry. Outputs keep the order in which
/// they are pushed.
pub trait Operator<I, O>: Send + 'static {
    /// Processes one record, pushing any outputs to `out`.
    fn process(&mut self, item: I, out: &mut Vec<O>);
    /// The operator's state at a checkpoint barrier (empty for a stateless operator).
    fn snapshot(&mut self) -> Vec<u8> {
        Vec::new()
    }
    /// Restores the state [`Self::snapshot`] returned (called before any record after a restart).
    fn restore(&mut self, state: &[u8]) {
        let _ = state;
    }
    /// The input has ended (a bounded job): push any final outputs.
    fn finish(&mut self, out: &mut Vec<O>) {
        let _ = out;
    }
}

/// Where one sink instance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkContext {
    /// This instance.
    pub instance: usize,
    /// The number of sink instances.
    pub parallelism: usize,
    /// The job's checkpoint interval (`None`: checkpoints only at the end of a bounded input).
    pub checkpoint_interval: Option<Duration>,
}

impl SinkContext {
    /// Instance `instance` of `parallelism` (for driving a sink outside a job, e.g. in tests),
    /// without a checkpoint interval.
    pub fn new(instance: usize, parallelism: usize) -> Self {
        Self {
            instance,
            parallelism,
            checkpoint_interval: None,
        }
    }

    /// The same context in a job checkpointing every `every`.
    pub fn with_checkpoint_interval(mut self, every: Duration) -> Self {
        self.checkpoint_interval = Some(every);
        self
    }
}

/// The end of a job. Its hooks are the two phases of a checkpoint: prepare at the barrier (flush,
/// or pre-commit a transaction) and commit once the checkpoint is complete everywhere.
pub trait Sink<T>: Send + 'static {
    /// Writes one record.
    fn write(&mut self, item: T) -> impl Future<Output = Result<(), JobError>> + Send;
    /// At checkpoint barrier `checkpoint_id`: make everything written so far durable or
    /// pre-committed, and return the state a restore needs (e.g. the pre-committed transaction).
    /// An error fails the checkpoint (and the job restarts), never drops records silently.
    fn prepare_checkpoint(
        &mut self,
        checkpoint_id: u64,
    ) -> impl Future<Output = Result<Vec<u8>, JobError>> + Send {
        let _ = checkpoint_id;
        async { Ok(Vec::new()) }
    }
    /// Checkpoint `checkpoint_id` is complete: commit what it prepared.
    fn checkpoint_complete(
        &mut self,
        checkpoint_id: u64,
    ) -> impl Future<Output = Result<(), JobError>> + Send {
        let _ = checkpoint_id;
        async { Ok(()) }
    }
    /// Called once before any write after a restart, with the state of the restored checkpoint
    /// (`None` on a fresh start or when the checkpoint held none).
    fn restore(&mut self, state: Option<Vec<u8>>) -> impl Future<Output = Result<(), JobError>> + Send {
        let _ = state;
        async { Ok(()) }
    }
    /// The input has ended and the final checkpoint is complete.
    fn finish(&mut self) -> impl Future<Output = Result<(), JobError>> + Send {
        async { Ok(()) }
    }
}

/// What to do when a task fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestartPolicy {
    /// Restarts allowed before the job fails.
    pub max_restarts: u32,
    /// The pause before each restart.
    pub delay: Duration,
}

impl RestartPolicy {
    /// At most `max_restarts` restarts, `delay` apart.
    pub fn fixed(max_restarts: u32, delay: Duration) -> Self {
        Self { max_restarts, delay }
    }

    /// Never restart.
    pub fn none() -> Self {
        Self::fixed(0, Duration::ZERO)
    }
}

impl Default for RestartPolicy {
    /// Three restarts, one second apart.
    fn default() -> Self {
        Self::fixed(3, Duration::from_secs(1))
    }
}

/// How a job finished.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobReport {
    /// Restarts after failures.
    pub restarts: u32,
    /// Checkpoints completed, over all attempts.
    pub checkpoints: u64,
    /// The last completed checkpoint.
    pub last_checkpoint: Option<u64>,
}

#[derive(Clone)]
struct Config {
    name: String,
    parallelism: Option<usize>,
    interval: Option<Duration>,
    store: Option<PathBuf>,
    restart: RestartPolicy,
    capacity: usize,
}

/// Describes a job: where its checkpoints go, how often, and what happens on failure.
#[derive(Clone)]
pub struct JobBuilder {
    config: Config,
}

impl JobBuilder {
    /// A job named `name` (for logs), with checkpoints only at the end of a bounded input, kept
    /// in memory, and the default restart policy.
    pub fn new(name: &str) -> Self {
        Self {
            config: Config {
                name: name.to_owned(),
                parallelism: None,
                interval: None,
                store: None,
                restart: RestartPolicy::default(),
                capacity: 256,
            },
        }
    }

    /// Triggers a checkpoint every `every`.
    pub fn checkpoint_interval(mut self, every: Duration) -> Self {
        self.config.interval = Some(every);
        self
    }

    /// Writes completed checkpoints to `dir`, and resumes from the newest one found there: a job
    /// killed and started again continues where its last checkpoint was.
    pub fn checkpoint_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.store = Some(dir.into());
        self
    }

    /// What to do when a task fails.
    pub fn restart_policy(mut self, p: RestartPolicy) -> Self {
        self.config.restart = p;
        self
    }

    /// The parallelism of the stages after an exchange (default: the source's).
    pub fn parallelism(mut self, n: usize) -> Self {
        self.config.parallelism = Some(n.max(1));
        self
    }

    /// Records buffered per channel between two tasks (default 256).
    pub fn channel_capacity(mut self, n: usize) -> Self {
        self.config.capacity = n.max(1);
        self
    }

    /// The job reads `source`.
    pub fn source(self, source: KafkaSource) -> Stream<SourceRecord> {
        let parallelism = source.parallelism();
        let downstream = self.config.parallelism.unwrap_or(parallelism);
        Stream {
            plan: Plan {
                config: self.config,
                stages: Vec::new(),
                wires: Vec::new(),
                downstream,
            },
            head: Box::new(SourceHead { source }),
            parallelism,
        }
    }
}

struct Plan {
    config: Config,
    stages: Vec<Arc<dyn Stage>>,
    wires: Vec<Arc<dyn Rewire>>,
    downstream: usize,
}

/// Where a stage's records come from; finished into a [`Stage`] once the stage's end is known.
trait Head<T>: Send {
    fn finish(self: Box<Self>, tail: Tail<T>) -> Arc<dyn Stage>;
}

struct SourceHead {
    source: KafkaSource,
}

impl Head<SourceRecord> for SourceHead {
    fn finish(self: Box<Self>, tail: Tail<SourceRecord>) -> Arc<dyn Stage> {
        Arc::new(SourceStage {
            source: self.source,
            tail,
        })
    }
}

struct InputHead<T> {
    wiring: Arc<Wiring<T>>,
    parallelism: usize,
}

impl<T: Send + 'static> Head<T> for InputHead<T> {
    fn finish(self: Box<Self>, tail: Tail<T>) -> Arc<dyn Stage> {
        Arc::new(InputStage {
            wiring: self.wiring,
            tail,
            parallelism: self.parallelism,
        })
    }
}

type Wrap<T, U> = Arc<dyn Fn(usize, Box<dyn Chain<U>>) -> Box<dyn Chain<T>> + Send + Sync>;

/// A head followed by one more operator.
struct OpHead<T, U> {
    prev: Box<dyn Head<T>>,
    wrap: Wrap<T, U>,
}

impl<T: 'static, U: 'static> Head<U> for OpHead<T, U> {
    fn finish(self: Box<Self>, tail: Tail<U>) -> Arc<dyn Stage> {
        let wrap = self.wrap;
        self.prev.finish(Arc::new(move |i| wrap(i, tail(i))))
    }
}

/// A stream of `T` in a job being described.
pub struct Stream<T> {
    plan: Plan,
    head: Box<dyn Head<T>>,
    parallelism: usize,
}

impl<T: Send + 'static> Stream<T> {
    /// Applies a stateful operator, one per instance, made by `make(instance)`.
    pub fn process<U, P>(self, make: impl Fn(usize) -> P + Send + Sync + 'static) -> Stream<U>
    where
        U: Send + 'static,
        P: Operator<T, U>,
    {
        let wrap: Wrap<T, U> = Arc::new(move |i, next| Box::new(OpChain::new(make(i), next)));
        Stream {
            plan: self.plan,
            head: Box::new(OpHead {
                prev: self.head,
                wrap,
            }),
            parallelism: self.parallelism,
        }
    }

    fn each<U: Send + 'static>(self, f: impl Fn(T, &mut Vec<U>) + Send + Sync + 'static) -> Stream<U> {
        let f = Arc::new(f);
        self.process(move |_| FnOp(f.clone()))
    }

    /// One output per record.
    pub fn map<U: Send + 'static>(self, f: impl Fn(T) -> U + Send + Sync + 'static) -> Stream<U> {
        self.each(move |x, out| out.push(f(x)))
    }

    /// Keeps the records for which `f` is true.
    pub fn filter(self, f: impl Fn(&T) -> bool + Send + Sync + 'static) -> Self {
        self.each(move |x, out| {
            if f(&x) {
                out.push(x);
            }
        })
    }

    /// Zero or more outputs per record, in the iterator's order.
    pub fn flat_map<U, I>(self, f: impl Fn(T) -> I + Send + Sync + 'static) -> Stream<U>
    where
        U: Send + 'static,
        I: IntoIterator<Item = U>,
    {
        self.each(move |x, out| out.extend(f(x)))
    }

    fn exchange(mut self, route: Route<T>) -> Self {
        let downstream = self.plan.downstream;
        let wiring = Arc::new(Wiring::<T>::new(self.parallelism, downstream));
        let senders = wiring.clone();
        let tail: Tail<T> =
            Arc::new(move |i| Box::new(ExchangeEnd::new(senders.senders(i), route.clone(), i)));
        self.plan.stages.push(self.head.finish(tail));
        self.plan.wires.push(wiring.clone());
        Self {
            plan: self.plan,
            head: Box::new(InputHead {
                wiring,
                parallelism: downstream,
            }),
            parallelism: downstream,
        }
    }

    /// Spreads the records round-robin over every instance of the next stage (the order of a
    /// partition is then no longer kept).
    pub fn rebalance(self) -> Self {
        self.exchange(Route::RoundRobin)
    }

    /// Sends every record with the same key to the same instance of the next stage, so keyed
    /// state (in [`Stream::process`]) sees all of a key's records, in order per source partition.
    pub fn key_by<K: Hash>(self, key: impl Fn(&T) -> K + Send + Sync + 'static) -> Self {
        self.exchange(Route::Key(Arc::new(move |x| stable_hash(&key(x)))))
    }

    /// Ends the stream in a sink, one made per instance by `make`.
    pub fn sink<S: Sink<T>>(mut self, make: impl Fn(SinkContext) -> S + Send + Sync + 'static) -> Job {
        let parallelism = self.parallelism;
        let checkpoint_interval = self.plan.config.interval;
        let tail: Tail<T> = Arc::new(move |instance| {
            Box::new(SinkEnd::new(make(SinkContext {
                instance,
                parallelism,
                checkpoint_interval,
            })))
        });
        self.plan.stages.push(self.head.finish(tail));
        Job { plan: self.plan }
    }
}

/// A described job, ready to run.
pub struct Job {
    plan: Plan,
}

impl Job {
    /// Runs the job until its bounded input ends (or forever), restarting failed tasks from the
    /// last completed checkpoint within the restart policy. Dropping the future stops every task,
    /// as a killed process would; a new run with the same checkpoint directory resumes from the
    /// newest checkpoint there.
    pub async fn run(self) -> Result<JobReport, JobError> {
        task::run(&self.plan.config, &self.plan.stages, &self.plan.wires).await
    }
}

/// The states of one task to restore.
#[derive(Debug, Default)]
struct Restored {
    /// For a source: every source instance's offsets, merged.
    source: Option<crate::source::SourceState>,
    /// The chain's states, in chain order.
    chain: VecDeque<State>,
    /// The states were taken after the task's operators finished.
    finished: bool,
}
