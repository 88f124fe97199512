//! The Java client's configuration, as people already have it in a `client.properties` file:
//! [`parse_properties`] reads the file's format, and [`ClientBuilder::properties`] applies the
//! client's settings (brokers, security, timeouts) to a builder.
//!
//! ```
//! use kwire_connector::client::{parse_properties, Client};
//!
//! let text = "bootstrap.servers=broker-1:9092\n\
//!             security.protocol=SASL_PLAINTEXT\n\
//!             sasl.mechanism=SCRAM-SHA-256\n\
//!             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n\
//!                 username=\"alice\" password=\"alice-secret\";\n";
//! let props = parse_properties(text).unwrap();
//! let (builder, warnings) = Client::builder().properties(&props).unwrap();
//! assert!(warnings.is_empty());
//! # let _ = builder;
//! ```
//!
//! Known keys with a bad value are errors; unknown keys, and producer and consumer keys the
//! client does not read, come back as warnings. Passwords and tokens never appear in either.

use std::time::Duration;

use kwire_protocol::records::Compression;

use super::error::{ClientError, Error};
use super::{
    Acks, ClientBuilder, ConsumerBuilder, IsolationLevel, ProducerBuilder, SaslConfig, SaslMechanism,
};
use crate::core::fetch_plan::BufferLimits;

/// Reads the Java properties format: `key=value`, `key: value` or `key value` lines, `#` and `!`
/// comments, a trailing backslash joining the next line. Later keys override earlier ones.
pub fn parse_properties(text: &str) -> Result<Vec<(String, String)>, Error> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut logical = String::new();
    for line in text.lines() {
        let part = if logical.is_empty() {
            line.trim_start()
        } else {
            line.trim()
        };
        if logical.is_empty() && (part.is_empty() || part.starts_with('#') || part.starts_with('!')) {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        let slashes = part.chars().rev().take_while(|c| *c == '\\').count();
        if slashes % 2 == 1 {
            logical.push_str(&part[..part.len() - 1]);
            continue;
        }
        logical.push_str(part);
        let entry = std::mem::take(&mut logical);
        let split = entry.find(['=', ':', ' ', '\t']).unwrap_or(entry.len());
        let key = entry[..split].trim().to_owned();
        let rest = entry[split..].trim_start();
        let value = rest.strip_prefix(['=', ':']).unwrap_or(rest).trim().to_owned();
        if key.is_empty() {
            return Err(invalid(format!("a line with no key: {}", first_words(&entry))));
        }
        out.retain(|(k, _)| *k != key);
        out.push((key, value));
    }
    if !logical.is_empty() {
        return Err(invalid("the last line ends with a backslash".into()));
    }
    Ok(out)
}

/// Keys of the Java clients that kwire does not read: no warning for the JVM's own classes.
const JVM_ONLY_KEYS: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
];

/// A producer setting read from the Java producer's keys.
enum ProducerSetting {
    Acks(Acks),
    Compression(Compression),
    Linger(Duration),
    BatchSize(usize),
    Idempotence(bool),
    DeliveryTimeout(Duration),
    MaxRequestSize(usize),
    BufferMemory(usize),
    MaxInFlight(usize),
    MaxBlock(Duration),
}

/// The producer settings in `props` (`None` for a key that is not a producer's).
fn producer_setting(key: &str, value: &str) -> Result<Option<ProducerSetting>, Error> {
    use ProducerSetting as P;
    let v = value.trim();
    Ok(Some(match key {
        "acks" => P::Acks(match v {
            "0" => Acks::None,
            "1" => Acks::Leader,
            "all" | "-1" => Acks::All,
            _ => return Err(invalid(format!("acks={v}: expected 0, 1, all or -1"))),
        }),
        "compression.type" => P::Compression(
            v.parse::<Compression>()
                .map_err(|e| invalid(format!("compression.type={v}: {e}")))?,
        ),
        "linger.ms" => P::Linger(millis(key, v)?),
        "batch.size" => P::BatchSize(count(key, v)?),
        "enable.idempotence" => P::Idempotence(boolean(key, v)?),
        "delivery.timeout.ms" => P::DeliveryTimeout(millis(key, v)?),
        "max.request.size" => P::MaxRequestSize(count(key, v)?),
        "buffer.memory" => P::BufferMemory(count(key, v)?),
        "max.in.flight.requests.per.connection" => P::MaxInFlight(count(key, v)?),
        "max.block.ms" => P::MaxBlock(millis(key, v)?),
        _ => return Ok(None),
    }))
}

