//! One TCP connection to one broker: pipelined requests matched to responses by correlation id.
//!
//! A reader task owns the read half and hands each response frame to the request that waits for
//! it; a writer task owns the write half and writes whole frames in the order they were
//! submitted, flushing after each run of them. Submitting a request is synchronous, so a caller
//! dropped at any point never leaves half a frame on the wire, and requests go out in the order
//! they were submitted (what an idempotent producer's pipelined batches rely on). Version negotiation happens once, on connect
//! (ApiVersions), and [`Connection::version_for`] then picks the highest version both sides speak.
//! A connection-fatal error (IO, a malformed frame) fails every waiter and marks the connection
//! closed; the client builds a new one.
//!
//! SASL runs in the writer task too: it authenticates once the versions are known, and again
//! before the session lifetime the broker granted runs out (KIP-368), at a random point between
//! 85% and 95% of it as the Java client does (and at least 2 s before its end). A
//! re-authentication happens between two runs of frames: requests already written go on being
//! answered, and those submitted meanwhile wait in order behind it, so none is lost or
//! reordered.
//!
//! References: the Kafka protocol guide, "Network" and "Versioning and Compatibility"; KIP-35
//! (ApiVersions), KIP-511 (client software name/version), KIP-368 (re-authentication).

use crate::client::{ConnectionError, ProtocolError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kwire_protocol::frame::{encode_request, response_header_version, FrameDecoder, ResponseHeader};
use kwire_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, Message, Request, SaslAuthenticateRequest,
    SaslHandshakeRequest, VersionRange,
};
use kwire_protocol::{Decoder, ErrorCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, trace, warn};

use super::error::Error;

/// Settings of a raw connection ([`super::raw`]); a [`super::Client`] takes them from its builder.
///
/// New settings may come (TLS comes with the `tls` feature): build one from the default.
///
/// ```
/// use std::time::Duration;
/// use kwire_connector::client::raw::ConnectionConfig;
///
/// let config = ConnectionConfig::default().request_timeout(Duration::from_secs(5));
/// # let _ = config;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectionConfig {
    /// `client.id` sent in every request header.
    pub client_id: String,
    /// How long a request may wait for its response.
    pub request_timeout: Duration,
    /// How long setting up a connection may take: the socket, TLS, ApiVersions and SASL together.
    pub connect_timeout: Duration,
    /// The largest response frame accepted.
    pub max_frame_size: usize,
    /// The longest a broker's throttle (KIP-219) mutes a connection, whatever it asks for.
    pub max_throttle: Duration,
    /// What the connections made with this config count (shared by a client's connections).
    pub(crate) stats: Arc<ConnectionStats>,
    /// SASL authentication after ApiVersions; `None`: none.
    pub sasl: Option<super::SaslConfig>,
    /// TLS for the connection; `None`: plaintext.
    #[cfg(feature = "tls")]
    pub tls: Option<super::TlsConfig>,
}

impl ConnectionConfig {
    /// `client.id` sent in every request header.
    #[must_use]
    pub fn client_id(mut self, id: &str) -> Self {
        id.clone_into(&mut self.client_id);
        self
    }

    /// How long a request may wait for its response.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long setting up a connection may take: the socket, TLS, ApiVersions and SASL together.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The largest response frame accepted.
    #[must_use]
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// SASL authentication (PLAIN, SCRAM-SHA-256/512) on every connection, after ApiVersions.
    #[must_use]
    pub fn sasl(mut self, sasl: super::SaslConfig) -> Self {
        self.sasl = Some(sasl);
        self
    }

    /// The longest a broker's throttle (KIP-219) mutes a connection, whatever it asks for.
    #[must_use]
    pub fn max_throttle(mut self, max: Duration) -> Self {
        self.max_throttle = max;
        self
    }

