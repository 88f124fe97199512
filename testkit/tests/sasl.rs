//! SASL against Apache Kafka (the testkit starts one with SASL_PLAINTEXT and SASL_SSL listeners,
//! whatever `KWIRE_BROKER` says: tansu and the fake cluster have no SASL): PLAIN, SCRAM-SHA-256,
//! SCRAM-SHA-512 and OAUTHBEARER with the right credentials produce and consume over both; a
//! wrong password, an unknown user, an expired token, a mechanism the listener does not enable,
//! TLS to a plaintext port and a listener without SASL are each one clear error naming the
//! broker; sessions are renewed (KIP-368) under load and with expiring tokens.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use kwire_connector::client::TlsConfig;
use kwire_connector::client::{
    Client, ConnectionError, Consumer, Error, ProducerRecord, SaslConfig, SaslMechanism, StartOffset,
};
use kwire_testkit::apache::{ApacheKafka, TEST_CA_PEM};

const MECHANISMS: [SaslMechanism; 3] = [
    SaslMechanism::Plain,
    SaslMechanism::ScramSha256,
    SaslMechanism::ScramSha512,
];

fn broker() -> ApacheKafka {
    match ApacheKafka::start_sasl(&[("alice", "alice-secret"), ("bob", "bob-secret")]) {
        Ok(b) => b,
        Err(e) => panic!("Apache Kafka with SASL must start for these tests: {e}"),
    }
}

/// An unsecured JWS (`"alg":"none"`) for `sub`, valid from now for `valid_for` seconds (negative:
/// already expired), as Kafka's unsecured-token validator takes it.
fn unsecured_token(sub: &str, valid_for: i64) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
    let claims = format!(
        r#"{{"sub":"{sub}","iat":{},"exp":{}}}"#,
        now - 60,
        now + valid_for
    );
    format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims))
}

async fn client(bootstrap: &str, sasl: SaslConfig) -> Result<Client, Error> {
    builder(bootstrap, sasl).build().await
}

fn builder(bootstrap: &str, sasl: SaslConfig) -> kwire_connector::client::ClientBuilder {
    Client::builder()
        .bootstrap(bootstrap)
        .sasl(sasl)
        .retry_timeout(Duration::from_secs(5))
}

