//! Produces ten records to topic `greetings` and prints where each one landed.
//!
//! `KWIRE_BOOTSTRAP=127.0.0.1:9092 cargo run -p kwire-connector --example produce`

use kwire_connector::client::{Client, Error, ProducerRecord};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let bootstrap = std::env::var("KWIRE_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let client = Client::builder().bootstrap(&bootstrap).build().await?;
    if !client.list_topics().await?.iter().any(|t| t == "greetings") {
        client.create_topic("greetings", 3, 1).await?;
    }
    let producer = client.producer().build().await?;
    let mut acks = Vec::new();
    for i in 0..10 {
        let record = ProducerRecord::new("greetings", format!("hello {i}")).key(format!("user-{i}"));
        acks.push(producer.send(record).await?);
    }
    producer.flush().await?;
    for ack in acks {
        let meta = ack.await.expect("the producer answers every record")?;
        println!(
            "written to partition {} at offset {}",
            meta.partition, meta.offset
        );
    }
    producer.close().await
}
