//! The Java peer: Apache Kafka's own Java client (kafka-clients, the reference client) as a small
//! program, `KwirePeer`, that the interop tests drive to produce, consume and partition the way
//! the Java client does, so what kwire writes and reads can be checked against it.
//!
//! [`JavaPeer::get`] resolves the peer's pom (`testkit/java-peer/pom.xml`: kafka-clients at
//! [`KAFKA_VERSION`] and a silent slf4j provider) through Maven into the cache, then compiles
//! `testkit/java-peer/KwirePeer.java` against it, once per source: the classes live in a
//! directory named by the source's hash, made under a lock file, so concurrent test processes
//! share one compile. Without `java`, `javac` or `mvn`, it fails with one line that says which is
//! missing.
//!
//! The peer speaks lines on stdin and stdout (byte strings in hex, `-` for null):
//! - `produce`: in, `partition<TAB>keyhex<TAB>valuehex<TAB>headers` per record (partition -1:
//!   the Java client's default partitioner chooses; headers `namehex=valuehex` separated by
//!   commas); out, `partition offset` per record in input order;
//! - `consume`: out, `partition<TAB>offset<TAB>keyhex<TAB>valuehex<TAB>headers` per record,
//!   sorted by partition and offset; exit status 2 when fewer records than expected came, 3 when
//!   more did;
//! - `partition`: out, the partition of each key given as an argument.
//!
//! [`JavaPeer::produce`], [`JavaPeer::consume`] and [`JavaPeer::partitions`] write and read those
//! lines; any failure of the peer comes back as an error with its stderr, never a panic.
//!
//! References: the Java client's `KafkaProducer`, `KafkaConsumer` (`assign`, `seekToBeginning`,
//! `isolation.level`) and `BuiltInPartitioner.partitionForKey`; KIP-82 (headers), KIP-98
//! (idempotence and transactions).

use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use bytes::Bytes;
use kwire_connector::client::IsolationLevel;
use kwire_protocol::records::{Compression, Header};

use crate::apache::{cache_dir, classpath, java, last_lines, maven_libs, require_tool, KAFKA_VERSION};
use crate::broker::BrokerError;

/// The peer's pom: kafka-clients (its version passed as `-Dkafka.version`) and slf4j-nop.
const POM: &str = include_str!("../java-peer/pom.xml");

/// The peer's source, compiled on first use.
const SOURCE: &str = include_str!("../java-peer/KwirePeer.java");

/// The class `java` runs.
const MAIN_CLASS: &str = "KwirePeer";

/// The Java client's peer, compiled and ready to run.
#[derive(Debug, Clone)]
pub struct JavaPeer {
    java: PathBuf,
    classes: PathBuf,
    libs: PathBuf,
}

/// A record for the peer to produce.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerRecord {
    /// The partition; `None`: the Java client's default partitioner chooses.
    pub partition: Option<i32>,
    /// The key; `None` is null.
    pub key: Option<Bytes>,
    /// The value; `None` is null.
    pub value: Option<Bytes>,
    /// The headers, in order.
    pub headers: Vec<Header>,
}

/// A record as it sits in a partition's log: what the peer read, or what a test expects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LoggedRecord {
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The key; `None` is null.
    pub key: Option<Bytes>,
    /// The value; `None` is null.
    pub value: Option<Bytes>,
    /// The headers, in order, as `(key, value)`.
    pub headers: Vec<(String, Option<Bytes>)>,
}

impl LoggedRecord {
    /// The headers as kwire's [`Header`]s.
    pub fn kwire_headers(&self) -> Vec<Header> {
        self.headers
            .iter()
            .map(|(key, value)| Header {
                key: key.clone(),
                value: value.clone(),
            })
            .collect()
    }
}

/// How the peer produces: the Java producer's settings (acks is always all).
#[derive(Debug, Clone, Default)]
pub struct ProduceOptions {
    /// `compression.type`.
    pub compression: Compression,
    /// `enable.idempotence` (off unless set here, or with a transactional id).
    pub idempotent: bool,
    /// Every record in one transaction of this `transactional.id`.
    pub transactional_id: Option<String>,
    /// Abort that transaction instead of committing it.
    pub abort: bool,
}

/// Where the Java producer wrote a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
}

