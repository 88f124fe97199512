//! The connector's decisions as sans-IO state machines, tested without a broker: partition
//! assignment, fetch planning (backpressure), and the checkpoint -> commit gate.

pub mod assign;
pub mod checkpoint;
pub mod fetch_plan;
pub mod membership;
