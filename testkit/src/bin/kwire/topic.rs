//! `kwire topic create|delete|list`.

use std::process::ExitCode;

use kwire_protocol::ErrorCode;

use crate::common::{broker_code, connect, describe, topic_error, write_stdout};

/// `kwire topic` commands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Creates a topic and waits until every partition has a leader.
    Create {
        /// The topic's name: letters, digits, `.`, `_` and `-`, at most 249 characters.
        #[arg(value_parser = parse_topic_name)]
        name: String,
        /// How many partitions.
        #[arg(long, short = 'p', default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
        partitions: i32,
        /// How many replicas of each partition.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i16).range(1..))]
        replication_factor: i16,
    },
    /// Deletes a topic.
    Delete {
        /// The topic's name.
        name: String,
    },
    /// Prints the name of every topic, one a line, sorted.
    List,
}

/// Runs a `kwire topic` command against `bootstrap`.
pub(crate) async fn run(cmd: Command, bootstrap: &str) -> anyhow::Result<ExitCode> {
    let client = connect(bootstrap).await?;
    match cmd {
        Command::Create {
            name,
            partitions,
            replication_factor,
        } => {
            client
                .create_topic(&name, partitions, replication_factor)
                .await
                .map_err(|e| match broker_code(&e) {
                    Some(ErrorCode::TOPIC_ALREADY_EXISTS) => {
                        anyhow::anyhow!("topic `{name}` already exists ({})", describe(&e))
                    }
                    _ => anyhow::anyhow!("cannot create topic `{name}`: {}", describe(&e)),
                })?;
            write_stdout(format!("created topic {name} with {partitions} partitions\n").as_bytes())?;
        }
        Command::Delete { name } => {
            client
                .delete_topic(&name)
                .await
                .map_err(|e| topic_error(&name, &e))?;
            write_stdout(format!("deleted topic {name}\n").as_bytes())?;
        }
        Command::List => {
            let topics = client
                .list_topics()
                .await
                .map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
            let mut out = String::new();
            for t in topics {
                out.push_str(&t);
                out.push('\n');
            }
            write_stdout(out.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Kafka's rule for topic names.
pub(crate) fn parse_topic_name(s: &str) -> Result<String, String> {
    if s.is_empty() || s == "." || s == ".." {
        return Err("a topic name must not be empty, `.` or `..`".into());
    }
    if s.len() > 249 {
        return Err(format!(
            "a topic name has at most 249 characters, this one {}",
            s.len()
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "`{c}` is not allowed in a topic name (letters, digits, `.`, `_` and `-` are)"
        ));
    }
    Ok(s.to_owned())
}
