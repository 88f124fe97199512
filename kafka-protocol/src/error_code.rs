//! Kafka protocol error codes: the `error_code` fields of responses.
//!
//! [`ErrorCode`] is open (it keeps a code this crate does not know, such as one a newer broker
//! sends) and names every code of the protocol as an associated constant, spelt as in the Java
//! client's `Errors` enum: `ErrorCode::NOT_LEADER_OR_FOLLOWER`. Each known code says whether it is
//! retriable, that is whether the Java client's exception for it is a `RetriableException`
//! (`InvalidMetadataException` included, which also calls for a metadata refresh).
//!
//! ```
//! use kwire_protocol::ErrorCode;
//!
//! let err = ErrorCode::from(6);
//! assert_eq!(err, ErrorCode::NOT_LEADER_OR_FOLLOWER);
//! assert!(err.is_retriable());
//! assert_eq!(err.to_string(), "NOT_LEADER_OR_FOLLOWER (6)");
//! assert_eq!(ErrorCode(9999).to_string(), "UNKNOWN(9999)");
//! assert!(ErrorCode::NONE.into_result().is_ok());
//! ```
//!
//! References: the "Error Codes" section of the Kafka protocol guide (kafka.apache.org/protocol);
//! `clients/src/main/java/org/apache/kafka/common/protocol/Errors.java` in Apache Kafka.

use std::fmt;

/// An error code as a Kafka response carries it (an int16). `0` ([`ErrorCode::NONE`]) is success.
///
/// Open: any `i16` is a valid value, and a code this crate does not know keeps its number (its
/// [`name`](Self::name) is `None`, it is not retriable, and it displays as `UNKNOWN(code)`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ErrorCode(pub i16);

/// One row of the table: what this crate knows of a code.
struct Entry {
    code: i16,
    name: &'static str,
    retriable: bool,
    description: &'static str,
}

/// Declares every known code once: its number, its Kafka name, whether it is retriable, and a
/// short description. Rows must stay sorted by code (a test checks it; lookups rely on it).
macro_rules! error_codes {
    (@retriable true) => { " Retriable." };
    (@retriable false) => { "" };
    ($(($code:literal, $name:ident, $retriable:tt, $desc:literal),)*) => {
        impl ErrorCode {
            $(
                #[doc = concat!(
                    "`", stringify!($name), "` (", stringify!($code), "): ", $desc,
                    error_codes!(@retriable $retriable)
                )]
                pub const $name: Self = Self($code);
            )*

            /// Every code this crate knows, by increasing number.
            pub const ALL: &'static [Self] = &[$(Self::$name,)*];
        }

        const TABLE: &[Entry] = &[
            $(Entry { code: $code, name: stringify!($name), retriable: $retriable, description: $desc },)*
        ];
    };
}