/// A consumer setting read from the Java consumer's keys.
enum ConsumerSetting {
    Isolation(IsolationLevel),
    FetchMaxBytes(usize),
    PartitionMaxBytes(usize),
    MaxWait(Duration),
    MinBytes(i32),
}

/// The consumer setting of `key` (`None` for a key that is not a consumer's).
fn consumer_setting(key: &str, value: &str) -> Result<Option<ConsumerSetting>, Error> {
    use ConsumerSetting as C;
    let v = value.trim();
    Ok(Some(match key {
        "isolation.level" => C::Isolation(match v {
            "read_uncommitted" => IsolationLevel::ReadUncommitted,
            "read_committed" => IsolationLevel::ReadCommitted,
            _ => {
                return Err(invalid(format!(
                    "isolation.level={v}: expected read_uncommitted or read_committed"
                )))
            }
        }),
        "fetch.max.bytes" => C::FetchMaxBytes(count(key, v)?),
        "max.partition.fetch.bytes" => C::PartitionMaxBytes(count(key, v)?),
        "fetch.max.wait.ms" => C::MaxWait(millis(key, v)?),
        "fetch.min.bytes" => {
            C::MinBytes(i32::try_from(count(key, v)?).map_err(|_| invalid(format!("{key}={v}: too large")))?)
        }
        _ => return Ok(None),
    }))
}

impl ProducerBuilder {
    /// Applies the Java producer's settings in `props` (see [`parse_properties`]); keys of the
    /// client or the consumer are left to them: `acks` (0, 1, all, -1), `compression.type`,
    /// `linger.ms`, `batch.size`, `enable.idempotence`, `delivery.timeout.ms`,
    /// `max.request.size`, `buffer.memory`, `max.in.flight.requests.per.connection` and
    /// `max.block.ms`. A bad value is an error.
    pub fn properties(mut self, props: &[(String, String)]) -> Result<Self, Error> {
        use ProducerSetting as P;
        for (key, value) in props {
            self = match producer_setting(key, value)? {
                Some(P::Acks(a)) => self.acks(a),
                Some(P::Compression(c)) => self.compression(c),
                Some(P::Linger(d)) => self.linger(d),
                Some(P::BatchSize(n)) => self.batch_size(n),
                Some(P::Idempotence(on)) => self.idempotence(on),
                Some(P::DeliveryTimeout(d)) => self.delivery_timeout(d),
                Some(P::MaxRequestSize(n)) => self.max_request_size(n),
                Some(P::BufferMemory(n)) => self.buffer_memory(n),
                Some(P::MaxInFlight(n)) => self.max_in_flight(n),
                Some(P::MaxBlock(d)) => self.max_block(d),
                None => self,
            };
        }
        Ok(self)
    }
}

