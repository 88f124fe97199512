//! The tasks of a job and the checkpoint coordinator that drives them.

use std::collections::{BTreeMap, VecDeque};
use std::future::poll_fn;
use std::sync::Arc;

use tokio::sync::mpsc::{self, error::TryRecvError, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use super::chain::{BoxFuture, Chain, Tail};
use super::exchange::{Input, Inputs, Rewire, Wiring};
use super::store::take_state;
use super::{CheckpointStore, Config, JobError, JobReport, Restored, Snapshot, State, StateKind};
use crate::source::{KafkaSource, SourceRecord, SourceState};

/// Records a source task takes from its reader between two looks at its control channel.
const SOURCE_BATCH: usize = 512;

/// From the coordinator to a task.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Control {
    /// (Sources) take checkpoint `n` now.
    Trigger(u64),
    /// Checkpoint `n` is complete everywhere.
    Complete(u64),
    /// (Sources) end the output: the job is finishing.
    Stop,
}

/// From a task to the coordinator.
#[derive(Debug)]
pub(crate) enum Event {
    Ack {
        id: u64,
        stage: usize,
        instance: usize,
        states: Vec<State>,
        /// The task's operators had finished (its input ended) before the barrier.
        finished: bool,
    },
    /// A source instance's bounded read has finished.
    Finished,
}

pub(crate) struct TaskCtx {
    stage: usize,
    instance: usize,
    control: UnboundedReceiver<Control>,
    events: UnboundedSender<Event>,
    restored: Option<Restored>,
}

impl TaskCtx {
    fn ack(&self, id: u64, states: Vec<State>, finished: bool) {
        let _ = self.events.send(Event::Ack {
            id,
            stage: self.stage,
            instance: self.instance,
            states,
            finished,
        });
    }
}

/// One stage of a job: its tasks' code.
pub(crate) trait Stage: Send + Sync {
    fn parallelism(&self) -> usize;
    fn is_source(&self) -> bool;
    fn spawn(&self, ctx: TaskCtx) -> BoxFuture<'static, Result<(), JobError>>;
}

pub(crate) struct SourceStage {
    pub(crate) source: KafkaSource,
    pub(crate) tail: Tail<SourceRecord>,
}

impl Stage for SourceStage {
    fn parallelism(&self) -> usize {
        self.source.parallelism()
    }

    fn is_source(&self) -> bool {
        true
    }

    fn spawn(&self, ctx: TaskCtx) -> BoxFuture<'static, Result<(), JobError>> {
        let chain = (self.tail)(ctx.instance);
        Box::pin(run_source(self.source.clone(), chain, ctx))
    }
}

pub(crate) struct InputStage<T> {
    pub(crate) wiring: Arc<Wiring<T>>,
    pub(crate) tail: Tail<T>,
    pub(crate) parallelism: usize,
}

impl<T: Send + 'static> Stage for InputStage<T> {
    fn parallelism(&self) -> usize {
        self.parallelism
    }

    fn is_source(&self) -> bool {
        false
    }

    fn spawn(&self, ctx: TaskCtx) -> BoxFuture<'static, Result<(), JobError>> {
        let inputs = Inputs::new(self.wiring.receivers(ctx.instance));
        let chain = (self.tail)(ctx.instance);
        Box::pin(run_input(inputs, chain, ctx))
    }
}