error_codes! {
    (-1, UNKNOWN_SERVER_ERROR, false, "The broker failed in an unexpected way while handling the request."),
    (0, NONE, false, "No error: the operation succeeded."),
    (1, OFFSET_OUT_OF_RANGE, false, "The offset asked for is outside the range the partition's log holds."),
    (2, CORRUPT_MESSAGE, true,
        "A message failed its CRC check, is too large, has a null key on a compacted topic, or is corrupt."),
    (3, UNKNOWN_TOPIC_OR_PARTITION, true,
        "The broker does not host this topic or partition (it may not exist yet)."),
    (4, INVALID_FETCH_SIZE, false, "The fetch size in the request is not valid."),
    (5, LEADER_NOT_AVAILABLE, true,
        "The partition has no leader at the moment, usually because an election is under way."),
    (6, NOT_LEADER_OR_FOLLOWER, true,
        "The broker is not the partition's leader (or not one of its replicas); refresh metadata and retry."),
    (7, REQUEST_TIMED_OUT, true, "The request did not complete within its timeout."),
    (8, BROKER_NOT_AVAILABLE, false, "The broker is not available."),
    (9, REPLICA_NOT_AVAILABLE, true, "The replica is not available for the partition."),
    (10, MESSAGE_TOO_LARGE, false, "A message is larger than the broker's maximum message size."),
    (11, STALE_CONTROLLER_EPOCH, false,
        "The request carried an old controller epoch: the controller has moved."),
    (12, OFFSET_METADATA_TOO_LARGE, false, "The metadata string of an offset commit is too large."),
    (13, NETWORK_EXCEPTION, true, "The connection was lost before a response arrived."),
    (14, COORDINATOR_LOAD_IN_PROGRESS, true,
        "The coordinator is still loading its state and cannot serve requests yet."),
    (15, COORDINATOR_NOT_AVAILABLE, true, "No coordinator is available for the group or transaction."),
    (16, NOT_COORDINATOR, true, "This broker is not the coordinator for the group or transaction."),
    (17, INVALID_TOPIC_EXCEPTION, false,
        "The topic name is not valid, or the operation is not allowed on this topic."),
    (18, RECORD_LIST_TOO_LARGE, false, "A record batch is larger than the broker's segment size."),
    (19, NOT_ENOUGH_REPLICAS, true,
        "Fewer replicas are in sync than min.insync.replicas requires; the write was refused."),
    (20, NOT_ENOUGH_REPLICAS_AFTER_APPEND, true,
        "The write was appended but fewer replicas are in sync than required."),
    (21, INVALID_REQUIRED_ACKS, false, "The acks value of a produce request is not one of -1, 0 or 1."),
    (22, ILLEGAL_GENERATION, false, "The group generation in the request is not the current one."),
    (23, INCONSISTENT_GROUP_PROTOCOL, false, "The member's group protocols do not match those of the group."),
    (24, INVALID_GROUP_ID, false, "The group id is not valid."),
    (25, UNKNOWN_MEMBER_ID, false, "The coordinator does not know this member id."),
    (26, INVALID_SESSION_TIMEOUT, false, "The session timeout is outside the range the broker allows."),
    (27, REBALANCE_IN_PROGRESS, false, "The group is rebalancing; the member must rejoin."),
    (28, INVALID_COMMIT_OFFSET_SIZE, false, "The size of the committed offset data is not valid."),
    (29, TOPIC_AUTHORIZATION_FAILED, false, "Not authorized to access the topic."),
    (30, GROUP_AUTHORIZATION_FAILED, false, "Not authorized to access the group."),
    (31, CLUSTER_AUTHORIZATION_FAILED, false, "Not authorized to perform the cluster operation."),
    (32, INVALID_TIMESTAMP, false, "A record timestamp is outside the range the broker accepts."),
    (33, UNSUPPORTED_SASL_MECHANISM, false, "The broker does not support the SASL mechanism asked for."),
    (34, ILLEGAL_SASL_STATE, false, "The request is not valid in the current SASL state."),
    (35, UNSUPPORTED_VERSION, false, "The broker does not support this API version."),
    (36, TOPIC_ALREADY_EXISTS, false, "A topic with this name already exists."),
    (37, INVALID_PARTITIONS, false, "The number of partitions is not valid."),
    (38, INVALID_REPLICATION_FACTOR, false, "The replication factor is not valid for the cluster."),
    (39, INVALID_REPLICA_ASSIGNMENT, false, "The replica assignment is not valid."),
    (40, INVALID_CONFIG, false, "The configuration is not valid."),
    (41, NOT_CONTROLLER, true, "This broker is not the active controller."),
    (42, INVALID_REQUEST, false, "The request is malformed or otherwise not valid."),
    (43, UNSUPPORTED_FOR_MESSAGE_FORMAT, false,
        "The broker's message format version does not support the request."),
    (44, POLICY_VIOLATION, false, "The request breaks a policy configured on the broker."),
    (45, OUT_OF_ORDER_SEQUENCE_NUMBER, false, "The broker received a produce sequence number out of order."),
    (46, DUPLICATE_SEQUENCE_NUMBER, false, "The broker received a duplicate produce sequence number."),
    (47, INVALID_PRODUCER_EPOCH, false, "The producer epoch is older than the current one."),
    (48, INVALID_TXN_STATE, false,
        "The transactional operation is not valid in the transaction's current state."),
    (49, INVALID_PRODUCER_ID_MAPPING, false, "The producer id is not assigned to this transactional id."),
    (50, INVALID_TRANSACTION_TIMEOUT, false, "The transaction timeout is larger than the broker allows."),
    (51, CONCURRENT_TRANSACTIONS, true, "Another operation on the same transaction is still in progress."),
    (52, TRANSACTION_COORDINATOR_FENCED, false,
        "The transaction coordinator that sent this request has been superseded."),
    (53, TRANSACTIONAL_ID_AUTHORIZATION_FAILED, false, "Not authorized to use the transactional id."),
    (54, SECURITY_DISABLED, false, "Security features are disabled on the broker."),
    (55, OPERATION_NOT_ATTEMPTED, false,
        "The broker did not attempt the operation, because an earlier part of the batch failed."),
    (56, KAFKA_STORAGE_ERROR, true, "The broker hit a storage (disk) error on the log."),
    (57, LOG_DIR_NOT_FOUND, false, "The log directory does not exist in the broker's configuration."),
    (58, SASL_AUTHENTICATION_FAILED, false, "SASL authentication failed."),
    (59, UNKNOWN_PRODUCER_ID, false, "The broker has no state for this producer id."),
    (60, REASSIGNMENT_IN_PROGRESS, false, "A partition reassignment is in progress."),
    (61, DELEGATION_TOKEN_AUTH_DISABLED, false, "Delegation tokens are not enabled."),
    (62, DELEGATION_TOKEN_NOT_FOUND, false, "The delegation token was not found."),
    (63, DELEGATION_TOKEN_OWNER_MISMATCH, false,
        "The principal is not the owner or a renewer of the delegation token."),
    (64, DELEGATION_TOKEN_REQUEST_NOT_ALLOWED, false,
        "Delegation token requests are not allowed on this kind of connection."),
    (65, DELEGATION_TOKEN_AUTHORIZATION_FAILED, false,
        "Not authorized to perform the delegation token operation."),
    (66, DELEGATION_TOKEN_EXPIRED, false, "The delegation token has expired."),
    (67, INVALID_PRINCIPAL_TYPE, false, "The principal type is not supported."),
    (68, NON_EMPTY_GROUP, false, "The group is not empty."),
    (69, GROUP_ID_NOT_FOUND, false, "The group does not exist."),
    (70, FETCH_SESSION_ID_NOT_FOUND, true, "The fetch session id was not found."),
    (71, INVALID_FETCH_SESSION_EPOCH, true, "The fetch session epoch is not valid."),
    (72, LISTENER_NOT_FOUND, true, "The leader has no listener matching the one the request came in on."),
    (73, TOPIC_DELETION_DISABLED, false, "Topic deletion is disabled on the cluster."),
    (74, FENCED_LEADER_EPOCH, true, "The request's leader epoch is older than the broker's."),
    (75, UNKNOWN_LEADER_EPOCH, true, "The request's leader epoch is newer than the broker's."),
    (76, UNSUPPORTED_COMPRESSION_TYPE, false,
        "The client does not support the partition's compression type."),
    (77, STALE_BROKER_EPOCH, false, "The broker epoch has changed."),
    (78, OFFSET_NOT_AVAILABLE, true,
        "The leader's high watermark has not caught up yet after a leader change."),
    (79, MEMBER_ID_REQUIRED, false, "The member must have a member id before it can join the group."),
    (80, PREFERRED_LEADER_NOT_AVAILABLE, true, "The preferred leader is not available."),
    (81, GROUP_MAX_SIZE_REACHED, false, "The group has reached its maximum size."),
    (82, FENCED_INSTANCE_ID, false, "Another member with the same group instance id has fenced this one."),
    (83, ELIGIBLE_LEADERS_NOT_AVAILABLE, true, "No eligible leader is available for the partition."),
    (84, ELECTION_NOT_NEEDED, true, "The partition does not need a leader election."),
    (85, NO_REASSIGNMENT_IN_PROGRESS, false, "No partition reassignment is in progress."),
    (86, GROUP_SUBSCRIBED_TO_TOPIC, false,
        "The group is subscribed to the topic, so its offsets cannot be deleted."),
    (87, INVALID_RECORD, false, "The broker rejected a record that failed its validation."),
    (88, UNSTABLE_OFFSET_COMMIT, true,
        "Some offsets are unstable (pending transactions) and must settle first."),
    (89, THROTTLING_QUOTA_EXCEEDED, true, "The request went over a throttling quota."),
    (90, PRODUCER_FENCED, false, "A newer producer with the same transactional id has fenced this one."),
    (91, RESOURCE_NOT_FOUND, false, "The request refers to a resource that does not exist."),
    (92, DUPLICATE_RESOURCE, false, "The request names the same resource more than once."),
    (93, UNACCEPTABLE_CREDENTIAL, false, "The credential does not meet the broker's requirements."),
    (94, INCONSISTENT_VOTER_SET, false,
        "The sender or receiver of a voter request is not one of the expected voters."),
    (95, INVALID_UPDATE_VERSION, false, "The feature update version is not valid."),
    (96, FEATURE_UPDATE_FAILED, false, "The broker could not update the finalized features."),
    (97, PRINCIPAL_DESERIALIZATION_FAILURE, false,
        "The broker could not deserialize the forwarded request's principal."),
    (98, SNAPSHOT_NOT_FOUND, false, "The snapshot asked for was not found."),
    (99, POSITION_OUT_OF_RANGE, false, "The snapshot position is negative or past the snapshot's end."),
    (100, UNKNOWN_TOPIC_ID, true, "The broker does not host this topic id."),
    (101, DUPLICATE_BROKER_REGISTRATION, false, "The broker id is already registered."),
    (102, BROKER_ID_NOT_REGISTERED, false, "The broker id is not registered."),
    (103, INCONSISTENT_TOPIC_ID, true, "The topic id in the request does not match the log's topic id."),
    (104, INCONSISTENT_CLUSTER_ID, false, "The cluster id in the request does not match the broker's."),
    (105, TRANSACTIONAL_ID_NOT_FOUND, false, "The transactional id was not found."),
    (106, FETCH_SESSION_TOPIC_ID_ERROR, true, "The fetch session used topic ids inconsistently."),
    (107, INELIGIBLE_REPLICA, false, "The new in-sync replica set contains an ineligible replica."),
    (108, NEW_LEADER_ELECTED, false, "The partition state was updated but the leader changed."),
    (109, OFFSET_MOVED_TO_TIERED_STORAGE, false, "The offset has moved to tiered storage."),
    (110, FENCED_MEMBER_EPOCH, false,
        "The member epoch is fenced; the member must give up its partitions and rejoin."),
    (111, UNRELEASED_INSTANCE_ID, false, "Another member of the group still uses the instance id."),
    (112, UNSUPPORTED_ASSIGNOR, false, "The assignor or its version range is not supported by the group."),
    (113, STALE_MEMBER_EPOCH, false,
        "The member epoch is stale; retry with the epoch from the next heartbeat."),
    (114, MISMATCHED_ENDPOINT_TYPE, false, "The request went to an endpoint of the wrong type."),
    (115, UNSUPPORTED_ENDPOINT_TYPE, false, "This endpoint type is not supported."),
    (116, UNKNOWN_CONTROLLER_ID, false, "The controller id is not known."),
    (117, UNKNOWN_SUBSCRIPTION_ID, false, "The telemetry subscription id is unknown or out of date."),
    (118, TELEMETRY_TOO_LARGE, false, "The telemetry push is larger than the broker accepts."),
    (119, INVALID_REGISTRATION, false, "The controller considers the broker registration not valid."),
    (120, TRANSACTION_ABORTABLE, false,
        "The transaction hit an error; abort it to keep using the transactional id."),
    (121, INVALID_RECORD_STATE, false,
        "The record state is not valid, so the acknowledgement was not applied."),
    (122, SHARE_SESSION_NOT_FOUND, true, "The share session was not found."),
    (123, INVALID_SHARE_SESSION_EPOCH, true, "The share session epoch is not valid."),
    (124, FENCED_STATE_EPOCH, false, "The share-group state epoch does not match the share coordinator's."),
    (125, INVALID_VOTER_KEY, false, "The voter key does not match the receiving replica's key."),
    (126, DUPLICATE_VOTER, false, "The voter is already in the voter set."),
    (127, VOTER_NOT_FOUND, false, "The voter is not in the voter set."),
    (128, INVALID_REGULAR_EXPRESSION, false, "The regular expression is not valid."),
    (129, REBOOTSTRAP_REQUIRED, false, "The client's metadata is stale; it must bootstrap again."),
    (130, STREAMS_INVALID_TOPOLOGY, false, "The Streams topology is not valid."),
    (131, STREAMS_INVALID_TOPOLOGY_EPOCH, false, "The Streams topology epoch is not valid."),
    (132, STREAMS_TOPOLOGY_FENCED, false, "The Streams topology epoch is out of date."),
    (133, SHARE_SESSION_LIMIT_REACHED, true, "The broker has reached its limit of share sessions."),
}

