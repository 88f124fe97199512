//! The word count of connector/examples/cluster_word_count.rs on a timely cluster of 3 processes
//! with 2 workers each (loopback, free ports), on Apache Kafka: a 12-partition topic of 200,000
//! words, one process SIGKILLed at random points at least [`KILLS`] times and every process
//! restarted from the last complete checkpoint each time (timely is fail-stop: the others go
//! down with it, or are stopped). Then the output, read with read_committed, holds every running
//! count of every word exactly once; the six workers read the partitions Flink's assignment gives
//! parallelism 6; and the group's committed offsets are the last complete checkpoint's, the end.
//!
//! `KWIRE_SEED=N` replays the kill schedule of a run (the seed is printed).

use std::collections::BTreeMap;
use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kwire_connector::client::{Client, ProducerRecord};
use kwire_connector::cluster::{last_checkpoint, SharedDir, FINAL_EPOCH};
use kwire_connector::core::assign::partitions_of;
use kwire_testkit::data::{client, committed_values, Seeded};
use kwire_testkit::LocalBroker;

const RECORDS: u32 = 200_000;
const WORDS: u32 = 500;
const PARTITIONS: i32 = 12;
const PROCESSES: usize = 3;
const THREADS: usize = 2;
const KILLS: u32 = 5;
const INPUT: &str = "wc-in";
const OUTPUT: &str = "wc-out";
const GROUP: &str = "wc-kills";

