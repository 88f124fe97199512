//! What the cases share: the broker connection and what it offers ([`Env`]), a case's context
//! with its names and the last exchange for the report ([`Cx`]), and the requests cases build
//! over and over (topics, produce, fetch, coordinators, producer ids).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kwire_connector::client::{
    raw::decode_records, raw::Connection, Client, Error, IsolationLevel, TopicMetadata,
};
use kwire_protocol::messages::delete_topics_request::DeleteTopicState;
use kwire_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kwire_protocol::messages::metadata_request::MetadataRequestTopic;
use kwire_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kwire_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kwire_protocol::messages::{
    ApiKey, DeleteTopicsRequest, FetchRequest, FetchResponse, FindCoordinatorRequest, InitProducerIdRequest,
    Message, MetadataRequest, MetadataResponse, OffsetFetchRequest, ProduceRequest, Request,
};
use kwire_protocol::records::{Compression, ConsumerRecord, Header, RecordBatchBuilder};
use kwire_protocol::Uuid;

use super::checks::{self, Broker};
use super::clip;
use super::deviations::Deviation;

/// The broker under test, as the suite found it on connecting.
#[derive(Debug)]
pub(super) struct Env {
    bootstrap: String,
    client: Client,
    /// The first connection: its ApiVersions answer at connect says what the broker offers.
    /// Requests go over [`Cx::conn`], which replaces a connection that failed.
    pub(super) conn: Arc<Connection>,
    /// Makes this run's names unique on a broker that keeps them.
    run_id: String,
    /// The brokers, as Metadata lists them.
    pub(super) brokers: Vec<Broker>,
    /// The cluster id, as Metadata gives it.
    pub(super) cluster_id: Option<String>,
    /// Topics created, deleted at the end.
    created: Mutex<Vec<String>>,
    /// Whether the broker is known to be tansu: only then may a documented deviation apply.
    tansu: bool,
    /// A SASL listener of the broker, for the SASL cases.
    pub(super) sasl: Option<super::SaslListener>,
}

impl Env {
    /// A client with short timeouts, as the suite uses them.
    async fn client(bootstrap: &str) -> Result<Client, Error> {
        Client::builder()
            .bootstrap(bootstrap)
            .client_id("kwire-conformance")
            .request_timeout(Duration::from_secs(10))
            .retry_timeout(Duration::from_secs(10))
            .retry_backoff(Duration::from_millis(20))
            .build()
            .await
    }

    pub(super) async fn connect(
        bootstrap: &str,
        tansu: bool,
        sasl: Option<super::SaslListener>,
    ) -> Result<Self, Error> {
        let client = Self::client(bootstrap).await?;
        let conn = client.raw().any_broker().await?;
        let md = client.raw().refresh_metadata(&[]).await?;
        let brokers = checks::brokers(&md);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Ok(Self {
            bootstrap: bootstrap.to_owned(),
            client,
            conn,
            run_id: format!("{:x}{:06x}", std::process::id() & 0xffff, nanos & 0xff_ffff),
            brokers,
            cluster_id: md.cluster_id,
            created: Mutex::new(Vec::new()),
            tansu,
            sasl,
        })
    }

    /// Whether the broker lists `api` at `version`.
    pub(super) fn offered(&self, api: ApiKey, version: i16) -> bool {
        self.conn
            .broker_versions(api)
            .is_some_and(|r| r.contains(version))
    }

    fn remember(&self, topic: &str) {
        if let Ok(mut c) = self.created.lock() {
            c.push(topic.to_owned());
        }
    }

    /// Deletes the topics the cases created (best effort: a broker that keeps them is not wrong).
    pub(super) async fn cleanup(&self) {
        let topics: Vec<String> = match self.created.lock() {
            Ok(mut c) => std::mem::take(&mut *c),
            Err(_) => return,
        };
        // The first connection may have been dropped by then: the client makes a new one.
        let Ok(conn) = self.client.raw().any_broker().await else {
            return;
        };
        let Ok(version) = conn.version_for::<DeleteTopicsRequest>() else {
            return;
        };
        for chunk in topics.chunks(100) {
            let mut req = DeleteTopicsRequest {
                timeout_ms: 5_000,
                ..Default::default()
            };
            if version >= 6 {
                req.topics = chunk
                    .iter()
                    .map(|t| DeleteTopicState {
                        name: Some(t.clone()),
                        ..Default::default()
                    })
                    .collect();
            } else {
                req.topic_names = chunk.to_vec();
            }
            req.normalize_to(version);
            let _ = conn.send_raw(&req, version).await;
        }
    }
}

