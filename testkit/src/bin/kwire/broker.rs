//! `kwire broker`: the embedded broker in the foreground.

use std::net::TcpListener;
use std::process::ExitCode;

use anyhow::Context;
use kwire_testkit::LocalBroker;

use crate::common::{ctrl_c, stop_embedded, write_stdout};

/// Options of `kwire broker`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The port to listen on, on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 9092)]
    port: u16,
}

/// Starts the broker, prints where it listens, and runs until Ctrl-C.
pub(crate) async fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let port = args.port;
    if port != 0 {
        // The broker reports a taken port only in its log; ask first, for a clear error.
        drop(
            TcpListener::bind(("127.0.0.1", port))
                .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?,
        );
    }
    // Starting blocks until the broker accepts connections: off the async threads.
    let broker = tokio::task::spawn_blocking(move || LocalBroker::embedded(port))
        .await
        .context("cannot start the embedded broker")??;
    let line = format!(
        "kwire broker listening on {} (in memory; Ctrl-C stops it)\n",
        broker.bootstrap()
    );
    if write_stdout(line.as_bytes())? {
        ctrl_c().await;
    }
    stop_embedded(broker).await;
    Ok(ExitCode::SUCCESS)
}
