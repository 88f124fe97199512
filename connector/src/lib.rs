//! kwire-connector: the async Kafka client and the Flink-style source and sink.
//!
//! The client, source, sink and local runner land here on top of [`kwire_protocol`].

pub use kwire_protocol as protocol;
