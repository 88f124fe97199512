//! The `kwire` binary end to end against a real broker: topics, lines produced and consumed back
//! exactly (also by parallel readers), the assignment, and failures as one clear line.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kwire_connector::client::{Client, ProducerRecord};
use kwire_protocol::messages::ApiKey;
use kwire_protocol::records::{Compression, DecodeOptions};
use kwire_testkit::broker::free_port;
use kwire_testkit::fake::{Corruption, FakeCluster, RequestFault};
use kwire_testkit::LocalBroker;

/// What a run of `kwire` left behind.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Asserts the run failed with exactly one `kwire: error:` line on stderr and no panic.
    #[track_caller]
    fn assert_one_error_line(&self) -> &str {
        assert!(!self.ok(), "expected a failure: {self:?}");
        assert!(self.code.is_some(), "killed, not exited: {self:?}");
        assert!(!self.stderr.contains("panicked"), "a panic: {self:?}");
        assert!(!self.stderr.contains("backtrace"), "a backtrace: {self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {self:?}");
        assert!(lines[0].starts_with("kwire: error: "), "{self:?}");
        lines[0]
    }
}

/// Runs `kwire args` with `stdin`, killing it after `limit`.
fn kwire_with(args: &[&str], stdin: &str, limit: Duration) -> Run {
    kwire_env(args, stdin, limit, &[])
}

