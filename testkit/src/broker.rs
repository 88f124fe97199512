//! `LocalBroker`: a real Kafka-compatible broker on 127.0.0.1 for tests, examples and the CLI.
//!
//! With `KWIRE_BOOTSTRAP` set, it names that broker (a real Apache Kafka or Redpanda) and starts
//! nothing. Otherwise `KWIRE_BROKER` picks the kind ([`BrokerKind`]):
//! - `embedded` (the default): tansu, a Kafka-compatible broker written in Rust, linked
//!   in-process, with in-memory storage, on a free port, on a thread and runtime of its own (so
//!   the caller's runtime does not matter);
//! - `apache`: Apache Kafka, the reference, a one-node KRaft cluster in a child process with its
//!   jars from Maven Central ([`crate::apache`]);
//! - `fake`: the testkit's fake cluster ([`crate::fake`]), one broker.
//!
//! Each is ready before [`LocalBroker::start`] returns and stopped on drop.
//!
//! Under `CI=true` a test must not skip when no broker can start: [`LocalBroker::start`] returns the
//! reason and [`LocalBroker::start_or_fail`] panics with it, so the test fails.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::apache::ApacheKafka;
use crate::fake::FakeCluster;
use crate::proxy::FaultProxy;

/// Why no broker could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// `KWIRE_BOOTSTRAP` is not a `host:port` that answers.
    #[error("KWIRE_BOOTSTRAP={0} does not accept connections: {1}")]
    Unreachable(String, std::io::Error),
    /// The embedded broker was compiled out (feature `embedded-broker`).
    #[error(
        "the embedded broker is not compiled in (feature `embedded-broker`) and KWIRE_BOOTSTRAP is unset"
    )]
    NotCompiledIn,
    /// The broker failed to start.
    #[error("the broker failed to start: {0}")]
    Start(String),
    /// A program a broker or peer needs (java, mvn, python3) is not on the machine.
    #[error("{0}")]
    MissingTool(String),
    /// `KWIRE_BROKER` names no kind of broker.
    #[error("KWIRE_BROKER={0} is not one of embedded, apache, fake")]
    UnknownKind(String),
}

/// The kinds of broker [`LocalBroker`] can start, chosen by `KWIRE_BROKER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BrokerKind {
    /// tansu, in-process (the default).
    Embedded,
    /// Apache Kafka, the reference broker, in a child process.
    Apache,
    /// The testkit's fake cluster.
    Fake,
    /// A broker someone else runs (`KWIRE_BOOTSTRAP`).
    External,
}

impl BrokerKind {
    /// The kind `KWIRE_BROKER` names (`embedded` when unset or empty).
    pub fn from_env() -> Result<Self, BrokerError> {
        match std::env::var("KWIRE_BROKER") {
            Ok(v) => Self::parse(&v),
            Err(_) => Ok(Self::Embedded),
        }
    }

    /// `embedded`, `apache` or `fake` (`tansu` and `kafka` are taken too); empty is `embedded`.
    pub fn parse(name: &str) -> Result<Self, BrokerError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "" | "embedded" | "tansu" => Ok(Self::Embedded),
            "apache" | "kafka" => Ok(Self::Apache),
            "fake" => Ok(Self::Fake),
            _ => Err(BrokerError::UnknownKind(name.to_owned())),
        }
    }

    /// The kind's name, as `KWIRE_BROKER` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Apache => "apache",
            Self::Fake => "fake",
            Self::External => "external",
        }
    }
}

/// A broker for the duration of a value: external (from `KWIRE_BOOTSTRAP`), embedded, Apache
/// Kafka or the fake cluster.
#[derive(Debug)]
pub struct LocalBroker {
    bootstrap: String,
    kind: BrokerKind,
    #[cfg(feature = "embedded-broker")]
    embedded: Option<embedded::Handle>,
    apache: Option<ApacheKafka>,
    /// Held for its drop, which stops the fake cluster.
    _fake: Option<FakeCluster>,
}

impl LocalBroker {
    /// The broker named by `KWIRE_BOOTSTRAP`, or else a new broker of the kind `KWIRE_BROKER`
    /// names (embedded by default) on a free port.
    pub fn start() -> Result<Self, BrokerError> {
        match std::env::var("KWIRE_BOOTSTRAP") {
            Ok(b) if !b.trim().is_empty() => Self::external(b.trim()),
            _ => Self::start_kind(BrokerKind::from_env()?),
        }
    }

    /// A new broker of `kind` on a free port (`External` takes `KWIRE_BOOTSTRAP`).
    pub fn start_kind(kind: BrokerKind) -> Result<Self, BrokerError> {
        match kind {
            BrokerKind::Embedded => Self::embedded(0),
            BrokerKind::Apache => Self::apache(),
            BrokerKind::Fake => Self::fake(),
            BrokerKind::External => {
                Self::external(std::env::var("KWIRE_BOOTSTRAP").unwrap_or_default().trim())
            }
        }
    }

