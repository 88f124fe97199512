//! What every client's benchmark binary shares: the command line, the payload and the result
//! line, so that every Rust client is measured by the same harness.
//!
//! Each binary produces `--records` records of `--size` bytes (a value, no key, no headers) to
//! `--topic` (which `run.sh` creates beforehand with one partition), then reads them back from
//! offset 0, and prints one `RESULT` line per phase:
//!
//! ```text
//! RESULT client=kwire phase=produce size=100 records=1000000 secs=0.61 rec_s=1639344 mb_s=163.9
//! ```
//!
//! MB/s counts payload bytes (record values) only, in decimal MB (10^6 bytes).
//!
//! `--settings equal` (the default) gives every client the settings below (`Args`);
//! `--settings defaults` builds every client with its library's defaults instead, and the
//! linger, batch and fetch flags are ignored (each binary's doc says what its defaults are).
//!
//! Clocks: produce runs from the first send (the client connected and holding the topic's
//! metadata) until every record is acknowledged; consume runs from the arrival of the first
//! records until the last one is read (so a lazy client's connect and offset lookup are left
//! out, for every client alike; the first fetch's records count, its wait does not).

use std::time::Duration;

/// The command line: the work, and the settings every client is given unless `--settings
/// defaults` asks for its library's own.
#[derive(Debug, Clone)]
pub struct Args {
    /// `host:port` of the broker.
    pub bootstrap: String,
    /// The topic (one partition, created by the runner).
    pub topic: String,
    /// How many records.
    pub records: u64,
    /// Bytes per record value.
    pub size: usize,
    /// Producer linger.
    pub linger: Duration,
    /// Producer batch size in bytes (librdkafka's default: 1,000,000).
    pub batch_bytes: usize,
    /// Consumer fetch max wait (short: tansu holds a fetch for about half of it).
    pub max_wait: Duration,
    /// Consumer bytes per partition per fetch (the Java client's default: 1 MiB).
    pub partition_fetch_bytes: i32,
    /// Consumer bytes per fetch response (the Java client's default: 50 MiB).
    pub fetch_max_bytes: i32,
    /// Which phases to run: `produce`, `consume` or `both`.
    pub phase: String,
    /// Client-specific switches, `--opt NAME` (e.g. `--opt idempotence`).
    pub opts: Vec<String>,
    /// `--settings defaults`: the library's defaults, not the settings above.
    pub defaults: bool,
}

impl Args {
    /// Parses `std::env::args()`; exits with a usage line on a bad argument.
    pub fn parse() -> Self {
        let mut a = Self {
            bootstrap: "127.0.0.1:19092".to_owned(),
            topic: "peer-bench".to_owned(),
            records: 100_000,
            size: 100,
            linger: Duration::from_millis(5),
            batch_bytes: 1_000_000,
            max_wait: Duration::from_millis(10),
            partition_fetch_bytes: 1_048_576,
            fetch_max_bytes: 52_428_800,
            phase: "both".to_owned(),
            opts: Vec::new(),
            defaults: false,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let Some(value) = it.next() else {
                usage(&format!("{flag} needs a value"))
            };
            let num = |v: &str| -> u64 {
                v.parse()
                    .unwrap_or_else(|_| usage(&format!("bad number for {flag}: {v}")))
            };
            match flag.as_str() {
                "--bootstrap" => a.bootstrap = value,
                "--topic" => a.topic = value,
                "--records" => a.records = num(&value),
                "--size" => a.size = num(&value) as usize,
                "--linger-ms" => a.linger = Duration::from_millis(num(&value)),
                "--batch-bytes" => a.batch_bytes = num(&value) as usize,
                "--max-wait-ms" => a.max_wait = Duration::from_millis(num(&value)),
                "--partition-fetch-bytes" => a.partition_fetch_bytes = num(&value) as i32,
                "--fetch-max-bytes" => a.fetch_max_bytes = num(&value) as i32,
                "--phase" => a.phase = value,
                "--opt" => a.opts.push(value),
                "--settings" => match value.as_str() {
                    "equal" => a.defaults = false,
                    "defaults" => a.defaults = true,
                    _ => usage(&format!("--settings is equal or defaults, not {value}")),
                },
                _ => usage(&format!("unknown flag {flag}")),
            }
        }
        a
    }

    /// Whether the produce phase runs.
    pub fn produce(&self) -> bool {
        self.phase == "produce" || self.phase == "both"
    }

    /// Whether the consume phase runs.
    pub fn consume(&self) -> bool {
        self.phase == "consume" || self.phase == "both"
    }

    /// Whether `--opt name` was given.
    pub fn opt(&self, name: &str) -> bool {
        self.opts.iter().any(|o| o == name)
    }

    /// How many records may wait for acknowledgement at once: about 64 MiB of payload, at least
    /// 1000 records (the same bound as `kwire bench`).
    pub fn window(&self) -> usize {
        ((64 << 20) / self.size.max(1)).max(1000)
    }
}

fn usage(msg: &str) -> ! {
    eprintln!(
        "error: {msg}\nusage: BIN [--bootstrap H:P] [--topic T] [--records N] [--size BYTES] \
         [--linger-ms MS] [--batch-bytes B] [--max-wait-ms MS] [--partition-fetch-bytes B] [--fetch-max-bytes B] \
         [--phase produce|consume|both] [--opt NAME]... [--settings equal|defaults]"
    );
    std::process::exit(2)
}

/// A value of `size` bytes of printable noise (the same bytes for every client).
pub fn payload(size: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b'a' + (x % 26) as u8
        })
        .collect()
}

/// Prints the `RESULT` line of one phase. `bytes` is the payload bytes seen (consume) or sent
/// (produce); it must equal `records * size`, or the run is reported as wrong.
/// The CPU time this process has used so far, all its threads (a client library's own threads
/// included): user and system time from `/proc/self/stat`, in clock ticks of 10 ms. Zero where
/// that file cannot be read.
pub fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // The command name may hold spaces: the fields start after its closing parenthesis. utime and
    // stime are the 14th and 15th fields, the 12th and 13th after it.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return Duration::ZERO;
    };
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Prints a phase's RESULT line: records and bytes per second over `elapsed`, and the CPU time
/// the process used in the phase (`cpu`), also per record. Exits with an error if the phase did
/// not move exactly the records and bytes asked for.
pub fn report(client: &str, phase: &str, args: &Args, records: u64, bytes: u64, elapsed: Duration, cpu: Duration) {
    let secs = elapsed.as_secs_f64();
    let expected = args.records * args.size as u64;
    if records != args.records || bytes != expected {
        eprintln!(
            "error: {client} {phase}: got {records} records / {bytes} bytes, expected {} / {expected}",
            args.records
        );
        std::process::exit(1);
    }
    println!(
        "RESULT client={client} phase={phase} size={} records={records} secs={secs:.3} rec_s={:.0} mb_s={:.1} cpu_s={:.2} cpu_us_per_rec={:.3}",
        args.size,
        records as f64 / secs,
        bytes as f64 / secs / 1e6,
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / records as f64,
    );
}
