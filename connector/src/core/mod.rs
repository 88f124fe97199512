//! The connector's decisions as sans-IO state machines, tested without a broker: partition
//! assignment, fetch planning (backpressure), and the checkpoint -> commit gate.

pub mod assign;
pub mod assignor;
pub mod checkpoint;
pub mod classic;
pub mod fetch_plan;
pub mod membership;
