//! The async Kafka client: connections, version negotiation, metadata and leader routing, retries,
//! admin operations and offsets by group id (without group membership).
//!
//! ```no_run
//! # async fn demo() -> Result<(), kwire_connector::client::Error> {
//! use kwire_connector::client::{Client, OffsetSpec};
//!
//! let client = Client::builder().bootstrap("127.0.0.1:9092").build().await?;
//! client.create_topic("test", 3, 1).await?;
//! let end = client.list_offset("test", 0, OffsetSpec::Latest).await?;
//! # let _ = end; Ok(()) }
//! ```

mod admin;
mod connection;
mod consumer;
mod error;
mod fetch;
mod group;
mod group_admin;
pub mod partitioner;
mod producer;
mod properties;
pub mod raw;
mod sasl;
#[cfg(feature = "tls")]
mod tls;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use kwire_protocol::messages::metadata_request::MetadataRequestTopic;
use kwire_protocol::messages::metadata_response::MetadataResponseTopic;
use kwire_protocol::messages::{MetadataRequest, MetadataResponse};
use kwire_protocol::{ErrorCode, Uuid};

use connection::{Connection, ConnectionConfig};
use tracing::debug;

pub use admin::{OffsetSpec, TransactionDescription, TransactionState};
pub use consumer::{
    ConsumedBatch, Consumer, ConsumerBuilder, OutOfRange, OutOfRangePolicy, Record, Records, StartOffset,
};
pub use error::{BrokerError, ClientError, ConnectionError, Error, ProtocolError, TransactionError};
pub use fetch::{IsolationLevel, OffsetReset};
pub use group::{Assignor, GroupConsumer, GroupConsumerBuilder, GroupEvent, GroupProtocol, TopicPartition};
pub use group_admin::{GroupDescription, GroupListing, GroupMember, GroupOffset};
pub use producer::{Acks, DeliveryFuture, Producer, ProducerBuilder, ProducerRecord, RecordMetadata};
pub use properties::parse_properties;
pub use sasl::{SaslConfig, SaslMechanism, TokenProvider};
#[cfg(feature = "tls")]
pub use tls::TlsConfig;

/// Settings of a [`Client`], with the Java client's defaults.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    bootstrap: Vec<String>,
    connection: ConnectionConfig,
    retry_backoff: Duration,
    retry_backoff_max: Duration,
    retry_timeout: Duration,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            bootstrap: Vec::new(),
            connection: ConnectionConfig::default(),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1),
            retry_timeout: Duration::from_secs(60),
        }
    }
}

impl ClientBuilder {
    /// Adds bootstrap brokers: `host:port`, several separated by commas.
    pub fn bootstrap(mut self, brokers: &str) -> Self {
        self.bootstrap.extend(
            brokers
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
        self
    }

    /// The `client.id` sent with every request (default `kwire`).
    pub fn client_id(mut self, id: &str) -> Self {
        id.clone_into(&mut self.connection.client_id);
        self
    }

    /// How long one request may wait for its response (default 30 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.connection.request_timeout = timeout;
        self
    }

    /// How long retriable errors are retried before giving up (default 60 s).
    pub fn retry_timeout(mut self, timeout: Duration) -> Self {
        self.retry_timeout = timeout;
        self
    }

    /// The first backoff between retries (default 100 ms; doubles up to 1 s).
    pub fn retry_backoff(mut self, backoff: Duration) -> Self {
        self.retry_backoff = backoff;
        self
    }

    /// How long setting up a connection may take: the socket, TLS, ApiVersions and SASL together
    /// (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connection.connect_timeout = timeout;
        self
    }

    /// The longest a broker's throttle (KIP-219) holds a connection's requests back, whatever
    /// the broker asks for (default 30 s).
    pub fn max_throttle(mut self, max: Duration) -> Self {
        self.connection.max_throttle = max;
        self
    }

    /// The largest response frame accepted (default 100 MiB).
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.connection.max_frame_size = bytes;
        self
    }

    /// Authenticates every broker connection with SASL (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512),
    /// over plaintext or, with [`Self::tls`], over TLS (SASL_SSL).
    pub fn sasl(mut self, sasl: SaslConfig) -> Self {
        self.connection.sasl = Some(sasl);
        self
    }

    /// Secures every broker connection with TLS (feature `tls`; default: plaintext).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.connection.tls = Some(tls);
        self
    }

    /// Connects to a bootstrap broker and loads the cluster's brokers.
    pub async fn build(self) -> Result<Client, Error> {
        if self.bootstrap.is_empty() {
            return Err(Error::Client(ClientError::InvalidArgument(
                "no bootstrap broker given".into(),
            )));
        }
        let mut config = self;
        // A client's own counts, not those of another client built from a clone of this builder.
        config.connection.stats = Arc::default();
        let client = Client {
            inner: Arc::new(Inner {
                config,
                conns: std::sync::Mutex::new(HashMap::new()),
                meta: RwLock::new(Metadata::default()),
            }),
        };
        client.refresh_metadata(&[]).await?;
        Ok(client)
    }
}

