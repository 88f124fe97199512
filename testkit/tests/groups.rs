//! Consumer groups on Apache Kafka, under the consumer group protocol of KIP-848 and the classic
//! one (cooperative and eager): members of one group split a topic's partitions, every partition
//! owned by exactly one member; partitions move as members leave and join, and with commits made
//! on revocation no record is read twice within the group and none is lost; a second group reads
//! every record again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kwire_connector::client::{
    Assignor, Client, Consumer, GroupConsumerBuilder, GroupEvent, GroupProtocol, ProducerRecord, StartOffset,
};
use kwire_testkit::data::client;
use kwire_testkit::LocalBroker;
use tokio::sync::watch;

const PARTITIONS: i32 = 6;
const TOPIC: &str = "groups-in";

/// A broker that runs the consumer group protocol at a quick pace: heartbeats every 500 ms.
fn broker() -> LocalBroker {
    LocalBroker::apache_with(&[
        "group.consumer.heartbeat.interval.ms=500",
        "group.consumer.min.heartbeat.interval.ms=500",
    ])
    .unwrap_or_else(|e| panic!("Apache Kafka is needed for this test: {e}"))
}

/// What the members of a test saw: per member, its partitions now and the records it read.
#[derive(Default)]
struct Seen {
    owned: BTreeMap<String, BTreeSet<i32>>,
    read: Vec<(String, i32, i64)>,
    revocations: u32,
}

type Shared = Arc<Mutex<Seen>>;

