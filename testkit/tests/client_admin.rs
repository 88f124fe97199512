//! The client against a real broker: metadata, topics, offsets, group offsets without membership.

use kwire_connector::client::{BrokerError, ConnectionError};
use kwire_connector::client::{Client, Error, OffsetSpec};
use kwire_protocol::ErrorCode;
use kwire_testkit::LocalBroker;

async fn client(broker: &LocalBroker) -> Client {
    Client::builder()
        .bootstrap(broker.bootstrap())
        .client_id("kwire-test")
        .build()
        .await
        .expect("client connects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_list_and_delete_a_topic() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await;
    client.create_topic("admin-topic", 3, 1).await.unwrap();
    let t = client.topic("admin-topic").await.unwrap();
    assert_eq!(t.partitions.len(), 3);
    assert!(t.partitions.iter().all(|p| p.leader >= 0));
    assert!(client
        .list_topics()
        .await
        .unwrap()
        .contains(&"admin-topic".to_owned()));

    let again = client.create_topic("admin-topic", 3, 1).await.unwrap_err();
    assert!(
        matches!(
            again,
            Error::Broker(BrokerError {
                code: ErrorCode::TOPIC_ALREADY_EXISTS,
                ..
            })
        ),
        "{again}"
    );

    client.delete_topic("admin-topic").await.unwrap();
    // Kafka deletes a topic asynchronously: the brokers' metadata catch up within moments.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while client
        .list_topics()
        .await
        .unwrap()
        .contains(&"admin-topic".to_owned())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "admin-topic is still listed 15 s after its deletion"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_partition_has_earliest_and_latest_zero() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await;
    client.create_topic("offsets-topic", 2, 1).await.unwrap();
    assert_eq!(
        client
            .list_offset("offsets-topic", 1, OffsetSpec::Earliest)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        client
            .list_offset("offsets-topic", 1, OffsetSpec::Latest)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_offsets_are_stored_without_membership() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await;
    client.create_topic("group-topic", 2, 1).await.unwrap();
    let offsets = vec![
        ("group-topic".to_owned(), 0, 42),
        ("group-topic".to_owned(), 1, 7),
    ];
    client
        .commit_offsets("g1", &offsets, "checkpoint-3")
        .await
        .unwrap();
    let mut got = client
        .committed_offsets("g1", "group-topic", &[0, 1])
        .await
        .unwrap();
    got.sort();
    assert_eq!(got, vec![(0, 42), (1, 7)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_topic_is_a_typed_error() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await;
    let err = client.topic("no-such-topic").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Broker(BrokerError {
                code: ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                ..
            })
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_bootstrap_is_a_clear_error() {
    let port = kwire_testkit::broker::free_port().unwrap();
    let err = Client::builder()
        .bootstrap(&format!("127.0.0.1:{port}"))
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Connection(ConnectionError::NoBrokerReachable { .. })),
        "{err}"
    );
}
