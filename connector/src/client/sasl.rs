//! SASL authentication of a connection: PLAIN and SCRAM-SHA-256/512.
//!
//! After ApiVersions, a connection with a [`SaslConfig`] sends SaslHandshake (v1) naming the
//! mechanism, then SaslAuthenticate rounds that carry the mechanism's own messages, before any
//! other request. PLAIN is one round ("\0user\0password"). SCRAM is two (RFC 5802): the client's
//! first message with its nonce, the server's with the salt and iteration count, the client's
//! proof, and the server's signature, which the client checks: a server that does not know the
//! password cannot pass it.
//!
//! The SCRAM math is the RustCrypto crates' (hmac, sha2, pbkdf2); nothing here is hand-written
//! cryptography. A hostile server's values are bounded before any work: the iteration count to
//! what Kafka creates credentials with (4,096 to 16,384), the salt and nonce to 1 KiB.
//!
//! References: KIP-43 (SASL handshake), KIP-84 and KIP-152 (SCRAM, SaslAuthenticate); RFC 4616
//! (PLAIN), RFC 5802 (SCRAM), RFC 7677 (SCRAM-SHA-256).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

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
                Exchange::Scram(Scram::new(
                    mechanism,
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
    Scram(Scram),
    /// OAUTHBEARER: one message; a server that refuses the token answers with its error (JSON),
    /// which the client acknowledges with a lone ^A before the server fails the exchange.
    OAuthBearer {
        /// The initial client response.
        message: Vec<u8>,
    },
}

/// The least and most PBKDF2 iterations a server may ask for: Kafka's bounds for SCRAM
/// credentials (the Java client refuses fewer than 4,096 too). More would let a server make the
/// client spin.
const ITERATIONS: std::ops::RangeInclusive<u32> = 4096..=16384;

/// The longest salt and server nonce accepted.
const MAX_FIELD: usize = 1024;

/// The client side of a SCRAM exchange (RFC 5802).
pub(crate) struct Scram {
    mechanism: SaslMechanism,
    password: String,
    client_nonce: String,
    /// `n=user,r=nonce`.
    first_bare: String,
    /// The server's signature the final message must carry, once the proof is sent.
    expected: Option<Vec<u8>>,
}

impl std::fmt::Debug for Scram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scram")
            .field("mechanism", &self.mechanism)
            .field("first_bare", &self.first_bare)
            .finish_non_exhaustive()
    }
}

impl Scram {
    pub(crate) fn new(mechanism: SaslMechanism, username: &str, password: &str, nonce: &str) -> Self {
        // saslname: '=' and ',' escaped (RFC 5802, 5.1).
        let name = username.replace('=', "=3D").replace(',', "=2C");
        Self {
            mechanism,
            password: password.to_owned(),
            client_nonce: nonce.to_owned(),
            first_bare: format!("n={name},r={nonce}"),
            expected: None,
        }
    }