    /// TLS for the connection.
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn tls(mut self, tls: super::TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            client_id: "kwire".to_owned(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_frame_size: kwire_protocol::frame::DEFAULT_MAX_FRAME_SIZE,
            max_throttle: Duration::from_secs(30),
            stats: Arc::default(),
            sasl: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// What a client's connections have counted: throttles and request timeouts.
#[derive(Debug, Default)]
pub(crate) struct ConnectionStats {
    /// Responses that asked the client to wait (throttle_time_ms > 0).
    pub(crate) throttled: AtomicU64,
    /// The waits those responses asked for, in milliseconds, each capped at the maximum.
    pub(crate) throttle_ms: AtomicU64,
    /// Requests that got no answer within the request timeout.
    pub(crate) timeouts: AtomicU64,
    /// Connections made.
    pub(crate) connections: AtomicU64,
    /// Re-authentications done on open connections (KIP-368).
    pub(crate) reauthentications: AtomicU64,
}

type Waiter = oneshot::Sender<Result<Bytes, Error>>;

/// The read side of a connection: a TCP read half, or the read side of a TLS stream.
type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
/// The write side of a connection.
type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

#[derive(Debug)]
struct Pending {
    api_key: ApiKey,
    version: i16,
    tx: Waiter,
}

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<HashMap<i32, Pending>>,
    /// Correlation ids of requests whose caller stopped waiting; their late responses are
    /// dropped quietly. Bounded: the oldest are forgotten.
    abandoned: Mutex<std::collections::VecDeque<i32>>,
    closed: AtomicBool,
    /// Why the connection ended, once it has.
    reason: Mutex<Option<String>>,
    /// Requests are not written before this instant: the broker throttled the client (KIP-219).
    muted_until: Mutex<Option<Instant>>,
    /// Wakes the writer when it waits out a mute and the connection ends.
    closing: tokio::sync::Notify,
    next_correlation_id: AtomicI32,
}

/// What the writer task is given, in order.
enum Out {
    /// A whole request frame.
    Frame(Bytes),
    /// Authenticate now, and again before each session the broker grants runs out.
    Authenticate(Box<Authenticate>),
}

struct Authenticate {
    sasl: super::SaslConfig,
    versions: SaslVersions,
    done: oneshot::Sender<Result<(), Error>>,
}

/// The versions of the SASL requests both sides speak.
#[derive(Debug, Clone, Copy)]
struct SaslVersions {
    handshake: i16,
    authenticate: i16,
}

/// The newest version of an API the client fills and reads correctly, for the APIs where that is
/// below the newest the codec speaks: [`Connection::version_for`] never picks a version above it.
/// Each entry says what the client lacks for the next version.
const CLIENT_MAX: &[(ApiKey, i16)] = &[
    // Produce 12 is transactions v2 (KIP-890 part 2): in a transaction the broker adds the
    // partition itself, and the producer's transaction state (AddPartitionsToTxn before the
    // first batch, one epoch per producer session) does not model that. Produce 13 also names
    // topics by id (KIP-516) instead of by name.
    (ApiKey::Produce, 11),
    // AddPartitionsToTxn 4+ is broker-to-broker (KIP-890 part 1): a client speaks 3 or lower.
    (ApiKey::AddPartitionsToTxn, 3),
    // EndTxn 5 is transactions v2: the coordinator bumps the epoch at every commit or abort and
    // answers with the producer id and epoch to use next; the producer keeps its epoch for the
    // session and would be fenced.
    (ApiKey::EndTxn, 4),
    // TxnOffsetCommit 5 is transactions v2 (it adds the group to the transaction itself, no
    // AddOffsetsToTxn); 6 names topics by id (KIP-1319).
    (ApiKey::TxnOffsetCommit, 4),
];

/// The newest version of `api` the client uses, if it uses fewer than the codec speaks.
pub(crate) fn client_max(api: ApiKey) -> Option<i16> {
    CLIENT_MAX.iter().find(|(k, _)| *k == api).map(|(_, v)| *v)
}

/// How many abandoned correlation ids are remembered.
const ABANDONED_MEMORY: usize = 4096;

impl Shared {
    fn next_correlation_id(&self) -> i32 {
        self.next_correlation_id.fetch_add(1, Ordering::Relaxed) & i32::MAX
    }

    /// Registers the wait for the answer to `correlation_id`: under the lock the reader drains,
    /// and only while the connection is open (the reader marks it closed before it drains the
    /// map under the same lock, so a request registered after that drain would wait out its
    /// whole timeout for nothing). `None` when the connection has ended.
    fn register(
        self: &Arc<Self>,
        correlation_id: i32,
        api_key: ApiKey,
        version: i16,
    ) -> Option<(oneshot::Receiver<Result<Bytes, Error>>, PendingGuard)> {
        let (tx, rx) = oneshot::channel();
        let pending = Pending { api_key, version, tx };
        match self.pending.lock() {
            Ok(mut map) if !self.closed.load(Ordering::SeqCst) => {
                map.insert(correlation_id, pending);
            }
            _ => return None,
        }
        let guard = PendingGuard {
            shared: Arc::clone(self),
            correlation_id,
        };
        Some((rx, guard))
    }

    /// Remembers a request whose answer nobody waits for; its late response is dropped quietly.
    fn remember_abandoned(&self, correlation_id: i32) {
        if let Ok(mut ids) = self.abandoned.lock() {
            if ids.len() == ABANDONED_MEMORY {
                ids.pop_front();
            }
            ids.push_back(correlation_id);
        }
    }

    /// Fails every waiter: the connection is gone.
    fn fail_all(&self, addr: &str, why: &str) {
        if let Ok(mut reason) = self.reason.lock() {
            reason.get_or_insert_with(|| why.to_owned());
        }
        self.closed.store(true, Ordering::SeqCst);
        self.closing.notify_one();
        let drained: Vec<Pending> = match self.pending.lock() {
            Ok(mut map) => map.drain().map(|(_, p)| p).collect(),
            Err(_) => Vec::new(),
        };
        for p in drained {
            let _ = p.tx.send(Err(Error::Connection(ConnectionError::Closed {
                broker: addr.to_owned(),
                reason: why.to_owned(),
            })));
        }
    }
}

impl Shared {
    /// The error for a request on a connection that has ended, with why it ended.
    fn closed_error(&self, addr: &str) -> Error {
        let why = self
            .reason
            .lock()
            .ok()
            .and_then(|r| r.clone())
            .unwrap_or_else(|| "its reader stopped".to_owned());
        Error::Connection(ConnectionError::Closed {
            broker: addr.to_owned(),
            reason: format!("closed earlier: {why}"),
        })
    }

    /// Mutes the connection for `ms` (at most `max`) from now, as the broker asked.
    fn mute(&self, ms: i32, max: Duration) -> Duration {
        let wait = Duration::from_millis(u64::try_from(ms).unwrap_or(0)).min(max);
        let until = Instant::now() + wait;
        if let Ok(mut m) = self.muted_until.lock() {
            if m.is_none_or(|t| t < until) {
                *m = Some(until);
            }
        }
        wait
    }

    /// How long the connection stays muted from now.
    fn muted_for(&self) -> Duration {
        self.muted_until
            .lock()
            .ok()
            .and_then(|m| *m)
            .map_or(Duration::ZERO, |t| t.saturating_duration_since(Instant::now()))
    }
}

/// Removes a request's entry if its caller stops waiting (timeout or cancellation), so the map
/// cannot grow with abandoned requests.
struct PendingGuard {
    shared: Arc<Shared>,
    correlation_id: i32,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        let was_pending = match self.shared.pending.lock() {
            Ok(mut map) => map.remove(&self.correlation_id).is_some(),
            Err(_) => false,
        };
        if was_pending {
            self.shared.remember_abandoned(self.correlation_id);
        }
    }
}

/// A connection to one broker.
pub struct Connection {
    addr: String,
    config: ConnectionConfig,
    /// Frames for the writer task, in order.
    frames: mpsc::UnboundedSender<Out>,
    shared: Arc<Shared>,
    versions: HashMap<i16, VersionRange>,
    reader: tokio::task::JoinHandle<()>,
    writer: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.addr)
            .field("closed", &self.is_closed())
            .field("apis", &self.versions.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

impl Connection {
    /// Connects to `addr` and negotiates versions, all within the connect timeout.
    pub async fn connect(addr: &str, config: ConnectionConfig) -> Result<Self, Error> {
        let limit = config.connect_timeout;
        tokio::time::timeout(limit, Self::set_up(addr, config))
            .await
            .map_err(|_| {
                Error::Connection(ConnectionError::Timeout {
                    what: format!("connection setup with {addr} (socket, TLS, ApiVersions, SASL)"),
                    after: limit,
                })
            })?
    }

    async fn set_up(addr: &str, config: ConnectionConfig) -> Result<Self, Error> {
        let io_err = |e: std::io::Error| {
            Error::Connection(ConnectionError::Io {
                broker: addr.to_owned(),
                source: Arc::new(e),
            })
        };
        let stream = TcpStream::connect(addr).await.map_err(io_err)?;
        stream.set_nodelay(true).map_err(io_err)?;
        let (read, write) = Self::secure(addr, &config, stream).await?;
        let shared = Arc::new(Shared::default());
        let reader = tokio::spawn(read_loop(
            read,
            Arc::clone(&shared),
            addr.to_owned(),
            FrameDecoder::new(config.max_frame_size),
        ));
        let (frames, queued) = mpsc::unbounded_channel();
        let writer = Writer {
            write,
            shared: Arc::clone(&shared),
            addr: addr.to_owned(),
            client_id: config.client_id.clone(),
            request_timeout: config.request_timeout,
            stats: Arc::clone(&config.stats),
            session: None,
        };
        let writer = tokio::spawn(writer.run(queued));
        config.stats.connections.fetch_add(1, Ordering::Relaxed);
        let mut conn = Self {
            addr: addr.to_owned(),
            config,
            frames,
            shared,
            versions: HashMap::new(),
            reader,
            writer,
        };
        conn.versions = conn.negotiate().await?;
        if let Some(sasl) = conn.config.sasl.clone() {
            conn.authenticate(sasl).await?;
        }
        debug!(broker = %conn.addr, apis = conn.versions.len(), "connected");
        Ok(conn)
    }

    /// Splits the stream into its read and write sides, after a TLS handshake when TLS is on.
    async fn secure(
        addr: &str,
        config: &ConnectionConfig,
        stream: TcpStream,
    ) -> Result<(ReadHalf, WriteHalf), Error> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &config.tls {
            let stream = tls.handshake(addr, stream).await?;
            let (read, write) = tokio::io::split(stream);
            return Ok((Box::new(read), Box::new(write)));
        }
        let _ = (addr, config);
        let (read, write) = stream.into_split();
        Ok((Box::new(read), Box::new(write)))
    }

    /// ApiVersions at the newest version we speak; a broker that does not know it answers
    /// UNSUPPORTED_VERSION with v0 layout and its own range, and we ask again at the newest it has.
    async fn negotiate(&self) -> Result<HashMap<i16, VersionRange>, Error> {
        let ours = ApiVersionsRequest::VERSIONS;
        let mut version = ours.max;
        let mut req = ApiVersionsRequest {
            client_software_name: "kwire".to_owned(),
            client_software_version: env!("CARGO_PKG_VERSION").to_owned(),
            ..ApiVersionsRequest::default()
        };
        for _ in 0..2 {
            req.normalize_to(version);
            let resp = self.api_versions(&req, version).await?;
            let code = ErrorCode(resp.error_code);
            if code == ErrorCode::UNSUPPORTED_VERSION {
                let theirs = resp.api_keys.iter().find(|k| k.api_key == ApiKey::ApiVersions.0);
                let next = theirs
                    .and_then(|k| ours.highest_common(&VersionRange::new(k.min_version, k.max_version)));
                match next {
                    Some(v) if v < version => {
                        version = v;
                        continue;
                    }
                    _ => break,
                }
            }
            if !code.is_ok() {
                return Err(Error::broker("ApiVersions", code));
            }
            return Ok(resp
                .api_keys
                .iter()
                .map(|k| (k.api_key, VersionRange::new(k.min_version, k.max_version)))
                .collect());
        }
        Err(Error::Protocol(ProtocolError::UnsupportedVersion {
            api: "ApiVersions",
            broker: self.addr.clone(),
        }))
    }

    /// One ApiVersions exchange at `version`. A broker that does not know `version` answers
    /// UNSUPPORTED_VERSION in the version-0 layout (KIP-511): the error code leads the body in
    /// every version, so it says which layout to read.
    async fn api_versions(
        &self,
        req: &ApiVersionsRequest,
        version: i16,
    ) -> Result<ApiVersionsResponse, Error> {
        let (rx, guard) = self.submit(req, version, true)?;
        let body = Self::body::<ApiVersionsRequest>(
            rx,
            guard,
            &self.addr,
            self.config.request_timeout,
            &self.config.stats,
        )
        .await?;
        let unsupported = body.get(..2) == Some(&ErrorCode::UNSUPPORTED_VERSION.0.to_be_bytes()[..]);
        let layout = if unsupported { 0 } else { version };
        ApiVersionsResponse::decode_bytes(body, layout).map_err(|source| {
            Error::Protocol(ProtocolError::Decode {
                api: ApiVersionsRequest::NAME,
                source,
            })
        })
    }

    /// Has the writer task authenticate (see [`Writer::authenticate`]) before anything else is
    /// sent, and keep the session alive.
    async fn authenticate(&self, sasl: super::SaslConfig) -> Result<(), Error> {
        let versions = SaslVersions {
            handshake: self.version_for::<SaslHandshakeRequest>()?,
            authenticate: self.version_for::<SaslAuthenticateRequest>()?,
        };
        let (done, answer) = oneshot::channel();
        let asked = Out::Authenticate(Box::new(Authenticate { sasl, versions, done }));
        if self.frames.send(asked).is_err() {
            return Err(self.shared.closed_error(&self.addr));
        }
        answer.await.map_err(|_| self.shared.closed_error(&self.addr))?
    }

    /// The broker's address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether the connection failed and must be replaced.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst) || self.reader.is_finished()
    }

