//! Reads topic `test` with a given parallelism, spreads the records over all instances with
//! `rebalance()`, prefixes every string and prints it. Lines typed into `kwire produce test` show
//! up at once.
//!
//! ```sh
//! cargo run --release -p kwire-testkit --bin kwire -- broker          # in one terminal
//! cargo run --release -p kwire-connector --example read_from_kafka -- 3
//! cargo run --release -p kwire-testkit --bin kwire -- produce test    # type lines here
//! ```

mod common;

use std::time::Duration;

use kwire_connector::runtime::sinks::Print;
use kwire_connector::runtime::JobBuilder;
use kwire_connector::source::{KafkaSource, StartingOffsets};

#[tokio::main]
async fn main() {
    let (bootstrap, rest) = common::args();
    let parallelism: usize = rest.first().and_then(|p| p.parse().ok()).unwrap_or(2);
    let client = match common::client_with_topic(&bootstrap, "test", 3).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("read_from_kafka: {bootstrap}: {e}");
            std::process::exit(1);
        }
    };
    let source = KafkaSource::builder(client, &["test"])
        .parallelism(parallelism)
        .starting_offsets(StartingOffsets::Latest)
        .max_wait(Duration::from_millis(20))
        .partition_discovery(Some(Duration::from_secs(5)))
        .build();
    let job = JobBuilder::new("read_from_kafka")
        .checkpoint_interval(Duration::from_secs(5))
        .source(source)
        .rebalance()
        .map(|r| {
            let text = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned();
            format!("Kafka and kwire says: {text}")
        })
        .sink(|_| Print::stdout());
    eprintln!("reading topic test with parallelism {parallelism} from {bootstrap}; Ctrl-C stops");
    if let Err(e) = job.run().await {
        eprintln!("read_from_kafka: {e}");
        std::process::exit(1);
    }
}