/// The group protocol of a test's members.
#[derive(Debug, Clone, Copy)]
enum Proto {
    Consumer,
    /// The classic protocol with these assignors, heartbeating every 500 ms.
    Classic(&'static [Assignor]),
}

/// A member of `group` under `proto`, starting at the earliest offset without a commit.
fn builder(client: Client, proto: Proto, group: &str) -> GroupConsumerBuilder {
    let builder = Consumer::builder(client)
        .max_wait(Duration::from_millis(100))
        .group(group)
        .start_without_commit(StartOffset::Earliest);
    match proto {
        Proto::Consumer => builder.protocol(GroupProtocol::Consumer),
        Proto::Classic(assignors) => builder
            .protocol(GroupProtocol::Classic)
            .assignors(assignors)
            .heartbeat_interval(Duration::from_millis(500))
            .session_timeout(Duration::from_secs(10)),
    }
}

/// A member: reads until told to stop, commits on every revocation, closes (commit, leave).
async fn member(
    client: Client,
    proto: Proto,
    group: &'static str,
    name: String,
    seen: Shared,
    mut stop: watch::Receiver<bool>,
) {
    let mut consumer = builder(client, proto, group)
        .subscribe(&[TOPIC])
        .await
        .unwrap_or_else(|e| panic!("{name} cannot join {group}: {e}"));
    loop {
        let event = tokio::select! {
            biased;
            _ = stop.changed() => break,
            event = consumer.next() => event,
        };
        let event = event
            .unwrap_or_else(|| panic!("{name}: the consumer ended"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        match event {
            GroupEvent::Records(batch) => {
                let mut s = seen.lock().unwrap();
                for r in &batch.records {
                    s.read.push((name.clone(), batch.partition, r.offset));
                }
            }
            GroupEvent::Assigned(ps) => {
                let mut s = seen.lock().unwrap();
                s.owned
                    .entry(name.clone())
                    .or_default()
                    .extend(ps.iter().map(|(_, p)| *p));
            }
            GroupEvent::Revoked(ps) => {
                consumer
                    .commit()
                    .await
                    .unwrap_or_else(|e| panic!("{name}: commit on revoke: {e}"));
                let mut s = seen.lock().unwrap();
                s.revocations += 1;
                let owned = s.owned.entry(name.clone()).or_default();
                for (_, p) in ps {
                    owned.remove(&p);
                }
            }
            GroupEvent::Lost(ps) => panic!("{name} lost {ps:?}: no member here is fenced"),
            other => panic!("{name}: unexpected {other:?}"),
        }
    }
    consumer
        .close()
        .await
        .unwrap_or_else(|e| panic!("{name}: close: {e}"));
    seen.lock().unwrap().owned.remove(&name);
}

/// Waits until `members` own every partition between them, each at least one, none shared.
async fn wait_split(seen: &Shared, members: &[&str], within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        {
            let s = seen.lock().unwrap();
            let owners: Vec<&BTreeSet<i32>> = members.iter().filter_map(|m| s.owned.get(*m)).collect();
            let all: Vec<i32> = owners.iter().flat_map(|o| o.iter().copied()).collect();
            let distinct: BTreeSet<i32> = all.iter().copied().collect();
            let others_own = s
                .owned
                .iter()
                .any(|(m, ps)| !members.contains(&m.as_str()) && !ps.is_empty());
            if owners.len() == members.len()
                && owners.iter().all(|o| !o.is_empty())
                && all.len() == PARTITIONS as usize
                && distinct.len() == PARTITIONS as usize
                && !others_own
            {
                println!("split: {:?}", s.owned);
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no split over {members:?} within {within:?}: {:?}",
                s.owned
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_split_partitions_hand_them_over_and_read_each_record_once() {
    split_and_hand_over(Proto::Consumer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_cooperative_members_split_partitions_and_read_each_record_once() {
    split_and_hand_over(Proto::Classic(&[Assignor::CooperativeSticky])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_eager_members_split_partitions_and_read_each_record_once() {
    split_and_hand_over(Proto::Classic(&[Assignor::Range])).await;
    split_and_hand_over(Proto::Classic(&[Assignor::RoundRobin])).await;
}

async fn split_and_hand_over(proto: Proto) {
    println!("{proto:?}");
    let broker = broker();
    let client = client(&broker).await.unwrap();
    client.create_topic(TOPIC, PARTITIONS, 1).await.unwrap();

    // A steady stream of records over every partition while members come and go.
    let (stop_producing, mut producing) = watch::channel(false);
    let producer_client = client.clone();
    let producer = tokio::spawn(async move {
        let producer = producer_client.producer().build().await.unwrap();
        let mut i: i64 = 0;
        while !*producing.borrow_and_update() {
            for _ in 0..20 {
                let p = (i % i64::from(PARTITIONS)) as i32;
                producer
                    .send(ProducerRecord::new(TOPIC, i.to_string()).partition(p))
                    .await
                    .unwrap();
                i += 1;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        producer.flush().await.unwrap();
        producer.close().await.unwrap();
        i
    });

    let seen: Shared = Arc::default();
    let mut stops = BTreeMap::new();
    let mut tasks = BTreeMap::new();
    let start = |name: &str| {
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(member(
            client.clone(),
            proto,
            "g1",
            name.to_owned(),
            Arc::clone(&seen),
            rx,
        ));
        (tx, task)
    };
    for name in ["a", "b", "c"] {
        let (tx, task) = start(name);
        stops.insert(name.to_owned(), tx);
        tasks.insert(name.to_owned(), task);
        // One at a time: each join takes partitions from the members reading them.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    wait_split(&seen, &["a", "b", "c"], Duration::from_secs(60)).await;

    // a leaves, d joins: the partitions move.
    stops["a"].send(true).unwrap();
    tasks.remove("a").unwrap().await.unwrap();
    let (tx, task) = start("d");
    stops.insert("d".to_owned(), tx);
    tasks.insert("d".to_owned(), task);
    wait_split(&seen, &["b", "c", "d"], Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    stop_producing.send(true).unwrap();
    let produced = producer.await.unwrap();
    // Every record read by the group, each by one member only.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = seen.lock().unwrap().read.len() as i64;
        if n >= produced {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the group read {n} of {produced} records"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (name, stop) in &stops {
        if let Some(task) = tasks.remove(name) {
            stop.send(true).unwrap();
            task.await.unwrap();
        }
    }
    {
        let s = seen.lock().unwrap();
        let mut readers: BTreeMap<(i32, i64), Vec<&str>> = BTreeMap::new();
        for (m, p, o) in &s.read {
            readers.entry((*p, *o)).or_default().push(m);
        }
        let twice: Vec<_> = readers.iter().filter(|(_, ms)| ms.len() > 1).take(10).collect();
        assert!(twice.is_empty(), "read twice within the group: {twice:?}");
        assert_eq!(readers.len() as i64, produced, "every record read once");
        assert!(
            s.revocations >= 2,
            "partitions were handed over ({} revocations)",
            s.revocations
        );
        println!("{produced} records, {} revocations", s.revocations);
    }

    // Another group reads every record again.
    let other: Shared = Arc::default();
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(member(
        client.clone(),
        proto,
        "g2",
        "e".into(),
        Arc::clone(&other),
        rx,
    ));
    let deadline = Instant::now() + Duration::from_secs(60);
    while (other.lock().unwrap().read.len() as i64) < produced {
        assert!(Instant::now() < deadline, "group g2 did not read everything");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tx.send(true).unwrap();
    task.await.unwrap();
    let distinct: BTreeSet<(i32, i64)> = other
        .lock()
        .unwrap()
        .read
        .iter()
        .map(|(_, p, o)| (*p, *o))
        .collect();
    assert_eq!(distinct.len() as i64, produced);
}

/// Three `kwire consume --group` processes split a topic, as the README shows; Ctrl-C commits and
/// leaves, exit code 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_console_consumers_in_one_group_split_a_topic() {
    use std::process::{Command, Stdio};

    let broker = broker();
    let client = client(&broker).await.unwrap();
    let topic = "groups-cli";
    client.create_topic(topic, PARTITIONS, 1).await.unwrap();
    let dir = std::env::temp_dir().join(format!("kwire-groups-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut children = Vec::new();
    for i in 0..3 {
        let out = std::fs::File::create(dir.join(format!("out-{i}"))).unwrap();
        let err = std::fs::File::create(dir.join(format!("err-{i}"))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_kwire"))
            .args(["consume", topic, "--group", "gc", "--from", "earliest"])
            .args([
                "--format",
                "{partition} {offset}",
                "--bootstrap",
                broker.bootstrap(),
            ])
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap();
        children.push(child);
    }
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    // Each member holds partitions; then give the coordinator time to finish moving them.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(0..3).all(|i| read(&format!("err-{i}")).contains("assigned")) {
        assert!(
            Instant::now() < deadline,
            "not every member got partitions: {:?}",
            (0..3).map(|i| read(&format!("err-{i}"))).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let producer = client.producer().build().await.unwrap();
    for i in 0..600i32 {
        producer
            .send(ProducerRecord::new(topic, i.to_string()).partition(i % PARTITIONS))
            .await
            .unwrap();
    }
    producer.flush().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lines: usize = (0..3).map(|i| read(&format!("out-{i}")).lines().count()).sum();
        if lines >= 600 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the members printed {lines} of 600 records"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for child in &mut children {
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
    for (i, child) in children.iter_mut().enumerate() {
        let status = child.wait().unwrap();
        assert!(
            status.success(),
            "member {i} exited with {status}: {}",
            read(&format!("err-{i}"))
        );
    }
    let mut seen: BTreeMap<(i32, i64), usize> = BTreeMap::new();
    for i in 0..3 {
        let out = read(&format!("out-{i}"));
        assert!(
            !out.is_empty(),
            "member {i} printed nothing: {}",
            read(&format!("err-{i}"))
        );
        for line in out.lines() {
            let (p, o) = line.split_once(' ').unwrap();
            *seen.entry((p.parse().unwrap(), o.parse().unwrap())).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), 600, "every record printed");
    assert!(seen.values().all(|n| *n == 1), "a record printed twice");
    // Ctrl-C committed what each member printed.
    let partitions: Vec<i32> = (0..PARTITIONS).collect();
    let committed = client.committed_offsets("gc", topic, &partitions).await.unwrap();
    assert!(committed.iter().all(|(_, o)| *o == 100), "{committed:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Rows of a table printed with a header line starting with `first`: per (topic, partition), the
/// named columns.
fn table(text: &str, first: &str, columns: &[&str]) -> BTreeMap<(String, i32), Vec<String>> {
    let mut lines = text.lines().skip_while(|l| !l.trim_start().starts_with(first));
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_else(|| panic!("no header in {text}"))
        .split_whitespace()
        .collect();
    let at = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no {name} in {header:?}"))
    };
    let (topic, partition) = (at("TOPIC"), at("PARTITION"));
    let wanted: Vec<usize> = columns.iter().map(|c| at(c)).collect();
    let mut out = BTreeMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.len() < header.len() {
            continue;
        }
        let Ok(p) = cells[partition].parse() else { continue };
        out.insert(
            (cells[topic].to_owned(), p),
            wanted.iter().map(|i| cells[*i].to_owned()).collect(),
        );
    }
    out
}

/// `kwire group describe` on the group the connector's source commits under: the checkpoint id of
/// each commit, and the same committed offsets, log end offsets and lag as Apache Kafka's
/// kafka-consumer-groups, except where only a transaction marker lies past the commit (there
/// kwire says 0, the Java tool 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_describe_shows_checkpoints_and_agrees_with_kafka_consumer_groups() {
    use kwire_connector::source::{KafkaSource, StartingOffsets, StoppingOffsets};
    use kwire_testkit::apache::kafka_tool;

    let broker = broker();
    let client = client(&broker).await.unwrap();
    let group = "connector-g";
    client.create_topic("described", 3, 1).await.unwrap();
    let producer = client.producer().build().await.unwrap();
    for i in 0..30i32 {
        producer
            .send(ProducerRecord::new("described", i.to_string()).partition(i % 3))
            .await
            .unwrap();
    }
    producer.flush().await.unwrap();
    // The source reads it all and commits checkpoint 7's offsets, as a job does.
    let source = KafkaSource::builder(client.clone(), &["described"])
        .starting_offsets(StartingOffsets::Earliest)
        .stopping_offsets(StoppingOffsets::Latest)
        .group_id(group)
        .build();
    let mut reader = source.reader(0, None).await.unwrap();
    let mut read = Vec::new();
    while !reader.is_finished() {
        reader.next_batch(&mut read, 1000).await.unwrap();
    }
    assert_eq!(read.len(), 30);
    reader.snapshot(7);
    reader.notify_checkpoint_complete(7).await;
    // A committed transaction of 5 records: offsets 0-4, its marker at 5; the group has read
    // every record (committed 5), so nothing is left to read.
    client.create_topic("described-txn", 1, 1).await.unwrap();
    let txn = client
        .producer()
        .transactional_id("described-txn")
        .build()
        .await
        .unwrap();
    txn.init_transactions().await.unwrap();
    txn.begin_transaction().await.unwrap();
    for i in 0..5 {
        txn.send(ProducerRecord::new("described-txn", i.to_string()).partition(0))
            .await
            .unwrap();
    }
    txn.commit_transaction().await.unwrap();
    client
        .commit_offsets(group, &[("described-txn".to_owned(), 0, 5)], "")
        .await
        .unwrap();

    let ours = std::process::Command::new(env!("CARGO_BIN_EXE_kwire"))
        .args(["group", "describe", group, "--bootstrap", broker.bootstrap()])
        .output()
        .unwrap();
    let ours_text = String::from_utf8_lossy(&ours.stdout).into_owned();
    assert!(
        ours.status.success(),
        "{ours_text}{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    println!("{ours_text}");
    let ours = table(&ours_text, "TOPIC", &["COMMITTED", "END", "LAG", "CHECKPOINT"]);
    let bootstrap = broker.bootstrap().to_owned();
    let java_text = tokio::task::spawn_blocking(move || {
        kafka_tool(
            "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
            &["--bootstrap-server", &bootstrap, "--describe", "--group", group],
        )
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("kafka-consumer-groups is needed for this test: {e}"));
    println!("{java_text}");
    let java = table(&java_text, "GROUP", &["CURRENT-OFFSET", "LOG-END-OFFSET", "LAG"]);
    assert_eq!(ours.len(), 4, "{ours:?}");
    assert_eq!(ours.keys().collect::<Vec<_>>(), java.keys().collect::<Vec<_>>());
    for (tp, row) in &ours {
        let j = &java[tp];
        assert_eq!(
            (&row[0], &row[1]),
            (&j[0], &j[1]),
            "{tp:?}: committed and end offsets"
        );
        if tp.0 == "described" {
            assert_eq!((row[2].as_str(), j[2].as_str()), ("0", "0"), "{tp:?}: lag");
            assert_eq!(row[3], "7", "{tp:?}: the checkpoint id");
        } else {
            assert_eq!(
                (row[1].as_str(), row[2].as_str(), j[2].as_str()),
                ("6", "0", "1"),
                "{tp:?}: a marker is no lag"
            );
            assert_eq!(row[3], "-");
        }
    }

    // The group is listed; its offsets reset: a dry run changes nothing, then a reset does.
    let kwire = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kwire"))
            .args(args)
            .args(["--bootstrap", broker.bootstrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    assert!(kwire(&["group", "list"])
        .lines()
        .any(|l| l.starts_with("connector-g ")));
    let args = [
        "group",
        "reset-offsets",
        group,
        "--to",
        "earliest",
        "--topic",
        "described",
    ];
    let plan = kwire(&[&args[..], &["--dry-run"]].concat());
    assert!(
        plan.contains("described 0 10 0") && plan.contains("dry run"),
        "{plan}"
    );
    let committed =
        |c: Client| async move { c.committed_offsets(group, "described", &[0, 1, 2]).await.unwrap() };
    assert_eq!(committed(client.clone()).await, vec![(0, 10), (1, 10), (2, 10)]);
    kwire(&args);
    assert_eq!(committed(client.clone()).await, vec![(0, 0), (1, 0), (2, 0)]);
}

/// kwire members and a member of Apache Kafka's Java consumer (group.protocol=consumer) in one
/// group: they split the partitions and read every record once between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kwire_and_java_members_share_a_group() {
    share_with_java(Proto::Consumer, "consumer").await;
}

/// The same under the classic protocol: the group picks cooperative-sticky, which the Java member
/// offers after range and runs eagerly, while the kwire members run it cooperatively; whichever
/// member leads assigns for all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kwire_and_java_classic_members_share_a_group() {
    share_with_java(Proto::Classic(&[Assignor::CooperativeSticky]), "classic").await;
}

async fn share_with_java(proto: Proto, java_protocol: &str) {
    use std::io::BufRead;
    use std::process::Stdio;

    let broker = broker();
    let client = client(&broker).await.unwrap();
    client.create_topic(TOPIC, PARTITIONS, 1).await.unwrap();
    let peer =
        kwire_testkit::java_peer::JavaPeer::get().unwrap_or_else(|e| panic!("the Java peer is needed: {e}"));
    let mut java = peer
        .command()
        .args([
            "group",
            "--bootstrap",
            broker.bootstrap(),
            "--topic",
            TOPIC,
            "--group",
            "mixed",
            "--protocol",
            java_protocol,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let java_lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let lines = Arc::clone(&java_lines);
    let stdout = java.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            lines.lock().unwrap().push(line.unwrap());
        }
    });
    // The Java member's partitions now, from its ASSIGNED / REVOKED lines.
    let java_owned = |lines: &[String]| {
        let mut owned = BTreeSet::new();
        for l in lines {
            let mut words = l.split_whitespace();
            match words.next() {
                Some("ASSIGNED") => owned.extend(words.map(|p| p.parse::<i32>().unwrap())),
                Some("REVOKED" | "LOST") => {
                    for p in words {
                        owned.remove(&p.parse::<i32>().unwrap());
                    }
                }
                _ => {}
            }
        }
        owned
    };
    let seen: Shared = Arc::default();
    let mut members = Vec::new();
    for name in ["a", "b"] {
        let (tx, rx) = watch::channel(false);
        members.push((
            tx,
            tokio::spawn(member(
                client.clone(),
                proto,
                "mixed",
                name.into(),
                Arc::clone(&seen),
                rx,
            )),
        ));
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (done, state) = {
            let j = java_owned(&java_lines.lock().unwrap());
            let s = seen.lock().unwrap();
            let kw: Vec<&BTreeSet<i32>> = ["a", "b"].iter().filter_map(|m| s.owned.get(*m)).collect();
            let mut all: Vec<i32> = j.iter().copied().collect();
            all.extend(kw.iter().flat_map(|o| o.iter().copied()));
            let distinct: BTreeSet<i32> = all.iter().copied().collect();
            let done = !j.is_empty()
                && kw.len() == 2
                && kw.iter().all(|o| !o.is_empty())
                && all.len() == 6
                && distinct.len() == 6;
            (done, format!("java {j:?}, kwire {:?}", s.owned))
        };
        if done {
            println!("split: {state}");
            break;
        }
        assert!(Instant::now() < deadline, "no split: {state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let producer = client.producer().build().await.unwrap();
    for i in 0..600i32 {
        producer
            .send(ProducerRecord::new(TOPIC, i.to_string()).partition(i % PARTITIONS))
            .await
            .unwrap();
    }
    producer.flush().await.unwrap();
    let java_records = |lines: &[String]| -> Vec<(i32, i64)> {
        lines
            .iter()
            .filter_map(|l| {
                let mut w = l.strip_prefix("R ")?.split(' ');
                Some((w.next()?.parse().ok()?, w.next()?.parse().ok()?))
            })
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = java_records(&java_lines.lock().unwrap()).len() + seen.lock().unwrap().read.len();
        if n >= 600 {
            break;
        }
        assert!(Instant::now() < deadline, "the group read {n} of 600");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(java.stdin.take());
    assert!(java.wait().unwrap().success());
    reader.join().unwrap();
    for (tx, task) in members {
        tx.send(true).unwrap();
        task.await.unwrap();
    }
    let mut readers: BTreeMap<(i32, i64), usize> = BTreeMap::new();
    let from_java = java_records(&java_lines.lock().unwrap());
    assert!(!from_java.is_empty(), "the Java member read nothing");
    for r in from_java {
        *readers.entry(r).or_default() += 1;
    }
    for (_, p, o) in &seen.lock().unwrap().read {
        *readers.entry((*p, *o)).or_default() += 1;
    }
    assert_eq!(readers.len(), 600, "every record read");
    assert!(readers.values().all(|n| *n == 1), "a record read twice");
}

/// A member that does not poll within its max poll interval leaves the group: its partitions go
/// to the others; its next poll reports them lost (nothing committed for them) and it joins again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_stops_polling_loses_its_partitions_and_joins_again() {
    let broker = broker();
    let client = client(&broker).await.unwrap();
    client.create_topic(TOPIC, PARTITIONS, 1).await.unwrap();
    let seen: Shared = Arc::default();
    let (stop_y, rx) = watch::channel(false);
    let y = tokio::spawn(member(
        client.clone(),
        Proto::Consumer,
        "slow",
        "y".into(),
        Arc::clone(&seen),
        rx,
    ));
    let mut x = Consumer::builder(client.clone())
        .max_wait(Duration::from_millis(100))
        .group("slow")
        .max_poll_interval(Duration::from_secs(3))
        .subscribe(&[TOPIC])
        .await
        .unwrap();
    // Poll until x owns partitions and y owns the rest.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let event = tokio::time::timeout(Duration::from_millis(200), x.next()).await;
        if let Ok(Some(e)) = event {
            e.unwrap();
        }
        let y_owned = seen.lock().unwrap().owned.get("y").map_or(0, BTreeSet::len);
        if !x.assignment().is_empty() && y_owned > 0 && x.assignment().len() + y_owned == PARTITIONS as usize
        {
            break;
        }
        assert!(Instant::now() < deadline, "no split: x {:?}", x.assignment());
    }
    let had = x.assignment();
    println!("x owns {had:?}; stops polling");
    // Not polling: x leaves, y takes every partition.
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.lock().unwrap().owned.get("y").map_or(0, BTreeSet::len) < PARTITIONS as usize {
        assert!(Instant::now() < deadline, "y never got x's partitions");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // x's next polls: its partitions are lost (after any change it had not taken up yet), and
    // nothing is committed for them.
    let lost = loop {
        match x.next().await.unwrap().unwrap() {
            GroupEvent::Lost(lost) => break lost,
            GroupEvent::Revoked(_) | GroupEvent::Assigned(_) | GroupEvent::Records(_) => {}
            other => panic!("expected the loss of {had:?}, got {other:?}"),
        }
    };
    assert!(
        !lost.is_empty() && lost.iter().all(|tp| had.contains(tp)),
        "lost {lost:?} of {had:?}"
    );
    assert!(x.assignment().is_empty());
    x.commit().await.unwrap();
    // ... and it joins again and gets partitions back.
    let deadline = Instant::now() + Duration::from_secs(60);
    while x.assignment().is_empty() {
        assert!(Instant::now() < deadline, "x did not join again");
        if let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(200), x.next()).await {
            println!(
                "x: {:?}",
                e.map(|e| format!("{e:?}").chars().take(100).collect::<String>())
            );
        }
    }
    println!("x owns {:?} again", x.assignment());
    x.close().await.unwrap();
    stop_y.send(true).unwrap();
    y.await.unwrap();
}

/// A member subscribed by pattern reads the topics whose names match, and takes up a matching
/// topic created while it runs; a topic that does not match is not read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_subscription_takes_up_matching_topics_as_they_come() {
    let broker = broker();
    let client = client(&broker).await.unwrap();
    for (proto, prefix) in [
        (Proto::Consumer, "pc"),
        (Proto::Classic(&[Assignor::CooperativeSticky]), "pk"),
        (Proto::Classic(&[Assignor::Range]), "pr"),
    ] {
        println!("{proto:?}");
        let topic = |suffix: &str| format!("{prefix}-{suffix}");
        client.create_topic(&topic("a"), 2, 1).await.unwrap();
        client.create_topic(&topic("b"), 1, 1).await.unwrap();
        client.create_topic(&format!("x{prefix}-a"), 1, 1).await.unwrap();
        let mut consumer = builder(client.clone(), proto, prefix)
            .pattern_refresh(Duration::from_secs(1))
            .subscribe_pattern(&format!("{prefix}-.*"))
            .await
            .unwrap_or_else(|e| panic!("{proto:?}: cannot join: {e}"));
        let wanted = |topics: &[(&str, i32)]| -> BTreeSet<(String, i32)> {
            topics
                .iter()
                .flat_map(|(t, n)| (0..*n).map(move |p| (topic(t), p)))
                .collect()
        };
        let mut read: BTreeSet<(String, i32)> = BTreeSet::new();
        wait_owned(&mut consumer, wanted(&[("a", 2), ("b", 1)])).await;
        client.create_topic(&topic("c"), 2, 1).await.unwrap();
        wait_owned(&mut consumer, wanted(&[("a", 2), ("b", 1), ("c", 2)])).await;
        // One record in every partition of every topic: those of the matching topics are read.
        let producer = client.producer().build().await.unwrap();
        for (t, n) in [
            (topic("a"), 2),
            (topic("b"), 1),
            (topic("c"), 2),
            (format!("x{prefix}-a"), 1),
        ] {
            for p in 0..n {
                producer
                    .send(ProducerRecord::new(&t, "v").partition(p))
                    .await
                    .unwrap();
            }
        }
        producer.flush().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while read.len() < 5 {
            assert!(Instant::now() < deadline, "read only {read:?}");
            if let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(200), consumer.next()).await {
                if let GroupEvent::Records(b) = event.unwrap() {
                    assert!(
                        b.topic.starts_with(prefix),
                        "read {} which does not match",
                        b.topic
                    );
                    read.insert((b.topic.to_string(), b.partition));
                }
            }
        }
        assert_eq!(read, wanted(&[("a", 2), ("b", 1), ("c", 2)]));
        consumer.close().await.unwrap();
    }
}

/// Takes events until `consumer` owns exactly `want`.
async fn wait_owned(consumer: &mut kwire_connector::client::GroupConsumer, want: BTreeSet<(String, i32)>) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let owned: BTreeSet<(String, i32)> = consumer.assignment().into_iter().collect();
        if owned == want {
            return;
        }
        assert!(Instant::now() < deadline, "owned {owned:?}, want {want:?}");
        match tokio::time::timeout(Duration::from_millis(200), consumer.next()).await {
            Ok(Some(Ok(GroupEvent::Lost(ps)))) => panic!("lost {ps:?}"),
            Ok(Some(Err(e))) => panic!("{e}"),
            _ => {}
        }
    }
}

/// Static membership (KIP-345): a member with a group instance id that closes and comes back
/// under the same id within the session timeout gets its partitions back, and the other member
/// is not disturbed (no revocation, no new assignment); under both protocols.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_member_that_comes_back_gets_its_partitions_without_a_rebalance() {
    let broker = broker();
    let client = client(&broker).await.unwrap();
    client.create_topic(TOPIC, PARTITIONS, 1).await.unwrap();
    for (proto, group) in [
        (Proto::Consumer, "static-c"),
        (Proto::Classic(&[Assignor::CooperativeSticky]), "static-k"),
        (Proto::Classic(&[Assignor::Range]), "static-r"),
    ] {
        println!("{proto:?}");
        let join = |id: &str| {
            builder(client.clone(), proto, group)
                .instance_id(id)
                .subscribe(&[TOPIC])
        };
        let mut a = join("a").await.unwrap();
        let mut b = join("b").await.unwrap();
        // Both own partitions, all six between them.
        let deadline = Instant::now() + Duration::from_secs(60);
        while a.assignment().len() + b.assignment().len() != PARTITIONS as usize
            || a.assignment().is_empty()
            || b.assignment().is_empty()
        {
            assert!(
                Instant::now() < deadline,
                "no split: a {:?}, b {:?}",
                a.assignment(),
                b.assignment()
            );
            for m in [&mut a, &mut b] {
                if let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(100), m.next()).await {
                    if let GroupEvent::Revoked(_) = e.unwrap() {
                        m.commit().await.unwrap();
                    }
                }
            }
        }
        let had = a.assignment();
        let b_had = b.assignment();
        a.close().await.unwrap();
        let mut again = join("a").await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while again.assignment() != had {
            assert!(
                Instant::now() < deadline,
                "a came back with {:?}, had {had:?}",
                again.assignment()
            );
            if let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(100), again.next()).await {
                e.unwrap();
            }
            if let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(10), b.next()).await {
                match e.unwrap() {
                    GroupEvent::Records(_) => {}
                    other => panic!("b was disturbed while a came back: {other:?}"),
                }
            }
        }
        // A few heartbeats more: b still undisturbed.
        let quiet = Instant::now() + Duration::from_secs(3);
        while Instant::now() < quiet {
            if let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(100), b.next()).await {
                match e.unwrap() {
                    GroupEvent::Records(_) => {}
                    other => panic!("b was disturbed after a came back: {other:?}"),
                }
            }
            if let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(10), again.next()).await {
                e.unwrap();
            }
        }
        assert_eq!(b.assignment(), b_had);
        again.close().await.unwrap();
        b.close().await.unwrap();
    }
}
