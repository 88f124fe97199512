//! kwire-connector: the async Kafka client and the Flink-style source and sink.
//!
//! The client ([`client`]) speaks to real brokers with the codec of [`kwire_protocol`].

pub mod client;
pub mod core;
pub mod runtime;
pub mod sink;
pub mod source;

pub use kwire_protocol as protocol;
