//! The checkpoint store every process of a cluster reaches: a [`SharedStore`] holds named parts,
//! and [`Epochs`] lays the checkpoints out on it.
//!
//! Layout: checkpoint (epoch) `e` is the parts under `epoch-{e:020}/`: `source-{w}` (worker `w`'s
//! source offsets), `op-{name}-{w}` (an operator's state), `sink-{w}` (a sink's pre-committed
//! transactions), and `COMPLETE`, written once the frontier passed `e` everywhere. Every part is
//! written before its worker lets the frontier pass `e`, so `COMPLETE` implies that all of them
//! are there; a restart resumes from the newest epoch with a readable `COMPLETE`.
//!
//! Part format (big-endian): magic `KWEP`, version 1 (u8), the epoch (u64), the number of workers
//! (u32), the part's bytes (u32 length + bytes), then a CRC-32C of everything before it. The
//! bytes inside have formats of their own (a source's `KWSO`, a sink's `KWTX`).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use kwire_protocol::primitives::Encoder;

const MAGIC: &[u8; 4] = b"KWEP";
const VERSION: u8 = 1;
const EPOCH_PREFIX: &str = "epoch-";
const COMPLETE: &str = "COMPLETE";
/// Completed checkpoints kept (older ones are removed when a newer one completes).
const RETAIN: usize = 3;

/// Storage that every process of a cluster reaches, for the checkpoint parts. A put must be
/// atomic and durable when it returns: a reader sees the whole value or none of it.
pub trait SharedStore: Send + Sync + 'static {
    /// Writes `bytes` under `key` (a relative path of `/`-separated names).
    fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()>;
    /// The value under `key`, `None` if there is none.
    fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>>;
    /// The names directly under `dir` ("" for the top).
    fn list(&self, dir: &str) -> io::Result<Vec<String>>;
    /// Removes `dir` and everything under it (no error if it is absent).
    fn remove_all(&self, dir: &str) -> io::Result<()>;
    /// Removes the value under `key` (no error if there is none).
    fn remove(&self, key: &str) -> io::Result<()>;
}

/// A [`SharedStore`] in a directory: a local one for a single machine, or a shared file system
/// (NFS, a mounted volume) that every process mounts at the same or another path.
#[derive(Debug, Clone)]
pub struct SharedDir {
    dir: PathBuf,
}