/// Every mechanism over each transport: SASL_PLAINTEXT, and SASL_SSL (TLS, then SASL inside it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mechanism_authenticates_produces_and_consumes_over_plaintext_and_tls() {
    let kafka = broker();
    let plaintext = kafka.sasl_bootstrap().expect("a SASL_PLAINTEXT listener");
    let ssl = kafka.sasl_ssl_bootstrap().expect("a SASL_SSL listener");
    let mut runs = 0;
    for (transport, bootstrap) in [("plaintext", &plaintext), ("tls", &ssl)] {
        let mut configs: Vec<SaslConfig> = MECHANISMS
            .iter()
            .map(|m| SaslConfig::new(*m, "alice", "alice-secret"))
            .collect();
        configs.push(SaslConfig::oauthbearer_token(&unsecured_token("alice", 3600)));
        for sasl in configs {
            let mechanism = sasl.mechanism();
            let mut b = builder(bootstrap, sasl);
            if transport == "tls" {
                b = b.tls(TlsConfig::from_ca_pem(TEST_CA_PEM).unwrap());
            }
            let client = b
                .build()
                .await
                .unwrap_or_else(|e| panic!("{mechanism:?} over {transport}: {e}\n{}", kafka.log_tail(20)));
            runs += 1;
            let topic = format!("sasl-{transport}-{}", mechanism.name().to_ascii_lowercase());
            client.create_topic(&topic, 1, 1).await.unwrap();
            let producer = client.producer().build().await.unwrap();
            let ack = producer
                .send(ProducerRecord::new(&topic, mechanism.name()).partition(0))
                .await
                .unwrap();
            producer.flush().await.unwrap();
            ack.await.unwrap().unwrap();
            producer.close().await.unwrap();
            let mut consumer = Consumer::builder(client.clone()).build();
            consumer
                .assign_topic(&topic, StartOffset::Earliest)
                .await
                .unwrap();
            consumer.stop_at(&topic, 0, 1);
            let mut values = Vec::new();
            while let Some(batch) = consumer.next_batch().await {
                for r in batch.unwrap().records {
                    values.push(r.value.unwrap());
                }
            }
            assert_eq!(
                values,
                vec![mechanism.name().as_bytes().to_vec()],
                "{mechanism:?}"
            );
            assert!(
                client.metrics().connections >= 1,
                "{mechanism:?}: every connection authenticated"
            );
        }
    }
    assert_eq!(runs, 8);
    // TLS to the SASL_SSL listener without trusting its CA fails in the TLS layer, before SASL.
    let untrusted = builder(&ssl, SaslConfig::plain("alice", "alice-secret"))
        .tls(TlsConfig::from_ca_pem(include_bytes!("fixtures/tls/other-ca.pem")).unwrap())
        .build()
        .await
        .expect_err("an untrusted certificate");
    assert!(untrusted.to_string().contains("TLS handshake"), "{untrusted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_an_unknown_user_and_a_plaintext_listener_are_clear_errors() {
    let kafka = broker();
    let bootstrap = kafka.sasl_bootstrap().expect("a SASL listener");
    let mut seen = 0;
    for mechanism in MECHANISMS {
        for (user, password) in [("alice", "not-her-password"), ("mallory", "whatever")] {
            let err = client(&bootstrap, SaslConfig::new(mechanism, user, password))
                .await
                .expect_err("refused");
            let text = err.to_string();
            assert!(
                text.contains(&bootstrap)
                    && text.contains(mechanism.name())
                    && text.contains("SASL_AUTHENTICATION_FAILED"),
                "{mechanism:?} {user}: {text}"
            );
            assert!(
                !text.contains(password),
                "the password is never in an error: {text}"
            );
            assert!(!err.is_retriable(), "{text}");
            assert!(
                matches!(&err, Error::Connection(ConnectionError::Sasl { mechanism: m, .. }) if *m == mechanism.name()),
                "the client's error is the typed SASL failure: {text}"
            );
            println!("{mechanism:?} {user}: {text}");
            seen += 1;
        }
    }
    assert_eq!(seen, 6);
    // SASL sent to the listener without it: Kafka answers the handshake with ILLEGAL_SASL_STATE.
    let err = client(
        &kafka.bootstrap(),
        SaslConfig::scram_sha256("alice", "alice-secret"),
    )
    .await
    .expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("ILLEGAL_SASL_STATE") && text.contains("SCRAM-SHA-256"),
        "{text}"
    );
    println!("plaintext listener: {text}");
    let direct = kwire_connector::client::raw::Connection::connect(
        &bootstrap,
        kwire_connector::client::raw::ConnectionConfig::default().sasl(SaslConfig::plain("alice", "nope")),
    )
    .await
    .expect_err("refused");
    assert!(
        matches!(
            direct,
            Error::Connection(ConnectionError::Sasl {
                mechanism: "PLAIN",
                ..
            })
        ),
        "{direct}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauthbearer_asks_its_provider_on_every_connection_and_an_expired_token_is_refused() {
    let kafka = broker();
    let bootstrap = kafka.sasl_bootstrap().expect("a SASL listener");
    let asked = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&asked);
    let provider: kwire_connector::client::TokenProvider = Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(unsecured_token("alice", 3600))
    });
    let client = client(&bootstrap, SaslConfig::oauthbearer(provider))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", kafka.log_tail(20)));
    client.create_topic("sasl-oauthbearer", 1, 1).await.unwrap();
    let producer = client.producer().build().await.unwrap();
    let ack = producer
        .send(ProducerRecord::new("sasl-oauthbearer", "token").partition(0))
        .await
        .unwrap();
    producer.flush().await.unwrap();
    assert_eq!(ack.await.unwrap().unwrap().offset, 0);
    producer.close().await.unwrap();
    let connections = client.metrics().connections;
    assert!(connections >= 1);
    assert_eq!(
        asked.load(Ordering::SeqCst),
        connections,
        "one token per connection"
    );

    let expired = SaslConfig::oauthbearer_token(&unsecured_token("alice", -600));
    let err = client_of(&bootstrap, expired).await;
    assert!(
        err.contains("OAUTHBEARER") && err.contains(&bootstrap) && err.contains("invalid_token"),
        "{err}"
    );
}

