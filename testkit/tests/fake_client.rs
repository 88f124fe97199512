//! The client against the fake cluster's faults: leaders moving and brokers restarting during
//! produce and fetch lose nothing and duplicate nothing with the idempotent producer; injected
//! error codes are retried or surfaced as the client documents; garbage and half-written
//! responses are a clear error or a retry on a new connection.

use kwire_connector::client::{BrokerError, ClientError, ProtocolError};
use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use kwire_connector::client::{raw::FetchOptions, Client, Error, ProducerRecord};
use kwire_protocol::messages::ApiKey;
use kwire_protocol::ErrorCode;
use kwire_testkit::data::Seeded;
use kwire_testkit::fake::{FakeCluster, RequestFault};

async fn client(cluster: &FakeCluster) -> Client {
    Client::builder()
        .bootstrap(&cluster.bootstrap())
        .retry_backoff(Duration::from_millis(10))
        .retry_timeout(Duration::from_secs(20))
        .build()
        .await
        .unwrap()
}

fn options() -> FetchOptions {
    FetchOptions::default().max_wait(Duration::from_millis(10))
}

/// Every value of `topic`-`partition` from offset 0 to the high watermark, in offset order.
async fn read_partition(client: &Client, topic: &str, partition: i32) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let f = client
            .raw()
            .fetch_one(topic, partition, offset, &options())
            .await
            .unwrap();
        out.extend(f.records.into_iter().map(|r| r.value.unwrap()));
        offset = f.next_offset;
        if offset >= f.high_watermark {
            return out;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_produce_through_leader_moves_restarts_and_lost_acks_keeps_each_record_once_in_order() {
    const PARTITIONS: i32 = 4;
    const PER_PARTITION: u32 = 3_000;
    let cluster = FakeCluster::start(3).unwrap();
    let client = client(&cluster).await;
    client.create_topic("idem", PARTITIONS, 1).await.unwrap();
    let producer = client
        .producer()
        .linger(Duration::from_millis(1))
        .batch_size(2_000)
        .build()
        .await
        .unwrap();
    let mut rng = Seeded::from_env();
    let mut acks = Vec::new();
    let mut faults = 0;
    for i in 0..PER_PARTITION {
        for p in 0..PARTITIONS {
            let record = ProducerRecord::new("idem", format!("{p}-{i}")).partition(p);
            acks.push(producer.send(record).await.unwrap());
        }
        if i % 300 == 150 {
            // Written, then the answer is lost: the resend must be answered as a duplicate.
            cluster.fail_next(
                ApiKey::Produce,
                RequestFault::ErrorAfterApply(ErrorCode::REQUEST_TIMED_OUT),
                2,
            );
            cluster.fail_next(ApiKey::Produce, RequestFault::CloseBeforeResponse, 1);
            let p = i32::try_from(rng.below(PARTITIONS as u64)).unwrap();
            let leader = cluster.leader("idem", p).unwrap();
            // The target may be down for a restart: then the leader stays.
            let _ = cluster.move_leader("idem", p, (leader + 1) % 3);
            let broker = i32::try_from(rng.below(3)).unwrap();
            cluster.restart_broker(broker, Duration::from_millis(rng.below(100) + 1));
            faults += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    producer.flush().await.unwrap();
    for ack in acks {
        ack.await.unwrap().unwrap();
    }
    let stats = cluster.stats();
    let mut per_partition = BTreeMap::new();
    for p in 0..PARTITIONS {
        let values = read_partition(&client, "idem", p).await;
        let expected: Vec<Bytes> = (0..PER_PARTITION)
            .map(|i| Bytes::from(format!("{p}-{i}")))
            .collect();
        per_partition.insert(p, values.len());
        assert_eq!(values, expected, "partition {p}: every record once, in order");
    }
    println!(
        "seed {}: {faults} rounds of faults, records per partition {per_partition:?}, duplicates answered {}, \
         out of order refused {}, connections {}",
        rng.seed(),
        stats.duplicates,
        stats.out_of_order,
        cluster.connections()
    );
    assert!(stats.duplicates > 0, "resent batches were recognised: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_follows_moved_leaders_and_restarted_brokers() {
    let cluster = FakeCluster::start(3).unwrap();
    let client = client(&cluster).await;
    client.create_topic("moving", 2, 1).await.unwrap();
    let producer = client.producer().batch_size(200).build().await.unwrap();
    for i in 0..2_000 {
        producer
            .send(ProducerRecord::new("moving", format!("{i}")).partition(i % 2))
            .await
            .unwrap();
    }
    producer.flush().await.unwrap();
    let mut got = Vec::new();
    let mut offset = 0;
    let mut step = 0;
    let small = options().partition_max_bytes(1_000);
    while offset < 1_000 {
        match step % 3 {
            0 => {
                let leader = cluster.leader("moving", 0).unwrap();
                let _ = cluster.move_leader("moving", 0, (leader + 1) % 3);
            }
            1 => cluster.restart_broker(cluster.leader("moving", 0).unwrap(), Duration::from_millis(30)),
            _ => cluster.drop_connections(None),
        }
        step += 1;
        let f = client.raw().fetch_one("moving", 0, offset, &small).await.unwrap();
        got.extend(f.records.iter().map(|r| r.value.clone().unwrap()));
        offset = f.next_offset;
    }
    let expected: Vec<Bytes> = (0..1_000).map(|i| Bytes::from(format!("{}", 2 * i))).collect();
    println!("{step} fetches, each after a fault; {} records", got.len());
    assert!(step >= 10, "the read took many fetches: {step}");
    assert_eq!(got, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_errors_are_retried_or_surfaced_as_documented() {
    let cluster = FakeCluster::start(2).unwrap();
    let client = client(&cluster).await;
    client.create_topic("errs", 1, 1).await.unwrap();
    let producer = client.producer().build().await.unwrap();
    // Retriable on Produce: NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, CORRUPT_MESSAGE (a
    // corrupted request is sent again) and UNKNOWN_TOPIC_OR_PARTITION.
    for code in [
        ErrorCode::NOT_LEADER_OR_FOLLOWER,
        ErrorCode::REQUEST_TIMED_OUT,
        ErrorCode::CORRUPT_MESSAGE,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
    ] {
        cluster.fail_next(ApiKey::Produce, RequestFault::Error(code), 2);
        let meta = producer
            .send_and_wait(ProducerRecord::new("errs", code.to_string()).partition(0))
            .await
            .unwrap_or_else(|e| panic!("{code} is retried: {e}"));
        assert!(meta.offset >= 0);
    }
    // Fetch: the same retriable codes are retried.
    for code in [
        ErrorCode::NOT_LEADER_OR_FOLLOWER,
        ErrorCode::REQUEST_TIMED_OUT,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
    ] {
        cluster.fail_next(ApiKey::Fetch, RequestFault::Error(code), 2);
        let f = client.raw().fetch_one("errs", 0, 0, &options()).await.unwrap();
        assert_eq!(f.records.len(), 4, "after {code}");
    }
    // OFFSET_OUT_OF_RANGE: surfaced (the Consumer's policy resets it, tests/consumer.rs).
    cluster.fail_next(
        ApiKey::Fetch,
        RequestFault::Error(ErrorCode::OFFSET_OUT_OF_RANGE),
        1,
    );
    match client.raw().fetch_one("errs", 0, 0, &options()).await {
        Err(Error::Broker(BrokerError { code, .. })) => assert_eq!(code, ErrorCode::OFFSET_OUT_OF_RANGE),
        other => panic!("OFFSET_OUT_OF_RANGE is surfaced: {other:?}"),
    }
    // COORDINATOR_NOT_AVAILABLE from FindCoordinator and OffsetCommit: retried.
    cluster.fail_next(
        ApiKey::FindCoordinator,
        RequestFault::Error(ErrorCode::COORDINATOR_NOT_AVAILABLE),
        2,
    );
    cluster.fail_next(
        ApiKey::OffsetCommit,
        RequestFault::Error(ErrorCode::COORDINATOR_NOT_AVAILABLE),
        1,
    );
    client
        .commit_offsets("g", &[("errs".to_owned(), 0, 3)], "")
        .await
        .unwrap();
    assert_eq!(
        client.committed_offsets("g", "errs", &[0]).await.unwrap(),
        vec![(0, 3)]
    );
    // A non-retriable error is surfaced at once with its code.
    cluster.fail_next(
        ApiKey::Fetch,
        RequestFault::Error(ErrorCode::TOPIC_AUTHORIZATION_FAILED),
        1,
    );
    match client.raw().fetch_one("errs", 0, 0, &options()).await {
        Err(Error::Broker(BrokerError { code, .. })) => {
            assert_eq!(code, ErrorCode::TOPIC_AUTHORIZATION_FAILED)
        }
        other => panic!("surfaced: {other:?}"),
    }
    println!("request faults used: {}", cluster.request_faults_used());
    assert_eq!(cluster.request_faults_used(), 8 + 6 + 1 + 3 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_a_clear_error_and_a_half_written_response_is_retried_on_a_new_connection() {
    let cluster = FakeCluster::start(1).unwrap();
    let client = client(&cluster).await;
    client.create_topic("garbage", 1, 1).await.unwrap();
    cluster.fail_next(ApiKey::Metadata, RequestFault::Malformed, 1);
    let err = client.raw().refresh_metadata(&["garbage"]).await.unwrap_err();
    println!("malformed: {err}");
    assert!(
        matches!(
            err,
            Error::Protocol(ProtocolError::Decode {
                api: "MetadataRequest",
                ..
            })
        ),
        "{err:?}"
    );
    // The next request is answered.
    client.raw().refresh_metadata(&["garbage"]).await.unwrap();

    let producer = client.producer().build().await.unwrap();
    producer
        .send_and_wait(ProducerRecord::new("garbage", "x").partition(0))
        .await
        .unwrap();
    let before = cluster.connections();
    cluster.fail_next(ApiKey::Fetch, RequestFault::CloseMidFrame, 1);
    let f = client.raw().fetch_one("garbage", 0, 0, &options()).await.unwrap();
    assert_eq!(f.records.len(), 1);
    assert!(cluster.connections() > before, "the connection was rebuilt");
    // A broker that stalls past the request timeout: a timeout, then an answer once it is back.
    let quick = Client::builder()
        .bootstrap(&cluster.bootstrap())
        .request_timeout(Duration::from_millis(200))
        .retry_backoff(Duration::from_millis(50))
        .retry_timeout(Duration::from_secs(10))
        .build()
        .await
        .unwrap();
    cluster.stall(0, Duration::from_millis(500));
    let f = quick.raw().fetch_one("garbage", 0, 0, &options()).await.unwrap();
    assert_eq!(f.records.len(), 1, "answered after the stall");
}

/// A writer that is killed drops its producer without closing it: the producer's sender must end
/// with it, and nothing it still had queued may reach the broker (a restarted writer would
/// otherwise compete with a ghost of itself, and every restart would leak a task).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_producer_stops_its_sender_and_sends_nothing_it_had_queued() {
    let cluster = FakeCluster::start(1).unwrap();
    let client = client(&cluster).await;
    client.create_topic("dropped", 1, 1).await.unwrap();
    // Connections and metadata are the client's: open them before counting tasks.
    let warm = client.producer().build().await.unwrap();
    warm.send_and_wait(ProducerRecord::new("dropped", "warm").partition(0))
        .await
        .unwrap();
    warm.close().await.unwrap();
    drop(warm);
    let tasks = || tokio::runtime::Handle::current().metrics().num_alive_tasks();
    let baseline = tasks();

    let mut acks = Vec::new();
    for round in 0..5 {
        // A linger far longer than the test's wait: the records sit in the queue at the drop.
        let producer = client
            .producer()
            .linger(Duration::from_secs(1))
            .build()
            .await
            .unwrap();
        for i in 0..10 {
            let record = ProducerRecord::new("dropped", format!("{round}-{i}")).partition(0);
            acks.push(producer.send(record).await.unwrap());
        }
        drop(producer);
    }
    for ack in acks {
        let res = tokio::time::timeout(Duration::from_millis(500), ack)
            .await
            .expect("a record queued at the drop is failed at once, not left waiting");
        match res {
            Ok(Err(e)) => assert!(e.to_string().contains("dropped"), "the error says why: {e}"),
            other => panic!("a record queued at the drop must fail, not be sent: {other:?}"),
        }
    }
    // Past the linger: still only the warm-up record.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        read_partition(&client, "dropped", 0).await,
        vec![Bytes::from("warm")]
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while tasks() > baseline && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        tasks() <= baseline,
        "every dropped producer's sender ended: {} tasks alive, {baseline} before",
        tasks()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_waits_for_room_in_the_buffer_memory_and_times_out_with_a_clear_error() {
    let cluster = FakeCluster::start(1).unwrap();
    let client = client(&cluster).await;
    client.create_topic("memory", 1, 1).await.unwrap();
    let producer = client
        .producer()
        .buffer_memory(10_000)
        .max_block(Duration::from_millis(300))
        .batch_size(1_000)
        .linger(Duration::ZERO)
        .build()
        .await
        .unwrap();
    // The first Produce is held 2 s: nothing is acknowledged meanwhile, so the buffer fills.
    cluster.fail_next(ApiKey::Produce, RequestFault::Delay(Duration::from_secs(2)), 1);
    let value = Bytes::from(vec![b'x'; 1_000]);
    let mut acks = Vec::new();
    let refused = loop {
        match producer
            .send(ProducerRecord::new("memory", value.clone()).partition(0))
            .await
        {
            Ok(ack) => acks.push(ack),
            Err(e) => break e,
        }
        assert!(acks.len() < 100, "the buffer memory never filled");
    };
    // 1,000 B of value and 16 B of record overhead each: 9 fit in 10,000 B, the 10th waits.
    assert_eq!(acks.len(), 9);
    match &refused {
        Error::Client(ClientError::Timeout { what, after }) => {
            assert!(what.contains("buffer memory"), "{what}");
            assert_eq!(*after, Duration::from_millis(300));
        }
        other => panic!("expected a timeout waiting for buffer memory, got {other}"),
    }
    // Once the held request is answered the room comes back.
    for ack in acks {
        ack.await.unwrap().unwrap();
    }
    let last = producer
        .send(ProducerRecord::new("memory", Bytes::from_static(b"after")).partition(0))
        .await
        .unwrap();
    producer.flush().await.unwrap();
    last.await.unwrap().unwrap();
    let values = read_partition(&client, "memory", 0).await;
    assert_eq!(
        values.len(),
        10,
        "the 9 records and the one after; the refused one is not sent"
    );
    assert_eq!(values[9], Bytes::from_static(b"after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_dropped_while_it_is_written_leaves_no_half_frame_on_the_connection() {
    use kwire_connector::client::{raw::Connection, raw::ConnectionConfig};
    use kwire_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kwire_protocol::messages::{MetadataRequest, ProduceRequest};

    let cluster = FakeCluster::start(1).unwrap();
    cluster.create_topic("big", 1).unwrap();
    let config = ConnectionConfig::default().request_timeout(Duration::from_secs(5));
    let conn = Connection::connect(&cluster.bootstrap(), config).await.unwrap();
    // 32 MiB: more than a socket takes at once, so writing it takes many turns.
    let big = ProduceRequest {
        acks: -1,
        timeout_ms: 1_000,
        topic_data: vec![TopicProduceData {
            name: "big".to_owned(),
            partition_data: vec![PartitionProduceData {
                index: 0,
                records: Some(Bytes::from(vec![0u8; 32 << 20])),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let version = conn.version_for::<ProduceRequest>().unwrap();
    let mut dropped = 0;
    for _ in 0..3 {
        // Polled for a moment, then dropped mid-write.
        if tokio::time::timeout(Duration::from_micros(50), conn.send_raw(&big, version))
            .await
            .is_err()
        {
            dropped += 1;
        }
    }
    assert_eq!(
        dropped, 3,
        "each big request was still being written when it was dropped"
    );
    // The connection still speaks Kafka: the next request is read as a request of its own.
    let meta = conn.send(&MetadataRequest::default()).await.unwrap();
    assert_eq!(meta.brokers.len(), 1);
    assert!(!conn.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_producer_pipelines_batches_and_resends_those_behind_a_failed_one_in_order() {
    let cluster = FakeCluster::start(1).unwrap();
    let client = client(&cluster).await;
    client.create_topic("pipe", 1, 1).await.unwrap();
    let producer = client
        .producer()
        .batch_size(100)
        .linger(Duration::ZERO)
        .build()
        .await
        .unwrap();
    // The leader reads nothing for a while, so the batches queue up in flight behind the first,
    // which then fails: those behind it are refused for the gap in the sequence.
    let leader = cluster.leader("pipe", 0).unwrap();
    cluster.stall(leader, Duration::from_millis(500));
    cluster.fail_next(
        ApiKey::Produce,
        RequestFault::Error(ErrorCode::NOT_LEADER_OR_FOLLOWER),
        1,
    );
    let mut acks = Vec::new();
    for i in 0..40 {
        // Each record is over the batch size: a batch of its own.
        let value = format!("{i:03}-{}", "x".repeat(120));
        acks.push(
            producer
                .send(ProducerRecord::new("pipe", value).partition(0))
                .await
                .unwrap(),
        );
    }
    producer.flush().await.unwrap();
    let mut offsets = Vec::new();
    for ack in acks {
        offsets.push(ack.await.unwrap().unwrap().offset);
    }
    assert_eq!(offsets, (0..40).collect::<Vec<i64>>());
    let values = read_partition(&client, "pipe", 0).await;
    let order: Vec<String> = values
        .iter()
        .map(|v| String::from_utf8_lossy(&v[..3]).into_owned())
        .collect();
    assert_eq!(order, (0..40).map(|i| format!("{i:03}")).collect::<Vec<_>>());
    assert!(
        cluster.stats().out_of_order >= 1,
        "no batch was in flight behind the failed one: nothing was pipelined"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_slow_to_connect_holds_up_no_request_to_another() {
    let cluster = FakeCluster::start(2).unwrap();
    let client = client(&cluster).await;
    // The bootstrap connection is to the first address listed; the other broker has none yet.
    let bootstrap = cluster.bootstrap();
    let first = bootstrap.split(',').next().unwrap().to_owned();
    let brokers = client.metadata().brokers;
    let (&connected, _) = brokers.iter().find(|(_, a)| **a == first).unwrap();
    let (&slow, _) = brokers.iter().find(|(_, a)| **a != first).unwrap();
    cluster.stall(slow, Duration::from_secs(5));
    let connecting = {
        let client = client.clone();
        tokio::spawn(async move { client.raw().broker(slow).await.map(|_| ()) })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !connecting.is_finished(),
        "the connect to the stalled broker did not wait"
    );
    // The other broker answers at once, while the connect to the slow one waits.
    let conn = tokio::time::timeout(Duration::from_secs(2), client.raw().broker(connected))
        .await
        .expect("a request to another broker waited for the slow connect")
        .unwrap();
    assert!(!conn.is_closed());
    connecting.await.unwrap().unwrap();
}

/// The client reports what the broker said, never an error code the broker did not send: a
/// Metadata without the topic asked about is an invalid response, not UNKNOWN_TOPIC_OR_PARTITION;
/// a partition without a leader is the broker's LEADER_NOT_AVAILABLE when it sent that, and the
/// client's own `NoLeader` when it sent no error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_errors_are_the_brokers_own_code_or_the_clients_own_error() {
    let cluster = FakeCluster::start(1).unwrap();
    let client = client(&cluster).await;
    client.create_topic("meta", 2, 1).await.unwrap();

    cluster.fail_next(ApiKey::Metadata, RequestFault::OmitTopics, 1);
    client.raw().invalidate("meta");
    let err = client.topic("meta").await.unwrap_err();
    assert_eq!(cluster.request_faults_used_on(ApiKey::Metadata), 1);
    match &err {
        Error::Protocol(ProtocolError::InvalidResponse { api, broker, reason }) => {
            assert_eq!(*api, "Metadata");
            assert!(!broker.is_empty(), "{err}");
            assert!(reason.contains("meta"), "{err}");
        }
        other => panic!("expected an invalid Metadata response, got {other:?}"),
    }
    // The next Metadata answers again.
    assert_eq!(client.topic("meta").await.unwrap().partitions.len(), 2);

    // Creating a topic waits for its leaders: three leaderless answers are waited out.
    cluster.clear_request_faults();
    cluster.fail_next(
        ApiKey::Metadata,
        RequestFault::Leaderless(ErrorCode::LEADER_NOT_AVAILABLE),
        3,
    );
    client.create_topic("elected", 2, 1).await.unwrap();
    assert_eq!(cluster.request_faults_used_on(ApiKey::Metadata), 1 + 3);
    // With the broker's default partition count (-1) too.
    cluster.fail_next(
        ApiKey::Metadata,
        RequestFault::Leaderless(ErrorCode::LEADER_NOT_AVAILABLE),
        2,
    );
    client.create_topic("defaulted", -1, 1).await.unwrap();
    assert_eq!(cluster.request_faults_used_on(ApiKey::Metadata), 1 + 3 + 2);
    let defaulted = client.topic("defaulted").await.unwrap();
    assert!(!defaulted.partitions.is_empty());
    assert!(
        defaulted.partitions.iter().all(|p| p.leader >= 0),
        "{defaulted:?}"
    );

    // Leaderless past the deadline: the broker's code, for the partition it was about.
    let impatient = Client::builder()
        .bootstrap(&cluster.bootstrap())
        .retry_backoff(Duration::from_millis(10))
        .retry_timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    cluster.fail_next(
        ApiKey::Metadata,
        RequestFault::Leaderless(ErrorCode::LEADER_NOT_AVAILABLE),
        1_000,
    );
    let err = impatient.create_topic("leaderless", 2, 1).await.unwrap_err();
    match &err {
        Error::Client(ClientError::RetriesExhausted { last, .. }) => match last.as_ref() {
            Error::Broker(BrokerError {
                api: "Metadata",
                code: ErrorCode::LEADER_NOT_AVAILABLE,
                topic: Some(t),
                partition: Some(0),
                ..
            }) if t == "leaderless" => {}
            other => panic!("expected LEADER_NOT_AVAILABLE for leaderless-0, got {other:?}"),
        },
        other => panic!("expected retries to run out, got {other:?}"),
    }
    // Without an error from the broker, the client says so in its own words.
    cluster.clear_request_faults();
    cluster.fail_next(ApiKey::Metadata, RequestFault::Leaderless(ErrorCode::NONE), 1_000);
    let err = impatient.create_topic("silent", 2, 1).await.unwrap_err();
    match &err {
        Error::Client(ClientError::RetriesExhausted { last, .. }) => match last.as_ref() {
            Error::Client(ClientError::NoLeader { topic, partition: 0 }) if topic == "silent" => {}
            other => panic!("expected no leader for silent-0, got {other:?}"),
        },
        other => panic!("expected retries to run out, got {other:?}"),
    }
    cluster.clear_request_faults();
}

/// The sender task waits on notifications, not a polling timer: a lone record (no flush, no
/// send_and_wait) is delivered once its linger is up, one after another; and a flush waiting
/// while the producer meets a fatal error returns that error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lone_records_are_delivered_after_their_linger_and_a_fatal_error_ends_a_waiting_flush() {
    let cluster = FakeCluster::start(1).unwrap();
    let client = client(&cluster).await;
    client.create_topic("lone", 1, 1).await.unwrap();
    let producer = client
        .producer()
        .linger(Duration::from_millis(5))
        .build()
        .await
        .unwrap();
    for i in 0..20u32 {
        let delivery = producer
            .send(ProducerRecord::new("lone", i.to_string()).partition(0))
            .await
            .unwrap();
        let meta = tokio::time::timeout(Duration::from_secs(10), delivery)
            .await
            .unwrap_or_else(|_| panic!("record {i} was never sent"))
            .unwrap()
            .unwrap();
        assert_eq!(meta.offset, i64::from(i));
    }

    // A fatal error while a flush waits: the flush returns it.
    cluster.fail_next(
        ApiKey::Produce,
        RequestFault::Error(ErrorCode::INVALID_PRODUCER_EPOCH),
        1,
    );
    let delivery = producer
        .send(ProducerRecord::new("lone", "denied").partition(0))
        .await
        .unwrap();
    let flushed = tokio::time::timeout(Duration::from_secs(10), producer.flush())
        .await
        .expect("the flush returns");
    let delivered = delivery.await.unwrap();
    assert!(delivered.is_err(), "{delivered:?}");
    match flushed {
        Err(Error::Broker(BrokerError {
            code: ErrorCode::INVALID_PRODUCER_EPOCH,
            ..
        })) => {}
        other => panic!("expected the flush to fail with INVALID_PRODUCER_EPOCH, got {other:?}"),
    }
    assert_eq!(cluster.request_faults_used_on(ApiKey::Produce), 1);
}