    /// A new Apache Kafka (one node, KRaft) on a free port.
    pub fn apache() -> Result<Self, BrokerError> {
        Ok(Self::with_apache(ApacheKafka::start(None)?))
    }

    /// A new Apache Kafka (one node, KRaft) on a free port, with SASL listeners for `users`
    /// (see [`ApacheKafka::start_sasl`]).
    pub fn apache_sasl(users: &[(&str, &str)]) -> Result<Self, BrokerError> {
        Ok(Self::with_apache(ApacheKafka::start_sasl(users)?))
    }

    /// The SASL_PLAINTEXT listener of an Apache Kafka started with SASL ([`Self::apache_sasl`]).
    pub fn sasl_bootstrap(&self) -> Option<String> {
        self.apache.as_ref().and_then(ApacheKafka::sasl_bootstrap)
    }

    /// A new Apache Kafka (one node, KRaft) on a free port, with extra `server.properties` lines
    /// (`key=value`).
    pub fn apache_with(extra: &[&str]) -> Result<Self, BrokerError> {
        Ok(Self::with_apache(ApacheKafka::start_with(0, None, extra)?))
    }

    /// A new Apache Kafka listening on 127.0.0.1:`port` (0: a free port).
    pub fn apache_on(port: u16) -> Result<Self, BrokerError> {
        Ok(Self::with_apache(ApacheKafka::start_with(port, None, &[])?))
    }

    fn with_apache(apache: ApacheKafka) -> Self {
        Self {
            bootstrap: apache.bootstrap(),
            kind: BrokerKind::Apache,
            #[cfg(feature = "embedded-broker")]
            embedded: None,
            apache: Some(apache),
            _fake: None,
        }
    }

    /// A new fake cluster of one broker.
    pub fn fake() -> Result<Self, BrokerError> {
        let fake = FakeCluster::start(1).map_err(|e| BrokerError::Start(e.to_string()))?;
        Ok(Self {
            bootstrap: fake.bootstrap(),
            kind: BrokerKind::Fake,
            #[cfg(feature = "embedded-broker")]
            embedded: None,
            apache: None,
            _fake: Some(fake),
        })
    }

    /// Like [`LocalBroker::start`], but panics with the reason: for tests, which must fail (never
    /// skip) when no broker can be had.
    pub fn start_or_fail() -> Self {
        Self::start().unwrap_or_else(|e| panic!("no broker for this test: {e}"))
    }

    /// An external broker at `bootstrap`, checked to accept a connection.
    pub fn external(bootstrap: &str) -> Result<Self, BrokerError> {
        let first = bootstrap.split(',').next().unwrap_or(bootstrap).to_owned();
        connect_within(&first, Duration::from_secs(5))
            .map_err(|e| BrokerError::Unreachable(bootstrap.to_owned(), e))?;
        Ok(Self {
            bootstrap: bootstrap.to_owned(),
            kind: BrokerKind::External,
            #[cfg(feature = "embedded-broker")]
            embedded: None,
            apache: None,
            _fake: None,
        })
    }

    /// A new embedded broker on 127.0.0.1:`port` (0: a free port).
    #[cfg(feature = "embedded-broker")]
    pub fn embedded(port: u16) -> Result<Self, BrokerError> {
        let handle = embedded::Handle::start(port)?;
        Ok(Self {
            bootstrap: handle.addr.to_string(),
            kind: BrokerKind::Embedded,
            embedded: Some(handle),
            apache: None,
            _fake: None,
        })
    }

    /// A new broker behind a [`FaultProxy`]: the broker advertises the proxy's address, so every
    /// client connection after bootstrap goes through the proxy and can be faulted. The kind is
    /// `KWIRE_BROKER`'s, embedded or apache, whatever `KWIRE_BOOTSTRAP` says: faults need a
    /// broker that advertises the proxy.
    pub fn behind_proxy() -> Result<(Self, FaultProxy), BrokerError> {
        Self::behind_proxy_kind(BrokerKind::from_env()?)
    }

    /// A new broker of `kind` (embedded or apache) behind a [`FaultProxy`], as
    /// [`LocalBroker::behind_proxy`].
    pub fn behind_proxy_kind(kind: BrokerKind) -> Result<(Self, FaultProxy), BrokerError> {
        let start_err = |e: std::io::Error| BrokerError::Start(e.to_string());
        let proxy_port = free_port().map_err(start_err)?;
        let (broker, listening) = Self::advertising_kind(kind, proxy_port)?;
        let proxy = FaultProxy::start(proxy_port, listening).map_err(start_err)?;
        Ok((broker, proxy))
    }

