//! Differential test against the `kafka-protocol` crate (crates.io, kafka-protocol-rs): an
//! independent codec generated from the same Kafka message specs.
//!
//! For every message both crates have, request and response, at every version we speak: an
//! arbitrary value of ours is encoded by us; `kafka-protocol` decodes those bytes (consuming all of
//! them) and encodes its value again; those bytes must be identical to ours, and we must decode them
//! back to our value. A field with the wrong type, order, version range, nullability or flexible
//! encoding on either side shows up as a decode failure, leftover bytes, or different bytes.
//!
//! Tagged fields (KIP-482). Both codecs leave out a known tagged field whose value is its default,
//! so a disagreement on a default shows up only when a value equals one side's default and not the
//! other's; the seeds therefore mix random bytes with runs of `0x00` and `0xff`, which make fields
//! 0, -1, false, true or empty, the usual defaults.
//! Our arbitrary values also carry up to two unknown tagged fields per struct, with tags above
//! 10,000 (no spec uses such tags). We keep them rather than clear them: both codecs write unknown
//! tags after the known ones, in increasing order, so the bytes must still match. And since a known
//! field written under a tag `kafka-protocol` does not know would come back byte for byte as an
//! unknown field, the test also checks that `kafka-protocol` read exactly our unknown fields as
//! unknown: the same number of them, all tagged above 10,000.
//!
//! Every (message, version) pair that both crates speak is compared. The few newest versions that
//! kwire speaks and `kafka-protocol` 0.18 does not yet (Kafka 4.4's) are listed by name in
//! [`NOT_IN_KAFKA_PROTOCOL`], and a test checks that exactly those are left out, so nothing else
//! can slip out of the comparison unnoticed.

use bytes::BytesMut;
use kafka_protocol::protocol::{Decodable, Encodable, Message as TheirMessage};
use kwire_protocol::arb::Arb;
use kwire_protocol::for_each_api;
use kwire_protocol::messages::Message;
use kwire_protocol::RawTaggedField;
use proptest::prelude::*;

/// Lowest tag that `kwire_protocol::arb::unknown_tagged` gives an unknown tagged field.
const FIRST_UNKNOWN_TAG: u64 = 10_000;

/// The (message, version) pairs kwire speaks that `kafka-protocol` 0.18 does not: these alone are
/// not compared. Every other pair kwire speaks is.
const NOT_IN_KAFKA_PROTOCOL: &[(&str, i16)] = &[
    ("ListOffsetsRequest", 11),
    ("ListOffsetsResponse", 11),
    ("OffsetCommitRequest", 10),
    ("OffsetFetchRequest", 10),
    ("ApiVersionsRequest", 5),
    ("ApiVersionsResponse", 5),
    ("InitProducerIdRequest", 6),
    ("TxnOffsetCommitRequest", 6),
    ("TxnOffsetCommitResponse", 6),
    ("DeleteGroupsRequest", 3),
    ("DeleteGroupsResponse", 3),
];

/// Arbitrary bytes for `Unstructured`: random runs mixed with runs of `0x00` and `0xff`.
fn seed_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            3 => proptest::collection::vec(any::<u8>(), 1..16),
            1 => (1..16usize).prop_map(|n| vec![0x00; n]),
            1 => (1..16usize).prop_map(|n| vec![0xff; n]),
        ],
        0..256,
    )
    .prop_map(|runs| runs.concat())
}

/// Checks one arbitrary value per version of our `M` against `kafka-protocol`'s `K`.
fn differential<M, K>(seed: &[u8]) -> Result<(), TestCaseError>
where
    M: Message + Arb,
    K: Encodable + Decodable + TheirMessage + std::fmt::Debug,
{
    for version in M::VERSIONS.iter() {
        if !both_speak::<K>(version) {
            prop_assert!(
                NOT_IN_KAFKA_PROTOCOL.contains(&(M::NAME, version)),
                "kafka-protocol has no {} v{}",
                M::NAME,
                version
            );
            continue;
        }
        let mut u = arbitrary::Unstructured::new(seed);
        let mut value = M::arb(&mut u).expect("arbitrary values never run out of data");
        value.normalize_to(version);
        if let Err(why) = compare::<M, K>(&value, version, version) {
            return Err(TestCaseError::fail(format!(
                "{} v{version}: {why}\n  kwire value: {value:?}",
                M::NAME
            )));
        }
    }
    Ok(())
}

/// Whether `kafka-protocol`'s `K` speaks `version` too.
fn both_speak<K: TheirMessage>(version: i16) -> bool {
    K::VERSIONS.min <= version && version <= K::VERSIONS.max
}

