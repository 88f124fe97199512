//! `kwire group list|describe|reset-offsets`: the offset checker. `describe` shows a group's
//! members and, per partition, the committed offset, the log end offset and the lag, and for a
//! group the connector commits under, the checkpoint id stored with each commit.
//!
//! Lag is the log end offset minus the committed offset, except that transaction markers at the
//! end of a partition count for nothing: a consumer that read every record of a committed
//! transaction has committed the offset before the marker, and the marker is not a record left to
//! read. So when the offsets between the commit and the end are few (at most
//! [`MARKER_CHECK_SPAN`]), they are read (read_committed), and if no record is among them the lag
//! is 0.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use kwire_connector::client::{Client, Consumer, GroupDescription, IsolationLevel, OffsetSpec};

use crate::common::{connect, describe, write_stdout};

/// The most offsets between a commit and the log end that are read to tell markers from records.
const MARKER_CHECK_SPAN: i64 = 64;

/// `kwire group` commands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Prints every group: id, type and state.
    List,
    /// A group's members, and per partition its committed offset, log end offset, lag and
    /// checkpoint id.
    Describe {
        /// The group id.
        group: String,
    },
    /// Sets a group's committed offsets (the group must have no active member).
    ResetOffsets {
        /// The group id.
        group: String,
        /// Where to: earliest, latest, an offset, or a time in ms since the epoch written `@MS`.
        #[arg(long, value_name = "earliest|latest|OFFSET|@UNIX_MS", value_parser = Target::parse)]
        to: Target,
        /// Only this topic's partitions (default: every topic the group has committed offsets
        /// for).
        #[arg(long)]
        topic: Option<String>,
        /// Prints what would be committed and changes nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `--to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Earliest,
    Latest,
    Offset(i64),
    Time(i64),
}

impl Target {
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "earliest" => Ok(Self::Earliest),
            "latest" => Ok(Self::Latest),
            _ => {
                if let Some(ms) = s.strip_prefix('@') {
                    return ms
                        .parse::<i64>()
                        .ok()
                        .filter(|ms| *ms >= 0)
                        .map(Self::Time)
                        .ok_or_else(|| format!("`{s}`: expected @ and a time in ms since the epoch"));
                }
                s.parse::<i64>()
                    .ok()
                    .filter(|o| *o >= 0)
                    .map(Self::Offset)
                    .ok_or_else(|| "expected earliest, latest, an offset or @UNIX_MS".into())
            }
        }
    }
}

pub(crate) async fn run(cmd: Command, bootstrap: &str) -> anyhow::Result<ExitCode> {
    let client = connect(bootstrap).await?;
    match cmd {
        Command::List => {
            let groups = client
                .list_groups()
                .await
                .map_err(|e| anyhow::anyhow!("cannot list groups: {}", describe(&e)))?;
            let mut out = String::new();
            for g in groups {
                let kind = if g.group_type.is_empty() {
                    &g.protocol_type
                } else {
                    &g.group_type
                };
                out.push_str(&format!(
                    "{} {} {}\n",
                    g.group_id,
                    or_dash(kind),
                    or_dash(&g.state)
                ));
            }
            write_stdout(out.as_bytes())?;
        }
        Command::Describe { group } => describe_group(&client, &group).await?,
        Command::ResetOffsets {
            group,
            to,
            topic,
            dry_run,
        } => reset(&client, &group, to, topic.as_deref(), dry_run).await?,
    }
    Ok(ExitCode::SUCCESS)
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

async fn description(client: &Client, group: &str) -> anyhow::Result<GroupDescription> {
    client
        .describe_group(group)
        .await
        .map_err(|e| anyhow::anyhow!("cannot describe group `{group}`: {}", describe(&e)))
}

async fn describe_group(client: &Client, group: &str) -> anyhow::Result<()> {
    let d = description(client, group).await?;
    let offsets = client
        .group_offsets(group)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the offsets of group `{group}`: {}", describe(&e)))?;
    let mut owner: BTreeMap<(String, i32), String> = BTreeMap::new();
    let mut out = format!(
        "group {} ({} group, {}{}, {} member{})\n",
        d.group_id,
        d.group_type,
        or_dash(&d.state),
        if d.assignor.is_empty() {
            String::new()
        } else {
            format!(", assignor {}", d.assignor)
        },
        d.members.len(),
        if d.members.len() == 1 { "" } else { "s" }
    );
    for m in &d.members {
        let parts: Vec<String> = m.assignment.iter().map(|(t, p)| format!("{t}/{p}")).collect();
        out.push_str(&format!(
            "member {} client {} host {}{}: {}\n",
            m.member_id,
            or_dash(&m.client_id),
            or_dash(&m.host),
            m.instance_id
                .as_ref()
                .map(|i| format!(" instance {i}"))
                .unwrap_or_default(),
            if parts.is_empty() {
                "-".to_owned()
            } else {
                parts.join(" ")
            }
        ));
        for tp in &m.assignment {
            owner.insert(tp.clone(), m.member_id.clone());
        }
    }
    // Every partition that has a commit or an owner.
    let mut rows: BTreeMap<(String, i32), Option<&kwire_connector::client::GroupOffset>> = BTreeMap::new();
    for tp in owner.keys() {
        rows.insert(tp.clone(), None);
    }
    for o in &offsets {
        rows.insert((o.topic.clone(), o.partition), Some(o));
    }
    out.push_str("TOPIC PARTITION COMMITTED END LAG CHECKPOINT MEMBER\n");
    for ((topic, partition), commit) in &rows {
        let end = client
            .list_offset(topic, *partition, OffsetSpec::Latest)
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the end of {topic}/{partition}: {}", describe(&e)))?;
        let (committed, lag, checkpoint) = match commit {
            Some(c) => (
                c.offset.to_string(),
                lag(client, topic, *partition, c.offset, end).await?.to_string(),
                c.checkpoint_id().map_or("-".to_owned(), |id| id.to_string()),
            ),
            None => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
        };
        out.push_str(&format!(
            "{topic} {partition} {committed} {end} {lag} {checkpoint} {}\n",
            owner
                .get(&(topic.clone(), *partition))
                .map_or("-", String::as_str)
        ));
    }
    write_stdout(out.as_bytes())?;
    Ok(())
}

/// `end - committed`, or 0 when what lies between is only transaction markers (checked for spans
/// of at most [`MARKER_CHECK_SPAN`] offsets).
async fn lag(client: &Client, topic: &str, partition: i32, committed: i64, end: i64) -> anyhow::Result<i64> {
    let lag = (end - committed).max(0);
    if lag == 0 || lag > MARKER_CHECK_SPAN {
        return Ok(lag);
    }
    let mut consumer = Consumer::builder(client.clone())
        .isolation(IsolationLevel::ReadCommitted)
        .max_wait(Duration::from_millis(50))
        .build();
    consumer.assign_at(topic, partition, committed);
    consumer.stop_at(topic, partition, end);
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut records = 0usize;
        while let Some(batch) = consumer.next_batch().await {
            records += batch?.records.len();
            if records > 0 {
                break;
            }
        }
        Ok::<_, kwire_connector::client::Error>(records)
    })
    .await;
    match read {
        Ok(Ok(0)) => Ok(0),
        Ok(Ok(_)) => Ok(lag),
        Ok(Err(e)) => Err(anyhow::anyhow!(
            "cannot read {topic}/{partition} at {committed}: {}",
            describe(&e)
        )),
        // Open transactions hold read_committed back: what lies beyond is not markers alone.
        Err(_) => Ok(lag),
    }
}

