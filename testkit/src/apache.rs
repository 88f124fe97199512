//! Apache Kafka, the reference broker, started by the testkit as a child process.
//!
//! [`ApacheKafka::start`] runs a one-node KRaft cluster (broker and controller in one process) on
//! free loopback ports, with its storage formatted in a fresh temporary directory, and returns once
//! the broker answers Metadata. Dropping it kills the process and removes the directory. The
//! broker's log goes to a file in that directory; [`ApacheKafka::log_tail`] reads its end for a
//! failing test to print.
//!
//! The jars come from Maven Central through `mvn` (the pom in `testkit/apache/`), resolved once
//! into the cache ([`cache_dir`]); a lock file serialises concurrent resolutions. Without `java` or
//! `mvn` on the machine, starting fails with one line that says which is missing.
//!
//! References: Kafka's "KRaft" operations guide (process.roles, controller.quorum.voters,
//! `kafka-storage.sh format`); KIP-500, KIP-631.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use kwire_protocol::frame::{decode_response, encode_request, FrameDecoder};
use kwire_protocol::messages::{ApiKey, MetadataRequest, ResponseBody};

use crate::broker::{free_port, BrokerError};

/// The Apache Kafka version the tests run by default: the newest 4.x that resolves from Maven
/// Central. The one place it is named; the Java peer's kafka-clients follows it.
pub const KAFKA_VERSION: &str = "4.4.0";

/// The last 3.x release, the older broker the tests also run against (`KWIRE_KAFKA_VERSION`):
/// 3.x clusters are still everywhere, and 3.9 runs in KRaft mode on Java 17.
pub const KAFKA_3_VERSION: &str = "3.9.1";

/// The Apache Kafka version [`ApacheKafka::start`] runs: `KWIRE_KAFKA_VERSION` when set, else
/// [`KAFKA_VERSION`]. It takes a version on Maven Central (`3.8.1`), or `3` for
/// [`KAFKA_3_VERSION`] and `4` for [`KAFKA_VERSION`], so scripts need not repeat the pins.
pub fn kafka_version() -> String {
    let asked = std::env::var("KWIRE_KAFKA_VERSION").unwrap_or_default();
    match asked.trim() {
        "" | "4" => KAFKA_VERSION.to_owned(),
        "3" => KAFKA_3_VERSION.to_owned(),
        v => v.to_owned(),
    }
}

/// The broker's pom (its version is passed as `-Dkafka.version`).
const BROKER_POM: &str = include_str!("../apache/pom.xml");
const TOOLS_POM: &str = include_str!("../apache/tools-pom.xml");

/// How long a broker may take from the start of its process to answering Metadata.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// The directory the testkit keeps resolved jars and built peers in: `$KWIRE_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/kwire`, else `$HOME/.cache/kwire`, else `kwire-cache` in the temp dir.
pub fn cache_dir() -> PathBuf {
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("KWIRE_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("kwire")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("kwire")))
        .unwrap_or_else(|| std::env::temp_dir().join("kwire-cache"))
}

/// The `java` to run: `$JAVA_HOME/bin/java` when set, else `java` on the PATH.
pub fn java() -> PathBuf {
    match std::env::var_os("JAVA_HOME").filter(|v| !v.is_empty()) {
        Some(home) => Path::new(&home).join("bin").join("java"),
        None => PathBuf::from("java"),
    }
}

/// Checks that `program` runs (`program -version`), or says that it is missing and what needs it.
pub(crate) fn require_tool(program: &Path, what: &str) -> Result<(), BrokerError> {
    let status = Command::new(program)
        .arg("-version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(BrokerError::MissingTool(format!(
            "`{} -version` failed ({s}); {what}",
            program.display()
        ))),
        Err(e) => Err(BrokerError::MissingTool(format!(
            "cannot run `{}` ({e}); {what}",
            program.display()
        ))),
    }
}