impl SharedDir {
    /// The store in `dir`, created if missing.
    pub fn open(dir: impl AsRef<Path>) -> io::Result<Self> {
        fs::create_dir_all(dir.as_ref())?;
        Ok(Self {
            dir: dir.as_ref().to_path_buf(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl SharedStore for SharedDir {
    /// Temporary file, fsync, rename into place, fsync of the directory.
    fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.dir.join(key);
        let parent = path.parent().unwrap_or(&self.dir).to_path_buf();
        fs::create_dir_all(&parent)?;
        // Unique per process and write: workers of one process may write the same key at once.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp-{}-{n}", std::process::id()));
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, &path)?;
        fs::File::open(&parent)?.sync_all()
    }

    fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.dir.join(key)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let path = self.dir.join(dir);
        let entries = match fs::read_dir(&path) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| !n.contains(".tmp-"))
            .collect();
        names.sort_unstable();
        Ok(names)
    }

    fn remove_all(&self, dir: &str) -> io::Result<()> {
        match fs::remove_dir_all(self.dir.join(dir)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn remove(&self, key: &str) -> io::Result<()> {
        match fs::remove_file(self.dir.join(key)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// What a checkpoint part failed on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be read or written.
    #[error("checkpoint store: {key}: {source}")]
    Io {
        /// The part.
        key: String,
        /// The failure.
        #[source]
        source: io::Error,
    },
    /// A part is damaged or of another epoch or cluster size.
    #[error("checkpoint store: {key}: {why}")]
    Damaged {
        /// The part.
        key: String,
        /// What is wrong with it.
        why: String,
    },
}

/// The checkpoints of one job on a [`SharedStore`], for a cluster of `peers` workers.
#[derive(Clone)]
pub(crate) struct Epochs {
    store: std::sync::Arc<dyn SharedStore>,
    peers: usize,
}

pub(crate) fn epoch_dir(epoch: u64) -> String {
    format!("{EPOCH_PREFIX}{epoch:020}")
}

impl Epochs {
    pub(crate) fn new(store: std::sync::Arc<dyn SharedStore>, peers: usize) -> Self {
        Self { store, peers }
    }

    fn key(epoch: u64, part: &str) -> String {
        format!("{}/{part}", epoch_dir(epoch))
    }

    fn encode(&self, epoch: u64, bytes: &[u8]) -> Vec<u8> {
        let mut e = Encoder::new();
        e.raw(MAGIC);
        e.i8(VERSION as i8);
        e.i64(epoch as i64);
        e.u32(u32::try_from(self.peers).unwrap_or(u32::MAX));
        e.u32(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        e.raw(bytes);
        let crc = crc32c::crc32c(&e.buf_mut()[..]);
        e.u32(crc);
        e.into_inner().to_vec()
    }

    fn decode(&self, key: &str, epoch: u64, raw: &[u8]) -> Result<Vec<u8>, StoreError> {
        let damaged = |why: String| StoreError::Damaged {
            key: key.to_owned(),
            why,
        };
        let body_len = raw
            .len()
            .checked_sub(4)
            .ok_or_else(|| damaged("truncated".into()))?;
        let (body, crc) = raw.split_at(body_len);
        if crc32c::crc32c(body).to_be_bytes() != crc {
            return Err(damaged("CRC mismatch".into()));
        }
        let rest = body
            .strip_prefix(MAGIC)
            .ok_or_else(|| damaged("not a checkpoint part (magic)".into()))?;
        let (&version, rest) = rest.split_first().ok_or_else(|| damaged("truncated".into()))?;
        if version != VERSION {
            return Err(damaged(format!(
                "format version {version}, this build reads {VERSION}"
            )));
        }
        let field = |rest: &[u8], at: usize, n: usize| -> Result<u64, StoreError> {
            let b = rest.get(at..at + n).ok_or_else(|| damaged("truncated".into()))?;
            Ok(b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
        };
        let found_epoch = field(rest, 0, 8)?;
        let peers = field(rest, 8, 4)?;
        let len = field(rest, 12, 4)? as usize;
        if found_epoch != epoch {
            return Err(damaged(format!("holds epoch {found_epoch}, expected {epoch}")));
        }
        if peers != self.peers as u64 {
            return Err(damaged(format!(
                "written by a cluster of {peers} workers; this one has {}: restart with the same \
                 processes and threads",
                self.peers
            )));
        }
        let bytes = rest.get(16..).unwrap_or_default();
        if bytes.len() != len {
            return Err(damaged(format!("{} bytes where {len} were written", bytes.len())));
        }
        Ok(bytes.to_vec())
    }

    /// Writes part `part` of `epoch`.
    pub(crate) fn put(&self, epoch: u64, part: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let key = Self::key(epoch, part);
        self.store
            .put(&key, &self.encode(epoch, bytes))
            .map_err(|source| StoreError::Io { key, source })
    }

    /// Part `part` of `epoch`, `None` when it was never written.
    pub(crate) fn get(&self, epoch: u64, part: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = Self::key(epoch, part);
        match self.store.get(&key) {
            Ok(Some(raw)) => self.decode(&key, epoch, &raw).map(Some),
            Ok(None) => Ok(None),
            Err(source) => Err(StoreError::Io { key, source }),
        }
    }

    /// Records `epoch` as complete; with `prune`, then removes the epochs older than the newest
    /// few complete (one worker prunes, so no two race on the same files).
    pub(crate) fn complete(&self, epoch: u64, prune: bool) -> Result<(), StoreError> {
        self.put(epoch, COMPLETE, &[])?;
        if !prune {
            return Ok(());
        }
        let complete = self.complete_epochs()?;
        if let Some(&keep_from) = complete.iter().rev().nth(RETAIN - 1) {
            for e in self.epochs()?.into_iter().filter(|e| *e < keep_from) {
                let dir = epoch_dir(e);
                self.store
                    .remove_all(&dir)
                    .map_err(|source| StoreError::Io { key: dir, source })?;
            }
        }
        Ok(())
    }

    fn epochs(&self) -> Result<Vec<u64>, StoreError> {
        let names = self.store.list("").map_err(|source| StoreError::Io {
            key: String::new(),
            source,
        })?;
        let mut ids: Vec<u64> = names
            .iter()
            .filter_map(|n| n.strip_prefix(EPOCH_PREFIX)?.parse().ok())
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    fn complete_epochs(&self) -> Result<Vec<u64>, StoreError> {
        let mut out = Vec::new();
        for e in self.epochs()? {
            if self.get(e, COMPLETE)?.is_some() {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// Removes worker `worker`'s parts from every epoch after `after` (every epoch if `None`):
    /// what a run that failed before completing them left. Called before the worker writes any
    /// part, so that a later epoch of this run never mixes them with its own.
    pub(crate) fn clear_after(&self, after: Option<u64>, worker: usize) -> Result<(), StoreError> {
        let suffix = format!("-{worker}");
        let io = |key: String| move |source| StoreError::Io { key, source };
        for e in self.epochs()? {
            if after.is_some_and(|a| e <= a) {
                continue;
            }
            let dir = epoch_dir(e);
            for name in self.store.list(&dir).map_err(io(dir.clone()))? {
                if name != COMPLETE && name.ends_with(&suffix) {
                    let key = format!("{dir}/{name}");
                    self.store.remove(&key).map_err(io(key.clone()))?;
                }
            }
        }
        Ok(())
    }

    /// The newest complete epoch. A damaged `COMPLETE`, or one of another cluster size, is an
    /// error rather than a silent fall back to an older epoch, which would replay what the newer
    /// one committed.
    pub(crate) fn latest_complete(&self) -> Result<Option<u64>, StoreError> {
        for e in self.epochs()?.into_iter().rev() {
            if self.get(e, COMPLETE)?.is_some() {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn epochs(dir: &Path, peers: usize) -> Epochs {
        Epochs::new(Arc::new(SharedDir::open(dir).unwrap()), peers)
    }

    #[test]
    fn the_newest_complete_epoch_is_the_restart_point_and_old_ones_go() {
        let dir = std::env::temp_dir().join(format!("kwire-epochs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let e = epochs(&dir, 2);
        assert_eq!(e.latest_complete().unwrap(), None);
        for epoch in 1..=5 {
            e.put(epoch, "source-0", b"offsets").unwrap();
            e.complete(epoch, true).unwrap();
        }
        // Epoch 6 has parts but never completed.
        e.put(6, "source-0", b"later").unwrap();
        assert_eq!(e.latest_complete().unwrap(), Some(5));
        assert_eq!(e.get(5, "source-0").unwrap().as_deref(), Some(&b"offsets"[..]));
        assert_eq!(e.get(5, "sink-1").unwrap(), None);
        assert_eq!(e.epochs().unwrap(), vec![3, 4, 5, 6]);
        // A restart from 5 clears what worker 0 left after it, and only that.
        e.put(6, "source-1", b"other worker").unwrap();
        e.put(6, "source-10", b"worker ten").unwrap();
        e.clear_after(Some(5), 0).unwrap();
        assert_eq!(e.get(6, "source-0").unwrap(), None);
        assert_eq!(e.get(5, "source-0").unwrap().as_deref(), Some(&b"offsets"[..]));
        assert!(e.get(6, "source-1").unwrap().is_some());
        assert!(e.get(6, "source-10").unwrap().is_some());
        // Another cluster size is refused, not read.
        let other = epochs(&dir, 3);
        assert!(matches!(other.latest_complete(), Err(StoreError::Damaged { .. })));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn any_damage_to_a_part_is_an_error() {
        let e = Epochs::new(Arc::new(SharedDir::open(std::env::temp_dir()).unwrap()), 4);
        let raw = e.encode(7, b"state");
        assert_eq!(e.decode("k", 7, &raw).unwrap(), b"state");
        assert!(e.decode("k", 8, &raw).is_err(), "another epoch");
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0x10;
            assert!(e.decode("k", 7, &bad).is_err(), "flip at {i}");
        }
        for cut in 0..raw.len() {
            assert!(e.decode("k", 7, &raw[..cut]).is_err(), "cut at {cut}");
        }
    }
}
