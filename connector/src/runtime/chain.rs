//! The operators of one task, chained as Flink chains them: a record goes through every operator
//! of the task by plain calls, and leaves through the task's end (an exchange to the next tasks,
//! or a sink). Only the end is asynchronous; it is where backpressure reaches the task.

use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use super::store::take_state;
use super::{JobError, Operator, Sink, State, StateKind};

/// A boxed future, as the chain's erased ends return them.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Makes the chain of instance `i` of a stage, from its first operator to its end.
pub(crate) type Tail<T> = Arc<dyn Fn(usize) -> Box<dyn Chain<T>> + Send + Sync>;

/// The operators of one task from a given point to the task's end.
pub(crate) trait Chain<T>: Send {
    /// Runs `item` through the operators; what reaches the end waits there for [`Self::drain`].
    fn push(&mut self, item: T);
    /// Hands what reached the end to the next tasks or the sink (waits while they are full).
    fn drain(&mut self) -> BoxFuture<'_, Result<(), JobError>>;
    /// Checkpoint barrier `id`: drains, snapshots each operator (in chain order) and the sink,
    /// and passes the barrier on.
    fn barrier(&mut self, id: u64) -> BoxFuture<'_, Result<Vec<State>, JobError>>;
    /// Checkpoint `id` is complete everywhere.
    fn complete(&mut self, id: u64) -> BoxFuture<'_, Result<(), JobError>>;
    /// Restores the operators and the sink from their states, in the order `barrier` gave them.
    fn restore(&mut self, states: VecDeque<State>) -> BoxFuture<'_, Result<(), JobError>>;
    /// The input has ended: each operator pushes its final outputs (once, even if called again
    /// or after [`Self::mark_finished`]) and the end passes them on, then EndOfData. The final
    /// checkpoint comes after this, so it holds the state after the finish and the sink
    /// pre-commits the final outputs in it.
    fn finish(&mut self) -> BoxFuture<'_, Result<(), JobError>>;
    /// The restored states were taken after the operators finished: they must not finish again.
    fn mark_finished(&mut self);
    /// The final checkpoint is complete: the end is drained and closed (finishing first if
    /// [`Self::finish`] was not called).
    fn end(&mut self) -> BoxFuture<'_, Result<(), JobError>>;
}

/// An [`Operator`] from a closure over (item, output).
pub(crate) struct FnOp<F>(pub(crate) Arc<F>);

impl<I, O, F> Operator<I, O> for FnOp<F>
where
    F: Fn(I, &mut Vec<O>) + Send + Sync + 'static,
{
    fn process(&mut self, item: I, out: &mut Vec<O>) {
        (self.0)(item, out);
    }
}

/// One operator and the rest of the chain after it.
pub(crate) struct OpChain<I, O, P> {
    op: P,
    scratch: Vec<O>,
    next: Box<dyn Chain<O>>,
    /// The operator's finish ran (in this run or before the restored checkpoint).
    finished: bool,
    _input: PhantomData<fn(I)>,
}

impl<I, O, P> OpChain<I, O, P> {
    pub(crate) fn new(op: P, next: Box<dyn Chain<O>>) -> Self {
        Self {
            op,
            scratch: Vec::new(),
            next,
            finished: false,
            _input: PhantomData,
        }
    }

    fn forward(&mut self) {
        for o in self.scratch.drain(..) {
            self.next.push(o);
        }
    }
}

impl<I, O: Send + 'static, P: Operator<I, O>> OpChain<I, O, P> {
    fn finish_op(&mut self) {
        if !self.finished {
            self.finished = true;
            self.op.finish(&mut self.scratch);
            self.forward();
        }
    }
}

impl<I, O, P> Chain<I> for OpChain<I, O, P>
where
    I: Send + 'static,
    O: Send + 'static,
    P: Operator<I, O>,
{
    fn push(&mut self, item: I) {
        self.op.process(item, &mut self.scratch);
        self.forward();
    }

    fn drain(&mut self) -> BoxFuture<'_, Result<(), JobError>> {
        self.next.drain()
    }

    fn barrier(&mut self, id: u64) -> BoxFuture<'_, Result<Vec<State>, JobError>> {
        let mine = State::new(StateKind::Operator, self.op.snapshot());
        let rest = self.next.barrier(id);
        Box::pin(async move {
            let mut states = rest.await?;
            states.insert(0, mine);
            Ok(states)
        })
    }

    fn complete(&mut self, id: u64) -> BoxFuture<'_, Result<(), JobError>> {
        self.next.complete(id)
    }

    fn restore(&mut self, mut states: VecDeque<State>) -> BoxFuture<'_, Result<(), JobError>> {
        match take_state(&mut states, StateKind::Operator) {
            Ok(mine) => {
                self.op.restore(&mine.unwrap_or_default());
                self.next.restore(states)
            }
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }

    fn finish(&mut self) -> BoxFuture<'_, Result<(), JobError>> {
        self.finish_op();
        self.next.finish()
    }

    fn mark_finished(&mut self) {
        self.finished = true;
        self.next.mark_finished();
    }

    fn end(&mut self) -> BoxFuture<'_, Result<(), JobError>> {
        self.finish_op();
        self.next.end()
    }
}

/// The end of a chain that writes to a sink.
pub(crate) struct SinkEnd<T, S> {
    sink: S,
    pending: Vec<T>,
}

impl<T, S> SinkEnd<T, S> {
    pub(crate) fn new(sink: S) -> Self {
        Self {
            sink,
            pending: Vec::new(),
        }
    }
}

impl<T: Send + 'static, S: Sink<T>> SinkEnd<T, S> {
    async fn write_pending(&mut self) -> Result<(), JobError> {
        for item in std::mem::take(&mut self.pending) {
            self.sink.write(item).await?;
        }
        Ok(())
    }
}

impl<T: Send + 'static, S: Sink<T>> Chain<T> for SinkEnd<T, S> {
    fn push(&mut self, item: T) {
        self.pending.push(item);
    }

    fn drain(&mut self) -> BoxFuture<'_, Result<(), JobError>> {
        Box::pin(self.write_pending())
    }

    fn barrier(&mut self, id: u64) -> BoxFuture<'_, Result<Vec<State>, JobError>> {
        Box::pin(async move {
            self.write_pending().await?;
            Ok(vec![State::new(
                StateKind::Sink,
                self.sink.prepare_checkpoint(id).await?,
            )])
        })
    }

    fn complete(&mut self, id: u64) -> BoxFuture<'_, Result<(), JobError>> {
        Box::pin(self.sink.checkpoint_complete(id))
    }

    fn restore(&mut self, mut states: VecDeque<State>) -> BoxFuture<'_, Result<(), JobError>> {
        Box::pin(async move {
            let state = take_state(&mut states, StateKind::Sink)?;
            self.sink.restore(state).await
        })
    }

    fn finish(&mut self) -> BoxFuture<'_, Result<(), JobError>> {
        Box::pin(self.write_pending())
    }

    fn mark_finished(&mut self) {}

    fn end(&mut self) -> BoxFuture<'_, Result<(), JobError>> {
        Box::pin(async move {
            self.write_pending().await?;
            self.sink.finish().await
        })
    }
}
