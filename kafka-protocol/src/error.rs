//! Errors of the codec: what went wrong while decoding or encoding, and where.

use std::fmt;

/// Why a byte string could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before the value did.
    #[error("unexpected end of input: needed {needed} bytes, {remaining} left")]
    UnexpectedEof {
        /// Bytes the value needs.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A length or count below -1, or -1 where null is not allowed.
    #[error("invalid length {0}")]
    InvalidLength(i64),
    /// A null (length -1) in a field that is not nullable at this version.
    #[error("null in a non-nullable field")]
    NullNotAllowed,
    /// A varint longer than its type allows.
    #[error("varint longer than {max_bytes} bytes")]
    VarintTooLong {
        /// The most bytes the varint may have.
        max_bytes: usize,
    },
    /// A string that is not UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// Bytes left over after a complete value.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// A version this codec does not speak for the API.
    #[error("api key {api_key} version {version} is not supported")]
    UnsupportedVersion {
        /// The API key.
        api_key: i16,
        /// The version asked for.
        version: i16,
    },
    /// An API key this codec does not know.
    #[error("unknown api key {0}")]
    UnknownApiKey(i16),
    /// A negative version of a versioned data struct (the consumer protocol's).
    #[error("negative version {0} of a versioned struct")]
    NegativeVersion(i16),
    /// A size over the configured limit.
    #[error("size {actual} is over the limit {limit}")]
    TooLarge {
        /// The limit.
        limit: usize,
        /// The size met.
        actual: usize,
    },
    /// A record batch whose CRC does not match its bytes.
    #[error("CRC mismatch: the batch says {expected:#010x}, its bytes give {actual:#010x}")]
    CrcMismatch {
        /// The CRC stored in the batch.
        expected: u32,
        /// The CRC computed over the batch.
        actual: u32,
    },
    /// A record batch or message with a magic byte this codec does not read.
    #[error("unsupported magic byte {0}")]
    InvalidMagic(i8),
    /// A compression codec id this codec does not know.
    #[error("unknown compression codec {0}")]
    UnknownCompression(u8),
    /// Compressed data that could not be decompressed.
    #[error("decompression failed: {0}")]
    Decompress(String),
    /// A value that breaks a rule of the protocol.
    #[error("{0}")]
    Invalid(&'static str),
    /// A record batch compressed with a codec this build leaves out: the data may be fine, but the
    /// crate was built without the codec's cargo feature (`compression-gzip`, `-snappy`, `-lz4`,
    /// `-zstd`). Holds the codec's name.
    #[error("compression codec {0} is not enabled in this build (cargo feature compression-{0})")]
    CompressionUnavailable(&'static str),
}

/// A decode failure: what went wrong, at which byte offset, inside which field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    kind: DecodeErrorKind,
    offset: usize,
    path: Vec<&'static str>,
}

impl DecodeError {
    /// A new error of `kind` at byte `offset` of the input.
    pub fn new(kind: DecodeErrorKind, offset: usize) -> Self {
        Self {
            kind,
            offset,
            path: Vec::new(),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.kind
    }

    /// The byte offset in the decoded input where it went wrong.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The field path, outermost first, e.g. `responses.partitions.records`.
    pub fn path(&self) -> String {
        let mut parts: Vec<&str> = self.path.clone();
        parts.reverse();
        parts.join(".")
    }

    /// Adds the enclosing field's name; called on the way out of a nested decode.
    #[must_use]
    pub fn within(mut self, field: &'static str) -> Self {
        self.path.push(field);
        self
    }

    /// Moves the offset by `base`, for an error found in a sub-slice that starts at `base`.
    #[must_use]
    pub fn shifted(mut self, base: usize) -> Self {
        self.offset += base;
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.offset)?;
        if !self.path.is_empty() {
            write!(f, " in {}", self.path())?;
        }
        Ok(())
    }
}

impl std::error::Error for DecodeError {}

/// Why a value could not be encoded at the version asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A field holds a non-default value but the version has no such field.
    #[error("field {field} is not available in version {version}")]
    FieldNotAvailable {
        /// The field's name.
        field: &'static str,
        /// The version being encoded.
        version: i16,
    },
    /// A field is null but the version does not allow null there.
    #[error("field {field} may not be null in version {version}")]
    NullNotAllowed {
        /// The field's name.
        field: &'static str,
        /// The version being encoded.
        version: i16,
    },
    /// The message does not exist at this version.
    #[error("api key {api_key} has no version {version} in this codec")]
    UnsupportedVersion {
        /// The API key.
        api_key: i16,
        /// The version asked for.
        version: i16,
    },
    /// A string, byte string or array longer than its length prefix can say.
    #[error("field {field} is {len} long, more than its length prefix can hold")]
    TooLong {
        /// The field's name.
        field: &'static str,
        /// Its length.
        len: usize,
    },
}

impl EncodeError {
    /// Names the field an inner error came from, when the inner error did not know it.
    #[must_use]
    pub fn within(self, field: &'static str) -> Self {
        match self {
            Self::NullNotAllowed { field: "", version } => Self::NullNotAllowed { field, version },
            Self::TooLong { field: "", len } => Self::TooLong { field, len },
            other => other,
        }
    }
}