async fn client_of(bootstrap: &str, sasl: SaslConfig) -> String {
    client(bootstrap, sasl).await.expect_err("refused").to_string()
}

/// A broker whose SASL sessions last 3 s (`connections.max.reauth.ms`), so that a client must
/// re-authenticate its open connections (KIP-368) every second or so; one that does not has them
/// closed by the broker at its next request after the session ended.
fn broker_with_short_sessions() -> ApacheKafka {
    match ApacheKafka::start_sasl_with(&[("alice", "alice-secret")], &["connections.max.reauth.ms=3000"]) {
        Ok(b) => b,
        Err(e) => panic!("Apache Kafka with SASL must start for these tests: {e}"),
    }
}

/// Produces `n` records (the values "0" to "n-1") to a new one-partition topic, paced over about
/// `over`, while a consumer on the same client reads them; returns the values read, in order,
/// and the connections the client made during the run (after the first record was acknowledged
/// and the consumer placed).
async fn produce_while_reading(client: &Client, topic: &str, n: usize, over: Duration) -> (Vec<String>, u64) {
    client.create_topic(topic, 1, 1).await.unwrap();
    let producer = client.producer().build().await.unwrap();
    producer
        .send_and_wait(ProducerRecord::new(topic, "0").partition(0))
        .await
        .unwrap();
    let mut consumer = Consumer::builder(client.clone()).build();
    consumer.assign_topic(topic, StartOffset::Earliest).await.unwrap();
    consumer.stop_at(topic, 0, i64::try_from(n).unwrap());
    let connections = client.metrics().connections;
    let per_tick = 50;
    let tick = over / u32::try_from(n / per_tick).unwrap();
    let writer = {
        let (producer, topic) = (producer.clone(), topic.to_owned());
        tokio::spawn(async move {
            let mut acks = Vec::with_capacity(n);
            for i in 1..n {
                acks.push(
                    producer
                        .send(ProducerRecord::new(&topic, i.to_string()).partition(0))
                        .await?,
                );
                if i % per_tick == 0 {
                    tokio::time::sleep(tick).await;
                }
            }
            producer.flush().await?;
            for ack in acks {
                ack.await.expect("every record is answered")?;
            }
            Ok::<_, Error>(())
        })
    };
    let mut values = Vec::with_capacity(n);
    while let Some(batch) = tokio::time::timeout(Duration::from_secs(30), consumer.next_batch())
        .await
        .expect("the consumer keeps reading")
    {
        for r in batch.unwrap().records {
            values.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
        }
    }
    writer.await.unwrap().unwrap();
    producer.close().await.unwrap();
    (values, client.metrics().connections - connections)
}

