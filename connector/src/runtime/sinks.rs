//! Sinks for examples and tests: print each record, or collect them in memory.

use std::fmt::Display;
use std::io::Write;
use std::sync::{Arc, Mutex};

use super::{JobError, Sink};

/// Writes each record's `Display` form as a line to standard output (at-least-once: after a
/// restart the records since the last checkpoint are printed again).
#[derive(Debug, Default)]
pub struct Print {
    _private: (),
}

impl Print {
    /// A sink printing to standard output.
    pub fn stdout() -> Self {
        Self::default()
    }
}

impl<T: Display + Send + 'static> Sink<T> for Print {
    async fn write(&mut self, item: T) -> Result<(), JobError> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{item}")
            .and_then(|()| out.flush())
            .map_err(|e| JobError::Operator(format!("stdout: {e}")))
    }
}

/// Appends each record to a shared vector (at-least-once, like [`Print`]).
#[derive(Debug)]
pub struct Collect<T> {
    out: Arc<Mutex<Vec<T>>>,
}

impl<T> Collect<T> {
    /// A sink appending to `out`.
    pub fn new(out: Arc<Mutex<Vec<T>>>) -> Self {
        Self { out }
    }
}

impl<T: Send + 'static> Sink<T> for Collect<T> {
    async fn write(&mut self, item: T) -> Result<(), JobError> {
        self.out.lock().unwrap_or_else(|e| e.into_inner()).push(item);
        Ok(())
    }
}
