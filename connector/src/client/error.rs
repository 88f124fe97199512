//! The client's errors, in layers: the connection to a broker, the protocol's bytes, the broker's
//! own answer (the Kafka error by name, with the request, topic and partition), what the client
//! itself decided (its own timeouts, a closed producer, an invalid argument), and transactions.
//! [`Error`] holds one of them, and says whether a retry may help.
//!
//! ```
//! use kwire_connector::client::{BrokerError, Error};
//! use kwire_protocol::ErrorCode;
//!
//! fn describe(e: &Error) -> &'static str {
//!     match e {
//!         Error::Broker(BrokerError { code, .. }) if *code == ErrorCode::TOPIC_AUTHORIZATION_FAILED => {
//!             "not allowed"
//!         }
//!         Error::Connection(_) => "the broker could not be reached",
//!         _ if e.is_retriable() => "try again",
//!         _ => "failed",
//!     }
//! }
//! # let _ = describe;
//! ```

use std::sync::Arc;
use std::time::Duration;

use kwire_protocol::records::BatchEncodeError;
use kwire_protocol::{DecodeError, EncodeError, ErrorCode};

/// A client failure: which layer it comes from, and in it what failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Talking to a broker failed: the socket, TLS, a closed connection, no answer in time.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The bytes: a request that cannot be encoded, a response or record batch that cannot be
    /// read, or one that breaks the protocol's rules.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The broker answered with an error code.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// The client's own decision: its timeouts, a closed producer, an invalid argument.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A transaction cannot go on as asked.
    #[error(transparent)]
    Transaction(#[from] TransactionError),
}

/// Talking to a broker failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// A socket error talking to a broker.
    #[error("network error with broker {broker}: {source}")]
    Io {
        /// The broker's address.
        broker: String,
        /// The IO error.
        source: Arc<std::io::Error>,
    },
    /// The TLS handshake with a broker failed (an untrusted or mismatched certificate, no common
    /// protocol version, or a plaintext listener).
    #[error("TLS handshake with broker {broker} failed: {reason}")]
    Tls {
        /// The broker's address.
        broker: String,
        /// What the TLS layer said.
        reason: String,
    },
    /// SASL authentication with a broker failed: a mechanism it does not enable, a wrong
    /// password or unknown user (the broker's own message), a listener without SASL, or a SCRAM
    /// server whose answers do not hold up.
    #[error("SASL {mechanism} authentication with broker {broker} failed: {reason}")]
    Sasl {
        /// The broker's address.
        broker: String,
        /// The mechanism.
        mechanism: &'static str,
        /// Why, with the broker's error name and message when it sent them.
        reason: String,
    },
    /// The connection closed while a request waited, or had closed before it was sent.
    #[error("connection to {broker} closed: {reason}")]
    Closed {
        /// The broker's address.
        broker: String,
        /// Why.
        reason: String,
    },
    /// A request, or the setup of a connection, got no answer in time.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// What timed out, naming the request and the broker.
        what: String,
        /// After how long.
        after: Duration,
    },
    /// No bootstrap broker could be reached.
    #[error("no broker reachable in {bootstrap}: {last}")]
    NoBrokerReachable {
        /// The bootstrap list.
        bootstrap: String,
        /// The last error met.
        last: String,
    },
}

/// The bytes of a request or response.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A response could not be decoded.
    #[error("malformed {api} response: {source}")]
    Decode {
        /// The API.
        api: &'static str,
        /// The decode error.
        source: DecodeError,
    },
    /// A request could not be encoded.
    #[error("cannot encode {api} request: {source}")]
    Encode {
        /// The API.
        api: &'static str,
        /// The encode error.
        source: EncodeError,
    },
    /// The broker and this client share no version of an API.
    #[error("broker {broker} offers no version of {api} that this client speaks")]
    UnsupportedVersion {
        /// The API.
        api: &'static str,
        /// The broker's address.
        broker: String,
    },
    /// A response decoded but holds a value no broker may send (a negative partition id, say).
    #[error("invalid {api} response from broker {broker}: {reason}")]
    InvalidResponse {
        /// The API.
        api: &'static str,
        /// The broker's address.
        broker: String,
        /// What is wrong, naming the topic and partition.
        reason: String,
    },
    /// A record batch in a response could not be read.
    #[error("bad records from {topic}-{partition}: {source}")]
    Records {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The decode error.
        source: DecodeError,
    },
    /// A partition has records at a position, by its high watermark, but the broker returns none
    /// there, nor from any offset up to 100,000 before it.
    #[error("cannot read {topic}-{partition} at offset {offset}: the broker returns no records there although its high watermark is {high_watermark} (tansu does so inside a record batch, see docs/interop.md)")]
    Unreadable {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The position.
        offset: i64,
        /// The partition's high watermark.
        high_watermark: i64,
    },
    /// A record batch could not be encoded (a field over its length limit, a codec left out of
    /// this build): its records are not sent.
    #[error("cannot encode a record batch for {topic}-{partition}: {source}")]
    BatchEncode {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// Why.
        source: BatchEncodeError,
    },
}

/// The broker answered with an error code: the Kafka error by name, with the request and, when
/// the error is about one, the topic and partition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{api} failed{}: {code}", location(.topic, .partition))]
pub struct BrokerError {
    /// The API.
    pub api: &'static str,
    /// The topic, when the error is about one.
    pub topic: Option<String>,
    /// The partition, when the error is about one.
    pub partition: Option<i32>,
    /// The broker's error.
    pub code: ErrorCode,
    /// The broker's error message, when it sent one.
    pub message: Option<String>,
}

