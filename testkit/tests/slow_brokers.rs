//! Brokers as users meet them: older ones that do not know our newest ApiVersions, slow ones that
//! trickle a response or stop half-way, ones that throttle the client (KIP-219), and connections
//! that end under a request. Each is a scripted broker on a loopback port that answers what the
//! test tells it to, byte for byte; the Java client's behaviour is the reference.

use kwire_connector::client::{ClientError, ConnectionError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kwire_connector::client::raw::{Connection, ConnectionConfig};
use kwire_connector::client::{Client, Error};
use kwire_protocol::frame::{encode_response, FrameDecoder};
use kwire_protocol::messages::api_versions_response::ApiVersion;
use kwire_protocol::messages::metadata_response::MetadataResponseBroker;
use kwire_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, Message, MetadataRequest, MetadataResponse,
};
use kwire_protocol::{Decoder, ErrorCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the scripted broker saw it.
#[derive(Debug, Clone)]
struct Seen {
    api_key: i16,
    version: i16,
    correlation_id: i32,
    /// Which connection (0 for the first accepted).
    connection: u64,
    /// When it arrived.
    at: Instant,
    /// The scripted broker's own address.
    broker: Arc<str>,
}

/// What the scripted broker does for one request.
enum Step {
    /// Writes these bytes.
    Write(Bytes),
    /// Writes these bytes one at a time, `gap` apart.
    Trickle(Bytes, Duration),
    /// Waits.
    Sleep(Duration),
    /// Closes the connection.
    Close,
}

type Script = dyn Fn(&Seen) -> Vec<Step> + Send + Sync;

/// A broker on a loopback port that answers each request with what `script` says.
struct Scripted {
    addr: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicU64>,
}

impl Scripted {
    async fn start(script: impl Fn(&Seen) -> Vec<Step> + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicU64::new(0));
        let script: Arc<Script> = Arc::new(script);
        let (s, c) = (Arc::clone(&seen), Arc::clone(&connections));
        let me: Arc<str> = addr.as_str().into();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let connection = c.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(
                    sock,
                    connection,
                    Arc::clone(&me),
                    Arc::clone(&script),
                    Arc::clone(&s),
                ));
            }
        });
        Self {
            addr,
            seen,
            connections,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn seen_of(&self, api: ApiKey) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.api_key == api.0).collect()
    }
}

