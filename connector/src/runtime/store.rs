//! The checkpoint store: each completed checkpoint is one file in a directory, written to a
//! temporary name, synced, then renamed into place, so a crash leaves either the whole checkpoint or
//! none of it. The newest readable checkpoint is the one a restart resumes from.
//!
//! File layout (big-endian): magic `KWCK`, format version (u8), checkpoint id (u64), the number of
//! stages (u32); per stage the number of instances (u32); per instance the number of states (u32),
//! each (format 3) a kind byte ([`StateKind`]), a u32 length and its bytes, then (format 2 on) a
//! flags byte, bit 0: the instance's operators had finished; last, a CRC-32C of everything before
//! it. Formats 1 (no flags) and 2 (no kinds: states by position only) still read, their states
//! as [`StateKind::Untyped`].
//!
//! The states inside have formats of their own, each with magic, version and CRC: a source's
//! offsets ([`crate::source::SourceState`], `KWSO`) and an exactly-once sink's transactions
//! (`KWTX`); an operator's state is the operator's own bytes.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use kwire_protocol::primitives::{Decoder, Encoder};
use tracing::warn;

use super::JobError;

const MAGIC: &[u8; 4] = b"KWCK";
const FORMAT: u8 = 3;
/// The first format: no flags per instance.
const FORMAT_1: u8 = 1;
/// The second format: no kind per state.
const FORMAT_2: u8 = 2;
const FINISHED: u8 = 1;
const PREFIX: &str = "chk-";

/// Whose state a checkpoint holds at a place in a task's chain: a restore checks it, so a
/// checkpoint that does not fit the job is refused instead of read as the wrong state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateKind {
    /// A source reader's next offsets.
    SourceOffsets,
    /// An operator's own state.
    Operator,
    /// A sink's state (an exactly-once sink's pre-committed transactions).
    Sink,
    /// Written by a format without kinds (1 and 2): known by its place only.
    Untyped,
}

impl StateKind {
    fn code(self) -> u8 {
        match self {
            Self::SourceOffsets => 1,
            Self::Operator => 2,
            Self::Sink => 3,
            Self::Untyped => 0,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Untyped,
            1 => Self::SourceOffsets,
            2 => Self::Operator,
            3 => Self::Sink,
            _ => return None,
        })
    }

    /// Whether a state of this kind may be restored where `expected` is: the same kind, or an
    /// untyped state of an older format.
    pub fn fits(self, expected: Self) -> bool {
        self == expected || self == Self::Untyped
    }
}

/// One state in a checkpoint: whose, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Whose state it is.
    pub kind: StateKind,
    /// The state.
    pub bytes: Vec<u8>,
}

impl State {
    /// A state of `kind`.
    pub fn new(kind: StateKind, bytes: Vec<u8>) -> Self {
        Self { kind, bytes }
    }
}

/// The next state of a chain being restored, which must be of kind `expected`: `None` when the
/// checkpoint has no more (the place starts empty), an error when it holds another kind there.
pub(crate) fn take_state(
    states: &mut std::collections::VecDeque<State>,
    expected: StateKind,
) -> Result<Option<Vec<u8>>, JobError> {
    match states.pop_front() {
        None => Ok(None),
        Some(s) if s.kind.fits(expected) => Ok(Some(s.bytes)),
        Some(s) => Err(JobError::StateMismatch {
            expected,
            found: s.kind,
        }),
    }
}

/// The states of a completed checkpoint: per stage, per instance, the states of its chain in
/// order (a source instance's first state is its offsets).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// The checkpoint id.
    pub id: u64,
    /// `stages[stage][instance]` = the instance's states.
    pub stages: Vec<Vec<Vec<State>>>,
    /// `finished[stage][instance]`: the instance's operators had finished (its input ended)
    /// when the checkpoint was taken; a restore from it does not finish them again. Missing
    /// entries are false.
    pub finished: Vec<Vec<bool>>,
}