/// What a [`Client`]'s connections have counted since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientMetrics {
    /// Connections made to brokers.
    pub connections: u64,
    /// Responses in which a broker throttled the client (throttle_time_ms > 0, KIP-219).
    pub throttled_responses: u64,
    /// The time those throttles held requests back, each capped at the maximum throttle.
    pub throttle_time: Duration,
    /// Requests that got no answer within the request timeout (each ended its connection).
    pub request_timeouts: u64,
    /// SASL re-authentications on open connections, before the session lifetime the broker
    /// granted ran out (KIP-368).
    pub reauthentications: u64,
}

/// What the client knows of the cluster.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    /// Broker id -> `host:port`.
    pub brokers: HashMap<i32, String>,
    /// The controller's broker id, -1 if unknown.
    pub controller_id: i32,
    /// Topics by name.
    pub topics: HashMap<String, TopicMetadata>,
}

/// A topic's partitions and their leaders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    /// The topic's name.
    pub name: String,
    /// The topic's id (nil before Kafka 2.8).
    pub id: Uuid,
    /// Partitions, by index.
    pub partitions: Vec<PartitionMetadata>,
}

/// A partition's leader and replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMetadata {
    /// The partition's index.
    pub id: i32,
    /// The leader's broker id, -1 if none.
    pub leader: i32,
    /// The leader's epoch, -1 if unknown.
    pub leader_epoch: i32,
    /// The partition's error, if the broker reported one.
    pub error: ErrorCode,
}

/// The cached form of a Metadata response's entry for a topic.
fn topic_metadata(name: String, t: &MetadataResponseTopic) -> TopicMetadata {
    let mut partitions: Vec<PartitionMetadata> = t
        .partitions
        .iter()
        .map(|p| PartitionMetadata {
            id: p.partition_index,
            leader: p.leader_id,
            leader_epoch: p.leader_epoch,
            error: ErrorCode(p.error_code),
        })
        .collect();
    partitions.sort_by_key(|p| p.id);
    TopicMetadata {
        name,
        id: t.topic_id,
        partitions,
    }
}

/// What a Metadata request asks about.
#[derive(Debug, Clone, Copy)]
enum Asked<'a> {
    /// Every topic.
    All,
    /// No topic: the brokers and the controller.
    BrokersOnly,
    /// These topics.
    Topics(&'a [&'a str]),
}

/// The connection to one broker address, once made.
type ConnectionSlot = Arc<tokio::sync::Mutex<Option<Arc<Connection>>>>;

#[derive(Debug)]
struct Inner {
    config: ClientBuilder,
    /// A slot per broker address: connecting to one broker holds up only the callers that want
    /// that broker.
    conns: std::sync::Mutex<HashMap<String, ConnectionSlot>>,
    meta: RwLock<Metadata>,
}

