//! Brokers as users meet them: older ones that do not know our newest ApiVersions, slow ones that
//! trickle a response or stop half-way, ones that throttle the client (KIP-219), and connections
//! that end under a request. Each is a scripted broker on a loopback port that answers what the
//! test tells it to, byte for byte; the Java client's behaviour is the reference.

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
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let connection = c.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(sock, connection, Arc::clone(&script), Arc::clone(&s)));
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

async fn serve(mut sock: TcpStream, connection: u64, script: Arc<Script>, seen: Arc<Mutex<Vec<Seen>>>) {
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
fn metadata(req: &Seen, addr: &str, throttle_ms: i32) -> Bytes {
    let (host, port) = addr.rsplit_once(':').unwrap();
    let resp = MetadataResponse {
        throttle_time_ms: throttle_ms,
        brokers: vec![MetadataResponseBroker {
            node_id: 1,
            host: host.to_owned(),
            port: port.parse().unwrap(),
            ..Default::default()
        }],
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
