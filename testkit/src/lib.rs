//! kwire-testkit: the local broker, the fake cluster, the conformance suite and the `kwire` CLI.
//!
//! Empty for now; it grows with the client.
