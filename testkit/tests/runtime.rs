//! The local runner against a real broker: a bounded job through `rebalance()` delivers every
//! record and ends; keyed state with checkpoints counts every record exactly once although the job
//! is killed and restarted from its checkpoint directory several times, or a task panics and the
//! restart policy restarts it; committed group offsets equal the last completed checkpoint.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kwire_connector::client::Client;
use kwire_connector::core::fetch_plan::BufferLimits;
use kwire_connector::runtime::sinks::Collect;
use kwire_connector::runtime::{
    CheckpointStore, Job, JobBuilder, JobError, Operator, RestartPolicy, Sink, State, StateKind, Stream,
};
use kwire_connector::source::{KafkaSource, SourceRecord, StoppingOffsets};
use kwire_testkit::data::{checkpointed_offsets, client, committed_at_checkpoint, fill, index, Seeded};
use kwire_testkit::LocalBroker;

const KEYS: u32 = 10;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kwire-runtime-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn source(client: &Client, topic: &str, group: &str) -> KafkaSource {
    KafkaSource::builder(client.clone(), &[topic])
        .parallelism(2)
        .group_id(group)
        .stopping_offsets(StoppingOffsets::Latest)
        .max_wait(Duration::from_millis(20))
        .build()
}

/// A running count per key, kept in checkpoints; at the end it emits `key=count` lines and how
/// often a partition's offsets arrived out of order (not checkpointed: checked per run).
#[derive(Default)]
struct Counts {
    counts: BTreeMap<u32, u64>,
    last_offset: BTreeMap<i32, i64>,
    out_of_order: u64,
}

impl Operator<(u32, i32, i64), String> for Counts {
    fn process(&mut self, (key, partition, offset): (u32, i32, i64), _out: &mut Vec<String>) {
        *self.counts.entry(key).or_default() += 1;
        let last = self.last_offset.insert(partition, offset);
        if last.is_some_and(|l| l >= offset) {
            self.out_of_order += 1;
        }
    }

    fn snapshot(&mut self) -> Vec<u8> {
        let mut b = Vec::new();
        for (k, c) in &self.counts {
            b.extend_from_slice(&k.to_be_bytes());
            b.extend_from_slice(&c.to_be_bytes());
        }
        b
    }

    fn restore(&mut self, state: &[u8]) {
        self.counts = state
            .chunks_exact(12)
            .map(|c| {
                let (k, n) = c.split_at(4);
                (
                    u32::from_be_bytes(k.try_into().unwrap()),
                    u64::from_be_bytes(n.try_into().unwrap()),
                )
            })
            .collect();
    }

    fn finish(&mut self, out: &mut Vec<String>) {
        out.extend(self.counts.iter().map(|(k, c)| format!("{k}={c}")));
        out.push(format!("out-of-order={}", self.out_of_order));
    }
}

/// source -> (key, partition, offset) -> key_by -> Counts -> collect.
fn counting_job(
    builder: JobBuilder,
    source: KafkaSource,
    fail_at: Option<(u32, Arc<AtomicBool>)>,
    out: Arc<Mutex<Vec<String>>>,
) -> Job {
    let stream: Stream<(u32, i32, i64)> = builder.parallelism(3).source(source).map(move |r| {
        let i = index(r.value.as_deref().unwrap_or_default()).expect("a numbered record");
        if let Some((at, armed)) = &fail_at {
            if i == *at && armed.swap(false, Ordering::SeqCst) {
                panic!("injected failure at record {i}");
            }
        }
        (i % KEYS, r.partition, r.offset)
    });
    stream
        .key_by(|t| t.0)
        .process(|_| Counts::default())
        .sink(move |_| Collect::new(out.clone()))
}