impl ErrorCode {
    fn entry(self) -> Option<&'static Entry> {
        TABLE
            .binary_search_by_key(&self.0, |e| e.code)
            .ok()
            .and_then(|i| TABLE.get(i))
    }

    /// The code as it goes on the wire.
    pub const fn code(self) -> i16 {
        self.0
    }

    /// The Kafka name of the code (e.g. `"NOT_LEADER_OR_FOLLOWER"`), or `None` for a code this crate
    /// does not know.
    pub fn name(self) -> Option<&'static str> {
        self.entry().map(|e| e.name)
    }

    /// The code with this Kafka name, if there is one (names are matched exactly).
    pub fn from_name(name: &str) -> Option<Self> {
        TABLE.iter().find(|e| e.name == name).map(|e| Self(e.code))
    }

    /// Whether the same request may succeed if sent again (after a metadata refresh where the code
    /// is about leadership or topic metadata). Unknown codes are not retriable.
    pub fn is_retriable(self) -> bool {
        self.entry().is_some_and(|e| e.retriable)
    }

    /// Whether this is [`ErrorCode::NONE`], success.
    pub const fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// Whether this is any code other than [`ErrorCode::NONE`].
    pub const fn is_err(self) -> bool {
        self.0 != 0
    }

    /// A short description of the code, or `None` for a code this crate does not know.
    pub fn description(self) -> Option<&'static str> {
        self.entry().map(|e| e.description)
    }

    /// `Ok(())` for [`ErrorCode::NONE`], `Err(self)` for any other code, so that `?` can be used on
    /// a response's error code.
    pub const fn into_result(self) -> Result<(), Self> {
        if self.is_ok() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl From<i16> for ErrorCode {
    fn from(code: i16) -> Self {
        Self(code)
    }
}

impl From<ErrorCode> for i16 {
    fn from(code: ErrorCode) -> Self {
        code.0
    }
}

/// `NOT_LEADER_OR_FOLLOWER (6)`, or `UNKNOWN(9999)` for a code this crate does not know.
impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "UNKNOWN({})", self.0),
        }
    }
}

