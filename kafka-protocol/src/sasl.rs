//! SASL SCRAM (RFC 5802, RFC 7677) for Kafka's SCRAM-SHA-256 and SCRAM-SHA-512: the client side
//! of the exchange, without IO. The messages travel in SaslAuthenticate requests and responses.
//!
//! The math is the RustCrypto crates' (hmac, sha2, pbkdf2); nothing here is hand-written
//! cryptography. A hostile server's values are bounded before any work: the iteration count to
//! what Kafka creates credentials with (4,096 to 16,384), the salt and the server's part of the
//! nonce to 1 KiB each. The server's final message must carry the signature only a server that
//! knows the password can make.
//!
//! ```
//! use kwire_protocol::sasl::{ScramClient, ScramHash};
//!
//! let mut scram = ScramClient::new(ScramHash::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
//! assert_eq!(scram.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
//! let err = scram.client_final(b"r=rOprNGfwEbeRWgbNEkqOx,s=c2FsdA==,i=2147483648").unwrap_err();
//! assert!(err.to_string().contains("iterations"));
//! ```

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// The hash of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramHash {
    /// SCRAM-SHA-256.
    Sha256,
    /// SCRAM-SHA-512.
    Sha512,
}

/// Why a SCRAM exchange failed on the client's side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScramError {
    /// A server message is not UTF-8.
    #[error("the server's {which} SCRAM message is not UTF-8")]
    NotUtf8 {
        /// "first" or "final".
        which: &'static str,
    },
    /// The server sent an error attribute (`e=`).
    #[error("the server refused: {0}")]
    Refused(String),
    /// The server asks for a mandatory extension (`m=`).
    #[error("the server asks for a SCRAM extension kwire does not know")]
    Extension,
    /// A server message lacks an attribute.
    #[error("the server's {which} SCRAM message has no {attribute}")]
    Missing {
        /// "first" or "final".
        which: &'static str,
        /// "nonce", "salt", "iteration count" or "signature".
        attribute: &'static str,
    },
    /// The server's nonce is longer than the bound.
    #[error("the server's nonce is {0} bytes long")]
    NonceTooLong(usize),
    /// The server's nonce does not start with the client's and add to it.
    #[error("the server's nonce does not extend the client's")]
    NonceMismatch,
    /// The salt's base64 is longer than the bound.
    #[error("the server's salt is {0} bytes of base64")]
    SaltTooLong(usize),
    /// The salt is not base64.
    #[error("the server's salt is not base64: {0}")]
    SaltNotBase64(String),
    /// The salt is empty.
    #[error("the server's salt is empty")]
    SaltEmpty,
    /// The iteration count is not a number.
    #[error("the server's iteration count is not a number")]
    IterationsNotANumber,
    /// The iteration count is outside what Kafka creates credentials with.
    #[error("the server asks for {0} iterations, outside 4096..=16384")]
    IterationsOutOfRange(u32),
    /// The server's signature is not base64.
    #[error("the server's signature is not base64")]
    SignatureNotBase64,
    /// The server's signature is not the one its knowledge of the password would make.
    #[error("the server's signature is wrong: it does not know the password")]
    WrongSignature,
    /// The server's final message came before the client sent its proof.
    #[error("no proof was sent yet")]
    NoProofYet,
    /// A primitive refused its input (cannot happen with the sizes used here).
    #[error("{0} failed")]
    Crypto(&'static str),
}

/// The least and most PBKDF2 iterations a server may ask for: Kafka's bounds for SCRAM
/// credentials (the Java client refuses fewer than 4,096 too). More would let a server make the
/// client spin.
const ITERATIONS: std::ops::RangeInclusive<u32> = 4096..=16384;

/// The longest salt and server nonce accepted.
const MAX_FIELD: usize = 1024;

/// The client side of a SCRAM exchange (RFC 5802). No `Debug` field shows the password.
pub struct ScramClient {
    hash: ScramHash,
    password: String,
    client_nonce: String,
    /// `n=user,r=nonce`.
    first_bare: String,
    /// The server's signature the final message must carry, once the proof is sent.
    expected: Option<Vec<u8>>,
}

impl std::fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramClient")
            .field("hash", &self.hash)
            .field("first_bare", &self.first_bare)
            .finish_non_exhaustive()
    }
}

impl ScramClient {
    /// A client for `username` and `password`, with `nonce` (printable, no comma: base64 of
    /// random bytes).
    pub fn new(hash: ScramHash, username: &str, password: &str, nonce: &str) -> Self {
        // saslname: '=' and ',' escaped (RFC 5802, 5.1).
        let name = username.replace('=', "=3D").replace(',', "=2C");
        Self {
            hash,
            password: password.to_owned(),
            client_nonce: nonce.to_owned(),
            first_bare: format!("n={name},r={nonce}"),
            expected: None,
        }
    }