    /// The client's first message: no channel binding, no authorization id.
    pub(crate) fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.first_bare).into_bytes()
    }

    /// Reads the server's first message and returns the client's final one (with the proof).
    pub(crate) fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, String> {
        let text = std::str::from_utf8(server_first)
            .map_err(|_| "the server's first SCRAM message is not UTF-8".to_owned())?;
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for attr in text.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(v),
                Some(("i", v)) => iterations = Some(v),
                Some(("m", _)) => {
                    return Err("the server asks for a SCRAM extension kwire does not know".into())
                }
                Some(("e", v)) => return Err(format!("the server refused: {}", clip(v))),
                _ => {}
            }
        }
        let nonce = nonce.ok_or("the server's first SCRAM message has no nonce")?;
        if nonce.len() > MAX_FIELD + self.client_nonce.len() {
            return Err(format!("the server's nonce is {} bytes long", nonce.len()));
        }
        if nonce.len() <= self.client_nonce.len() || !nonce.starts_with(&self.client_nonce) {
            return Err("the server's nonce does not extend the client's".into());
        }
        let salt = salt.ok_or("the server's first SCRAM message has no salt")?;
        if salt.len() > 2 * MAX_FIELD {
            return Err(format!("the server's salt is {} bytes of base64", salt.len()));
        }
        let salt = B64
            .decode(salt)
            .map_err(|e| format!("the server's salt is not base64: {e}"))?;
        if salt.is_empty() {
            return Err("the server's salt is empty".into());
        }
        let iterations: u32 = iterations
            .ok_or("the server's first SCRAM message has no iteration count")?
            .parse()
            .map_err(|_| "the server's iteration count is not a number".to_owned())?;
        if !ITERATIONS.contains(&iterations) {
            return Err(format!(
                "the server asks for {iterations} iterations, outside {}..={}",
                ITERATIONS.start(),
                ITERATIONS.end()
            ));
        }
        let salted = self.salted_password(&salt, iterations)?;
        let client_key = self.hmac(&salted, b"Client Key")?;
        let stored_key = self.hash(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{text},{without_proof}", self.first_bare);
        let signature = self.hmac(&stored_key, auth_message.as_bytes())?;
        let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(k, s)| k ^ s).collect();
        let server_key = self.hmac(&salted, b"Server Key")?;
        self.expected = Some(self.hmac(&server_key, auth_message.as_bytes())?);
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks the server's final message: its signature proves it knows the password.
    pub(crate) fn check_server_final(&self, server_final: &[u8]) -> Result<(), String> {
        let text = std::str::from_utf8(server_final)
            .map_err(|_| "the server's final SCRAM message is not UTF-8".to_owned())?;
        let expected = self.expected.as_ref().ok_or("no proof was sent yet")?;
        for attr in text.split(',') {
            match attr.split_once('=') {
                Some(("e", v)) => return Err(format!("the server refused: {}", clip(v))),
                Some(("v", v)) => {
                    let got = B64
                        .decode(v)
                        .map_err(|_| "the server's signature is not base64".to_owned())?;
                    return if &got == expected {
                        Ok(())
                    } else {
                        Err("the server's signature is wrong: it does not know the password".into())
                    };
                }
                _ => {}
            }
        }
        Err("the server's final SCRAM message has no signature".into())
    }

    fn salted_password(&self, salt: &[u8], iterations: u32) -> Result<Vec<u8>, String> {
        let password = self.password.as_bytes();
        let failed = |_| "PBKDF2 failed".to_owned();
        Ok(match self.mechanism {
            SaslMechanism::ScramSha512 => {
                let mut out = vec![0u8; 64];
                pbkdf2::pbkdf2::<Hmac<Sha512>>(password, salt, iterations, &mut out).map_err(failed)?;
                out
            }
            _ => {
                let mut out = vec![0u8; 32];
                pbkdf2::pbkdf2::<Hmac<Sha256>>(password, salt, iterations, &mut out).map_err(failed)?;
                out
            }
        })
    }

    fn hmac(&self, key: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
        let failed = |_| "HMAC key refused".to_owned();
        Ok(match self.mechanism {
            SaslMechanism::ScramSha512 => {
                let mut m = <Hmac<Sha512> as Mac>::new_from_slice(key).map_err(failed)?;
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            _ => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(failed)?;
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        })
    }

    fn hash(&self, data: &[u8]) -> Vec<u8> {
        match self.mechanism {
            SaslMechanism::ScramSha512 => Sha512::digest(data).to_vec(),
            _ => Sha256::digest(data).to_vec(),
        }
    }
}

/// At most 200 characters of a server's text, for an error line.
fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677, section 3: user "user", password "pencil".
    const SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

    fn rfc7677() -> Scram {
        Scram::new(
            SaslMechanism::ScramSha256,
            "user",
            "pencil",
            "rOprNGfwEbeRWgbNEkqO",
        )
    }

    #[test]
    fn scram_sha256_matches_the_rfc_7677_example() {
        let mut s = rfc7677();
        assert_eq!(s.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let last = s.client_final(SERVER_FIRST.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(last).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        s.check_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        let wrong = s.check_server_final(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
        assert!(wrong.unwrap_err().contains("signature is wrong"));
    }

    #[test]
    fn a_hostile_server_first_message_is_refused_before_any_work() {
        let cases: &[(&str, &str)] = &[
            (
                "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2147483648",
                "iterations",
            ),
            (
                "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999",
                "not a number",
            ),
            (
                "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2147483647",
                "iterations",
            ),
            (
                "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1",
                "iterations",
            ),
            (
                "r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                "does not extend",
            ),
            (
                "r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                "does not extend",
            ),
            ("r=rOprNGfwEbeRWgbNEkqOxyz,s=,i=4096", "salt is empty"),
            ("r=rOprNGfwEbeRWgbNEkqOxyz,s=!!!,i=4096", "not base64"),
            ("s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "no nonce"),
            ("r=rOprNGfwEbeRWgbNEkqOxyz,i=4096", "no salt"),
            ("e=other-error", "refused"),
        ];
        for (msg, why) in cases {
            let err = rfc7677().client_final(msg.as_bytes()).unwrap_err();
            assert!(err.contains(why), "{msg}: {err}");
        }
        let long_nonce = format!(
            "r=rOprNGfwEbeRWgbNEkqO{},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            "x".repeat(2000)
        );
        assert!(rfc7677()
            .client_final(long_nonce.as_bytes())
            .unwrap_err()
            .contains("long"));
        let long_salt = format!("r=rOprNGfwEbeRWgbNEkqOx,s={},i=4096", "A".repeat(4000));
        assert!(rfc7677()
            .client_final(long_salt.as_bytes())
            .unwrap_err()
            .contains("salt"));
        assert!(rfc7677()
            .client_final(&[0xff, 0xfe])
            .unwrap_err()
            .contains("UTF-8"));
    }

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
    fn usernames_are_escaped_and_plain_is_one_message() {
        let s = Scram::new(SaslMechanism::ScramSha512, "a=b,c", "p", "n0nce");
        assert_eq!(s.client_first(), b"n,,n=a=3Db=2Cc,r=n0nce");
        let Ok(Exchange::Plain { message }) = SaslConfig::plain("u", "p").exchange() else {
            panic!("a PLAIN exchange")
        };
        assert_eq!(message, b"\0u\0p");
    }
}
