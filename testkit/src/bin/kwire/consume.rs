//! `kwire consume`: prints a topic's records, like Kafka's console consumer, read by N source
//! instances with the connector's (Flink's) partition assignment.
//!
//! Each instance is a task that fetches its partitions from their leaders and hands the records to
//! the printer in offset order.
//!
//! With `--group G` the command joins consumer group G (KIP-848's protocol where the broker has it,
//! else the classic one; `--group-protocol` chooses): the group's members,
//! several `kwire consume --group G` or any other Kafka consumer, split the partitions, which move
//! as members come and go; what is printed is committed every 5 s, before a partition goes, and at
//! exit. With `--group G --assign` it reads every partition without joining, as Flink's source
//! does, and commits what it printed under G the same way.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use kwire_connector::client::{
    Assignor, Client, Consumer, ConsumerBuilder, Error, GroupEvent, GroupProtocol, IsolationLevel,
    OffsetReset, OutOfRangePolicy, StartOffset,
};
use kwire_connector::core::assign::owner;
use kwire_protocol::records::ConsumerRecord;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::common::{connect, ctrl_c, describe, topic_error, warn, write_stdout};

/// Options of `kwire consume`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The topic to read.
    topic: String,
    /// Where each partition starts: earliest, latest, or a time in ms since the epoch (the first
    /// record at or after it). Default: the offsets committed under --group, else latest.
    #[arg(long, value_name = "earliest|latest|UNIX_MS", value_parser = StartAt::parse)]
    from: Option<StartAt>,
    /// Exits after printing N records (default: follows the topic until Ctrl-C).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_records: Option<u64>,
    /// Prints each record by this template instead of its value: {key} {value} {partition}
    /// {offset} {timestamp}; `\t` and `\n` are a tab and a newline, `{{` and `}}` braces.
    #[arg(long, value_name = "TEMPLATE", value_parser = Template::parse)]
    format: Option<Template>,
    /// Reads with N source instances, each reading the partitions the connector's assignment
    /// (the same as Flink's, see `kwire assign`) gives it.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    parallelism: u32,
    /// Joins this consumer group: its members split the partitions. What is printed is committed
    /// every 5 s, when a partition goes to another member, and at exit; a partition starts from
    /// the group's committed offset, else as --from says.
    #[arg(long, value_name = "GROUP")]
    group: Option<String>,
    /// With --group: read every partition (as --parallelism assigns them) without joining the
    /// group, committing the printed offsets under it (starting from them when --from is not
    /// given).
    #[arg(long, requires = "group")]
    assign: bool,
    /// With --group: the group protocol, `consumer` (KIP-848) or `classic` [default: consumer
    /// where the broker offers it, else classic].
    #[arg(long, value_enum, requires = "group", value_name = "PROTOCOL")]
    group_protocol: Option<GroupProtocolArg>,
    /// With --group-protocol classic: the assignors offered, in order of preference (range,
    /// roundrobin, cooperative-sticky) [default: cooperative-sticky].
    #[arg(
        long,
        value_enum,
        requires = "group",
        value_delimiter = ',',
        value_name = "ASSIGNOR"
    )]
    assignor: Vec<AssignorArg>,
    /// Whether records of open or aborted transactions are printed [default: uncommitted, or
    /// `isolation.level` of --config].
    #[arg(long, value_enum)]
    isolation: Option<Isolation>,
}

/// `--group-protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum GroupProtocolArg {
    Consumer,
    Classic,
}

/// `--assignor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AssignorArg {
    Range,
    Roundrobin,
    CooperativeSticky,
}

/// `--from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartAt {
    /// The log start.
    Earliest,
    /// The end: only records written from now on.
    Latest,
    /// The first record at or after this time (ms since the epoch).
    Timestamp(i64),
}

impl StartAt {
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "earliest" => Ok(Self::Earliest),
            "latest" => Ok(Self::Latest),
            _ => match s.parse::<i64>() {
                Ok(ms) if ms >= 0 => Ok(Self::Timestamp(ms)),
                _ => Err("expected earliest, latest or a time in ms since the epoch".into()),
            },
        }
    }
}

/// `--isolation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Isolation {
    /// Only records of committed transactions (read_committed).
    Committed,
    /// Every record (read_uncommitted).
    Uncommitted,
}

impl From<Isolation> for IsolationLevel {
    fn from(i: Isolation) -> Self {
        match i {
            Isolation::Committed => Self::ReadCommitted,
            Isolation::Uncommitted => Self::ReadUncommitted,
        }
    }
}