impl ConsumerBuilder {
    /// Applies the Java consumer's settings in `props` (see [`parse_properties`]); keys of the
    /// client or the producer are left to them: `isolation.level` (read_uncommitted,
    /// read_committed), `fetch.max.bytes` (the buffer's bytes), `max.partition.fetch.bytes`,
    /// `fetch.max.wait.ms` and `fetch.min.bytes`. A bad value is an error.
    pub fn properties(mut self, props: &[(String, String)]) -> Result<Self, Error> {
        use ConsumerSetting as C;
        for (key, value) in props {
            self = match consumer_setting(key, value)? {
                Some(C::Isolation(i)) => self.isolation(i),
                Some(C::FetchMaxBytes(n)) => {
                    let limits = self.limits;
                    self.buffer(BufferLimits {
                        max_bytes: n,
                        ..limits
                    })
                }
                Some(C::PartitionMaxBytes(n)) => self.partition_max_bytes(n),
                Some(C::MaxWait(d)) => self.max_wait(d),
                Some(C::MinBytes(n)) => self.min_bytes(n),
                None => self,
            };
        }
        Ok(self)
    }
}

impl ClientBuilder {
    /// Applies the Java client's settings in `props` (see [`parse_properties`]): returns the
    /// builder and a warning for each key it does not read. Supported: `bootstrap.servers`,
    /// `client.id`, `request.timeout.ms`, `socket.connection.setup.timeout.ms`,
    /// `retry.backoff.ms`, `security.protocol` (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL),
    /// `sasl.mechanism` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER), `sasl.jaas.config`
    /// (PlainLoginModule and ScramLoginModule with username and password),
    /// `sasl.oauthbearer.token` or `sasl.oauthbearer.token.file`, and PEM trust and key stores
    /// (`ssl.truststore.type=PEM` with `ssl.truststore.location` or
    /// `ssl.truststore.certificates`; `ssl.keystore.type=PEM` with `ssl.keystore.location`, or
    /// `ssl.keystore.certificate.chain` and `ssl.keystore.key`).
    pub fn properties(mut self, props: &[(String, String)]) -> Result<(Self, Vec<String>), Error> {
        let get = |key: &str| props.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let mut warnings = Vec::new();
        for (key, value) in props {
            // Producer and consumer keys are checked here too, so a bad value fails early.
            let theirs = producer_setting(key, value)?.is_some() || consumer_setting(key, value)?.is_some();
            if !theirs && !is_known(key) && !JVM_ONLY_KEYS.contains(&key.as_str()) {
                warnings.push(format!("unknown setting {key} (ignored)"));
            }
        }
        if let Some(servers) = get("bootstrap.servers") {
            self = self.bootstrap(servers);
        }
        if let Some(id) = get("client.id") {
            self = self.client_id(id);
        }
        if let Some(ms) = get("request.timeout.ms") {
            self = self.request_timeout(millis("request.timeout.ms", ms)?);
        }
        if let Some(ms) = get("socket.connection.setup.timeout.ms") {
            self = self.connect_timeout(millis("socket.connection.setup.timeout.ms", ms)?);
        }
        if let Some(ms) = get("retry.backoff.ms") {
            self = self.retry_backoff(millis("retry.backoff.ms", ms)?);
        }
        let protocol = get("security.protocol")
            .unwrap_or("PLAINTEXT")
            .to_ascii_uppercase();
        let (sasl, tls) = match protocol.as_str() {
            "PLAINTEXT" => (false, false),
            "SSL" => (false, true),
            "SASL_PLAINTEXT" => (true, false),
            "SASL_SSL" => (true, true),
            other => {
                return Err(invalid(format!(
                    "security.protocol={other}: expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
                )))
            }
        };
        if sasl {
            self = self.sasl(sasl_config(&get)?);
        }
        if tls {
            self = apply_tls(self, &get)?;
        }
        Ok((self, warnings))
    }
}

fn is_known(key: &str) -> bool {
    matches!(
        key,
        "bootstrap.servers"
            | "client.id"
            | "request.timeout.ms"
            | "socket.connection.setup.timeout.ms"
            | "retry.backoff.ms"
            | "security.protocol"
            | "sasl.mechanism"
            | "sasl.jaas.config"
            | "sasl.oauthbearer.token"
            | "sasl.oauthbearer.token.file"
            | "ssl.truststore.type"
            | "ssl.truststore.location"
            | "ssl.truststore.certificates"
            | "ssl.keystore.type"
            | "ssl.keystore.location"
            | "ssl.keystore.certificate.chain"
            | "ssl.keystore.key"
            | "ssl.endpoint.identification.algorithm"
    )
}