/// Encodes `value` with kwire at `our_version`, passes the bytes through `kafka-protocol`'s decoder
/// and encoder at `their_version`, and says where the two codecs disagree.
fn compare<M, K>(value: &M, our_version: i16, their_version: i16) -> Result<(), String>
where
    M: Message,
    K: Encodable + Decodable + std::fmt::Debug,
{
    let ours = value
        .encode_to_bytes(our_version)
        .map_err(|e| format!("kwire encode failed: {e}"))?;

    let mut input = ours.clone();
    let theirs =
        K::decode(&mut input, their_version).map_err(|e| format!("kafka-protocol decode failed: {e:#}"))?;
    if !input.is_empty() {
        return Err(format!(
            "kafka-protocol left {} of {} bytes unread",
            input.len(),
            ours.len()
        ));
    }

    let our_unknown = unknown_tags(&format!("{value:?}"), DebugStyle::Kwire);
    let their_unknown = unknown_tags(&format!("{theirs:?}"), DebugStyle::KafkaProtocol);
    if let Some(tag) = their_unknown.iter().find(|t| **t < FIRST_UNKNOWN_TAG) {
        return Err(format!(
            "kafka-protocol read tagged field {tag}, which kwire wrote as a known field, as unknown"
        ));
    }
    if our_unknown.len() != their_unknown.len() {
        return Err(format!(
            "kwire wrote {} unknown tagged fields, kafka-protocol read {} of them as unknown",
            our_unknown.len(),
            their_unknown.len()
        ));
    }

    let mut out = BytesMut::new();
    theirs
        .encode(&mut out, their_version)
        .map_err(|e| format!("kafka-protocol re-encode failed: {e:#}"))?;
    if out[..] != ours[..] {
        let at = out.iter().zip(ours.iter()).take_while(|(a, b)| a == b).count();
        return Err(format!(
            "bytes differ at offset {at} (kwire wrote {}, kafka-protocol {})\n  \
             kwire:          {}\n  kafka-protocol: {}\n  kafka-protocol value: {theirs:?}",
            ours.len(),
            out.len(),
            hex_around(&ours, at),
            hex_around(&out, at),
        ));
    }

    let back = M::decode_bytes(out.freeze(), our_version)
        .map_err(|e| format!("kwire cannot decode kafka-protocol's bytes: {e}"))?;
    if &back != value {
        return Err(format!(
            "kwire decodes kafka-protocol's bytes to another value: {back:?}"
        ));
    }
    Ok(())
}

/// A few bytes either side of `at`, in hex.
fn hex_around(bytes: &[u8], at: usize) -> String {
    let start = at.saturating_sub(8);
    let end = (at + 16).min(bytes.len());
    let hex: Vec<String> = bytes[start..end].iter().map(|b| format!("{b:02x}")).collect();
    format!("[{start}..{end}] {}", hex.join(" "))
}

/// How a crate's derived `Debug` shows a struct's unknown tagged fields.
#[derive(Clone, Copy)]
enum DebugStyle {
    /// `unknown_tagged_fields: [RawTaggedField { tag: 10042, data: b"..." }, ...]`
    Kwire,
    /// `unknown_tagged_fields: {10042: b"...", ...}`
    KafkaProtocol,
}

/// The tags of every unknown tagged field in a value's `Debug` text, at any depth.
///
/// Derived `Debug` escapes quotes inside string and byte-string literals, so once the literals'
/// contents are dropped only the structure is left to scan.
fn unknown_tags(debug: &str, style: DebugStyle) -> Vec<u64> {
    const KEY: &str = "unknown_tagged_fields: ";
    let structure = strip_literals(debug);
    let close = match style {
        DebugStyle::Kwire => ']',
        DebugStyle::KafkaProtocol => '}',
    };
    let mut tags = Vec::new();
    let mut rest = structure.as_str();
    while let Some(pos) = rest.find(KEY) {
        rest = &rest[pos + KEY.len()..];
        let end = rest.find(close).unwrap_or(rest.len());
        let list = &rest[..end];
        match style {
            DebugStyle::Kwire => {
                tags.extend(list.split("tag: ").skip(1).map(leading_number));
            }
            DebugStyle::KafkaProtocol => tags.extend(
                list.trim_start_matches('{')
                    .split(", ")
                    .filter(|entry| !entry.trim().is_empty())
                    .map(leading_number),
            ),
        }
        rest = &rest[end..];
    }
    tags
}

fn leading_number(s: &str) -> u64 {
    let digits: String = s.trim().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("a tag number in Debug output")
}

/// `debug` with the contents of every `"..."` literal dropped (escapes honoured).
fn strip_literals(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len());
    let mut in_literal = false;
    let mut escaped = false;
    for c in debug.chars() {
        if !in_literal {
            in_literal = c == '"';
            out.push(c);
        } else if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            in_literal = false;
            out.push(c);
        }
    }
    out
}