    /// The versions the broker offers of an API, if it offers it.
    pub fn broker_versions(&self, api_key: ApiKey) -> Option<VersionRange> {
        self.versions.get(&api_key.0).copied()
    }

    /// The highest version of `R` both we and the broker speak, no higher than the client fills
    /// and reads correctly (see `CLIENT_MAX`).
    pub fn version_for<R: Request>(&self) -> Result<i16, Error> {
        let api = ApiKey(R::API_KEY);
        let ours = match client_max(api) {
            Some(max) => VersionRange::new(R::VERSIONS.min, max.min(R::VERSIONS.max)),
            None => R::VERSIONS,
        };
        self.broker_versions(api)
            .and_then(|theirs| ours.highest_common(&theirs))
            .ok_or_else(|| {
                Error::Protocol(ProtocolError::UnsupportedVersion {
                    api: R::NAME,
                    broker: self.addr.clone(),
                })
            })
    }

    /// Sends `req` at the highest common version (fields that version lacks are reset to their
    /// defaults) and waits for its response.
    pub async fn send<R: Request>(&self, req: &R) -> Result<R::Response, Error> {
        let version = self.version_for::<R>()?;
        let mut req = req.clone();
        req.normalize_to(version);
        self.send_raw(&req, version).await
    }

    /// Sends the request `build` makes for the highest common version, and waits for its response:
    /// for requests whose shape changes between versions.
    pub async fn send_built<R: Request>(&self, build: impl FnOnce(i16) -> R) -> Result<R::Response, Error> {
        let version = self.version_for::<R>()?;
        let mut req = build(version);
        req.normalize_to(version);
        self.send_raw(&req, version).await
    }

