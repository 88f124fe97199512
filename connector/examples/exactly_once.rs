//! Exactly-once state: reads topic `words` (10,000 records over ten words; written first if the
//! topic is new), counts records per word in operator state that checkpoints carry, and prints the
//! final counts. Kill it at any point and start it again: it resumes from its last checkpoint in
//! `--checkpoint-dir`, and the final counts are exactly 1000 per word. `--kill-after N` paces the
//! run (about 2,000 records/s) and makes the process stop dead (exit 137, nothing flushed or
//! closed, as in a crash) once it has handled N records and completed a checkpoint of its own, so
//! the kill lands mid-stream however fast the machine, and the next run resumes past where this
//! one started.
//!
//! ```sh
//! cargo run --release -p kwire-testkit --bin kwire -- broker           # in one terminal
//! cargo run --release -p kwire-connector --example exactly_once -- --kill-after 3000
//! cargo run --release -p kwire-connector --example exactly_once        # resumes, prints counts
//! ```
//!
//! Kafka -> count -> Kafka, exactly-once on both ends: with `--output-topic T` every update
//! (`word n`) goes to topic `T` through the Kafka sink in transactions (one per checkpoint,
//! committed when the checkpoint completes). Killed and restarted any number of times, a
//! read_committed reader of `T` sees `word 1` to `word 1000` of each word exactly once: the run that
//! finishes reads `T` back and checks it. This needs a broker with transactions (EndTxn), such as
//! Apache Kafka or `kwire broker --fake`; the embedded tansu broker has none.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kwire_connector::client::{Client, Consumer, IsolationLevel, ProducerRecord, StartOffset};
use kwire_connector::runtime::sinks::Print;
use kwire_connector::runtime::{CheckpointStore, JobBuilder, Operator, Sink, SinkContext};
use kwire_connector::sink::{DeliveryGuarantee, KafkaSink, KafkaSinkWriter};
use kwire_connector::source::{KafkaSource, StoppingOffsets};

const WORDS: [&str; 10] = [
    "apple", "birch", "cedar", "delta", "ember", "fjord", "grove", "heron", "iris", "juniper",
];
const RECORDS: usize = 10_000;

/// A running count per word; the state is `word count` lines. With `updates`, every new count
/// is emitted as `word n`; otherwise the final counts are, at the end.
#[derive(Default)]
struct Counts {
    counts: BTreeMap<String, u64>,
    updates: bool,
}

impl Operator<String, String> for Counts {
    fn process(&mut self, word: String, out: &mut Vec<String>) {
        let n = self.counts.entry(word.clone()).or_default();
        *n += 1;
        if self.updates {
            out.push(format!("{word} {n}"));
        }
    }

    fn snapshot(&mut self) -> Vec<u8> {
        self.counts
            .iter()
            .map(|(w, c)| format!("{w} {c}\n"))
            .collect::<String>()
            .into_bytes()
    }

    fn restore(&mut self, state: &[u8]) {
        self.counts = String::from_utf8_lossy(state)
            .lines()
            .filter_map(|l| {
                let (w, c) = l.split_once(' ')?;
                Some((w.to_owned(), c.parse().ok()?))
            })
            .collect();
    }

    fn finish(&mut self, out: &mut Vec<String>) {
        if !self.updates {
            out.extend(self.counts.iter().map(|(w, c)| format!("{w}: {c}")));
        }
    }
}

#[tokio::main]
async fn main() {
    let (bootstrap, rest) = common::args();
    let kill_after: Option<u64> = common::flag(&rest, "--kill-after");
    let dir: PathBuf =
        common::flag(&rest, "--checkpoint-dir").unwrap_or_else(|| "target/kwire-exactly-once".into());
    let output: Option<String> = common::flag(&rest, "--output-topic");
    if let Err(e) = run(&bootstrap, kill_after, dir, output).await {
        eprintln!("exactly_once: {bootstrap}: {e}");
        std::process::exit(1);
    }
}

async fn fill(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
    if client.list_topics().await?.iter().any(|t| t == "words") {
        return Ok(());
    }
    client.create_topic("words", 4, 1).await?;
    // One record per batch, so that any offset can be resumed from on every broker.
    let producer = client
        .producer()
        .batch_size(1)
        .linger(Duration::ZERO)
        .build()
        .await?;
    for i in 0..RECORDS {
        producer
            .send(ProducerRecord::new("words", WORDS[i % WORDS.len()]))
            .await?;
    }
    producer.close().await?;
    eprintln!("wrote {RECORDS} records to topic words");
    Ok(())
}

/// Where the job's output goes: printed, or a topic written exactly once.
enum Output {
    Print(Print),
    Kafka(Box<KafkaSinkWriter<String>>),
}

impl Sink<String> for Output {
    async fn write(&mut self, line: String) -> Result<(), kwire_connector::runtime::JobError> {
        match self {
            Self::Print(p) => p.write(line).await,
            Self::Kafka(k) => k.write(line).await,
        }
    }

    async fn prepare_checkpoint(&mut self, id: u64) -> Result<Vec<u8>, kwire_connector::runtime::JobError> {
        match self {
            Self::Print(p) => Sink::<String>::prepare_checkpoint(p, id).await,
            Self::Kafka(k) => k.prepare_checkpoint(id).await,
        }
    }

    async fn checkpoint_complete(&mut self, id: u64) -> Result<(), kwire_connector::runtime::JobError> {
        match self {
            Self::Print(p) => Sink::<String>::checkpoint_complete(p, id).await,
            Self::Kafka(k) => k.checkpoint_complete(id).await,
        }
    }