fn assert_exact_counts(lines: &[String], total: u32) {
    let mut lines = lines.to_vec();
    lines.sort();
    let mut expected: Vec<String> = (0..KEYS).map(|k| format!("{k}={}", total / KEYS)).collect();
    expected.extend((0..3).map(|_| "out-of-order=0".to_owned()));
    expected.sort();
    assert_eq!(
        lines, expected,
        "every record counted exactly once, in order per partition"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounded_job_through_rebalance_delivers_every_record_and_ends() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await.unwrap();
    fill(&client, "rt-all", 6, 3000, 20, false).await.unwrap();
    let source = KafkaSource::builder(client.clone(), &["rt-all"])
        .parallelism(3)
        .stopping_offsets(StoppingOffsets::Latest)
        .build();
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink_out = out.clone();
    let report = JobBuilder::new("all")
        .parallelism(2)
        .source(source)
        .rebalance()
        .map(|r| index(r.value.as_deref().unwrap_or_default()).unwrap())
        .filter(|i| i % 2 == 0)
        .flat_map(|i| [i, i + 1])
        .sink(move |_| Collect::new(sink_out.clone()))
        .run()
        .await
        .unwrap();
    let mut got = out.lock().unwrap().clone();
    got.sort_unstable();
    assert_eq!(got, (0..3000).collect::<Vec<u32>>());
    assert_eq!(report.restarts, 0);
    assert!(
        report.checkpoints >= 1,
        "a bounded job ends with a checkpoint: {report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_counts_are_exact_after_kills_and_restarts_from_the_checkpoint_dir() {
    const TOTAL: u32 = 100_000;
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await.unwrap();
    let started = std::time::Instant::now();
    fill(&client, "rt-eo", 4, TOTAL, 10, true).await.unwrap();
    println!("written in {:?}", started.elapsed());
    let dir = temp_dir("kills");
    let store = CheckpointStore::open(&dir).unwrap();
    let mut rng = Seeded::from_env();
    let mut kills = 0;
    let mut resumed_mid_stream = 0;
    let lines = loop {
        let out = Arc::new(Mutex::new(Vec::new()));
        let job = counting_job(
            JobBuilder::new("counts")
                .checkpoint_interval(Duration::from_millis(30))
                .checkpoint_dir(&dir),
            // A small buffer paces the reading (about a hundred fetches per reader), so the job
            // outlasts its first checkpoints however fast the machine and the kills land in it.
            KafkaSource::builder(client.clone(), &["rt-eo"])
                .parallelism(2)
                .group_id("rt-eo-group")
                .stopping_offsets(StoppingOffsets::Latest)
                .max_wait(Duration::from_millis(20))
                .buffer(BufferLimits {
                    max_records: 500,
                    max_bytes: 16 << 10,
                    min_fetch_bytes: 1 << 10,
                })
                .build(),
            None,
            out.clone(),
        );
        let at = checkpointed_offsets(&store);
        println!("run {} starts at {at} of {TOTAL}", kills + 1);
        if at > 0 && at < i64::from(TOTAL) {
            resumed_mid_stream += 1;
        }
        if kills >= 6 {
            job.run().await.unwrap();
            break out.lock().unwrap().clone();
        }
        // Kill the job (drop it, as a killed process stops) a random time after its first
        // checkpoint that made progress, so that each restart resumes further into the stream.
        let run = tokio::spawn(job.run());
        loop {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if run.is_finished() || checkpointed_offsets(&store) > at {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.below(40))).await;
        if run.is_finished() {
            run.await.unwrap().unwrap();
            break out.lock().unwrap().clone();
        }
        run.abort();
        let _ = run.await;
        kills += 1;
    };
    assert_exact_counts(&lines, TOTAL);
    assert!(
        kills >= 1 && resumed_mid_stream >= 1,
        "kills {kills}, resumed mid-stream {resumed_mid_stream}"
    );
    // Committed group offsets equal the last completed checkpoint (the final one: the end).
    let committed = committed_at_checkpoint(&client, &store, "rt-eo-group", "rt-eo", &[0, 1, 2, 3])
        .await
        .unwrap();
    assert_eq!(committed.iter().map(|(_, o)| o).sum::<i64>(), i64::from(TOTAL));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_task_restarts_the_job_from_the_last_checkpoint() {
    const TOTAL: u32 = 6_000;
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await.unwrap();
    fill(&client, "rt-panic", 4, TOTAL, 10, true).await.unwrap();
    let out = Arc::new(Mutex::new(Vec::new()));
    let armed = Arc::new(AtomicBool::new(true));
    let report = counting_job(
        JobBuilder::new("panic")
            .checkpoint_interval(Duration::from_millis(20))
            .restart_policy(RestartPolicy::fixed(3, Duration::from_millis(10))),
        source(&client, "rt-panic", "rt-panic-group"),
        Some((4_000, armed.clone())),
        out.clone(),
    )
    .run()
    .await
    .unwrap();
    assert!(!armed.load(Ordering::SeqCst), "the failure was injected");
    assert_eq!(report.restarts, 1);
    assert_exact_counts(&out.lock().unwrap(), TOTAL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_restart_policy_gives_up_after_its_limit() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await.unwrap();
    fill(&client, "rt-limit", 1, 10, 10, false).await.unwrap();
    let source = KafkaSource::builder(client.clone(), &["rt-limit"])
        .stopping_offsets(StoppingOffsets::Latest)
        .build();
    let err = JobBuilder::new("limit")
        .restart_policy(RestartPolicy::fixed(2, Duration::from_millis(1)))
        .source(source)
        .map(|_| -> u32 { panic!("always fails") })
        .sink(|_| Collect::new(Arc::new(Mutex::new(Vec::new()))))
        .run()
        .await
        .unwrap_err();
    match err {
        JobError::RestartsExhausted { restarts, last } => {
            assert_eq!(restarts, 2);
            assert!(
                matches!(&*last, JobError::Panicked { stage: 0, message, .. } if message == "always fails"),
                "{last}"
            );
        }
        other => panic!("unexpected {other}"),
    }
}

/// An operator that emits `done` when its input ends, and whose state says whether it has.
#[derive(Default)]
struct FinishMark {
    done: bool,
}

impl Operator<SourceRecord, String> for FinishMark {
    fn process(&mut self, _r: SourceRecord, _out: &mut Vec<String>) {}

    fn snapshot(&mut self) -> Vec<u8> {
        vec![u8::from(self.done)]
    }

    fn restore(&mut self, state: &[u8]) {
        self.done = state == [1];
    }

    fn finish(&mut self, out: &mut Vec<String>) {
        self.done = true;
        out.push("done".to_owned());
    }
}

/// Committed output shared by every run: checkpoint ids already committed, and the records.
type Committed = Arc<Mutex<(std::collections::BTreeSet<u64>, Vec<String>)>>;

/// A two-phase sink, as a transactional one works: records wait in the open batch; a barrier
/// pre-commits it under the checkpoint id (and the checkpoint holds it); checkpoint completion
/// commits; a restore commits what its checkpoint pre-committed, once per id; finish commits what
/// is still open.
struct TwoPhase {
    open: Vec<String>,
    prepared: BTreeMap<u64, Vec<String>>,
    committed: Committed,
    /// How long a restore takes (a slow one lets checkpoint triggers queue up meanwhile).
    restore_delay: Duration,
}

impl TwoPhase {
    fn commit(&self, id: Option<u64>, records: Vec<String>) {
        let mut c = self.committed.lock().unwrap();
        if id.is_none_or(|id| c.0.insert(id)) {
            c.1.extend(records);
        }
    }
}

impl Sink<String> for TwoPhase {
    async fn write(&mut self, item: String) -> Result<(), JobError> {
        self.open.push(item);
        Ok(())
    }

    async fn prepare_checkpoint(&mut self, id: u64) -> Result<Vec<u8>, JobError> {
        self.prepared.insert(id, std::mem::take(&mut self.open));
        let mut state = Vec::new();
        for (id, records) in &self.prepared {
            state.push(format!("{id}\t{}", records.join(",")));
        }
        Ok(state.join("\n").into_bytes())
    }

    async fn checkpoint_complete(&mut self, id: u64) -> Result<(), JobError> {
        let later = self.prepared.split_off(&(id + 1));
        for (id, records) in std::mem::replace(&mut self.prepared, later) {
            self.commit(Some(id), records);
        }
        Ok(())
    }

    async fn restore(&mut self, state: Option<Vec<u8>>) -> Result<(), JobError> {
        tokio::time::sleep(self.restore_delay).await;
        for line in String::from_utf8(state.unwrap_or_default()).unwrap().lines() {
            let (id, records) = line.split_once('\t').unwrap();
            let records = records.split(',').filter(|r| !r.is_empty()).map(str::to_owned);
            self.commit(Some(id.parse().unwrap()), records.collect());
        }
        Ok(())
    }

    async fn finish(&mut self) -> Result<(), JobError> {
        let open = std::mem::take(&mut self.open);
        self.commit(None, open);
        Ok(())
    }
}

/// source -> FinishMark -> TwoPhase, with checkpoints in `dir`.
fn finishing_job(client: &Client, topic: &str, dir: &std::path::Path, committed: Committed) -> Job {
    finishing_job_with(client, topic, dir, committed, None, Duration::ZERO)
}

/// [`finishing_job`] with a checkpoint interval and a sink whose restore takes `restore_delay`.
fn finishing_job_with(
    client: &Client,
    topic: &str,
    dir: &std::path::Path,
    committed: Committed,
    interval: Option<Duration>,
    restore_delay: Duration,
) -> Job {
    let source = KafkaSource::builder(client.clone(), &[topic])
        .stopping_offsets(StoppingOffsets::Latest)
        .max_wait(Duration::from_millis(20))
        .build();
    let mut job = JobBuilder::new("finishing").checkpoint_dir(dir);
    if let Some(every) = interval {
        job = job.checkpoint_interval(every);
    }
    job.source(source)
        .process(|_| FinishMark::default())
        .sink(move |_| TwoPhase {
            open: Vec::new(),
            prepared: BTreeMap::new(),
            committed: committed.clone(),
            restore_delay,
        })
}

/// The final checkpoint of a bounded job comes after its operators finished: it holds their state
/// after the finish, and the final outputs are pre-committed in it, so a job started again from it
/// (a crash after the last commit) does not emit them again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_final_checkpoint_holds_the_state_after_finish_and_a_restart_emits_nothing_again() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await.unwrap();
    fill(&client, "rt-final", 1, 50, 10, true).await.unwrap();
    let dir = temp_dir("final");
    let committed: Committed = Arc::default();
    finishing_job(&client, "rt-final", &dir, committed.clone())
        .run()
        .await
        .unwrap();
    let last = CheckpointStore::open(&dir).unwrap().latest().unwrap().unwrap();
    // The source instance's states: offsets, FinishMark's, the sink's.
    assert_eq!(
        last.stages[0][0][1],
        State::new(StateKind::Operator, vec![1]),
        "FinishMark's state after its finish"
    );
    assert_eq!(committed.lock().unwrap().1, vec!["done".to_owned()]);
    // Started again over the same checkpoints, as after a crash right after the final commit.
    finishing_job(&client, "rt-final", &dir, committed.clone())
        .run()
        .await
        .unwrap();
    assert_eq!(
        committed.lock().unwrap().1,
        vec!["done".to_owned()],
        "the final output once"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A checkpoint holds each state with its kind: a job whose chain does not match it (here an
/// operator added before the sink, which would be handed the sink's state) is refused with an
/// error naming both kinds, without a restart, instead of restoring the wrong bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_of_another_job_shape_is_refused_by_the_kinds_of_its_states() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await.unwrap();
    fill(&client, "rt-shape", 1, 20, 10, true).await.unwrap();
    let dir = temp_dir("shape");
    let committed: Committed = Arc::default();
    finishing_job(&client, "rt-shape", &dir, committed.clone())
        .run()
        .await
        .unwrap();
    let source = KafkaSource::builder(client.clone(), &["rt-shape"])
        .stopping_offsets(StoppingOffsets::Latest)
        .max_wait(Duration::from_millis(20))
        .build();
    let err = JobBuilder::new("finishing")
        .checkpoint_dir(&dir)
        .source(source)
        .process(|_| FinishMark::default())
        .map(|line: String| line)
        .sink(move |_| TwoPhase {
            open: Vec::new(),
            prepared: BTreeMap::new(),
            committed: committed.clone(),
            restore_delay: Duration::ZERO,
        })
        .run()
        .await
        .unwrap_err();
    match &err {
        JobError::StateMismatch { expected, found } => {
            assert_eq!(
                (*expected, *found),
                (StateKind::Operator, StateKind::Sink),
                "{err}"
            );
        }
        other => panic!("expected the checkpoint to be refused, got {other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A job started again from its final checkpoint is finished from the start: every checkpoint it
/// takes says so, including one triggered while its restore was still running, so a crash before
/// the job ends again cannot make its operators finish (and emit) a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_after_a_restore_from_the_final_one_say_the_task_finished() {
    let broker = LocalBroker::start_or_fail();
    let client = client(&broker).await.unwrap();
    fill(&client, "rt-refinal", 1, 50, 10, true).await.unwrap();
    let dir = temp_dir("refinal");
    let committed: Committed = Arc::default();
    finishing_job(&client, "rt-refinal", &dir, committed.clone())
        .run()
        .await
        .unwrap();
    let store = CheckpointStore::open(&dir).unwrap();
    let final_id = store.latest().unwrap().unwrap().id;
    // Restarted with a checkpoint interval far shorter than its sink's restore.
    finishing_job_with(
        &client,
        "rt-refinal",
        &dir,
        committed.clone(),
        Some(Duration::from_millis(5)),
        Duration::from_millis(300),
    )
    .run()
    .await
    .unwrap();
    let mut later = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(snapshot) = kwire_connector::runtime::Snapshot::from_bytes(&std::fs::read(&path).unwrap())
        else {
            continue;
        };
        if snapshot.id > final_id {
            later += 1;
            assert!(
                snapshot.finished.iter().flatten().all(|f| *f),
                "checkpoint {} after the restore: {:?}",
                snapshot.id,
                snapshot.finished
            );
        }
    }
    assert!(later >= 1, "the restarted job took no checkpoint");
    assert_eq!(
        committed.lock().unwrap().1,
        vec!["done".to_owned()],
        "the final output once"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
