//! SASL authentication of a connection: PLAIN and SCRAM-SHA-256/512.
//!
//! After ApiVersions, a connection with a [`SaslConfig`] sends SaslHandshake (v1) naming the
//! mechanism, then SaslAuthenticate rounds that carry the mechanism's own messages, before any
//! other request. PLAIN is one round ("\0user\0password"). SCRAM is two (RFC 5802): the client's
//! first message with its nonce, the server's with the salt and iteration count, the client's
//! proof, and the server's signature, which the client checks: a server that does not know the
//! password cannot pass it.
//!
//! SCRAM's messages and math are [`kwire_protocol::sasl`]'s (sans-IO, fuzzed): the RustCrypto
//! crates (hmac, sha2, pbkdf2), no hand-written cryptography, and a hostile server's values
//! bounded before any work.
//!
//! References: KIP-43 (SASL handshake), KIP-84 and KIP-152 (SCRAM, SaslAuthenticate); RFC 4616
//! (PLAIN), RFC 5802 (SCRAM), RFC 7677 (SCRAM-SHA-256).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use kwire_protocol::sasl::{ScramClient, ScramHash};

/// A SASL mechanism kwire speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SaslMechanism {
    /// PLAIN (RFC 4616): the password in the clear; use it over TLS.
    Plain,
    /// SCRAM-SHA-256 (RFC 7677).
    ScramSha256,
    /// SCRAM-SHA-512.
    ScramSha512,
    /// OAUTHBEARER (RFC 7628, KIP-255): a bearer token, from the caller.
    OAuthBearer,
}

impl SaslMechanism {
    /// The mechanism's name as Kafka's `sasl.mechanism` spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
            Self::OAuthBearer => "OAUTHBEARER",
        }
    }
}

/// Gives an OAUTHBEARER token: asked on every new connection, so a provider that refreshes its
/// token before it expires keeps the client connecting.
pub type TokenProvider = std::sync::Arc<dyn Fn() -> Result<String, String> + Send + Sync>;

/// SASL credentials for every connection of a client. The password and the token never appear
/// in `Debug` output, logs or errors.
#[derive(Clone)]
pub struct SaslConfig {
    mechanism: SaslMechanism,
    username: String,
    password: String,
    token: Option<TokenProvider>,
}

impl std::fmt::Debug for SaslConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslConfig")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl SaslConfig {
    /// `mechanism` with a username and password.
    pub fn new(mechanism: SaslMechanism, username: &str, password: &str) -> Self {
        Self {
            mechanism,
            username: username.to_owned(),
            password: password.to_owned(),
            token: None,
        }
    }

    /// OAUTHBEARER with a token from `provider`, asked for each new connection.
    pub fn oauthbearer(provider: TokenProvider) -> Self {
        Self {
            mechanism: SaslMechanism::OAuthBearer,
            username: String::new(),
            password: String::new(),
            token: Some(provider),
        }
    }

    /// OAUTHBEARER with a fixed token.
    pub fn oauthbearer_token(token: &str) -> Self {
        let token = token.to_owned();
        Self::oauthbearer(std::sync::Arc::new(move || Ok(token.clone())))
    }

    /// PLAIN with a username and password.
    pub fn plain(username: &str, password: &str) -> Self {
        Self::new(SaslMechanism::Plain, username, password)
    }

    /// SCRAM-SHA-256 with a username and password.
    pub fn scram_sha256(username: &str, password: &str) -> Self {
        Self::new(SaslMechanism::ScramSha256, username, password)
    }

    /// SCRAM-SHA-512 with a username and password.
    pub fn scram_sha512(username: &str, password: &str) -> Self {
        Self::new(SaslMechanism::ScramSha512, username, password)
    }

    /// The mechanism.
    pub fn mechanism(&self) -> SaslMechanism {
        self.mechanism
    }

    /// The username.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The exchange for one connection.
    pub(crate) fn exchange(&self) -> Result<Exchange, String> {
        Ok(match self.mechanism {
            SaslMechanism::Plain => Exchange::Plain {
                message: [b"\0", self.username.as_bytes(), b"\0", self.password.as_bytes()].concat(),
            },
            SaslMechanism::OAuthBearer => {
                let provider = self
                    .token
                    .as_ref()
                    .ok_or("OAUTHBEARER without a token provider")?;
                let token = provider().map_err(|e| format!("the token provider failed: {e}"))?;
                if token.is_empty() || token.bytes().any(|b| !(0x21..0x7f).contains(&b)) {
                    return Err(
                        "the token provider gave an empty token or one with spaces or control characters"
                            .into(),
                    );
                }
                // RFC 7628: gs2 header, then key=value pairs separated by ^A, ended by ^A^A.
                Exchange::OAuthBearer {
                    message: format!("n,,\x01auth=Bearer {token}\x01\x01").into_bytes(),
                }
            }
            mechanism => {
                let mut raw = [0u8; 24];
                getrandom::fill(&mut raw).map_err(|e| format!("no randomness for the SCRAM nonce: {e}"))?;
                let hash = if mechanism == SaslMechanism::ScramSha512 {
                    ScramHash::Sha512
                } else {
                    ScramHash::Sha256
                };
                Exchange::Scram(ScramClient::new(
                    hash,
                    &self.username,
                    &self.password,
                    &B64.encode(raw),
                ))
            }
        })
    }
}

/// One connection's authentication: the messages to send and the answers to check, without IO.
/// No `Debug`: PLAIN's message holds the password.
pub(crate) enum Exchange {
    /// PLAIN: one message, no answer to check.
    Plain {
        /// `\0user\0password`.
        message: Vec<u8>,
    },
    /// SCRAM: two rounds.
    Scram(ScramClient),
    /// OAUTHBEARER: one message; a server that refuses the token answers with its error (JSON),
    /// which the client acknowledges with a lone ^A before the server fails the exchange.
    OAuthBearer {
        /// The initial client response.
        message: Vec<u8>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oauthbearer_token_is_framed_as_rfc_7628_says_and_never_shown() {
        let c = SaslConfig::oauthbearer_token("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.");
        assert!(!format!("{c:?}").contains("eyJ"));
        let Ok(Exchange::OAuthBearer { message }) = c.exchange() else {
            panic!("an OAUTHBEARER exchange")
        };
        assert_eq!(
            message,
            b"n,,\x01auth=Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.\x01\x01"
        );
        for bad in ["", "two words", "line\nbreak"] {
            assert!(SaslConfig::oauthbearer_token(bad).exchange().is_err(), "{bad:?}");
        }
        let failing = SaslConfig::oauthbearer(std::sync::Arc::new(|| Err("expired".into())));
        assert!(failing.exchange().err().unwrap().contains("expired"));
    }

    #[test]
    fn the_password_is_not_in_debug_output() {
        let c = SaslConfig::scram_sha512("alice", "hunter2-secret");
        assert!(!format!("{c:?}").contains("hunter2"));
        let Ok(Exchange::Scram(s)) = c.exchange() else {
            panic!("a SCRAM exchange")
        };
        assert!(!format!("{s:?}").contains("hunter2"));
        let p = SaslConfig::plain("alice", "hunter2-secret");
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn plain_is_one_message() {
        let Ok(Exchange::Plain { message }) = SaslConfig::plain("u", "p").exchange() else {
            panic!("a PLAIN exchange")
        };
        assert_eq!(message, b"\0u\0p");
    }
}
