//! Test data helpers shared by the broker tests: a client for a [`LocalBroker`], topics filled
//! with numbered records, and reading the number back.

use std::time::Duration;

use bytes::Bytes;
use kwire_connector::client::{Client, Error, ProducerRecord};

use crate::LocalBroker;

/// A client bootstrapped from `broker`.
pub async fn client(broker: &LocalBroker) -> Result<Client, Error> {
    Client::builder().bootstrap(broker.bootstrap()).build().await
}

/// Creates `topic` with `partitions` partitions and writes `count` records round-robin over them:
/// record `i` has value `"<i>:"` padded with `x` to `size` bytes and goes to partition
/// `i % partitions`. With `one_per_batch`, every record is its own batch: tansu cannot fetch from an
/// offset inside a batch (docs/interop.md), and tests that resume mid-stream need batch boundaries
/// there.
pub async fn fill(
    client: &Client,
    topic: &str,
    partitions: i32,
    count: u32,
    size: usize,
    one_per_batch: bool,
) -> Result<(), Error> {
    client.create_topic(topic, partitions, 1).await?;
    let mut builder = client.producer();
    if one_per_batch {
        builder = builder.batch_size(1).linger(Duration::ZERO);
    }
    let producer = builder.build().await?;
    let mut acks = Vec::with_capacity(count as usize);
    for i in 0..count {
        let mut v = format!("{i}:").into_bytes();
        v.resize(size.max(v.len()), b'x');
        let partition = (i % partitions as u32) as i32;
        acks.push(
            producer
                .send(ProducerRecord::new(topic, Bytes::from(v)).partition(partition))
                .await?,
        );
    }
    producer.flush().await?;
    for ack in acks {
        ack.await
            .map_err(|_| Error::InvalidArgument("the producer stopped".into()))??;
    }
    producer.close().await
}

/// The number a record written by [`fill`] carries, from its value.
pub fn index(value: &[u8]) -> Option<u32> {
    let end = value.iter().position(|b| *b == b':')?;
    std::str::from_utf8(&value[..end]).ok()?.parse().ok()
}