    /// Sends `req` at `version` and waits for its response.
    pub async fn send_raw<R: Request>(&self, req: &R, version: i16) -> Result<R::Response, Error> {
        self.start(req, version)?.await
    }

    /// Sends `req` at the highest common version and waits up to `timeout` (instead of the
    /// request timeout) for its answer: for requests the broker holds on purpose (JoinGroup).
    pub(crate) async fn send_within<R: Request>(
        &self,
        req: &R,
        timeout: Duration,
    ) -> Result<R::Response, Error> {
        let version = self.version_for::<R>()?;
        let mut req = req.clone();
        req.normalize_to(version);
        self.start_within(&req, version, timeout.max(self.config.request_timeout))?
            .await
    }

    /// Submits `req` at `version` now, in order with every request submitted before it on this
    /// connection, and returns the wait for its response (bounded by the request timeout).
    pub(crate) fn start<R: Request>(
        &self,
        req: &R,
        version: i16,
    ) -> Result<impl std::future::Future<Output = Result<R::Response, Error>> + Send + 'static, Error> {
        self.start_within(req, version, self.config.request_timeout)
    }

    fn start_within<R: Request>(
        &self,
        req: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<impl std::future::Future<Output = Result<R::Response, Error>> + Send + 'static, Error> {
        let (rx, guard) = self.submit(req, version, true)?;
        let addr = self.addr.clone();
        // What the wait needs of the config: not a copy of all of it for every request.
        let max_throttle = self.config.max_throttle;
        let stats = Arc::clone(&self.config.stats);
        let shared = Arc::clone(&self.shared);
        Ok(async move {
            let body = Self::body::<R>(rx, guard, &addr, timeout, &stats).await?;
            let mut d = Decoder::new(body);
            let resp = <R::Response as Message>::decode_from(&mut d, version)
                .map_err(|source| Error::Protocol(ProtocolError::Decode { api: R::NAME, source }))?;
            let throttle = resp.throttle_time_ms();
            if throttle > 0 {
                // KIP-219: the broker answered at once and asks for quiet on this connection
                // for that long; the writer holds later requests until then.
                let wait = shared.mute(throttle, max_throttle);
                stats.throttled.fetch_add(1, Ordering::Relaxed);
                stats.throttle_ms.fetch_add(
                    u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    Ordering::Relaxed,
                );
                debug!(broker = %addr, api = R::NAME, throttle_ms = throttle, muted = ?wait, "throttled by the broker");
            }
            Ok(resp)
        })
    }

    /// Waits for the body of the response `rx` is registered for: within the request timeout,
    /// plus the time the connection stays muted by a throttle. A request that gets no answer in
    /// time ends the connection, as in the Java client: its answer may still be on the way, half
    /// sent, and every request behind it would wait on it.
    async fn body<R: Request>(
        rx: Option<oneshot::Receiver<Result<Bytes, Error>>>,
        guard: Option<PendingGuard>,
        addr: &str,
        request_timeout: Duration,
        stats: &ConnectionStats,
    ) -> Result<Bytes, Error> {
        let (Some(rx), Some(guard)) = (rx, guard) else {
            return Err(Error::Connection(ConnectionError::Closed {
                broker: addr.to_owned(),
                reason: "no response was registered".into(),
            }));
        };
        let timeout = request_timeout + guard.shared.muted_for();
        let body = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(res)) => res?,
            Ok(Err(_)) => return Err(guard.shared.closed_error(addr)),
            Err(_) => {
                stats.timeouts.fetch_add(1, Ordering::Relaxed);
                let what = format!("{} to {addr}", R::NAME);
                guard
                    .shared
                    .fail_all(addr, &format!("{what} got no answer within {timeout:?}"));
                return Err(Error::Connection(ConnectionError::Timeout {
                    what,
                    after: timeout,
                }));
            }
        };
        drop(guard);
        Ok(body)
    }

    /// Sends `req` at `version` without waiting for a response (Produce with acks=0).
    pub async fn send_no_response<R: Request>(&self, req: &R, version: i16) -> Result<(), Error> {
        self.submit(req, version, false).map(drop)
    }

    /// Encodes `req`, registers its wait (if a response is expected) and hands the frame to the
    /// writer task: no await, so it happens whole or not at all, in the order of the calls.
    #[allow(clippy::type_complexity)]
    fn submit<R: Request>(
        &self,
        req: &R,
        version: i16,
        expect_response: bool,
    ) -> Result<
        (
            Option<oneshot::Receiver<Result<Bytes, Error>>>,
            Option<PendingGuard>,
        ),
        Error,
    > {
        if self.is_closed() {
            return Err(self.shared.closed_error(&self.addr));
        }
        let correlation_id = self.shared.next_correlation_id();
        let frame = encode_request(correlation_id, Some(&self.config.client_id), version, req)
            .map_err(|source| Error::Protocol(ProtocolError::Encode { api: R::NAME, source }))?;
        let (rx, guard) = if expect_response {
            match self.shared.register(correlation_id, ApiKey(R::API_KEY), version) {
                Some((rx, guard)) => (Some(rx), Some(guard)),
                None => return Err(self.shared.closed_error(&self.addr)),
            }
        } else {
            // Kafka sends nothing back for a request that expects no response (Produce with
            // acks=0), but some brokers answer anyway (tansu, docs/interop.md): an answer to this
            // id is dropped quietly rather than taken for a stray.
            self.shared.remember_abandoned(correlation_id);
            (None, None)
        };
        trace!(
            api = R::NAME,
            version,
            correlation_id,
            bytes = frame.len(),
            "send"
        );
        if self.frames.send(Out::Frame(frame)).is_err() {
            // The writer task ended (a write failed): the guard unregisters the request.
            return Err(Error::Connection(ConnectionError::Closed {
                broker: self.addr.clone(),
                reason: "its writer stopped after a failed write".into(),
            }));
        }
        Ok((rx, guard))
    }
}