    async fn restore(&mut self, state: Option<Vec<u8>>) -> Result<(), kwire_connector::runtime::JobError> {
        match self {
            Self::Print(p) => Sink::<String>::restore(p, state).await,
            Self::Kafka(k) => k.restore(state).await,
        }
    }

    async fn finish(&mut self) -> Result<(), kwire_connector::runtime::JobError> {
        match self {
            Self::Print(p) => Sink::<String>::finish(p).await,
            Self::Kafka(k) => k.finish().await,
        }
    }
}

/// Reads `topic` whole with read_committed and checks that every word has the updates 1 to 1000
/// exactly once.
async fn verify(client: &Client, topic: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut seen: BTreeMap<String, BTreeMap<u64, u32>> = BTreeMap::new();
    let mut total = 0u64;
    for p in client.topic(topic).await?.partitions.iter().map(|p| p.id) {
        // A coordinator writes a transaction's markers after it answered EndTxn: the last
        // transaction is readable once the last stable offset reaches the end.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let end = loop {
            let stable = client.end_offset(topic, p, IsolationLevel::ReadCommitted).await?;
            if stable
                >= client
                    .end_offset(topic, p, IsolationLevel::ReadUncommitted)
                    .await?
            {
                break stable;
            }
            if std::time::Instant::now() > deadline {
                return Err(format!("{topic}/{p}: a transaction is still open after 30 s").into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let mut consumer = Consumer::builder(client.clone())
            .isolation(IsolationLevel::ReadCommitted)
            .max_wait(Duration::from_millis(10))
            .build();
        consumer.assign(topic, p, StartOffset::Earliest).await?;
        consumer.stop_at(topic, p, end);
        while let Some(batch) = consumer.next_batch().await {
            for r in &batch?.records {
                let line = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned();
                let (word, n) = line.split_once(' ').ok_or("a malformed update")?;
                *seen
                    .entry(word.to_owned())
                    .or_default()
                    .entry(n.parse()?)
                    .or_default() += 1;
                total += 1;
            }
        }
    }
    let per_word = (RECORDS / WORDS.len()) as u64;
    let mut wrong = Vec::new();
    for word in WORDS {
        let counts = seen.remove(word).unwrap_or_default();
        for n in 1..=per_word {
            match counts.get(&n) {
                Some(1) => {}
                Some(k) => wrong.push(format!("{word} {n} seen {k} times")),
                None => wrong.push(format!("{word} {n} missing")),
            }
        }
        if counts.keys().any(|n| *n > per_word) {
            wrong.push(format!("{word} counted past {per_word}"));
        }
    }
    wrong.extend(seen.keys().map(|w| format!("unexpected word {w}")));
    if wrong.is_empty() {
        println!("{topic}: {total} updates read with read_committed, each exactly once");
        Ok(())
    } else {
        let shown: Vec<_> = wrong.iter().take(10).cloned().collect();
        Err(format!(
            "{topic}: {} problems in {total} updates: {}",
            wrong.len(),
            shown.join("; ")
        )
        .into())
    }
}

async fn run(
    bootstrap: &str,
    kill_after: Option<u64>,
    dir: PathBuf,
    output: Option<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::builder().bootstrap(bootstrap).build().await?;
    fill(&client).await?;
    let sink = match &output {
        Some(topic) => {
            if !client.list_topics().await?.iter().any(|t| t == topic) {
                client.create_topic(topic, 2, 1).await?;
            }
            Some(
                KafkaSink::strings(client.clone(), topic)
                    .delivery(DeliveryGuarantee::ExactlyOnce)
                    .transactional_id_prefix("exactly-once-example"),
            )
        }
        None => None,
    };
    let updates = sink.is_some();
    let source = KafkaSource::builder(client.clone(), &["words"])
        .parallelism(2)
        .group_id("exactly-once-example")
        .stopping_offsets(StoppingOffsets::Latest)
        .build();
    let handled = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&handled);
    let shown_dir = dir.clone();
    // The kill waits for a checkpoint of this run, so that the next run resumes past it.
    let store = CheckpointStore::open(&dir)?;
    let newest = |store: &CheckpointStore| store.ids().ok().and_then(|ids| ids.last().copied());
    let first = newest(&store);
    let job = JobBuilder::new("exactly_once")
        .checkpoint_interval(Duration::from_millis(50))
        .checkpoint_dir(&dir)
        .source(source)
        .map(move |r| {
            // The kill: the process ends here, in the middle of the stream, as in a crash.
            let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
            if kill_after.is_some() && n.is_multiple_of(20) {
                // Paced to about 2,000 records/s, so that checkpoints complete while it runs.
                tokio::task::block_in_place(|| std::thread::sleep(Duration::from_millis(10)));
            }
            let due = kill_after.is_some_and(|k| n >= k && n.is_multiple_of(20));
            if due && newest(&store) > first {
                eprintln!(
                    "killed after {n} records; run again to resume from the last checkpoint in {}",
                    shown_dir.display()
                );
                std::process::exit(137);
            }
            String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned()
        })
        .key_by(|w| w.clone())
        .process(move |_| Counts {
            updates,
            ..Counts::default()
        })
        .sink(move |ctx: SinkContext| match &sink {
            Some(s) => Output::Kafka(Box::new(s.writer(ctx))),
            None => Output::Print(Print::stdout()),
        });
    let report = job.run().await?;
    eprintln!(
        "done: {} records handled in this run, {} checkpoints, the last {}",
        handled.load(Ordering::Relaxed),
        report.checkpoints,
        report
            .last_checkpoint
            .map_or_else(|| "none".to_owned(), |c| c.to_string())
    );
    if let Some(topic) = &output {
        verify(&client, topic).await?;
    }
    Ok(())
}