/// One part of a `--format` template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(Vec<u8>),
    Key,
    Value,
    Partition,
    Offset,
    Timestamp,
}

/// A parsed `--format` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template(Vec<Part>);

impl Template {
    fn parse(s: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut text = Vec::new();
        let mut chars = s.chars().peekable();
        let mut utf8 = [0u8; 4];
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push(b'{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push(b'}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(format!("`{{{name}` is not closed with `}}`")),
                        }
                    }
                    let part = match name.as_str() {
                        "key" => Part::Key,
                        "value" => Part::Value,
                        "partition" => Part::Partition,
                        "offset" => Part::Offset,
                        "timestamp" => Part::Timestamp,
                        _ => {
                            return Err(format!(
                                "unknown field {{{name}}} (known: {{key}} {{value}} {{partition}} {{offset}} {{timestamp}})"
                            ))
                        }
                    };
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(part);
                }
                '}' => return Err("a lone `}` (write `}}` for a brace)".into()),
                '\\' => match chars.next() {
                    Some('t') => text.push(b'\t'),
                    Some('n') => text.push(b'\n'),
                    Some('\\') => text.push(b'\\'),
                    Some(other) => {
                        text.push(b'\\');
                        text.extend_from_slice(other.encode_utf8(&mut utf8).as_bytes());
                    }
                    None => text.push(b'\\'),
                },
                c => text.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes()),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Self(parts))
    }

    /// Appends `record` of `partition` and a newline to `out`.
    fn render(&self, partition: i32, record: &ConsumerRecord, out: &mut Vec<u8>) {
        fn bytes_or_null(b: Option<&bytes::Bytes>, out: &mut Vec<u8>) {
            out.extend_from_slice(b.map_or(&b"null"[..], |b| &b[..]));
        }
        for part in &self.0 {
            match part {
                Part::Text(t) => out.extend_from_slice(t),
                Part::Key => bytes_or_null(record.key.as_ref(), out),
                Part::Value => bytes_or_null(record.value.as_ref(), out),
                Part::Partition => out.extend_from_slice(partition.to_string().as_bytes()),
                Part::Offset => out.extend_from_slice(record.offset.to_string().as_bytes()),
                Part::Timestamp => out.extend_from_slice(record.timestamp.to_string().as_bytes()),
            }
        }
        out.push(b'\n');
    }
}

/// How long a fetch may wait for data: short, so records show at once (tansu holds a fetch for
/// about half of it even when data is there).
const MAX_WAIT: Duration = Duration::from_millis(100);
/// How often offsets are committed under `--group`.
const COMMIT_INTERVAL: Duration = Duration::from_secs(5);
/// How long the commit at exit may take.
const FINAL_COMMIT_LIMIT: Duration = Duration::from_secs(10);