async fn run_source(
    source: KafkaSource,
    mut chain: Box<dyn Chain<SourceRecord>>,
    mut ctx: TaskCtx,
) -> Result<(), JobError> {
    let restored = ctx.restored.take().unwrap_or_default();
    let mut reader = source.reader(ctx.instance, restored.source).await?;
    if !restored.chain.is_empty() {
        chain.restore(restored.chain).await?;
    }
    if restored.finished {
        chain.mark_finished();
    }
    let mut batch = Vec::with_capacity(SOURCE_BATCH);
    let mut finished = false;
    loop {
        // Barriers and notifications between batches: every record handed to the chain before
        // the barrier is in the checkpoint, none after.
        loop {
            let control = if finished {
                ctx.control.recv().await
            } else {
                match ctx.control.try_recv() {
                    Ok(c) => Some(c),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => None,
                }
            };
            match control {
                None => return Ok(()),
                Some(Control::Trigger(id)) => {
                    let offsets = reader.snapshot(id);
                    let mut states = chain.barrier(id).await?;
                    states.insert(0, State::new(StateKind::SourceOffsets, offsets.to_bytes()));
                    // Restored from a finished task: its state is after the finish from the
                    // start, even before this run's loop has seen the end again.
                    ctx.ack(id, states, finished || restored.finished);
                }
                Some(Control::Complete(id)) => {
                    reader.notify_checkpoint_complete(id).await;
                    chain.complete(id).await?;
                }
                Some(Control::Stop) => return chain.end().await,
            }
        }
        reader.next_batch(&mut batch, SOURCE_BATCH).await?;
        for r in batch.drain(..) {
            chain.push(r);
        }
        chain.drain().await?;
        if !finished && reader.is_finished() {
            // The operators finish before the final checkpoint (as Flink's tasks do), so that
            // it holds their state after the finish and the sinks pre-commit the final outputs.
            finished = true;
            chain.finish().await?;
            let _ = ctx.events.send(Event::Finished);
        }
    }
}

async fn run_input<T: Send + 'static>(
    mut inputs: Inputs<T>,
    mut chain: Box<dyn Chain<T>>,
    mut ctx: TaskCtx,
) -> Result<(), JobError> {
    let restored = ctx.restored.take().unwrap_or_default();
    if !restored.chain.is_empty() {
        chain.restore(restored.chain).await?;
    }
    if restored.finished {
        chain.mark_finished();
    }
    let mut finished = false;
    loop {
        tokio::select! {
            // Notifications first: one sent before the input ended is handled before the end.
            biased;
            control = ctx.control.recv() => match control {
                Some(Control::Complete(id)) => chain.complete(id).await?,
                Some(_) => {}
                None => return Ok(()),
            },
            input = poll_fn(|cx| inputs.poll_next(cx)) => match input {
                Input::Record(r) => {
                    chain.push(r);
                    chain.drain().await?;
                }
                Input::Aligned(id) => {
                    let states = chain.barrier(id).await?;
                    ctx.ack(id, states, finished || restored.finished);
                }
                Input::EndOfData => {
                    finished = true;
                    chain.finish().await?;
                }
                Input::Ended => {
                    while let Ok(Control::Complete(id)) = ctx.control.try_recv() {
                        chain.complete(id).await?;
                    }
                    return chain.end().await;
                }
                Input::Lost => return Err(JobError::UpstreamLost),
            },
        }
    }
}

/// Runs the job: attempts until one ends well or the restart policy gives up.
pub(crate) async fn run(
    config: &Config,
    stages: &[Arc<dyn Stage>],
    wires: &[Arc<dyn Rewire>],
) -> Result<JobReport, JobError> {
    let store = config.store.as_ref().map(CheckpointStore::open).transpose()?;
    let mut last = match &store {
        Some(s) => s.latest()?,
        None => None,
    };
    if let Some(s) = &last {
        info!(job = %config.name, checkpoint = s.id, "resuming from checkpoint");
    }
    let mut report = JobReport::default();
    loop {
        let mut attempt = Attempt {
            config,
            stages,
            store: store.as_ref(),
            last: &mut last,
            report: &mut report,
        };
        let failure = match attempt.run(wires).await {
            Ok(()) => return Ok(report),
            Err(JobError::Config(e)) => return Err(JobError::Config(e)),
            Err(e @ JobError::StateMismatch { .. }) => return Err(e),
            Err(e @ JobError::Recovery(crate::sink::RecoveryError::Aborted { .. })) => return Err(e),
            Err(e) => e,
        };
        if report.restarts >= config.restart.max_restarts {
            return Err(JobError::RestartsExhausted {
                restarts: report.restarts,
                last: Box::new(failure),
            });
        }
        report.restarts += 1;
        warn!(job = %config.name, error = %failure, restart = report.restarts,
              checkpoint = ?last.as_ref().map(|s| s.id), "task failed; restarting from the last checkpoint");
        tokio::time::sleep(config.restart.delay).await;
    }
}

