//! `eos_job`: the exactly-once job the kill tests run in a child process, and that anyone can run
//! by hand to replay one. It reads a topic filled by `kwire_testkit::data::fill` (values
//! `"<i>:..."`), counts the records per key `i % 10` in operator state that checkpoints carry, and
//! writes every new count as `key n` to the output topic through the exactly-once Kafka sink (one
//! transaction per checkpoint and sink instance). Killed at any point (SIGKILL) and started again
//! with the same arguments, it resumes from its last checkpoint in `--checkpoint-dir`: a
//! read_committed reader of the output sees `key 1` to `key N/10` of every key exactly once.
//!
//! ```sh
//! cargo run -p kwire-testkit --bin eos_job -- --bootstrap 127.0.0.1:9092 \
//!     --input numbers --output counts --checkpoint-dir target/eos-job
//! ```
//!
//! On success it prints one line, `eos_job: finished: ...`, and exits 0; on an error it prints
//! `eos_job: error: ...` and exits 1.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use kwire_connector::client::Client;
use kwire_connector::core::fetch_plan::BufferLimits;
use kwire_connector::runtime::{JobBuilder, Operator};
use kwire_connector::sink::{DeliveryGuarantee, KafkaSink};
use kwire_connector::source::{KafkaSource, StoppingOffsets};
use kwire_testkit::data::index;

/// The keys records are counted under: record `i` counts for key `i % KEYS`, a record without a
/// number for key `KEYS`.
const KEYS: u32 = 10;

/// Counts records per key, exactly once, from a topic to a topic.
#[derive(Debug, Parser)]
#[command(name = "eos_job")]
struct Args {
    /// The broker, HOST:PORT.
    #[arg(long)]
    bootstrap: String,
    /// The topic read (to its end offsets at the start of the run).
    #[arg(long)]
    input: String,
    /// The topic the counts are written to, exactly once (it must exist).
    #[arg(long)]
    output: String,
    /// Where checkpoints are kept; a run resumes from the newest one here.
    #[arg(long, value_name = "DIR")]
    checkpoint_dir: PathBuf,
    /// The transactional id prefix of the sink and the group id of the source.
    #[arg(long, default_value = "eos-job")]
    prefix: String,
    /// How often a checkpoint is taken, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    checkpoint_ms: u64,
    /// At most this many records per second over the job (0: as fast as it goes), so that a run
    /// lasts long enough for kills to land in it.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pace: u64,
}

/// Records between two pauses of a paced job.
const PACE_STEP: u64 = 100;

/// A running count per key; every record emits the key's new count as `key n`.
#[derive(Default)]
struct Counts {
    counts: BTreeMap<u32, u64>,
}

impl Operator<u32, String> for Counts {
    fn process(&mut self, key: u32, out: &mut Vec<String>) {
        let n = self.counts.entry(key).or_default();
        *n += 1;
        out.push(format!("{key} {n}"));
    }

    fn snapshot(&mut self) -> Vec<u8> {
        self.counts
            .iter()
            .map(|(k, n)| format!("{k} {n}\n"))
            .collect::<String>()
            .into_bytes()
    }

    fn restore(&mut self, state: &[u8]) {
        self.counts = String::from_utf8_lossy(state)
            .lines()
            .filter_map(|l| {
                let (k, n) = l.split_once(' ')?;
                Some((k.parse().ok()?, n.parse().ok()?))
            })
            .collect();
    }
}

async fn run(args: Args) -> Result<String, Box<dyn std::error::Error>> {
    let client = Client::builder().bootstrap(&args.bootstrap).build().await?;
    // A small buffer paces the reading, so that a run lasts long enough for kills to land in it.
    let source = KafkaSource::builder(client.clone(), &[args.input.as_str()])
        .parallelism(2)
        .group_id(&args.prefix)
        .stopping_offsets(StoppingOffsets::Latest)
        .max_wait(Duration::from_millis(20))
        .buffer(BufferLimits {
            max_records: 500,
            max_bytes: 16 << 10,
            min_fetch_bytes: 1 << 10,
        })
        .build();
    let sink = KafkaSink::strings(client.clone(), &args.output)
        .delivery(DeliveryGuarantee::ExactlyOnce)
        .transactional_id_prefix(&args.prefix);
    let handled = Arc::new(AtomicU64::new(0));
    let pace = args.pace;
    let report = JobBuilder::new("eos_job")
        .parallelism(2)
        .checkpoint_interval(Duration::from_millis(args.checkpoint_ms))
        .checkpoint_dir(&args.checkpoint_dir)
        .source(source)
        // A record without a number is counted under key KEYS, where a check of the output sees it.
        .map(move |r| {
            // Pacing: a pause of PACE_STEP records' time every PACE_STEP records. It blocks its
            // worker thread, of which the runtime has enough for the rest of the job.
            if pace > 0 && handled.fetch_add(1, Ordering::Relaxed).is_multiple_of(PACE_STEP) {
                std::thread::sleep(Duration::from_micros(PACE_STEP * 1_000_000 / pace));
            }
            index(r.value.as_deref().unwrap_or_default()).map_or(KEYS, |i| i % KEYS)
        })
        .key_by(|k| *k)
        .process(|_| Counts::default())
        .sink(move |ctx| sink.writer(ctx))
        .run()
        .await?;
    Ok(format!(
        "{} checkpoints in this run, the last {}",
        report.checkpoints,
        report
            .last_checkpoint
            .map_or_else(|| "none".to_owned(), |c| c.to_string())
    ))
}

// Worker threads to spare for a paced job, whose map pauses block theirs.
#[tokio::main(flavor = "multi_thread", worker_threads = 8)]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(summary) => {
            println!("eos_job: finished: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("eos_job: error: {e}");
            ExitCode::FAILURE
        }
    }
}