/// The most bytes of frames written before a flush.
const WRITE_RUN: usize = 1 << 20;

/// The writer task: owns the write half, writes the frames in order and keeps the SASL session.
struct Writer {
    write: WriteHalf,
    shared: Arc<Shared>,
    addr: String,
    client_id: String,
    request_timeout: Duration,
    stats: Arc<ConnectionStats>,
    session: Option<Session>,
}

/// An authenticated SASL session, and when to authenticate again.
struct Session {
    sasl: super::SaslConfig,
    versions: SaslVersions,
    /// `None`: the broker set no lifetime.
    reauthenticate_at: Option<Instant>,
}

impl Writer {
    /// Writes the frames in order, flushing after each run of those already queued. A failed
    /// write or (re-)authentication fails every waiter and ends the connection.
    async fn run(mut self, mut queue: mpsc::UnboundedReceiver<Out>) {
        let mut next = None;
        loop {
            let out = match next.take() {
                Some(out) => out,
                None => match queue.recv().await {
                    Some(out) => out,
                    None => break,
                },
            };
            // A throttled connection stays quiet until the broker's throttle time has passed.
            let muted = self.shared.muted_for();
            if !muted.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(muted) => {}
                    () = self.shared.closing.notified() => return,
                }
            }
            let first = match out {
                Out::Frame(frame) => frame,
                Out::Authenticate(asked) => {
                    let Authenticate { sasl, versions, done } = *asked;
                    let res = self.authenticate(sasl, versions).await;
                    let failed = res.as_ref().err().map(ToString::to_string);
                    let _ = done.send(res);
                    if let Some(why) = failed {
                        self.shared.fail_all(&self.addr, &why);
                        return;
                    }
                    continue;
                }
            };
            if let Some(session) = self
                .session
                .take_if(|s| s.reauthenticate_at.is_some_and(|t| Instant::now() >= t))
            {
                if let Err(e) = self.authenticate(session.sasl, session.versions).await {
                    self.shared
                        .fail_all(&self.addr, &format!("re-authentication failed: {e}"));
                    return;
                }
                self.stats.reauthentications.fetch_add(1, Ordering::Relaxed);
            }
            let mut run = first.len();
            let mut res = self.write.write_all(&first).await;
            while res.is_ok() && run < WRITE_RUN {
                match queue.try_recv() {
                    Ok(Out::Frame(frame)) => {
                        run += frame.len();
                        res = self.write.write_all(&frame).await;
                    }
                    Ok(other) => {
                        next = Some(other);
                        break;
                    }
                    Err(_) => break,
                }
            }
            if let Err(e) = res.and(self.write.flush().await) {
                self.shared.fail_all(&self.addr, &format!("a write failed: {e}"));
                return;
            }
        }
        let _ = self.write.shutdown().await;
    }

    /// SaslHandshake, then the mechanism's SaslAuthenticate rounds (see [`super::sasl`]); on
    /// success the session is kept, to be renewed before the lifetime the broker granted ends.
    /// Any failure is one `ConnectionError::Sasl` naming the broker and the mechanism.
    async fn authenticate(&mut self, sasl: super::SaslConfig, versions: SaslVersions) -> Result<(), Error> {
        let mechanism = sasl.mechanism().name();
        let fail = |addr: &str, reason: String| -> Error {
            ConnectionError::Sasl {
                broker: addr.to_owned(),
                mechanism,
                reason,
            }
            .into()
        };
        let mut handshake = SaslHandshakeRequest {
            mechanism: mechanism.to_owned(),
            ..SaslHandshakeRequest::default()
        };
        handshake.normalize_to(versions.handshake);
        let hs = self.round_trip(&handshake, versions.handshake).await?;
        let code = ErrorCode(hs.error_code);
        if !code.is_ok() {
            return Err(fail(
                &self.addr,
                format!(
                    "SaslHandshake answered {code}; the listener enables [{}]",
                    hs.mechanisms.join(", ")
                ),
            ));
        }
        let exchange = sasl.exchange().map_err(|e| fail(&self.addr, e))?;
        let lifetime_ms = match exchange {
            super::sasl::Exchange::Plain { message } => {
                self.sasl_round(mechanism, versions, message).await?.1
            }
            super::sasl::Exchange::OAuthBearer { message } => {
                let (answer, lifetime_ms) = self.sasl_round(mechanism, versions, message).await?;
                if !answer.is_empty() {
                    // The server's error (RFC 7628, 3.2.2): acknowledge it, and report it
                    // whatever the second answer says.
                    let why = String::from_utf8_lossy(&answer)
                        .chars()
                        .take(300)
                        .collect::<String>();
                    let _ = self.sasl_round(mechanism, versions, b"\x01".to_vec()).await;
                    return Err(fail(&self.addr, format!("the broker refused the token: {why}")));
                }
                lifetime_ms
            }
            super::sasl::Exchange::Scram(mut scram) => {
                let (server_first, _) = self.sasl_round(mechanism, versions, scram.client_first()).await?;
                let last = scram
                    .client_final(&server_first)
                    .map_err(|e| fail(&self.addr, e.to_string()))?;
                let (server_final, lifetime_ms) = self.sasl_round(mechanism, versions, last).await?;
                scram
                    .check_server_final(&server_final)
                    .map_err(|e| fail(&self.addr, e.to_string()))?;
                lifetime_ms
            }
        };
        let reauthenticate_at = u64::try_from(lifetime_ms)
            .ok()
            .filter(|ms| *ms > 0)
            .map(|ms| Instant::now() + reauthentication_delay(Duration::from_millis(ms)));
        debug!(broker = %self.addr, mechanism, user = sasl.username(), session_lifetime_ms = lifetime_ms, "authenticated");
        self.session = Some(Session {
            sasl,
            versions,
            reauthenticate_at,
        });
        Ok(())
    }

    /// One SaslAuthenticate round: the server's bytes and the session lifetime it announced
    /// (0 before version 1, or when it sets none).
    async fn sasl_round(
        &mut self,
        mechanism: &'static str,
        versions: SaslVersions,
        bytes: Vec<u8>,
    ) -> Result<(Bytes, i64), Error> {
        let mut req = SaslAuthenticateRequest {
            auth_bytes: Bytes::from(bytes),
            ..SaslAuthenticateRequest::default()
        };
        req.normalize_to(versions.authenticate);
        let resp = self.round_trip(&req, versions.authenticate).await?;
        let code = ErrorCode(resp.error_code);
        if code.is_ok() {
            return Ok((resp.auth_bytes, resp.session_lifetime_ms));
        }
        Err(ConnectionError::Sasl {
            broker: self.addr.clone(),
            mechanism,
            reason: match resp.error_message.filter(|m| !m.is_empty()) {
                Some(m) => format!("{code}: {m}"),
                None => code.to_string(),
            },
        }
        .into())
    }

    /// Writes one request ahead of everything queued and waits for its answer (the reader task
    /// delivers it as any other), within the request timeout.
    async fn round_trip<R: Request>(&mut self, req: &R, version: i16) -> Result<R::Response, Error> {
        let correlation_id = self.shared.next_correlation_id();
        let frame = encode_request(correlation_id, Some(&self.client_id), version, req)
            .map_err(|source| Error::Protocol(ProtocolError::Encode { api: R::NAME, source }))?;
        let Some((rx, guard)) = self.shared.register(correlation_id, ApiKey(R::API_KEY), version) else {
            return Err(self.shared.closed_error(&self.addr));
        };
        trace!(api = R::NAME, version, correlation_id, "send");
        let written = match self.write.write_all(&frame).await {
            Ok(()) => self.write.flush().await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            return Err(Error::Connection(ConnectionError::Io {
                broker: self.addr.clone(),
                source: Arc::new(e),
            }));
        }
        let body = Connection::body::<R>(
            Some(rx),
            Some(guard),
            &self.addr,
            self.request_timeout,
            &self.stats,
        )
        .await?;
        <R::Response as Message>::decode_from(&mut Decoder::new(body), version)
            .map_err(|source| Error::Protocol(ProtocolError::Decode { api: R::NAME, source }))
    }
}