impl JavaPeer {
    /// The peer, resolving its jars and compiling it on first use (under a lock, shared by every
    /// test process through the cache).
    pub fn get() -> Result<Self, BrokerError> {
        let java = java();
        require_tool(
            &java,
            "Java 17+ is needed to run the Java peer (set JAVA_HOME or PATH)",
        )?;
        let libs = maven_libs("java-peer", POM, KAFKA_VERSION)?;
        let root = cache_dir().join(format!("java-peer-{KAFKA_VERSION}"));
        let hash = fnv1a(SOURCE.as_bytes());
        let classes = root.join(format!("classes-{hash:016x}"));
        let done = root.join(format!("classes-{hash:016x}.done"));
        let peer = Self { java, classes, libs };
        if done.exists() {
            return Ok(peer);
        }
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            BrokerError::Start(format!("{what} ({}): {e}", root.display()))
        };
        std::fs::create_dir_all(&root).map_err(|e| fail("cannot create the cache", &e))?;
        let lock = File::create(root.join("compile.lock")).map_err(|e| fail("cannot create the lock", &e))?;
        lock.lock().map_err(|e| fail("cannot take the lock", &e))?;
        if done.exists() {
            return Ok(peer);
        }
        let javac = javac();
        require_tool(&javac, "a JDK 17+ (javac) is needed to compile the Java peer")?;
        let src_dir = root.join(format!("src-{hash:016x}"));
        std::fs::create_dir_all(&src_dir).map_err(|e| fail("cannot create the source dir", &e))?;
        let source = src_dir.join(format!("{MAIN_CLASS}.java"));
        std::fs::write(&source, SOURCE).map_err(|e| fail("cannot write the source", &e))?;
        let partial = root.join(format!("classes-{hash:016x}.partial"));
        let _ = std::fs::remove_dir_all(&partial);
        let _ = std::fs::remove_dir_all(&peer.classes);
        let out = Command::new(&javac)
            .args(["--release", "17", "-encoding", "UTF-8", "-d"])
            .arg(&partial)
            .arg("-cp")
            .arg(classpath(&peer.libs))
            .arg(&source)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| fail("cannot run javac", &e))?;
        if !out.status.success() {
            return Err(BrokerError::Start(format!(
                "javac could not compile the Java peer ({}): {}",
                out.status,
                last_lines(&output_text(&out), 15)
            )));
        }
        std::fs::rename(&partial, &peer.classes).map_err(|e| fail("cannot move the classes in place", &e))?;
        File::create(&done).map_err(|e| fail("cannot mark the peer compiled", &e))?;
        Ok(peer)
    }

    /// `java -cp classes:libs/* KwirePeer`, ready for a subcommand and its arguments.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.java);
        // A short-lived client: the quick JIT tier and a small heap start fastest.
        cmd.args(["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m", "-cp"])
            .arg(format!("{}:{}", self.classes.display(), classpath(&self.libs)))
            .arg(MAIN_CLASS);
        cmd
    }

    /// Produces `records` to `topic` with the Java producer and returns where each went, in
    /// order.
    pub fn produce(
        &self,
        bootstrap: &str,
        topic: &str,
        options: &ProduceOptions,
        records: &[PeerRecord],
    ) -> Result<Vec<Written>, String> {
        let mut cmd = self.command();
        cmd.args(["produce", "--bootstrap", bootstrap, "--topic", topic])
            .args(["--compression", options.compression.name()]);
        if options.idempotent {
            cmd.arg("--idempotent");
        }
        if let Some(id) = &options.transactional_id {
            cmd.args(["--transactional-id", id]);
        }
        if options.abort {
            cmd.arg("--abort");
        }
        let mut input = String::new();
        for r in records {
            let _ = writeln!(
                input,
                "{}\t{}\t{}\t{}",
                r.partition.unwrap_or(-1),
                nullable_hex(r.key.as_deref()),
                nullable_hex(r.value.as_deref()),
                encode_headers(r.headers.iter().map(|h| (h.key.as_str(), h.value.as_deref())))
            );
        }
        let out = run(cmd, &input, "produce")?;
        let text = stdout_text(&out, "produce")?;
        let written = text
            .lines()
            .enumerate()
            .map(|(n, line)| parse_written(line).ok_or_else(|| format!("produce: line {}: {line:?}", n + 1)))
            .collect::<Result<Vec<_>, _>>()?;
        if written.len() != records.len() {
            return Err(format!(
                "produce: the peer reported {} records for {} sent:\n{}",
                written.len(),
                records.len(),
                last_lines(&text, 10)
            ));
        }
        Ok(written)
    }

    /// Reads partitions `0..partitions` of `topic` from the beginning with the Java consumer
    /// (`assign`, no group) until `expected` records came or `timeout` passed, then one second
    /// more; the records in partition and offset order. Fewer or more than `expected` is an error
    /// that lists what came.
    pub fn consume(
        &self,
        bootstrap: &str,
        topic: &str,
        partitions: i32,
        isolation: IsolationLevel,
        expected: usize,
        timeout: Duration,
    ) -> Result<Vec<LoggedRecord>, String> {
        let isolation = match isolation {
            IsolationLevel::ReadCommitted => "read_committed",
            IsolationLevel::ReadUncommitted => "read_uncommitted",
        };
        let mut cmd = self.command();
        cmd.args(["consume", "--bootstrap", bootstrap, "--topic", topic])
            .args(["--partitions", &partitions.to_string()])
            .args(["--isolation", isolation])
            .args(["--expected", &expected.to_string()])
            .args(["--timeout-ms", &timeout.as_millis().to_string()]);
        let out = cmd_output(cmd, "", "consume")?;
        let text = String::from_utf8(out.stdout.clone())
            .map_err(|_| format!("consume: output not UTF-8\n{}", stderr_text(&out)))?;
        let records = text
            .lines()
            .enumerate()
            .map(|(n, line)| parse_logged(line).ok_or_else(|| format!("consume: line {}: {line:?}", n + 1)))
            .collect::<Result<Vec<_>, _>>()?;
        match out.status.code() {
            Some(0) if records.len() == expected => Ok(records),
            Some(0 | 2 | 3) => Err(format!(
                "consume ({isolation}): the Java consumer read {} records, expected {expected} ({}); \
                 {}\nit read:\n{}",
                records.len(),
                out.status,
                stderr_text(&out),
                last_lines(&text, 20)
            )),
            _ => Err(failure("consume", &out)),
        }
    }

    /// The partition the Java client's default partitioner gives each key, out of `partitions`.
    pub fn partitions(&self, partitions: i32, keys: &[&[u8]]) -> Result<Vec<i32>, String> {
        let mut cmd = self.command();
        cmd.args(["partition", "--partitions", &partitions.to_string()])
            .args(keys.iter().map(|k| hex(k)));
        let out = run(cmd, "", "partition")?;
        let text = stdout_text(&out, "partition")?;
        let got = text
            .lines()
            .map(|l| {
                l.trim()
                    .parse::<i32>()
                    .map_err(|_| format!("partition: not a partition: {l:?}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if got.len() != keys.len() {
            return Err(format!(
                "partition: {} answers for {} keys",
                got.len(),
                keys.len()
            ));
        }
        Ok(got)
    }
}

/// The `javac` next to [`java`]: `$JAVA_HOME/bin/javac` when set, else `javac` on the PATH.
fn javac() -> PathBuf {
    match std::env::var_os("JAVA_HOME").filter(|v| !v.is_empty()) {
        Some(home) => Path::new(&home).join("bin").join("javac"),
        None => PathBuf::from("javac"),
    }
}

/// FNV-1a, 64 bits: a hash of the source that stays the same across Rust releases.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Runs `cmd` with `input` on its stdin and waits for it.
fn cmd_output(mut cmd: Command, input: &str, what: &str) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: cannot start the Java peer: {e}"))?;
    let stdin = child.stdin.take();
    let input = input.to_owned();
    // The peer reads all of stdin before it writes: feed it from a thread all the same, so a
    // full pipe can never wedge both sides.
    let writer = std::thread::spawn(move || {
        if let Some(mut stdin) = stdin {
            stdin.write_all(input.as_bytes())
        } else {
            Ok(())
        }
    });
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{what}: waiting for the Java peer: {e}"))?;
    match writer.join() {
        Ok(Ok(())) => Ok(out),
        // The peer closed its stdin early: its own error says why.
        Ok(Err(_)) if !out.status.success() => Ok(out),
        Ok(Err(e)) => Err(format!("{what}: cannot write to the Java peer: {e}")),
        Err(_) => Err(format!("{what}: the stdin writer panicked")),
    }
}

/// Runs `cmd` and fails unless it succeeds.
fn run(cmd: Command, input: &str, what: &str) -> Result<Output, String> {
    let out = cmd_output(cmd, input, what)?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(failure(what, &out))
    }
}

