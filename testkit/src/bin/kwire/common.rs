//! What the commands share: the bootstrap default, connecting, error lines, Ctrl-C.

use kwire_connector::client::{BrokerError, ClientError};
use std::io::Write;
use std::time::Duration;

use kwire_connector::client::{Client, ClientBuilder, Error};
use kwire_protocol::ErrorCode;
use kwire_testkit::broker::BrokerKind;
use kwire_testkit::LocalBroker;

/// The broker a command talks to when neither `--bootstrap` nor `$KWIRE_BOOTSTRAP` names one.
pub(crate) const DEFAULT_BOOTSTRAP: &str = "127.0.0.1:9092";

/// `bootstrap`, or [`DEFAULT_BOOTSTRAP`].
pub(crate) fn bootstrap_or_default(bootstrap: Option<&str>) -> String {
    bootstrap.unwrap_or(DEFAULT_BOOTSTRAP).to_owned()
}

/// Checks `--bootstrap`: `host:port` entries separated by commas.
pub(crate) fn parse_bootstrap(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        // An empty $KWIRE_BOOTSTRAP means "not set".
        return Ok(String::new());
    }
    for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((host, port)) = entry.rsplit_once(':') else {
            return Err(format!("`{entry}` is not HOST:PORT"));
        };
        if host.is_empty() {
            return Err(format!("`{entry}` has no host"));
        }
        match port.parse::<u16>() {
            Ok(p) if p > 0 => {}
            _ => return Err(format!("`{port}` is not a port number (1-65535)")),
        }
    }
    Ok(s.trim().to_owned())
}

/// Prints `kwire: error: <message>` as one line on stderr.
pub(crate) fn report_line(message: &str) {
    let one_line: String = message
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let _ = writeln!(std::io::stderr().lock(), "kwire: error: {one_line}");
}

/// Prints `e` with its causes as one line on stderr.
pub(crate) fn report_error(e: &anyhow::Error) {
    report_line(&format!("{e:#}"));
}

/// Prints a warning (something failed but the command goes on) as one line on stderr.
pub(crate) fn warn(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "kwire: warning: {message}");
}

/// Panics are bugs; if one happens anyway, it is reported like any other error: one line, no
/// backtrace.
pub(crate) fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_owned());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        report_line(&format!("internal error{at}: {what}"));
    }));
}

/// Connects to `bootstrap` and loads the cluster's metadata.
pub(crate) async fn connect(bootstrap: &str) -> anyhow::Result<Client> {
    client_template()
        .bootstrap(bootstrap)
        .build()
        .await
        .map_err(|e| anyhow::anyhow!("{}", describe(&e)))
}

/// The settings of --config and -X (without bootstrap.servers), for producers and consumers.
pub(crate) fn settings() -> &'static [(String, String)] {
    SETTINGS.get().map_or(&[][..], |s| s.props.as_slice())
}

/// What --config and -X set, read once for the whole command.
struct Settings {
    /// The settings, without bootstrap.servers (the bootstrap is passed on its own).
    props: Vec<(String, String)>,
    /// The CLI's client settings with them applied, for every client the command makes.
    client: ClientBuilder,
}

static SETTINGS: std::sync::OnceLock<Settings> = std::sync::OnceLock::new();

/// The CLI's own client settings, before --config and -X.
fn cli_client() -> ClientBuilder {
    Client::builder()
        .client_id("kwire-cli")
        .retry_timeout(Duration::from_secs(30))
}

/// The client settings every connection of the command starts from.
fn client_template() -> ClientBuilder {
    SETTINGS.get().map_or_else(cli_client, |s| s.client.clone())
}

