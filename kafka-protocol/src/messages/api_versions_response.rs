//! ApiVersions response (API key 18): versions 0-5, flexible from 3.
//!
//! Declared from the field list of `ApiVersionsResponse.json` in the Kafka protocol's message specs.

#![allow(missing_docs)]

#[allow(unused_imports)]
use bytes::Bytes;

#[allow(unused_imports)]
use crate::primitives::Uuid;
use crate::{kafka_message, kafka_struct};

kafka_struct! {
    /// The ApiVersions response (API key 18), versions 0-5.
    pub struct ApiVersionsResponse {
    /// ErrorCode: Versions 0+.
    error_code: i16 = 0 => [0, 5];
    /// ApiKeys: Versions 0+.
    api_keys: Vec<ApiVersion> = Vec::new() => [0, 5];
    /// ThrottleTimeMs: Versions 1+.
    throttle_time_ms: i32 = 0 => [1, 5] ignorable: true;
    /// SupportedFeatures: Versions 3+; tagged field 0 in 3+.
    supported_features: Vec<SupportedFeatureKey> = Vec::new() => [3, 5] tag 0 [3, 5] ignorable: true;
    /// FinalizedFeaturesEpoch: Versions 3+; tagged field 1 in 3+.
    finalized_features_epoch: i64 = -1 => [3, 5] tag 1 [3, 5] ignorable: true;
    /// FinalizedFeatures: Versions 3+; tagged field 2 in 3+.
    finalized_features: Vec<FinalizedFeatureKey> = Vec::new() => [3, 5] tag 2 [3, 5] ignorable: true;
    /// ZkMigrationReady: Versions 3+; tagged field 3 in 3+.
    zk_migration_ready: bool = false => [3, 5] tag 3 [3, 5] ignorable: true;
    }
}

kafka_struct! {
    /// The `ApiVersion` struct of this message.
    pub struct ApiVersion {
    /// ApiKey: Versions 0+.
    api_key: i16 = 0 => [0, 5];
    /// MinVersion: Versions 0+.
    min_version: i16 = 0 => [0, 5];
    /// MaxVersion: Versions 0+.
    max_version: i16 = 0 => [0, 5];
    }
}

kafka_struct! {
    /// The `SupportedFeatureKey` struct of this message.
    pub struct SupportedFeatureKey {
    /// Name: Versions 3+.
    name: String = String::new() => [3, 5];
    /// MinVersion: Versions 3+.
    min_version: i16 = 0 => [3, 5];
    /// MaxVersion: Versions 3+.
    max_version: i16 = 0 => [3, 5];
    }
}

kafka_struct! {
    /// The `FinalizedFeatureKey` struct of this message.
    pub struct FinalizedFeatureKey {
    /// Name: Versions 3+.
    name: String = String::new() => [3, 5];
    /// MaxVersionLevel: Versions 3+.
    max_version_level: i16 = 0 => [3, 5];
    /// MinVersionLevel: Versions 3+.
    min_version_level: i16 = 0 => [3, 5];
    }
}

kafka_message!(ApiVersionsResponse, key 18, versions [0, 5], flexible 3, throttle);