/// `ErrorCode::NOT_LEADER_OR_FOLLOWER`, or `ErrorCode(9999)` for a code this crate does not know.
impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "ErrorCode::{name}"),
            None => write!(f, "ErrorCode({})", self.0),
        }
    }
}

impl std::error::Error for ErrorCode {}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn well_known_codes_have_their_kafka_numbers_and_names() {
        let cases = [
            (ErrorCode::UNKNOWN_SERVER_ERROR, -1, "UNKNOWN_SERVER_ERROR"),
            (ErrorCode::NONE, 0, "NONE"),
            (ErrorCode::OFFSET_OUT_OF_RANGE, 1, "OFFSET_OUT_OF_RANGE"),
            (
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                3,
                "UNKNOWN_TOPIC_OR_PARTITION",
            ),
            (ErrorCode::NOT_LEADER_OR_FOLLOWER, 6, "NOT_LEADER_OR_FOLLOWER"),
            (ErrorCode::REQUEST_TIMED_OUT, 7, "REQUEST_TIMED_OUT"),
            (ErrorCode::MESSAGE_TOO_LARGE, 10, "MESSAGE_TOO_LARGE"),
            (
                ErrorCode::COORDINATOR_NOT_AVAILABLE,
                15,
                "COORDINATOR_NOT_AVAILABLE",
            ),
            (
                ErrorCode::TOPIC_AUTHORIZATION_FAILED,
                29,
                "TOPIC_AUTHORIZATION_FAILED",
            ),
            (ErrorCode::UNSUPPORTED_VERSION, 35, "UNSUPPORTED_VERSION"),
            (ErrorCode::TOPIC_ALREADY_EXISTS, 36, "TOPIC_ALREADY_EXISTS"),
            (ErrorCode::INVALID_PRODUCER_EPOCH, 47, "INVALID_PRODUCER_EPOCH"),
            (ErrorCode::PRODUCER_FENCED, 90, "PRODUCER_FENCED"),
            (ErrorCode::UNKNOWN_TOPIC_ID, 100, "UNKNOWN_TOPIC_ID"),
            (
                ErrorCode::INVALID_REGULAR_EXPRESSION,
                128,
                "INVALID_REGULAR_EXPRESSION",
            ),
        ];
        for (err, code, name) in cases {
            assert_eq!(err.code(), code);
            assert_eq!(ErrorCode::from(code), err);
            assert_eq!(err.name(), Some(name));
            assert_eq!(ErrorCode::from_name(name), Some(err));
            assert!(err.description().is_some_and(|d| !d.is_empty()));
        }
    }

    #[test]
    fn retriable_flags_follow_the_java_exception_hierarchy() {
        let cases = [
            (ErrorCode::NOT_LEADER_OR_FOLLOWER, true),
            (ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, true),
            (ErrorCode::REQUEST_TIMED_OUT, true),
            (ErrorCode::COORDINATOR_NOT_AVAILABLE, true),
            (ErrorCode::LEADER_NOT_AVAILABLE, true),
            (ErrorCode::NOT_COORDINATOR, true),
            (ErrorCode::NOT_ENOUGH_REPLICAS, true),
            (ErrorCode::CORRUPT_MESSAGE, true),
            (ErrorCode::CONCURRENT_TRANSACTIONS, true),
            (ErrorCode::KAFKA_STORAGE_ERROR, true),
            (ErrorCode::FENCED_LEADER_EPOCH, true),
            (ErrorCode::MESSAGE_TOO_LARGE, false),
            (ErrorCode::TOPIC_AUTHORIZATION_FAILED, false),
            (ErrorCode::INVALID_PRODUCER_EPOCH, false),
            (ErrorCode::OFFSET_OUT_OF_RANGE, false),
            (ErrorCode::UNKNOWN_SERVER_ERROR, false),
            (ErrorCode::PRODUCER_FENCED, false),
            (ErrorCode::BROKER_NOT_AVAILABLE, false),
            (ErrorCode::NONE, false),
        ];
        for (err, retriable) in cases {
            assert_eq!(err.is_retriable(), retriable, "{err}");
        }
    }

    #[test]
    fn unknown_codes_keep_their_number() {
        for code in [i16::MIN, -2, 134, 9999, i16::MAX] {
            let err = ErrorCode::from(code);
            assert_eq!(i16::from(err), code);
            assert_eq!(err.name(), None);
            assert_eq!(err.description(), None);
            assert!(!err.is_retriable());
            assert!(err.is_err());
            assert_eq!(err.to_string(), format!("UNKNOWN({code})"));
            assert_eq!(format!("{err:?}"), format!("ErrorCode({code})"));
        }
        assert_eq!(ErrorCode::from_name("NO_SUCH_ERROR"), None);
    }

    #[test]
    fn display_and_debug_name_the_code() {
        let err = ErrorCode::NOT_LEADER_OR_FOLLOWER;
        assert_eq!(err.to_string(), "NOT_LEADER_OR_FOLLOWER (6)");
        assert_eq!(format!("{err:?}"), "ErrorCode::NOT_LEADER_OR_FOLLOWER");
        let boxed: Box<dyn std::error::Error> = Box::new(err);
        assert_eq!(boxed.to_string(), "NOT_LEADER_OR_FOLLOWER (6)");
    }

    #[test]
    fn only_none_is_ok() {
        assert!(ErrorCode::NONE.is_ok());
        assert_eq!(ErrorCode::default(), ErrorCode::NONE);
        assert_eq!(ErrorCode::NONE.into_result(), Ok(()));
        assert_eq!(
            ErrorCode::REQUEST_TIMED_OUT.into_result(),
            Err(ErrorCode::REQUEST_TIMED_OUT)
        );
        assert!(ErrorCode::ALL.iter().filter(|e| e.is_ok()).eq([&ErrorCode::NONE]));
    }

    #[test]
    fn table_is_sorted_without_duplicate_codes_or_names() {
        assert!(
            TABLE.windows(2).all(|w| w[0].code < w[1].code),
            "rows out of order or repeated"
        );
        let names: HashSet<_> = TABLE.iter().map(|e| e.name).collect();
        assert_eq!(names.len(), TABLE.len(), "a name appears twice");
        assert_eq!(ErrorCode::ALL.len(), TABLE.len());
        for (err, entry) in ErrorCode::ALL.iter().zip(TABLE) {
            assert_eq!(err.code(), entry.code);
            assert_eq!(err.name(), Some(entry.name));
            assert!(!entry.description.is_empty());
        }
    }

    #[test]
    fn table_covers_every_code_from_minus_one_to_the_newest() {
        let newest = ErrorCode::SHARE_SESSION_LIMIT_REACHED.code();
        assert_eq!(newest, 133);
        for code in -1..=newest {
            assert!(ErrorCode(code).name().is_some(), "code {code} is missing");
        }
    }
}
