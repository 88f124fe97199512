//! Control records: the records of control batches, which no consumer hands to the application.
//!
//! ```text
//! key   => version int16 (0), type int16 (0 abort, 1 commit, 2.. KRaft's own)
//! value => version int16 (0), coordinatorEpoch int32          (commit and abort markers)
//! ```
//!
//! A transaction coordinator has every partition of a transaction write one marker, commit or
//! abort, in a control batch with the producer's id and epoch; a `read_committed` consumer drops
//! the records of aborted transactions up to the abort marker, and every consumer skips the
//! marker itself (its offset still counts).
//!
//! References: KIP-98 (transaction markers); Apache Kafka's `ControlRecordType.java` and
//! `EndTransactionMarker.java`; KIP-595 (KRaft's leader-change control records, kept here as
//! [`ControlRecord::Other`]).

use bytes::{BufMut, Bytes, BytesMut};

use super::reader::Reader;
use super::{Record, RecordView};
use crate::error::{DecodeError, DecodeErrorKind};

/// A typed control record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ControlRecord {
    /// The transaction was aborted: a `read_committed` consumer drops its records.
    Abort {
        /// The epoch of the transaction coordinator that wrote the marker.
        coordinator_epoch: i32,
    },
    /// The transaction was committed.
    Commit {
        /// The epoch of the transaction coordinator that wrote the marker.
        coordinator_epoch: i32,
    },
    /// Another control record type (KRaft's leader change, snapshot header/footer, ...), kept raw.
    Other {
        /// The control record type from the key.
        kind: i16,
        /// The key's version.
        key_version: i16,
        /// The value, undecoded.
        value: Option<Bytes>,
    },
}

impl ControlRecord {
    /// The control type of an abort marker.
    pub const ABORT: i16 = 0;
    /// The control type of a commit marker.
    pub const COMMIT: i16 = 1;

    /// Decodes the control record `record` of a control batch. Versions newer than 0 are read
    /// as far as version 0 goes, as the Java client does.
    pub fn decode(record: &Record) -> Result<Self, DecodeError> {
        Self::decode_parts(record.key.as_deref(), record.value.as_deref(), || {
            record.value.clone()
        })
    }

    /// Decodes the control record `record` of a control batch's view, as [`Self::decode`].
    pub(crate) fn decode_view(record: &RecordView<'_>) -> Result<Self, DecodeError> {
        Self::decode_parts(record.key, record.value, || record.value_bytes())
    }

    /// Decodes a control record from its key and value; `value_bytes` gives the value as owned
    /// bytes, kept by [`Self::Other`].
    fn decode_parts(
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        value_bytes: impl FnOnce() -> Option<Bytes>,
    ) -> Result<Self, DecodeError> {
        let key =
            key.ok_or_else(|| DecodeError::new(DecodeErrorKind::Invalid("control record without a key"), 0))?;
        let mut k = Reader::new(key, 0);
        let key_version = k.i16().map_err(|e| e.within("key"))?;
        if key_version < 0 {
            return Err(
                DecodeError::new(DecodeErrorKind::Invalid("negative control record key version"), 0)
                    .within("key"),
            );
        }
        let kind = k.i16().map_err(|e| e.within("key"))?;
        if kind != Self::ABORT && kind != Self::COMMIT {
            return Ok(Self::Other {
                kind,
                key_version,
                value: value_bytes(),
            });
        }
        let value = value.ok_or_else(|| {
            DecodeError::new(DecodeErrorKind::Invalid("transaction marker without a value"), 0)
        })?;
        let mut v = Reader::new(value, 0);
        let value_version = v.i16().map_err(|e| e.within("value"))?;
        if value_version < 0 {
            return Err(
                DecodeError::new(DecodeErrorKind::Invalid("negative transaction marker version"), 0)
                    .within("value"),
            );
        }
        let coordinator_epoch = v.i32().map_err(|e| e.within("value"))?;
        Ok(if kind == Self::ABORT {
            Self::Abort { coordinator_epoch }
        } else {
            Self::Commit { coordinator_epoch }
        })
    }

    /// The record that carries this control record (version 0 key and value), at offset delta 0.
    pub fn to_record(&self) -> Record {
        let (kind, key_version, value) = match self {
            Self::Abort { coordinator_epoch } => (Self::ABORT, 0, Some(marker_value(*coordinator_epoch))),
            Self::Commit { coordinator_epoch } => (Self::COMMIT, 0, Some(marker_value(*coordinator_epoch))),
            Self::Other {
                kind,
                key_version,
                value,
            } => (*kind, *key_version, value.clone()),
        };
        let mut key = BytesMut::with_capacity(4);
        key.put_i16(key_version);
        key.put_i16(kind);
        Record {
            key: Some(key.freeze()),
            value,
            ..Record::default()
        }
    }
}

fn marker_value(coordinator_epoch: i32) -> Bytes {
    let mut value = BytesMut::with_capacity(6);
    value.put_i16(0);
    value.put_i32(coordinator_epoch);
    value.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_roundtrip_through_records() {
        for marker in [
            ControlRecord::Abort { coordinator_epoch: 7 },
            ControlRecord::Commit {
                coordinator_epoch: -1,
            },
            ControlRecord::Other {
                kind: 2,
                key_version: 0,
                value: Some(Bytes::from_static(b"\x00\x00leader")),
            },
        ] {
            assert_eq!(ControlRecord::decode(&marker.to_record()).unwrap(), marker);
        }
    }

    #[test]
    fn commit_marker_bytes_are_the_spec_layout() {
        let r = ControlRecord::Commit {
            coordinator_epoch: 0x0102_0304,
        }
        .to_record();
        assert_eq!(r.key.as_deref(), Some(&[0, 0, 0, 1][..]));
        assert_eq!(r.value.as_deref(), Some(&[0, 0, 1, 2, 3, 4][..]));
    }

    #[test]
    fn broken_markers_are_errors() {
        let mut r = ControlRecord::Abort { coordinator_epoch: 1 }.to_record();
        r.value = Some(Bytes::from_static(&[0, 0, 1]));
        assert!(ControlRecord::decode(&r).is_err());
        r.value = None;
        assert!(ControlRecord::decode(&r).is_err());
        r.key = Some(Bytes::from_static(&[0xff, 0xff, 0, 0]));
        assert!(ControlRecord::decode(&r).is_err());
        r.key = None;
        assert!(ControlRecord::decode(&r).is_err());
        // A newer value version with more fields still reads.
        r.key = Some(Bytes::from_static(&[0, 0, 0, 0]));
        r.value = Some(Bytes::from_static(&[0, 1, 0, 0, 0, 9, 0xaa]));
        assert_eq!(
            ControlRecord::decode(&r).unwrap(),
            ControlRecord::Abort { coordinator_epoch: 9 }
        );
    }
}