/// A client of one Kafka cluster. Cheap to clone; clones share connections and metadata.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl Client {
    /// A builder with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The connection to `addr`, made if there is none or the old one failed.
    pub(crate) async fn connection(&self, addr: &str) -> Result<Arc<Connection>, Error> {
        let slot = {
            let mut conns = match self.inner.conns.lock() {
                Ok(c) => c,
                Err(p) => p.into_inner(),
            };
            Arc::clone(conns.entry(addr.to_owned()).or_default())
        };
        // Callers for the same broker wait for one connect; others are not held up by it.
        let mut slot = slot.lock().await;
        if let Some(c) = slot.as_ref() {
            if !c.is_closed() {
                return Ok(Arc::clone(c));
            }
        }
        let conn = Arc::new(Connection::connect(addr, self.inner.config.connection.clone()).await?);
        *slot = Some(Arc::clone(&conn));
        Ok(conn)
    }

    /// The connection to broker `id`. An id the cached metadata does not list (a broker that
    /// joined since, named by a leader or a coordinator) asks for the metadata again first.
    pub(crate) async fn broker(&self, id: i32) -> Result<Arc<Connection>, Error> {
        let mut addr = self.read_meta(|m| m.brokers.get(&id).cloned());
        if addr.is_none() {
            self.refresh_with(Asked::BrokersOnly).await?;
            addr = self.read_meta(|m| m.brokers.get(&id).cloned());
        }
        match addr {
            Some(addr) => self.connection(&addr).await,
            None => Err(Error::Client(ClientError::UnknownBroker { id })),
        }
    }

    /// A connection to any live broker: known brokers first, then the bootstrap list.
    pub(crate) async fn any_broker(&self) -> Result<Arc<Connection>, Error> {
        let mut addrs: Vec<String> = self.read_meta(|m| {
            let mut ids: Vec<_> = m.brokers.iter().collect();
            ids.sort();
            ids.into_iter().map(|(_, a)| a.clone()).collect()
        });
        addrs.extend(self.inner.config.bootstrap.iter().cloned());
        let mut last = None;
        for addr in &addrs {
            match self.connection(addr).await {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e),
            }
        }
        match last {
            // The broker refused this client's credentials or certificate: that is the error,
            // not the reachability of the cluster.
            Some(e @ Error::Connection(ConnectionError::Sasl { .. } | ConnectionError::Tls { .. })) => Err(e),
            last => Err(Error::Connection(ConnectionError::NoBrokerReachable {
                bootstrap: self.inner.config.bootstrap.join(","),
                last: last.map_or_else(|| "no address".to_owned(), |e| e.to_string()),
            })),
        }
    }

    fn read_meta<T>(&self, f: impl FnOnce(&Metadata) -> T) -> T {
        match self.inner.meta.read() {
            Ok(m) => f(&m),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// What the client's connections have counted: connections made, throttles, timeouts.
    pub fn metrics(&self) -> ClientMetrics {
        use std::sync::atomic::Ordering::Relaxed;
        let stats = &self.inner.config.connection.stats;
        ClientMetrics {
            connections: stats.connections.load(Relaxed),
            throttled_responses: stats.throttled.load(Relaxed),
            throttle_time: Duration::from_millis(stats.throttle_ms.load(Relaxed)),
            request_timeouts: stats.timeouts.load(Relaxed),
            reauthentications: stats.reauthentications.load(Relaxed),
        }
    }

    /// A copy of what the client knows of the cluster.
    pub fn metadata(&self) -> Metadata {
        self.read_meta(Clone::clone)
    }

    /// Asks a broker for the metadata of `topics` (none: every topic) and updates the cache.
    pub(crate) async fn refresh_metadata(&self, topics: &[&str]) -> Result<MetadataResponse, Error> {
        Ok(self.refresh(topics).await?.0)
    }

    /// [`Self::refresh_metadata`], with the address of the broker that answered. Metadata is
    /// safe to ask again: a connection that ends under it (closed, reset, no answer in time) is
    /// replaced and the request sent again, within the retry timeout.
    async fn refresh(&self, topics: &[&str]) -> Result<(MetadataResponse, String), Error> {
        self.refresh_with(if topics.is_empty() {
            Asked::All
        } else {
            Asked::Topics(topics)
        })
        .await
    }

    async fn refresh_with(&self, asked: Asked<'_>) -> Result<(MetadataResponse, String), Error> {
        let cfg = &self.inner.config;
        let deadline = Instant::now() + cfg.retry_timeout;
        let mut backoff = cfg.retry_backoff;
        loop {
            match self.refresh_once(asked).await {
                Err(e) if e.is_connection_error() && Instant::now() + backoff < deadline => {
                    debug!(error = %e, "metadata request lost with its connection: asking again");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(cfg.retry_backoff_max);
                }
                other => return other,
            }
        }
    }

    async fn refresh_once(&self, asked: Asked<'_>) -> Result<(MetadataResponse, String), Error> {
        let topics = match asked {
            Asked::Topics(topics) => topics,
            Asked::All | Asked::BrokersOnly => &[],
        };
        let conn = self.any_broker().await?;
        let resp = conn
            .send_built(|_| MetadataRequest {
                topics: match asked {
                    Asked::All => None,
                    Asked::BrokersOnly => Some(Vec::new()),
                    Asked::Topics(topics) => Some(
                        topics
                            .iter()
                            .map(|t| MetadataRequestTopic {
                                name: Some((*t).to_owned()),
                                ..Default::default()
                            })
                            .collect(),
                    ),
                },
                allow_auto_topic_creation: false,
                ..Default::default()
            })
            .await?;
        // v13+: an error for the whole request (e.g. REBOOTSTRAP_REQUIRED, KIP-1102).
        let code = ErrorCode(resp.error_code);
        if !code.is_ok() {
            return Err(Error::broker("Metadata", code));
        }
        // Partition ids index the client's and the source's tables: a negative one is refused
        // here, before it is cached.
        let negative = resp.topics.iter().find_map(|t| {
            t.partitions
                .iter()
                .find(|p| p.partition_index < 0)
                .map(|p| (t.name.clone().unwrap_or_default(), p.partition_index))
        });
        if let Some((topic, partition)) = negative {
            return Err(Error::Protocol(ProtocolError::InvalidResponse {
                api: "Metadata",
                broker: conn.addr().to_owned(),
                reason: format!("topic {topic} lists partition {partition}"),
            }));
        }
        // Kafka answers every topic asked for, if only with an error: a response without one
        // is not the broker saying the topic does not exist.
        if let Some(missing) = topics
            .iter()
            .find(|asked| !resp.topics.iter().any(|t| t.name.as_deref() == Some(**asked)))
        {
            return Err(Error::Protocol(ProtocolError::InvalidResponse {
                api: "Metadata",
                broker: conn.addr().to_owned(),
                reason: format!("topic {missing} was asked about and is not in the response"),
            }));
        }
        let mut meta = match self.inner.meta.write() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        meta.brokers = resp
            .brokers
            .iter()
            .map(|b| (b.node_id, format!("{}:{}", b.host, b.port)))
            .collect();
        meta.controller_id = resp.controller_id;
        for t in &resp.topics {
            let Some(name) = t.name.clone() else { continue };
            if ErrorCode(t.error_code).is_ok() {
                meta.topics.insert(name.clone(), topic_metadata(name, t));
            } else {
                meta.topics.remove(&name);
            }
        }
        debug!(
            brokers = meta.brokers.len(),
            topics = meta.topics.len(),
            "metadata refreshed"
        );
        Ok((resp, conn.addr().to_owned()))
    }

    /// How many partitions `topic` has: from the cache without copying its metadata (the
    /// producer asks for every record without a partition), else as [`Self::topic`].
    pub(crate) async fn partition_count(&self, topic: &str) -> Result<usize, Error> {
        if let Some(n) = self.read_meta(|m| m.topics.get(topic).map(|t| t.partitions.len())) {
            return Ok(n);
        }
        Ok(self.topic(topic).await?.partitions.len())
    }

    /// The metadata of `topic`, asked for if not cached; an error if the topic does not exist.
    pub async fn topic(&self, topic: &str) -> Result<TopicMetadata, Error> {
        if let Some(t) = self.read_meta(|m| m.topics.get(topic).cloned()) {
            return Ok(t);
        }
        let (resp, broker) = self.refresh(&[topic]).await?;
        // Taken from the response rather than from the cache, which another task may have
        // invalidated since.
        match resp.topics.iter().find(|t| t.name.as_deref() == Some(topic)) {
            Some(t) if ErrorCode(t.error_code).is_ok() => Ok(topic_metadata(topic.to_owned(), t)),
            Some(t) => Err(Error::broker_at("Metadata", ErrorCode(t.error_code), topic, None)),
            None => Err(Error::Protocol(ProtocolError::InvalidResponse {
                api: "Metadata",
                broker,
                reason: format!("topic {topic} was asked about and is not in the response"),
            })),
        }
    }

    /// The connection to the leader of `topic`-`partition`.
    pub(crate) async fn leader(&self, topic: &str, partition: i32) -> Result<Arc<Connection>, Error> {
        let t = self.topic(topic).await?;
        let leader = t
            .partitions
            .iter()
            .find(|p| p.id == partition)
            .map(|p| p.leader)
            .filter(|l| *l >= 0);
        match leader {
            Some(id) => self.broker(id).await,
            None => Err(Error::Client(ClientError::NoLeader {
                topic: topic.to_owned(),
                partition,
            })),
        }
    }

    /// Forgets the cached metadata of `topic`, so the next use asks again.
    pub(crate) fn invalidate(&self, topic: &str) {
        if let Ok(mut m) = self.inner.meta.write() {
            m.topics.remove(topic);
        }
    }

    /// Runs `op` until it succeeds, fails with a non-retriable error, or the retry timeout passes;
    /// between tries it waits (doubling the backoff) and, when the error says leaders moved,
    /// forgets the metadata of `topic`.
    pub(crate) async fn retry<T, F, Fut>(&self, topic: Option<&str>, mut op: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let cfg = &self.inner.config;
        let deadline = Instant::now() + cfg.retry_timeout;
        let mut backoff = cfg.retry_backoff;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retriable() && Instant::now() + backoff < deadline => {
                    debug!(error = %e, attempts, "retrying");
                    if e.needs_metadata_refresh() {
                        if let Some(t) = topic {
                            self.invalidate(t);
                        }
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(cfg.retry_backoff_max);
                }
                Err(e) if e.is_retriable() => {
                    return Err(Error::Client(ClientError::RetriesExhausted {
                        attempts,
                        last: Box::new(e),
                    }))
                }
                Err(e) => return Err(e),
            }
        }
    }
}
