//! Frames and headers: the 4-byte length prefix, request header v0/v1/v2 and response header v0/v1.
//!
//! [`FrameDecoder`] is check-then-parse: a partial frame is "need more bytes", never an error, and a
//! declared size over the configured maximum is refused before anything is allocated for it.
//!
//! References: the Kafka protocol guide, "Common Request and Response Structure";
//! KIP-482 (header v2/v1 with tagged fields); `RequestHeader.json` and `ResponseHeader.json`.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::macros::{finish_tagged, read_tagged};
use crate::messages::{ApiKey, Message, Request, RequestBody, ResponseBody};
use crate::primitives::{Ctx, Decoder, Encoder, RawTaggedField, Wire};

/// The default largest frame: the broker's `socket.request.max.bytes` (100 MiB).
pub const DEFAULT_MAX_FRAME_SIZE: usize = 104_857_600;

/// The header of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestHeader {
    /// The API of the request.
    pub api_key: i16,
    /// The version of the request body.
    pub api_version: i16,
    /// Echoed back in the response header; matches a response to its request.
    pub correlation_id: i32,
    /// The client's id (header v1+), nullable. In v2 it stays a classic (non-compact) string.
    pub client_id: Option<String>,
    /// Unknown tagged fields (header v2).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The header of a response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseHeader {
    /// The correlation id of the request answered.
    pub correlation_id: i32,
    /// Unknown tagged fields (header v1).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The request header version for an API at a body version: 2 when the body is flexible, else 1.
pub fn request_header_version(api_key: ApiKey, api_version: i16) -> i16 {
    if api_key.is_flexible(api_version) {
        2
    } else {
        1
    }
}

/// The response header version for an API at a body version: 1 when the body is flexible, else 0.
/// ApiVersions always answers with header v0, so that a client that does not know the broker's
/// versions yet can read the answer.
pub fn response_header_version(api_key: ApiKey, api_version: i16) -> i16 {
    if api_key != ApiKey::ApiVersions && api_key.is_flexible(api_version) {
        1
    } else {
        0
    }
}

impl RequestHeader {
    /// Writes the header at `header_version` (0, 1 or 2).
    pub fn encode(&self, e: &mut Encoder, header_version: i16) -> Result<(), EncodeError> {
        e.i16(self.api_key);
        e.i16(self.api_version);
        e.i32(self.correlation_id);
        if header_version >= 1 {
            self.client_id
                .encode(e, Ctx::new(header_version, false).with_nullable(true))
                .map_err(|err| err.within("client_id"))?;
        }
        if header_version >= 2 {
            finish_tagged(e, Vec::new(), &self.unknown_tagged_fields)?;
        }
        Ok(())
    }

    /// Reads a header at `header_version` (0, 1 or 2).
    pub fn decode(d: &mut Decoder, header_version: i16) -> Result<Self, DecodeError> {
        let mut h = Self {
            api_key: d.i16().map_err(|e| e.within("api_key"))?,
            api_version: d.i16().map_err(|e| e.within("api_version"))?,
            correlation_id: d.i32().map_err(|e| e.within("correlation_id"))?,
            ..Self::default()
        };
        if header_version >= 1 {
            h.client_id = Option::<String>::decode(d, Ctx::new(header_version, false).with_nullable(true))
                .map_err(|e| e.within("client_id"))?;
        }
        if header_version >= 2 {
            read_tagged(d, |_, _| Ok(false), &mut h.unknown_tagged_fields)?;
        }
        Ok(h)
    }
}

impl ResponseHeader {
    /// Writes the header at `header_version` (0 or 1).
    pub fn encode(&self, e: &mut Encoder, header_version: i16) -> Result<(), EncodeError> {
        e.i32(self.correlation_id);
        if header_version >= 1 {
            finish_tagged(e, Vec::new(), &self.unknown_tagged_fields)?;
        }
        Ok(())
    }

    /// Reads a header at `header_version` (0 or 1).
    pub fn decode(d: &mut Decoder, header_version: i16) -> Result<Self, DecodeError> {
        let mut h = Self {
            correlation_id: d.i32().map_err(|e| e.within("correlation_id"))?,
            ..Self::default()
        };
        if header_version >= 1 {
            read_tagged(d, |_, _| Ok(false), &mut h.unknown_tagged_fields)?;
        }
        Ok(h)
    }
}

/// Runs `write` after a 4-byte length prefix and patches the prefix with what it wrote.
fn length_prefixed(
    write: impl FnOnce(&mut Encoder) -> Result<(), EncodeError>,
) -> Result<Bytes, EncodeError> {
    let mut e = Encoder::new();
    e.i32(0);
    write(&mut e)?;
    let len = e.len() - 4;
    let len = i32::try_from(len).map_err(|_| EncodeError::TooLong { field: "frame", len })?;
    let mut buf = e.into_inner();
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf.freeze())
}

