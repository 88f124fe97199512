//! A job on the local runner: reads topic `greetings` with parallelism 3 up to its current end,
//! spreads the records over the instances with `rebalance()`, prefixes each value and prints it.
//!
//! `KWIRE_BOOTSTRAP=127.0.0.1:9092 cargo run -p kwire-connector --example prefix_job`

use kwire_connector::client::Client;
use kwire_connector::runtime::sinks::Print;
use kwire_connector::runtime::JobBuilder;
use kwire_connector::source::{KafkaSource, StartingOffsets, StoppingOffsets};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bootstrap = std::env::var("KWIRE_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let client = Client::builder().bootstrap(&bootstrap).build().await?;
    let source = KafkaSource::builder(client, &["greetings"])
        .parallelism(3)
        .starting_offsets(StartingOffsets::Earliest)
        .stopping_offsets(StoppingOffsets::Latest)
        .build();
    JobBuilder::new("prefix")
        .source(source)
        .rebalance()
        .map(|r| {
            format!(
                "Kafka and kwire says: {}",
                String::from_utf8_lossy(r.value.as_deref().unwrap_or_default())
            )
        })
        .sink(|_| Print::stdout())
        .run()
        .await?;
    Ok(())
}
