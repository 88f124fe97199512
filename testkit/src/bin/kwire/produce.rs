//! `kwire produce`: one record per line of stdin, like Kafka's console producer.

use std::collections::VecDeque;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use clap::builder::NonEmptyStringValueParser;
use kwire_connector::client::{Acks, DeliveryFuture, Error, ProducerRecord, RecordMetadata};
use kwire_protocol::records::Compression;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::oneshot::error::TryRecvError;

use crate::common::{connect, ctrl_c, describe, report_line, topic_error};

/// Options of `kwire produce`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The topic to write to.
    topic: String,
    /// Splits each line at the first SEP into key and value; a line without SEP is an error.
    #[arg(long, value_name = "SEP", value_parser = NonEmptyStringValueParser::new())]
    key_separator: Option<String>,
    /// Writes every record to this partition (default: by key hash, round-robin without keys).
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..))]
    partition: Option<i32>,
    /// Who must have a record before it counts as written [default: all, or `acks` of --config].
    #[arg(long, value_enum)]
    acks: Option<AcksArg>,
    /// How record batches are compressed [default: none, or `compression.type` of --config].
    #[arg(long, value_enum)]
    compression: Option<CompressionArg>,
}

/// `--acks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum AcksArg {
    /// No acknowledgement (fire and forget).
    #[value(name = "0")]
    None,
    /// The leader alone.
    #[value(name = "1")]
    Leader,
    /// Every in-sync replica (idempotent).
    #[value(name = "all", alias = "-1")]
    All,
}

impl From<AcksArg> for Acks {
    fn from(a: AcksArg) -> Self {
        match a {
            AcksArg::None => Self::None,
            AcksArg::Leader => Self::Leader,
            AcksArg::All => Self::All,
        }
    }
}

/// `--compression`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum CompressionArg {
    /// Uncompressed.
    None,
    /// gzip.
    Gzip,
    /// Snappy.
    Snappy,
    /// LZ4.
    Lz4,
    /// Zstandard.
    Zstd,
}

impl From<CompressionArg> for Compression {
    fn from(c: CompressionArg) -> Self {
        match c {
            CompressionArg::None => Self::None,
            CompressionArg::Gzip => Self::Gzip,
            CompressionArg::Snappy => Self::Snappy,
            CompressionArg::Lz4 => Self::Lz4,
            CompressionArg::Zstd => Self::Zstd,
        }
    }
}

/// How many records may wait for their acknowledgement before reading stdin pauses.
const MAX_PENDING: usize = 100_000;
/// How many failed records are reported one by one; the rest are only counted.
const MAX_REPORTED: u64 = 100;

/// Failed records: reported one line each (up to [`MAX_REPORTED`]) and counted.
#[derive(Debug, Default)]
struct Failures {
    count: u64,
}

impl Failures {
    fn record(&mut self, line: u64, error: &str) {
        self.count += 1;
        if self.count <= MAX_REPORTED {
            report_line(&format!("line {line}: {error}"));
        } else if self.count == MAX_REPORTED + 1 {
            report_line("more records failed; only the first are reported");
        }
    }

    /// Settles the record of `line`: its delivery result, `None` if the producer dropped it.
    fn settle(&mut self, line: u64, result: Option<Result<RecordMetadata, Error>>) {
        match result {
            Some(Ok(_)) => {}
            Some(Err(e)) => self.record(line, &describe(&e)),
            None => self.record(line, "the producer stopped before the record was acknowledged"),
        }
    }
}