    /// A new broker (of `KWIRE_BROKER`'s kind: embedded or apache) that advertises
    /// 127.0.0.1:`advertised_port` rather than the port it listens on, for a proxy the caller
    /// puts on that port (faults, TLS termination). Returns the broker, whose bootstrap is the
    /// advertised address, and the address it really listens on.
    pub fn advertising(advertised_port: u16) -> Result<(Self, SocketAddr), BrokerError> {
        Self::advertising_kind(BrokerKind::from_env()?, advertised_port)
    }

    fn advertising_kind(kind: BrokerKind, advertised_port: u16) -> Result<(Self, SocketAddr), BrokerError> {
        match kind {
            BrokerKind::Apache => {
                let apache = ApacheKafka::start(Some(advertised_port))?;
                let listening = SocketAddr::from(([127, 0, 0, 1], apache.listening_port()));
                Ok((Self::with_apache(apache), listening))
            }
            BrokerKind::Embedded => Self::embedded_advertising(advertised_port),
            other => Err(BrokerError::Start(format!(
                "a {} broker cannot advertise a proxy's address",
                other.name()
            ))),
        }
    }

    #[cfg(feature = "embedded-broker")]
    fn embedded_advertising(advertised_port: u16) -> Result<(Self, SocketAddr), BrokerError> {
        let start_err = |e: std::io::Error| BrokerError::Start(e.to_string());
        let broker_port = free_port().map_err(start_err)?;
        let handle = embedded::Handle::start_advertising(broker_port, advertised_port)?;
        let listening = handle.addr;
        let broker = Self {
            bootstrap: format!("127.0.0.1:{advertised_port}"),
            kind: BrokerKind::Embedded,
            embedded: Some(handle),
            apache: None,
            _fake: None,
        };
        Ok((broker, listening))
    }

    #[cfg(not(feature = "embedded-broker"))]
    fn embedded_advertising(_advertised_port: u16) -> Result<(Self, SocketAddr), BrokerError> {
        Err(BrokerError::NotCompiledIn)
    }

    /// A new embedded broker: not compiled in.
    #[cfg(not(feature = "embedded-broker"))]
    pub fn embedded(_port: u16) -> Result<Self, BrokerError> {
        Err(BrokerError::NotCompiledIn)
    }

    /// `host:port` of the broker, for a client's bootstrap list.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// Whether this is the embedded broker (tansu): its documented deviations from Kafka apply.
    pub fn is_embedded(&self) -> bool {
        self.kind == BrokerKind::Embedded
    }

    /// Which kind of broker this is.
    pub fn kind(&self) -> BrokerKind {
        self.kind
    }

    /// The end of Apache Kafka's log (empty for other kinds), for a failing test to print.
    pub fn log_tail(&self, lines: usize) -> String {
        self.apache
            .as_ref()
            .map(|a| a.log_tail(lines))
            .unwrap_or_default()
    }

    /// Apache Kafka's log file (`None` for other kinds).
    pub fn log_path(&self) -> Option<std::path::PathBuf> {
        self.apache.as_ref().map(ApacheKafka::log_path)
    }

    /// Blocks until the broker is stopped from elsewhere (e.g. the process gets Ctrl-C).
    pub fn wait(mut self) {
        #[cfg(feature = "embedded-broker")]
        if let Some(handle) = &mut self.embedded {
            if let Some(thread) = handle.thread.take() {
                let _ = thread.join();
            }
        }
        if let Some(apache) = &mut self.apache {
            apache.wait();
        }
    }
}

fn connect_within(addr: &str, limit: Duration) -> std::io::Result<()> {
    let deadline = Instant::now() + limit;
    let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(addr)?.collect();
    loop {
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
        for a in &addrs {
            match TcpStream::connect_timeout(a, Duration::from_millis(500)) {
                Ok(_) => return Ok(()),
                Err(e) => last = e,
            }
        }
        if Instant::now() >= deadline {
            return Err(last);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A free TCP port on 127.0.0.1 for a server that binds it a moment later (a broker, a proxy).
///
/// Picked below the kernel's ephemeral range, found free by binding it: a port from that range
/// (what binding port 0 gives) can be taken by any outgoing connection in the seconds a JVM takes
/// to bind it, and Apache Kafka then fails with "Address already in use". Successive picks in a
/// process differ; processes start at different places. Falls back to port 0 when the range
/// leaves no room below it.
pub fn free_port() -> std::io::Result<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOWEST: u32 = 10_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let below = ephemeral_low().max(LOWEST);
    let span = below - LOWEST;
    if span >= 1_000 {
        let start = (std::process::id().wrapping_mul(7_919)) % span;
        for _ in 0..span.min(5_000) {
            let step = NEXT.fetch_add(1, Ordering::Relaxed);
            let port = LOWEST + (start + step) % span;
            let Ok(port) = u16::try_from(port) else { continue };
            if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return Ok(port);
            }
        }
    }
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The first port of the kernel's ephemeral range (Linux's default where it cannot be read).
fn ephemeral_low() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(32_768)
}

