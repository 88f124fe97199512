//! What every top-level message knows of itself: API key, versions, flexible versions.

use bytes::{Bytes, BytesMut};

use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::primitives::{Ctx, Decoder, Encoder, Wire};

/// An inclusive range of versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionRange {
    /// The oldest version.
    pub min: i16,
    /// The newest version.
    pub max: i16,
}

impl VersionRange {
    /// The versions `min..=max`.
    pub const fn new(min: i16, max: i16) -> Self {
        Self { min, max }
    }

    /// Whether `version` is in the range.
    pub const fn contains(&self, version: i16) -> bool {
        self.min <= version && version <= self.max
    }

    /// The highest version in both ranges, if they meet.
    pub fn highest_common(&self, other: &Self) -> Option<i16> {
        let max = self.max.min(other.max);
        (max >= self.min.max(other.min)).then_some(max)
    }

    /// Every version in the range, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = i16> {
        self.min..=self.max
    }
}

/// A top-level request or response body.
pub trait Message: Wire + Default + Clone + PartialEq + std::fmt::Debug {
    /// The API key.
    const API_KEY: i16;
    /// The type's name.
    const NAME: &'static str;
    /// The versions this codec speaks.
    const VERSIONS: VersionRange;
    /// The first flexible version (KIP-482); `i16::MAX` when none is.
    const FLEXIBLE_FROM: i16;

    /// Whether `version` is flexible.
    fn is_flexible(version: i16) -> bool {
        version >= Self::FLEXIBLE_FROM
    }

    /// Appends the body at `version` to `buf`.
    fn encode_into(&self, version: i16, buf: &mut BytesMut) -> Result<(), EncodeError> {
        if !Self::VERSIONS.contains(version) {
            return Err(EncodeError::UnsupportedVersion {
                api_key: Self::API_KEY,
                version,
            });
        }
        let mut e = Encoder::from_buf(std::mem::take(buf));
        let res = self.encode(&mut e, Ctx::new(version, Self::is_flexible(version)));
        *buf = e.into_inner();
        res
    }

    /// The body encoded at `version`.
    fn encode_to_bytes(&self, version: i16) -> Result<Bytes, EncodeError> {
        let mut buf = BytesMut::new();
        self.encode_into(version, &mut buf)?;
        Ok(buf.freeze())
    }

    /// Decodes a whole body at `version`; trailing bytes are an error.
    fn decode_from(d: &mut Decoder, version: i16) -> Result<Self, DecodeError> {
        if !Self::VERSIONS.contains(version) {
            return Err(d.error(DecodeErrorKind::UnsupportedVersion {
                api_key: Self::API_KEY,
                version,
            }));
        }
        let msg = Self::decode(d, Ctx::new(version, Self::is_flexible(version)))?;
        d.finish()?;
        Ok(msg)
    }

    /// Decodes a whole body at `version` from `bytes`.
    fn decode_bytes(bytes: Bytes, version: i16) -> Result<Self, DecodeError> {
        Self::decode_from(&mut Decoder::new(bytes), version)
    }

    /// How long the broker asks the client to wait before its next request on this connection
    /// (KIP-219 quotas), in milliseconds: the response's `throttle_time_ms`, 0 for a message
    /// without one. A value from the wire: the client bounds it before it waits.
    fn throttle_time_ms(&self) -> i32 {
        0
    }

    /// Makes the message encodable at `version` (see [`Wire::normalize`]).
    fn normalize_to(&mut self, version: i16) {
        self.normalize(Ctx::new(version, Self::is_flexible(version)));
    }
}

/// A request, and the response it gets.
pub trait Request: Message {
    /// The response's type.
    type Response: Message;
}
