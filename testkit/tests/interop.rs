//! Interop with a second client, kafka-python: what kwire writes, kafka-python reads, and the other
//! way round, in every compression codec.
//!
//! kafka-python comes from the testkit's own virtualenv ([`kwire_testkit::python`], made from PyPI
//! on first use); a machine that cannot make it fails these tests with the reason.

use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use kwire_connector::client::{raw::FetchOptions, Client, ProducerRecord};
use kwire_protocol::records::{Compression, Header};
use kwire_testkit::LocalBroker;

fn python(script: &str, args: &[&str]) -> String {
    let python = kwire_testkit::python::kafka_python()
        .unwrap_or_else(|e| panic!("kafka-python is needed for this test: {e}"));
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "kafka-python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Reads every record of a topic's partitions with kafka-python; prints
/// `partition offset key value header-key=header-value` lines.
const READ: &str = r#"
import sys
from kafka import KafkaConsumer, TopicPartition
boot, topic, parts, expected = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = KafkaConsumer(bootstrap_servers=boot, enable_auto_commit=False, consumer_timeout_ms=5000,
                  api_version=(2, 5, 0), fetch_max_wait_ms=50)
tps = [TopicPartition(topic, p) for p in range(parts)]
c.assign(tps)
c.seek_to_beginning(*tps)
n = 0
for m in c:
    hs = ",".join("%s=%s" % (k, v.decode()) for k, v in m.headers)
    print(m.partition, m.offset, m.key.decode(), m.value.decode(), hs)
    n += 1
    if n >= expected:
        break
"#;

/// Writes `count` records with kafka-python in a codec, keys `py-<codec>-<i>`.
const WRITE: &str = r#"
import sys
from kafka import KafkaProducer
boot, topic, codec, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
p = KafkaProducer(bootstrap_servers=boot, acks=-1, linger_ms=5, api_version=(2, 5, 0),
                  compression_type=None if codec == "none" else codec)
for i in range(count):
    p.send(topic, key=("py-%s-%d" % (codec, i)).encode(), value=("from python %d" % i).encode(),
           headers=[("h", str(i).encode())], partition=i % 2)
p.flush()
p.close()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_reads_what_kwire_writes() {
    let broker = LocalBroker::start_or_fail();
    let client = Client::builder()
        .bootstrap(broker.bootstrap())
        .build()
        .await
        .unwrap();
    for compression in Compression::ALL {
        let topic = format!("to-python-{}", compression.name());
        client.create_topic(&topic, 2, 1).await.unwrap();
        let producer = client.producer().compression(compression).build().await.unwrap();
        for i in 0..50 {
            producer
                .send(ProducerRecord {
                    topic: topic.clone(),
                    partition: Some(i % 2),
                    key: Some(Bytes::from(format!("k{i}"))),
                    value: Some(Bytes::from(format!("kwire {i} {}", compression.name()))),
                    headers: vec![Header::new("n", Bytes::from(i.to_string()))],
                    timestamp: None,
                })
                .await
                .unwrap();
        }
        producer.close().await.unwrap();
        let out = python(READ, &[broker.bootstrap(), &topic, "2", "50"]);
        let mut lines: Vec<&str> = out.lines().collect();
        lines.sort_by_key(|l| l.split(' ').nth(2).map(|k| k[1..].parse::<u32>().unwrap()));
        assert_eq!(lines.len(), 50, "{compression}: {out}");
        for (i, line) in lines.iter().enumerate() {
            let expected = format!("{} {} k{i} kwire {i} {} n={i}", i % 2, i / 2, compression.name());
            assert_eq!(*line, expected, "{compression}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kwire_reads_what_kafka_python_writes() {
    let broker = LocalBroker::start_or_fail();
    let client = Client::builder()
        .bootstrap(broker.bootstrap())
        .build()
        .await
        .unwrap();
    let quick = FetchOptions::default().max_wait(Duration::from_millis(10));
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("from-python-{codec}");
        client.create_topic(&topic, 2, 1).await.unwrap();
        python(WRITE, &[broker.bootstrap(), &topic, codec, "40"]);
        for partition in 0..2 {
            let mut got = Vec::new();
            let mut offset = 0;
            loop {
                let f = client
                    .raw()
                    .fetch_one(&topic, partition, offset, &quick)
                    .await
                    .unwrap();
                got.extend(f.records);
                offset = f.next_offset;
                if offset >= f.high_watermark {
                    break;
                }
            }
            assert_eq!(got.len(), 20, "{codec} partition {partition}");
            for (n, r) in got.iter().enumerate() {
                let i = n as i32 * 2 + partition;
                assert_eq!(r.offset, n as i64);
                assert_eq!(r.key.as_deref(), Some(format!("py-{codec}-{i}").as_bytes()));
                assert_eq!(r.value.as_deref(), Some(format!("from python {i}").as_bytes()));
                assert_eq!(r.headers, vec![Header::new("h", Bytes::from(i.to_string()))]);
                assert!(r.timestamp > 1_600_000_000_000, "{codec}: a create time in ms");
            }
        }
    }
}
