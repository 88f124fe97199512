//! Helpers shared by the test binaries that run a job against a broker: the exactly-once run
//! through kills, against the embedded broker (sink.rs) and the fake cluster (fake_eos.rs).

#![allow(dead_code)]

use std::time::Duration;

use kwire_connector::client::{Client, IsolationLevel, ProducerRecord};
use kwire_connector::runtime::{CheckpointStore, JobBuilder, JobError, RestartPolicy};
use kwire_connector::sink::{DeliveryGuarantee, KafkaSink, Partitioner};
use kwire_connector::source::{KafkaSource, SourceRecord, StoppingOffsets};
use kwire_testkit::data::{checkpointed_offsets, fill, index, until_settled, Seeded};

/// The record `r`'s value, to `topic`.
pub(crate) fn copy_value(topic: &str, r: SourceRecord) -> ProducerRecord {
    ProducerRecord::new(topic, r.value.unwrap_or_default())
}

/// How an exactly-once run through kills goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KillRun {
    /// Records in the input topic.
    pub(crate) total: u32,
    /// How often the job is killed before it may run to the end.
    pub(crate) kills: u32,
    /// The seed of the kill times.
    pub(crate) seed: u64,
    /// Whether the input is written one record per batch (tansu cannot fetch from inside one).
    pub(crate) one_per_batch: bool,
    /// The longest wait after a checkpoint made progress before the kill.
    pub(crate) max_kill_delay_ms: u64,
}

/// When [`exactly_once_through_kills`] calls its hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Moment {
    /// Before the i-th run of the job starts (to arm faults).
    BeforeRun(u32),
    /// The last run ended; the verification read comes next (to read fault counters and stop
    /// faults, so that only what played while the job ran counts).
    JobEnded,
}

/// Source -> rebalance -> exactly-once sink, killed (dropped) a random time after checkpoints
/// that made progress, `kills` times, then run to the end. `hook` runs at each [`Moment`].
/// Returns, per input record, how often a read_committed read of the output holds it, and how
/// many kills landed; or the job's error.
pub(crate) async fn exactly_once_through_kills(
    client: &Client,
    run: KillRun,
    hook: &mut dyn FnMut(Moment),
) -> Result<(Vec<u32>, u32), String> {
    let KillRun {
        total,
        kills,
        seed,
        one_per_batch,
        max_kill_delay_ms,
    } = run;
    fill(client, "eo-in", 4, total, 10, one_per_batch).await.unwrap();
    client.create_topic("eo-out", 4, 1).await.unwrap();
    let dir = std::env::temp_dir().join(format!("kwire-sink-eo-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = CheckpointStore::open(&dir).unwrap();
    let mut rng = Seeded::new(seed);
    let job = || {
        let source = KafkaSource::builder(client.clone(), &["eo-in"])
            .parallelism(2)
            .stopping_offsets(StoppingOffsets::Latest)
            .max_wait(Duration::from_millis(10))
            .build();
        let sink = KafkaSink::new(client.clone(), "eo-out", copy_value)
            .partitioner(Partitioner::RoundRobin)
            .delivery(DeliveryGuarantee::ExactlyOnce)
            .transactional_id_prefix("eo-test");
        JobBuilder::new("eo")
            .checkpoint_interval(Duration::from_millis(30))
            .checkpoint_dir(&dir)
            .restart_policy(RestartPolicy::fixed(2, Duration::from_millis(10)))
            .parallelism(2)
            .source(source)
            .rebalance()
            .sink(move |ctx| sink.writer(ctx))
    };
    let mut killed = 0;
    let result: Result<_, JobError> = loop {
        if killed >= kills {
            break job().run().await;
        }
        hook(Moment::BeforeRun(killed));
        let at = checkpointed_offsets(&store);
        let run = tokio::spawn(job().run());
        while !run.is_finished() && checkpointed_offsets(&store) <= at {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.below(max_kill_delay_ms))).await;
        if run.is_finished() {
            break run.await.unwrap();
        }
        run.abort();
        let _ = run.await;
        killed += 1;
    };
    hook(Moment::JobEnded);
    let _ = std::fs::remove_dir_all(&dir);
    result.map_err(|e| e.to_string())?;
    println!("killed {killed} times");
    until_settled(client, "eo-out", Duration::from_secs(30)).await?;
    let source = KafkaSource::builder(client.clone(), &["eo-out"])
        .isolation(IsolationLevel::ReadCommitted)
        .stopping_offsets(StoppingOffsets::Latest)
        .max_wait(Duration::from_millis(10))
        .build();
    let mut reader = source.reader(0, None).await.unwrap();
    let mut seen = vec![0u32; total as usize];
    while let Some(r) = reader.next().await {
        seen[index(r.unwrap().value.as_deref().unwrap()).unwrap() as usize] += 1;
    }
    Ok((seen, killed))
}
