//! Arbitrary values of every field type, for property tests and structured fuzzing.
//!
//! Values are small (arrays of at most four elements) so that nested messages stay cheap, and never
//! NaN (so that a decoded value compares equal to the one encoded).

use arbitrary::{Arbitrary, Result, Unstructured};
use bytes::Bytes;

use crate::primitives::{RawTaggedField, Uuid};

/// A type that can be made from unstructured bytes.
pub trait Arb: Sized {
    /// A value drawn from `u`.
    fn arb(u: &mut Unstructured<'_>) -> Result<Self>;
}

macro_rules! arb_via_arbitrary {
    ($($t:ty),*) => {$(
        impl Arb for $t {
            fn arb(u: &mut Unstructured<'_>) -> Result<Self> {
                <$t as Arbitrary>::arbitrary(u)
            }
        }
    )*};
}

arb_via_arbitrary!(i8, i16, i32, i64, u16, u32, bool);

impl Arb for Uuid {
    fn arb(u: &mut Unstructured<'_>) -> Result<Self> {
        Ok(Self(<[u8; 16]>::arbitrary(u)?))
    }
}

impl Arb for f64 {
    fn arb(u: &mut Unstructured<'_>) -> Result<Self> {
        Ok(Self::from(i32::arbitrary(u)?) / 8.0)
    }
}

impl Arb for String {
    fn arb(u: &mut Unstructured<'_>) -> Result<Self> {
        let s = <&str as Arbitrary>::arbitrary(u)?;
        Ok(s.chars().take(24).collect())
    }
}

impl Arb for Bytes {
    fn arb(u: &mut Unstructured<'_>) -> Result<Self> {
        let len = u.int_in_range(0..=48)?;
        Ok(Self::copy_from_slice(u.bytes(len.min(u.len()))?))
    }
}

impl<T: Arb> Arb for Vec<T> {
    fn arb(u: &mut Unstructured<'_>) -> Result<Self> {
        let n = u.int_in_range(0..=4)?;
        let mut out = Self::with_capacity(n);
        for _ in 0..n {
            if u.is_empty() {
                break;
            }
            out.push(T::arb(u)?);
        }
        Ok(out)
    }
}

impl<T: Arb> Arb for Option<T> {
    fn arb(u: &mut Unstructured<'_>) -> Result<Self> {
        if u.ratio(1, 5)? {
            Ok(None)
        } else {
            T::arb(u).map(Some)
        }
    }
}

/// Up to two unknown tagged fields, with tags far above any the specs use, sorted and distinct.
pub fn unknown_tagged(u: &mut Unstructured<'_>) -> Result<Vec<RawTaggedField>> {
    let n = u.int_in_range(0..=2)?;
    let mut out = Vec::with_capacity(n);
    let mut tag = 10_000u32;
    for _ in 0..n {
        tag += u32::from(u.int_in_range(1..=100u8)?);
        out.push(RawTaggedField {
            tag,
            data: Bytes::arb(u)?,
        });
    }
    Ok(out)
}
