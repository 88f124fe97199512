//! The declaration macros: each message and nested struct is declared once, as a list of fields with
//! their version ranges, and its codec follows from that list.
//!
//! A field line reads
//! `name: Type = default => [first, last] null [first, last] tag T [first, last] ignorable: true;`
//! where only the first range is required: the versions that have the field, then those in which it
//! may be null, those in which it is a tagged field with tag `T` (KIP-482), and whether a non-default
//! value may be dropped silently at a version without the field (the spec's "ignorable").

use bytes::{Bytes, BytesMut};

use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::primitives::{Ctx, Decoder, Encoder, Wire};

/// What the declaration says of one field.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// Field name, for errors.
    pub name: &'static str,
    /// Versions that have the field.
    pub versions: (i16, i16),
    /// Versions in which it may be null.
    pub nullable: (i16, i16),
    /// Tag and the versions in which the field is tagged.
    pub tag: Option<(u32, i16, i16)>,
    /// Whether a non-default value may be dropped at a version without the field.
    pub ignorable: bool,
}

impl FieldSpec {
    /// Whether `version` has the field.
    pub const fn present(&self, version: i16) -> bool {
        self.versions.0 <= version && version <= self.versions.1
    }

    /// The tag, if the field is a tagged field at this context.
    pub fn tag_at(&self, ctx: Ctx) -> Option<u32> {
        match self.tag {
            Some((t, a, b)) if ctx.flexible && a <= ctx.version && ctx.version <= b => Some(t),
            _ => None,
        }
    }

    /// The context for the field's value.
    pub fn ctx(&self, ctx: Ctx) -> Ctx {
        let (a, b) = self.nullable;
        ctx.with_nullable(a <= ctx.version && ctx.version <= b)
    }

    /// Encodes one field of a struct: in place, into `tagged`, or not at all.
    pub fn encode<T: Wire + PartialEq>(
        &self,
        value: &T,
        default: impl FnOnce() -> T,
        e: &mut Encoder,
        ctx: Ctx,
        tagged: &mut Vec<(u32, Bytes)>,
    ) -> Result<(), EncodeError> {
        let fctx = self.ctx(ctx);
        let named = |err: EncodeError| match err {
            EncodeError::NullNotAllowed { field: "", .. } | EncodeError::TooLong { field: "", .. } => {
                err.within(self.name)
            }
            other => other,
        };
        if let Some(tag) = self.tag_at(ctx) {
            if *value != default() {
                let mut sub = Encoder::from_buf(BytesMut::new());
                value.encode(&mut sub, fctx).map_err(named)?;
                tagged.push((tag, sub.into_inner().freeze()));
            }
        } else if self.present(ctx.version) {
            value.encode(e, fctx).map_err(named)?;
        } else if !self.ignorable && *value != default() {
            return Err(EncodeError::FieldNotAvailable {
                field: self.name,
                version: ctx.version,
            });
        }
        Ok(())
    }

    /// Decodes one field in place, unless it is absent or tagged at this version.
    pub fn decode<T: Wire>(&self, slot: &mut T, d: &mut Decoder, ctx: Ctx) -> Result<(), DecodeError> {
        if self.present(ctx.version) && self.tag_at(ctx).is_none() {
            *slot = T::decode(d, self.ctx(ctx)).map_err(|e| e.within(self.name))?;
        }
        Ok(())
    }

    /// Decodes the field from a tagged-field payload if `tag` is this field's tag at this version.
    pub fn decode_tagged<T: Wire>(
        &self,
        tag: u32,
        slot: &mut T,
        d: &mut Decoder,
        ctx: Ctx,
    ) -> Result<bool, DecodeError> {
        if self.tag_at(ctx) != Some(tag) {
            return Ok(false);
        }
        *slot = T::decode(d, self.ctx(ctx)).map_err(|e| e.within(self.name))?;
        d.finish().map_err(|e| e.within(self.name))?;
        Ok(true)
    }

    /// Makes the field encodable at `ctx`'s version.
    pub fn normalize<T: Wire>(&self, value: &mut T, default: impl FnOnce() -> T, ctx: Ctx) {
        if self.present(ctx.version) || self.tag_at(ctx).is_some() {
            value.normalize(self.ctx(ctx));
        } else {
            *value = default();
        }
    }
}