fn numbers(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

/// Under a steady produce and consume load, each open connection re-authenticates before its
/// session ends, over SASL_PLAINTEXT and SASL_SSL: no request is lost, nothing is reordered, and
/// no connection is replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_reauthenticate_under_load_without_losing_a_request() {
    let kafka = broker_with_short_sessions();
    let plaintext = kafka.sasl_bootstrap().expect("a SASL_PLAINTEXT listener");
    let ssl = kafka.sasl_ssl_bootstrap().expect("a SASL_SSL listener");
    let runs = [
        (
            "plaintext",
            &plaintext,
            SaslConfig::scram_sha256("alice", "alice-secret"),
        ),
        ("tls", &ssl, SaslConfig::scram_sha512("alice", "alice-secret")),
        ("plain", &plaintext, SaslConfig::plain("alice", "alice-secret")),
    ];
    for (name, bootstrap, sasl) in runs {
        let mut b = builder(bootstrap, sasl);
        if name == "tls" {
            b = b.tls(TlsConfig::from_ca_pem(TEST_CA_PEM).unwrap());
        }
        let client = b
            .build()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", kafka.log_tail(20)));
        let n = 4_000;
        let (values, reconnects) =
            produce_while_reading(&client, &format!("reauth-{name}"), n, Duration::from_secs(4)).await;
        assert_eq!(values, numbers(n), "{name}");
        let m = client.metrics();
        assert_eq!(reconnects, 0, "{name}: no connection replaced: {m:?}");
        assert!(
            m.reauthentications >= 2,
            "{name}: sessions of 3 s over a 4 s run are renewed: {m:?}"
        );
    }
}

/// OAUTHBEARER tokens that live 3 s (the session ends with the token): each re-authentication
/// asks the provider for a fresh one, so a consumer reads on past the expiry of the token it
/// connected with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauthbearer_token_is_refreshed_while_a_consumer_reads() {
    let kafka = broker_with_short_sessions();
    let bootstrap = kafka.sasl_bootstrap().expect("a SASL listener");
    let asked = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&asked);
    let provider: kwire_connector::client::TokenProvider = Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(unsecured_token("alice", 3))
    });
    let client = client(&bootstrap, SaslConfig::oauthbearer(provider))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", kafka.log_tail(20)));
    let n = 5_000;
    let (values, reconnects) =
        produce_while_reading(&client, "reauth-oauthbearer", n, Duration::from_secs(5)).await;
    assert_eq!(values, numbers(n));
    let m = client.metrics();
    assert_eq!(reconnects, 0, "no connection replaced: {m:?}");
    assert!(m.reauthentications >= 3, "{m:?}");
    assert_eq!(
        asked.load(Ordering::SeqCst),
        m.connections + m.reauthentications,
        "a fresh token for every authentication: {m:?}"
    );
}

/// A listener that enables SCRAM-SHA-512 only: PLAIN there is refused by name, with the
/// mechanisms the listener enables; and TLS to the SASL_PLAINTEXT port fails in the TLS layer.
/// Each is one line naming the broker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mechanism_the_listener_does_not_enable_and_tls_to_a_plaintext_port_are_clear_errors() {
    let kafka = ApacheKafka::start_sasl_with(
        &[("alice", "alice-secret")],
        &["listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512"],
    )
    .unwrap_or_else(|e| panic!("Apache Kafka with SASL must start for this test: {e}"));
    let ssl = kafka.sasl_ssl_bootstrap().expect("a SASL_SSL listener");
    let tls = || TlsConfig::from_ca_pem(TEST_CA_PEM).unwrap();
    let err = builder(&ssl, SaslConfig::plain("alice", "alice-secret"))
        .tls(tls())
        .build()
        .await
        .expect_err("PLAIN is not enabled there")
        .to_string();
    assert!(
        err.contains(&ssl)
            && err.contains("PLAIN")
            && err.contains("UNSUPPORTED_SASL_MECHANISM")
            && err.contains("[SCRAM-SHA-512]"),
        "{err}"
    );
    builder(&ssl, SaslConfig::scram_sha512("alice", "alice-secret"))
        .tls(tls())
        .build()
        .await
        .unwrap_or_else(|e| panic!("SCRAM-SHA-512 is enabled: {e}"));
    let plaintext = kafka.sasl_bootstrap().expect("a SASL_PLAINTEXT listener");
    let err = builder(&plaintext, SaslConfig::plain("alice", "alice-secret"))
        .tls(tls())
        .connect_timeout(Duration::from_secs(5))
        .build()
        .await
        .expect_err("no TLS on that port")
        .to_string();
    assert!(err.contains(&plaintext) && err.contains("TLS"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
