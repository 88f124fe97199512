//! kwire-testkit: the local broker, the fake cluster, the conformance suite and the `kwire` CLI.
//!
//! [`broker::LocalBroker`] gives a test a real Kafka-compatible broker with nothing to install:
//! the embedded tansu, Apache Kafka from Maven Central (`KWIRE_BROKER=apache`), or the
//! [`FakeCluster`] with faults. A test that needs a broker:
//!
//! ```
//! use kwire_connector::client::{Client, ProducerRecord};
//! use kwire_testkit::LocalBroker;
//!
//! # #[cfg(feature = "embedded-broker")]
//! # fn main() {
//! let broker = LocalBroker::embedded(0).expect("the embedded broker starts");
//! let runtime = tokio::runtime::Runtime::new().unwrap();
//! runtime.block_on(async {
//!     let client = Client::builder().bootstrap(broker.bootstrap()).build().await.unwrap();
//!     client.create_topic("test", 1, 1).await.unwrap();
//!     let producer = client.producer().build().await.unwrap();
//!     let meta = producer
//!         .send_and_wait(ProducerRecord::new("test", "hello").partition(0))
//!         .await
//!         .unwrap();
//!     assert_eq!(meta.offset, 0);
//! });
//! # }
//! # #[cfg(not(feature = "embedded-broker"))]
//! # fn main() {}
//! ```

pub mod apache;
pub mod broker;
pub mod conformance;
pub mod data;
pub mod fake;
pub mod java_peer;
pub mod proxy;
pub mod python;

pub use broker::LocalBroker;
pub use fake::FakeCluster;
pub use proxy::FaultProxy;