/// Resolves the dependencies of `pom` (with `-Dkafka.version=version`) into
/// `cache_dir()/name-version/libs` once, and returns that directory. Concurrent callers (test
/// threads, test processes) wait on a lock file; a half-done resolution is never used.
pub fn maven_libs(name: &str, pom: &str, version: &str) -> Result<PathBuf, BrokerError> {
    let root = cache_dir().join(format!("{name}-{version}"));
    let libs = root.join("libs");
    let done = root.join("libs.done");
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        BrokerError::Start(format!("{what} ({}): {e}", root.display()))
    };
    if done.exists() {
        return Ok(libs);
    }
    std::fs::create_dir_all(&root).map_err(|e| fail("cannot create the cache", &e))?;
    let lock = File::create(root.join("lock")).map_err(|e| fail("cannot create the lock", &e))?;
    lock.lock().map_err(|e| fail("cannot take the lock", &e))?;
    if done.exists() {
        return Ok(libs);
    }
    require_tool(
        Path::new("mvn"),
        "Maven is needed to fetch Apache Kafka's jars from Maven Central",
    )?;
    std::fs::write(root.join("pom.xml"), pom).map_err(|e| fail("cannot write the pom", &e))?;
    let partial = root.join("libs.partial");
    let _ = std::fs::remove_dir_all(&partial);
    let _ = std::fs::remove_dir_all(&libs);
    let out = Command::new("mvn")
        .current_dir(&root)
        .args(["-B", "-q", "-f", "pom.xml", "dependency:copy-dependencies"])
        .arg(format!("-Dkafka.version={version}"))
        .arg(format!("-DoutputDirectory={}", partial.display()))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail("cannot run mvn", &e))?;
    if !out.status.success() {
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        return Err(BrokerError::Start(format!(
            "mvn could not resolve {name} {version} ({}): {}",
            out.status,
            last_lines(&text, 15)
        )));
    }
    std::fs::rename(&partial, &libs).map_err(|e| fail("cannot move the jars in place", &e))?;
    File::create(&done).map_err(|e| fail("cannot mark the jars resolved", &e))?;
    Ok(libs)
}

/// Runs one of Apache Kafka's command-line tools (`main_class` of module kafka-tools, e.g.
/// `org.apache.kafka.tools.consumer.group.ConsumerGroupCommand`) with `args`, fetching the tools
/// from Maven Central the first time; its stdout, or why it could not run or failed.
pub fn kafka_tool(main_class: &str, args: &[&str]) -> Result<String, BrokerError> {
    let libs = maven_libs("kafka-tools", TOOLS_POM, &kafka_version())?;
    let java = java();
    require_tool(&java, "Java is needed to run Apache Kafka's tools")?;
    let out = Command::new(&java)
        .arg("-cp")
        .arg(classpath(&libs))
        .arg(main_class)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| BrokerError::Start(format!("cannot run {main_class}: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(BrokerError::Start(format!(
            "{main_class} {args:?} failed ({}): {}{}",
            out.status,
            last_lines(&stdout, 10),
            last_lines(&String::from_utf8_lossy(&out.stderr), 15)
        )));
    }
    Ok(stdout)
}

/// The classpath of every jar in `libs`, for `java -cp`.
pub fn classpath(libs: &Path) -> String {
    format!("{}/*", libs.display())
}

/// A running one-node Apache Kafka (KRaft, broker and controller in one process).
#[derive(Debug)]
pub struct ApacheKafka {
    /// The shell that runs the broker; `None` until it is spawned.
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
    advertised: u16,
    /// The SASL_PLAINTEXT listener's port, when it has one.
    sasl_port: Option<u16>,
    /// The SASL_SSL listener's port, when it has one.
    sasl_ssl_port: Option<u16>,
}

impl ApacheKafka {
    /// Starts a broker on a free port that advertises that port (or `advertised`, for a proxy in
    /// front of it), and waits until it answers Metadata.
    pub fn start(advertised: Option<u16>) -> Result<Self, BrokerError> {
        Self::start_with(0, advertised, &[])
    }