/// [`kwire_with`], with these variables in its environment.
fn kwire_env(args: &[&str], stdin: &str, limit: Duration, vars: &[(&str, &str)]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kwire"))
        .args(args)
        .envs(vars.iter().copied())
        .env_remove("KWIRE_BOOTSTRAP")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kwire starts");
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(stdin.as_bytes());
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "kwire {args:?} still ran after {limit:?}; stderr: {}",
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = writer.join();
    Run {
        code: status.code(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

fn kwire(args: &[&str]) -> Run {
    kwire_with(args, "", Duration::from_secs(60))
}

/// A topic name no other test (or earlier run against the same external broker) uses.
fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "cli-{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

#[track_caller]
fn create_topic(bootstrap: &str, topic: &str, partitions: u32) {
    let run = kwire(&[
        "topic",
        "create",
        topic,
        "--partitions",
        &partitions.to_string(),
        "--bootstrap",
        bootstrap,
    ]);
    assert!(run.ok(), "{run:?}");
}

#[test]
fn topics_are_created_listed_and_deleted() {
    let broker = LocalBroker::start_or_fail();
    let b = broker.bootstrap();
    let topic = unique("topics");
    create_topic(b, &topic, 2);
    let listed = kwire(&["topic", "list", "--bootstrap", b]);
    assert!(listed.ok(), "{listed:?}");
    assert!(listed.stdout.lines().any(|l| l == topic), "{listed:?}");

    let again = kwire(&["topic", "create", &topic, "--partitions", "2", "--bootstrap", b]);
    let line = again.assert_one_error_line();
    assert!(line.contains("TOPIC_ALREADY_EXISTS"), "{line}");

    let deleted = kwire(&["topic", "delete", &topic, "--bootstrap", b]);
    assert!(deleted.ok(), "{deleted:?}");
    let listed = kwire(&["topic", "list", "--bootstrap", b]);
    assert!(listed.ok(), "{listed:?}");
    assert!(!listed.stdout.lines().any(|l| l == topic), "{listed:?}");
}

#[test]
fn produced_lines_are_consumed_back_exactly() {
    let broker = LocalBroker::start_or_fail();
    let b = broker.bootstrap();
    let topic = unique("roundtrip");
    create_topic(b, &topic, 1);
    let lines = [
        "k1:hello",
        "k2:world, with spaces",
        "k3:a:value:with:colons",
        "k4:",
        ":no key",
        "k6:ünïcødé ✓",
    ];
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let produced = kwire_with(
        &["produce", &topic, "--key-separator", ":", "--bootstrap", b],
        &input,
        Duration::from_secs(60),
    );
    assert!(produced.ok(), "{produced:?}");
    assert_eq!(produced.stderr, "");

    let n = lines.len().to_string();
    let consumed = kwire(&[
        "consume",
        &topic,
        "--from",
        "earliest",
        "--max-records",
        &n,
        "--format",
        "{key}:{value}",
        "--bootstrap",
        b,
    ]);
    assert!(consumed.ok(), "{consumed:?}");
    assert_eq!(consumed.stdout, input);

    // Without --format: the values alone.
    let values = kwire(&[
        "consume",
        &topic,
        "--from",
        "earliest",
        "--max-records",
        &n,
        "--bootstrap",
        b,
    ]);
    assert!(values.ok(), "{values:?}");
    let expected: String = lines
        .iter()
        .map(|l| format!("{}\n", l.split_once(':').map_or(*l, |(_, v)| v)))
        .collect();
    assert_eq!(values.stdout, expected);

    // The offsets and partition are the log's.
    let placed = kwire(&[
        "consume",
        &topic,
        "--from",
        "earliest",
        "--max-records",
        "2",
        "--format",
        "{partition}/{offset}",
        "--bootstrap",
        b,
    ]);
    assert_eq!(placed.stdout, "0/0\n0/1\n", "{placed:?}");
}

#[test]
fn parallel_readers_consume_every_partition_in_order() {
    let broker = LocalBroker::start_or_fail();
    let b = broker.bootstrap();
    let topic = unique("parallel");
    create_topic(b, &topic, 3);
    for p in 0..3 {
        // Several produce runs per partition, so each partition holds several batches.
        for round in 0..3 {
            let input: String = (0..10).map(|i| format!("p{p}-{:02}\n", round * 10 + i)).collect();
            let run = kwire_with(
                &["produce", &topic, "--partition", &p.to_string(), "--bootstrap", b],
                &input,
                Duration::from_secs(60),
            );
            assert!(run.ok(), "{run:?}");
        }
    }
    let consumed = kwire(&[
        "consume",
        &topic,
        "--from",
        "earliest",
        "--max-records",
        "90",
        "--parallelism",
        "3",
        "--format",
        "{partition} {offset} {value}",
        "--bootstrap",
        b,
    ]);
    assert!(consumed.ok(), "{consumed:?}");
    let mut by_partition: BTreeMap<u32, Vec<(i64, String)>> = BTreeMap::new();
    for line in consumed.stdout.lines() {
        let mut f = line.split(' ');
        let (Some(p), Some(o), Some(v)) = (f.next(), f.next(), f.next()) else {
            panic!("bad line {line:?}");
        };
        by_partition
            .entry(p.parse().unwrap())
            .or_default()
            .push((o.parse().unwrap(), v.to_owned()));
    }
    assert_eq!(by_partition.len(), 3, "{consumed:?}");
    for (p, records) in by_partition {
        let expected: Vec<(i64, String)> = (0..30).map(|i| (i, format!("p{p}-{i:02}"))).collect();
        assert_eq!(records, expected, "partition {p}");
    }
}

/// Java's `String.hashCode()`, written out again so the test does not trust the code it checks.
fn java_hash(s: &str) -> i32 {
    let mut h = 0i32;
    for unit in s.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(i32::from(unit));
    }
    h
}

#[test]
fn assign_prints_flinks_assignment() {
    // Flink's KafkaSourceEnumerator#getSplitOwner:
    // start = ((topic.hashCode() * 31) & 0x7FFFFFFF) % parallelism; owner = (start + p) % parallelism.
    for (topic, partitions, parallelism) in [("test", 6, 4), ("orders", 10, 3), ("events", 3, 8), ("x", 5, 1)]
    {
        let start = (i64::from(java_hash(topic).wrapping_mul(31) & 0x7FFF_FFFF)) % parallelism;
        let expected: String = (0..partitions)
            .map(|p| format!("{p} {}\n", (start + p) % parallelism))
            .collect();
        let run = kwire(&[
            "assign",
            "--topic",
            topic,
            "--partitions",
            &partitions.to_string(),
            "--parallelism",
            &parallelism.to_string(),
        ]);
        assert!(run.ok(), "{run:?}");
        assert_eq!(run.stdout, expected, "{topic} {partitions} {parallelism}");
    }
    // A value checked by hand: "test".hashCode() = 3556498; * 31 % 4 = 2.
    let run = kwire(&[
        "assign",
        "--topic",
        "test",
        "--partitions",
        "2",
        "--parallelism",
        "4",
    ]);
    assert_eq!(run.stdout, "0 2\n1 3\n");
}

#[test]
fn bad_flags_fail_with_one_error_line() {
    for args in [
        &["produce", "t", "--acks", "7"][..],
        &["produce", "t", "--compression", "brotli"],
        &["produce", "t", "--partition", "-1"],
        &["consume", "t", "--from", "yesterday"],
        &["consume", "t", "--format", "{nope}"],
        &["consume", "t", "--parallelism", "0"],
        &["consume", "t", "--isolation", "maybe"],
        &["topic", "create", "t", "--partitions", "zero"],
        &["topic", "create", "bad/name"],
        &[
            "assign",
            "--topic",
            "t",
            "--partitions",
            "3",
            "--parallelism",
            "0",
        ],
        &["topic", "list", "--bootstrap", "no-port"],
        &["topic", "list", "--bootstrap", "host:99999"],
        &["bench", "produce", "--records", "0"],
        &["no-such-command"],
        &[],
    ] {
        let run = kwire(args);
        run.assert_one_error_line();
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
    }
}

#[test]
fn unreachable_broker_fails_with_one_error_line() {
    let port = free_port().expect("a free port");
    let bootstrap = format!("127.0.0.1:{port}");
    let b = bootstrap.as_str();
    for args in [
        &["topic", "list", "--bootstrap", b][..],
        &["topic", "create", "t", "--bootstrap", b],
        &["produce", "t", "--bootstrap", b],
        &["consume", "t", "--from", "earliest", "--bootstrap", b],
        &["conformance", "--bootstrap", b],
    ] {
        let run = kwire_with(args, "a line\n", Duration::from_secs(60));
        let line = run.assert_one_error_line();
        assert!(line.contains(b), "{args:?}: {line}");
        assert_eq!(run.code, Some(1), "{args:?}: {run:?}");
    }
}

#[test]
fn unknown_topic_and_bad_records_are_named() {
    let broker = LocalBroker::start_or_fail();
    let b = broker.bootstrap();
    let missing = unique("missing");
    for args in [
        &["produce", &missing, "--bootstrap", b][..],
        &["consume", &missing, "--bootstrap", b],
        &["topic", "delete", &missing, "--bootstrap", b],
    ] {
        let run = kwire_with(args, "a line\n", Duration::from_secs(60));
        let line = run.assert_one_error_line();
        assert!(
            line.contains(&missing) && line.contains("does not exist"),
            "{line}"
        );
    }

    // A line without the separator fails alone, by its number; the others are written.
    let topic = unique("partial");
    create_topic(b, &topic, 1);
    let run = kwire_with(
        &["produce", &topic, "--key-separator", "=", "--bootstrap", b],
        "a=1\nno separator\nc=3\n",
        Duration::from_secs(60),
    );
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{run:?}");
    assert!(lines[0].starts_with("kwire: error: line 2: "), "{run:?}");
    assert_eq!(lines[1], "kwire: error: 1 of 3 records failed");
    let consumed = kwire(&[
        "consume",
        &topic,
        "--from",
        "earliest",
        "--max-records",
        "2",
        "--bootstrap",
        b,
    ]);
    assert_eq!(consumed.stdout, "1\n3\n", "{consumed:?}");

    // A partition the topic does not have.
    let run = kwire_with(
        &["produce", &topic, "--partition", "4", "--bootstrap", b],
        "x\n",
        Duration::from_secs(60),
    );
    let line = run.assert_one_error_line();
    assert!(line.contains("no partition 4"), "{line}");
}

#[test]
fn group_offsets_resume_where_the_last_run_stopped_without_joining() {
    let broker = LocalBroker::start_or_fail();
    let b = broker.bootstrap();
    let topic = unique("group");
    let group = unique("group");
    create_topic(b, &topic, 1);
    let input: String = (0..10).map(|i| format!("v{i}\n")).collect();
    let run = kwire_with(
        &["produce", &topic, "--bootstrap", b],
        &input,
        Duration::from_secs(60),
    );
    assert!(run.ok(), "{run:?}");
    let first = kwire(&[
        "consume",
        &topic,
        "--from",
        "earliest",
        "--max-records",
        "4",
        "--group",
        &group,
        "--assign",
        "--bootstrap",
        b,
    ]);
    assert_eq!(first.stdout, "v0\nv1\nv2\nv3\n", "{first:?}");
    // Without --from, a group starts at its committed offsets (here inside a batch).
    let second = kwire(&[
        "consume",
        &topic,
        "--max-records",
        "6",
        "--group",
        &group,
        "--assign",
        "--bootstrap",
        b,
    ]);
    assert_eq!(second.stdout, "v4\nv5\nv6\nv7\nv8\nv9\n", "{second:?}");
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["broker", "--help"],
        &["topic", "--help"],
        &["topic", "create", "--help"],
        &["topic", "delete", "--help"],
        &["topic", "list", "--help"],
        &["produce", "--help"],
        &["consume", "--help"],
        &["assign", "--help"],
        &["conformance", "--help"],
        &["bench", "--help"],
        &["bench", "produce", "--help"],
        &["bench", "consume", "--help"],
        &["bench", "sink", "--help"],
        &["bench", "load", "--help"],
        &["txn", "--help"],
        &["txn", "recover", "--help"],
        &["group", "--help"],
        &["group", "list", "--help"],
        &["group", "describe", "--help"],
        &["group", "reset-offsets", "--help"],
    ] {
        let run = kwire(args);
        assert!(run.ok(), "{args:?}: {run:?}");
        assert!(run.stdout.contains("--bootstrap"), "{args:?}: {run:?}");
    }
}

#[test]
fn from_latest_and_from_a_time_skip_older_records() {
    let broker = LocalBroker::start_or_fail();
    let b = broker.bootstrap().to_owned();
    let topic = unique("from");
    create_topic(&b, &topic, 2);
    let produce = |input: &str| {
        let run = kwire_with(
            &["produce", &topic, "--bootstrap", &b],
            input,
            Duration::from_secs(60),
        );
        assert!(run.ok(), "{run:?}");
    };
    produce("old1\nold2\nold3\n");
    std::thread::sleep(Duration::from_millis(300));
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis()
        .to_string();
    std::thread::sleep(Duration::from_millis(300));
    produce("new1\nnew2\n");

    let run = kwire(&[
        "consume",
        &topic,
        "--from",
        &now_ms,
        "--max-records",
        "2",
        "--bootstrap",
        &b,
    ]);
    assert!(run.ok(), "{run:?}");
    let mut got: Vec<&str> = run.stdout.lines().collect();
    got.sort_unstable();
    assert_eq!(got, ["new1", "new2"], "{run:?}");

    // --from latest prints only what is written after it started: keep writing until it has one.
    let consumer = {
        let (topic, b) = (topic.clone(), b.clone());
        std::thread::spawn(move || {
            kwire_with(
                &[
                    "consume",
                    &topic,
                    "--from",
                    "latest",
                    "--max-records",
                    "1",
                    "--bootstrap",
                    &b,
                ],
                "",
                Duration::from_secs(60),
            )
        })
    };
    while !consumer.is_finished() {
        produce("later\n");
        std::thread::sleep(Duration::from_millis(300));
    }
    let run = consumer.join().expect("consumer thread");
    assert!(run.ok(), "{run:?}");
    assert_eq!(run.stdout, "later\n", "{run:?}");
}

#[test]
fn txn_recover_dry_run_lists_what_it_would_commit_and_fence() {
    use kwire_connector::runtime::{CheckpointStore, Snapshot, State, StateKind};
    use kwire_connector::sink::PreparedTransaction;

    let dir = std::env::temp_dir().join(format!("kwire-cli-txn-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = CheckpointStore::open(&dir).unwrap();
    let sink_state = |list: &[PreparedTransaction]| {
        vec![
            State::new(StateKind::Operator, Vec::new()),
            State::new(StateKind::Sink, PreparedTransaction::encode_list(list)),
        ]
    };
    let snapshot = Snapshot {
        id: 8,
        stages: vec![
            vec![vec![State::new(StateKind::SourceOffsets, Vec::new())]],
            vec![
                sink_state(&[PreparedTransaction::new(7, "job-0-1", 4001, 3)]),
                sink_state(&[]),
            ],
        ],
        finished: Vec::new(),
    };
    store.save(&snapshot).unwrap();
    let dir_arg = dir.to_str().unwrap();
    let run = kwire(&[
        "txn",
        "recover",
        "--prefix",
        "job",
        "--pool",
        "2",
        "--checkpoint-dir",
        dir_arg,
        "--dry-run",
    ]);
    assert!(run.ok(), "{run:?}");
    assert_eq!(
        run.stdout,
        "would commit job-0-1 (checkpoint 7, producer id 4001, epoch 3)\n\
         would fence job-0-0 (aborts its open transaction, if any)\n\
         would fence job-0-1 (aborts its open transaction, if any)\n\
         would fence job-1-0 (aborts its open transaction, if any)\n\
         would fence job-1-1 (aborts its open transaction, if any)\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let missing = kwire(&[
        "txn",
        "recover",
        "--prefix",
        "job",
        "--checkpoint-dir",
        dir_arg,
        "--dry-run",
    ]);
    assert!(
        missing.assert_one_error_line().contains("no checkpoint"),
        "{missing:?}"
    );
}

/// A fake cluster with `topic` of one partition holding `record-0` to `record-9`, and the
/// `kwire consume` command line that reads those ten from the earliest.
fn fake_with_ten_records(topic: &str) -> (FakeCluster, Vec<String>) {
    let cluster = FakeCluster::start(1).unwrap();
    let bootstrap = cluster.bootstrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = Client::builder().bootstrap(&bootstrap).build().await.unwrap();
        client.create_topic(topic, 1, 1).await.unwrap();
        let producer = client.producer().build().await.unwrap();
        for i in 0..10 {
            producer
                .send(ProducerRecord::new(topic, format!("record-{i}")).partition(0))
                .await
                .unwrap();
        }
        producer.flush().await.unwrap();
        producer.close().await.unwrap();
    });
    let args = [
        "consume",
        topic,
        "--from",
        "earliest",
        "--max-records",
        "10",
        "--bootstrap",
        &bootstrap,
    ];
    (cluster, args.map(str::to_owned).to_vec())
}