fn sasl_config<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<SaslConfig, Error> {
    let mechanism = match get("sasl.mechanism")
        .unwrap_or("GSSAPI")
        .to_ascii_uppercase()
        .as_str()
    {
        "PLAIN" => SaslMechanism::Plain,
        "SCRAM-SHA-256" => SaslMechanism::ScramSha256,
        "SCRAM-SHA-512" => SaslMechanism::ScramSha512,
        "OAUTHBEARER" => SaslMechanism::OAuthBearer,
        other => {
            return Err(invalid(format!(
                "sasl.mechanism={other}: kwire speaks PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER \
                 (the Java client's default is GSSAPI, Kerberos, which kwire does not speak)"
            )))
        }
    };
    if mechanism == SaslMechanism::OAuthBearer {
        let token =
            match (get("sasl.oauthbearer.token"), get("sasl.oauthbearer.token.file")) {
                (Some(t), _) => t.to_owned(),
                (None, Some(path)) => std::fs::read_to_string(path)
                    .map_err(|e| invalid(format!("sasl.oauthbearer.token.file {path}: {e}")))?
                    .trim()
                    .to_owned(),
                (None, None) => return Err(invalid(
                    "sasl.mechanism=OAUTHBEARER needs sasl.oauthbearer.token or sasl.oauthbearer.token.file"
                        .into(),
                )),
            };
        return Ok(SaslConfig::oauthbearer_token(&token));
    }
    let jaas = get("sasl.jaas.config").ok_or_else(|| {
        invalid(format!(
            "sasl.mechanism={} needs sasl.jaas.config",
            mechanism.name()
        ))
    })?;
    let (module, options) = parse_jaas(jaas)?;
    let expected = match mechanism {
        SaslMechanism::Plain => "org.apache.kafka.common.security.plain.PlainLoginModule",
        _ => "org.apache.kafka.common.security.scram.ScramLoginModule",
    };
    if module != expected {
        return Err(invalid(format!(
            "sasl.jaas.config names {module}; sasl.mechanism={} takes {expected}",
            mechanism.name()
        )));
    }
    let option = |name: &str| {
        options
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| invalid(format!("sasl.jaas.config has no {name}")))
    };
    Ok(SaslConfig::new(
        mechanism,
        option("username")?,
        option("password")?,
    ))
}

/// `Module required key="value" ...;`: the module and its options. Values may be quoted (with
/// `\"` inside) or bare.
fn parse_jaas(text: &str) -> Result<(String, Vec<(String, String)>), Error> {
    let bad = |why: &str| invalid(format!("sasl.jaas.config: {why}"));
    let text = text.trim();
    let body = text
        .strip_suffix(';')
        .ok_or_else(|| bad("it must end with ';'"))?;
    let mut words = body.trim().splitn(3, char::is_whitespace);
    let module = words
        .next()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| bad("no login module"))?;
    match words.next() {
        Some("required" | "requisite" | "sufficient" | "optional") => {}
        _ => {
            return Err(bad(
                "the login module must be followed by a flag such as 'required'",
            ))
        }
    }
    let mut rest = words.next().unwrap_or("").trim_start();
    let mut options = Vec::new();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or_else(|| bad("an option without '='"))?;
        let key = rest[..eq].trim().to_owned();
        let after = &rest[eq + 1..];
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    c => value.push(c),
                }
            }
            let end = end.ok_or_else(|| bad("an unterminated quoted value"))?;
            (value, &quoted[end + 1..])
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (after[..end].to_owned(), &after[end..])
        };
        options.push((key, value));
        rest = tail.trim_start();
    }
    Ok((module.to_owned(), options))
}