/// Declares a struct of a message: its fields, their version ranges, and its [`Wire`] codec.
#[doc(hidden)]
#[macro_export]
macro_rules! kafka_struct {
    (@range) => { (1i16, 0i16) };
    (@range [$a:literal, $b:literal]) => { ($a, $b) };
    (@tag) => { None };
    (@tag $t:literal [$a:literal, $b:literal]) => { Some(($t, $a, $b)) };
    (@ign) => { false };
    (@ign $v:literal) => { $v };
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty = $default:expr => [$vmin:literal, $vmax:literal]
                    $(null [$nmin:literal, $nmax:literal])?
                    $(tag $tag:literal [$tmin:literal, $tmax:literal])?
                    $(ignorable: $ign:literal)?
                ;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
            /// Tagged fields this codec does not know, kept for a byte-identical re-encode.
            pub unknown_tagged_fields: Vec<$crate::primitives::RawTaggedField>,
        }

        impl $name {
            $(
                #[allow(non_upper_case_globals)]
                const $field: $crate::macros::FieldSpec = $crate::macros::FieldSpec {
                    name: stringify!($field),
                    versions: ($vmin, $vmax),
                    nullable: $crate::kafka_struct!(@range $([$nmin, $nmax])?),
                    tag: $crate::kafka_struct!(@tag $($tag [$tmin, $tmax])?),
                    ignorable: $crate::kafka_struct!(@ign $($ign)?),
                };
            )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    $($field: $default,)*
                    unknown_tagged_fields: Vec::new(),
                }
            }
        }

        impl $crate::primitives::Wire for $name {
            fn encode(
                &self,
                e: &mut $crate::primitives::Encoder,
                ctx: $crate::primitives::Ctx,
            ) -> Result<(), $crate::error::EncodeError> {
                #[allow(unused_mut)]
                let mut tagged: Vec<(u32, ::bytes::Bytes)> = Vec::new();
                $(
                    Self::$field.encode(&self.$field, || $default, e, ctx, &mut tagged)?;
                )*
                if ctx.flexible {
                    $crate::macros::finish_tagged(e, tagged, &self.unknown_tagged_fields)?;
                }
                Ok(())
            }

            fn decode(
                d: &mut $crate::primitives::Decoder,
                ctx: $crate::primitives::Ctx,
            ) -> Result<Self, $crate::error::DecodeError> {
                let mut out = Self::default();
                $(
                    Self::$field.decode(&mut out.$field, d, ctx)?;
                )*
                if ctx.flexible {
                    $crate::macros::read_tagged(d, |tag, sub| {
                        $(
                            if Self::$field.decode_tagged(tag, &mut out.$field, sub, ctx)? {
                                return Ok(true);
                            }
                        )*
                        let _ = (tag, &sub);
                        Ok(false)
                    }, &mut out.unknown_tagged_fields)?;
                }
                Ok(out)
            }

            fn normalize(&mut self, ctx: $crate::primitives::Ctx) {
                $(
                    Self::$field.normalize(&mut self.$field, || $default, ctx);
                )*
                if !ctx.flexible {
                    self.unknown_tagged_fields.clear();
                }
            }
        }

        /// A nullable struct field is preceded by a marker byte: -1 for null, 1 for a value.
        impl $crate::primitives::Nullable for $name {
            fn encode_null(
                e: &mut $crate::primitives::Encoder,
                _flexible: bool,
            ) -> Result<(), $crate::error::EncodeError> {
                e.i8(-1);
                Ok(())
            }
            fn peek_null(
                d: &$crate::primitives::Decoder,
                _flexible: bool,
            ) -> Result<bool, $crate::error::DecodeError> {
                Ok(d.clone().i8()? < 0)
            }
            fn skip_null(d: &mut $crate::primitives::Decoder, _flexible: bool) -> Result<(), $crate::error::DecodeError> {
                d.i8().map(drop)
            }
            fn encode_present(e: &mut $crate::primitives::Encoder) {
                e.i8(1);
            }
            fn decode_present(d: &mut $crate::primitives::Decoder) -> Result<(), $crate::error::DecodeError> {
                d.i8().map(drop)
            }
        }

        #[cfg(feature = "arbitrary")]
        impl $crate::arb::Arb for $name {
            fn arb(u: &mut ::arbitrary::Unstructured<'_>) -> ::arbitrary::Result<Self> {
                Ok(Self {
                    $($field: $crate::arb::Arb::arb(u)?,)*
                    unknown_tagged_fields: $crate::arb::unknown_tagged(u)?,
                })
            }
        }

        #[cfg(feature = "arbitrary")]
        impl<'a> ::arbitrary::Arbitrary<'a> for $name {
            fn arbitrary(u: &mut ::arbitrary::Unstructured<'a>) -> ::arbitrary::Result<Self> {
                $crate::arb::Arb::arb(u)
            }
        }
    };
}