struct Attempt<'a> {
    config: &'a Config,
    stages: &'a [Arc<dyn Stage>],
    store: Option<&'a CheckpointStore>,
    last: &'a mut Option<Snapshot>,
    report: &'a mut JobReport,
}

/// A checkpoint being collected.
struct Pending {
    id: u64,
    /// Per (stage, instance): its states and whether its operators had finished.
    acks: BTreeMap<(usize, usize), TaskAck>,
}

type TaskAck = (Vec<State>, bool);

impl Attempt<'_> {
    /// The states each task restores from the last checkpoint.
    fn restored(&self) -> Result<Vec<Vec<Option<Restored>>>, JobError> {
        let Some(snap) = self.last.as_ref() else {
            return Ok(self
                .stages
                .iter()
                .map(|s| (0..s.parallelism()).map(|_| None).collect())
                .collect());
        };
        if snap.stages.len() != self.stages.len() {
            return Err(JobError::Config(format!(
                "checkpoint {} has {} stages, the job {}",
                snap.id,
                snap.stages.len(),
                self.stages.len()
            )));
        }
        let mut out = Vec::new();
        for (i, (stage, saved)) in self.stages.iter().zip(&snap.stages).enumerate() {
            let mut saved: Vec<VecDeque<State>> = saved.iter().map(|s| s.iter().cloned().collect()).collect();
            let source = if stage.is_source() {
                let mut states = Vec::new();
                for s in &mut saved {
                    let bytes = take_state(s, StateKind::SourceOffsets)?.unwrap_or_default();
                    states.push(SourceState::from_bytes(&bytes).map_err(|e| {
                        JobError::Config(format!("checkpoint {}: source offsets damaged: {e}", snap.id))
                    })?);
                }
                Some(SourceState::merge(&states))
            } else {
                None
            };
            // Source offsets follow their partitions to any parallelism; operator state is per
            // instance, so a stage holding some cannot change its parallelism.
            let has_state = saved.iter().flatten().any(|s| !s.bytes.is_empty());
            if saved.len() != stage.parallelism() && has_state {
                return Err(JobError::Config(format!(
                    "stage {i} had parallelism {} in checkpoint {} and holds state; it is {} now",
                    saved.len(),
                    snap.id,
                    stage.parallelism()
                )));
            }
            let finished = snap.finished.get(i);
            out.push(
                (0..stage.parallelism())
                    .map(|k| {
                        let same = saved.len() == stage.parallelism();
                        Some(Restored {
                            source: source.clone(),
                            chain: if same { saved[k].clone() } else { VecDeque::new() },
                            // A stage without state may change its parallelism; it finishes
                            // again only if some instance had not finished.
                            finished: if same {
                                finished.and_then(|f| f.get(k)).copied().unwrap_or(false)
                            } else {
                                finished.is_some_and(|f| !f.is_empty() && f.iter().all(|d| *d))
                            },
                        })
                    })
                    .collect(),
            );
        }
        Ok(out)
    }

    async fn run(&mut self, wires: &[Arc<dyn Rewire>]) -> Result<(), JobError> {
        for w in wires {
            w.rewire(self.config.capacity);
        }
        let restored = self.restored()?;
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let mut controls: Vec<(bool, UnboundedSender<Control>)> = Vec::new();
        let mut tasks = JoinSet::new();
        let mut names = BTreeMap::new();
        for (stage_index, (stage, restored)) in self.stages.iter().zip(restored).enumerate() {
            for (instance, restored) in restored.into_iter().enumerate() {
                let (tx, rx) = mpsc::unbounded_channel();
                controls.push((stage.is_source(), tx));
                let ctx = TaskCtx {
                    stage: stage_index,
                    instance,
                    control: rx,
                    events: events_tx.clone(),
                    restored,
                };
                let handle = tasks.spawn(stage.spawn(ctx));
                names.insert(handle.id(), (stage_index, instance));
            }
        }
        drop(events_tx);
        let total = controls.len();
        let sources = controls.iter().filter(|(s, _)| *s).count();
        let send = |to_sources: bool, c: Control| {
            for (is_source, tx) in &controls {
                if *is_source || !to_sources {
                    let _ = tx.send(c);
                }
            }
        };

        let mut next_id = self.last.as_ref().map_or(1, |s| s.id + 1);
        let mut pending: Option<Pending> = None;
        let mut finished_sources = 0;
        let mut final_id: Option<u64> = None;
        let mut ticker = self.config.interval.map(|every| {
            let mut t = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        let mut trigger = |pending: &mut Option<Pending>| {
            let id = next_id;
            next_id += 1;
            debug!(job = %self.config.name, checkpoint = id, "checkpoint triggered");
            send(true, Control::Trigger(id));
            *pending = Some(Pending {
                id,
                acks: BTreeMap::new(),
            });
            id
        };
        loop {
            tokio::select! {
                _ = async { ticker.as_mut().expect("guarded").tick().await },
                    if ticker.is_some() && pending.is_none() && final_id.is_none() =>
                {
                    trigger(&mut pending);
                }
                event = events.recv() => match event {
                    Some(Event::Ack { id, stage, instance, states, finished }) => {
                        let Some(p) = pending.as_mut().filter(|p| p.id == id) else { continue };
                        p.acks.insert((stage, instance), (states, finished));
                        if p.acks.len() < total {
                            continue;
                        }
                        let p = pending.take().expect("checked above");
                        let snapshot = self.snapshot(p);
                        if let Some(store) = self.store {
                            store.save(&snapshot)?;
                        }
                        let id = snapshot.id;
                        *self.last = Some(snapshot);
                        self.report.checkpoints += 1;
                        self.report.last_checkpoint = Some(id);
                        debug!(job = %self.config.name, checkpoint = id, "checkpoint complete");
                        send(false, Control::Complete(id));
                        if final_id == Some(id) {
                            send(true, Control::Stop);
                        } else if finished_sources == sources && final_id.is_none() {
                            final_id = Some(trigger(&mut pending));
                        }
                    }
                    Some(Event::Finished) => {
                        finished_sources += 1;
                        if finished_sources == sources && pending.is_none() && final_id.is_none() {
                            final_id = Some(trigger(&mut pending));
                        }
                    }
                    None => {}
                },
                done = tasks.join_next() => match done {
                    None => {
                        info!(job = %self.config.name, "job finished");
                        return Ok(());
                    }
                    Some(Ok(Ok(()))) => {}
                    Some(Ok(Err(e))) => return Err(e),
                    Some(Err(e)) => {
                        let (stage, instance) = names.get(&e.id()).copied().unwrap_or_default();
                        let message = if e.is_panic() {
                            let p = e.into_panic();
                            p.downcast_ref::<&str>().map(|s| (*s).to_owned())
                                .or_else(|| p.downcast_ref::<String>().cloned())
                                .unwrap_or_default()
                        } else {
                            "cancelled".to_owned()
                        };
                        return Err(JobError::Panicked { stage, instance, message });
                    }
                },
            }
        }
    }

    fn snapshot(&self, p: Pending) -> Snapshot {
        let mut stages: Vec<Vec<Vec<State>>> = self
            .stages
            .iter()
            .map(|s| vec![Vec::new(); s.parallelism()])
            .collect();
        let mut finished: Vec<Vec<bool>> = stages.iter().map(|s| vec![false; s.len()]).collect();
        for ((stage, instance), (states, done)) in p.acks {
            stages[stage][instance] = states;
            finished[stage][instance] = done;
        }
        Snapshot {
            id: p.id,
            stages,
            finished,
        }
    }
}