async fn serve(
    mut sock: TcpStream,
    connection: u64,
    broker: Arc<str>,
    script: Arc<Script>,
    seen: Arc<Mutex<Vec<Seen>>>,
) {
    let frames = FrameDecoder::default();
    let mut buf = BytesMut::new();
    loop {
        while let Ok(Some(frame)) = frames.decode(&mut buf) {
            let mut d = Decoder::new(frame);
            let (Ok(api_key), Ok(version), Ok(correlation_id)) = (d.i16(), d.i16(), d.i32()) else {
                return;
            };
            let req = Seen {
                api_key,
                version,
                correlation_id,
                connection,
                at: Instant::now(),
                broker: Arc::clone(&broker),
            };
            seen.lock().unwrap().push(req.clone());
            for step in script(&req) {
                let ok = match step {
                    Step::Write(bytes) => sock.write_all(&bytes).await.is_ok(),
                    Step::Trickle(bytes, gap) => {
                        let mut ok = true;
                        for b in bytes.iter() {
                            ok = ok && sock.write_all(&[*b]).await.is_ok();
                            tokio::time::sleep(gap).await;
                        }
                        ok
                    }
                    Step::Sleep(d) => {
                        tokio::time::sleep(d).await;
                        true
                    }
                    Step::Close => false,
                };
                if !ok {
                    let _ = sock.shutdown().await;
                    return;
                }
            }
        }
        match sock.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// The API versions a Kafka 3.9 broker offers for the APIs these tests use.
fn old_broker_apis() -> Vec<ApiVersion> {
    [(18, 0, 3), (3, 0, 12), (0, 3, 11), (1, 4, 17)]
        .into_iter()
        .map(|(api_key, min_version, max_version)| ApiVersion {
            api_key,
            min_version,
            max_version,
            ..Default::default()
        })
        .collect()
}

/// An ApiVersions answer to `req` in its own version, listing `apis`.
fn api_versions(req: &Seen, apis: Vec<ApiVersion>) -> Bytes {
    let resp = ApiVersionsResponse {
        api_keys: apis,
        ..Default::default()
    };
    encode_response(req.correlation_id, req.version, &resp).unwrap()
}

/// A Metadata answer to `req` that lists this broker.
fn metadata(req: &Seen, throttle_ms: i32) -> Bytes {
    metadata_of(req, throttle_ms, &[1])
}

/// A Metadata answer to `req` that lists this broker under each of `ids`.
fn metadata_of(req: &Seen, throttle_ms: i32, ids: &[i32]) -> Bytes {
    let (host, port) = req.broker.rsplit_once(':').unwrap();
    let resp = MetadataResponse {
        throttle_time_ms: throttle_ms,
        brokers: ids
            .iter()
            .map(|id| MetadataResponseBroker {
                node_id: *id,
                host: host.to_owned(),
                port: port.parse().unwrap(),
                ..Default::default()
            })
            .collect(),
        controller_id: 1,
        ..Default::default()
    };
    encode_response(req.correlation_id, req.version, &resp).unwrap()
}

/// KIP-511: a broker asked for an ApiVersions version it does not know answers
/// UNSUPPORTED_VERSION in the version-0 layout with its own range of ApiVersions; the client
/// reads that answer as version 0 and asks again at the newest version the broker has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_broker_answers_apiversions_in_the_v0_layout_and_the_client_asks_again() {
    let broker = Scripted::start(|req| {
        if req.api_key == ApiKey::ApiVersions.0 && req.version > 3 {
            let resp = ApiVersionsResponse {
                error_code: ErrorCode::UNSUPPORTED_VERSION.0,
                api_keys: vec![ApiVersion {
                    api_key: 18,
                    min_version: 0,
                    max_version: 3,
                    ..Default::default()
                }],
                ..Default::default()
            };
            // The version-0 layout, whatever version was asked for.
            return vec![Step::Write(
                encode_response(req.correlation_id, 0, &resp).unwrap(),
            )];
        }
        if req.api_key == ApiKey::ApiVersions.0 {
            return vec![Step::Write(api_versions(req, old_broker_apis()))];
        }
        vec![Step::Close]
    })
    .await;
    let conn = Connection::connect(&broker.addr, ConnectionConfig::default())
        .await
        .expect("the client negotiates with an older broker");
    let asked: Vec<i16> = broker
        .seen_of(ApiKey::ApiVersions)
        .iter()
        .map(|s| s.version)
        .collect();
    assert_eq!(asked, vec![ApiVersionsRequest::VERSIONS.max, 3]);
    assert_eq!(conn.version_for::<MetadataRequest>().unwrap(), 12);
    assert_eq!(
        conn.broker_versions(ApiKey::Produce).map(|v| v.max),
        Some(11),
        "the ranges come from the second answer"
    );
}

/// A broker of the newest version for the APIs these tests use.
fn apis() -> Vec<ApiVersion> {
    [(18, 0, 4), (3, 0, 12)]
        .into_iter()
        .map(|(api_key, min_version, max_version)| ApiVersion {
            api_key,
            min_version,
            max_version,
            ..Default::default()
        })
        .collect()
}

fn quick(timeout: Duration) -> ConnectionConfig {
    ConnectionConfig::default()
        .request_timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
}

/// The request timeout bounds the whole exchange: an answer sent a byte at a time, or stopped
/// half-way, ends in a timeout naming the request and the broker within the timeout and a small
/// margin; the connection is ended (its stream is mid-frame), and a request after it is told why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_trickled_or_stopped_half_way_times_out_and_ends_the_connection() {
    for trickle in [true, false] {
        let broker = Scripted::start(move |req| {
            if req.api_key == ApiKey::ApiVersions.0 {
                return vec![Step::Write(api_versions(req, apis()))];
            }
            let frame = metadata(req, 0);
            if trickle {
                vec![Step::Trickle(frame, Duration::from_millis(300))]
            } else {
                let half = frame.len() / 2;
                vec![
                    Step::Write(frame.slice(..half)),
                    Step::Sleep(Duration::from_secs(60)),
                ]
            }
        })
        .await;
        let timeout = Duration::from_secs(1);
        let conn = Connection::connect(&broker.addr, quick(timeout)).await.unwrap();
        let started = Instant::now();
        let err = conn.send(&MetadataRequest::default()).await.unwrap_err();
        let took = started.elapsed();
        let text = err.to_string();
        assert!(
            matches!(err, Error::Connection(ConnectionError::Timeout { .. })),
            "trickle={trickle}: {text}"
        );
        assert!(
            text.contains("MetadataRequest") && text.contains(&broker.addr),
            "the error names the request and the broker: {text}"
        );
        assert!(
            took >= timeout && took < timeout + Duration::from_millis(1500),
            "trickle={trickle}: took {took:?}"
        );
        assert!(
            conn.is_closed(),
            "trickle={trickle}: a timed-out connection is ended"
        );
        let next = conn.send(&MetadataRequest::default()).await.unwrap_err();
        let next = next.to_string();
        assert!(
            next.contains("got no answer within") && next.contains(&broker.addr),
            "a later request is told why the connection ended: {next}"
        );
    }
}

