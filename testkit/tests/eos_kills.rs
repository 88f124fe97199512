//! Exactly-once under real kills: the job `eos_job` (source -> count per key -> transactional
//! sink, paced to 10,000 records/s) runs in a child process that is SIGKILLed at random points, half of them while it
//! restores and the rest after a checkpoint that made progress, and is started again from its
//! checkpoint directory each time. 100,000 records, at least [`KILLS`] kills, on Apache Kafka (the
//! reference) and on the fake cluster. Then the output, read with read_committed by kwire and by
//! Apache Kafka's Java consumer, holds every count exactly once, none lost, and the source's
//! committed group offsets equal those of the last completed checkpoint.
//!
//! `KWIRE_SEED=N` replays the kill schedule of a run (the seed is printed).

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kwire_connector::client::{Client, IsolationLevel, TransactionState};
use kwire_connector::runtime::CheckpointStore;
use kwire_connector::sink::PreparedTransaction;
use kwire_testkit::data::{
    checkpointed_offsets, client, committed_at_checkpoint, committed_values, fill, Seeded,
};
use kwire_testkit::java_peer::JavaPeer;
use kwire_testkit::LocalBroker;

const RECORDS: u32 = 100_000;
const KEYS: u32 = 10;
const KILLS: u32 = 10;
const INPUT_PARTITIONS: i32 = 4;
const OUTPUT_PARTITIONS: i32 = 2;

