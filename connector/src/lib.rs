//! kwire-connector: the async Kafka client and the Flink-style source and sink.
//!
//! - [`client`]: a [`Client`](client::Client) (metadata, admin, group offsets), its
//!   [`Producer`](client::Producer) (batching, idempotence, transactions) and
//!   [`Consumer`](client::Consumer) (assigned partitions, a `futures::Stream` of batches or
//!   records, bounded buffer), over plaintext, TLS (feature `tls`) and SASL.
//! - [`source`], [`runtime`] and [`sink`]: a Flink-style job on the local runner: the Kafka
//!   source (Flink's partition assignment, checkpoint-gated offsets), operators with
//!   `rebalance()` and `key_by()`, aligned checkpoints, and the Kafka sink (exactly-once with
//!   Kafka transactions).
//!
//! ```no_run
//! use kwire_connector::client::{Client, Consumer, ProducerRecord, StartOffset};
//!
//! # async fn demo() -> Result<(), kwire_connector::client::Error> {
//! let client = Client::builder().bootstrap("127.0.0.1:9092").build().await?;
//! let producer = client.producer().build().await?;
//! producer.send_and_wait(ProducerRecord::new("greetings", "hello")).await?;
//!
//! let mut consumer = Consumer::builder(client).build();
//! consumer.assign_topic("greetings", StartOffset::Earliest).await?;
//! if let Some(batch) = consumer.next_batch().await {
//!     for record in batch?.records {
//!         println!("{:?}", record.value);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! The README's "Use it as a library" has complete programs (connector/examples/), which the
//! test suite runs against the embedded broker and Apache Kafka. The codec is
//! [`kwire_protocol`], re-exported as [`protocol`].

pub mod client;
#[cfg(feature = "timely")]
pub mod cluster;
pub mod core;
pub mod runtime;
pub mod sink;
pub mod source;

pub use kwire_protocol as protocol;
