//! TLS: the client against the embedded broker behind a TLS-terminating proxy that speaks nothing
//! but TLS (the broker advertises the proxy's port, so every connection after bootstrap goes
//! through it too). Certificates: tests/fixtures/tls.

use kwire_connector::client::ConnectionError;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kwire_connector::client::{raw::FetchOptions, Client, Error, ProducerRecord, TlsConfig};
use kwire_testkit::broker::free_port;
use kwire_testkit::LocalBroker;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

const CA: &[u8] = include_bytes!("fixtures/tls/ca.pem");
const OTHER_CA: &[u8] = include_bytes!("fixtures/tls/other-ca.pem");
const SERVER_CERT: &[u8] = include_bytes!("fixtures/tls/server.pem");
const SERVER_KEY: &[u8] = include_bytes!("fixtures/tls/server.key");
const CLIENT_CERT: &[u8] = include_bytes!("fixtures/tls/client.pem");
const CLIENT_KEY: &[u8] = include_bytes!("fixtures/tls/client.key");

/// Counts of what the proxy saw.
#[derive(Debug, Default)]
struct Seen {
    handshakes: AtomicU64,
    refused: AtomicU64,
}

fn server_config(require_client_cert: bool) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(SERVER_CERT)
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY).unwrap();
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if require_client_cert {
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(CA) {
            roots.add(c.unwrap()).unwrap();
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    Arc::new(builder.with_single_cert(chain, key).unwrap())
}

/// The embedded broker behind a TLS-only proxy on the port it advertises.
async fn broker_behind_tls(require_client_cert: bool) -> (LocalBroker, Arc<Seen>) {
    let port = free_port().unwrap();
    let (broker, upstream) = LocalBroker::advertising(port).expect("broker starts");
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let acceptor = TlsAcceptor::from(server_config(require_client_cert));
    let seen = Arc::new(Seen::default());
    let counts = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let counts = Arc::clone(&counts);
            tokio::spawn(async move { terminate(acceptor, tcp, upstream, &counts).await });
        }
    });
    (broker, seen)
}

async fn terminate(acceptor: TlsAcceptor, tcp: TcpStream, upstream: SocketAddr, seen: &Seen) {
    let mut tls = match acceptor.accept(tcp).await {
        Ok(s) => s,
        Err(_) => {
            seen.refused.fetch_add(1, Ordering::SeqCst);
            return;
        }
    };
    seen.handshakes.fetch_add(1, Ordering::SeqCst);
    let Ok(mut plain) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
}

async fn roundtrip(client: &Client, topic: &str) {
    client.create_topic(topic, 2, 1).await.unwrap();
    let producer = client.producer().build().await.unwrap();
    let mut acks = Vec::new();
    for i in 0..200 {
        let record = ProducerRecord::new(topic, Bytes::from(format!("secret {i}"))).partition(i % 2);
        acks.push(producer.send(record).await.unwrap());
    }
    producer.flush().await.unwrap();
    for ack in acks {
        ack.await.unwrap().unwrap();
    }
    let opts = FetchOptions::default().max_wait(Duration::from_millis(10));
    for partition in 0..2 {
        let mut values = Vec::new();
        let mut offset = 0;
        while values.len() < 100 {
            let f = client
                .raw()
                .fetch_one(topic, partition, offset, &opts)
                .await
                .unwrap();
            offset = f.next_offset;
            values.extend(f.records.into_iter().map(|r| r.value.unwrap()));
        }
        let expected: Vec<Bytes> = (0..100)
            .map(|k| Bytes::from(format!("secret {}", 2 * k + partition)))
            .collect();
        assert_eq!(values, expected, "partition {partition}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_and_fetch_over_tls() {
    let (broker, seen) = broker_behind_tls(false).await;
    let client = Client::builder()
        .bootstrap(broker.bootstrap())
        .tls(TlsConfig::from_ca_pem(CA).unwrap())
        .build()
        .await
        .expect("client connects over TLS");
    roundtrip(&client, "tls-roundtrip").await;
    assert!(seen.handshakes.load(Ordering::SeqCst) >= 1);
    assert_eq!(seen.refused.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_presents_the_client_certificate() {
    let (broker, seen) = broker_behind_tls(true).await;
    // Without a client certificate the broker side refuses the handshake.
    let anonymous = Client::builder()
        .bootstrap(broker.bootstrap())
        .tls(TlsConfig::from_ca_pem(CA).unwrap())
        .retry_timeout(Duration::from_secs(1))
        .build()
        .await;
    assert!(anonymous.is_err(), "a client without a certificate got in");
    // The broker side counts its refusal after it sent the alert the client failed on: wait for
    // the count rather than race it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while seen.refused.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        seen.refused.load(Ordering::SeqCst) >= 1,
        "the broker side refused no handshake"
    );

    let client = Client::builder()
        .bootstrap(broker.bootstrap())
        .tls(TlsConfig::with_client_auth(CA, CLIENT_CERT, CLIENT_KEY).unwrap())
        .build()
        .await
        .expect("client with its certificate connects");
    roundtrip(&client, "mtls-roundtrip").await;
    assert!(seen.handshakes.load(Ordering::SeqCst) >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_broker_certificate_is_a_tls_error() {
    let (broker, seen) = broker_behind_tls(false).await;
    let conn = kwire_connector::client::raw::Connection::connect(
        broker.bootstrap(),
        kwire_connector::client::raw::ConnectionConfig::default()
            .tls(TlsConfig::from_ca_pem(OTHER_CA).unwrap()),
    )
    .await;
    match conn {
        Err(Error::Connection(ConnectionError::Tls { broker: b, reason })) => {
            assert_eq!(b, broker.bootstrap());
            assert!(reason.to_lowercase().contains("certificate"), "{reason}");
        }
        other => panic!("expected a TLS error, got {other:?}"),
    }
    // A certificate for 127.0.0.1 checked against another name fails the same way.
    let conn = kwire_connector::client::raw::Connection::connect(
        broker.bootstrap(),
        kwire_connector::client::raw::ConnectionConfig::default()
            .tls(TlsConfig::from_ca_pem(CA).unwrap().server_name("kafka.example")),
    )
    .await;
    assert!(
        matches!(conn, Err(Error::Connection(ConnectionError::Tls { .. }))),
        "{conn:?}"
    );
    assert_eq!(seen.handshakes.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_a_plaintext_listener_fails_clearly() {
    let broker = LocalBroker::embedded(0).expect("embedded broker starts");
    let conn = kwire_connector::client::raw::Connection::connect(
        broker.bootstrap(),
        kwire_connector::client::raw::ConnectionConfig::default()
            .tls(TlsConfig::from_ca_pem(CA).unwrap())
            .connect_timeout(Duration::from_secs(5)),
    )
    .await;
    assert!(
        matches!(
            conn,
            Err(Error::Connection(ConnectionError::Tls { .. })
                | Error::Connection(ConnectionError::Timeout { .. }))
        ),
        "{conn:?}"
    );
}