/// Prints records until `--max-records`, Ctrl-C, or a failure.
pub(crate) async fn run(args: Args, bootstrap: &str) -> anyhow::Result<ExitCode> {
    let client = connect(bootstrap).await?;
    let topic = client
        .topic(&args.topic)
        .await
        .map_err(|e| topic_error(&args.topic, &e))?;
    let partitions: Vec<i32> = topic.partitions.iter().map(|p| p.id).collect();
    // The consumer settings of --config and -X, then the flags, which win.
    let mut consumer = Consumer::builder(client.clone())
        .max_wait(MAX_WAIT)
        .properties(crate::common::settings())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(isolation) = args.isolation {
        consumer = consumer.isolation(isolation.into());
    }
    if let (Some(group), false) = (&args.group, args.assign) {
        if args.parallelism != 1 {
            anyhow::bail!("--parallelism reads without a group: add --assign, or run several `kwire consume --group {group}`");
        }
        return run_in_group(&args, group, consumer).await;
    }
    let starts = start_offsets(&client, &args, &partitions, &consumer).await?;
    let mut printer = Printer::new(&args);

    let (tx, mut rx) = mpsc::channel::<(i32, Vec<ConsumerRecord>)>(64);
    let mut readers = JoinSet::new();
    let parallelism = usize::try_from(args.parallelism)?;
    for instance in 0..parallelism {
        let positions: Vec<Position> = starts
            .iter()
            .filter(|(p, _)| owner(&args.topic, **p, parallelism) == Some(instance))
            .map(|(p, o)| Position {
                partition: *p,
                offset: *o,
                not_before: match args.from {
                    Some(StartAt::Timestamp(ms)) => Some(ms),
                    _ => None,
                },
            })
            .collect();
        if positions.is_empty() {
            continue; // More instances than partitions: this one idles, as in Flink.
        }
        let reader = Reader {
            consumer: consumer.clone(),
            topic: args.topic.clone(),
            positions,
            tx: tx.clone(),
        };
        readers.spawn(reader.read());
    }
    drop(tx);

    // Offsets printed (next to read) and committed, by partition.
    let mut printed: BTreeMap<i32, i64> = BTreeMap::new();
    let mut committed: BTreeMap<i32, i64> = BTreeMap::new();
    let mut commit_tick = tokio::time::interval(COMMIT_INTERVAL);
    commit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    commit_tick.tick().await;
    let interrupted = ctrl_c();
    tokio::pin!(interrupted);
    let outcome: anyhow::Result<()> = loop {
        tokio::select! {
            () = &mut interrupted => break Ok(()),
            Some(joined) = readers.join_next() => match joined {
                Ok(Ok(())) => {}
                Ok(Err(e)) => break Err(e),
                Err(e) => break Err(anyhow::anyhow!("a reader stopped: {e}")),
            },
            msg = rx.recv() => {
                let Some((partition, records)) = msg else {
                    // Every reader has ended and dropped its sender: the outcome is theirs (a
                    // reader's error must not lose the race with the channel closing).
                    break ended(&mut readers).await;
                };
                let go_on = printer.print(partition, records.iter(), |offset| {
                    printed.insert(partition, offset + 1);
                });
                match go_on {
                    Ok(true) => {}
                    Ok(false) => break Ok(()),
                    Err(e) => break Err(e),
                }
            }
            _ = commit_tick.tick(), if args.group.is_some() => {
                if let Some(group) = &args.group {
                    if let Err(e) = commit(&client, group, &args.topic, &printed, &mut committed).await {
                        warn(&format!("commit under group `{group}` failed, will retry: {e:#}"));
                    }
                }
            }
        }
    };
    readers.abort_all();
    if let Some(group) = &args.group {
        // Bounded, so that Ctrl-C with an unreachable broker does not hang.
        let res = tokio::time::timeout(
            FINAL_COMMIT_LIMIT,
            commit(&client, group, &args.topic, &printed, &mut committed),
        )
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {FINAL_COMMIT_LIMIT:?}")));
        if let (Err(e), Ok(())) = (res, &outcome) {
            return Err(e.context(format!("cannot commit offsets under group `{group}`")));
        }
    }
    outcome?;
    Ok(ExitCode::SUCCESS)
}