/// Setting up a connection (socket, ApiVersions) has its own timeout: a broker that accepts the
/// socket and never answers ApiVersions is a timeout naming the setup, not a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_never_answers_apiversions_times_out_the_setup() {
    let broker = Scripted::start(|_| vec![Step::Sleep(Duration::from_secs(120))]).await;
    let config = ConnectionConfig::default()
        .request_timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(1));
    let started = Instant::now();
    let err = Connection::connect(&broker.addr, config).await.unwrap_err();
    let took = started.elapsed();
    let text = err.to_string();
    assert!(
        matches!(err, Error::Connection(ConnectionError::Timeout { .. })),
        "{text}"
    );
    assert!(
        text.contains("connection setup") && text.contains(&broker.addr),
        "{text}"
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(broker.seen_of(ApiKey::ApiVersions).len(), 1);
}

/// KIP-219: a response with throttle_time_ms > 0 holds the connection's next request back for
/// that long, and a hostile value is capped; the client counts both in its metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_response_holds_the_next_request_back_and_a_huge_throttle_is_capped() {
    for (throttle_ms, max_throttle, expect) in [
        (600, Duration::from_secs(30), Duration::from_millis(600)),
        (i32::MAX, Duration::from_millis(1200), Duration::from_millis(1200)),
    ] {
        let broker = Scripted::start(move |req| {
            if req.api_key == ApiKey::ApiVersions.0 {
                return vec![Step::Write(api_versions(req, apis()))];
            }
            vec![Step::Write(metadata(req, throttle_ms))]
        })
        .await;
        let client = Client::builder()
            .bootstrap(&broker.addr)
            .max_throttle(max_throttle)
            .build()
            .await
            .unwrap();
        // The bootstrap answer throttled the connection: the next request waits it out.
        client.raw().refresh_metadata(&[]).await.unwrap();
        let seen = broker.seen_of(ApiKey::Metadata);
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen.iter().all(|s| s.connection == 0), "one connection: {seen:?}");
        let gap = seen[1].at - seen[0].at;
        assert!(
            gap >= expect && gap < expect + Duration::from_secs(2),
            "throttle {throttle_ms} ms, capped at {max_throttle:?}: the next request came after {gap:?}"
        );
        let m = client.metrics();
        assert_eq!(m.throttled_responses, 2, "{m:?}");
        assert_eq!(m.throttle_time, expect * 2, "{m:?}");
        assert_eq!(m.request_timeouts, 0, "{m:?}");
    }
}

/// A connection the broker closes between requests, or poisons with a duplicated response, is
/// replaced, and Metadata (safe to repeat) is asked again on the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_is_asked_again_on_a_new_connection_after_a_reset_or_a_duplicated_response() {
    for duplicate in [false, true] {
        let broker = Scripted::start(move |req| {
            if req.api_key == ApiKey::ApiVersions.0 {
                return vec![Step::Write(api_versions(req, apis()))];
            }
            let frame = metadata(req, 0);
            match (req.connection, duplicate) {
                // The first connection answers once, then is reset (or sends that answer twice).
                (0, false) => vec![
                    Step::Write(frame),
                    Step::Sleep(Duration::from_millis(200)),
                    Step::Close,
                ],
                (0, true) => vec![Step::Write(frame.clone()), Step::Write(frame)],
                _ => vec![Step::Write(frame)],
            }
        })
        .await;
        let client = Client::builder()
            .bootstrap(&broker.addr)
            .request_timeout(Duration::from_secs(5))
            .build()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        client
            .raw()
            .refresh_metadata(&[])
            .await
            .expect("asked again on a new connection");
        assert_eq!(
            broker.connections.load(Ordering::SeqCst),
            2,
            "duplicate={duplicate}: the first connection was replaced"
        );
        assert_eq!(client.metrics().connections, 2);
    }
}

