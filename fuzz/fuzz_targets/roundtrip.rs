//! Structured: an arbitrary message of any API at any version encodes, and decodes back equal.
#![no_main]

use arbitrary::Unstructured;
use kwire_protocol::arb::Arb;
use kwire_protocol::for_each_api;
use kwire_protocol::messages::*;
use libfuzzer_sys::fuzz_target;

fn check<M: Message + Arb>(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let versions = M::VERSIONS;
    let version = u.int_in_range(versions.min..=versions.max)?;
    let mut value = M::arb(u)?;
    value.normalize_to(version);
    let bytes = value
        .encode_to_bytes(version)
        .expect("a normalized value encodes");
    let back = M::decode_bytes(bytes, version).expect("an encoded value decodes");
    assert_eq!(back, value);
    Ok(())
}

macro_rules! pick {
    ($(($api:ident, $key:literal, $reqmod:ident, $req:ident, $respmod:ident, $resp:ident),)*) => {
        fn run(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
            let all: &[fn(&mut Unstructured<'_>) -> arbitrary::Result<()>] = &[$(check::<$req>, check::<$resp>,)*];
            let f = u.choose(all)?;
            f(u)
        }
    };
}

for_each_api!(pick);

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
