//! Writes a generated string every 100 ms to topic `test` through the Kafka sink (fixed
//! partitioner, at-least-once: each ten records are flushed and acknowledged as at a checkpoint).
//! `kwire consume test` shows them.
//!
//! ```sh
//! cargo run --release -p kwire-testkit --bin kwire -- broker           # in one terminal
//! cargo run --release -p kwire-connector --example write_to_kafka -- --count 50
//! cargo run --release -p kwire-testkit --bin kwire -- consume test --from earliest
//! ```

mod common;

use std::time::Duration;

use kwire_connector::runtime::{Sink, SinkContext};
use kwire_connector::sink::KafkaSink;

#[tokio::main]
async fn main() {
    let (bootstrap, rest) = common::args();
    let count: u64 = common::flag(&rest, "--count").unwrap_or(u64::MAX);
    let every = Duration::from_millis(common::flag(&rest, "--interval-ms").unwrap_or(100));
    if let Err(e) = run(&bootstrap, count, every).await {
        eprintln!("write_to_kafka: {bootstrap}: {e}");
        std::process::exit(1);
    }
}

async fn run(bootstrap: &str, count: u64, every: Duration) -> Result<(), Box<dyn std::error::Error>> {
    let client = common::client_with_topic(bootstrap, "test", 3).await?;
    let mut writer = KafkaSink::strings(client, "test").writer(SinkContext::new(0, 1));
    let mut checkpoint = 0;
    for i in 0..count {
        writer.write(format!("This is message {i} from kwire")).await?;
        if i % 10 == 9 {
            checkpoint += 1;
            writer.prepare_checkpoint(checkpoint).await?;
            eprintln!("{} messages written and acknowledged", i + 1);
        }
        tokio::time::sleep(every).await;
    }
    writer.finish().await?;
    Ok(())
}