    /// The client's first message: no channel binding, no authorization id.
    pub fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.first_bare).into_bytes()
    }

    /// Reads the server's first message and returns the client's final one (with the proof).
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, ScramError> {
        let text = std::str::from_utf8(server_first).map_err(|_| ScramError::NotUtf8 { which: "first" })?;
        let missing = |attribute| ScramError::Missing {
            which: "first",
            attribute,
        };
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for attr in text.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(v),
                Some(("i", v)) => iterations = Some(v),
                Some(("m", _)) => return Err(ScramError::Extension),
                Some(("e", v)) => return Err(ScramError::Refused(clip(v))),
                _ => {}
            }
        }
        let nonce = nonce.ok_or_else(|| missing("nonce"))?;
        if nonce.len() > MAX_FIELD + self.client_nonce.len() {
            return Err(ScramError::NonceTooLong(nonce.len()));
        }
        if nonce.len() <= self.client_nonce.len() || !nonce.starts_with(&self.client_nonce) {
            return Err(ScramError::NonceMismatch);
        }
        let salt = salt.ok_or_else(|| missing("salt"))?;
        if salt.len() > 2 * MAX_FIELD {
            return Err(ScramError::SaltTooLong(salt.len()));
        }
        let salt = B64
            .decode(salt)
            .map_err(|e| ScramError::SaltNotBase64(e.to_string()))?;
        if salt.is_empty() {
            return Err(ScramError::SaltEmpty);
        }
        let iterations: u32 = iterations
            .ok_or_else(|| missing("iteration count"))?
            .parse()
            .map_err(|_| ScramError::IterationsNotANumber)?;
        if !ITERATIONS.contains(&iterations) {
            return Err(ScramError::IterationsOutOfRange(iterations));
        }
        let salted = self.salted_password(&salt, iterations)?;
        let client_key = self.hmac(&salted, b"Client Key")?;
        let stored_key = self.digest(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{text},{without_proof}", self.first_bare);
        let signature = self.hmac(&stored_key, auth_message.as_bytes())?;
        let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(k, s)| k ^ s).collect();
        let server_key = self.hmac(&salted, b"Server Key")?;
        self.expected = Some(self.hmac(&server_key, auth_message.as_bytes())?);
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks the server's final message: its signature proves it knows the password.
    pub fn check_server_final(&self, server_final: &[u8]) -> Result<(), ScramError> {
        let text = std::str::from_utf8(server_final).map_err(|_| ScramError::NotUtf8 { which: "final" })?;
        let expected = self.expected.as_ref().ok_or(ScramError::NoProofYet)?;
        for attr in text.split(',') {
            match attr.split_once('=') {
                Some(("e", v)) => return Err(ScramError::Refused(clip(v))),
                Some(("v", v)) => {
                    let got = B64.decode(v).map_err(|_| ScramError::SignatureNotBase64)?;
                    return if &got == expected {
                        Ok(())
                    } else {
                        Err(ScramError::WrongSignature)
                    };
                }
                _ => {}
            }
        }
        Err(ScramError::Missing {
            which: "final",
            attribute: "signature",
        })
    }

    fn salted_password(&self, salt: &[u8], iterations: u32) -> Result<Vec<u8>, ScramError> {
        let password = self.password.as_bytes();
        let failed = |_| ScramError::Crypto("PBKDF2");
        Ok(match self.hash {
            ScramHash::Sha512 => {
                let mut out = vec![0u8; 64];
                pbkdf2::pbkdf2::<Hmac<Sha512>>(password, salt, iterations, &mut out).map_err(failed)?;
                out
            }
            ScramHash::Sha256 => {
                let mut out = vec![0u8; 32];
                pbkdf2::pbkdf2::<Hmac<Sha256>>(password, salt, iterations, &mut out).map_err(failed)?;
                out
            }
        })
    }

    fn hmac(&self, key: &[u8], data: &[u8]) -> Result<Vec<u8>, ScramError> {
        let failed = |_| ScramError::Crypto("HMAC");
        Ok(match self.hash {
            ScramHash::Sha512 => {
                let mut m = <Hmac<Sha512> as Mac>::new_from_slice(key).map_err(failed)?;
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha256 => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(failed)?;
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        })
    }

    fn digest(&self, data: &[u8]) -> Vec<u8> {
        match self.hash {
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
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

    fn rfc7677() -> ScramClient {
        ScramClient::new(ScramHash::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO")
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
        assert_eq!(wrong, Err(ScramError::WrongSignature));
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
            (
                "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==",
                "no iteration count",
            ),
            ("e=other-error", "refused"),
            ("m=ext,r=rOprNGfwEbeRWgbNEkqOxyz", "extension"),
        ];
        for (msg, why) in cases {
            let err = rfc7677().client_final(msg.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(why), "{msg}: {err}");
        }
        let long_nonce = format!(
            "r=rOprNGfwEbeRWgbNEkqO{},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            "x".repeat(2000)
        );
        assert!(matches!(
            rfc7677().client_final(long_nonce.as_bytes()),
            Err(ScramError::NonceTooLong(_))
        ));
        let long_salt = format!("r=rOprNGfwEbeRWgbNEkqOx,s={},i=4096", "A".repeat(4000));
        assert!(matches!(
            rfc7677().client_final(long_salt.as_bytes()),
            Err(ScramError::SaltTooLong(4000))
        ));
        assert_eq!(
            rfc7677().client_final(&[0xff, 0xfe]),
            Err(ScramError::NotUtf8 { which: "first" })
        );
    }

    #[test]
    fn a_hostile_server_final_message_is_refused() {
        let mut s = rfc7677();
        assert_eq!(s.check_server_final(b"v=AAAA"), Err(ScramError::NoProofYet));
        s.client_final(SERVER_FIRST.as_bytes()).unwrap();
        for (msg, want) in [
            (
                &b"e=invalid-proof"[..],
                ScramError::Refused("invalid-proof".into()),
            ),
            (b"v=!!", ScramError::SignatureNotBase64),
            (
                b"x=1",
                ScramError::Missing {
                    which: "final",
                    attribute: "signature",
                },
            ),
            (b"\xff", ScramError::NotUtf8 { which: "final" }),
        ] {
            assert_eq!(s.check_server_final(msg), Err(want));
        }
    }

    #[test]
    fn usernames_are_escaped_and_the_password_is_not_shown() {
        let s = ScramClient::new(ScramHash::Sha512, "a=b,c", "hunter2-secret", "n0nce");
        assert_eq!(s.client_first(), b"n,,n=a=3Db=2Cc,r=n0nce");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
