//! `kwire conformance`: the protocol conformance suite ([`kwire_testkit::conformance`]) against
//! `--bootstrap`, or a broker it starts (`--broker`, the embedded one when neither is given).
//! Apache Kafka is started with a SASL listener too, where the SASL cases run for real.

use std::process::ExitCode;

use kwire_testkit::broker::{BrokerKind, LocalBroker};
use kwire_testkit::conformance::{RunOptions, SaslListener};

use crate::common::{connect, ctrl_c, start_local, stop_embedded, write_stdout, BrokerArg};

/// The PLAIN user of the SASL listener of an Apache Kafka the suite starts.
const SASL_USER: &str = "kwire-conformance";
const SASL_PASSWORD: &str = "kwire-conformance-secret";

/// Options of `kwire conformance`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Prints the report as JSON instead of the matrix.
    #[arg(long)]
    json: bool,
    /// Starts this broker and runs the suite against it (instead of --bootstrap). tansu's
    /// documented deviations count as DEV only on `embedded`; on any other broker they fail.
    #[arg(long, value_enum, value_name = "KIND")]
    broker: Option<BrokerArg>,
    /// Fails (exit 1) on a documented deviation too: every offered case must pass.
    #[arg(long)]
    strict: bool,
}

/// Runs the suite and prints the matrix (or JSON); exit code 0 only when no offered case fails.
pub(crate) async fn run(args: &Args, bootstrap: Option<&str>) -> anyhow::Result<ExitCode> {
    let (broker, bootstrap, tansu) = match (args.broker, bootstrap) {
        (Some(_), Some(b)) => {
            anyhow::bail!("give --bootstrap (or KWIRE_BOOTSTRAP={b}) or --broker, not both")
        }
        (None, Some(b)) => {
            // An unreachable broker is one error line, not a matrix with one failed case.
            drop(connect(b).await?);
            (None, b.to_owned(), false)
        }
        (kind, None) => {
            let kind = kind.map_or(BrokerKind::Embedded, BrokerArg::kind);
            let broker = if kind == BrokerKind::Apache {
                // With a SASL listener, so that the SASL cases run for real.
                let users = [(SASL_USER, SASL_PASSWORD)];
                tokio::task::spawn_blocking(move || LocalBroker::apache_sasl(&users))
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot start Apache Kafka: {e}"))??
            } else {
                start_local(kind).await?
            };
            let b = broker.bootstrap().to_owned();
            if kind == BrokerKind::Apache {
                eprintln!(
                    "Apache Kafka {} started on {b}",
                    kwire_testkit::apache::kafka_version()
                );
            }
            (Some(broker), b, kind == BrokerKind::Embedded)
        }
    };
    let mut options = RunOptions::new().tansu(tansu);
    if let Some(sasl) = broker.as_ref().and_then(LocalBroker::sasl_bootstrap) {
        options = options.sasl(SaslListener {
            bootstrap: sasl,
            username: SASL_USER.to_owned(),
            password: SASL_PASSWORD.to_owned(),
        });
    }
    let report = tokio::select! {
        r = kwire_testkit::conformance::run_with(&bootstrap, &options) => Some(r),
        () = ctrl_c() => None,
    };
    if let Some(broker) = broker {
        stop_embedded(broker).await;
    }
    let Some(report) = report else {
        anyhow::bail!("interrupted");
    };
    let mut out = if args.json {
        report.to_json()
    } else {
        report.render_matrix()
    };
    if !out.ends_with('\n') {
        out.push('\n');
    }
    write_stdout(out.as_bytes())?;
    if !report.ok() {
        anyhow::bail!(
            "{} offered conformance cases failed (see the report on stdout)",
            report.counts().fail
        );
    }
    if args.strict && !report.strictly_ok() {
        anyhow::bail!(
            "{} cases showed a documented deviation and --strict was given",
            report.counts().deviation
        );
    }
    Ok(ExitCode::SUCCESS)
}