/// A whole request frame, length prefix included, with the header version the body's needs.
pub fn encode_request<R: Request>(
    correlation_id: i32,
    client_id: Option<&str>,
    version: i16,
    body: &R,
) -> Result<Bytes, EncodeError> {
    let header = RequestHeader {
        api_key: R::API_KEY,
        api_version: version,
        correlation_id,
        client_id: client_id.map(str::to_owned),
        unknown_tagged_fields: Vec::new(),
    };
    length_prefixed(|e| {
        header.encode(e, request_header_version(ApiKey(R::API_KEY), version))?;
        let mut buf = std::mem::take(e.buf_mut());
        let res = body.encode_into(version, &mut buf);
        *e.buf_mut() = buf;
        res
    })
}

/// A whole response frame, length prefix included: the broker side, for the fake cluster.
pub fn encode_response<M: Message>(
    correlation_id: i32,
    version: i16,
    body: &M,
) -> Result<Bytes, EncodeError> {
    let header = ResponseHeader {
        correlation_id,
        unknown_tagged_fields: Vec::new(),
    };
    length_prefixed(|e| {
        header.encode(e, response_header_version(ApiKey(M::API_KEY), version))?;
        let mut buf = std::mem::take(e.buf_mut());
        let res = body.encode_into(version, &mut buf);
        *e.buf_mut() = buf;
        res
    })
}

/// Reads a request frame's contents (without the length prefix): the header, then the body of
/// the API and version the header names. The broker side, for the fake cluster.
pub fn decode_request(frame: Bytes) -> Result<(RequestHeader, RequestBody), DecodeError> {
    let mut d = Decoder::new(frame);
    let mut probe = d.clone();
    let api_key = ApiKey(probe.i16()?);
    let api_version = probe.i16()?;
    if api_key.versions().is_none() {
        return Err(d.error(DecodeErrorKind::UnknownApiKey(api_key.0)));
    }
    let header = RequestHeader::decode(&mut d, request_header_version(api_key, api_version))
        .map_err(|e| e.within("header"))?;
    let base = d.offset();
    let body = RequestBody::decode(api_key, api_version, d.take_rest()).map_err(|e| e.shifted(base))?;
    Ok((header, body))
}

/// Reads a response frame's contents (without the length prefix) to a request of `api_key` at
/// `version`: the header, then the body.
pub fn decode_response(
    frame: Bytes,
    api_key: ApiKey,
    version: i16,
) -> Result<(ResponseHeader, ResponseBody), DecodeError> {
    let mut d = Decoder::new(frame);
    let header = ResponseHeader::decode(&mut d, response_header_version(api_key, version))
        .map_err(|e| e.within("header"))?;
    let base = d.offset();
    let body = ResponseBody::decode(api_key, version, d.take_rest()).map_err(|e| e.shifted(base))?;
    Ok((header, body))
}

/// Splits a byte stream into frames. Sans-IO: feed it what the socket gave, take out whole frames.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_frame_size: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_SIZE)
    }
}

impl FrameDecoder {
    /// A decoder that refuses frames over `max_frame_size` bytes.
    pub fn new(max_frame_size: usize) -> Self {
        Self { max_frame_size }
    }

    /// The largest frame accepted.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// Takes the next whole frame's contents (without the length prefix) out of `buf`.
    ///
    /// `Ok(None)`: more bytes are needed; `buf` is left as it was (with room reserved for a little
    /// more of the frame, never for more than the bytes seen could justify). A negative size or one
    /// over the maximum is an error, and the stream cannot be resynchronised after it.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Bytes>, DecodeError> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let declared = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let size = usize::try_from(declared)
            .map_err(|_| DecodeError::new(DecodeErrorKind::InvalidLength(i64::from(declared)), 0))?;
        if size > self.max_frame_size {
            return Err(DecodeError::new(
                DecodeErrorKind::TooLarge {
                    limit: self.max_frame_size,
                    actual: size,
                },
                0,
            ));
        }
        if buf.len() < 4 + size {
            // Grow by at most what was already received (doubling), not by the declared size.
            let want = (4 + size - buf.len()).min(buf.len().max(4096));
            buf.reserve(want);
            return Ok(None);
        }
        buf.advance(4);
        Ok(Some(buf.split_to(size).freeze()))
    }
}

