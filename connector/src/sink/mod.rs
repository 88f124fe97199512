//! The Kafka sink: the end of a job that writes its records to Kafka, with Flink's partitioners
//! and a delivery guarantee tied to checkpoints.
//!
//! [`KafkaSink`] is the job-wide description; [`KafkaSink::writer`] makes the writer of one sink
//! instance, a [`crate::runtime::Sink`]. Partitioners:
//! - [`Partitioner::Fixed`] (the default, Flink's `FlinkFixedPartitioner`): instance `i` writes
//!   every record to the `i % n`-th partition, so with as many partitions as instances, jobs
//!   chained through Kafka keep each partition's order;
//! - [`Partitioner::RoundRobin`];
//! - [`Partitioner::KeyHash`]: the partition the Java client's default partitioner picks for a
//!   keyed record (murmur2 of the key, made positive, modulo the partition count), so kwire and
//!   Java producers agree on where a key goes; records without a key go round-robin;
//! - [`Partitioner::Custom`]: a closure given the record, the instance and the partitions.
//!
//! Delivery: [`DeliveryGuarantee::None`] sends and forgets; [`DeliveryGuarantee::AtLeastOnce`]
//! flushes at each checkpoint barrier and waits for every acknowledgement before the checkpoint
//! is acknowledged, so a failed write fails the checkpoint (and the job restarts from the previous
//! one) instead of being dropped.
//!
//! References: Flink's KafkaSink and `FlinkFixedPartitioner`; the Java client's
//! `BuiltInPartitioner.partitionForKey`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::client::partitioner::partition_for_key;
use crate::client::{Client, DeliveryFuture, Error, Producer, ProducerBuilder, ProducerRecord};
use crate::runtime::{JobError, Sink, SinkContext};

/// A user partitioner: given the record, the sink instance and the topic's partitions (sorted),
/// the partition to write to.
pub type CustomPartitioner = Arc<dyn Fn(&ProducerRecord, usize, &[i32]) -> i32 + Send + Sync>;

/// Picks the partition of a record without one.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Partitioner {
    /// Instance `i` writes to the `i % n`-th partition (Flink's default).
    #[default]
    Fixed,
    /// Each record to the next partition in turn.
    RoundRobin,
    /// By key, as the Java client's default partitioner; round-robin without a key.
    KeyHash,
    /// A closure given the record, the sink instance and the topic's partitions (sorted).
    Custom(CustomPartitioner),
}

impl fmt::Debug for Partitioner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Fixed => "Fixed",
            Self::RoundRobin => "RoundRobin",
            Self::KeyHash => "KeyHash",
            Self::Custom(_) => "Custom",
        })
    }
}

/// What the sink promises about each record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DeliveryGuarantee {
    /// Send and forget: a record may be lost on a failure.
    None,
    /// Every record acknowledged before its checkpoint completes; after a restart some may be
    /// written twice.
    #[default]
    AtLeastOnce,
}

type Serializer<T> = Arc<dyn Fn(&str, T) -> ProducerRecord + Send + Sync>;
type Configure = Arc<dyn Fn(ProducerBuilder) -> ProducerBuilder + Send + Sync>;

/// The job-wide description of a Kafka sink for records of type `T`.
pub struct KafkaSink<T> {
    client: Client,
    topic: String,
    serializer: Serializer<T>,
    partitioner: Partitioner,
    guarantee: DeliveryGuarantee,
    configure: Configure,
}

impl<T> Clone for KafkaSink<T> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            topic: self.topic.clone(),
            serializer: self.serializer.clone(),
            partitioner: self.partitioner.clone(),
            guarantee: self.guarantee,
            configure: self.configure.clone(),
        }
    }
}

impl<T: Send + 'static> KafkaSink<T> {
    /// A sink writing to `topic` through `client`; `serializer` turns an item into a record given
    /// the sink's topic (it may name another topic, or set a partition of its own). Fixed
    /// partitioner, at-least-once, the producer's defaults.
    pub fn new(
        client: Client,
        topic: &str,
        serializer: impl Fn(&str, T) -> ProducerRecord + Send + Sync + 'static,
    ) -> Self {
        Self {
            client,
            topic: topic.to_owned(),
            serializer: Arc::new(serializer),
            partitioner: Partitioner::default(),
            guarantee: DeliveryGuarantee::default(),
            configure: Arc::new(|b| b),
        }
    }

    /// The partitioner (default fixed).
    pub fn partitioner(mut self, p: Partitioner) -> Self {
        self.partitioner = p;
        self
    }

    /// The delivery guarantee (default at-least-once).
    pub fn delivery(mut self, g: DeliveryGuarantee) -> Self {
        self.guarantee = g;
        self
    }

    /// Producer settings (acks, compression, linger, batch size) applied to each writer's
    /// producer.
    pub fn producer(
        mut self,
        configure: impl Fn(ProducerBuilder) -> ProducerBuilder + Send + Sync + 'static,
    ) -> Self {
        self.configure = Arc::new(configure);
        self
    }

    /// The writer of sink instance `ctx.instance`.
    pub fn writer(&self, ctx: SinkContext) -> KafkaSinkWriter<T> {
        KafkaSinkWriter {
            sink: self.clone(),
            instance: ctx.instance,
            producer: None,
            partitions: HashMap::new(),
            next: ctx.instance,
            acks: Vec::new(),
        }
    }
}