/// One request and its answer, as the report shows them.
#[derive(Debug, Clone)]
pub(super) struct Exchange {
    pub(super) sent: String,
    pub(super) received: String,
}

/// How a case ended when it did not pass.
#[derive(Debug, Clone, Copy)]
pub(super) enum ProblemKind {
    Fail,
    Deviation(&'static Deviation),
    NotOffered,
}

/// Why a case did not pass, with the exchange it is about.
#[derive(Debug)]
pub(super) struct Problem {
    pub(super) kind: ProblemKind,
    pub(super) why: String,
    pub(super) exchange: Option<Exchange>,
}

pub(super) type Res<T = ()> = Result<T, Problem>;

/// Byte limits and isolation of a Fetch.
#[derive(Debug, Clone, Copy)]
pub(super) struct FetchSpec {
    pub(super) max_bytes: i32,
    pub(super) partition_max_bytes: i32,
    /// 0 read_uncommitted, 1 read_committed.
    pub(super) isolation: i8,
}

impl Default for FetchSpec {
    fn default() -> Self {
        Self {
            max_bytes: 1 << 20,
            partition_max_bytes: 1 << 20,
            isolation: 0,
        }
    }
}

/// A record batch as produced, and the records a consumer must read back from it.
#[derive(Debug, Clone)]
pub(super) struct Produced {
    pub(super) bytes: Bytes,
    pub(super) records: Vec<ConsumerRecord>,
}

/// What goes into a test batch.
#[derive(Debug, Clone, Copy)]
pub(super) struct BatchSpec<'a> {
    pub(super) compression: Compression,
    /// The offset the broker will give the first record (for the expected records).
    pub(super) first_offset: i64,
    pub(super) count: usize,
    /// The first record's timestamp; record `i` has `timestamp + i`.
    pub(super) timestamp: i64,
    /// Goes into every value, so batches differ.
    pub(super) tag: &'a str,
    /// Each value is padded to this many bytes.
    pub(super) value_len: usize,
    /// Producer id, epoch and base sequence (idempotent and transactional batches).
    pub(super) producer: Option<(i64, i16, i32)>,
    pub(super) transactional: bool,
}

impl<'a> BatchSpec<'a> {
    pub(super) fn new(tag: &'a str, first_offset: i64, count: usize) -> Self {
        Self {
            compression: Compression::None,
            first_offset,
            count,
            timestamp: now_ms(),
            tag,
            value_len: 24,
            producer: None,
            transactional: false,
        }
    }
}

/// Milliseconds since the Unix epoch.
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A case's context: the broker, a client of its own (so a broker that drops a connection fails
/// this case only), the names the case may use, the last exchange, and a documented deviation seen
/// on the way.
#[derive(Debug)]
pub(super) struct Cx {
    pub(super) env: Arc<Env>,
    client: Client,
    slug: String,
    last: Mutex<Option<Exchange>>,
    deviation: Mutex<Option<Problem>>,
}

impl Cx {
    pub(super) async fn new(env: Arc<Env>, case: &str, version: i16) -> Result<Self, Problem> {
        let client = Env::client(&env.bootstrap).await.map_err(|e| Problem {
            kind: ProblemKind::Fail,
            why: format!("connecting a client for the case failed: {e}"),
            exchange: None,
        })?;
        let mut slug: String = case
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        while slug.contains("--") {
            slug = slug.replace("--", "-");
        }
        let slug = format!("{}-v{version}", slug.trim_matches('-'));
        Ok(Self {
            env,
            client,
            slug,
            last: Mutex::new(None),
            deviation: Mutex::new(None),
        })
    }

    /// The first documented deviation tolerated with [`Cx::tolerate`], if any.
    pub(super) fn take_deviation(&self) -> Option<Problem> {
        self.deviation.lock().ok().and_then(|mut d| d.take())
    }

    /// A name of this run, case and version: topics, groups, transactional ids.
    pub(super) fn name(&self, tag: &str) -> String {
        format!("kwire-conf-{}-{}{tag}", self.env.run_id, self.slug)
    }

    fn take_last(&self) -> Option<Exchange> {
        self.last.lock().ok().and_then(|mut l| l.take())
    }

