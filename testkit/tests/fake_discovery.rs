//! Partition discovery against the fake cluster (the embedded broker has no CreatePartitions):
//! partitions added while the source runs are read by their owner instance from the earliest
//! offset, each record once and in order.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kwire_connector::client::{Client, ProducerRecord};
use kwire_connector::core::assign::owner;
use kwire_connector::source::KafkaSource;
use kwire_protocol::messages::create_partitions_request::{CreatePartitionsRequest, CreatePartitionsTopic};
use kwire_testkit::fake::FakeCluster;

async fn produce(client: &Client, topic: &str, partitions: std::ops::Range<i32>, per_partition: i32) {
    let producer = client.producer().build().await.unwrap();
    let mut acks = Vec::new();
    for p in partitions {
        for i in 0..per_partition {
            let record = ProducerRecord::new(topic, format!("{p}-{i}")).partition(p);
            acks.push(producer.send(record).await.unwrap());
        }
    }
    producer.flush().await.unwrap();
    for ack in acks {
        ack.await.unwrap().unwrap();
    }
    producer.close().await.unwrap();
}

/// Per partition: (instance, offset) of each record read.
type Got = BTreeMap<i32, Vec<(usize, i64)>>;

type Rx = tokio::sync::mpsc::UnboundedReceiver<(usize, i32, i64, Option<bytes::Bytes>)>;

/// Takes records from the readers until `want` in all, or 20 s pass.
async fn collect(rx: &mut Rx, got: &mut Got, want: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.values().map(Vec::len).sum::<usize>() < want && Instant::now() < deadline {
        if let Ok(Some((instance, p, offset, value))) =
            tokio::time::timeout(Duration::from_millis(100), rx.recv()).await
        {
            let value = String::from_utf8(value.unwrap().to_vec()).unwrap();
            assert_eq!(value, format!("{p}-{offset}"), "the record at its offset");
            got.entry(p).or_default().push((instance, offset));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_added_while_running_are_read_by_their_owner_from_the_earliest() {
    const PARALLELISM: usize = 2;
    const PER_PARTITION: i32 = 25;
    let cluster = FakeCluster::start(3).unwrap();
    let client = Client::builder()
        .bootstrap(&cluster.bootstrap())
        .build()
        .await
        .unwrap();
    client.create_topic("grow", 2, 1).await.unwrap();
    produce(&client, "grow", 0..2, PER_PARTITION).await;

    let source = KafkaSource::builder(client.clone(), &["grow"])
        .parallelism(PARALLELISM)
        .max_wait(Duration::from_millis(10))
        .partition_discovery(Some(Duration::from_secs(1)))
        .build();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut readers = Vec::new();
    for instance in 0..PARALLELISM {
        let mut reader = source.reader(instance, None).await.unwrap();
        let tx = tx.clone();
        readers.push(tokio::spawn(async move {
            while let Some(r) = reader.next().await {
                // An error ends this reader; the counts below then show what it missed.
                let r = match r {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("reader {instance}: {e}");
                        return;
                    }
                };
                if tx.send((instance, r.partition, r.offset, r.value)).is_err() {
                    return;
                }
            }
        }));
    }
    let mut got: Got = BTreeMap::new();
    collect(&mut rx, &mut got, 2 * PER_PARTITION as usize).await;
    // Three more partitions, written at once: a reader that found them later and started at
    // the end would miss these records.
    // CreatePartitions over the wire (the client has no call for it yet), at the newest version
    // both sides speak.
    let resp = client
        .raw()
        .any_broker()
        .await
        .unwrap()
        .send(&CreatePartitionsRequest {
            topics: vec![CreatePartitionsTopic {
                name: "grow".into(),
                count: 5,
                ..Default::default()
            }],
            timeout_ms: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(resp.results[0].error_code, 0, "{resp:?}");
    produce(&client, "grow", 2..5, PER_PARTITION).await;
    collect(&mut rx, &mut got, 5 * PER_PARTITION as usize).await;
    drop(rx);
    for r in readers {
        r.abort();
        let _ = r.await;
    }
    let counts: Vec<(i32, usize)> = got.iter().map(|(p, v)| (*p, v.len())).collect();
    println!("records per partition: {counts:?}");
    assert_eq!(got.len(), 5, "every partition was read: {counts:?}");
    for (p, records) in &got {
        let expected_owner = owner("grow", *p, PARALLELISM).unwrap();
        assert!(
            records.iter().all(|(i, _)| *i == expected_owner),
            "partition {p} is read only by instance {expected_owner}"
        );
        let offsets: Vec<i64> = records.iter().map(|(_, o)| *o).collect();
        assert_eq!(
            offsets,
            (0..i64::from(PER_PARTITION)).collect::<Vec<_>>(),
            "partition {p}: every record once, in order, from the earliest"
        );
    }
}