async fn reset(
    client: &Client,
    group: &str,
    to: Target,
    topic: Option<&str>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let d = description(client, group).await?;
    if !d.members.is_empty() {
        anyhow::bail!(
            "group `{group}` has {} active member{} ({}); stop them before resetting its offsets",
            d.members.len(),
            if d.members.len() == 1 { "" } else { "s" },
            d.state
        );
    }
    let mut partitions: Vec<(String, i32, i64)> = client
        .group_offsets(group)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the offsets of group `{group}`: {}", describe(&e)))?
        .into_iter()
        .filter(|o| topic.is_none_or(|t| t == o.topic))
        .map(|o| (o.topic, o.partition, o.offset))
        .collect();
    if let Some(t) = topic {
        // A topic the group never committed for: all of its partitions.
        if partitions.is_empty() {
            let meta = client
                .topic(t)
                .await
                .map_err(|e| anyhow::anyhow!("topic `{t}`: {}", describe(&e)))?;
            partitions = meta.partitions.iter().map(|p| (t.to_owned(), p.id, -1)).collect();
        }
    }
    if partitions.is_empty() {
        anyhow::bail!("group `{group}` has no committed offsets; name a topic with --topic");
    }
    let mut plan = Vec::new();
    let mut out = String::from("TOPIC PARTITION FROM TO\n");
    for (t, p, from) in partitions {
        let target = match to {
            Target::Offset(o) => Ok(o),
            Target::Earliest => client.list_offset(&t, p, OffsetSpec::Earliest).await,
            Target::Latest => client.list_offset(&t, p, OffsetSpec::Latest).await,
            Target::Time(ms) => match client.list_offset(&t, p, OffsetSpec::Timestamp(ms)).await {
                // No record at or after the time: the end.
                Ok(-1) => client.list_offset(&t, p, OffsetSpec::Latest).await,
                other => other,
            },
        }
        .map_err(|e| anyhow::anyhow!("cannot look up {t}/{p}: {}", describe(&e)))?;
        out.push_str(&format!(
            "{t} {p} {} {target}\n",
            if from < 0 {
                "-".to_owned()
            } else {
                from.to_string()
            }
        ));
        plan.push((t, p, target));
    }
    if dry_run {
        out.push_str("(dry run: nothing committed)\n");
    } else {
        client
            .commit_offsets(group, &plan, "")
            .await
            .map_err(|e| anyhow::anyhow!("cannot commit the offsets of group `{group}`: {}", describe(&e)))?;
    }
    write_stdout(out.as_bytes())?;
    Ok(())
}