fn failure(what: &str, out: &Output) -> String {
    format!(
        "{what}: the Java peer failed ({}): {}",
        out.status,
        last_lines(&output_text(out), 30)
    )
}

fn stdout_text(out: &Output, what: &str) -> Result<String, String> {
    String::from_utf8(out.stdout.clone()).map_err(|_| format!("{what}: output not UTF-8"))
}

fn stderr_text(out: &Output) -> String {
    last_lines(&String::from_utf8_lossy(&out.stderr), 30)
}

fn output_text(out: &Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn nullable_hex(bytes: Option<&[u8]>) -> String {
    bytes.map_or_else(|| "-".to_owned(), hex)
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| {
            let digit = |c: u8| char::from(c).to_digit(16);
            Some(((digit(pair[0])? << 4) | digit(pair[1])?) as u8)
        })
        .collect()
}

fn nullable_unhex(text: &str) -> Option<Option<Bytes>> {
    if text == "-" {
        Some(None)
    } else {
        unhex(text).map(|b| Some(Bytes::from(b)))
    }
}

fn encode_headers<'a>(headers: impl Iterator<Item = (&'a str, Option<&'a [u8]>)>) -> String {
    headers
        .map(|(key, value)| format!("{}={}", hex(key.as_bytes()), nullable_hex(value)))
        .collect::<Vec<_>>()
        .join(",")
}

