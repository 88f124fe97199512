//! `kwire broker`: the embedded broker in the foreground.

use std::net::TcpListener;
use std::process::ExitCode;

use anyhow::Context;
use kwire_testkit::fake::FakeCluster;
use kwire_testkit::LocalBroker;

use crate::common::{ctrl_c, stop_embedded, write_stdout};

/// Options of `kwire broker`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The port to listen on, on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 9092)]
    port: u16,
    /// Run the testkit's fake cluster instead of the embedded tansu broker: our own in-memory
    /// Kafka model with transactions (EndTxn) and CreatePartitions, on free ports (--port is
    /// ignored). For trying exactly-once and partition discovery locally; not a production broker.
    #[arg(long, conflicts_with = "apache")]
    fake: bool,
    /// Run Apache Kafka instead (one node, KRaft, in a temporary directory removed on exit; its
    /// jars are fetched from Maven Central by mvn on first use; needs Java 17+). --port is kept.
    #[arg(long)]
    apache: bool,
    /// Brokers of the fake cluster.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "fake", value_parser = clap::value_parser!(i32).range(1..=16))]
    brokers: i32,
}

/// Starts the broker, prints where it listens, and runs until Ctrl-C.
pub(crate) async fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if args.fake {
        let brokers = args.brokers;
        let cluster = tokio::task::spawn_blocking(move || FakeCluster::start(brokers))
            .await
            .context("cannot start the fake cluster")?
            .context("cannot start the fake cluster")?;
        let line = format!(
            "kwire fake cluster of {brokers} broker(s) listening on {} (in memory; Ctrl-C stops it)\n",
            cluster.bootstrap()
        );
        if write_stdout(line.as_bytes())? {
            ctrl_c().await;
        }
        tokio::task::spawn_blocking(move || drop(cluster)).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let port = args.port;
    if port != 0 {
        // The broker reports a taken port only in its log; ask first, for a clear error.
        drop(
            TcpListener::bind(("127.0.0.1", port))
                .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?,
        );
    }
    // Starting blocks until the broker accepts connections: off the async threads.
    let apache = args.apache;
    let broker = tokio::task::spawn_blocking(move || {
        if apache {
            LocalBroker::apache_on(port)
        } else {
            LocalBroker::embedded(port)
        }
    })
    .await
    .context("cannot start the broker")??;
    let line = if apache {
        format!(
            "Apache Kafka {} listening on {} (log {}; Ctrl-C stops it and removes its data)\n",
            kwire_testkit::apache::kafka_version(),
            broker.bootstrap(),
            broker
                .log_path()
                .map_or_else(String::new, |p| p.display().to_string()),
        )
    } else {
        format!(
            "kwire broker listening on {} (in memory; Ctrl-C stops it)\n",
            broker.bootstrap()
        )
    };
    if write_stdout(line.as_bytes())? {
        ctrl_c().await;
    }
    stop_embedded(broker).await;
    Ok(ExitCode::SUCCESS)
}
