//! kwire-testkit: the local broker, the fake cluster, the conformance suite and the `kwire` CLI.
//!
//! [`broker::LocalBroker`] gives a test a real Kafka-compatible broker with nothing to install.

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
