//! Word count on a timely-dataflow cluster: reads topic `test` (every word of every value),
//! counts each word, and writes `word count` (the running count, keyed by the word) to topic `counts` exactly once, with a
//! checkpoint every second in a directory every process reaches.
//!
//! Three processes with two workers each, on one machine (one terminal each, or `&`):
//!
//! ```text
//! printf '127.0.0.1:2101\n127.0.0.1:2102\n127.0.0.1:2103\n' > hosts.txt
//! cargo run --release -p kwire-connector --features timely --example cluster_word_count -- \
//!     --hostfile hosts.txt --process 0 --threads 2 --checkpoints /tmp/wc-checkpoints
//! (the same with --process 1 and --process 2)
//! ```
//!
//! On three machines: the host file names each machine's address, every machine runs its own
//! `--process`, and `--checkpoints` is a directory all of them mount (NFS or the like).
//!
//! Options: `--bootstrap HOST:PORT` (default `$KWIRE_BOOTSTRAP`, else 127.0.0.1:9092),
//! `--input TOPIC` (test), `--output TOPIC` (counts), `--group ID` (offsets committed there at
//! each checkpoint, for monitoring; default word-count), `--interval-ms N` (1000), `--bounded`
//! (stop at the input's end offsets at the first start, then exit), `--rate N` (at most N records
//! a second per worker: for demonstrations and failure tests). Each worker prints the partitions
//! it reads to stderr.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kwire_connector::client::{Client, IsolationLevel, ProducerRecord};
use kwire_connector::cluster::timely::dataflow::channels::pact::Exchange;
use kwire_connector::cluster::timely::dataflow::operators::vec::Map;
use kwire_connector::cluster::{self, Checkpointing, Cluster, SharedDir};
use kwire_connector::runtime::Operator;
use kwire_connector::sink::{DeliveryGuarantee, KafkaSink, Partitioner};
use kwire_connector::source::{KafkaSource, StartingOffsets, StoppingOffsets};

struct Args {
    hostfile: Option<String>,
    process: usize,
    threads: usize,
    bootstrap: String,
    input: String,
    output: String,
    group: String,
    checkpoints: String,
    interval: Duration,
    bounded: bool,
    rate: Option<f64>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        hostfile: None,
        process: 0,
        threads: 1,
        bootstrap: std::env::var("KWIRE_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into()),
        input: "test".into(),
        output: "counts".into(),
        group: "word-count".into(),
        checkpoints: "/tmp/kwire-word-count".into(),
        interval: Duration::from_secs(1),
        bounded: false,
        rate: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--bounded" {
            a.bounded = true;
            continue;
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--hostfile" => a.hostfile = Some(value),
            "--process" => a.process = number(&value)? as usize,
            "--threads" => a.threads = number(&value)? as usize,
            "--bootstrap" => a.bootstrap = value,
            "--input" => a.input = value,
            "--output" => a.output = value,
            "--group" => a.group = value,
            "--checkpoints" => a.checkpoints = value,
            "--interval-ms" => a.interval = Duration::from_millis(number(&value)?),
            "--rate" => a.rate = Some(number(&value)? as f64),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(a)
}

/// The running count per word: the operator's state, checkpointed with every epoch.
#[derive(Default)]
struct Count(HashMap<String, u64>);

impl Operator<String, (String, u64)> for Count {
    fn process(&mut self, word: String, out: &mut Vec<(String, u64)>) {
        let n = self.0.entry(word.clone()).or_default();
        *n += 1;
        out.push((word, *n));
    }

    /// Per word: u32 length, the word, u64 count (big-endian).
    fn snapshot(&mut self) -> Vec<u8> {
        let mut b = Vec::new();
        for (w, n) in &self.0 {
            b.extend_from_slice(&(w.len() as u32).to_be_bytes());
            b.extend_from_slice(w.as_bytes());
            b.extend_from_slice(&n.to_be_bytes());
        }
        b
    }

    fn restore(&mut self, mut state: &[u8]) {
        self.0.clear();
        while let Some((len, rest)) = state.split_first_chunk::<4>() {
            let len = u32::from_be_bytes(*len) as usize;
            let (Some(word), Some(n)) = (rest.get(..len), rest.get(len..len + 8)) else {
                break;
            };
            let n = u64::from_be_bytes(n.try_into().unwrap_or_default());
            self.0.insert(String::from_utf8_lossy(word).into_owned(), n);
            state = &rest[len + 8..];
        }
    }
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let cluster = match &a.hostfile {
        Some(h) => Cluster::from_hostfile(h, a.process, a.threads),
        None => Ok(Cluster::local(a.threads)),
    };
    let store = SharedDir::open(&a.checkpoints).map_err(|e| e.to_string());
    let (cluster, store) = match (cluster, store) {
        (Ok(c), Ok(s)) => (c, s),
        (Err(e), _) => return fail(e.to_string()),
        (_, Err(e)) => return fail(e),
    };
    let checkpoints = Checkpointing::new(store, a.interval);
    let result = cluster::execute(cluster, checkpoints, move |worker, ctx| {
        let client = ctx
            .block_on(Client::builder().bootstrap(&a.bootstrap).build())
            .unwrap_or_else(|e| ctx.fail(cluster::ClusterError::Config(format!("client: {e}"))));
        let mut source = KafkaSource::builder(client.clone(), &[a.input.as_str()])
            .starting_offsets(StartingOffsets::Earliest)
            .isolation(IsolationLevel::ReadCommitted)
            .group_id(&a.group)
            .max_wait(Duration::from_millis(50));
        if a.bounded {
            source = source.stopping_offsets(StoppingOffsets::Latest);
        }
        let source = source.build();
        let sink = KafkaSink::new(client, &a.output, |topic, (word, n): (String, u64)| {
            ProducerRecord::new(topic, format!("{word} {n}")).key(word)
        })
        .partitioner(Partitioner::KeyHash)
        .delivery(DeliveryGuarantee::ExactlyOnce)
        .transactional_id_prefix(&format!("{}-{}", a.group, a.output));
        let rate = a.rate;
        worker.dataflow::<u64, _, _>(|scope| {
            let records = cluster::kafka_source(scope, ctx, &source);
            let started = Instant::now();
            let mut seen = 0u64;
            let words = records.flat_map(move |r| {
                if let Some(rate) = rate {
                    // Throttle: sleep while ahead of `rate` records a second.
                    seen += 1;
                    let due = Duration::from_secs_f64(seen as f64 / rate);
                    if let Some(wait) = due.checked_sub(started.elapsed()) {
                        std::thread::sleep(wait);
                    }
                }
                let text = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned();
                text.split_whitespace().map(str::to_owned).collect::<Vec<_>>()
            });
            // Each word to the worker its stable hash names, in every run.
            let by_word = Exchange::new(|w: &String| u64::from(crc32c::crc32c(w.as_bytes())));
            let counts = cluster::checkpointed(words, ctx, "count", by_word, Count::default());
            cluster::kafka_sink(counts, ctx, &sink);
        });
        let parts: Vec<String> = ctx
            .source_partitions()
            .iter()
            .map(|(t, p)| format!("{t}/{p}"))
            .collect();
        eprintln!(
            "worker {} of {} reads {}",
            ctx.index(),
            ctx.peers(),
            parts.join(" ")
        );
    });
    if let Err(e) = result {
        fail(e.to_string());
    }
}

fn fail(e: String) {
    eprintln!("error: {e}");
    std::process::exit(1);
}
