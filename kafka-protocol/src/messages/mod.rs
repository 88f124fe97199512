//! Every message this codec speaks: one module per request and per response type, named after its
//! Kafka name, each declared once with its fields' version ranges (see [`crate::macros`]).
//!
//! Both directions of every message encode and decode, so a client and a fake broker share the code.

mod traits;
#[macro_use]
mod generated_list;

pub use traits::{Message, Request, VersionRange};

use bytes::Bytes;

use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::primitives::Decoder;

macro_rules! declare_modules {
    ($(($api:ident, $key:literal, $reqmod:ident, $req:ident, $respmod:ident, $resp:ident),)*) => {
        $(
            pub mod $reqmod;
            pub mod $respmod;
            pub use $reqmod::$req;
            pub use $respmod::$resp;
        )*

        /// A Kafka API key. Open: a key this codec does not know is kept as it is.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct ApiKey(pub i16);

        #[allow(non_upper_case_globals)]
        impl ApiKey {
            $(
                #[doc = concat!("The ", stringify!($api), " API.")]
                pub const $api: Self = Self($key);
            )*

            /// Every API key this codec speaks, with the versions it speaks.
            pub const SUPPORTED: &'static [(Self, &'static str, VersionRange)] = &[
                $((Self($key), stringify!($api), <$req as Message>::VERSIONS),)*
            ];

            /// The API's name, if this codec knows it.
            pub fn name(self) -> Option<&'static str> {
                Self::SUPPORTED.iter().find(|(k, _, _)| *k == self).map(|(_, n, _)| *n)
            }

            /// The versions this codec speaks of the API, if any.
            pub fn versions(self) -> Option<VersionRange> {
                Self::SUPPORTED.iter().find(|(k, _, _)| *k == self).map(|(_, _, v)| *v)
            }

            /// Whether requests of this API are flexible (KIP-482) at `version`.
            pub fn is_flexible(self, version: i16) -> bool {
                match self.0 {
                    $($key => <$req as Message>::is_flexible(version),)*
                    _ => false,
                }
            }
        }

        /// A decoded request body of any API.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum RequestBody {
            $(
                #[doc = concat!("A ", stringify!($req), ".")]
                $api($req),
            )*
        }

        /// A decoded response body of any API.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum ResponseBody {
            $(
                #[doc = concat!("A ", stringify!($resp), ".")]
                $api($resp),
            )*
        }

        impl RequestBody {
            /// Decodes a whole request body of `api_key` at `version`.
            pub fn decode(api_key: ApiKey, version: i16, bytes: Bytes) -> Result<Self, DecodeError> {
                let mut d = Decoder::new(bytes);
                match api_key.0 {
                    $($key => <$req as Message>::decode_from(&mut d, version).map(Self::$api),)*
                    other => Err(d.error(DecodeErrorKind::UnknownApiKey(other))),
                }
            }

            /// Encodes the body at `version`.
            pub fn encode(&self, version: i16) -> Result<Bytes, EncodeError> {
                match self {
                    $(Self::$api(m) => m.encode_to_bytes(version),)*
                }
            }

            /// The body's API key.
            pub fn api_key(&self) -> ApiKey {
                match self {
                    $(Self::$api(_) => ApiKey($key),)*
                }
            }
        }

        impl ResponseBody {
            /// Decodes a whole response body of `api_key` at `version`.
            pub fn decode(api_key: ApiKey, version: i16, bytes: Bytes) -> Result<Self, DecodeError> {
                let mut d = Decoder::new(bytes);
                match api_key.0 {
                    $($key => <$resp as Message>::decode_from(&mut d, version).map(Self::$api),)*
                    other => Err(d.error(DecodeErrorKind::UnknownApiKey(other))),
                }
            }

            /// Encodes the body at `version`.
            pub fn encode(&self, version: i16) -> Result<Bytes, EncodeError> {
                match self {
                    $(Self::$api(m) => m.encode_to_bytes(version),)*
                }
            }

            /// The body's API key.
            pub fn api_key(&self) -> ApiKey {
                match self {
                    $(Self::$api(_) => ApiKey($key),)*
                }
            }
        }
    };
}

for_each_api!(declare_modules);