/// Reads --config and the -X settings, checks them (a bad value is an error; an unknown key a
/// warning on stderr), keeps them for [`connect`], and returns their bootstrap.servers.
pub(crate) fn load_settings(
    config: Option<&std::path::Path>,
    set: &[String],
) -> anyhow::Result<Option<String>> {
    let mut props = match config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read --config {}: {e}", path.display()))?;
            kwire_connector::client::parse_properties(&text)
                .map_err(|e| anyhow::anyhow!("--config {}: {e}", path.display()))?
        }
        None => Vec::new(),
    };
    for entry in set {
        let (key, value) = entry
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("-X {entry}: expected KEY=VALUE"))?;
        props.retain(|(k, _)| k != key.trim());
        props.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    let bootstrap = props
        .iter()
        .find(|(k, _)| k == "bootstrap.servers")
        .map(|(_, v)| v.clone());
    props.retain(|(k, _)| k != "bootstrap.servers");
    let (client, warnings) = cli_client()
        .properties(&props)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for w in warnings {
        eprintln!("kwire: warning: {w}");
    }
    let _ = SETTINGS.set(Settings { props, client });
    Ok(bootstrap)
}

/// The client error as a sentence, with the broker's own message when it sent one.
pub(crate) fn describe(e: &Error) -> String {
    match e {
        Error::Broker(BrokerError { message: Some(m), .. }) if !m.is_empty() => format!("{e} ({m})"),
        _ => e.to_string(),
    }
}

/// The broker's error code in `e`, looking through retries.
pub(crate) fn broker_code(e: &Error) -> Option<ErrorCode> {
    match e {
        Error::Broker(BrokerError { code, .. }) => Some(*code),
        Error::Client(ClientError::RetriesExhausted { last, .. }) => broker_code(last),
        _ => None,
    }
}

/// Turns a client error about `topic` into an error line, naming a missing topic plainly.
pub(crate) fn topic_error(topic: &str, e: &Error) -> anyhow::Error {
    if broker_code(e) == Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION) {
        anyhow::anyhow!("topic `{topic}` does not exist ({})", describe(e))
    } else {
        anyhow::anyhow!("{}", describe(e))
    }
}

/// Resolves when the process gets Ctrl-C (SIGINT). If the handler cannot be installed, it never
/// resolves: the command then runs to its end.
pub(crate) async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A rate per second, or 0 for no time at all.
pub(crate) fn per_second(amount: f64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        amount / secs
    } else {
        0.0
    }
}

/// Writes `bytes` to stdout and flushes; `Ok(false)` when the reader went away (a closed pipe, as
/// with `| head`), which ends a command quietly.
pub(crate) fn write_stdout(bytes: &[u8]) -> anyhow::Result<bool> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(anyhow::anyhow!("cannot write to stdout: {e}")),
    }
}

/// The kinds of broker a command can start for itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BrokerArg {
    /// tansu, in-process, in memory.
    Embedded,
    /// Apache Kafka (one node, KRaft), its jars fetched from Maven Central by mvn; needs Java 17+.
    Apache,
    /// The testkit's fake cluster (one broker).
    Fake,
}

impl BrokerArg {
    pub(crate) fn kind(self) -> BrokerKind {
        match self {
            Self::Embedded => BrokerKind::Embedded,
            Self::Apache => BrokerKind::Apache,
            Self::Fake => BrokerKind::Fake,
        }
    }
}

/// Starts a broker of `kind` on a free port (off the async threads: starting blocks until it
/// accepts connections).
pub(crate) async fn start_local(kind: BrokerKind) -> anyhow::Result<LocalBroker> {
    Ok(tokio::task::spawn_blocking(move || LocalBroker::start_kind(kind))
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the {} broker: {e}", kind.name()))??)
}

/// Starts the embedded broker on a free port.
pub(crate) async fn start_embedded() -> anyhow::Result<LocalBroker> {
    start_local(BrokerKind::Embedded).await
}

/// Stops a broker the command started (off the async threads: stopping waits for its thread or
/// process).
pub(crate) async fn stop_embedded(broker: LocalBroker) {
    let _ = tokio::task::spawn_blocking(move || drop(broker)).await;
}

/// With `KWIRE_PEAK_MEMORY_FILE` set, writes the process's peak resident memory in bytes (Linux's
/// VmHWM) to that file as it ends: the tests bound what hostile input costs the whole CLI.
pub(crate) fn write_peak_memory() {
    let Some(path) = std::env::var_os("KWIRE_PEAK_MEMORY_FILE").filter(|p| !p.is_empty()) else {
        return;
    };
    let peak_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        });
    if let Some(kib) = peak_kib {
        let _ = std::fs::write(path, (kib * 1024).to_string());
    }
}