    /// Like [`ApacheKafka::start`], listening on `port` (0: a free one), with extra
    /// `server.properties` lines (`key=value`).
    ///
    /// A port taken between its pick and the broker's bind ("Address already in use") starts the
    /// broker again on fresh ports, up to three times: the ports are ours to pick except a
    /// `port` the caller gave.
    pub fn start_with(port: u16, advertised: Option<u16>, extra: &[&str]) -> Result<Self, BrokerError> {
        Self::start_retrying(port, advertised, extra, &[])
    }

    /// A broker with two more listeners, SASL_PLAINTEXT and SASL_SSL, each on a port of its own
    /// ([`ApacheKafka::sasl_bootstrap`], [`ApacheKafka::sasl_ssl_bootstrap`]), that enable
    /// PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for `users` (name, password), and OAUTHBEARER with
    /// Kafka's unsecured-token validator. The SASL_SSL listener presents the certificate of
    /// `testkit/tests/fixtures/tls` (CA: [`TEST_CA_PEM`]; names localhost and 127.0.0.1). The
    /// PLAINTEXT listener stays for readiness and for tests that send SASL to a listener without
    /// it.
    pub fn start_sasl(users: &[(&str, &str)]) -> Result<Self, BrokerError> {
        Self::start_retrying(0, None, &[], users)
    }

    /// Like [`ApacheKafka::start_sasl`], with extra `server.properties` lines (`key=value`), such
    /// as `connections.max.reauth.ms` for re-authentication (KIP-368).
    pub fn start_sasl_with(users: &[(&str, &str)], extra: &[&str]) -> Result<Self, BrokerError> {
        Self::start_retrying(0, None, extra, users)
    }

    fn start_retrying(
        port: u16,
        advertised: Option<u16>,
        extra: &[&str],
        sasl_users: &[(&str, &str)],
    ) -> Result<Self, BrokerError> {
        let mut attempt = 1;
        loop {
            match Self::start_once(port, advertised, extra, sasl_users) {
                Err(BrokerError::Start(why)) if attempt < 3 && why.contains("Address already in use") => {
                    eprintln!(
                        "Apache Kafka lost a port to another process before binding it; starting it again"
                    );
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn start_once(
        port: u16,
        advertised: Option<u16>,
        extra: &[&str],
        sasl_users: &[(&str, &str)],
    ) -> Result<Self, BrokerError> {
        let java = java();
        require_tool(
            &java,
            "Java 17+ is needed to run Apache Kafka (set JAVA_HOME or PATH)",
        )?;
        let libs = maven_libs("apache-kafka", BROKER_POM, &kafka_version())?;
        let io = |what: &str| {
            let what = what.to_owned();
            move |e: std::io::Error| BrokerError::Start(format!("{what}: {e}"))
        };
        let port = match port {
            0 => free_port().map_err(io("no free port"))?,
            p => p,
        };
        let controller = free_port().map_err(io("no free port"))?;
        let (sasl_port, sasl_ssl_port) = if sasl_users.is_empty() {
            (None, None)
        } else {
            (
                Some(free_port().map_err(io("no free port"))?),
                Some(free_port().map_err(io("no free port"))?),
            )
        };
        let advertised = advertised.unwrap_or(port);
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "kwire-apache-{}-{}-{port}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(dir.join("data")).map_err(io("cannot create its directory"))?;
        // From here on, dropping `broker` removes the directory (and kills the broker, once it runs).
        let mut broker = Self {
            child: None,
            dir,
            port,
            advertised,
            sasl_port,
            sasl_ssl_port,
        };
        let mut lines: Vec<String> = extra.iter().map(|l| (*l).to_owned()).collect();
        let mut format_args = Vec::new();
        if let (Some(sasl), Some(ssl)) = (sasl_port, sasl_ssl_port) {
            let keystore = broker.dir.join("keystore.pem");
            std::fs::write(&keystore, [TEST_SERVER_KEY_PEM, TEST_SERVER_CERT_PEM].concat())
                .map_err(io("cannot write its keystore"))?;
            let ports = SaslPorts {
                port,
                advertised: broker.advertised,
                controller,
                sasl,
                ssl,
            };
            lines.extend(sasl_config(&ports, &keystore, sasl_users));
            for (name, password) in sasl_users {
                for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
                    format_args.push(format!(
                        "--add-scram={mechanism}=[name={name},password={password}]"
                    ));
                }
            }
        }
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        broker
            .write_config(controller, &lines)
            .map_err(io("cannot write its config"))?;
        broker.format(&java, &libs, &format_args)?;
        broker.child = Some(broker.spawn(&java, &libs)?);
        broker.wait_ready()?;
        Ok(broker)
    }

    /// `127.0.0.1:port` of the SASL_PLAINTEXT listener, for a broker from
    /// [`ApacheKafka::start_sasl`].
    pub fn sasl_bootstrap(&self) -> Option<String> {
        self.sasl_port.map(|p| format!("127.0.0.1:{p}"))
    }

    /// `127.0.0.1:port` of the SASL_SSL listener, for a broker from [`ApacheKafka::start_sasl`].
    pub fn sasl_ssl_bootstrap(&self) -> Option<String> {
        self.sasl_ssl_port.map(|p| format!("127.0.0.1:{p}"))
    }

    /// `127.0.0.1:port` the broker advertises.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.advertised)
    }

    /// The port the broker listens on (differs from the advertised one behind a proxy).
    pub fn listening_port(&self) -> u16 {
        self.port
    }

    /// The broker's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("broker.log")
    }

    /// The last `lines` lines of the broker's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        last_lines(&text, lines)
    }

