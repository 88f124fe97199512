//! kwire in the job benchmark (peer-bench/flink.sh): the bounded count job of
//! peer-bench/flink/src/main/java/FlinkCountJob.java, on kwire's local runner or on
//! timely-dataflow.
//!
//! ```text
//! kwire-job --bootstrap H:P --topic T --records N --engine local|timely --parallelism P
//! ```
//!
//! The job: a `KafkaSource` reads the topic from the earliest offsets to the end offsets as they
//! are when the job starts (`StoppingOffsets::Latest`, a bounded read), and a sink counts the
//! records and drops them; a checkpoint every second, into a fresh directory.
//!
//! - `--engine local`: `runtime::JobBuilder` with `parallelism(P)` and a source of parallelism
//!   P; the source and the sink of an instance run chained in one tokio task, on a multi-thread
//!   tokio runtime with tokio's default worker count (one per core).
//! - `--engine timely`: `cluster::execute` on `Cluster::local(P)` (P worker threads), with
//!   `cluster::kafka_source`, an `inspect` that counts, and `cluster::commit_point`.
//!
//! Everything else is the source's defaults: fetch max wait 100 ms, fetch min bytes 1, 1 MiB per
//! partition per fetch, a buffer of 16 MiB and 10,000 records per reader (the most a fetch asks
//! for is the room left in it), no group id (so no offset commits), partition discovery every 30 s.
//! `--buffer-mib N` sets the buffer's bytes instead, for diagnosis (flink.sh does not use it).
//!
//! Prints one line on stdout (the shape of the Flink job's):
//!
//! ```text
//! RESULT client=kwire-local phase=job parallelism=P records=N secs=S rec_s=R
//! ```
//!
//! The clock: local, from just before the job is built (the client connected) to the end of
//! `Job::run`; timely, from just before `cluster::execute` (which starts the worker threads, and
//! where each worker connects its client) to its return. Both include the job's start, as the
//! Flink job's clock includes the MiniCluster's. Exits 1 unless exactly `--records` records were
//! counted, 2 on a bad command line.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kwire_connector::client::Client;
use kwire_connector::cluster::timely::dataflow::operators::Inspect;
use kwire_connector::cluster::{self, Checkpointing, Cluster, ClusterError, SharedDir};
use kwire_connector::core::fetch_plan::BufferLimits;
use kwire_connector::runtime::{JobBuilder, JobError, Sink};
use kwire_connector::source::{KafkaSource, SourceRecord, StartingOffsets, StoppingOffsets};

/// Both engines checkpoint this often, as the Flink job does.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Local,
    Timely,
}

#[derive(Clone)]
struct Args {
    bootstrap: String,
    topic: String,
    records: u64,
    engine: Engine,
    parallelism: usize,
    /// `--buffer-mib`: the source's buffer bytes per reader, for diagnosis only (the benchmark
    /// runs with the default).
    buffer_mib: Option<usize>,
}

fn main() {
    let args = parse();
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let dir = checkpoint_dir();
    let run = match args.engine {
        Engine::Local => run_local(&args, &dir),
        Engine::Timely => run_timely(&args, &dir),
    };
    let _ = std::fs::remove_dir_all(&dir);
    let (records, elapsed) = run.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1)
    });
    let client = match args.engine {
        Engine::Local => "kwire-local",
        Engine::Timely => "kwire-timely",
    };
    let secs = elapsed.as_secs_f64();
    println!(
        "RESULT client={client} phase=job parallelism={} records={records} secs={secs:.3} rec_s={:.0}",
        args.parallelism,
        records as f64 / secs
    );
    if records != args.records {
        eprintln!("error: counted {records} records, expected {}", args.records);
        std::process::exit(1);
    }
}

/// A fresh directory for this run's checkpoints.
fn checkpoint_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!("kwire-job-{}-{nanos}", std::process::id()))
}

/// The bounded source: every partition of the topic from its earliest offset to its end as the
/// job starts; otherwise the source's defaults.
fn source(client: Client, args: &Args) -> KafkaSource {
    let mut source = KafkaSource::builder(client, &[args.topic.as_str()])
        .parallelism(args.parallelism)
        .starting_offsets(StartingOffsets::Earliest)
        .stopping_offsets(StoppingOffsets::Latest);
    if let Some(mib) = args.buffer_mib {
        source = source.buffer(BufferLimits {
            max_bytes: mib << 20,
            ..BufferLimits::default()
        });
    }
    source.build()
}

