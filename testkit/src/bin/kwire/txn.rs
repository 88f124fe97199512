//! `kwire txn recover`: what an exactly-once Kafka sink's recovery does, run by hand. It commits
//! the transactions that the newest checkpoint in a checkpoint directory pre-committed, then fences
//! every transactional id of the prefix's pool (which aborts what else is left open). With
//! `--dry-run` it only lists what it would commit and fence.

use std::path::PathBuf;
use std::process::ExitCode;

use kwire_connector::runtime::{CheckpointStore, StateKind};
use kwire_connector::sink::{commit_prepared, fence, transactional_ids, PreparedTransaction};

use crate::common::{connect, write_stdout};

/// `kwire txn` commands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Commits what the newest checkpoint pre-committed, then fences the prefix's ids.
    Recover(RecoverArgs),
}

/// Options of `kwire txn recover`.
#[derive(Debug, clap::Args)]
pub(crate) struct RecoverArgs {
    /// The sink's transactional id prefix.
    #[arg(long)]
    prefix: String,
    /// The job's checkpoint directory (without it, nothing is committed, only fenced).
    #[arg(long, value_name = "DIR")]
    checkpoint_dir: Option<PathBuf>,
    /// Sink instances, when no checkpoint tells.
    #[arg(long, value_name = "N", default_value_t = 1)]
    instances: usize,
    /// Transactional ids per instance (the sink's `transaction_pool`).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pool: usize,
    /// List what would be committed and fenced, and change nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(crate) async fn run(cmd: Command, bootstrap: &str) -> anyhow::Result<ExitCode> {
    let Command::Recover(args) = cmd;
    let (prepared, instances) = match &args.checkpoint_dir {
        None => (Vec::new(), args.instances),
        Some(dir) => {
            let Some(snapshot) = CheckpointStore::open(dir)?.latest()? else {
                anyhow::bail!("no checkpoint in {}", dir.display());
            };
            // The sink runs in the last stage; its state is the last of each instance's states.
            let last = snapshot.stages.last().cloned().unwrap_or_default();
            let mut prepared = Vec::new();
            for states in &last {
                let state = match states.last() {
                    None => &[][..],
                    Some(s) if s.kind.fits(StateKind::Sink) => &s.bytes,
                    Some(s) => anyhow::bail!(
                        "checkpoint {}: the last stage's last state is {:?} state, not a sink's",
                        snapshot.id,
                        s.kind
                    ),
                };
                prepared.extend(
                    PreparedTransaction::decode_list(state)
                        .map_err(|e| anyhow::anyhow!("checkpoint {}: sink state: {e}", snapshot.id))?,
                );
            }
            (prepared, last.len().max(1))
        }
    };
    let verb = |v: &str| {
        if args.dry_run {
            format!("would {v}")
        } else {
            v.to_owned()
        }
    };
    let mut out = String::new();
    for t in &prepared {
        out.push_str(&format!(
            "{} {} (checkpoint {}, producer id {}, epoch {})\n",
            verb("commit"),
            t.transactional_id,
            t.checkpoint,
            t.producer_id,
            t.epoch
        ));
    }
    let ids: Vec<String> = (0..instances)
        .flat_map(|i| transactional_ids(&args.prefix, i, args.pool))
        .collect();
    for id in &ids {
        out.push_str(&format!(
            "{} {id} (aborts its open transaction, if any)\n",
            verb("fence")
        ));
    }
    if !args.dry_run {
        let client = connect(bootstrap).await?;
        commit_prepared(&client, &prepared).await?;
        for id in &ids {
            fence(&client, id, |b| b).await?.close().await?;
        }
    }
    write_stdout(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
