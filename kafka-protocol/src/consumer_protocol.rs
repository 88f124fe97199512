//! The consumer protocol: what classic consumer group members put in the byte fields of
//! JoinGroup (their subscription) and SyncGroup (their assignment). Each is a version (int16)
//! followed by the struct at that version, never flexible.
//!
//! Declared from `ConsumerProtocolSubscription.json` and `ConsumerProtocolAssignment.json` in the
//! Kafka protocol's message specs (versions 0-3 of each). A version above 3 is read as version 3:
//! later versions only add fields at the end, which is how the Java client reads them too.

#![allow(missing_docs)]

use bytes::Bytes;

use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::kafka_struct;
use crate::primitives::{Ctx, Decoder, Encoder, Wire};

/// The newest version of both structs this codec writes and reads.
pub const CONSUMER_PROTOCOL_VERSION: i16 = 3;

kafka_struct! {
    /// A member's subscription (JoinGroup's protocol metadata), versions 0-3.
    pub struct ConsumerProtocolSubscription {
    /// Topics: Versions 0+.
    topics: Vec<String> = Vec::new() => [0, 3];
    /// UserData: Versions 0+; nullable in 0+.
    user_data: Option<Bytes> = None => [0, 3] null [0, 3];
    /// OwnedPartitions: Versions 1+.
    owned_partitions: Vec<ConsumerProtocolTopicPartition> = Vec::new() => [1, 3] ignorable: true;
    /// GenerationId: Versions 2+.
    generation_id: i32 = -1 => [2, 3] ignorable: true;
    /// RackId: Versions 3+; nullable in 3+.
    rack_id: Option<String> = None => [3, 3] null [3, 3] ignorable: true;
    }
}

kafka_struct! {
    /// A member's assignment (SyncGroup's assignment bytes), versions 0-3.
    pub struct ConsumerProtocolAssignment {
    /// AssignedPartitions: Versions 0+.
    assigned_partitions: Vec<ConsumerProtocolTopicPartition> = Vec::new() => [0, 3];
    /// UserData: Versions 0+; nullable in 0+.
    user_data: Option<Bytes> = None => [0, 3] null [0, 3];
    }
}

kafka_struct! {
    /// A topic and some of its partitions.
    pub struct ConsumerProtocolTopicPartition {
    /// Topic: Versions 0+.
    topic: String = String::new() => [0, 3];
    /// Partitions: Versions 0+.
    partitions: Vec<i32> = Vec::new() => [0, 3];
    }
}

/// Writes `value` at `version` (0-3) behind its version.
pub fn encode_versioned<T: Wire + Clone>(value: &T, version: i16) -> Result<Bytes, EncodeError> {
    let ctx = Ctx::new(version.clamp(0, CONSUMER_PROTOCOL_VERSION), false);
    let mut value = value.clone();
    value.normalize(ctx);
    let mut e = Encoder::new();
    e.i16(ctx.version);
    value.encode(&mut e, ctx)?;
    Ok(e.into_inner().freeze())
}

/// Reads a versioned struct; bytes after it (fields of a later version) are ignored.
pub fn decode_versioned<T: Wire>(bytes: &Bytes) -> Result<T, DecodeError> {
    let mut d = Decoder::new(bytes.clone());
    let version = d.i16()?;
    if version < 0 {
        return Err(d.error(DecodeErrorKind::NegativeVersion(version)));
    }
    T::decode(&mut d, Ctx::new(version.min(CONSUMER_PROTOCOL_VERSION), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription() -> ConsumerProtocolSubscription {
        ConsumerProtocolSubscription {
            topics: vec!["orders".into(), "refunds".into()],
            owned_partitions: vec![ConsumerProtocolTopicPartition {
                topic: "orders".into(),
                partitions: vec![0, 3],
                ..Default::default()
            }],
            generation_id: 7,
            rack_id: Some("r1".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_subscription_round_trips_at_every_version_and_drops_what_a_version_lacks() {
        for v in 0..=3 {
            let bytes = encode_versioned(&subscription(), v).unwrap();
            assert_eq!(&bytes[..2], &v.to_be_bytes());
            let back: ConsumerProtocolSubscription = decode_versioned(&bytes).unwrap();
            assert_eq!(back.topics, subscription().topics);
            assert_eq!(back.owned_partitions.len(), usize::from(v >= 1));
            assert_eq!(back.generation_id, if v >= 2 { 7 } else { -1 });
            assert_eq!(back.rack_id.is_some(), v >= 3);
        }
    }

    #[test]
    fn a_later_version_is_read_as_the_newest_known_and_damage_is_an_error() {
        let mut bytes = encode_versioned(&subscription(), 3).unwrap().to_vec();
        bytes[1] = 9; // version 9
        bytes.extend_from_slice(&[0, 0, 0, 1]); // a field of version 9
        let back: ConsumerProtocolSubscription = decode_versioned(&Bytes::from(bytes.clone())).unwrap();
        assert_eq!(back.generation_id, 7);
        for cut in 0..bytes.len() - 4 {
            let short = Bytes::copy_from_slice(&bytes[..cut]);
            assert!(
                decode_versioned::<ConsumerProtocolSubscription>(&short).is_err(),
                "cut at {cut}"
            );
        }
        let mut negative = bytes.clone();
        negative[0] = 0xff;
        assert!(decode_versioned::<ConsumerProtocolSubscription>(&Bytes::from(negative)).is_err());
    }

    #[test]
    fn damaged_bytes_decode_to_a_value_that_roundtrips_or_to_an_error() {
        // The fuzz target's oracle over mutations of valid structs: a decoded value written
        // again at the version read reads back the same.
        let seeds = [
            encode_versioned(&subscription(), 1).unwrap(),
            encode_versioned(&subscription(), 3).unwrap(),
            encode_versioned(
                &ConsumerProtocolAssignment {
                    assigned_partitions: subscription().owned_partitions,
                    user_data: Some(Bytes::from_static(b"ud")),
                    ..Default::default()
                },
                0,
            )
            .unwrap(),
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..3000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut bytes = seeds[round % seeds.len()].to_vec();
            let at = (x as usize) % bytes.len();
            bytes[at] = (x >> 32) as u8;
            bytes.truncate(bytes.len() - (x >> 40) as usize % 3);
            let version = i16::from_be_bytes([bytes[0], bytes[1]]).clamp(0, 3);
            let bytes = Bytes::from(bytes);
            if let Ok(s) = decode_versioned::<ConsumerProtocolSubscription>(&bytes) {
                let back: ConsumerProtocolSubscription =
                    decode_versioned(&encode_versioned(&s, version).unwrap()).unwrap();
                assert_eq!(back, s);
            }
            if let Ok(a) = decode_versioned::<ConsumerProtocolAssignment>(&bytes) {
                let back: ConsumerProtocolAssignment =
                    decode_versioned(&encode_versioned(&a, version).unwrap()).unwrap();
                assert_eq!(back, a);
            }
        }
    }

    #[test]
    fn an_assignment_matches_the_bytes_the_java_client_writes() {
        // Version 3, one topic "t" with partitions 1 and 2, null user data.
        let java: &[u8] = &[
            0, 3, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff,
        ];
        let a: ConsumerProtocolAssignment = decode_versioned(&Bytes::from_static(java)).unwrap();
        assert_eq!(a.assigned_partitions[0].topic, "t");
        assert_eq!(a.assigned_partitions[0].partitions, vec![1, 2]);
        assert_eq!(&encode_versioned(&a, 3).unwrap()[..], java);
    }
}