#[cfg(feature = "embedded-broker")]
mod embedded {
    use std::net::SocketAddr;
    use std::thread::JoinHandle;
    use std::time::Duration;

    use tansu_broker::broker::Broker;
    use tansu_broker::coordinator::group::administrator::Controller;
    use tansu_storage::StorageContainer;
    use tokio::sync::oneshot;

    use super::{connect_within, free_port, BrokerError};

    /// The broker's thread; dropping it stops the broker.
    #[derive(Debug)]
    pub(super) struct Handle {
        pub(super) addr: SocketAddr,
        stop: Option<oneshot::Sender<()>>,
        pub(super) thread: Option<JoinHandle<()>>,
    }

    impl Handle {
        pub(super) fn start(port: u16) -> Result<Self, BrokerError> {
            Self::start_advertising(port, 0)
        }

        /// Starts a broker listening on `port` (0: free) that advertises `advertised` (0: the
        /// same port).
        pub(super) fn start_advertising(port: u16, advertised: u16) -> Result<Self, BrokerError> {
            let start_err = |e: &dyn std::fmt::Display| BrokerError::Start(e.to_string());
            let port = if port == 0 {
                free_port().map_err(|e| start_err(&e))?
            } else {
                port
            };
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let (stop_tx, stop_rx) = oneshot::channel::<()>();
            let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
            let thread = std::thread::Builder::new()
                .name(format!("kwire-broker-{port}"))
                .spawn(move || {
                    run(
                        port,
                        if advertised == 0 { port } else { advertised },
                        stop_rx,
                        ready_tx,
                    )
                })
                .map_err(|e| start_err(&e))?;
            // The broker reports a failed build; a good one is ready once it accepts connections.
            match ready_rx.recv_timeout(Duration::from_secs(30)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(BrokerError::Start(e)),
                Err(e) => return Err(start_err(&e)),
            }
            connect_within(&addr.to_string(), Duration::from_secs(10)).map_err(|e| start_err(&e))?;
            Ok(Self {
                addr,
                stop: Some(stop_tx),
                thread: Some(thread),
            })
        }
    }

    fn run(
        port: u16,
        advertised: u16,
        stop: oneshot::Receiver<()>,
        ready: std::sync::mpsc::Sender<Result<(), String>>,
    ) {
        let rt = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("kwire-broker-rt")
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                let _ = ready.send(Err(e.to_string()));
                return;
            }
        };
        rt.block_on(async move {
            let urls = (
                url::Url::parse(&format!("tcp://127.0.0.1:{port}")),
                url::Url::parse(&format!("tcp://127.0.0.1:{advertised}")),
                url::Url::parse("memory://tansu/"),
            );
            let (Ok(listener), Ok(advertised), Ok(storage)) = urls else {
                let _ = ready.send(Err("bad listener or storage url".into()));
                return;
            };
            let built = Broker::<Controller<StorageContainer>, StorageContainer>::builder()
                .node_id(111)
                .cluster_id("kwire")
                .incarnation_id(uuid::Uuid::new_v4())
                .advertised_listener(advertised)
                .storage(storage)
                .listener(listener)
                .silent(true)
                .build()
                .await;
            let mut broker = match built {
                Ok(b) => b,
                Err(e) => {
                    let _ = ready.send(Err(format!("{e:?}")));
                    return;
                }
            };
            let _ = ready.send(Ok(()));
            tokio::select! {
                res = broker.serve(tokio::time::Instant::now()) => {
                    if let Err(e) = res {
                        tracing::error!(error = ?e, "embedded broker stopped");
                    }
                }
                _ = stop => {}
            }
        });
        rt.shutdown_timeout(Duration::from_secs(2));
    }

    impl Drop for Handle {
        fn drop(&mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ephemeral_low, free_port};

    /// A port from the ephemeral range can go to any outgoing connection before a JVM binds it
    /// (Apache Kafka failed to start so in CI): the picks stay below it, free and distinct.
    #[test]
    fn free_ports_are_distinct_and_below_the_ephemeral_range() {
        let picks: Vec<u16> = (0..50).map(|_| free_port().expect("a free port")).collect();
        for &p in &picks {
            assert!(
                u32::from(p) < ephemeral_low(),
                "port {p} is in the ephemeral range"
            );
            std::net::TcpListener::bind(("127.0.0.1", p)).expect("the picked port binds");
        }
        let mut distinct = picks.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), picks.len(), "a port was picked twice: {picks:?}");
    }
}