/// A broker id the cached metadata does not list (one that joined since, named as a leader or a
/// coordinator) is looked up again before it is an error, and the error is a retriable
/// UnknownBroker, not an invalid argument.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_id_missing_from_the_cache_is_asked_for_again() {
    let broker = Scripted::start(|req| {
        if req.api_key == ApiKey::ApiVersions.0 {
            return vec![Step::Write(api_versions(req, apis()))];
        }
        // Broker 2 appears from the second answer on.
        let first = req.correlation_id <= 1 && req.connection == 0;
        let ids: &[i32] = if first { &[1] } else { &[1, 2] };
        vec![Step::Write(metadata_of(req, 0, ids))]
    })
    .await;
    let client = Client::builder().bootstrap(&broker.addr).build().await.unwrap();
    assert!(!client.metadata().brokers.contains_key(&2));
    client.raw().broker(2).await.expect("found after asking again");
    assert_eq!(broker.seen_of(ApiKey::Metadata).len(), 2);
    let err = client.raw().broker(3).await.unwrap_err();
    assert!(
        matches!(err, Error::Client(ClientError::UnknownBroker { id: 3 })),
        "{err}"
    );
    assert!(err.is_retriable());
    assert_eq!(broker.seen_of(ApiKey::Metadata).len(), 3);
}

/// KIP-219 on the data path: a throttled Produce holds the producer's next Produce back, and a
/// throttled Fetch the consumer's next Fetch, on the fake cluster (a real broker throttles only
/// under a quota); a huge throttle holds them no longer than the cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_produce_and_fetch_answers_hold_the_next_ones_back() {
    use kwire_connector::client::{Consumer, ProducerRecord, StartOffset};
    use kwire_testkit::fake::{FakeCluster, RequestFault};

    let cluster = FakeCluster::start(1).unwrap();
    for (throttle_ms, expect) in [
        (700, Duration::from_millis(700)),
        (i32::MAX, Duration::from_secs(1)),
    ] {
        let client = Client::builder()
            .bootstrap(&cluster.bootstrap())
            .max_throttle(Duration::from_secs(1))
            .build()
            .await
            .unwrap();
        let topic = format!("throttled-{throttle_ms}");
        client.create_topic(&topic, 1, 1).await.unwrap();
        let producer = client.producer().build().await.unwrap();
        // The first Produce is answered with a throttle: the second waits it out.
        cluster.fail_next(ApiKey::Produce, RequestFault::Throttle(throttle_ms), 1);
        let send = |v: &'static str| producer.send(ProducerRecord::new(&topic, v).partition(0));
        send("a").await.unwrap().await.unwrap().unwrap();
        let acked = Instant::now();
        send("b").await.unwrap().await.unwrap().unwrap();
        let gap = acked.elapsed();
        assert!(
            gap >= expect - Duration::from_millis(100) && gap < expect + Duration::from_secs(2),
            "Produce throttled {throttle_ms} ms: the next one was acknowledged after {gap:?}"
        );
        producer.close().await.unwrap();

        let before = client.metrics();
        cluster.fail_next(ApiKey::Fetch, RequestFault::Throttle(throttle_ms), 1);
        let mut consumer = Consumer::builder(client.clone()).build();
        consumer
            .assign_topic(&topic, StartOffset::Earliest)
            .await
            .unwrap();
        consumer.stop_at(&topic, 0, 2);
        let mut read = 0;
        while let Some(batch) = consumer.next_batch().await {
            read += batch.unwrap().records.len();
        }
        assert_eq!(read, 2);
        let after = client.metrics();
        assert_eq!(
            after.throttled_responses,
            before.throttled_responses + 1,
            "{after:?}"
        );
        assert_eq!(after.throttle_time - before.throttle_time, expect, "{after:?}");
        assert_eq!(
            cluster.request_faults_used_on(ApiKey::Fetch),
            if throttle_ms == 700 { 1 } else { 2 }
        );
    }
}