fn example() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_kwire"))
        .parent()
        .expect("target/debug")
        .join("examples")
        .join("cluster_word_count");
    assert!(
        bin.exists(),
        "{} is not built: `cargo test --workspace` builds it, or `cargo build -p kwire-connector \
         --features timely --examples`",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One run of the job: its processes and their logs.
struct Run {
    children: Vec<Child>,
    logs: Vec<PathBuf>,
}

impl Run {
    fn start(bootstrap: &str, dir: &Path, hosts: &Path, n: u32) -> Self {
        let mut children = Vec::new();
        let mut logs = Vec::new();
        for process in 0..PROCESSES {
            let log = dir.join(format!("run-{n}-process-{process}.log"));
            let out = File::create(&log).unwrap();
            let child = Command::new(example())
                .args(["--bootstrap", bootstrap, "--input", INPUT, "--output", OUTPUT])
                .args(["--group", GROUP, "--bounded", "--interval-ms", "500"])
                .arg("--hostfile")
                .arg(hosts)
                .args([
                    "--process",
                    &process.to_string(),
                    "--threads",
                    &THREADS.to_string(),
                ])
                .arg("--checkpoints")
                .arg(dir.join("checkpoints"))
                // About 33 s of input in all (6 workers x 1,000 records/s): long enough for
                // every kill to land mid-run.
                .args(["--rate", "1000"])
                .env("RUST_BACKTRACE", "1")
                .stdout(Stdio::from(out.try_clone().unwrap()))
                .stderr(Stdio::from(out))
                .spawn()
                .unwrap();
            children.push(child);
            logs.push(log);
        }
        Self { children, logs }
    }

    fn tails(&self) -> String {
        self.logs
            .iter()
            .map(|log| {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                format!(
                    "--- {}\n{}",
                    log.display(),
                    lines[lines.len().saturating_sub(15)..].join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn running(&mut self) -> bool {
        self.children.iter_mut().all(|c| c.try_wait().unwrap().is_none())
    }

    /// SIGKILLs process `victim`: true when it was running, so that the kill landed. The others
    /// are given 10 s to go down with it (timely is fail-stop), then killed.
    fn kill(&mut self, victim: usize) -> bool {
        let child = &mut self.children[victim];
        let landed = child.try_wait().unwrap().is_none() && {
            child.kill().unwrap();
            child.wait().unwrap().signal() == Some(9)
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        for c in &mut self.children {
            while c.try_wait().unwrap().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        landed
    }

    /// Waits for every process to end by itself, within `limit`, each with exit code 0.
    fn finish(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        for i in 0..self.children.len() {
            loop {
                if let Some(status) = self.children[i].try_wait().unwrap() {
                    assert!(
                        status.success(),
                        "process {i} of the last run failed ({status}):\n{}",
                        self.tails()
                    );
                    break;
                }
                if Instant::now() > deadline {
                    let tails = self.tails();
                    self.kill(i);
                    panic!("the last run did not finish within {limit:?}:\n{tails}");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// The newest complete checkpoint's epoch (0 without one).
fn completed(store: &Path) -> u64 {
    last_checkpoint(SharedDir::open(store).unwrap(), PROCESSES * THREADS)
        .unwrap()
        .map_or(0, |c| c.epoch)
}

/// Record `i` is the word `w{i % WORDS}`, in partition `i % PARTITIONS`.
async fn fill(client: &Client) {
    client.create_topic(INPUT, PARTITIONS, 1).await.unwrap();
    client.create_topic(OUTPUT, 3, 1).await.unwrap();
    let producer = client.producer().build().await.unwrap();
    let mut acks = Vec::new();
    for i in 0..RECORDS {
        let record = ProducerRecord::new(INPUT, Bytes::from(format!("w{}", i % WORDS)))
            .partition((i % PARTITIONS as u32) as i32);
        acks.push(producer.send(record).await.unwrap());
    }
    producer.flush().await.unwrap();
    for ack in acks {
        ack.await.unwrap().unwrap();
    }
}

/// Every word's running counts `1..=RECORDS/WORDS` exactly once in `lines` (`word n`).
fn exactly_once(lines: &[String]) {
    let mut seen: BTreeMap<(String, u64), u32> = BTreeMap::new();
    for line in lines {
        let (w, n) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("malformed {line:?}"));
        let n: u64 = n.parse().unwrap_or_else(|_| panic!("malformed {line:?}"));
        *seen.entry((w.to_owned(), n)).or_default() += 1;
    }
    let (mut lost, mut duplicated) = (Vec::new(), Vec::new());
    for w in 0..WORDS {
        for n in 1..=u64::from(RECORDS / WORDS) {
            match seen.remove(&(format!("w{w}"), n)) {
                Some(1) => {}
                Some(times) => duplicated.push(format!("w{w} {n} x{times}")),
                None => lost.push(format!("w{w} {n}")),
            }
        }
    }
    println!(
        "{} counts read with read_committed: lost {}, duplicated {}, unexpected {}",
        lines.len(),
        lost.len(),
        duplicated.len(),
        seen.len()
    );
    assert!(
        lost.is_empty() && duplicated.is_empty() && seen.is_empty(),
        "lost {:?}, duplicated {:?}, unexpected {:?}",
        &lost[..lost.len().min(10)],
        &duplicated[..duplicated.len().min(10)],
        seen.keys().take(10).collect::<Vec<_>>()
    );
}

/// `worker W of N reads T/P T/P ...` lines of the logs, as worker -> partitions.
fn assignment(logs: &[PathBuf]) -> BTreeMap<usize, Vec<i32>> {
    let mut out = BTreeMap::new();
    for log in logs {
        for line in std::fs::read_to_string(log).unwrap().lines() {
            let Some(rest) = line.strip_prefix("worker ") else {
                continue;
            };
            let Some((w, parts)) = rest.split_once(" reads") else {
                continue;
            };
            let w: usize = w.split(' ').next().unwrap().parse().unwrap();
            let mut ps: Vec<i32> = parts
                .split_whitespace()
                .map(|tp| tp.rsplit_once('/').unwrap().1.parse().unwrap())
                .collect();
            ps.sort_unstable();
            out.insert(w, ps);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn word_count_on_three_processes_is_exactly_once_through_kills_on_apache_kafka() {
    let broker =
        LocalBroker::apache().unwrap_or_else(|e| panic!("Apache Kafka is needed for this test: {e}"));
    let client = client(&broker).await.unwrap();
    fill(&client).await;
    let dir = std::env::temp_dir().join(format!("kwire-cluster-kills-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("checkpoints");
    let hosts = dir.join("hosts.txt");
    let mut rng = Seeded::from_env();
    let (mut kills, mut runs) = (0u32, 0u32);
    let started = Instant::now();
    loop {
        runs += 1;
        // New ports each run: the killed processes' connections may linger.
        let lines: Vec<String> = (0..PROCESSES)
            .map(|_| format!("127.0.0.1:{}", free_port()))
            .collect();
        std::fs::write(&hosts, lines.join("\n")).unwrap();
        let at = completed(&store);
        let mut run = Run::start(broker.bootstrap(), &dir, &hosts, runs);
        if kills >= KILLS {
            println!("run {runs} resumes after epoch {at} and runs to the end");
            run.finish(Duration::from_secs(300));
            // The partitions each worker read: Flink's assignment for parallelism 6.
            let read = assignment(&run.logs);
            let peers = PROCESSES * THREADS;
            let flink: BTreeMap<usize, Vec<i32>> = (0..peers)
                .map(|w| (w, partitions_of(INPUT, PARTITIONS, w, peers)))
                .collect();
            assert_eq!(read, flink, "partitions per worker");
            break;
        }
        // Every other run dies while it starts (connects, restores, fences its transactional
        // ids); the others a random time after a checkpoint that made progress.
        let victim = rng.below(PROCESSES as u64) as usize;
        if runs % 2 == 1 {
            std::thread::sleep(Duration::from_millis(200 + rng.below(800)));
        } else {
            let deadline = Instant::now() + Duration::from_secs(120);
            while completed(&store) <= at && run.running() {
                assert!(
                    Instant::now() < deadline,
                    "run {runs} completed no checkpoint within 2 minutes:\n{}",
                    run.tails()
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            std::thread::sleep(Duration::from_millis(rng.below(700)));
        }
        let landed = run.kill(victim);
        println!(
            "run {runs} (after epoch {at}): process {victim} {}",
            if landed {
                "killed"
            } else {
                "had ended before the kill"
            }
        );
        assert!(
            landed,
            "run {runs} ended before its kill, after {kills} kills; every kill must land:\n{}",
            run.tails()
        );
        kills += 1;
    }
    println!("{kills} kills in {runs} runs, {:?}", started.elapsed());
    assert!(kills >= KILLS, "{kills} kills, {KILLS} asked");

    let lines = committed_values(&client, OUTPUT, Duration::from_secs(60))
        .await
        .unwrap();
    exactly_once(&lines);

    // The group's committed offsets are those of the last complete checkpoint: the end.
    let last = last_checkpoint(SharedDir::open(&store).unwrap(), PROCESSES * THREADS)
        .unwrap()
        .expect("a complete checkpoint");
    assert_eq!(last.epoch, FINAL_EPOCH, "the bounded job's end completed");
    let partitions: Vec<i32> = (0..PARTITIONS).collect();
    let mut committed = client.committed_offsets(GROUP, INPUT, &partitions).await.unwrap();
    committed.sort_unstable();
    let checkpointed: Vec<(i32, i64)> = last.offsets.iter().map(|((_, p), o)| (*p, *o)).collect();
    assert_eq!(
        committed, checkpointed,
        "committed offsets against the last checkpoint"
    );
    let ends: Vec<(i32, i64)> = partitions
        .iter()
        .map(|p| {
            (
                *p,
                i64::from(RECORDS) / 12 + i64::from((*p as u32) < RECORDS % 12),
            )
        })
        .collect();
    assert_eq!(
        checkpointed, ends,
        "the last checkpoint is at the end of every partition"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