#[cfg(feature = "tls")]
fn apply_tls<'a>(
    builder: ClientBuilder,
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Result<ClientBuilder, Error> {
    let pem_type = |key: &str| match get(key) {
        None => Ok(()),
        Some(t) if t.eq_ignore_ascii_case("PEM") => Ok(()),
        Some(t) => Err(invalid(format!(
            "{key}={t}: kwire reads PEM stores only (JKS and PKCS12 are the JVM's)"
        ))),
    };
    pem_type("ssl.truststore.type")?;
    pem_type("ssl.keystore.type")?;
    let read = |key: &str, path: &str| std::fs::read(path).map_err(|e| invalid(format!("{key} {path}: {e}")));
    let ca = match (get("ssl.truststore.certificates"), get("ssl.truststore.location")) {
        (Some(pem), _) => pem.as_bytes().to_vec(),
        (None, Some(path)) => read("ssl.truststore.location", path)?,
        (None, None) => {
            return Err(invalid(
                "TLS needs ssl.truststore.location or ssl.truststore.certificates (PEM): kwire has no \
                 system trust store yet"
                    .into(),
            ))
        }
    };
    let key_pair = match (
        get("ssl.keystore.certificate.chain"),
        get("ssl.keystore.key"),
        get("ssl.keystore.location"),
    ) {
        (Some(chain), Some(key), _) => Some((chain.as_bytes().to_vec(), key.as_bytes().to_vec())),
        (None, None, Some(path)) => {
            // One PEM file with the certificate chain and the private key.
            let both = read("ssl.keystore.location", path)?;
            Some((both.clone(), both))
        }
        (None, None, None) => None,
        _ => {
            return Err(invalid(
                "ssl.keystore.certificate.chain and ssl.keystore.key go together".into(),
            ))
        }
    };
    let tls = match key_pair {
        Some((chain, key)) => super::TlsConfig::with_client_auth(&ca, &chain, &key)?,
        None => super::TlsConfig::from_ca_pem(&ca)?,
    };
    Ok(builder.tls(tls))
}

#[cfg(not(feature = "tls"))]
fn apply_tls<'a>(_: ClientBuilder, _: &impl Fn(&str) -> Option<&'a str>) -> Result<ClientBuilder, Error> {
    Err(invalid(
        "security.protocol asks for TLS, and this build of kwire-connector has no `tls` feature".into(),
    ))
}

fn millis(key: &str, value: &str) -> Result<Duration, Error> {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| invalid(format!("{key}={value}: expected milliseconds")))
}

fn count(key: &str, value: &str) -> Result<usize, Error> {
    value
        .trim()
        .parse::<usize>()
        .map_err(|_| invalid(format!("{key}={value}: expected a number")))
}

fn boolean(key: &str, value: &str) -> Result<bool, Error> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(format!("{key}={value}: expected true or false"))),
    }
}

fn invalid(why: String) -> Error {
    Error::Client(ClientError::InvalidArgument(why))
}

