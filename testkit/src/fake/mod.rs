//! An in-process fake Kafka cluster on 127.0.0.1, built on the codec, for faults a real broker
//! cannot stage.
//!
//! [`FakeCluster::start`] runs N brokers, each with its own listener on a free port, on a thread
//! with its own tokio runtime; dropping the cluster stops it. The cluster's state and answers are
//! plain structs (`state`, `log`): the async shell here only reads frames, hands each request to
//! the state, and writes the answer back, one request at a time per connection as Kafka does.
//!
//! What it models (see docs/reliability.md): topics with partitions led by one broker each,
//! logs of record batches stored as the producer sent them, idempotent producers' sequence
//! checks, transactions with their coordinator, markers, last stable offset and aborted list,
//! group offsets, and CreatePartitions. Faults: see [`Fault`] and [`RequestFault`]; a seeded
//! [`Schedule`] of them is played with [`FakeCluster::play`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use kwire_testkit::fake::FakeCluster;
//!
//! let cluster = FakeCluster::start(3)?;
//! let client = kwire_connector::client::Client::builder()
//!     .bootstrap(&cluster.bootstrap())
//!     .build()
//!     .await?;
//! client.create_topic("t", 4, 1).await?;
//! cluster.restart_broker(cluster.leader("t", 0).unwrap(), std::time::Duration::from_millis(100));
//! # Ok(())
//! # }
//! ```