/// How long a request written just before a re-authentication may wait on the broker behind
/// those ahead of it (a long-polling Fetch): the broker closes the connection when it takes up a
/// request after the session ended, so the session is renewed at least this long before its end.
const REAUTHENTICATION_MARGIN: Duration = Duration::from_secs(2);

/// The broker refuses a re-authentication less than a second after the last one began.
const MIN_REAUTHENTICATION_INTERVAL: Duration = Duration::from_secs(1);

/// When to re-authenticate after a session of `lifetime` began: at a random point between 85%
/// and 95% of it (the Java client's window, so that a client's connections do not all renew at
/// once), but [`REAUTHENTICATION_MARGIN`] before its end at the latest (this matters for
/// lifetimes under 40 s), and not within the broker's minimum interval.
fn reauthentication_delay(lifetime: Duration) -> Duration {
    let mut raw = [0u8; 4];
    let share = match getrandom::fill(&mut raw) {
        Ok(()) => 0.85 + 0.10 * f64::from(u32::from_le_bytes(raw)) / f64::from(u32::MAX),
        Err(_) => 0.85,
    };
    lifetime
        .mul_f64(share)
        .min(lifetime.saturating_sub(REAUTHENTICATION_MARGIN))
        .max(MIN_REAUTHENTICATION_INTERVAL)
}