/// What the client decided on its own.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A wait of the client's own ran out: the producer's buffer memory or delivery timeout.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// What timed out.
        what: String,
        /// After how long.
        after: Duration,
    },
    /// A partition has no leader the client can reach.
    #[error("no leader for {topic}-{partition}")]
    NoLeader {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
    },
    /// A broker id (a leader or coordinator) that the cluster's metadata does not list, even
    /// after asking again: the metadata is behind the broker that named it. Retriable.
    #[error("broker {id} is not in the cluster's metadata (asked again, still missing)")]
    UnknownBroker {
        /// The broker id.
        id: i32,
    },
    /// A retriable error persisted until the deadline.
    #[error("gave up after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// How many attempts were made.
        attempts: u32,
        /// The last error.
        last: Box<Error>,
    },
    /// Every handle to the producer was dropped before the record was acknowledged: it is not
    /// sent (or not sent again after a retriable error).
    #[error("the producer was dropped before the record was acknowledged; it is not sent")]
    ProducerDropped,
    /// The producer was closed: nothing more is sent.
    #[error("the producer is closed")]
    ProducerClosed,
    /// A record is larger than the producer's max request size: it is not sent.
    #[error("a record for {topic}-{partition} is {size} bytes serialized, over the producer's max request size of {limit}")]
    RecordTooLarge {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The record's size in a batch of its own.
        size: usize,
        /// The producer's max request size.
        limit: usize,
    },
    /// The broker answered OFFSET_OUT_OF_RANGE for a position the consumer's policy does not
    /// reset ([`super::OutOfRangePolicy`]).
    #[error("Fetch failed for {topic}-{partition} at offset {offset}: OFFSET_OUT_OF_RANGE ({})", match .why {
        super::OutOfRange::Deleted => "before the log start: the records were deleted",
        super::OutOfRange::NotYetWritten => "past the log end: not yet written",
    })]
    OffsetOutOfRange {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The position asked for.
        offset: i64,
        /// Which side of the log it is on.
        why: super::OutOfRange,
    },
    /// A task of the client's own ended without its result (it panicked or was cancelled).
    #[error("a client task failed: {0}")]
    TaskFailed(String),
    /// The caller asked for something the client cannot do.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// A transaction cannot go on as asked.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TransactionError {
    /// A record of the open transaction failed, so the transaction cannot commit: it can only be
    /// aborted (the Java client's abortable error). Holds the first failure.
    #[error("the transaction cannot commit, abort it: a record for {topic}-{partition} failed: {source}")]
    Failed {
        /// The failed record's topic.
        topic: String,
        /// The failed record's partition.
        partition: i32,
        /// Why it failed.
        source: Box<Error>,
    },
    /// A transactional call made when the producer's state does not allow it.
    #[error("{call}: {why}")]
    State {
        /// The call (`begin_transaction`, `send`, ...).
        call: &'static str,
        /// What is in the way.
        why: &'static str,
    },
    /// The transaction the record was part of was aborted before the record was sent.
    #[error("the transaction was aborted before the record was sent")]
    Aborted,
}

fn location(topic: &Option<String>, partition: &Option<i32>) -> String {
    match (topic, partition) {
        (Some(t), Some(p)) => format!(" for {t}-{p}"),
        (Some(t), None) => format!(" for {t}"),
        _ => String::new(),
    }
}

impl Error {
    /// A broker error of `api` with no topic.
    pub fn broker(api: &'static str, code: ErrorCode) -> Self {
        Self::Broker(BrokerError {
            api,
            topic: None,
            partition: None,
            code,
            message: None,
        })
    }

    /// A broker error about `topic` (and `partition`).
    pub fn broker_at(api: &'static str, code: ErrorCode, topic: &str, partition: Option<i32>) -> Self {
        Self::Broker(BrokerError {
            api,
            topic: Some(topic.to_owned()),
            partition,
            code,
            message: None,
        })
    }

    /// The broker's error code, when the broker answered with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Broker(b) => Some(b.code),
            _ => None,
        }
    }

    /// Whether trying again (after a metadata refresh and a backoff) may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::Connection(c) => !matches!(
                c,
                ConnectionError::Tls { .. }
                    | ConnectionError::Sasl { .. }
                    | ConnectionError::NoBrokerReachable { .. }
            ),
            Self::Client(
                ClientError::Timeout { .. }
                | ClientError::NoLeader { .. }
                | ClientError::UnknownBroker { .. },
            ) => true,
            Self::Broker(b) => b.code.is_retriable(),
            _ => false,
        }
    }

    /// Whether the request was lost with its connection (closed, reset, or no answer in time):
    /// a request that is safe to repeat may be sent again on a new one.
    pub fn is_connection_error(&self) -> bool {
        matches!(
            self,
            Self::Connection(
                ConnectionError::Io { .. } | ConnectionError::Closed { .. } | ConnectionError::Timeout { .. }
            )
        )
    }

    /// Whether the error means the client's view of leaders is stale.
    pub fn needs_metadata_refresh(&self) -> bool {
        match self {
            Self::Broker(b) => matches!(
                b.code,
                ErrorCode::NOT_LEADER_OR_FOLLOWER
                    | ErrorCode::LEADER_NOT_AVAILABLE
                    | ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                    | ErrorCode::FENCED_LEADER_EPOCH
                    | ErrorCode::UNKNOWN_LEADER_EPOCH
                    | ErrorCode::NOT_CONTROLLER
                    | ErrorCode::NOT_COORDINATOR
                    | ErrorCode::COORDINATOR_NOT_AVAILABLE
            ),
            Self::Connection(ConnectionError::Io { .. } | ConnectionError::Closed { .. })
            | Self::Client(ClientError::NoLeader { .. } | ClientError::UnknownBroker { .. }) => true,
            _ => false,
        }
    }
}