mod errors;
mod faults;
mod log;
mod state;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use kwire_protocol::frame::{decode_request, response_header_version, FrameDecoder, ResponseHeader};
use kwire_protocol::messages::{ApiKey, FetchResponse, Message, RequestBody, ResponseBody};
use kwire_protocol::{DecodeErrorKind, Encoder, ErrorCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{watch, Notify};
use tracing::{debug, info, warn};

pub use faults::{Corruption, Fault, Mix, RequestFault, Schedule};
pub use state::ClusterStats;

use faults::Armory;
use state::{BrokerInfo, ClusterState, Reply};

/// What the shell shares between its tasks and the cluster's handle.
#[derive(Debug)]
struct Inner {
    state: Mutex<ClusterState>,
    /// Woken on every write, for fetches waiting for data.
    changed: Notify,
    armory: Mutex<Armory>,
    stalled: Mutex<BTreeMap<i32, Instant>>,
    /// Per broker: bumped to close every connection.
    kill: BTreeMap<i32, watch::Sender<u64>>,
    listeners: Mutex<BTreeMap<i32, tokio::task::JoinHandle<()>>>,
    connections: AtomicU64,
    requests: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A running fake cluster; stops on drop.
#[derive(Debug)]
pub struct FakeCluster {
    inner: Arc<Inner>,
    addrs: BTreeMap<i32, SocketAddr>,
    runtime: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FakeCluster {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A listener on 127.0.0.1:`port` that can be bound again at once after it closes.
fn listen(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
    socket.listen(1024)
}

impl FakeCluster {
    /// Starts `brokers` brokers (ids 0..brokers), each on a free port of 127.0.0.1.
    pub fn start(brokers: i32) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("kwire-fake-cluster")
            .build()?;
        let handle = runtime.handle().clone();
        let mut listeners = BTreeMap::new();
        let mut infos = BTreeMap::new();
        let mut addrs = BTreeMap::new();
        let mut kill = BTreeMap::new();
        {
            let _guard = handle.enter();
            for id in 0..brokers.max(1) {
                let l = listen(0)?;
                let addr = l.local_addr()?;
                addrs.insert(id, addr);
                infos.insert(
                    id,
                    BrokerInfo {
                        host: "127.0.0.1".to_owned(),
                        port: addr.port(),
                        up: true,
                    },
                );
                kill.insert(id, watch::channel(0).0);
                listeners.insert(id, l);
            }
        }
        let inner = Arc::new(Inner {
            state: Mutex::new(ClusterState::new(infos)),
            changed: Notify::new(),
            armory: Mutex::new(Armory::default()),
            stalled: Mutex::new(BTreeMap::new()),
            kill,
            listeners: Mutex::new(BTreeMap::new()),
            connections: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        });
        for (id, l) in listeners {
            let task = handle.spawn(accept(Arc::clone(&inner), id, l));
            lock(&inner.listeners).insert(id, task);
        }
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("kwire-fake-cluster".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let _ = stop_rx.await;
                });
                runtime.shutdown_background();
            })?;
        info!(brokers, "fake cluster started");
        Ok(Self {
            inner,
            addrs,
            runtime: handle,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Every broker's `host:port`, comma-separated: a client's bootstrap list.
    pub fn bootstrap(&self) -> String {
        self.addrs
            .values()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Broker `id`'s address.
    pub fn addr(&self, id: i32) -> Option<SocketAddr> {
        self.addrs.get(&id).copied()
    }

    /// The broker ids.
    pub fn brokers(&self) -> Vec<i32> {
        self.addrs.keys().copied().collect()
    }

    /// Creates `topic` with `partitions` partitions (as CreateTopics would).
    pub fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), ErrorCode> {
        let res = lock(&self.inner.state).create_topic(topic, partitions).map(drop);
        self.inner.changed.notify_waiters();
        res
    }

    /// Grows `topic` to `total` partitions (as CreatePartitions would); the new ones are empty.
    pub fn create_partitions(&self, topic: &str, total: i32) -> Result<(), ErrorCode> {
        let res = lock(&self.inner.state).add_partitions(topic, total);
        self.inner.changed.notify_waiters();
        res
    }

    /// Deletes the records of `topic`-`partition` before `offset`, as retention or DeleteRecords
    /// would; returns the new log start offset. An unknown partition is UNKNOWN_TOPIC_OR_PARTITION.
    pub fn delete_records(&self, topic: &str, partition: i32, offset: i64) -> Result<i64, ErrorCode> {
        lock(&self.inner.state).delete_records(topic, partition, offset)
    }

    /// The leader of `topic`-`partition`.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<i32> {
        lock(&self.inner.state).leader(topic, partition)
    }

    /// How long after a transaction's end (EndTxn, or an abort by InitProducerId or timeout) its
    /// markers are written; meanwhile the coordinator answers CONCURRENT_TRANSACTIONS and the last
    /// stable offset stays before it. 20 ms unless set; zero completes transactions at once.
    pub fn set_marker_delay(&self, delay: Duration) {
        lock(&self.inner.state).marker_delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
    }

    /// The cluster's counters.
    pub fn stats(&self) -> ClusterStats {
        lock(&self.inner.state).stats
    }

    /// Connections accepted so far, over all brokers.
    pub fn connections(&self) -> u64 {
        self.inner.connections.load(Ordering::SeqCst)
    }

    /// Requests read so far, over all brokers.
    pub fn requests(&self) -> u64 {
        self.inner.requests.load(Ordering::SeqCst)
    }

    /// Request faults used so far.
    pub fn request_faults_used(&self) -> u64 {
        lock(&self.inner.armory).used
    }

    /// Request faults used so far on requests of `api`.
    pub fn request_faults_used_on(&self, api: ApiKey) -> u64 {
        lock(&self.inner.armory)
            .used_by_api
            .get(&api.0)
            .copied()
            .unwrap_or(0)
    }

    /// The next `count` requests of `api` get `fault`.
    pub fn fail_next(&self, api: ApiKey, fault: RequestFault, count: u32) {
        lock(&self.inner.armory).arm(api, fault, count);
    }

    /// Disarms every request fault not used yet.
    pub fn clear_request_faults(&self) {
        lock(&self.inner.armory).clear();
    }

    /// Closes every open connection of `broker` (all brokers when `None`).
    pub fn drop_connections(&self, broker: Option<i32>) {
        self.control().apply(&Fault::DropConnections { broker });
    }

    /// `broker` reads no request for `duration`; its connections stay open.
    pub fn stall(&self, broker: i32, duration: Duration) {
        self.control().apply(&Fault::Stall { broker, duration });
    }

    /// Moves the leadership of `topic`-`partition` to broker `to`.
    pub fn move_leader(&self, topic: &str, partition: i32, to: i32) -> Result<(), ErrorCode> {
        let res = lock(&self.inner.state).move_leader(topic, partition, to);
        self.inner.changed.notify_waiters();
        res
    }

    /// Stops broker `id`: its listener and connections go away and its partitions move to the
    /// other live brokers. The data stays (it is replicated).
    pub fn stop_broker(&self, id: i32) {
        self.control().stop(id, true);
    }

    /// Starts broker `id` again on its port (retrying for up to 2 s while the port is held).
    pub fn start_broker(&self, id: i32) -> std::io::Result<()> {
        let control = self.control();
        let mut last = None;
        for _ in 0..100 {
            match control.try_start(id) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("not started")))
    }

    /// Stops broker `id` and starts it again after `down_for`, in the background.
    pub fn restart_broker(&self, id: i32, down_for: Duration) {
        self.control()
            .apply(&Fault::RestartBroker { broker: id, down_for });
    }

    fn control(&self) -> Control {
        Control {
            inner: Arc::clone(&self.inner),
            addrs: self.addrs.clone(),
            runtime: self.runtime.clone(),
        }
    }

    /// Applies one fault now (a broker restart comes back in the background).
    pub fn apply(&self, fault: &Fault) {
        self.control().apply(fault);
    }

    /// Plays `schedule` in the background, from now; the returned handle says how far it got and
    /// stops it on drop.
    pub fn play(&self, schedule: Schedule) -> Playback {
        eprintln!(
            "fault schedule: seed {} with {} faults (drops, restarts, leader moves, request faults, stalls, \
             transaction timeouts: {:?})",
            schedule.seed,
            schedule.events.len(),
            schedule.counts()
        );
        let played = Arc::new(AtomicU64::new(0));
        let p = Arc::clone(&played);
        let me = self.control();
        let task = self.runtime.spawn(async move {
            for (gap, fault) in schedule.events {
                tokio::time::sleep(gap).await;
                debug!(?fault, "fault");
                me.apply(&fault);
                p.fetch_add(1, Ordering::SeqCst);
            }
        });
        Playback { played, task }
    }
}

/// The parts of the cluster that apply faults, for the handle and for background tasks.
#[derive(Debug, Clone)]
struct Control {
    inner: Arc<Inner>,
    addrs: BTreeMap<i32, SocketAddr>,
    runtime: tokio::runtime::Handle,
}

impl Control {
    /// Binds broker `id`'s port again and serves it.
    fn try_start(&self, id: i32) -> std::io::Result<()> {
        let Some(addr) = self.addrs.get(&id) else {
            return Err(std::io::Error::other(format!("no broker {id}")));
        };
        let mut listeners = lock(&self.inner.listeners);
        if listeners.contains_key(&id) {
            return Ok(());
        }
        let l = {
            let _guard = self.runtime.enter();
            listen(addr.port())?
        };
        listeners.insert(id, self.runtime.spawn(accept(Arc::clone(&self.inner), id, l)));
        drop(listeners);
        lock(&self.inner.state).set_broker_up(id, true);
        self.inner.changed.notify_waiters();
        debug!(broker = id, "broker started");
        Ok(())
    }

    /// Stops broker `id`; unless `even_last`, not when it is the last one up.
    fn stop(&self, id: i32, even_last: bool) -> bool {
        {
            let mut listeners = lock(&self.inner.listeners);
            if !even_last && listeners.len() <= 1 {
                return false;
            }
            let Some(task) = listeners.remove(&id) else {
                return false;
            };
            task.abort();
        }
        if let Some(k) = self.inner.kill.get(&id) {
            k.send_modify(|g| *g += 1);
        }
        lock(&self.inner.state).set_broker_up(id, false);
        self.inner.changed.notify_waiters();
        debug!(broker = id, "broker stopped");
        true
    }

    fn apply(&self, fault: &Fault) {
        match fault {
            Fault::Request { api, fault, count } => lock(&self.inner.armory).arm(*api, *fault, *count),
            Fault::DropConnections { broker } => {
                for (id, k) in &self.inner.kill {
                    if broker.is_none_or(|b| b == *id) {
                        k.send_modify(|g| *g += 1);
                    }
                }
            }
            Fault::Stall { broker, duration } => {
                lock(&self.inner.stalled).insert(*broker, Instant::now() + *duration);
            }
            Fault::TimeOutTransactions => {
                lock(&self.inner.state).time_out_transactions(now_ms());
                self.inner.changed.notify_waiters();
            }
            Fault::MoveLeader { topic, partition, to } => {
                let mut st = lock(&self.inner.state);
                let target = to.or_else(|| {
                    let now = st.leader(topic, *partition)?;
                    self.addrs.keys().copied().find(|b| *b != now)
                });
                if let Some(to) = target {
                    if let Err(code) = st.move_leader(topic, *partition, to) {
                        debug!(%topic, partition, to, %code, "leader not moved");
                    }
                }
                drop(st);
                self.inner.changed.notify_waiters();
            }
            Fault::RestartBroker { broker, down_for } => {
                // Never the last live broker: the cluster would have nobody to lead.
                if !self.stop(*broker, false) {
                    return;
                }
                let me = self.clone();
                let (id, down_for) = (*broker, *down_for);
                self.runtime.spawn(async move {
                    tokio::time::sleep(down_for).await;
                    // The port may still be held for a moment; try for a while.
                    for _ in 0..100 {
                        match me.try_start(id) {
                            Ok(()) => return,
                            Err(e) => warn!(broker = id, error = %e, "listener not back yet"),
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                });
            }
        }
    }
}

/// A schedule being played; dropping it stops the playing.
#[derive(Debug)]
pub struct Playback {
    played: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Playback {
    /// Faults applied so far.
    pub fn played(&self) -> u64 {
        self.played.load(Ordering::SeqCst)
    }

    /// Whether every fault was applied.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for Playback {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(inner: Arc<Inner>, broker: i32, listener: tokio::net::TcpListener) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                inner.connections.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_nodelay(true);
                conns.spawn(serve(Arc::clone(&inner), broker, stream));
            }
            Err(e) => {
                warn!(broker, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        while conns.try_join_next().is_some() {}
    }
}

/// The response frame (length prefix included) of `body` to request `correlation_id`.
fn encode_reply(correlation_id: i32, api: ApiKey, version: i16, mut body: ResponseBody) -> Option<Bytes> {
    normalize(&mut body, version);
    let mut e = Encoder::new();
    e.i32(0);
    let header = ResponseHeader {
        correlation_id,
        ..Default::default()
    };
    header
        .encode(&mut e, response_header_version(api, version))
        .ok()?;
    let body = body
        .encode(version)
        .map_err(|err| warn!(error = %err, "response not encodable"))
        .ok()?;
    let mut buf = e.into_inner();
    buf.extend_from_slice(&body);
    let len = i32::try_from(buf.len() - 4).ok()?;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Some(buf.freeze())
}

/// Makes a response encodable at `version` (drops fields the version lacks).
fn normalize(body: &mut ResponseBody, v: i16) {
    match body {
        ResponseBody::Produce(m) => m.normalize_to(v),
        ResponseBody::Fetch(m) => m.normalize_to(v),
        ResponseBody::ListOffsets(m) => m.normalize_to(v),
        ResponseBody::Metadata(m) => m.normalize_to(v),
        ResponseBody::OffsetCommit(m) => m.normalize_to(v),
        ResponseBody::OffsetFetch(m) => m.normalize_to(v),
        ResponseBody::FindCoordinator(m) => m.normalize_to(v),
        ResponseBody::ApiVersions(m) => m.normalize_to(v),
        ResponseBody::CreateTopics(m) => m.normalize_to(v),
        ResponseBody::DeleteTopics(m) => m.normalize_to(v),
        ResponseBody::InitProducerId(m) => m.normalize_to(v),
        ResponseBody::AddPartitionsToTxn(m) => m.normalize_to(v),
        ResponseBody::AddOffsetsToTxn(m) => m.normalize_to(v),
        ResponseBody::EndTxn(m) => m.normalize_to(v),
        ResponseBody::TxnOffsetCommit(m) => m.normalize_to(v),
        _ => {}
    }
}

/// Why a connection ends.
enum Next {
    Frame(Bytes),
    Closed,
}

async fn read_frame(
    rd: &mut tokio::net::tcp::OwnedReadHalf,
    buf: &mut BytesMut,
    dec: &FrameDecoder,
    kill: &mut watch::Receiver<u64>,
) -> Next {
    loop {
        match dec.decode(buf) {
            Ok(Some(f)) => return Next::Frame(f),
            Ok(None) => {}
            Err(_) => return Next::Closed,
        }
        tokio::select! {
            n = rd.read_buf(buf) => match n {
                Ok(0) | Err(_) => return Next::Closed,
                Ok(_) => {}
            },
            _ = kill.changed() => return Next::Closed,
        }
    }
}

/// Serves one connection: one request at a time, answers in order, as a Kafka broker does.
async fn serve(inner: Arc<Inner>, broker: i32, stream: TcpStream) {
    let Some(kill) = inner.kill.get(&broker) else {
        return;
    };
    let mut kill = kill.subscribe();
    kill.mark_unchanged();
    let (mut rd, mut wr) = stream.into_split();
    let dec = FrameDecoder::default();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        let Next::Frame(frame) = read_frame(&mut rd, &mut buf, &dec, &mut kill).await else {
            return;
        };
        inner.requests.fetch_add(1, Ordering::SeqCst);
        let stalled = lock(&inner.stalled).get(&broker).copied();
        if let Some(until) = stalled {
            tokio::select! {
                _ = tokio::time::sleep_until(until.into()) => {}
                _ = kill.changed() => return,
            }
        }
        let (header, body) = match decode_request(frame.clone()) {
            Ok(x) => x,
            Err(e) if matches!(e.kind(), DecodeErrorKind::UnsupportedVersion { .. }) => {
                // An ApiVersions newer than ours: answer v0 with UNSUPPORTED_VERSION and our
                // versions, so the client can pick one (KIP-511). Anything else: close.
                if frame.get(..2) == Some(&ApiKey::ApiVersions.0.to_be_bytes()[..]) {
                    let correlation_id = frame
                        .get(4..8)
                        .map_or(0, |c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]));
                    let body = ResponseBody::ApiVersions(kwire_protocol::messages::ApiVersionsResponse {
                        error_code: ErrorCode::UNSUPPORTED_VERSION.code(),
                        ..state::api_versions()
                    });
                    if let Some(out) = encode_reply(correlation_id, ApiKey::ApiVersions, 0, body) {
                        if wr.write_all(&out).await.is_ok() {
                            continue;
                        }
                    }
                }
                return;
            }
            Err(e) => {
                debug!(broker, error = %e, "request not decodable: closing");
                return;
            }
        };
        let api = ApiKey(header.api_key);
        let version = header.api_version;
        let fault = lock(&inner.armory).take(api);
        if let Some(RequestFault::Delay(d)) = fault {
            tokio::select! {
                _ = tokio::time::sleep(d) => {}
                _ = kill.changed() => return,
            }
        }
        let reply = match fault {
            Some(RequestFault::Error(code)) => match errors::error_response(&body, code) {
                Some(b) => Reply::Body(b),
                None => return,
            },
            _ => {
                let fault_code = match fault {
                    Some(RequestFault::ErrorAfterApply(code)) => Some(code),
                    _ => None,
                };
                let reply = match handle(&inner, broker, version, body.clone(), &mut kill).await {
                    Some(r) => r,
                    None => return,
                };
                match (fault_code, reply) {
                    (Some(code), Reply::Body(_)) => match errors::error_response(&body, code) {
                        Some(b) => Reply::Body(b),
                        None => return,
                    },
                    (_, Reply::Body(ResponseBody::Fetch(mut resp))) => {
                        if let Some(RequestFault::CorruptRecords(how)) = fault {
                            corrupt_first_records(&mut resp, how);
                        }
                        Reply::Body(ResponseBody::Fetch(resp))
                    }
                    (_, Reply::Body(ResponseBody::Metadata(mut resp))) => {
                        match fault {
                            Some(RequestFault::OmitTopics) => resp.topics.clear(),
                            Some(RequestFault::Leaderless(code)) => {
                                for p in resp.topics.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
                                    p.leader_id = -1;
                                    p.error_code = code.code();
                                }
                            }
                            _ => {}
                        }
                        Reply::Body(ResponseBody::Metadata(resp))
                    }
                    (_, reply) => reply,
                }
            }
        };
        let mut body = match reply {
            Reply::Nothing => continue,
            Reply::Close => return,
            Reply::Body(b) => b,
        };
        if let Some(RequestFault::Throttle(ms)) = fault {
            match &mut body {
                ResponseBody::Produce(r) => r.throttle_time_ms = ms,
                ResponseBody::Fetch(r) => r.throttle_time_ms = ms,
                ResponseBody::Metadata(r) => r.throttle_time_ms = ms,
                _ => {}
            }
        }
        if fault == Some(RequestFault::CloseBeforeResponse) {
            debug!(broker, api = ?api, "closing before the response");
            return;
        }
        let Some(mut out) = encode_reply(header.correlation_id, api, version, body) else {
            return;
        };
        match fault {
            Some(RequestFault::Malformed) => {
                // The right correlation id, then a body no decoder can finish.
                let keep = 4 + 4 + usize::from(response_header_version(api, version) >= 1);
                let mut garbage = BytesMut::from(&out[..keep]);
                garbage.extend_from_slice(&[0xff, 0xff, 0xff]);
                let len = i32::try_from(garbage.len() - 4).unwrap_or(0);
                garbage[..4].copy_from_slice(&len.to_be_bytes());
                out = garbage.freeze();
            }
            Some(RequestFault::CloseMidFrame) => {
                let half = out.len() / 2;
                let _ = wr.write_all(&out[..half]).await;
                return;
            }
            _ => {}
        }
        if wr.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// Damages the record bytes of the first partition of `resp` that has any.
fn corrupt_first_records(resp: &mut FetchResponse, how: Corruption) {
    let first = resp
        .responses
        .iter_mut()
        .flat_map(|t| t.partitions.iter_mut())
        .find(|p| p.records.as_ref().is_some_and(|r| !r.is_empty()));
    if let Some(p) = first {
        if let Some(records) = &p.records {
            p.records = Some(Bytes::from(how.apply(records)));
        }
    }
}

/// Hands a request to the state; a Fetch waits (up to its max wait) for its min bytes.
/// `None`: the connection was closed meanwhile.
async fn handle(
    inner: &Inner,
    broker: i32,
    version: i16,
    body: RequestBody,
    kill: &mut watch::Receiver<u64>,
) -> Option<Reply> {
    let RequestBody::Fetch(req) = body else {
        let reply = lock(&inner.state).handle(broker, version, body, now_ms());
        inner.changed.notify_waiters();
        return Some(reply);
    };
    let wait = Duration::from_millis(u64::try_from(req.max_wait_ms.max(0)).unwrap_or(0));
    let deadline = tokio::time::Instant::now() + wait;
    let min_bytes = usize::try_from(req.min_bytes.max(0)).unwrap_or(0);
    loop {
        let notified = inner.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (resp, bytes, error) = {
            let mut st = lock(&inner.state);
            st.advance(now_ms());
            st.fetch(broker, &req, version)
        };
        if error || bytes >= min_bytes || tokio::time::Instant::now() >= deadline {
            return Some(Reply::Body(ResponseBody::Fetch(resp)));
        }
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep_until(deadline) => {}
            _ = kill.changed() => return None,
        }
    }
}
