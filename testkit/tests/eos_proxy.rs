//! Transactions through the fault proxy on Apache Kafka, the reference: connections cut after an
//! EndTxn or a Produce reached the broker (applied, but the answer lost), and answers held back
//! past the client's request timeout. Every transaction still commits exactly once: a
//! read_committed reader sees each one whole, none lost, none twice, none torn.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kwire_connector::client::{Client, ProducerRecord};
use kwire_protocol::messages::ApiKey;
use kwire_testkit::broker::BrokerKind;
use kwire_testkit::data::committed_values;
use kwire_testkit::LocalBroker;

const RECORDS: usize = 200;
const PARTITIONS: i32 = 2;

#[derive(Debug, Clone, Copy)]
enum Fault {
    None,
    CutEndTxn,
    CutProduce,
    LateEndTxn,
    LateProduce,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_and_late_answers_neither_lose_nor_duplicate_nor_tear_a_transaction_on_apache_kafka() {
    let (broker, proxy) = LocalBroker::behind_proxy_kind(BrokerKind::Apache)
        .unwrap_or_else(|e| panic!("Apache Kafka is needed for this test: {e}"));
    let client = Client::builder()
        .bootstrap(broker.bootstrap())
        .request_timeout(Duration::from_secs(2))
        .build()
        .await
        .unwrap();
    client.create_topic("px", PARTITIONS, 1).await.unwrap();
    let producer = client
        .producer()
        .transactional_id("px-txn")
        .build()
        .await
        .unwrap();
    producer.init_transactions().await.unwrap();

    let late = Duration::from_secs(3);
    let plan = [
        Fault::None,
        Fault::CutEndTxn,
        Fault::CutProduce,
        Fault::LateEndTxn,
        Fault::LateProduce,
        Fault::CutEndTxn,
        Fault::LateEndTxn,
        Fault::CutProduce,
        Fault::LateProduce,
        Fault::None,
    ];
    let (mut cuts, mut delays) = (0u64, 0u64);
    for (t, fault) in plan.iter().enumerate() {
        match fault {
            Fault::None => {}
            Fault::CutEndTxn => proxy.cut_after_request(ApiKey::EndTxn.0, 1),
            Fault::CutProduce => proxy.cut_after_request(ApiKey::Produce.0, 1),
            Fault::LateEndTxn => proxy.delay_after_request(ApiKey::EndTxn.0, 1, late),
            Fault::LateProduce => proxy.delay_after_request(ApiKey::Produce.0, 1, late),
        }
        cuts += u64::from(matches!(fault, Fault::CutEndTxn | Fault::CutProduce));
        delays += u64::from(matches!(fault, Fault::LateEndTxn | Fault::LateProduce));
        producer.begin_transaction().await.unwrap();
        for i in 0..RECORDS {
            let record = ProducerRecord::new("px", Bytes::from(format!("{t} {i}")))
                .partition(i32::try_from(i).unwrap() % PARTITIONS);
            producer.send(record).await.unwrap();
        }
        let started = Instant::now();
        producer
            .flush()
            .await
            .unwrap_or_else(|e| panic!("transaction {t} ({fault:?}): flush: {e}"));
        producer
            .commit_transaction()
            .await
            .unwrap_or_else(|e| panic!("transaction {t} ({fault:?}): commit: {e}"));
        println!("transaction {t} ({fault:?}) committed in {:?}", started.elapsed());
        assert_eq!(
            (proxy.cuts(), proxy.delays()),
            (cuts, delays),
            "transaction {t} ({fault:?}): the faults armed so far all happened"
        );
    }
    producer.close().await.unwrap();

    let values = committed_values(&client, "px", Duration::from_secs(30))
        .await
        .unwrap();
    let mut per_txn: BTreeMap<usize, BTreeMap<usize, u32>> = BTreeMap::new();
    for v in &values {
        let (t, i) = v
            .split_once(' ')
            .unwrap_or_else(|| panic!("a malformed value {v:?}"));
        *per_txn
            .entry(t.parse().unwrap())
            .or_default()
            .entry(i.parse().unwrap())
            .or_default() += 1;
    }
    for (t, fault) in plan.iter().enumerate() {
        let seen = per_txn.remove(&t).unwrap_or_default();
        let lost = (0..RECORDS).filter(|i| !seen.contains_key(i)).count();
        let twice: u32 = seen.values().map(|n| n - 1).sum();
        assert_eq!(
            (lost, twice),
            (0, 0),
            "transaction {t} ({fault:?}): lost {lost} of {RECORDS}, duplicated {twice}"
        );
    }
    assert!(per_txn.is_empty(), "values of no transaction: {per_txn:?}");
    println!(
        "{} transactions through {cuts} cut and {delays} late answers: {} values, each once",
        plan.len(),
        values.len()
    );
}