/// Appends `frame` (contents without a prefix) with its 4-byte length prefix to `out`.
pub fn write_frame(out: &mut BytesMut, frame: &[u8]) -> Result<(), EncodeError> {
    let len = i32::try_from(frame.len()).map_err(|_| EncodeError::TooLong {
        field: "frame",
        len: frame.len(),
    })?;
    out.put_i32(len);
    out.put_slice(frame);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{ApiVersionsRequest, ApiVersionsResponse, MetadataRequest};

    #[test]
    fn request_header_v1_layout_matches_the_spec() {
        let frame = encode_request(7, Some("kw"), 3, &MetadataRequest::default()).unwrap();
        // size, api key 3, version 3, correlation 7, client id "kw", then the body.
        assert_eq!(&frame[4..16], &[0, 3, 0, 3, 0, 0, 0, 7, 0, 2, b'k', b'w']);
        let size = i32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
        assert_eq!(size, frame.len() - 4);
    }

    #[test]
    fn request_header_v2_keeps_a_classic_client_id_and_adds_tagged_fields() {
        let frame = encode_request(1, Some("kw"), 3, &ApiVersionsRequest::default()).unwrap();
        assert_eq!(&frame[4..17], &[0, 18, 0, 3, 0, 0, 0, 1, 0, 2, b'k', b'w', 0]);
        let (header, body) = decode_request(frame.slice(4..)).unwrap();
        assert_eq!(header.client_id.as_deref(), Some("kw"));
        assert!(matches!(body, RequestBody::ApiVersions(_)));
    }

    #[test]
    fn header_versions_follow_each_api_s_first_flexible_version() {
        // (API, last version with header v1/v0, first with header v2/v1); -1: flexible from v0.
        let cases = [
            (ApiKey::Produce, 8, 9),
            (ApiKey::Fetch, 11, 12),
            (ApiKey::DescribeConfigs, 3, 4),
            (ApiKey::CreatePartitions, 1, 2),
            (ApiKey::DescribeCluster, -1, 0),
            (ApiKey::DescribeProducers, -1, 0),
            (ApiKey::DescribeTransactions, -1, 0),
            (ApiKey::ListTransactions, -1, 0),
        ];
        for (api, classic, flexible) in cases {
            if classic >= 0 {
                assert_eq!(request_header_version(api, classic), 1, "{api:?} v{classic}");
                assert_eq!(response_header_version(api, classic), 0, "{api:?} v{classic}");
            }
            assert_eq!(request_header_version(api, flexible), 2, "{api:?} v{flexible}");
            assert_eq!(response_header_version(api, flexible), 1, "{api:?} v{flexible}");
        }
    }

    #[test]
    fn api_versions_response_header_is_always_v0() {
        assert_eq!(response_header_version(ApiKey::ApiVersions, 3), 0);
        assert_eq!(response_header_version(ApiKey::Metadata, 9), 1);
        assert_eq!(response_header_version(ApiKey::Metadata, 8), 0);
        let frame = encode_response(9, 3, &ApiVersionsResponse::default()).unwrap();
        let (header, _) = decode_response(frame.slice(4..), ApiKey::ApiVersions, 3).unwrap();
        assert_eq!(header.correlation_id, 9);
    }

    #[test]
    fn frame_decoder_waits_for_a_whole_frame() {
        let dec = FrameDecoder::new(64);
        let mut buf = BytesMut::from(&[0u8, 0, 0, 3, 1, 2][..]);
        assert_eq!(dec.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(&[3, 0, 0]);
        assert_eq!(dec.decode(&mut buf).unwrap().as_deref(), Some(&[1u8, 2, 3][..]));
        assert_eq!(&buf[..], &[0, 0]);
    }

    #[test]
    fn frame_decoder_refuses_oversized_and_negative_sizes_before_allocating() {
        let dec = FrameDecoder::new(1024);
        let mut buf = BytesMut::from(&0x7fff_ffffi32.to_be_bytes()[..]);
        let err = dec.decode(&mut buf).unwrap_err();
        assert_eq!(
            err.kind(),
            &DecodeErrorKind::TooLarge {
                limit: 1024,
                actual: 0x7fff_ffff
            }
        );
        assert!(buf.capacity() < 1024);
        let mut buf = BytesMut::from(&(-5i32).to_be_bytes()[..]);
        assert_eq!(
            dec.decode(&mut buf).unwrap_err().kind(),
            &DecodeErrorKind::InvalidLength(-5)
        );
    }

    #[test]
    fn a_partial_frame_reserves_no_more_than_it_has_seen() {
        let dec = FrameDecoder::new(DEFAULT_MAX_FRAME_SIZE);
        let mut buf = BytesMut::with_capacity(8);
        buf.extend_from_slice(&100_000_000i32.to_be_bytes());
        assert_eq!(dec.decode(&mut buf).unwrap(), None);
        assert!(buf.capacity() <= 8192, "reserved {}", buf.capacity());
    }
}