impl Snapshot {
    /// The snapshot as the store writes it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.raw(MAGIC);
        e.i8(FORMAT as i8);
        e.i64(self.id as i64);
        e.u32(self.stages.len() as u32);
        for (i, stage) in self.stages.iter().enumerate() {
            e.u32(stage.len() as u32);
            for (k, states) in stage.iter().enumerate() {
                e.u32(states.len() as u32);
                for s in states {
                    e.i8(s.kind.code() as i8);
                    e.u32(s.bytes.len() as u32);
                    e.raw(&s.bytes);
                }
                let finished = self
                    .finished
                    .get(i)
                    .and_then(|f| f.get(k))
                    .copied()
                    .unwrap_or(false);
                e.i8(if finished { FINISHED as i8 } else { 0 });
            }
        }
        let crc = crc32c::crc32c(&e.buf_mut()[..]);
        e.u32(crc);
        e.into_inner().to_vec()
    }

    /// Reads what [`Self::to_bytes`] wrote; `None` for damaged or foreign bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (body, crc) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
        if crc32c::crc32c(body).to_be_bytes() != crc {
            return None;
        }
        let mut d = Decoder::new(Bytes::copy_from_slice(body));
        if d.take(4).ok()?.as_ref() != MAGIC {
            return None;
        }
        let format = d.i8().ok()? as u8;
        if ![FORMAT, FORMAT_2, FORMAT_1].contains(&format) {
            return None;
        }
        let id = d.i64().ok()? as u64;
        let mut stages = Vec::new();
        let mut finished = Vec::new();
        for _ in 0..d.u32().ok()? {
            let mut stage = Vec::new();
            let mut done = Vec::new();
            for _ in 0..d.u32().ok()? {
                let count = d.u32().ok()? as usize;
                let mut states = Vec::with_capacity(d.capacity_for(count, 4));
                for _ in 0..count {
                    let kind = if format >= FORMAT {
                        StateKind::from_code(d.i8().ok()? as u8)?
                    } else {
                        StateKind::Untyped
                    };
                    let len = d.u32().ok()? as usize;
                    states.push(State::new(kind, d.take(len).ok()?.to_vec()));
                }
                stage.push(states);
                done.push(format >= FORMAT_2 && (d.i8().ok()? as u8 & FINISHED) != 0);
            }
            stages.push(stage);
            finished.push(done);
        }
        d.finish().ok()?;
        Some(Self { id, stages, finished })
    }
}

/// The format of a checkpoint whose CRC and magic are right but whose format is newer than
/// this build's.
fn newer_format(bytes: &[u8]) -> Option<u8> {
    let (body, crc) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
    if crc32c::crc32c(body).to_be_bytes() != crc || body.get(..4)? != MAGIC {
        return None;
    }
    let format = *body.get(4)?;
    (format > FORMAT).then_some(format)
}

/// Completed checkpoints in a directory.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    dir: PathBuf,
    retain: usize,
}

