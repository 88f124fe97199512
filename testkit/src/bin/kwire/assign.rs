//! `kwire assign`: the source's partition -> instance assignment, the same as Flink's.

use std::process::ExitCode;

use kwire_connector::core::assign::owner;

/// Options of `kwire assign`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The topic (the assignment's start depends on its name).
    #[arg(long)]
    topic: String,
    /// How many partitions the topic has.
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..))]
    partitions: i32,
    /// How many source instances read it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    parallelism: u32,
}

/// Prints `partition owner` for each partition.
pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let parallelism = usize::try_from(args.parallelism)?;
    let mut out = String::new();
    for p in 0..args.partitions {
        // Partitions are 0.. and parallelism is at least 1: every partition has an owner.
        if let Some(instance) = owner(&args.topic, p, parallelism) {
            out.push_str(&format!("{p} {instance}\n"));
        }
    }
    crate::common::write_stdout(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