async fn read_loop(mut read: ReadHalf, shared: Arc<Shared>, addr: String, frames: FrameDecoder) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let why = loop {
        match frames.decode(&mut buf) {
            Ok(Some(frame)) => {
                if let Err(why) = deliver(&shared, frame) {
                    break why;
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => break format!("malformed frame: {e}"),
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(64 * 1024);
        }
        match read.read_buf(&mut buf).await {
            Ok(0) => break "closed by the broker".to_owned(),
            Ok(_) => {}
            Err(e) => break e.to_string(),
        }
    };
    warn!(broker = %addr, reason = %why, "connection closed");
    shared.fail_all(&addr, &why);
}

/// Hands one response frame to its waiter. A response to a request whose caller gave up is
/// dropped; a correlation id that matches no request, or a malformed header, means the stream
/// cannot be trusted: fatal for the connection.
fn deliver(shared: &Shared, frame: Bytes) -> Result<(), String> {
    let mut probe = Decoder::new(frame.clone());
    let correlation_id = probe.i32().map_err(|e| format!("response too short: {e}"))?;
    let pending = shared
        .pending
        .lock()
        .ok()
        .and_then(|mut m| m.remove(&correlation_id));
    let Some(p) = pending else {
        if shared
            .abandoned
            .lock()
            .is_ok_and(|ids| ids.contains(&correlation_id))
        {
            trace!(correlation_id, "response to an abandoned request");
            return Ok(());
        }
        return Err(format!(
            "response with correlation id {correlation_id}, which no request has"
        ));
    };
    let mut d = Decoder::new(frame);
    let res = ResponseHeader::decode(&mut d, response_header_version(p.api_key, p.version))
        .map(|_| d.take_rest())
        .map_err(|e| format!("malformed response header: {e}"));
    match res {
        Ok(body) => {
            let _ = p.tx.send(Ok(body));
            Ok(())
        }
        Err(why) => Err(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_renewed_inside_its_lifetime_and_not_within_a_second() {
        for _ in 0..100 {
            let hour = reauthentication_delay(Duration::from_secs(3600));
            assert!(
                hour >= Duration::from_secs(3060) && hour <= Duration::from_secs(3420),
                "{hour:?}"
            );
            assert_eq!(
                reauthentication_delay(Duration::from_secs(3)),
                Duration::from_secs(1)
            );
            assert_eq!(
                reauthentication_delay(Duration::from_secs(10)),
                Duration::from_secs(8)
            );
            let minute = reauthentication_delay(Duration::from_secs(60));
            assert!(
                minute >= Duration::from_secs(51) && minute <= Duration::from_secs(57),
                "{minute:?}"
            );
            assert_eq!(
                reauthentication_delay(Duration::from_millis(500)),
                Duration::from_secs(1)
            );
        }
    }

    #[test]
    fn every_cap_is_inside_what_the_codec_speaks() {
        // A cap at or above the codec's newest version caps nothing: drop it instead.
        for (api, max) in CLIENT_MAX {
            let codec = api.versions().expect("a capped API is one the codec speaks");
            assert!(
                codec.min <= *max && *max < codec.max,
                "{api:?} capped at {max}, the codec speaks {codec:?}"
            );
        }
    }
}
