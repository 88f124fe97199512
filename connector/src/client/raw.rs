//! The escape hatch: a connection to one broker that sends any request at any version, raw
//! fetches, and the client's metadata cache, reached through [`Client::raw`].
//!
//! For conformance suites, tools and tests. An application needs none of it: it uses the
//! [`Client`]'s metadata and admin calls, the [`super::Producer`] and the [`super::Consumer`],
//! which retry, follow leaders and refresh metadata themselves.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kwire_connector::client::Error> {
//! use kwire_connector::client::Client;
//! use kwire_protocol::messages::ApiVersionsRequest;
//!
//! let client = Client::builder().bootstrap("127.0.0.1:9092").build().await?;
//! let conn = client.raw().leader("test", 0).await?;
//! // ApiVersions at version 3, whatever the client would have picked.
//! let resp = conn.send_raw(&ApiVersionsRequest::default(), 3).await?;
//! # let _ = resp; Ok(()) }
//! ```

use std::sync::Arc;

use kwire_protocol::messages::MetadataResponse;

pub use super::connection::{Connection, ConnectionConfig};
pub use super::fetch::{decode_records, FetchOptions, Fetched, TransactionMarker};
use super::{Client, Error};

/// The raw side of a [`Client`]: its connections and its metadata cache.
#[derive(Debug, Clone, Copy)]
pub struct Raw<'a> {
    client: &'a Client,
}

impl Client {
    /// The escape hatch to connections, raw fetches and the metadata cache ([`crate::client::raw`]).
    pub fn raw(&self) -> Raw<'_> {
        Raw { client: self }
    }
}

impl Raw<'_> {
    /// The client's connection to `addr`, made if there is none or the old one failed.
    pub async fn connection(&self, addr: &str) -> Result<Arc<Connection>, Error> {
        self.client.connection(addr).await
    }

    /// The client's connection to broker `id`.
    pub async fn broker(&self, id: i32) -> Result<Arc<Connection>, Error> {
        self.client.broker(id).await
    }

    /// A connection to any live broker: known brokers first, then the bootstrap list.
    pub async fn any_broker(&self) -> Result<Arc<Connection>, Error> {
        self.client.any_broker().await
    }

    /// The connection to the leader of `topic`-`partition`.
    pub async fn leader(&self, topic: &str, partition: i32) -> Result<Arc<Connection>, Error> {
        self.client.leader(topic, partition).await
    }

    /// The coordinator of `key`: a consumer group (`key_type` 0) or a transactional id (1).
    pub async fn coordinator(&self, key: &str, key_type: i8) -> Result<Arc<Connection>, Error> {
        self.client.coordinator(key, key_type).await
    }

    /// Asks for the metadata of `topics` (all topics when empty) and caches it.
    pub async fn refresh_metadata(&self, topics: &[&str]) -> Result<MetadataResponse, Error> {
        self.client.refresh_metadata(topics).await
    }

    /// Forgets the cached metadata of `topic`, so the next use asks again.
    pub fn invalidate(&self, topic: &str) {
        self.client.invalidate(topic);
    }

    /// Fetches `topic`-`partition` from `offset` once (retrying what is retriable).
    pub async fn fetch_one(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        options: &FetchOptions,
    ) -> Result<Fetched, Error> {
        self.client.fetch_one(topic, partition, offset, options).await
    }

    /// Fetches each `(topic, partition, offset)` from its leader, one request per leader.
    pub async fn fetch(
        &self,
        wanted: &[(String, i32, i64)],
        options: &FetchOptions,
    ) -> Result<Vec<Fetched>, Error> {
        self.client.fetch(wanted, options).await
    }
}