/// Declares a top-level message: its API key, versions and flexible versions; `throttle` for a
/// response whose top-level `throttle_time_ms` field [`Message::throttle_time_ms`] reports.
///
/// [`Message::throttle_time_ms`]: crate::messages::Message::throttle_time_ms
#[doc(hidden)]
#[macro_export]
macro_rules! kafka_message {
    ($name:ident, key $key:literal, versions [$a:literal, $b:literal], flexible $flex:literal) => {
        impl $crate::messages::Message for $name {
            const API_KEY: i16 = $key;
            const NAME: &'static str = stringify!($name);
            const VERSIONS: $crate::messages::VersionRange = $crate::messages::VersionRange::new($a, $b);
            const FLEXIBLE_FROM: i16 = $flex;
        }
    };
    ($name:ident, key $key:literal, versions [$a:literal, $b:literal], flexible $flex:literal, throttle) => {
        impl $crate::messages::Message for $name {
            const API_KEY: i16 = $key;
            const NAME: &'static str = stringify!($name);
            const VERSIONS: $crate::messages::VersionRange = $crate::messages::VersionRange::new($a, $b);
            const FLEXIBLE_FROM: i16 = $flex;

            fn throttle_time_ms(&self) -> i32 {
                self.throttle_time_ms
            }
        }
    };
    (request $name:ident, key $key:literal, versions [$a:literal, $b:literal], flexible $flex:literal,
     response $resp:ty) => {
        $crate::kafka_message!($name, key $key, versions [$a, $b], flexible $flex);
        impl $crate::messages::Request for $name {
            type Response = $resp;
        }
    };
}

/// Writes a flexible struct's tagged fields: the known ones present and the unknown ones, by tag.
#[doc(hidden)]
pub fn finish_tagged(
    e: &mut Encoder,
    mut tagged: Vec<(u32, Bytes)>,
    unknown: &[crate::primitives::RawTaggedField],
) -> Result<(), EncodeError> {
    tagged.extend(unknown.iter().map(|u| (u.tag, u.data.clone())));
    tagged.sort_by_key(|(tag, _)| *tag);
    crate::primitives::encode_tagged(e, &tagged)
}

/// Reads a tagged-field section; `known` decodes a known tag from its payload and says whether it
/// did; the others are kept in `unknown`. Tags must be strictly ascending (KIP-482): a repeated
/// or out-of-order tag is an error, so that what decodes encodes back to the same bytes.
#[doc(hidden)]
pub fn read_tagged(
    d: &mut Decoder,
    mut known: impl FnMut(u32, &mut Decoder) -> Result<bool, DecodeError>,
    unknown: &mut Vec<crate::primitives::RawTaggedField>,
) -> Result<(), DecodeError> {
    let count = d.uvarint()?;
    let mut last = None;
    for _ in 0..count {
        let at = d.offset();
        let tag = d.uvarint()?;
        if last.is_some_and(|last| tag <= last) {
            return Err(DecodeError::new(
                DecodeErrorKind::Invalid("tagged fields out of order or repeated"),
                at,
            ));
        }
        last = Some(tag);
        let size = d.uvarint()? as usize;
        let mut sub = d.sub(size)?;
        if !known(tag, &mut sub)? {
            unknown.push(crate::primitives::RawTaggedField {
                tag,
                data: sub.take_rest(),
            });
        }
    }
    Ok(())
}
