//! What the examples share: the broker address from the command line.

// Each example uses a part of these helpers.
#![allow(dead_code)]

use kwire_connector::client::{Client, Error};

/// `--bootstrap HOST:PORT` from the arguments, else `$KWIRE_BOOTSTRAP`, else `127.0.0.1:9092`
/// (where `kwire broker` listens), and the other arguments.
pub(crate) fn args() -> (String, Vec<String>) {
    let mut bootstrap = std::env::var("KWIRE_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".to_owned());
    let mut rest = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bootstrap" => bootstrap = args.next().unwrap_or(bootstrap),
            _ => rest.push(a),
        }
    }
    (bootstrap, rest)
}

/// A client of `bootstrap`, with `topic` created (`partitions` partitions) if it is missing.
pub(crate) async fn client_with_topic(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
) -> Result<Client, Error> {
    let client = Client::builder().bootstrap(bootstrap).build().await?;
    if !client.list_topics().await?.iter().any(|t| t == topic) {
        client.create_topic(topic, partitions, 1).await?;
    }
    Ok(client)
}

/// The value [`args`] gives for `--name`, parsed.
pub(crate) fn flag<T: std::str::FromStr>(rest: &[String], name: &str) -> Option<T> {
    rest.iter()
        .position(|a| a == name)
        .and_then(|i| rest.get(i + 1))
        .and_then(|v| v.parse().ok())
}