    fn set_last(&self, x: Option<Exchange>) {
        if let Ok(mut l) = self.last.lock() {
            *l = x;
        }
    }

    /// A failure about the last exchange.
    pub(super) fn fail(&self, why: impl Into<String>) -> Problem {
        Problem {
            kind: ProblemKind::Fail,
            why: why.into(),
            exchange: self.take_last(),
        }
    }

    /// A documented deviation shown by the last exchange, whose strict check failed for `why`.
    /// The deviations are tansu's: on a broker not known to be tansu this is a failure.
    pub(super) fn deviation(&self, deviation: &'static Deviation, why: String) -> Problem {
        if !self.env.tansu {
            return self.fail(format!(
                "{why} (tansu's documented deviation \"{}\" looks like this, but the broker is not tansu)",
                deviation.id
            ));
        }
        Problem {
            kind: ProblemKind::Deviation(deviation),
            why,
            exchange: self.take_last(),
        }
    }

    /// The case cannot run on this broker (something it needs is not offered).
    pub(super) fn not_offered(&self, why: impl Into<String>) -> Problem {
        Problem {
            kind: ProblemKind::NotOffered,
            why: why.into(),
            exchange: None,
        }
    }

    /// A failure outside the exchange under test (preparing the case).
    pub(super) fn setup(&self, what: &str, e: impl std::fmt::Display) -> Problem {
        self.set_last(None);
        self.fail(format!("{what} failed: {e}"))
    }

    /// A checker's verdict on the last exchange.
    pub(super) fn check<T>(&self, res: Result<T, String>) -> Res<T> {
        res.map_err(|why| self.fail(why))
    }

    /// A strict checker's verdict, where `deviation` (given the why) says whether the answer shows a
    /// documented deviation.
    pub(super) fn check_or_deviation<T>(
        &self,
        res: Result<T, String>,
        deviation: Option<&'static Deviation>,
    ) -> Res<T> {
        res.map_err(|why| match deviation {
            Some(d) => self.deviation(d, why),
            None => self.fail(why),
        })
    }

    /// Like [`Cx::check_or_deviation`], but a documented deviation does not end the case: it is
    /// noted (the first one) and the case goes on; if nothing fails later, the case is reported as
    /// that deviation.
    pub(super) fn tolerate(&self, res: Result<(), String>, deviation: Option<&'static Deviation>) -> Res {
        match (res, deviation) {
            (Ok(()), _) => Ok(()),
            (Err(why), Some(d)) => {
                let problem = self.deviation(d, why);
                if matches!(problem.kind, ProblemKind::Fail) {
                    return Err(problem);
                }
                if let Ok(mut slot) = self.deviation.lock() {
                    slot.get_or_insert(problem);
                }
                Ok(())
            }
            (Err(why), None) => Err(self.fail(why)),
        }
    }

    /// The version of `R` a helper request uses: the highest both sides speak.
    pub(super) fn version<R: Request>(&self) -> Res<i16> {
        self.env.conn.version_for::<R>().map_err(|_| {
            self.not_offered(format!(
                "the case needs {}, which the broker does not offer",
                R::NAME
            ))
        })
    }

    /// Sends `req` at `version` (fields that version lacks reset) and waits for the answer; no
    /// answer, or one that does not decode, is a failure.
    pub(super) async fn send<R: Request>(&self, conn: &Connection, req: R, version: i16) -> Res<R::Response> {
        self.exchange(conn, req, version)
            .await
            .map_err(|e| self.fail(format!("{} v{version} got no valid answer: {e}", R::NAME)))
    }

    /// Like [`Cx::send`], but the client's error is the caller's to judge.
    pub(super) async fn exchange<R: Request>(
        &self,
        conn: &Connection,
        mut req: R,
        version: i16,
    ) -> Result<R::Response, Error> {
        req.normalize_to(version);
        let sent = clip(format!("{} v{version} {req:?}", R::NAME));
        let res = conn.send_raw(&req, version).await;
        let received = match &res {
            Ok(resp) => clip(format!("{resp:?}")),
            Err(e) => format!("no valid answer: {e}"),
        };
        self.set_last(Some(Exchange { sent, received }));
        res
    }

    /// [`Cx::send`] over a live connection to a broker.
    pub(super) async fn send_any<R: Request>(&self, req: R, version: i16) -> Res<R::Response> {
        let conn = self.conn().await?;
        self.send(&conn, req, version).await
    }

