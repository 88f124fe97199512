//! Faults a real broker does not stage by itself: connections cut between a request and its
//! response, all connections dropped, and a broker that sends malformed bytes.

use kwire_connector::client::{ConnectionError, ProtocolError};
use std::collections::HashSet;
use std::time::Duration;

use bytes::BytesMut;
use kwire_connector::client::{
    raw::Connection, raw::ConnectionConfig, raw::FetchOptions, Client, Error, ProducerRecord,
};
use kwire_connector::client::{Consumer, StartOffset};
use kwire_connector::core::fetch_plan::BufferLimits;
use kwire_protocol::frame::{encode_response, FrameDecoder};
use kwire_protocol::messages::api_versions_response::ApiVersion;
use kwire_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kwire_protocol::messages::{ApiKey, ApiVersionsResponse, MetadataRequest, MetadataResponse};
use kwire_protocol::{Decoder, ErrorCode};
use kwire_testkit::{data, LocalBroker};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn quick() -> FetchOptions {
    FetchOptions::default().max_wait(Duration::from_millis(10))
}

/// Every value of partition 0 of `topic`, read to the high watermark.
async fn values(client: &Client, topic: &str) -> Vec<String> {
    let mut offset = 0;
    let mut out = Vec::new();
    loop {
        let f = client.raw().fetch_one(topic, 0, offset, &quick()).await.unwrap();
        out.extend(
            f.records
                .iter()
                .map(|r| String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap()),
        );
        offset = f.next_offset;
        if offset >= f.high_watermark {
            return out;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_producer_retries_a_cut_produce_without_duplicates() {
    let (broker, proxy) = LocalBroker::behind_proxy().expect("broker starts");
    let client = Client::builder()
        .bootstrap(broker.bootstrap())
        .build()
        .await
        .unwrap();
    client.create_topic("idem", 1, 1).await.unwrap();
    let producer = client
        .producer()
        .linger(Duration::from_millis(2))
        .build()
        .await
        .unwrap();
    let mut sent = Vec::new();
    for round in 0..5 {
        if round == 2 {
            // The next three Produce requests reach the broker and are appended, but their
            // responses never come back: the producer must resend with the same sequences.
            proxy.cut_after_request(ApiKey::Produce.0, 3);
        }
        let mut futures = Vec::new();
        for i in 0..40 {
            let v = format!("{round}-{i}");
            futures.push(
                producer
                    .send(ProducerRecord::new("idem", v.clone()).partition(0))
                    .await
                    .unwrap(),
            );
            sent.push(v);
        }
        producer.flush().await.unwrap();
        for f in futures {
            f.await.unwrap().unwrap();
        }
    }
    assert_eq!(proxy.cuts(), 3, "the faults happened");
    let got = values(&client, "idem").await;
    assert_eq!(got, sent, "every record once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_producer_loses_nothing_when_cut() {
    let (broker, proxy) = LocalBroker::behind_proxy().expect("broker starts");
    let client = Client::builder()
        .bootstrap(broker.bootstrap())
        .build()
        .await
        .unwrap();
    client.create_topic("alo", 1, 1).await.unwrap();
    let producer = client
        .producer()
        .idempotence(false)
        .acks(kwire_connector::client::Acks::Leader)
        .build()
        .await
        .unwrap();
    proxy.cut_after_request(ApiKey::Produce.0, 2);
    let mut sent = Vec::new();
    for i in 0..100 {
        let v = format!("r{i}");
        producer
            .send(ProducerRecord::new("alo", v.clone()).partition(0))
            .await
            .unwrap();
        sent.push(v);
    }
    producer.flush().await.unwrap();
    let got = values(&client, "alo").await;
    let unique: HashSet<&String> = got.iter().collect();
    assert!(sent.iter().all(|v| unique.contains(v)), "a record was lost");
    eprintln!(
        "at-least-once with 2 cuts: {} records read for {} sent ({} duplicates)",
        got.len(),
        sent.len(),
        got.len() - sent.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_reconnects_after_every_connection_is_dropped() {
    let (broker, proxy) = LocalBroker::behind_proxy().expect("broker starts");
    let client = Client::builder()
        .bootstrap(broker.bootstrap())
        .build()
        .await
        .unwrap();
    client.create_topic("drops", 1, 1).await.unwrap();
    let producer = client.producer().build().await.unwrap();
    for i in 0..10 {
        producer
            .send_and_wait(ProducerRecord::new("drops", format!("{i}")).partition(0))
            .await
            .unwrap();
    }
    let before = proxy.connections();
    proxy.drop_connections();
    // Fetch and produce both go on over new connections.
    assert_eq!(values(&client, "drops").await.len(), 10);
    producer
        .send_and_wait(ProducerRecord::new("drops", "10").partition(0))
        .await
        .unwrap();
    assert_eq!(values(&client, "drops").await.len(), 11);
    assert!(proxy.connections() > before, "no new connection was made");
}

/// What a fake broker sends after answering ApiVersions.
#[derive(Clone, Copy, Debug)]
enum Garbage {
    Truncated,
    WrongCorrelationId,
    Oversized,
}

/// A one-connection fake broker: answers ApiVersions correctly, then answers the next request with
/// `garbage`.
async fn bad_broker(garbage: Garbage) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let frames = FrameDecoder::default();
        let mut buf = BytesMut::new();
        let mut answered = 0;
        loop {
            if sock.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                return;
            }
            while let Ok(Some(frame)) = frames.decode(&mut buf) {
                let mut d = Decoder::new(frame);
                let (_key, version, correlation) = (d.i16().unwrap(), d.i16().unwrap(), d.i32().unwrap());
                if answered == 0 {
                    let resp = ApiVersionsResponse {
                        api_keys: vec![
                            ApiVersion {
                                api_key: 18,
                                min_version: 0,
                                max_version: 4,
                                ..Default::default()
                            },
                            ApiVersion {
                                api_key: 3,
                                min_version: 0,
                                max_version: 12,
                                ..Default::default()
                            },
                        ],
                        ..Default::default()
                    };
                    sock.write_all(&encode_response(correlation, version, &resp).unwrap())
                        .await
                        .unwrap();
                } else {
                    let bytes: Vec<u8> = match garbage {
                        // Says 100 bytes, sends 6, closes.
                        Garbage::Truncated => vec![0, 0, 0, 100, 0, 0, 0, 1, 0, 0],
                        Garbage::WrongCorrelationId => {
                            let mut v = vec![0, 0, 0, 8];
                            v.extend_from_slice(&(correlation + 1000).to_be_bytes());
                            v.extend_from_slice(&[0, 0, 0, 0]);
                            v
                        }
                        Garbage::Oversized => 0x7fff_fff0i32.to_be_bytes().to_vec(),
                    };
                    sock.write_all(&bytes).await.unwrap();
                    sock.shutdown().await.ok();
                    return;
                }
                answered += 1;
            }
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_responses_end_the_connection_with_a_clear_error() {
    for garbage in [
        Garbage::Truncated,
        Garbage::WrongCorrelationId,
        Garbage::Oversized,
    ] {
        let addr = bad_broker(garbage).await;
        let config = ConnectionConfig::default()
            .request_timeout(Duration::from_secs(5))
            .max_frame_size(1 << 20);
        let conn = Connection::connect(&addr, config).await.unwrap();
        let err = conn.send(&MetadataRequest::default()).await.unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, Error::Connection(ConnectionError::Closed { .. })),
            "{garbage:?}: {text}"
        );
        match garbage {
            Garbage::Truncated => assert!(text.contains("closed by the broker"), "{text}"),
            Garbage::WrongCorrelationId => assert!(text.contains("correlation id"), "{text}"),
            Garbage::Oversized => assert!(text.contains("over the limit"), "{text}"),
        }
        assert!(conn.is_closed(), "{garbage:?}: the connection must be dropped");
        assert!(err.is_retriable(), "a new connection may succeed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_recovers_on_the_next_request_after_a_broken_connection() {
    let (broker, proxy) = LocalBroker::behind_proxy().expect("broker starts");
    let client = Client::builder()
        .bootstrap(broker.bootstrap())
        .build()
        .await
        .unwrap();
    client.create_topic("recover", 2, 1).await.unwrap();
    let conn = client.raw().leader("recover", 0).await.unwrap();
    proxy.drop_connections();
    // The old connection notices; the client hands out a new one.
    for _ in 0..100 {
        if conn.is_closed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(conn.is_closed());
    let fresh = client.raw().leader("recover", 0).await.unwrap();
    assert!(!fresh.is_closed());
    let t = client.raw().refresh_metadata(&["recover"]).await.unwrap();
    assert_eq!(ErrorCode(t.topics[0].error_code), ErrorCode::NONE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_requests_stay_within_the_batch_size_under_load() {
    let (broker, proxy) = LocalBroker::behind_proxy().expect("broker starts");
    let client = Client::builder()
        .bootstrap(broker.bootstrap())
        .build()
        .await
        .unwrap();
    client.create_topic("sized", 1, 1).await.unwrap();
    let producer = client.producer().batch_size(64 * 1024).build().await.unwrap();
    // 8 MB queued at once: batches must not grow while one is in flight.
    let mut futures = Vec::new();
    for i in 0..8000 {
        let value = vec![b'a' + (i % 26) as u8; 1000];
        futures.push(
            producer
                .send(ProducerRecord::new("sized", value).partition(0))
                .await
                .unwrap(),
        );
    }
    producer.flush().await.unwrap();
    for f in futures {
        f.await.unwrap().unwrap();
    }
    assert!(
        proxy.largest_request() < 128 * 1024,
        "a Produce request of {} bytes for a 64 KiB batch size",
        proxy.largest_request()
    );
    assert_eq!(values(&client, "sized").await.len(), 8000);
}

/// A broker whose Metadata answer lists `partitions` for topic "t": each connection gets
/// ApiVersions and Metadata answers, as many as it asks.
async fn broker_with_partitions(partitions: Vec<i32>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let partitions = partitions.clone();
            tokio::spawn(async move {
                let frames = FrameDecoder::default();
                let mut buf = BytesMut::new();
                loop {
                    if sock.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                        return;
                    }
                    while let Ok(Some(frame)) = frames.decode(&mut buf) {
                        let mut d = Decoder::new(frame);
                        let (key, version, correlation) =
                            (d.i16().unwrap(), d.i16().unwrap(), d.i32().unwrap());
                        let bytes = if key == ApiKey::ApiVersions.0 {
                            let resp = ApiVersionsResponse {
                                api_keys: vec![
                                    ApiVersion {
                                        api_key: ApiKey::ApiVersions.0,
                                        min_version: 0,
                                        max_version: 3,
                                        ..Default::default()
                                    },
                                    ApiVersion {
                                        api_key: ApiKey::Metadata.0,
                                        min_version: 0,
                                        max_version: 12,
                                        ..Default::default()
                                    },
                                ],
                                ..Default::default()
                            };
                            encode_response(correlation, version, &resp).unwrap()
                        } else {
                            let resp = MetadataResponse {
                                brokers: vec![MetadataResponseBroker {
                                    node_id: 0,
                                    host: addr.ip().to_string(),
                                    port: i32::from(addr.port()),
                                    ..Default::default()
                                }],
                                controller_id: 0,
                                topics: vec![MetadataResponseTopic {
                                    name: Some("t".into()),
                                    partitions: partitions
                                        .iter()
                                        .map(|p| MetadataResponsePartition {
                                            partition_index: *p,
                                            leader_id: 0,
                                            ..Default::default()
                                        })
                                        .collect(),
                                    ..Default::default()
                                }],
                                ..Default::default()
                            };
                            encode_response(correlation, version, &resp).unwrap()
                        };
                        if sock.write_all(&bytes).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_negative_partition_id_in_metadata_is_a_typed_error() {
    // A well-formed answer is taken as it is.
    let good = broker_with_partitions(vec![0, 1]).await;
    let client = Client::builder().bootstrap(&good).build().await.unwrap();
    assert_eq!(client.topic("t").await.unwrap().partitions.len(), 2);

    // A negative partition id is the broker's error, named, never a panic further on (the source's
    // partition assignment takes ids as they come).
    let bad = broker_with_partitions(vec![0, -3]).await;
    // The client's first metadata refresh (at build) or the topic's lookup refuses it.
    let err = match Client::builder().bootstrap(&bad).build().await {
        Ok(client) => client.topic("t").await.unwrap_err(),
        Err(e) => e,
    };
    let text = err.to_string();
    assert!(
        matches!(
            err,
            Error::Protocol(ProtocolError::InvalidResponse { api: "Metadata", .. })
        ),
        "{text}"
    );
    assert!(
        text.contains("t") && text.contains("-3") && text.contains(&bad),
        "{text}"
    );
}

/// The Consumer reads on through Fetch connections that end under it: cut after the request
/// reached the broker, or answered later than the request timeout (which ends the connection, so
/// the late answer is never read as another request's). Every record comes once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumer_reads_on_through_fetches_cut_or_answered_too_late() {
    let (broker, proxy) = LocalBroker::behind_proxy().expect("broker starts");
    let client = Client::builder()
        .bootstrap(broker.bootstrap())
        .request_timeout(Duration::from_secs(2))
        .build()
        .await
        .unwrap();
    data::fill(&client, "cutfetch", 1, 3000, 100, true).await.unwrap();
    // Small fetches, so that the faults fall between many of them.
    let mut consumer = Consumer::builder(client.clone())
        .partition_max_bytes(8 << 10)
        .buffer(BufferLimits {
            max_records: 200,
            max_bytes: 16 << 10,
            min_fetch_bytes: 1,
        })
        .build();
    consumer
        .assign_topic("cutfetch", StartOffset::Earliest)
        .await
        .unwrap();
    consumer.stop_at("cutfetch", 0, 3000);
    let mut records = consumer.records();
    let mut got = Vec::new();
    while let Some(r) = tokio::time::timeout(Duration::from_secs(60), records.next_record())
        .await
        .expect("a record or the end within 60 s")
    {
        let r = r.expect("no error reaches the reader");
        got.push(data::index(r.record.value.as_ref().unwrap()).unwrap());
        match got.len() {
            500 => proxy.cut_after_request(ApiKey::Fetch.0, 2),
            1500 => proxy.delay_after_request(ApiKey::Fetch.0, 1, Duration::from_secs(5)),
            _ => {}
        }
    }
    assert_eq!(
        got,
        (0..3000).collect::<Vec<u32>>(),
        "every record once, in order"
    );
    assert_eq!(proxy.cuts(), 2, "the cuts happened");
    assert_eq!(proxy.delays(), 1, "the delay happened");
    assert!(
        client.metrics().request_timeouts >= 1,
        "the late answer timed out: {:?}",
        client.metrics()
    );
}