impl KafkaSink<String> {
    /// A sink of UTF-8 strings as record values, without keys.
    pub fn strings(client: Client, topic: &str) -> Self {
        Self::new(client, topic, |topic, s: String| ProducerRecord::new(topic, s))
    }
}

/// The writer of one sink instance.
pub struct KafkaSinkWriter<T> {
    sink: KafkaSink<T>,
    instance: usize,
    producer: Option<Producer>,
    partitions: HashMap<String, Vec<i32>>,
    next: usize,
    acks: Vec<(String, i32, DeliveryFuture)>,
}

/// Acknowledgements kept before the finished ones are checked (bounds the list between
/// checkpoints; the producer's queue bounds what is in flight).
const ACKS_CHECKED_AT: usize = 4096;

impl<T: Send + 'static> KafkaSinkWriter<T> {
    async fn producer(&mut self) -> Result<&Producer, Error> {
        if self.producer.is_none() {
            let builder = (self.sink.configure)(self.sink.client.producer());
            self.producer = Some(builder.build().await?);
        }
        Ok(self.producer.as_ref().expect("just built"))
    }

    async fn partitions(&mut self, topic: &str) -> Result<Vec<i32>, Error> {
        if let Some(p) = self.partitions.get(topic) {
            return Ok(p.clone());
        }
        let meta = self.sink.client.topic(topic).await?;
        let mut ids: Vec<i32> = meta.partitions.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        if ids.is_empty() {
            return Err(Error::NoLeader {
                topic: topic.to_owned(),
                partition: -1,
            });
        }
        self.partitions.insert(topic.to_owned(), ids.clone());
        Ok(ids)
    }

    fn choose(&mut self, record: &ProducerRecord, partitions: &[i32]) -> i32 {
        let n = partitions.len();
        let mut round_robin = || {
            let p = partitions[self.next % n];
            self.next = self.next.wrapping_add(1);
            p
        };
        match &self.sink.partitioner {
            Partitioner::Fixed => partitions[self.instance % n],
            Partitioner::RoundRobin => round_robin(),
            Partitioner::KeyHash => match &record.key {
                Some(k) => partition_for_key(k, i32::try_from(n).unwrap_or(i32::MAX)),
                None => round_robin(),
            },
            Partitioner::Custom(f) => f(record, self.instance, partitions),
        }
    }

    /// Waits for every acknowledgement: the first failure, with its topic and partition.
    async fn await_acks(&mut self) -> Result<(), JobError> {
        for (topic, partition, ack) in self.acks.drain(..) {
            ack.await.map_err(|_| {
                JobError::Operator(format!(
                    "the producer stopped before acknowledging a record for {topic}/{partition}"
                ))
            })??;
        }
        Ok(())
    }

    /// Drops the acknowledgements already received, failing on the first error.
    fn check_finished_acks(&mut self) -> Result<(), JobError> {
        let mut failure = None;
        self.acks.retain_mut(|(_, _, ack)| match ack.try_recv() {
            Ok(Ok(_)) => false,
            Ok(Err(e)) => {
                failure.get_or_insert(JobError::from(e));
                false
            }
            Err(tokio::sync::oneshot::error::TryRecvError::Empty) => true,
            Err(tokio::sync::oneshot::error::TryRecvError::Closed) => {
                failure.get_or_insert(JobError::Operator("the producer stopped".into()));
                false
            }
        });
        failure.map_or(Ok(()), Err)
    }

    async fn flush(&mut self) -> Result<(), JobError> {
        if let Some(p) = &self.producer {
            p.flush().await?;
        }
        self.await_acks().await
    }
}

impl<T: Send + 'static> Sink<T> for KafkaSinkWriter<T> {
    async fn write(&mut self, item: T) -> Result<(), JobError> {
        let mut record = (self.sink.serializer)(&self.sink.topic, item);
        if record.partition.is_none() {
            let partitions = self.partitions(&record.topic).await?;
            record.partition = Some(self.choose(&record, &partitions));
        }
        let (topic, partition) = (record.topic.clone(), record.partition.unwrap_or(-1));
        let ack = self.producer().await?.send(record).await?;
        if self.sink.guarantee == DeliveryGuarantee::AtLeastOnce {
            self.acks.push((topic, partition, ack));
            if self.acks.len() >= ACKS_CHECKED_AT {
                self.check_finished_acks()?;
            }
        }
        Ok(())
    }

    async fn prepare_checkpoint(&mut self, _checkpoint_id: u64) -> Result<Vec<u8>, JobError> {
        if self.sink.guarantee == DeliveryGuarantee::AtLeastOnce {
            self.flush().await?;
        }
        Ok(Vec::new())
    }

    async fn finish(&mut self) -> Result<(), JobError> {
        self.flush().await?;
        if let Some(p) = self.producer.take() {
            p.close().await?;
        }
        Ok(())
    }
}
