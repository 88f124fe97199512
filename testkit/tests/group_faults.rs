//! Classic consumer groups through the fault proxy on Apache Kafka: a member whose heartbeat
//! answers are held past its session timeout is expired by the coordinator, hears it as a loss,
//! commits nothing stale, and joins again to read from the last commit; connections cut after a
//! JoinGroup, a SyncGroup or a Heartbeat reached the coordinator are survived, the group forms, and
//! every record is read once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kwire_connector::client::{
    Assignor, Client, Consumer, GroupConsumer, GroupEvent, GroupProtocol, ProducerRecord, StartOffset,
};
use kwire_protocol::messages::ApiKey;
use kwire_testkit::broker::BrokerKind;
use kwire_testkit::proxy::FaultProxy;
use kwire_testkit::LocalBroker;

/// Apache Kafka behind the fault proxy, with `topic` of `partitions` holding `records` records.
async fn set_up(topic: &str, partitions: i32, records: i64) -> (LocalBroker, FaultProxy, Client) {
    let (broker, proxy) = LocalBroker::behind_proxy_kind(BrokerKind::Apache)
        .unwrap_or_else(|e| panic!("Apache Kafka is needed for this test: {e}"));
    let client = Client::builder()
        .bootstrap(broker.bootstrap())
        .build()
        .await
        .unwrap();
    client.create_topic(topic, partitions, 1).await.unwrap();
    produce(&client, topic, partitions, records).await;
    (broker, proxy, client)
}

async fn join(client: &Client, group: &str, topic: &str) -> GroupConsumer {
    Consumer::builder(client.clone())
        .max_wait(Duration::from_millis(100))
        .group(group)
        .protocol(GroupProtocol::Classic)
        .assignors(&[Assignor::CooperativeSticky])
        .heartbeat_interval(Duration::from_millis(500))
        // Apache Kafka's least (group.min.session.timeout.ms).
        .session_timeout(Duration::from_secs(6))
        .auto_commit(None)
        .start_without_commit(StartOffset::Earliest)
        .subscribe(&[topic])
        .await
        .unwrap_or_else(|e| panic!("cannot join {group}: {e}"))
}

async fn produce(client: &Client, topic: &str, partitions: i32, count: i64) {
    let producer = client.producer().build().await.unwrap();
    for i in 0..count {
        let p = (i % i64::from(partitions)) as i32;
        producer
            .send(ProducerRecord::new(topic, i.to_string()).partition(p))
            .await
            .unwrap();
    }
    producer.flush().await.unwrap();
}

