//! `kwire conformance`: the protocol conformance suite ([`kwire_testkit::conformance`]) against
//! `--bootstrap`, or the embedded broker when none is given.

use std::process::ExitCode;

use crate::common::{connect, ctrl_c, start_embedded, stop_embedded, write_stdout};

/// Options of `kwire conformance`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Prints the report as JSON instead of the matrix.
    #[arg(long)]
    json: bool,
}

/// Runs the suite and prints the matrix (or JSON); exit code 0 only when no offered case fails.
pub(crate) async fn run(args: &Args, bootstrap: Option<&str>) -> anyhow::Result<ExitCode> {
    let (broker, bootstrap) = match bootstrap {
        Some(b) => {
            // An unreachable broker is one error line, not a matrix with one failed case.
            drop(connect(b).await?);
            (None, b.to_owned())
        }
        None => {
            let broker = start_embedded().await?;
            let b = broker.bootstrap().to_owned();
            (Some(broker), b)
        }
    };
    let report = tokio::select! {
        r = kwire_testkit::conformance::run(&bootstrap) => Some(r),
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
    Ok(ExitCode::SUCCESS)
}