/// `--group` without `--assign`: a member of the group until `--max-records`, Ctrl-C or a failure;
/// then commits and leaves.
async fn run_in_group(args: &Args, group: &str, consumer: ConsumerBuilder) -> anyhow::Result<ExitCode> {
    let start = match args.from.unwrap_or(StartAt::Latest) {
        StartAt::Earliest => StartOffset::Earliest,
        StartAt::Latest => StartOffset::Latest,
        StartAt::Timestamp(ms) => StartOffset::Timestamp(ms),
    };
    let mut builder = consumer
        .out_of_range(OutOfRangePolicy::always(OffsetReset::Earliest))
        .group(group)
        .start_without_commit(start);
    match args.group_protocol {
        Some(GroupProtocolArg::Consumer) => builder = builder.protocol(GroupProtocol::Consumer),
        Some(GroupProtocolArg::Classic) => builder = builder.protocol(GroupProtocol::Classic),
        None => {}
    }
    if !args.assignor.is_empty() {
        let assignors: Vec<Assignor> = args
            .assignor
            .iter()
            .map(|a| match a {
                AssignorArg::Range => Assignor::Range,
                AssignorArg::Roundrobin => Assignor::RoundRobin,
                AssignorArg::CooperativeSticky => Assignor::CooperativeSticky,
            })
            .collect();
        builder = builder.assignors(&assignors);
    }
    let mut member = builder
        .subscribe(&[args.topic.as_str()])
        .await
        .map_err(|e| anyhow::anyhow!("cannot join group `{group}`: {}", describe(&e)))?;
    let mut printer = Printer::new(args);
    let names = |ps: &[(String, i32)]| {
        ps.iter()
            .map(|(t, p)| format!("{t}/{p}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let interrupted = ctrl_c();
    tokio::pin!(interrupted);
    let outcome: anyhow::Result<()> = loop {
        let event = tokio::select! {
            () = &mut interrupted => break Ok(()),
            event = member.next() => event,
        };
        let event = match event {
            Some(Ok(e)) => e,
            Some(Err(e)) => break Err(anyhow::anyhow!("group `{group}`: {}", describe(&e))),
            None => break Ok(()),
        };
        match event {
            GroupEvent::Records(batch) => {
                let not_before = match args.from {
                    Some(StartAt::Timestamp(ms)) => ms,
                    _ => i64::MIN,
                };
                let records = batch.records.iter().filter(|r| r.timestamp >= not_before);
                match printer.print(batch.partition, records, |_| {}) {
                    Ok(true) => {}
                    Ok(false) => break Ok(()),
                    Err(e) => break Err(e),
                }
            }
            GroupEvent::Assigned(ps) => note(&format!("group `{group}`: assigned {}", names(&ps))),
            GroupEvent::Revoked(ps) => note(&format!("group `{group}`: revoked {}", names(&ps))),
            GroupEvent::Lost(ps) => warn(&format!("group `{group}`: lost {}", names(&ps))),
            _ => {}
        }
    };
    // Commits what was handed out and leaves; bounded, so that Ctrl-C with an unreachable broker
    // does not hang.
    let closed = tokio::time::timeout(FINAL_COMMIT_LIMIT, member.close())
        .await
        .unwrap_or_else(|_| {
            Err(Error::Client(kwire_connector::client::ClientError::Timeout {
                what: "commit and leave".into(),
                after: FINAL_COMMIT_LIMIT,
            }))
        });
    outcome?;
    closed.map_err(|e| anyhow::anyhow!("cannot commit offsets under group `{group}`: {}", describe(&e)))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes records to stdout by the `--format` template, up to `--max-records`.
struct Printer {
    template: Template,
    max: Option<u64>,
    count: u64,
}

impl Printer {
    fn new(args: &Args) -> Self {
        Self {
            template: args.format.clone().unwrap_or_else(|| Template(vec![Part::Value])),
            max: args.max_records,
            count: 0,
        }
    }

    /// Prints `records` of `partition`, calling `printed` with each one's offset; false once
    /// `--max-records` were printed or stdout is closed.
    fn print<'a>(
        &mut self,
        partition: i32,
        records: impl Iterator<Item = &'a ConsumerRecord>,
        mut printed: impl FnMut(i64),
    ) -> anyhow::Result<bool> {
        let mut out = Vec::new();
        let mut done = false;
        for record in records {
            self.template.render(partition, record, &mut out);
            printed(record.offset);
            self.count += 1;
            if self.max == Some(self.count) {
                done = true;
                break;
            }
        }
        Ok(write_stdout(&out)? && !done)
    }
}

/// A line on stderr about what the command does (not data).
fn note(message: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "kwire: {message}");
}

/// Waits for the readers still in `readers`; the first failure among them, if any.
async fn ended(readers: &mut JoinSet<anyhow::Result<()>>) -> anyhow::Result<()> {
    let mut outcome = Ok(());
    while let Some(joined) = readers.join_next().await {
        let res = match joined {
            Ok(res) => res,
            Err(e) => Err(anyhow::anyhow!("a reader stopped: {e}")),
        };
        if outcome.is_ok() {
            outcome = res;
        }
    }
    outcome
}

/// Where each partition starts: `--from`, else the group's committed offset, else the end.
async fn start_offsets(
    client: &Client,
    args: &Args,
    partitions: &[i32],
    consumer: &ConsumerBuilder,
) -> anyhow::Result<BTreeMap<i32, i64>> {
    let topic = args.topic.as_str();
    let fail = |e: Error| topic_error(topic, &e);
    let mut committed = BTreeMap::new();
    if let (Some(group), None) = (&args.group, args.from) {
        let offsets = client
            .committed_offsets(group, topic, partitions)
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the offsets of group `{group}`: {}", describe(&e)))?;
        committed.extend(offsets.into_iter().filter(|(_, o)| *o >= 0));
    }
    let resolver = consumer.clone().build();
    let start = match args.from.unwrap_or(StartAt::Latest) {
        StartAt::Earliest => StartOffset::Earliest,
        StartAt::Latest => StartOffset::Latest,
        StartAt::Timestamp(ms) => StartOffset::Timestamp(ms),
    };
    let mut starts = BTreeMap::new();
    for &p in partitions {
        let offset = match committed.get(&p) {
            Some(o) => *o,
            None => resolver.resolve(topic, p, &start).await.map_err(fail)?.max(0),
        };
        starts.insert(p, offset);
    }
    Ok(starts)
}

/// Commits the printed offsets that changed since the last commit.
async fn commit(
    client: &Client,
    group: &str,
    topic: &str,
    printed: &BTreeMap<i32, i64>,
    committed: &mut BTreeMap<i32, i64>,
) -> anyhow::Result<()> {
    let changed: Vec<(String, i32, i64)> = printed
        .iter()
        .filter(|(p, o)| committed.get(p) != Some(o))
        .map(|(p, o)| (topic.to_owned(), *p, *o))
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    client
        .commit_offsets(group, &changed, "")
        .await
        .map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
    committed.extend(changed.into_iter().map(|(_, p, o)| (p, o)));
    Ok(())
}

/// Where a reader is in one partition.
#[derive(Debug, Clone, Copy)]
struct Position {
    partition: i32,
    /// The next offset to fetch.
    offset: i64,
    /// With `--from <ms>`: records before the first one at or after this time are skipped. The
    /// broker's ListOffsets answer is the start, but tansu answers a time after its last batch
    /// with offset 0 rather than -1 (and goes by append time), so the reader checks.
    not_before: Option<i64>,
}

/// One source instance: a consumer of its partitions.
struct Reader {
    /// The command's consumer settings.
    consumer: ConsumerBuilder,
    topic: String,
    positions: Vec<Position>,
    tx: mpsc::Sender<(i32, Vec<ConsumerRecord>)>,
}

impl Reader {
    /// Reads its partitions until the printer stops listening or a fetch fails for good. A
    /// position the log no longer has (deleted by retention, or a stale committed offset)
    /// restarts from the log start, as `auto.offset.reset=earliest` would.
    async fn read(self) -> anyhow::Result<()> {
        let mut consumer = self
            .consumer
            .out_of_range(OutOfRangePolicy::always(OffsetReset::Earliest))
            .build();
        let mut not_before = BTreeMap::new();
        for p in &self.positions {
            consumer.assign_at(&self.topic, p.partition, p.offset);
            if let Some(ms) = p.not_before {
                not_before.insert(p.partition, ms);
            }
        }
        while let Some(batch) = consumer.next_batch().await {
            let batch = batch.map_err(|e| topic_error(&self.topic, &e))?;
            let mut records = batch.records;
            if let Some(&ms) = not_before.get(&batch.partition) {
                match records.iter().position(|r| r.timestamp >= ms) {
                    Some(first) => {
                        records.drain(..first);
                        not_before.remove(&batch.partition);
                    }
                    None => records.clear(),
                }
            }
            if !records.is_empty() && self.tx.send((batch.partition, records)).await.is_err() {
                return Ok(()); // The printer is done.
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kwire_protocol::records::TimestampType;

    use super::*;

    fn record(key: Option<&'static str>, value: &'static str) -> ConsumerRecord {
        ConsumerRecord {
            offset: 7,
            timestamp: 1_700_000_000_000,
            timestamp_type: TimestampType::CreateTime,
            key: key.map(|k| Bytes::from_static(k.as_bytes())),
            value: Some(Bytes::from_static(value.as_bytes())),
            headers: Vec::new(),
        }
    }

    fn render(template: &str, r: &ConsumerRecord) -> String {
        let mut out = Vec::new();
        Template::parse(template).unwrap().render(2, r, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn template_fills_every_field() {
        let r = record(Some("k"), "v");
        assert_eq!(
            render("{partition}/{offset}@{timestamp} {key}={value}", &r),
            "2/7@1700000000000 k=v\n"
        );
        assert_eq!(render("{key}\\t{value}", &r), "k\tv\n");
        assert_eq!(render("{{{value}}}", &r), "{v}\n");
        assert_eq!(render("{key}", &record(None, "v")), "null\n");
    }

    #[test]
    fn template_rejects_unknown_fields_and_lone_braces() {
        assert!(Template::parse("{nope}").unwrap_err().contains("{nope}"));
        assert!(Template::parse("a}b").is_err());
        assert!(Template::parse("{value").is_err());
    }

    #[test]
    fn start_at_parses_names_and_times() {
        assert_eq!(StartAt::parse("earliest"), Ok(StartAt::Earliest));
        assert_eq!(StartAt::parse("latest"), Ok(StartAt::Latest));
        assert_eq!(
            StartAt::parse("1700000000000"),
            Ok(StartAt::Timestamp(1_700_000_000_000))
        );
        assert!(StartAt::parse("yesterday").is_err());
        assert!(StartAt::parse("-5").is_err());
    }
}