impl CheckpointStore {
    /// The store in `dir` (created if missing), keeping the newest 3 checkpoints.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, JobError> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| JobError::store(&dir, e))?;
        Ok(Self { dir, retain: 3 })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("{PREFIX}{id:020}"))
    }

    /// Writes `snapshot` durably (temporary file, fsync, rename, fsync of the directory), then
    /// removes checkpoints older than the newest few.
    pub fn save(&self, snapshot: &Snapshot) -> Result<(), JobError> {
        let path = self.path(snapshot.id);
        let tmp = path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&snapshot.to_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            fs::File::open(&self.dir)?.sync_all()
        };
        write().map_err(|e| JobError::store(&path, e))?;
        let ids = self.ids()?;
        for old in ids.iter().rev().skip(self.retain) {
            let _ = fs::remove_file(self.path(*old));
        }
        Ok(())
    }

    /// The ids of the stored checkpoints, oldest first.
    pub fn ids(&self) -> Result<Vec<u64>, JobError> {
        let mut ids: Vec<u64> = fs::read_dir(&self.dir)
            .map_err(|e| JobError::store(&self.dir, e))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.strip_prefix(PREFIX)?.parse().ok())
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// The newest checkpoint that reads back whole; damaged files are skipped with a warning.
    pub fn latest(&self) -> Result<Option<Snapshot>, JobError> {
        for id in self.ids()?.into_iter().rev() {
            let path = self.path(id);
            let bytes = fs::read(&path).map_err(|e| JobError::store(&path, e))?;
            match Snapshot::from_bytes(&bytes) {
                Some(s) if s.id == id => return Ok(Some(s)),
                _ => {
                    if let Some(format) = newer_format(&bytes) {
                        // Whole, but written by a newer build: restoring an older one instead
                        // would replay or lose what this one had committed.
                        return Err(JobError::store(
                            &path,
                            std::io::Error::new(
                                std::io::ErrorKind::InvalidData,
                                format!(
                                    "checkpoint {id} has format {format}, newer than the formats \
                                     {FORMAT_1}-{FORMAT} this build reads"
                                ),
                            ),
                        ));
                    }
                    warn!(path = %path.display(), "damaged checkpoint skipped");
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(id: u64) -> Snapshot {
        Snapshot {
            id,
            stages: vec![
                vec![
                    vec![
                        State::new(StateKind::SourceOffsets, b"offsets".to_vec()),
                        State::new(StateKind::Operator, Vec::new()),
                    ],
                    vec![],
                ],
                vec![vec![State::new(StateKind::Sink, vec![1, 2, 3])]],
            ],
            finished: vec![vec![true, false], vec![true]],
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kwire-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_snapshot_reads_back_and_damage_is_refused() {
        let s = snapshot(42);
        let bytes = s.to_bytes();
        assert_eq!(Snapshot::from_bytes(&bytes), Some(s));
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert_eq!(Snapshot::from_bytes(&bad), None, "flip at {i}");
        }
        assert_eq!(Snapshot::from_bytes(&bytes[..bytes.len() - 1]), None);
        assert_eq!(Snapshot::from_bytes(&[]), None);
    }

    /// A checkpoint a newer build wrote (a format this one does not know) stops the restore with
    /// an error; skipping it as damage would restore an older checkpoint and replay or lose what
    /// the newer one had committed.
    #[test]
    fn a_checkpoint_of_a_newer_format_is_an_error_not_damage() {
        let dir = temp_dir("newer");
        let store = CheckpointStore::open(&dir).unwrap();
        store.save(&snapshot(1)).unwrap();
        let mut e = Encoder::new();
        e.raw(MAGIC);
        e.i8(FORMAT as i8 + 1);
        e.i64(2);
        e.u32(0);
        let crc = crc32c::crc32c(&e.buf_mut()[..]);
        e.u32(crc);
        fs::write(store.path(2), e.into_inner()).unwrap();
        let err = store.latest().unwrap_err().to_string();
        assert!(err.contains(&format!("format {}", FORMAT + 1)), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_checkpoint_of_the_first_format_reads_with_nothing_finished() {
        let mut e = Encoder::new();
        e.raw(MAGIC);
        e.i8(FORMAT_1 as i8);
        e.i64(9);
        e.u32(1);
        e.u32(1);
        e.u32(1);
        e.u32(3);
        e.raw(b"abc");
        let crc = crc32c::crc32c(&e.buf_mut()[..]);
        e.u32(crc);
        let s = Snapshot::from_bytes(&e.into_inner()).unwrap();
        let untyped = State::new(StateKind::Untyped, b"abc".to_vec());
        assert_eq!((s.id, s.stages), (9, vec![vec![vec![untyped]]]));
        assert_eq!(s.finished, vec![vec![false]]);
    }

    #[test]
    fn a_checkpoint_of_the_second_format_reads_its_states_untyped() {
        let mut e = Encoder::new();
        e.raw(MAGIC);
        e.i8(FORMAT_2 as i8);
        e.i64(7);
        e.u32(1);
        e.u32(1);
        e.u32(2);
        e.u32(3);
        e.raw(b"abc");
        e.u32(0);
        e.i8(FINISHED as i8);
        let crc = crc32c::crc32c(&e.buf_mut()[..]);
        e.u32(crc);
        let s = Snapshot::from_bytes(&e.into_inner()).unwrap();
        let states = &s.stages[0][0];
        assert_eq!(states.len(), 2);
        assert!(states.iter().all(|st| st.kind == StateKind::Untyped));
        assert_eq!(states[0].bytes, b"abc");
        assert_eq!(s.finished, vec![vec![true]]);
    }

    #[test]
    fn a_state_fits_its_own_kind_or_an_untyped_place() {
        assert!(StateKind::Sink.fits(StateKind::Sink));
        assert!(StateKind::Untyped.fits(StateKind::Operator));
        assert!(!StateKind::Sink.fits(StateKind::Operator));
        assert!(!StateKind::Operator.fits(StateKind::SourceOffsets));
    }

    #[test]
    fn the_newest_whole_checkpoint_wins_and_old_ones_are_pruned() {
        let dir = temp_dir("latest");
        let store = CheckpointStore::open(&dir).unwrap();
        assert_eq!(store.latest().unwrap(), None);
        for id in 1..=5 {
            store.save(&snapshot(id)).unwrap();
        }
        assert_eq!(store.ids().unwrap(), vec![3, 4, 5]);
        assert_eq!(store.latest().unwrap().map(|s| s.id), Some(5));
        // A torn newest file (as a crash mid-write without the rename would never leave, but a
        // disk might): the previous checkpoint is used.
        fs::write(store.path(5), b"KWCK-torn").unwrap();
        assert_eq!(store.latest().unwrap().map(|s| s.id), Some(4));
        // A temporary file is never taken for a checkpoint.
        fs::write(store.path(9).with_extension("tmp"), snapshot(9).to_bytes()).unwrap();
        assert_eq!(store.latest().unwrap().map(|s| s.id), Some(4));
        fs::remove_dir_all(&dir).unwrap();
    }
}
