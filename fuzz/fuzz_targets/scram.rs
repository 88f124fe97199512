//! SASL SCRAM's client against a hostile server: any bytes as the server's first message and,
//! after a NUL, its final one. Every answer is a `ScramError` or a valid exchange; no panic, and
//! no work beyond the bounded iteration count (a count of 2^31 is refused before PBKDF2).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kwire_fuzz::check_scram(data));