/// A corrupt batch (bad CRC, negative length, cut in the middle) ends `kwire consume` with one
/// error line and a non-zero exit, every one of 100 times each: the reader's error once lost a
/// race with its channel closing, and the console consumer exited 0 with nothing printed.
#[test]
fn consume_never_exits_0_on_a_corrupt_batch() {
    let (cluster, args) = fake_with_ten_records("corrupt");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let clean = kwire(&args);
    assert!(clean.ok(), "{clean:?}");
    assert_eq!(clean.stdout.lines().count(), 10, "{clean:?}");
    for how in [Corruption::Crc, Corruption::NegativeLength, Corruption::Truncated] {
        for run in 0..100 {
            cluster.clear_request_faults();
            cluster.fail_next(ApiKey::Fetch, RequestFault::CorruptRecords(how), 1);
            let got = kwire(&args);
            let line = got.assert_one_error_line();
            assert!(
                line.contains("corrupt") && got.stdout.is_empty(),
                "{how:?}, run {run}: {got:?}"
            );
            if run == 0 {
                println!("{how:?}: {line}");
            }
        }
    }
    assert_eq!(cluster.request_faults_used_on(ApiKey::Fetch), 300);
}

/// A compressed batch that inflates past the decompression limit (to 1 GiB, sixteen times it),
/// or whose compressed stream is cut short under a correct CRC, is the same clear error for every
/// codec: `kwire consume` exits non-zero with one error line that names the partition, the codec
/// and what is wrong, and its peak memory stays within a few times the limit.
#[test]
fn consume_fails_clearly_on_a_decompression_bomb_or_a_cut_stream_of_every_codec() {
    let (cluster, args) = fake_with_ten_records("bombs");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut runs = 0;
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        for how in [Corruption::Bomb(codec), Corruption::TruncatedStream(codec)] {
            cluster.clear_request_faults();
            cluster.fail_next(ApiKey::Fetch, RequestFault::CorruptRecords(how), 1);
            let peak_file = std::env::temp_dir().join(format!("kwire-peak-{}", std::process::id()));
            let _ = std::fs::remove_file(&peak_file);
            let got = kwire_env(
                &args,
                "",
                Duration::from_secs(60),
                &[("KWIRE_PEAK_MEMORY_FILE", peak_file.to_str().unwrap())],
            );
            runs += 1;
            let peak: usize = std::fs::read_to_string(&peak_file)
                .expect("kwire reports its peak memory")
                .parse()
                .unwrap();
            // The output buffer may double past the limit once, and the process has its own
            // floor; an unbounded inflate would take the whole GiB.
            let limit = DecodeOptions::DEFAULT_MAX_DECOMPRESSED_SIZE;
            assert!(peak < 3 * limit + (96 << 20), "{how:?}: peak memory {peak} B");
            println!("{how:?}: peak memory {} MiB", peak >> 20);
            let line = got.assert_one_error_line();
            assert!(got.stdout.is_empty(), "{how:?}: {got:?}");
            assert!(line.contains("bombs-0"), "{how:?}: {line}");
            match how {
                Corruption::Bomb(_) => assert!(
                    line.contains("limit") && line.contains(codec.name()),
                    "{how:?}: {line}"
                ),
                _ => assert!(line.contains(codec.name()), "{how:?}: {line}"),
            }
            println!("{how:?}: {line}");
        }
    }
    assert_eq!(runs, 8);
    assert_eq!(cluster.request_faults_used_on(ApiKey::Fetch), 8);
}