/// One run of the job, its output in `log`.
fn spawn(broker: &LocalBroker, dir: &Path, log: &Path) -> Child {
    let out = File::create(log).unwrap();
    Command::new(env!("CARGO_BIN_EXE_eos_job"))
        .args(["--bootstrap", broker.bootstrap()])
        .args([
            "--input",
            "eos-in",
            "--output",
            "eos-out",
            "--prefix",
            "eos-kills",
        ])
        // About 10 s for the whole input: every run is long enough for its kill to land.
        .args(["--pace", "10000"])
        .arg("--checkpoint-dir")
        .arg(dir)
        .env("RUST_BACKTRACE", "1")
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .unwrap()
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Kills `child` with SIGKILL; true when it was still running, so that the kill landed.
fn kill(child: &mut Child) -> bool {
    if child.try_wait().unwrap().is_some() {
        return false;
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    status.signal() == Some(9)
}

/// Waits for the last run to end by itself, within `limit`.
fn finish(child: &mut Child, log: &Path, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                status.success(),
                "the last run failed ({status}):\n{}",
                log_tail(log)
            );
            return;
        }
        if Instant::now() > deadline {
            kill(child);
            panic!("the last run did not finish within {limit:?}:\n{}", log_tail(log));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Checks that `lines` (`key n`) hold `key 1` to `key RECORDS/KEYS` of every key exactly once;
/// the problems found, at most ten of them named.
fn exactly_once(lines: &[String], reader: &str) {
    let mut seen: BTreeMap<(u32, u64), u32> = BTreeMap::new();
    let mut malformed = Vec::new();
    for line in lines {
        match line
            .split_once(' ')
            .and_then(|(k, n)| Some((k.parse().ok()?, n.parse().ok()?)))
        {
            Some(kn) => *seen.entry(kn).or_default() += 1,
            None => malformed.push(line.clone()),
        }
    }
    let per_key = u64::from(RECORDS / KEYS);
    let mut lost = Vec::new();
    let mut duplicated = Vec::new();
    for key in 0..KEYS {
        for n in 1..=per_key {
            match seen.remove(&(key, n)) {
                Some(1) => {}
                Some(times) => duplicated.push(format!("{key} {n} x{times}")),
                None => lost.push(format!("{key} {n}")),
            }
        }
    }
    let unexpected: Vec<_> = seen.keys().map(|(k, n)| format!("{k} {n}")).collect();
    println!(
        "{reader}: {} updates read with read_committed: lost {}, duplicated {}, unexpected {}, malformed {}",
        lines.len(),
        lost.len(),
        duplicated.len(),
        unexpected.len(),
        malformed.len()
    );
    assert!(
        lost.is_empty() && duplicated.is_empty() && unexpected.is_empty() && malformed.is_empty(),
        "{reader}: lost {:?}, duplicated {:?}, unexpected {:?}, malformed {:?}",
        &lost[..lost.len().min(10)],
        &duplicated[..duplicated.len().min(10)],
        &unexpected[..unexpected.len().min(10)],
        &malformed[..malformed.len().min(10)]
    );
}

/// How many transactions the newest checkpoint in `store` pre-committed are still open at their
/// coordinator (same producer id and epoch, state Ongoing): a kill that landed between a
/// pre-commit and its commit leaves them so until the next run commits them.
async fn open_pre_commits(client: &Client, store: &CheckpointStore) -> usize {
    let Ok(Some(snapshot)) = store.latest() else {
        return 0;
    };
    let prepared: Vec<PreparedTransaction> = snapshot
        .stages
        .last()
        .into_iter()
        .flatten()
        .filter_map(|states| PreparedTransaction::decode_list(&states.last()?.bytes).ok())
        .flatten()
        .collect();
    let mut open = 0;
    for t in prepared {
        if let Ok(Some(d)) = client.describe_transaction(&t.transactional_id).await {
            if d.producer_id == t.producer_id
                && d.producer_epoch == t.epoch
                && d.state == TransactionState::Ongoing
            {
                open += 1;
            }
        }
    }
    open
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kwire-eos-kills-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn kills_and_restarts(broker: LocalBroker, name: &str) {
    let client = client(&broker).await.unwrap();
    fill(&client, "eos-in", INPUT_PARTITIONS, RECORDS, 10, false)
        .await
        .unwrap();
    client
        .create_topic("eos-out", OUTPUT_PARTITIONS, 1)
        .await
        .unwrap();
    let dir = temp_dir(name);
    let checkpoints = dir.join("checkpoints");
    let store = CheckpointStore::open(&checkpoints).unwrap();
    let mut rng = Seeded::from_env();
    let (mut kills, mut in_restore, mut runs, mut between) = (0u32, 0u32, 0u32, 0u32);
    let started = Instant::now();
    loop {
        runs += 1;
        let at = checkpointed_offsets(&store);
        let log = dir.join(format!("run-{runs}.log"));
        let mut child = spawn(&broker, &checkpoints, &log);
        if kills >= KILLS {
            println!("run {runs} starts at {at} of {RECORDS} and runs to the end");
            finish(&mut child, &log, Duration::from_secs(300));
            print!("{}", log_tail(&log).lines().last().unwrap_or_default());
            println!();
            break;
        }
        // One run in three dies while it restores (connects, commits what its checkpoint
        // pre-committed, fences the transactional ids); the others right after, or a random time
        // after, a checkpoint that made progress, so that the job gets through the input. Killed
        // right when a checkpoint is stored, the job has pre-committed its transactions and often
        // not yet committed them.
        let restoring = runs % 3 == 1;
        if restoring {
            std::thread::sleep(Duration::from_millis(rng.below(400)));
        } else {
            let deadline = Instant::now() + Duration::from_secs(120);
            while checkpointed_offsets(&store) <= at && child.try_wait().unwrap().is_none() {
                assert!(
                    Instant::now() < deadline,
                    "run {runs} made no checkpoint within 2 minutes:\n{}",
                    log_tail(&log)
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            if runs % 3 == 2 {
                std::thread::sleep(Duration::from_millis(rng.below(100)));
            }
        }
        let landed = kill(&mut child);
        println!(
            "run {runs} started at {at} of {RECORDS}: {}",
            if landed { "killed" } else { "ended before the kill" }
        );
        if !landed {
            let status = child.wait().unwrap();
            panic!(
                "run {runs} ended ({status}) before its kill, after {kills} kills; every kill \
                 must land:\n{}",
                log_tail(&log)
            );
        }
        kills += 1;
        in_restore += u32::from(restoring);
        between += u32::from(open_pre_commits(&client, &store).await > 0);
    }
    println!(
        "{name}: {kills} kills ({in_restore} while restoring, {between} between a pre-commit and its \
         commit) in {runs} runs, {:?}",
        started.elapsed()
    );
    assert!(kills >= KILLS, "{kills} kills, {KILLS} asked");

    let lines = committed_values(&client, "eos-out", Duration::from_secs(60))
        .await
        .unwrap();
    exactly_once(&lines, "kwire");
    let java = JavaPeer::get().unwrap_or_else(|e| panic!("the Java peer is needed: {e}"));
    let bootstrap = broker.bootstrap().to_owned();
    let records = tokio::task::spawn_blocking(move || {
        java.consume(
            &bootstrap,
            "eos-out",
            OUTPUT_PARTITIONS,
            IsolationLevel::ReadCommitted,
            RECORDS as usize,
            Duration::from_secs(120),
        )
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("the Java consumer: {e}"));
    let java_lines: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .collect();
    exactly_once(&java_lines, "Java");

    // The source's committed offsets are those of the last completed checkpoint: the end.
    let partitions: Vec<i32> = (0..INPUT_PARTITIONS).collect();
    let committed = committed_at_checkpoint(&client, &store, "eos-kills", "eos-in", &partitions)
        .await
        .unwrap();
    let per_partition = i64::from(RECORDS) / i64::from(INPUT_PARTITIONS);
    assert_eq!(
        committed,
        partitions.iter().map(|p| (*p, per_partition)).collect::<Vec<_>>()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_count_exactly_once_after_ten_kills_on_apache_kafka() {
    let broker =
        LocalBroker::apache().unwrap_or_else(|e| panic!("Apache Kafka is needed for this test: {e}"));
    kills_and_restarts(broker, "apache").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_count_exactly_once_after_ten_kills_on_the_fake_cluster() {
    let broker = LocalBroker::fake().unwrap();
    kills_and_restarts(broker, "fake").await;
}
