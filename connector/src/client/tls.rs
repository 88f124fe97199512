//! TLS for broker connections (feature `tls`): rustls with the ring provider, so no C library
//! such as OpenSSL is linked.
//!
//! A [`TlsConfig`] says which certificate authorities to trust (PEM, as Kafka's
//! `ssl.truststore.type=PEM`) and, for mutual TLS, which certificate and key to present. The server
//! name checked against the broker's certificate is the host of the address connected to (the
//! bootstrap entry, then the host each broker advertises), unless [`TlsConfig::server_name`] fixes
//! one (for brokers reached through a proxy or by an address their certificate does not name).
//!
//! References: the Kafka security guide, "Encryption and Authentication using SSL"; RFC 8446.

use crate::client::{ClientError, ConnectionError};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use super::error::Error;

/// How to secure connections to brokers with TLS.
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ClientConfig>,
    server_name: Option<String>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn bad(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Client(ClientError::InvalidArgument(format!("TLS: {what}: {e}")))
}

fn roots_from_pem(ca_pem: &[u8]) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    let mut found = 0;
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.map_err(|e| bad("reading the CA certificates", e))?;
        roots.add(cert).map_err(|e| bad("a CA certificate", e))?;
        found += 1;
    }
    if found == 0 {
        return Err(Error::Client(ClientError::InvalidArgument(
            "TLS: no certificate in the CA PEM".into(),
        )));
    }
    Ok(roots)
}

impl TlsConfig {
    /// Trusts the certificate authorities in `ca_pem` (one or more PEM certificates).
    pub fn from_ca_pem(ca_pem: &[u8]) -> Result<Self, Error> {
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("protocol versions", e))?
            .with_root_certificates(roots_from_pem(ca_pem)?)
            .with_no_client_auth();
        Ok(Self::from_rustls(Arc::new(config)))
    }

    /// Trusts the authorities in `ca_pem` and presents the certificate chain `cert_pem` with its
    /// private key `key_pem` (mutual TLS, Kafka's `ssl.client.auth=required`).
    pub fn with_client_auth(ca_pem: &[u8], cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, Error> {
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad("reading the client certificate", e))?;
        if chain.is_empty() {
            return Err(Error::Client(ClientError::InvalidArgument(
                "TLS: no certificate in the client certificate PEM".into(),
            )));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| bad("reading the client key", e))?;
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("protocol versions", e))?
            .with_root_certificates(roots_from_pem(ca_pem)?)
            .with_client_auth_cert(chain, key)
            .map_err(|e| bad("the client certificate and key", e))?;
        Ok(Self::from_rustls(Arc::new(config)))
    }

    /// Uses a rustls configuration as it is (custom verifiers, session caches, ALPN...).
    pub fn from_rustls(config: Arc<ClientConfig>) -> Self {
        Self {
            config,
            server_name: None,
        }
    }

    /// Checks every broker's certificate against `name` rather than the host connected to.
    pub fn server_name(mut self, name: &str) -> Self {
        self.server_name = Some(name.to_owned());
        self
    }

    /// The name to check `addr`'s certificate against.
    fn name_for(&self, addr: &str) -> Result<ServerName<'static>, Error> {
        let host = match &self.server_name {
            Some(name) => name.as_str(),
            None => host_of(addr),
        };
        ServerName::try_from(host.to_owned()).map_err(|e| bad(&format!("server name {host:?}"), e))
    }

    /// The TLS handshake over a connected TCP stream to `addr`.
    pub(crate) async fn handshake(
        &self,
        addr: &str,
        tcp: TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Error> {
        let name = self.name_for(addr)?;
        TlsConnector::from(Arc::clone(&self.config))
            .connect(name, tcp)
            .await
            .map_err(|e| {
                Error::Connection(ConnectionError::Tls {
                    broker: addr.to_owned(),
                    reason: e.to_string(),
                })
            })
    }
}

/// The host part of `host:port`, `[v6]:port` or a bare host.
fn host_of(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_taken_from_every_address_form() {
        assert_eq!(host_of("broker-1.example:9093"), "broker-1.example");
        assert_eq!(host_of("127.0.0.1:9093"), "127.0.0.1");
        assert_eq!(host_of("[::1]:9093"), "::1");
        assert_eq!(host_of("localhost"), "localhost");
        assert_eq!(host_of("::1"), "::1");
    }

    #[test]
    fn a_pem_without_certificates_is_a_clear_error() {
        let err = TlsConfig::from_ca_pem(b"not a certificate").unwrap_err();
        assert!(err.to_string().contains("no certificate"), "{err}");
        let err = TlsConfig::with_client_auth(b"", b"", b"").unwrap_err();
        assert!(err.to_string().contains("TLS"), "{err}");
    }

    #[test]
    fn an_invalid_server_name_is_refused() {
        let tls = TlsConfig::from_rustls(Arc::new(
            ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(RootCertStore::empty())
                .with_no_client_auth(),
        ));
        assert!(tls.name_for("a b:9093").is_err());
        assert!(tls.name_for("broker:9093").is_ok());
        let fixed = tls.server_name("kafka.internal");
        assert_eq!(
            fixed.name_for("10.0.0.7:9093").unwrap(),
            ServerName::try_from("kafka.internal").unwrap()
        );
    }
}