/// Reads stdin to its end (or Ctrl-C), sends a record per line, flushes, and reports each failed
/// record with its line number.
pub(crate) async fn run(args: Args, bootstrap: &str) -> anyhow::Result<ExitCode> {
    let client = connect(bootstrap).await?;
    let topic = client
        .topic(&args.topic)
        .await
        .map_err(|e| topic_error(&args.topic, &e))?;
    if let Some(p) = args.partition {
        let n = topic.partitions.len();
        if usize::try_from(p).map_or(true, |p| p >= n) {
            anyhow::bail!(
                "topic `{}` has {n} partitions (0 to {}), there is no partition {p}",
                args.topic,
                n.saturating_sub(1)
            );
        }
    }
    // The producer settings of --config and -X, then the flags, which win.
    let mut builder = client
        .producer()
        .delivery_timeout(Duration::from_secs(30))
        .properties(crate::common::settings())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(acks) = args.acks {
        builder = builder.acks(acks.into());
    }
    if let Some(compression) = args.compression {
        builder = builder.compression(compression.into());
    }
    let producer = builder
        .build()
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the producer: {}", describe(&e)))?;

    let mut stdin = BufReader::new(tokio::io::stdin());
    let mut pending: VecDeque<(u64, DeliveryFuture)> = VecDeque::new();
    let mut failures = Failures::default();
    let mut line_no = 0u64;
    let interrupted = ctrl_c();
    tokio::pin!(interrupted);
    loop {
        let mut buf = Vec::new();
        let read = tokio::select! {
            r = stdin.read_until(b'\n', &mut buf) => r.context("cannot read stdin")?,
            () = &mut interrupted => break,
        };
        if read == 0 {
            break;
        }
        line_no += 1;
        let line = strip_newline(&buf);
        let (key, value) = match split_key(line, args.key_separator.as_deref()) {
            Ok(kv) => kv,
            Err(e) => {
                failures.record(line_no, &e);
                continue;
            }
        };
        let record = ProducerRecord {
            topic: args.topic.clone(),
            partition: args.partition,
            key: key.map(Bytes::copy_from_slice),
            value: Some(Bytes::copy_from_slice(value)),
            ..ProducerRecord::default()
        };
        match producer.send(record).await {
            Ok(delivery) => pending.push_back((line_no, delivery)),
            Err(e) => failures.record(line_no, &describe(&e)),
        }
        // Settle what is done without waiting; wait only when too much is outstanding.
        loop {
            let full = pending.len() >= MAX_PENDING;
            let Some((line, delivery)) = pending.front_mut() else {
                break;
            };
            let result = match delivery.try_recv() {
                Ok(r) => Some(r),
                Err(TryRecvError::Closed) => None,
                Err(TryRecvError::Empty) if !full => break,
                Err(TryRecvError::Empty) => delivery.await.ok(),
            };
            let line = *line;
            pending.pop_front();
            failures.settle(line, result);
        }
    }

    // Flush at EOF (or Ctrl-C); a second Ctrl-C gives up on what is still unacknowledged.
    let settle_all = async {
        let flushed = producer.flush().await;
        for (line, delivery) in pending.drain(..) {
            failures.settle(line, delivery.await.ok());
        }
        flushed
    };
    let flushed = tokio::select! {
        r = settle_all => r,
        () = ctrl_c() => anyhow::bail!("interrupted before every record was acknowledged"),
    };
    let _ = producer.close().await;
    if let Err(e) = flushed {
        anyhow::bail!("the producer failed: {}", describe(&e));
    }
    if failures.count > 0 {
        anyhow::bail!("{} of {line_no} records failed", failures.count);
    }
    Ok(ExitCode::SUCCESS)
}

/// The line without its `\n` or `\r\n`.
fn strip_newline(buf: &[u8]) -> &[u8] {
    let line = buf.strip_suffix(b"\n").unwrap_or(buf);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Key and value of `line`: split at the first `separator`, or no key without one.
fn split_key<'a>(line: &'a [u8], separator: Option<&str>) -> Result<(Option<&'a [u8]>, &'a [u8]), String> {
    let Some(sep) = separator.map(str::as_bytes).filter(|s| !s.is_empty()) else {
        return Ok((None, line));
    };
    match line.windows(sep.len()).position(|w| w == sep) {
        Some(at) => Ok((Some(&line[..at]), &line[at + sep.len()..])),
        None => Err(format!(
            "no key separator `{}` in the line",
            String::from_utf8_lossy(sep)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_key_splits_at_the_first_separator_only() {
        assert_eq!(split_key(b"k:v:w", Some(":")), Ok((Some(&b"k"[..]), &b"v:w"[..])));
        assert_eq!(split_key(b":v", Some(":")), Ok((Some(&b""[..]), &b"v"[..])));
        assert_eq!(split_key(b"k=>v", Some("=>")), Ok((Some(&b"k"[..]), &b"v"[..])));
        assert!(split_key(b"novalue", Some(":")).is_err());
        assert_eq!(split_key(b"a:b", None), Ok((None, &b"a:b"[..])));
    }

    #[test]
    fn newlines_and_crlf_are_stripped() {
        assert_eq!(strip_newline(b"abc\r\n"), b"abc");
        assert_eq!(strip_newline(b"abc\n"), b"abc");
        assert_eq!(strip_newline(b"abc"), b"abc");
        assert_eq!(strip_newline(b"\n"), b"");
    }
}
