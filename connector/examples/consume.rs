//! Reads topic `greetings` from the start to its current end, as a `futures::Stream` of records.
//!
//! `KWIRE_BOOTSTRAP=127.0.0.1:9092 cargo run -p kwire-connector --example consume`

use futures::StreamExt;
use kwire_connector::client::{Client, Consumer, Error, IsolationLevel, StartOffset};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let bootstrap = std::env::var("KWIRE_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let client = Client::builder().bootstrap(&bootstrap).build().await?;
    let mut consumer = Consumer::builder(client.clone()).build();
    for (partition, _start) in consumer.assign_topic("greetings", StartOffset::Earliest).await? {
        let end = client
            .end_offset("greetings", partition, IsolationLevel::ReadUncommitted)
            .await?;
        consumer.stop_at("greetings", partition, end);
    }
    let mut records = consumer.records();
    while let Some(record) = records.next().await {
        let record = record?;
        let value = record.record.value.as_deref().unwrap_or_default();
        println!(
            "{}-{} @{}: {}",
            record.topic,
            record.partition,
            record.record.offset,
            String::from_utf8_lossy(value)
        );
    }
    Ok(())
}