    /// Sends the acks=0 Produce `reqs` at `version` on a socket of its own to `addr`, then a
    /// Metadata request, and returns the correlation ids of the frames that came back before the
    /// Metadata answer. Kafka answers no acks=0 Produce, so there should be none. (A raw socket,
    /// since a [`Connection`] cannot show an answer nobody waits for.)
    pub(super) async fn answers_to_acks0(
        &self,
        addr: &str,
        reqs: &[ProduceRequest],
        version: i16,
    ) -> Res<Vec<i32>> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        const METADATA_ID: i32 = 1_000;
        let mv = self.version::<MetadataRequest>()?;
        let io = |e: std::io::Error| self.fail(format!("talking to {addr}: {e}"));
        let mut sock = tokio::net::TcpStream::connect(addr).await.map_err(io)?;
        let mut frames = Vec::new();
        let mut sent = String::new();
        for (i, req) in reqs.iter().enumerate() {
            let mut req = req.clone();
            req.normalize_to(version);
            sent.push_str(&format!("{} v{version} {req:?}; ", ProduceRequest::NAME));
            let id = i32::try_from(i + 1).unwrap_or(i32::MAX);
            let frame = kwire_protocol::frame::encode_request(id, Some("kwire-conformance"), version, &req)
                .map_err(|e| self.fail(format!("encoding: {e}")))?;
            frames.push(frame);
        }
        let mut md = metadata_request(Some(&[]));
        md.normalize_to(mv);
        frames.push(
            kwire_protocol::frame::encode_request(METADATA_ID, Some("kwire-conformance"), mv, &md)
                .map_err(|e| self.fail(format!("encoding: {e}")))?,
        );
        sent.push_str(&format!(
            "then MetadataRequest v{mv} (correlation id {METADATA_ID})"
        ));
        for frame in &frames {
            sock.write_all(frame).await.map_err(io)?;
        }
        let decoder = kwire_protocol::frame::FrameDecoder::default();
        let mut buf = bytes::BytesMut::with_capacity(64 * 1024);
        let mut early = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    let id = frame
                        .get(..4)
                        .map_or(-1, |b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                    if id == METADATA_ID {
                        break;
                    }
                    early.push(id);
                    continue;
                }
                Ok(None) => {}
                Err(e) => return Err(self.fail(format!("a malformed frame from {addr}: {e}"))),
            }
            if buf.capacity() - buf.len() < 4096 {
                buf.reserve(64 * 1024);
            }
            let read = tokio::time::timeout_at(deadline, sock.read_buf(&mut buf)).await;
            match read {
                Ok(Ok(0)) => return Err(self.fail(format!("{addr} closed the connection"))),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(io(e)),
                Err(_) => return Err(self.fail("no answer to the Metadata request within 5 s")),
            }
        }
        self.set_last(Some(Exchange {
            sent: clip(sent),
            received: format!("answers with correlation ids {early:?} before the Metadata answer"),
        }));
        Ok(early)
    }

    /// Creates a topic named after the case (and `tag`), waits until each partition's leader
    /// serves it (the client's `create_topic` does), and returns its metadata.
    pub(super) async fn create_topic(&self, tag: &str, partitions: i32) -> Res<TopicMetadata> {
        let name = self.name(tag);
        self.env.remember(&name);
        let client = &self.client;
        client
            .create_topic(&name, partitions, 1)
            .await
            .map_err(|e| self.setup(&format!("creating topic {name}"), e))?;
        client
            .topic(&name)
            .await
            .map_err(|e| self.setup(&format!("reading the metadata of {name}"), e))
    }

    /// Notes a topic created by the case itself, for deletion at the end.
    pub(super) fn created(&self, topic: &str) {
        self.env.remember(topic);
    }

    /// A live connection to a broker (the bootstrap one unless it failed).
    pub(super) async fn conn(&self) -> Res<Arc<Connection>> {
        self.env
            .client
            .raw()
            .any_broker()
            .await
            .map_err(|e| self.setup("connecting to a broker", e))
    }

    /// The connection to the leader of `topic`-`partition`.
    pub(super) async fn leader(&self, topic: &str, partition: i32) -> Res<Arc<Connection>> {
        self.env
            .client
            .raw()
            .leader(topic, partition)
            .await
            .map_err(|e| self.setup(&format!("finding the leader of {topic}-{partition}"), e))
    }

    /// A connection to `broker`.
    pub(super) async fn connect_to(&self, broker: &Broker) -> Res<Arc<Connection>> {
        self.env
            .client
            .raw()
            .connection(&format!("{}:{}", broker.host, broker.port))
            .await
            .map_err(|e| self.setup(&format!("connecting to broker {}", broker.node_id), e))
    }

    /// Metadata for `topics` (None: all) at the negotiated version, from the bootstrap broker.
    pub(super) async fn metadata(&self, topics: Option<&[&str]>) -> Res<(MetadataResponse, i16)> {
        let v = self.version::<MetadataRequest>()?;
        let conn = self.conn().await?;
        let resp = self.send(&conn, metadata_request(topics), v).await?;
        Ok((resp, v))
    }

    /// Waits (up to 5 s) until Metadata shows `topic` with `partitions` partitions and leaders.
    pub(super) async fn await_topic(&self, topic: &str, partitions: i32) -> Res {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (resp, v) = self.metadata(Some(&[topic])).await?;
            match checks::metadata_topic(&resp, v, topic, partitions) {
                Ok(()) => return Ok(()),
                Err(why) if Instant::now() > deadline => {
                    return Err(self.fail(format!("after 5 s Metadata still says: {why}")))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Produces `batch` to `topic`-`partition` at the negotiated version with acks=-1 and returns
    /// the base offset; an error answer is a failure.
    pub(super) async fn produce(
        &self,
        conn: &Connection,
        topic: &TopicMetadata,
        partition: i32,
        batch: Bytes,
        transactional_id: Option<&str>,
    ) -> Res<i64> {
        let v = self.version::<ProduceRequest>()?;
        let req = produce_request(topic, partition, batch, -1, transactional_id);
        let resp = self.send(conn, req, v).await?;
        let (name, id) = (topic.name.as_str(), topic.id);
        let p = resp
            .responses
            .iter()
            .filter(|t| t.name == name || (t.name.is_empty() && t.topic_id == id))
            .flat_map(|t| t.partition_responses.iter())
            .find(|p| p.index == partition);
        match p {
            Some(p) if p.error_code == 0 => Ok(p.base_offset),
            Some(p) => Err(self.fail(format!(
                "producing to {name}-{partition} failed: {}",
                kwire_protocol::ErrorCode(p.error_code)
            ))),
            None => Err(self.fail(format!("the Produce answer has no {name}-{partition}"))),
        }
    }

    /// Fetches `topic`-`partition` from `offset` at `version`.
    pub(super) async fn fetch(
        &self,
        conn: &Connection,
        topic: &TopicMetadata,
        partition: i32,
        offset: i64,
        version: i16,
        spec: FetchSpec,
    ) -> Res<FetchResponse> {
        let req = fetch_request(topic, partition, offset, spec);
        self.send(conn, req, version).await
    }

    /// Reads `topic`-`partition` from `from` up to the high watermark (the last stable offset under
    /// read_committed) at `version`, every answer checked for errors; returns the records and the
    /// last answer's partition data.
    pub(super) async fn read_to_end(
        &self,
        conn: &Connection,
        topic: &TopicMetadata,
        partition: i32,
        from: i64,
        version: i16,
        spec: FetchSpec,
    ) -> Res<Vec<ConsumerRecord>> {
        let isolation = if spec.isolation == 1 {
            IsolationLevel::ReadCommitted
        } else {
            IsolationLevel::ReadUncommitted
        };
        let mut offset = from;
        let mut out = Vec::new();
        for _ in 0..100 {
            let resp = self.fetch(conn, topic, partition, offset, version, spec).await?;
            let p = self.check(checks::fetch_partition(
                &resp,
                version,
                &topic.name,
                topic.id,
                partition,
            ))?;
            self.check(checks::error(
                p.error_code,
                kwire_protocol::ErrorCode::NONE,
                "partition error_code",
            ))?;
            let end = if spec.isolation == 1 {
                p.last_stable_offset
            } else {
                p.high_watermark
            };
            if offset >= end {
                return Ok(out);
            }
            let aborted = p.aborted_transactions.clone().unwrap_or_default();
            let (records, next) =
                decode_records(p.records.clone().unwrap_or_default(), offset, isolation, &aborted)
                    .map_err(|e| self.fail(format!("the records fetched do not decode: {e}")))?;
            if next <= offset {
                return Err(self.fail(format!(
                    "a Fetch at offset {offset} below the end ({end}) returned no complete batch"
                )));
            }
            out.extend(records);
            offset = next;
        }
        Err(self.fail(format!(
            "reading {} did not reach the end in 100 fetches",
            topic.name
        )))
    }

    /// Polls (up to 5 s) until `topic`-`partition` holds `count` records, and returns them.
    pub(super) async fn await_records(
        &self,
        topic: &TopicMetadata,
        partition: i32,
        count: usize,
    ) -> Res<Vec<ConsumerRecord>> {
        let conn = self.leader(&topic.name, partition).await?;
        let v = self.version::<FetchRequest>()?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = self
                .read_to_end(&conn, topic, partition, 0, v, FetchSpec::default())
                .await?;
            if got.len() >= count || Instant::now() > deadline {
                return Ok(got);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The coordinator of `key` (0: a group, 1: a transactional id), found at the negotiated
    /// FindCoordinator version. A group's coordinator is returned once it has loaded the group
    /// (or after 10 s): Kafka names the coordinator before it has read the group's offsets, and
    /// answers COORDINATOR_LOAD_IN_PROGRESS meanwhile.
    pub(super) async fn coordinator(&self, key: &str, key_type: i8) -> Res<Arc<Connection>> {
        let v = self.version::<FindCoordinatorRequest>()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let conn = self.conn().await?;
            let resp = self
                .send(&conn, find_coordinator_request(key, key_type), v)
                .await?;
            match checks::find_coordinator(&resp, v, key, &self.env.brokers) {
                Ok(broker) => {
                    let conn = self.connect_to(&broker).await?;
                    if key_type != 0 || Instant::now() > deadline || self.group_loaded(&conn, key).await? {
                        return Ok(conn);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                // A coordinator still loading answers a retriable error.
                Err(_) if Instant::now() < deadline && retriable_coordinator_error(&resp) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(why) => return Err(self.fail(format!("finding the coordinator of {key}: {why}"))),
            }
        }
    }

    /// Whether `group`'s coordinator `conn` has loaded it: an OffsetFetch of no topic at the
    /// negotiated version gets no retriable error.
    async fn group_loaded(&self, conn: &Connection, group: &str) -> Res<bool> {
        let v = self.version::<OffsetFetchRequest>()?;
        let mut req = OffsetFetchRequest {
            group_id: group.to_owned(),
            topics: Some(Vec::new()),
            groups: vec![OffsetFetchRequestGroup {
                group_id: group.to_owned(),
                member_epoch: -1,
                topics: Some(Vec::new()),
                ..Default::default()
            }],
            ..Default::default()
        };
        req.normalize_to(v);
        let resp = conn
            .send_raw(&req, v)
            .await
            .map_err(|e| self.setup(&format!("asking the coordinator of {group} for it"), e))?;
        let code = resp.groups.first().map_or(resp.error_code, |g| g.error_code);
        Ok(!kwire_protocol::ErrorCode(code).is_retriable())
    }

    /// A producer id from InitProducerId at the negotiated version: idempotent without a
    /// transactional id, else from the transaction coordinator, which is returned too. Retriable
    /// errors (a coordinator still loading or moved, for up to 10 s) are retried.
    pub(super) async fn init_producer_id(
        &self,
        transactional_id: Option<&str>,
    ) -> Res<(i64, i16, Arc<Connection>)> {
        let v = self.version::<InitProducerIdRequest>()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let conn = match transactional_id {
                Some(id) => self.coordinator(id, 1).await?,
                None => self.conn().await?,
            };
            let resp = self
                .send(&conn, init_producer_id_request(transactional_id), v)
                .await?;
            let retriable = kwire_protocol::ErrorCode(resp.error_code).is_retriable();
            if retriable && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            let (pid, epoch) = self.check(checks::init_producer_id(&resp))?;
            return Ok((pid, epoch, conn));
        }
    }
}

fn retriable_coordinator_error(resp: &kwire_protocol::messages::FindCoordinatorResponse) -> bool {
    let code = resp
        .coordinators
        .first()
        .map_or(resp.error_code, |c| c.error_code);
    kwire_protocol::ErrorCode(code).is_retriable()
}

/// A test batch and the records it must read back as.
pub(super) fn make_batch(spec: BatchSpec<'_>) -> Result<Produced, String> {
    let mut builder = RecordBatchBuilder::new(spec.compression).with_transactional(spec.transactional);
    if let Some((pid, epoch, seq)) = spec.producer {
        builder = builder.with_producer(pid, epoch, seq);
    }
    let mut records = Vec::with_capacity(spec.count);
    for i in 0..spec.count {
        let timestamp = spec.timestamp + i as i64;
        // Record 1 has a null key and a header with a null value: both must survive.
        let key = (i != 1).then(|| Bytes::from(format!("key-{i}")));
        let mut value = format!("{}-{i}-", spec.tag);
        while value.len() < spec.value_len {
            value.push_str("0123456789abcdefghijklmnopqrstuvwxyz");
        }
        value.truncate(spec.value_len.max(spec.tag.len() + 4));
        let value = Bytes::from(value);
        let mut headers = vec![Header::new("n", Bytes::from(i.to_string()))];
        if i == 1 {
            headers.push(Header {
                key: "null".to_owned(),
                value: None,
            });
        }
        builder
            .append(timestamp, key.as_deref(), Some(&value), &headers)
            .map_err(|e| format!("building the batch: {e}"))?;
        records.push(ConsumerRecord {
            offset: spec.first_offset + i as i64,
            timestamp,
            timestamp_type: kwire_protocol::records::TimestampType::CreateTime,
            key,
            value: Some(value),
            headers,
        });
    }
    let bytes = builder.finish().map_err(|e| format!("building the batch: {e}"))?;
    Ok(Produced { bytes, records })
}

/// A Produce request of one batch to one partition: the topic by name (v3-v12) and by id (v13+);
/// the version's normalisation drops the one it lacks.
pub(super) fn produce_request(
    topic: &TopicMetadata,
    partition: i32,
    batch: Bytes,
    acks: i16,
    transactional_id: Option<&str>,
) -> ProduceRequest {
    ProduceRequest {
        transactional_id: transactional_id.map(str::to_owned),
        acks,
        timeout_ms: 10_000,
        topic_data: vec![TopicProduceData {
            name: topic.name.clone(),
            topic_id: topic.id,
            partition_data: vec![PartitionProduceData {
                index: partition,
                records: Some(batch),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A Fetch of one partition: by name (v4-v12) and by topic id (v13+); the version's
/// normalisation drops the one it lacks.
pub(super) fn fetch_request(
    topic: &TopicMetadata,
    partition: i32,
    offset: i64,
    spec: FetchSpec,
) -> FetchRequest {
    FetchRequest {
        replica_id: -1,
        max_wait_ms: 10,
        min_bytes: 1,
        max_bytes: spec.max_bytes,
        isolation_level: spec.isolation,
        session_id: 0,
        session_epoch: -1,
        topics: vec![FetchTopic {
            topic: topic.name.clone(),
            topic_id: topic.id,
            partitions: vec![FetchPartition {
                partition,
                current_leader_epoch: -1,
                fetch_offset: offset,
                last_fetched_epoch: -1,
                log_start_offset: -1,
                partition_max_bytes: spec.partition_max_bytes,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A Metadata request for `topics` (None: all topics), without auto-creation (v4+).
pub(super) fn metadata_request(topics: Option<&[&str]>) -> MetadataRequest {
    MetadataRequest {
        topics: topics.map(|ts| {
            ts.iter()
                .map(|t| MetadataRequestTopic {
                    name: Some((*t).to_owned()),
                    topic_id: Uuid::NIL,
                    ..Default::default()
                })
                .collect()
        }),
        allow_auto_topic_creation: false,
        ..Default::default()
    }
}

/// A FindCoordinator request for `key` of `key_type`: the single key before v4, the key list
/// after.
pub(super) fn find_coordinator_request(key: &str, key_type: i8) -> FindCoordinatorRequest {
    FindCoordinatorRequest {
        key: key.to_owned(),
        key_type,
        coordinator_keys: vec![key.to_owned()],
        ..Default::default()
    }
}

/// An InitProducerId request: idempotent (no transactional id) or for `transactional_id`.
pub(super) fn init_producer_id_request(transactional_id: Option<&str>) -> InitProducerIdRequest {
    InitProducerIdRequest {
        transactional_id: transactional_id.map(str::to_owned),
        transaction_timeout_ms: 30_000,
        producer_id: -1,
        producer_epoch: -1,
        ..Default::default()
    }
}