/// The CLI takes the Java client's `client.properties` as a user has it for Confluent Cloud
/// (SASL_SSL with PLAIN; here with a PEM truststore, as the local broker's certificate is the
/// testkit's) with --config, and single settings with -X: topic, produce and consume go through
/// Apache Kafka's SASL_SSL listener; a producer setting the client does not read is a warning; a
/// wrong password given with -X is one error line naming the mechanism.
#[test]
fn a_client_properties_file_with_sasl_drives_the_cli() {
    let kafka = kwire_testkit::apache::ApacheKafka::start_sasl(&[("alice", "alice-secret")])
        .unwrap_or_else(|e| panic!("Apache Kafka with SASL must start for this test: {e}"));
    let bootstrap = kafka.sasl_ssl_bootstrap().expect("a SASL_SSL listener");
    let ca = std::env::temp_dir().join(format!("kwire-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, kwire_testkit::apache::TEST_CA_PEM).unwrap();
    let file = std::env::temp_dir().join(format!("kwire-client-{}.properties", std::process::id()));
    std::fs::write(
        &file,
        format!(
            "# as a Java client has it\n\
             bootstrap.servers={bootstrap}\n\
             security.protocol=SASL_SSL\n\
             sasl.mechanism=PLAIN\n\
             ssl.truststore.type=PEM\n\
             ssl.truststore.location={ca}\n\
             sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\\n\
             \x20   username=\"alice\" password=\"alice-secret\";\n\
             acks=all\n\
             compression.type=zstd\n\
             session.timeout.ms=45000\n",
            ca = ca.display()
        ),
    )
    .unwrap();
    let config = file.to_str().unwrap();
    let topic = unique("props");
    let created = kwire(&["--config", config, "topic", "create", &topic, "--partitions", "1"]);
    assert!(created.ok(), "{created:?}");
    assert!(
        created
            .stderr
            .contains("kwire: warning: unknown setting session.timeout.ms"),
        "{created:?}"
    );
    let produced = kwire_with(
        &["--config", config, "produce", &topic],
        "one\ntwo\nthree\n",
        Duration::from_secs(60),
    );
    assert!(produced.ok(), "{produced:?}");
    let consumed = kwire(&[
        "--config",
        config,
        "consume",
        &topic,
        "--from",
        "earliest",
        "--max-records",
        "3",
    ]);
    assert!(consumed.ok(), "{consumed:?}");
    assert_eq!(consumed.stdout, "one\ntwo\nthree\n");
    let refused = kwire(&[
        "--config",
        config,
        "-X",
        "acks=1",
        "-X",
        "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\" password=\"wrong-one\";",
        "consume",
        &topic,
        "--from",
        "earliest",
        "--max-records",
        "3",
    ]);
    assert!(!refused.ok() && refused.code.is_some(), "{refused:?}");
    let last = refused.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("kwire: error: ")
            && last.contains("SASL PLAIN authentication")
            && last.contains("SASL_AUTHENTICATION_FAILED")
            && !last.contains("wrong-one"),
        "{refused:?}"
    );
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(&ca);
}

/// `kwire consume` reads the consumer settings of --config and -X (here `isolation.level`), and
/// its own flags win over them.
#[test]
fn consume_takes_the_consumer_settings_of_the_config_and_its_flags_win() {
    let topic = unique("isolation");
    let cluster = FakeCluster::start(1).unwrap();
    let bootstrap = cluster.bootstrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = Client::builder().bootstrap(&bootstrap).build().await.unwrap();
        client.create_topic(&topic, 1, 1).await.unwrap();
        let plain = client.producer().build().await.unwrap();
        let txn = client
            .producer()
            .transactional_id("cli-isolation")
            .build()
            .await
            .unwrap();
        plain
            .send_and_wait(ProducerRecord::new(&topic, "a").partition(0))
            .await
            .unwrap();
        txn.init_transactions().await.unwrap();
        txn.begin_transaction().await.unwrap();
        txn.send(ProducerRecord::new(&topic, "aborted").partition(0))
            .await
            .unwrap();
        txn.flush().await.unwrap();
        txn.abort_transaction().await.unwrap();
        plain
            .send_and_wait(ProducerRecord::new(&topic, "b").partition(0))
            .await
            .unwrap();
        plain.close().await.unwrap();
        txn.close().await.unwrap();
    });
    let consume = |extra: &[&'static str], max: &'static str| -> Vec<String> {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend([
            "consume",
            &topic,
            "--from",
            "earliest",
            "--max-records",
            max,
            "--bootstrap",
            &bootstrap,
        ]);
        args.into_iter().map(str::to_owned).collect()
    };
    let kwire = |args: &[String]| kwire(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let uncommitted = kwire(&consume(&[], "3"));
    assert!(uncommitted.ok(), "{uncommitted:?}");
    assert_eq!(uncommitted.stdout, "a\naborted\nb\n");
    let committed = kwire(&consume(&["-X", "isolation.level=read_committed"], "2"));
    assert!(committed.ok(), "{committed:?}");
    assert_eq!(committed.stdout, "a\nb\n");
    let mut flag_wins = consume(&["-X", "isolation.level=read_committed"], "3");
    flag_wins.extend(["--isolation".to_owned(), "uncommitted".to_owned()]);
    let flag_wins = kwire(&flag_wins);
    assert!(flag_wins.ok(), "{flag_wins:?}");
    assert_eq!(flag_wins.stdout, "a\naborted\nb\n");
    let bad = kwire(&consume(&["-X", "isolation.level=sometimes"], "2"));
    assert!(bad.assert_one_error_line().contains("isolation.level"), "{bad:?}");
}
