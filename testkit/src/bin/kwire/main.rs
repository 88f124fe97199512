//! `kwire`: the console tools people know from Kafka (topics, a line producer, a consumer) plus
//! kwire's own: the embedded broker, Flink's partition assignment, the conformance suite and
//! benchmarks.
//!
//! Every command takes `--bootstrap HOST:PORT` (default `$KWIRE_BOOTSTRAP`, else
//! `127.0.0.1:9092`). Every failure is one line on stderr, `kwire: error: ...`, and a non-zero exit
//! code (2 for bad usage, 1 otherwise); Ctrl-C stops a command cleanly.

mod assign;
mod bench;
mod broker;
mod common;
mod conformance;
mod consume;
mod group;
mod load;
mod produce;
mod topic;
mod txn;

use std::process::ExitCode;

use clap::error::{ContextKind, ErrorKind};
use clap::{Parser, Subcommand};

/// Kafka console tools in pure Rust, the embedded broker, the conformance suite and benchmarks.
#[derive(Debug, Parser)]
#[command(name = "kwire", version, propagate_version = true)]
struct Cli {
    /// The broker to talk to, HOST:PORT (several separated by commas). Without it and without
    /// $KWIRE_BOOTSTRAP: 127.0.0.1:9092, except `conformance` and `bench`, which then start the
    /// embedded broker.
    #[arg(
        long,
        global = true,
        env = "KWIRE_BOOTSTRAP",
        value_name = "HOST:PORT",
        value_parser = common::parse_bootstrap
    )]
    bootstrap: Option<String>,

    /// The Java client's settings from a properties file (`client.properties`): brokers,
    /// security (SASL, TLS with PEM stores), timeouts. --bootstrap wins over bootstrap.servers.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<std::path::PathBuf>,

    /// One setting, as in the properties file (`-X security.protocol=SASL_SSL`); after --config,
    /// so it wins. Repeatable.
    #[arg(short = 'X', global = true, value_name = "KEY=VALUE")]
    set: Vec<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the embedded broker (tansu, in memory) in the foreground until Ctrl-C.
    Broker(broker::Args),
    /// Creates, deletes and lists topics.
    #[command(subcommand)]
    Topic(topic::Command),
    /// Sends one record per line of stdin.
    Produce(produce::Args),
    /// Prints a topic's records.
    Consume(consume::Args),
    /// Prints which source instance reads each partition (Flink's KafkaSource assignment).
    Assign(assign::Args),
    /// Runs the protocol conformance suite and prints the matrix (API x version).
    Conformance(conformance::Args),
    /// Measures produce or consume throughput.
    #[command(subcommand)]
    Bench(bench::Command),
    /// Recovers an exactly-once sink's transactions by hand (see `kwire txn recover --help`).
    #[command(subcommand)]
    Txn(txn::Command),
    /// The offset checker: lists groups, describes one (members, committed offsets, lag,
    /// checkpoint ids), resets a group's offsets.
    #[command(subcommand)]
    Group(group::Command),
}

fn main() -> ExitCode {
    common::install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let settings = match common::load_settings(cli.config.as_deref(), &cli.set) {
        Ok(s) => s,
        Err(e) => {
            common::report_error(&e);
            return ExitCode::from(2);
        }
    };
    let bootstrap = cli.bootstrap.filter(|b| !b.trim().is_empty()).or(settings);
    let result = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => {
            let result = rt.block_on(dispatch(cli.command, bootstrap));
            // Tasks may still wait on a broker that went away, or on stdin: do not wait for them.
            rt.shutdown_background();
            result
        }
        Err(e) => Err(anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    common::write_peak_memory();
    match result {
        Ok(code) => code,
        Err(e) => {
            common::report_error(&e);
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command, bootstrap: Option<String>) -> anyhow::Result<ExitCode> {
    let b = bootstrap.as_deref();
    match command {
        Command::Topic(cmd) => topic::run(cmd, &common::bootstrap_or_default(b)).await,
        Command::Produce(args) => produce::run(args, &common::bootstrap_or_default(b)).await,
        Command::Consume(args) => consume::run(args, &common::bootstrap_or_default(b)).await,
        Command::Conformance(args) => conformance::run(&args, b).await,
        Command::Bench(cmd) => bench::run(cmd, b).await,
        Command::Broker(args) => broker::run(&args).await,
        Command::Assign(args) => assign::run(&args),
        Command::Txn(cmd) => txn::run(cmd, &common::bootstrap_or_default(b)).await,
        Command::Group(cmd) => group::run(cmd, &common::bootstrap_or_default(b)).await,
    }
}

/// Prints a clap error as one line (help and version go to stdout as usual).
fn usage_error(e: &clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            common::report_line("a command is required: broker, topic, produce, consume, assign, conformance, bench, txn or group (see --help)");
            return ExitCode::from(2);
        }
        _ => {}
    }
    // clap renders several lines (the error, a tip, the usage): keep the error, and the valid
    // values when it names them.
    let rendered = e.render().to_string();
    let mut line = rendered
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid arguments")
        .trim_start_matches("error:")
        .trim()
        .to_owned();
    if let Some(valid) = e.get(ContextKind::ValidValue) {
        line.push_str(&format!(" (possible values: {valid})"));
    }
    for kind in [ContextKind::SuggestedSubcommand, ContextKind::SuggestedArg] {
        if let Some(suggested) = e.get(kind) {
            line.push_str(&format!(" (did you mean `{suggested}`?)"));
        }
    }
    common::report_line(&format!("{line}; see --help"));
    ExitCode::from(2)
}