/// Takes events until `stop` says so (given each event), panicking on an error or after 60 s.
async fn until(consumer: &mut GroupConsumer, what: &str, mut stop: impl FnMut(&GroupEvent) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "no {what} within 60 s");
        match tokio::time::timeout(Duration::from_millis(200), consumer.next()).await {
            Ok(Some(Ok(event))) => {
                if stop(&event) {
                    return;
                }
            }
            Ok(Some(Err(e))) => panic!("waiting for {what}: {e}"),
            Ok(None) => panic!("waiting for {what}: the consumer ended"),
            Err(_) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_classic_member_loses_its_partitions_commits_nothing_stale_and_rejoins() {
    let (_broker, proxy, client) = set_up("fenced", 2, 100).await;

    let mut a = join(&client, "fence", "fenced").await;
    // Read everything; commit only the first half of each partition.
    let mut read: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    until(&mut a, "100 records", |e| {
        if let GroupEvent::Records(b) = e {
            read.entry(b.partition)
                .or_default()
                .extend(b.records.iter().map(|r| r.offset));
        }
        read.values().map(Vec::len).sum::<usize>() == 100
    })
    .await;
    a.commit_offsets(&[("fenced".into(), 0, 25), ("fenced".into(), 1, 25)])
        .await
        .unwrap();

    // The next heartbeat's answer (and everything after it on that connection) is held for
    // 12 s: no heartbeat reaches the coordinator for twice the session timeout.
    proxy.delay_after_request(ApiKey::Heartbeat.0, 1, Duration::from_secs(12));
    let mut lost = Vec::new();
    until(&mut a, "the loss", |e| match e {
        GroupEvent::Lost(ps) => {
            lost = ps.clone();
            true
        }
        GroupEvent::Records(b) => panic!("records of {}/{} after everything was read", b.topic, b.partition),
        _ => false,
    })
    .await;
    assert_eq!(proxy.delays(), 1, "the heartbeat answer was held");
    assert_eq!(lost.len(), 2, "both partitions lost: {lost:?}");
    // Nothing may be committed for partitions it lost: refused before it reaches the broker.
    assert!(
        a.commit_offsets(&[("fenced".into(), 0, 50)]).await.is_err(),
        "a commit after the loss"
    );
    let committed = client
        .committed_offsets("fence", "fenced", &[0, 1])
        .await
        .unwrap();
    assert_eq!(committed, vec![(0, 25), (1, 25)], "the last commit stands");

    // It joins again and reads from the last commit: the uncommitted half once more.
    let mut again: BTreeMap<i32, BTreeSet<i64>> = BTreeMap::new();
    until(&mut a, "the records after the last commit", |e| {
        if let GroupEvent::Records(b) = e {
            again
                .entry(b.partition)
                .or_default()
                .extend(b.records.iter().map(|r| r.offset));
        }
        again.values().map(BTreeSet::len).sum::<usize>() == 50
    })
    .await;
    for p in [0, 1] {
        assert_eq!(again[&p], (25..50).collect::<BTreeSet<i64>>(), "partition {p}");
    }
    a.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_members_survive_cut_join_sync_and_heartbeat_connections_and_read_every_record_once() {
    let (_broker, proxy, client) = set_up("cuts", 4, 200).await;

    let mut readers: BTreeMap<(i32, i64), u32> = BTreeMap::new();
    // The first member's JoinGroup and SyncGroup are cut once each after reaching the coordinator.
    proxy.cut_after_request(ApiKey::JoinGroup.0, 1);
    let mut a = join(&client, "cut", "cuts").await;
    until(&mut a, "a's assignment", |e| {
        take(&mut readers, "a", e);
        matches!(e, GroupEvent::Assigned(_))
    })
    .await;
    assert_eq!(proxy.cuts(), 1, "the JoinGroup was cut");
    proxy.cut_after_request(ApiKey::SyncGroup.0, 1);
    // A second member: a rebalance, with a's heartbeat and b's SyncGroup cut on the way.
    let mut b = join(&client, "cut", "cuts").await;
    proxy.cut_after_request(ApiKey::Heartbeat.0, 2);
    let deadline = Instant::now() + Duration::from_secs(90);
    while readers.len() < 200 || a.assignment().len() != 2 || b.assignment().len() != 2 {
        assert!(
            Instant::now() < deadline,
            "no split with every record read: a {:?}, b {:?}, {} read",
            a.assignment(),
            b.assignment(),
            readers.len()
        );
        for (name, member) in [("a", &mut a), ("b", &mut b)] {
            match tokio::time::timeout(Duration::from_millis(100), member.next()).await {
                Ok(Some(Ok(GroupEvent::Revoked(ps)))) => {
                    // Commit what was read before the partitions go, as the listener would.
                    member
                        .commit()
                        .await
                        .unwrap_or_else(|e| panic!("{name}: commit on revoke {ps:?}: {e}"));
                }
                Ok(Some(Ok(e))) => take(&mut readers, name, &e),
                Ok(Some(Err(e))) => panic!("{name}: {e}"),
                Ok(None) => panic!("{name}: ended"),
                Err(_) => {}
            }
        }
    }
    assert!(
        proxy.cuts() >= 3,
        "the SyncGroup and heartbeats were cut ({} cuts)",
        proxy.cuts()
    );
    let twice: Vec<_> = readers.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(twice.is_empty(), "read twice within the group: {twice:?}");
    assert_eq!(readers.len(), 200);
    a.close().await.unwrap();
    b.close().await.unwrap();
}

/// Counts the records of `e` in `readers`; a loss fails the test.
fn take(readers: &mut BTreeMap<(i32, i64), u32>, member: &str, e: &GroupEvent) {
    match e {
        GroupEvent::Records(b) => {
            for r in &b.records {
                *readers.entry((b.partition, r.offset)).or_default() += 1;
            }
        }
        GroupEvent::Lost(ps) => panic!("{member} lost {ps:?}: a cut connection is no expiry"),
        _ => {}
    }
}