/// The first few words of a line, for an error that must not show a whole (secret) value.
fn first_words(line: &str) -> String {
    line.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(text: &str) -> Vec<(String, String)> {
        parse_properties(text).unwrap()
    }

    #[test]
    fn the_properties_format_is_read_as_java_reads_it() {
        let p = props(
            "# comment\n! also a comment\n\nbootstrap.servers = a:9092,b:9092\nclient.id: me\n\
             retry.backoff.ms 250\nsasl.jaas.config=one \\\n   two \\\n three;\nclient.id=again\n",
        );
        assert_eq!(
            p,
            vec![
                ("bootstrap.servers".to_owned(), "a:9092,b:9092".to_owned()),
                ("retry.backoff.ms".to_owned(), "250".to_owned()),
                ("sasl.jaas.config".to_owned(), "one two three;".to_owned()),
                ("client.id".to_owned(), "again".to_owned()),
            ]
        );
        assert!(parse_properties("a=b \\").is_err());
    }

    #[test]
    fn jaas_options_are_read_quoted_or_bare() {
        let (module, options) = parse_jaas(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="al ice" password="p\"w=;" extra=bare;"#,
        )
        .unwrap();
        assert_eq!(module, "org.apache.kafka.common.security.plain.PlainLoginModule");
        assert_eq!(
            options,
            vec![
                ("username".to_owned(), "al ice".to_owned()),
                ("password".to_owned(), "p\"w=;".to_owned()),
                ("extra".to_owned(), "bare".to_owned()),
            ]
        );
        for bad in [
            "Module required a=\"b\"",
            "Module a=b;",
            "Module required a=\"b;",
            ";",
        ] {
            assert!(parse_jaas(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_confluent_cloud_style_file_configures_sasl_and_unknown_keys_warn() {
        let p = props(
            "bootstrap.servers=pkc-1.example:9092\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n\
             sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"KEY\" password=\"SECRET\";\n\
             session.timeout.ms=45000\nacks=all\nrequest.timeout.ms=20000\n",
        );
        let (builder, warnings) = ClientBuilder::default().properties(&p).unwrap();
        assert_eq!(
            warnings,
            vec!["unknown setting session.timeout.ms (ignored)".to_owned()]
        );
        let debug = format!("{builder:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(debug.contains("pkc-1.example:9092"));
        assert!(debug.contains("20s"));
    }

    #[test]
    fn producer_and_consumer_keys_are_read_and_bad_values_are_errors() {
        let p = props(
            "acks=1\ncompression.type=zstd\nlinger.ms=20\nbatch.size=65536\nenable.idempotence=false\n\
             isolation.level=read_committed\nfetch.max.bytes=1048576\nmax.partition.fetch.bytes=65536\n\
             fetch.max.wait.ms=100\nfetch.min.bytes=1\nkey.serializer=org.apache.kafka.common.serialization.StringSerializer\n",
        );
        let (_, warnings) = ClientBuilder::default().properties(&p).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(matches!(
            producer_setting("acks", "1"),
            Ok(Some(ProducerSetting::Acks(Acks::Leader)))
        ));
        assert!(matches!(
            consumer_setting("isolation.level", "read_committed"),
            Ok(Some(ConsumerSetting::Isolation(IsolationLevel::ReadCommitted)))
        ));
        for (text, why) in [
            ("acks=2\n", "acks=2"),
            ("compression.type=brotli\n", "compression.type=brotli"),
            ("enable.idempotence=yes\n", "expected true or false"),
            ("batch.size=-1\n", "expected a number"),
            ("isolation.level=serializable\n", "read_committed"),
        ] {
            let err = ClientBuilder::default()
                .properties(&props(text))
                .unwrap_err()
                .to_string();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn known_keys_with_bad_values_are_errors_that_show_no_secret() {
        let cases = [
            ("security.protocol=SASL_FOO\n", "security.protocol=SASL_FOO"),
            ("request.timeout.ms=soon\n", "expected milliseconds"),
            ("security.protocol=SASL_PLAINTEXT\n", "GSSAPI"),
            ("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n", "needs sasl.jaas.config"),
            (
                "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"TOPSECRET\";\n",
                "takes org.apache.kafka.common.security.scram.ScramLoginModule",
            ),
            (
                "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required password=\"TOPSECRET\";\n",
                "has no username",
            ),
            ("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=OAUTHBEARER\n", "needs sasl.oauthbearer.token"),
        ];
        for (text, why) in cases {
            let err = ClientBuilder::default()
                .properties(&props(text))
                .unwrap_err()
                .to_string();
            assert!(err.contains(why), "{text}: {err}");
            assert!(!err.contains("TOPSECRET"), "{err}");
        }
    }
}