    /// Waits for the process to end (it runs until killed).
    pub fn wait(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.wait();
        }
    }

    fn write_config(&self, controller: u16, extra: &[&str]) -> std::io::Result<()> {
        let data = self.dir.join("data");
        let mut props = format!(
            "process.roles=broker,controller\n\
             node.id=1\n\
             controller.quorum.voters=1@127.0.0.1:{controller}\n\
             listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\n\
             advertised.listeners=PLAINTEXT://127.0.0.1:{advertised}\n\
             controller.listener.names=CONTROLLER\n\
             inter.broker.listener.name=PLAINTEXT\n\
             listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
             log.dirs={data}\n\
             num.partitions=1\n\
             offsets.topic.replication.factor=1\n\
             offsets.topic.num.partitions=1\n\
             transaction.state.log.replication.factor=1\n\
             transaction.state.log.min.isr=1\n\
             transaction.state.log.num.partitions=1\n\
             share.coordinator.state.topic.replication.factor=1\n\
             share.coordinator.state.topic.min.isr=1\n\
             group.initial.rebalance.delay.ms=0\n\
             transaction.abort.timed.out.transaction.cleanup.interval.ms=500\n\
             log.retention.check.interval.ms=500\n",
            port = self.port,
            advertised = self.advertised,
            data = data.display(),
        );
        for line in extra {
            props.push_str(line);
            props.push('\n');
        }
        std::fs::write(self.dir.join("server.properties"), props)?;
        std::fs::write(
            self.dir.join("log4j2.properties"),
            "status = error\n\
             appender.out.type = Console\n\
             appender.out.name = out\n\
             appender.out.layout.type = PatternLayout\n\
             appender.out.layout.pattern = [%d] %p %m (%c)%n\n\
             rootLogger.level = INFO\n\
             rootLogger.appenderRef.out.ref = out\n\
             logger.kafka.name = kafka\n\
             logger.kafka.level = INFO\n\
             logger.clients.name = org.apache.kafka\n\
             logger.clients.level = WARN\n",
        )
    }

    fn java_command(&self, java: &Path, libs: &Path) -> Command {
        let mut cmd = Command::new(java);
        cmd.current_dir(&self.dir)
            .arg("-Xms128m")
            .arg("-Xmx1g")
            .arg(format!(
                "-Dlog4j2.configurationFile={}",
                self.dir.join("log4j2.properties").display()
            ))
            .arg("-cp")
            .arg(classpath(libs));
        cmd
    }

    /// `kafka-storage format` with a fresh cluster id, and `extra` arguments (SCRAM credentials).
    fn format(&self, java: &Path, libs: &Path, extra: &[String]) -> Result<(), BrokerError> {
        let out = self
            .java_command(java, libs)
            .args(["kafka.tools.StorageTool", "format"])
            .args(extra)
            // One argument: an id that starts with '-' must not read as an option.
            .arg(format!("--cluster-id={}", cluster_id(self.port)))
            .arg("-c")
            .arg(self.dir.join("server.properties"))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| BrokerError::Start(format!("cannot run {}: {e}", java.display())))?;
        if out.status.success() {
            return Ok(());
        }
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        Err(BrokerError::Start(format!(
            "Apache Kafka's storage format failed ({}): {}",
            out.status,
            last_lines(&text, 15)
        )))
    }

    /// The broker as a child of a small shell that kills it when this process goes away (its
    /// stdin, a pipe from us, reaches end of file), so a killed test leaves no broker behind.
    fn spawn(&self, java: &Path, libs: &Path) -> Result<Child, BrokerError> {
        let cmd = self.java_command(java, libs);
        let mut line = String::new();
        let _ = write!(line, "exec {}", shell_quote(&cmd.get_program().to_string_lossy()));
        for arg in cmd.get_args() {
            let _ = write!(line, " {}", shell_quote(&arg.to_string_lossy()));
        }
        line.push_str(" kafka.Kafka server.properties");
        // A background job of a non-interactive shell reads /dev/null unless told otherwise: the
        // watcher reads our pipe through fd 3.
        let script = format!(
            "exec 3<&0\n\
             ( {line} ) </dev/null >broker.log 2>&1 & pid=$!\n\
             ( cat <&3 >/dev/null; kill -9 $pid 2>/dev/null ) &\n\
             trap 'kill -9 $pid 2>/dev/null; exit 0' TERM INT\n\
             wait $pid\n"
        );
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| BrokerError::Start(format!("cannot start Apache Kafka: {e}")))
    }

    /// Waits until the broker answers a Metadata request with itself as a broker.
    fn wait_ready(&mut self) -> Result<(), BrokerError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let exited = self.child.as_mut().map(|c| c.try_wait());
            if let Some(Ok(Some(status))) = exited {
                return Err(BrokerError::Start(format!(
                    "Apache Kafka exited ({status}) before it was ready; its log ends:\n{}",
                    self.log_tail(30)
                )));
            }
            let last = match metadata_brokers(self.port) {
                Ok(n) if n > 0 => return Ok(()),
                Ok(_) => "Metadata lists no broker yet".to_owned(),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                return Err(BrokerError::Start(format!(
                    "Apache Kafka did not answer Metadata within {}s ({last}); its log ends:\n{}",
                    START_TIMEOUT.as_secs(),
                    self.log_tail(30)
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for ApacheKafka {
    fn drop(&mut self) {
        // Closing the shell's stdin kills the broker; kill the shell too, then tidy up.
        if let Some(child) = &mut self.child {
            drop(child.stdin.take());
            let _ = child.kill();
            let _ = child.wait();
        }
        // The watcher kills the JVM a moment after its pipe closes: wait until the port is shut.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            std::thread::sleep(Duration::from_millis(50));
        }
        // The broker may take a moment to die after the shell: removing the directory can race
        // its last writes, so try a few times.
        for _ in 0..20 {
            if std::fs::remove_dir_all(&self.dir).is_ok() || !self.dir.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The CA of the test certificates (`testkit/tests/fixtures/tls`), which a client of
/// [`ApacheKafka::start_sasl`]'s SASL_SSL listener trusts.
pub const TEST_CA_PEM: &[u8] = include_bytes!("../tests/fixtures/tls/ca.pem");
const TEST_SERVER_CERT_PEM: &[u8] = include_bytes!("../tests/fixtures/tls/server.pem");
const TEST_SERVER_KEY_PEM: &[u8] = include_bytes!("../tests/fixtures/tls/server.key");

/// The ports of a broker with SASL listeners.
struct SaslPorts {
    port: u16,
    advertised: u16,
    controller: u16,
    sasl: u16,
    ssl: u16,
}

/// The `server.properties` lines that add SASL_PLAINTEXT and SASL_SSL listeners with PLAIN
/// users, SCRAM (its credentials are added at format time) and OAUTHBEARER enabled; the SSL one
/// with the PEM `keystore`. Later lines override the defaults of [`ApacheKafka::write_config`].
fn sasl_config(p: &SaslPorts, keystore: &Path, users: &[(&str, &str)]) -> Vec<String> {
    let plain_users: String = users
        .iter()
        .map(|(name, password)| format!(" user_{name}=\"{password}\""))
        .collect();
    let (port, controller, sasl, ssl) = (p.port, p.controller, p.sasl, p.ssl);
    let mut lines = vec![
        format!(
            "listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller},SASL_PLAINTEXT://127.0.0.1:{sasl},SASL_SSL://127.0.0.1:{ssl}"
        ),
        format!(
            "advertised.listeners=PLAINTEXT://127.0.0.1:{},SASL_PLAINTEXT://127.0.0.1:{sasl},SASL_SSL://127.0.0.1:{ssl}",
            p.advertised
        ),
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL".to_owned(),
        "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER".to_owned(),
        "listener.name.sasl_ssl.ssl.keystore.type=PEM".to_owned(),
        format!("listener.name.sasl_ssl.ssl.keystore.location={}", keystore.display()),
    ];
    for listener in ["sasl_plaintext", "sasl_ssl"] {
        lines.extend([
            // Kafka's unsecured-token validator: it takes a JWS with "alg":"none" and checks its
            // sub, iat and exp claims. For tests only.
            format!("listener.name.{listener}.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;"),
            format!("listener.name.{listener}.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required{plain_users};"),
            format!("listener.name.{listener}.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"),
            format!("listener.name.{listener}.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"),
        ]);
    }
    lines
}

/// How many brokers a Metadata v12 answer from 127.0.0.1:`port` lists.
fn metadata_brokers(port: u16) -> Result<usize, String> {
    const VERSION: i16 = 12;
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let frame = encode_request(1, Some("kwire-testkit"), VERSION, &MetadataRequest::default())
        .map_err(|e| e.to_string())?;
    s.write_all(&frame).map_err(|e| e.to_string())?;
    let decoder = FrameDecoder::default();
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(frame) = decoder.decode(&mut buf).map_err(|e| e.to_string())? {
            let (_, body) = decode_response(frame, ApiKey(3), VERSION).map_err(|e| e.to_string())?;
            return match body {
                ResponseBody::Metadata(m) => Ok(m.brokers.len()),
                other => Err(format!("not a Metadata answer: {other:?}")),
            };
        }
        let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A KRaft cluster id: 16 bytes in URL-safe base64 without padding (22 characters), varied by
/// `seed`, the time and the process.
fn cluster_id(seed: u16) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut x = now ^ (u128::from(std::process::id()) << 64) ^ (u128::from(seed) << 96);
    (0..22)
        .map(|_| {
            let c = ALPHABET[(x % 64) as usize];
            x = (x / 64) ^ x.rotate_left(17);
            char::from(c)
        })
        .enumerate()
        // The last character carries only 2 bits of the 128: keep it one a decoder accepts. The
        // first is never '-', as in Kafka's own ids, so no command line takes the id for an option.
        .map(|(i, c)| match (i, c) {
            (21, _) => 'A',
            (0, '-') => 'K',
            _ => c,
        })
        .collect()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The last `n` lines of `text`.
pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_ids_are_22_url_safe_characters_and_differ() {
        let a = cluster_id(1);
        let b = cluster_id(2);
        assert_eq!(a.len(), 22);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a, b);
        for seed in 0..5000 {
            assert!(!cluster_id(seed).starts_with('-'), "{}", cluster_id(seed));
        }
    }

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines("a\nb\nc", 2), "b\nc");
        assert_eq!(last_lines("a", 5), "a");
    }
}
