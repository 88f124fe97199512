//! The conformance suite against the local broker (the embedded tansu, or `KWIRE_BOOTSTRAP`), and
//! proof that it can fail: its checkers reject doctored answers, and a broker that cannot be
//! reached is a failure.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kwire_connector::client::{raw::Connection, raw::ConnectionConfig, Client};
use kwire_protocol::messages::metadata_request::MetadataRequestTopic;
use kwire_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kwire_protocol::messages::{
    ApiKey, ApiVersionsRequest, FetchRequest, FindCoordinatorRequest, MetadataRequest, ProduceRequest,
};
use kwire_protocol::records::{Compression, ConsumerRecord, RecordBatchBuilder, RecordBatches};
use kwire_protocol::ErrorCode;
use kwire_testkit::broker::BrokerKind;
use kwire_testkit::conformance::{self, checks, Outcome, KNOWN_DEVIATIONS};
use kwire_testkit::LocalBroker;

/// Every API the suite must cover: each answers at least one case rightly or in a documented way.
const APIS: &[&str] = &[
    "ApiVersions",
    "Metadata",
    "DescribeCluster",
    "CreateTopics",
    "DeleteTopics",
    "Produce",
    "Fetch",
    "ListOffsets",
    "FindCoordinator",
    "OffsetCommit",
    "OffsetFetch",
    "InitProducerId",
    "AddPartitionsToTxn",
    "AddOffsetsToTxn",
    "TxnOffsetCommit",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_suite_passes_against_the_local_broker() {
    let broker = LocalBroker::start_or_fail();
    let started = Instant::now();
    let report = conformance::run(broker.bootstrap(), broker.is_embedded()).await;
    let elapsed = started.elapsed();
    println!("{}", report.render_matrix());
    assert!(report.ok(), "an offered case failed:\n{}", report.render_matrix());

    let c = report.counts();
    assert_eq!(c.pass + c.fail + c.deviation + c.not_offered, report.cases.len());
    // A suite that passes everything, or checks nothing, would not look like this: hundreds of
    // cases run, and most of them pass on their merits.
    assert!(report.cases.len() >= 300, "{c:?}");
    assert!(c.pass >= 200, "{c:?}");
    let passed = |api: &str, outcomes: &[Outcome]| {
        report
            .cases
            .iter()
            .any(|r| r.api == api && outcomes.contains(&r.outcome))
    };
    for api in APIS {
        assert!(
            passed(api, &[Outcome::Pass, Outcome::Deviation]),
            "no {api} case was answered"
        );
    }
    let with_a_pass = APIS.iter().filter(|api| passed(api, &[Outcome::Pass])).count();
    assert!(with_a_pass >= 12, "only {with_a_pass} APIs have a passing case");
    // What is not a pass says why.
    for r in &report.cases {
        match r.outcome {
            Outcome::Pass => assert!(r.failure.is_none() && r.note.is_none(), "{r:?}"),
            Outcome::Deviation => {
                let f = r.failure.as_ref().expect("a deviation says what was wrong");
                assert!(!f.why.is_empty() && r.note.is_some(), "{r:?}");
                assert!(f.sent.is_some() && f.received.is_some(), "{r:?}");
            }
            Outcome::NotOffered => assert!(r.note.is_some(), "{r:?}"),
            _ => {}
        }
    }
    if broker.is_embedded() {
        // tansu 0.6 offers no EndTxn (docs/interop.md): not offered, never a pass or a failure.
        for case in ["EndTxn commit", "EndTxn abort"] {
            let row = report.row(case);
            assert_eq!(row.len(), 6, "{case}: one per version v0-v5");
            assert!(row.iter().all(|r| r.outcome == Outcome::NotOffered), "{row:?}");
        }
        // Its documented deviations are found by strict checks: shown as such, not as passes, at
        // every version it offers (the codec's newest versions it does not).
        for case in [
            "Fetch inside the last batch",
            "ListOffsets latest",
            "Metadata empty list",
        ] {
            let row = report.row(case);
            let offered: Vec<_> = row.iter().filter(|r| r.outcome != Outcome::NotOffered).collect();
            assert!(!offered.is_empty(), "{case}");
            assert!(offered.iter().all(|r| r.outcome == Outcome::Deviation), "{row:?}");
        }
        assert!(!report.strictly_ok());
        // The embedded broker answers within the budget.
        assert!(elapsed < Duration::from_secs(30), "the suite took {elapsed:?}");
    } else {
        // Any other broker is held to the protocol: no deviation applies (Apache Kafka is the
        // reference, and every case it offers must pass).
        assert!(report.strictly_ok(), "{}", report.render_matrix());
        assert_eq!(c.deviation, 0, "{c:?}");
    }
    if broker.kind() == BrokerKind::Apache {
        // The reference broker has transactions: EndTxn is offered and passes.
        for case in ["EndTxn commit", "EndTxn abort"] {
            let row = report.row(case);
            assert!(
                !row.is_empty() && row.iter().all(|r| r.outcome == Outcome::Pass),
                "{case}: {row:?}"
            );
        }
    }

    #[cfg(feature = "cli")]
    {
        let json: serde_json::Value =
            serde_json::from_str(&report.to_json()).expect("the JSON report parses");
        assert_eq!(json["ok"], serde_json::Value::Bool(report.ok()));
        assert_eq!(json["counts"]["pass"], c.pass);
        assert_eq!(json["cases"].as_array().map(Vec::len), Some(report.cases.len()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_is_a_failure() {
    let port = kwire_testkit::broker::free_port().unwrap();
    let report = conformance::run(&format!("127.0.0.1:{port}"), false).await;
    assert!(!report.ok());
    assert_eq!(report.counts().fail, 1);
    assert!(
        report.render_matrix().contains("FAIL"),
        "{}",
        report.render_matrix()
    );
}

#[test]
fn every_known_deviation_is_written_down_where_it_says() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for d in KNOWN_DEVIATIONS {
        let doc = std::fs::read_to_string(root.join(d.documented_in))
            .unwrap_or_else(|e| panic!("{}: {e}", d.documented_in));
        let row = format!("| {} |", d.row);
        assert!(
            doc.contains(&row),
            "deviation {} is not a row of {}: {row}",
            d.id,
            d.documented_in
        );
    }
}

async fn connection(broker: &LocalBroker) -> Connection {
    Connection::connect(broker.bootstrap(), ConnectionConfig::default())
        .await
        .expect("connects")
}

async fn send<R: kwire_protocol::messages::Request>(conn: &Connection, mut req: R, v: i16) -> R::Response {
    req.normalize_to(v);
    conn.send_raw(&req, v).await.expect("answered")
}

/// Live answers pass the checkers; the same answers doctored, or checked against a deliberately
/// wrong expectation, fail them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checks_reject_doctored_answers() {
    let broker = LocalBroker::start_or_fail();
    let client = Client::builder()
        .bootstrap(broker.bootstrap())
        .build()
        .await
        .unwrap();
    let topic = "conformance-doctored";
    client.create_topic(topic, 2, 1).await.unwrap();
    let conn = connection(&broker).await;

    // ApiVersions: the answer must list ApiVersions itself.
    let resp = send(&conn, ApiVersionsRequest::default(), 3).await;
    checks::api_versions(&resp, 3).unwrap();
    let mut bad = resp.clone();
    bad.api_keys.retain(|k| k.api_key != ApiKey::ApiVersions.0);
    assert!(checks::api_versions(&bad, 3).is_err());
    let mut bad = resp.clone();
    bad.api_keys.push(bad.api_keys[0].clone());
    assert!(checks::api_versions(&bad, 3).is_err(), "a key listed twice");

    // Metadata: the topic with its partitions, each led by a listed broker.
    let req = MetadataRequest {
        topics: Some(vec![MetadataRequestTopic {
            name: Some(topic.to_owned()),
            ..Default::default()
        }]),
        allow_auto_topic_creation: false,
        ..Default::default()
    };
    let resp = send(&conn, req, 12).await;
    checks::metadata_topic(&resp, 12, topic, 2).unwrap();
    assert!(
        checks::metadata_topic(&resp, 12, topic, 3).is_err(),
        "wrong expectation"
    );
    let at = resp
        .topics
        .iter()
        .position(|t| t.name.as_deref() == Some(topic))
        .unwrap();
    let mut bad = resp.clone();
    bad.topics[at].partitions[0].leader_id = 4242;
    assert!(
        checks::metadata_topic(&bad, 12, topic, 2).is_err(),
        "leader not a broker"
    );
    let mut bad = resp.clone();
    bad.topics[at].partitions.pop();
    assert!(
        checks::metadata_topic(&bad, 12, topic, 2).is_err(),
        "a partition missing"
    );
    let mut bad = resp.clone();
    bad.topics[at].error_code = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0;
    assert!(
        checks::metadata_topic(&bad, 12, topic, 2).is_err(),
        "an error ignored"
    );
    assert!(checks::metadata_no_topics(&resp, 12).is_err());

    // FindCoordinator: the coordinator must be a broker Metadata lists, host and port included.
    let brokers = checks::brokers(&resp);
    let req = FindCoordinatorRequest {
        key_type: 0,
        coordinator_keys: vec!["doctored-group".to_owned()],
        ..Default::default()
    };
    let resp = send(&conn, req, 6).await;
    checks::find_coordinator(&resp, 6, "doctored-group", &brokers).unwrap();
    let mut bad = resp.clone();
    bad.coordinators[0].port += 1;
    assert!(checks::find_coordinator(&bad, 6, "doctored-group", &brokers).is_err());
    assert!(checks::find_coordinator(&resp, 6, "another-group", &brokers).is_err());

    // Produce: at the offset the log is at, without error.
    let mut builder = RecordBatchBuilder::new(Compression::None);
    for i in 0..3 {
        builder
            .append(
                1_700_000_000_000 + i,
                Some(b"k"),
                Some(format!("v{i}").as_bytes()),
                &[],
            )
            .unwrap();
    }
    let batch = builder.finish().unwrap();
    let leader = client.raw().leader(topic, 0).await.unwrap();
    let req = ProduceRequest {
        acks: -1,
        timeout_ms: 10_000,
        topic_data: vec![TopicProduceData {
            name: topic.to_owned(),
            partition_data: vec![PartitionProduceData {
                index: 0,
                records: Some(batch.clone()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let resp = send(&leader, req, 9).await;
    checks::produce(&resp, 9, topic, 0, 0).unwrap();
    assert!(
        checks::produce(&resp, 9, topic, 0, 1).is_err(),
        "wrong expectation"
    );
    assert!(
        checks::produce(&resp, 9, topic, 1, 0).is_err(),
        "another partition"
    );
    let mut bad = resp.clone();
    bad.responses[0].partition_responses[0].error_code = ErrorCode::NOT_LEADER_OR_FOLLOWER.0;
    assert!(checks::produce(&bad, 9, topic, 0, 0).is_err());

    // Fetch: the records produced, as produced.
    let t = client.topic(topic).await.unwrap();
    let req = FetchRequest {
        replica_id: -1,
        max_wait_ms: 10,
        min_bytes: 1,
        max_bytes: 1 << 20,
        session_epoch: -1,
        topics: vec![kwire_protocol::messages::fetch_request::FetchTopic {
            topic: topic.to_owned(),
            topic_id: t.id,
            partitions: vec![kwire_protocol::messages::fetch_request::FetchPartition {
                partition: 0,
                fetch_offset: 0,
                partition_max_bytes: 1 << 20,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let resp = send(&leader, req, 12).await;
    let p = checks::fetch_partition(&resp, 12, topic, t.id, 0).unwrap();
    checks::fetch_offsets(p, 12, 0, 3).unwrap();
    assert!(checks::fetch_offsets(p, 12, 0, 4).is_err(), "wrong expectation");
    assert!(checks::fetch_partition(&resp, 12, "another-topic", t.id, 0).is_err());
    let raw = p.records.clone().unwrap();
    let want: Vec<ConsumerRecord> = RecordBatches::new(batch)
        .flat_map(|b| b.unwrap().into_records())
        .collect();
    checks::first_batch_whole(&raw, 0, &want).unwrap();
    assert!(
        checks::first_batch_whole(&raw, 3, &want).is_err(),
        "offset not in the batch"
    );
    assert!(
        checks::first_batch_whole(&Bytes::new(), 0, &want).is_err(),
        "no bytes"
    );
    let got: Vec<ConsumerRecord> = RecordBatches::new(raw)
        .flat_map(|b| b.unwrap().into_records())
        .collect();
    checks::records(&got, &want).unwrap();
    let mut bad = got.clone();
    bad[1].value = Some(Bytes::from_static(b"doctored"));
    assert!(checks::records(&bad, &want).is_err(), "a value changed");
    let mut bad = got.clone();
    bad[2].offset += 1;
    assert!(checks::records(&bad, &want).is_err(), "an offset changed");
    assert!(checks::records(&got[..2], &want).is_err(), "a record missing");
    assert!(checks::records(&got, &want[1..]).is_err(), "a record too many");
}