macro_rules! differential_tests {
    ($(($api:ident, $key:literal, $reqmod:ident, $req:ident, $respmod:ident, $resp:ident),)*) => {
        $(
            mod $reqmod {
                use super::*;
                proptest! {
                    #![proptest_config(ProptestConfig::with_cases(64))]
                    #[test]
                    fn request_encodes_to_the_same_bytes_as_kafka_protocol(seed in seed_bytes()) {
                        differential::<
                            kwire_protocol::messages::$req,
                            kafka_protocol::messages::$req,
                        >(&seed)?;
                    }
                    #[test]
                    fn response_encodes_to_the_same_bytes_as_kafka_protocol(seed in seed_bytes()) {
                        differential::<
                            kwire_protocol::messages::$resp,
                            kafka_protocol::messages::$resp,
                        >(&seed)?;
                    }
                }
            }
        )*

        /// Every (message, version) pair kwire speaks, and whether the tests above compare it
        /// (whether `kafka-protocol` speaks it too).
        fn spoken_cases() -> Vec<(&'static str, i16, bool)> {
            let mut cases = Vec::new();
            $(
                for version in <kwire_protocol::messages::$req as Message>::VERSIONS.iter() {
                    cases.push((
                        <kwire_protocol::messages::$req as Message>::NAME,
                        version,
                        both_speak::<kafka_protocol::messages::$req>(version),
                    ));
                }
                for version in <kwire_protocol::messages::$resp as Message>::VERSIONS.iter() {
                    cases.push((
                        <kwire_protocol::messages::$resp as Message>::NAME,
                        version,
                        both_speak::<kafka_protocol::messages::$resp>(version),
                    ));
                }
            )*
            cases
        }
    };
}

for_each_api!(differential_tests);

#[test]
fn every_api_and_version_we_speak_is_compared_unless_listed() {
    let cases = spoken_cases();
    // Two per API (request and response) for each of its versions.
    let expected: usize = kwire_protocol::messages::ApiKey::SUPPORTED
        .iter()
        .map(|(_, _, range)| 2 * range.iter().count())
        .sum();
    assert_eq!(cases.len(), expected);
    let left_out: Vec<(&str, i16)> = cases
        .iter()
        .filter(|(_, _, compared)| !compared)
        .map(|(name, version, _)| (*name, *version))
        .collect();
    assert_eq!(
        left_out, NOT_IN_KAFKA_PROTOCOL,
        "the pairs left out are exactly the listed ones"
    );
    let compared = cases.len() - left_out.len();
    assert!(compared >= 240, "{compared} cases compared");
}

#[test]
fn a_version_mismatch_is_caught() {
    use kwire_protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};

    let value = MetadataRequest {
        topics: Some(vec![MetadataRequestTopic {
            name: Some("orders".to_owned()),
            ..Default::default()
        }]),
        ..Default::default()
    };
    assert_eq!(
        compare::<MetadataRequest, kafka_protocol::messages::MetadataRequest>(&value, 9, 9),
        Ok(())
    );
    // v9 is flexible and v8 is not: read at the wrong version, the bytes cannot agree.
    assert!(compare::<MetadataRequest, kafka_protocol::messages::MetadataRequest>(&value, 9, 8).is_err());
}

#[test]
fn an_unknown_tagged_field_read_as_a_known_one_is_caught() {
    use kwire_protocol::messages::ApiVersionsResponse;

    // Tag 1 of ApiVersionsResponse is FinalizedFeaturesEpoch (int64). Passed off as an unknown
    // field, its bytes come back identical, but kafka-protocol reads it as the known field.
    let value = ApiVersionsResponse {
        unknown_tagged_fields: vec![RawTaggedField {
            tag: 1,
            data: bytes::Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 7]),
        }],
        ..Default::default()
    };
    let why = compare::<ApiVersionsResponse, kafka_protocol::messages::ApiVersionsResponse>(&value, 3, 3)
        .expect_err("the tag confusion is reported");
    assert!(why.contains("unknown tagged fields"), "{why}");
}

#[test]
fn unknown_tags_are_read_from_both_debug_styles() {
    let ours = r#"X { a: "unknown_tagged_fields: [tag: 3]", unknown_tagged_fields: [RawTaggedField { tag: 10042, data: b"\"]" }, RawTaggedField { tag: 10100, data: b"" }] }"#;
    assert_eq!(unknown_tags(ours, DebugStyle::Kwire), [10042, 10100]);
    let theirs =
        r#"X { y: Y { unknown_tagged_fields: {} }, unknown_tagged_fields: {10042: b"}, 7: ", 3: b""} }"#;
    assert_eq!(unknown_tags(theirs, DebugStyle::KafkaProtocol), [10042, 3]);
}
