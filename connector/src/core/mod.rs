//! The connector's decisions as sans-IO state machines, tested without a broker.

pub mod assign;
