//! Exactly-once state: reads topic `words` (10,000 records over ten words; written first if the
//! topic is new), counts records per word in operator state that checkpoints carry, and prints the
//! final counts. Kill it at any point and start it again: it resumes from its last checkpoint in
//! `--checkpoint-dir`, and the final counts are exactly 1000 per word.
//!
//! ```sh
//! cargo run --release -p kwire-testkit --bin kwire -- broker           # in one terminal
//! cargo run --release -p kwire-connector --example exactly_once -- --kill-after-ms 300
//! cargo run --release -p kwire-connector --example exactly_once        # resumes, prints counts
//! ```

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use kwire_connector::client::{Client, ProducerRecord};
use kwire_connector::runtime::sinks::Print;
use kwire_connector::runtime::{JobBuilder, Operator};
use kwire_connector::source::{KafkaSource, StoppingOffsets};

const WORDS: [&str; 10] = [
    "apple", "birch", "cedar", "delta", "ember", "fjord", "grove", "heron", "iris", "juniper",
];
const RECORDS: usize = 10_000;

/// A running count per word; the state is `word count` lines.
#[derive(Default)]
struct Counts(BTreeMap<String, u64>);

impl Operator<String, String> for Counts {
    fn process(&mut self, word: String, _out: &mut Vec<String>) {
        *self.0.entry(word).or_default() += 1;
    }

    fn snapshot(&mut self) -> Vec<u8> {
        self.0
            .iter()
            .map(|(w, c)| format!("{w} {c}\n"))
            .collect::<String>()
            .into_bytes()
    }

    fn restore(&mut self, state: &[u8]) {
        self.0 = String::from_utf8_lossy(state)
            .lines()
            .filter_map(|l| {
                let (w, c) = l.split_once(' ')?;
                Some((w.to_owned(), c.parse().ok()?))
            })
            .collect();
    }

    fn finish(&mut self, out: &mut Vec<String>) {
        out.extend(self.0.iter().map(|(w, c)| format!("{w}: {c}")));
    }
}

#[tokio::main]
async fn main() {
    let (bootstrap, rest) = common::args();
    let kill_after: Option<u64> = common::flag(&rest, "--kill-after-ms");
    let dir: PathBuf =
        common::flag(&rest, "--checkpoint-dir").unwrap_or_else(|| "target/kwire-exactly-once".into());
    if let Err(e) = run(&bootstrap, kill_after, dir).await {
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

async fn run(
    bootstrap: &str,
    kill_after: Option<u64>,
    dir: PathBuf,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::builder().bootstrap(bootstrap).build().await?;
    fill(&client).await?;
    let source = KafkaSource::builder(client, &["words"])
        .parallelism(2)
        .group_id("exactly-once-example")
        .stopping_offsets(StoppingOffsets::Latest)
        .build();
    let job = JobBuilder::new("exactly_once")
        .checkpoint_interval(Duration::from_millis(50))
        .checkpoint_dir(&dir)
        .source(source)
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .key_by(|w| w.clone())
        .process(|_| Counts::default())
        .sink(|_| Print::stdout());
    let Some(ms) = kill_after else {
        let report = job.run().await?;
        eprintln!("done: {report:?}");
        return Ok(());
    };
    tokio::select! {
        report = job.run() => { eprintln!("done before the kill: {:?}", report?); }
        _ = tokio::time::sleep(Duration::from_millis(ms)) => {
            eprintln!("killed after {ms} ms; run again to resume from the last checkpoint in {}", dir.display());
            std::process::exit(137);
        }
    }
    Ok(())
}