/// The local runner, on a multi-thread tokio runtime with tokio's defaults.
fn run_local(args: &Args, dir: &PathBuf) -> Result<(u64, Duration), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    runtime.block_on(async {
        let client = Client::builder()
            .bootstrap(&args.bootstrap)
            .build()
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let counted = Arc::new(AtomicU64::new(0));
        let total = counted.clone();
        let started = Instant::now();
        JobBuilder::new("count")
            .checkpoint_interval(CHECKPOINT_INTERVAL)
            .checkpoint_dir(dir)
            .parallelism(args.parallelism)
            .source(source(client, args))
            .sink(move |_| Count {
                seen: 0,
                total: total.clone(),
            })
            .run()
            .await
            .map_err(|e| format!("job: {e}"))?;
        Ok((counted.load(Ordering::Relaxed), started.elapsed()))
    })
}

/// Counts records and drops them. Each instance counts in a field of its own and adds to the
/// shared total at each checkpoint and at the end, so instances do not share a counter per record
/// (the Flink job's sink does the same).
struct Count {
    seen: u64,
    total: Arc<AtomicU64>,
}

impl Count {
    fn publish(&mut self) {
        self.total
            .fetch_add(std::mem::take(&mut self.seen), Ordering::Relaxed);
    }
}

impl Sink<SourceRecord> for Count {
    async fn write(&mut self, _: SourceRecord) -> Result<(), JobError> {
        self.seen += 1;
        Ok(())
    }

    async fn prepare_checkpoint(&mut self, _: u64) -> Result<Vec<u8>, JobError> {
        self.publish();
        Ok(Vec::new())
    }

    async fn finish(&mut self) -> Result<(), JobError> {
        self.publish();
        Ok(())
    }
}

/// Timely-dataflow with `parallelism` worker threads in this process; a worker counts each
/// container of records as it passes (one atomic add per container of up to 4,096 records).
fn run_timely(args: &Args, dir: &PathBuf) -> Result<(u64, Duration), String> {
    let store = SharedDir::open(dir).map_err(|e| format!("checkpoint directory: {e}"))?;
    let counted = Arc::new(AtomicU64::new(0));
    let total = counted.clone();
    let job = args.clone();
    let started = Instant::now();
    cluster::execute(
        Cluster::local(args.parallelism),
        Checkpointing::new(store, CHECKPOINT_INTERVAL),
        move |worker, ctx| {
            let client = ctx
                .block_on(Client::builder().bootstrap(&job.bootstrap).build())
                .unwrap_or_else(|e| ctx.fail(ClusterError::Config(format!("connect: {e}"))));
            let source = source(client, &job);
            let total = total.clone();
            worker.dataflow::<u64, _, _>(|scope| {
                let records = cluster::kafka_source(scope, ctx, &source);
                let counted = records.inspect_core(move |event| {
                    if let Ok((_, batch)) = event {
                        total.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    }
                });
                cluster::commit_point(counted, ctx);
            });
        },
    )
    .map_err(|e| format!("job: {e}"))?;
    Ok((counted.load(Ordering::Relaxed), started.elapsed()))
}

fn parse() -> Args {
    let mut a = Args {
        bootstrap: "127.0.0.1:19092".to_owned(),
        topic: "peer-bench".to_owned(),
        records: 0,
        engine: Engine::Local,
        parallelism: 1,
        buffer_mib: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            usage(&format!("{flag} needs a value"))
        };
        let num = |v: &str| -> u64 {
            v.parse()
                .unwrap_or_else(|_| usage(&format!("bad number for {flag}: {v}")))
        };
        match flag.as_str() {
            "--bootstrap" => a.bootstrap = value,
            "--topic" => a.topic = value,
            "--records" => a.records = num(&value),
            "--parallelism" => a.parallelism = (num(&value) as usize).max(1),
            "--buffer-mib" => a.buffer_mib = Some((num(&value) as usize).max(1)),
            "--engine" => {
                a.engine = match value.as_str() {
                    "local" => Engine::Local,
                    "timely" => Engine::Timely,
                    _ => usage(&format!("--engine is local or timely, not {value}")),
                }
            }
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    a
}

fn usage(msg: &str) -> ! {
    eprintln!(
        "error: {msg}\nusage: kwire-job [--bootstrap H:P] [--topic T] --records N [--engine local|timely] \
         [--parallelism P] [--buffer-mib MIB]"
    );
    std::process::exit(2)
}