fn decode_headers(text: &str) -> Option<Vec<(String, Option<Bytes>)>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(',')
        .map(|h| {
            let (key, value) = h.split_once('=')?;
            let key = String::from_utf8(unhex(key)?).ok()?;
            Some((key, nullable_unhex(value)?))
        })
        .collect()
}

/// `partition offset`.
fn parse_written(line: &str) -> Option<Written> {
    let (partition, offset) = line.trim().split_once(' ')?;
    Some(Written {
        partition: partition.parse().ok()?,
        offset: offset.parse().ok()?,
    })
}

/// `partition<TAB>offset<TAB>keyhex<TAB>valuehex<TAB>headers`.
fn parse_logged(line: &str) -> Option<LoggedRecord> {
    let mut fields = line.split('\t');
    let record = LoggedRecord {
        partition: fields.next()?.parse().ok()?,
        offset: fields.next()?.parse().ok()?,
        key: nullable_unhex(fields.next()?)?,
        value: nullable_unhex(fields.next()?)?,
        headers: decode_headers(fields.next()?)?,
    };
    fields.next().is_none().then_some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_lines_roundtrip_nulls_empties_and_headers() {
        let line = "3\t17\t-\t\t6b=0001,=-,68=";
        let r = parse_logged(line).unwrap();
        assert_eq!(r.partition, 3);
        assert_eq!(r.offset, 17);
        assert_eq!(r.key, None);
        assert_eq!(r.value, Some(Bytes::new()));
        assert_eq!(
            r.headers,
            vec![
                ("k".to_owned(), Some(Bytes::from_static(&[0, 1]))),
                (String::new(), None),
                ("h".to_owned(), Some(Bytes::new())),
            ]
        );
        let again = encode_headers(r.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref())));
        assert_eq!(again, "6b=0001,=-,68=");
    }

    #[test]
    fn malformed_peer_lines_are_rejected_not_panicked_on() {
        for bad in [
            "",
            "1\t2\t-\t-",
            "1\t2\t-\t-\t\textra",
            "x\t2\t-\t-\t",
            "1\t2\tabc\t-\t",
            "1\t2\tzz\t-\t",
            "1\t2\t-\t-\tnoequals",
            "1\t2\t-\t-\tff=00",
            "1\t2\té1\t-\t",
        ] {
            assert_eq!(parse_logged(bad), None, "{bad:?}");
        }
        assert_eq!(parse_written("1"), None);
        assert_eq!(
            parse_written("1 42"),
            Some(Written {
                partition: 1,
                offset: 42
            })
        );
    }

    #[test]
    fn hex_roundtrips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&all)), Some(all));
    }
}
