//! kwire-protocol: a sans-IO codec of the Kafka wire protocol.
//!
//! Bytes in, typed messages out, and back: no sockets, no clock, no panics on hostile input.
//!
//! ```
//! use kwire_protocol::messages::{Message, metadata_request::MetadataRequest};
//!
//! let req = MetadataRequest::default();
//! let body = req.encode_to_bytes(12).unwrap();
//! let back = MetadataRequest::decode_bytes(body, 12).unwrap();
//! assert_eq!(req, back);
//! ```
//!
//! References: the Kafka protocol guide (kafka.apache.org/protocol), the message specs under
//! `clients/src/main/resources/common/message/` in Apache Kafka, KIP-482 (flexible versions).

#![forbid(unsafe_code)]

#[cfg(feature = "arbitrary")]
pub mod arb;
pub mod consumer_protocol;
pub mod error;
pub mod error_code;
pub mod frame;
#[doc(hidden)]
pub mod macros;
pub mod messages;
pub mod primitives;
pub mod records;
#[cfg(feature = "sasl")]
pub mod sasl;

pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use error_code::ErrorCode;
pub use primitives::{Ctx, Decoder, Encoder, RawTaggedField, Uuid, Wire};
