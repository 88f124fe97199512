//! The protocol conformance suite: named cases, each one API at one version against a live broker,
//! each checking what the answer *means* (the topic it created is there with its partitions and
//! leaders, the records fetched are the ones produced at the offsets the produce answered, the
//! offset committed is the offset fetched back), not only that it decoded.
//!
//! ```no_run
//! # async fn demo() {
//! let report = kwire_testkit::conformance::run("127.0.0.1:9092", false).await;
//! println!("{}", report.render_matrix());
//! std::process::exit(if report.ok() { 0 } else { 1 });
//! # }
//! ```
//!
//! Every case pins its version with [`Connection::send_raw`](kwire_connector::client::raw::Connection)
//! and builds its request for that version. A case whose API or version the broker does not list in
//! its ApiVersions answer is [`Outcome::NotOffered`], never a failure. Each case works on topics,
//! groups and transactional ids of its own (named after the run, the case and the version), so the
//! cases are independent and run concurrently; the topics are deleted at the end.
//!
//! # Outcomes and the exit code
//!
//! - [`Outcome::Pass`]: the answer means what the protocol says.
//! - [`Outcome::Fail`]: it does not; the [`Failure`] says what was sent, what came back and why that
//!   is wrong.
//! - [`Outcome::Deviation`]: the strict check failed, *and* the answer shows exactly the symptom of a
//!   broker deviation that is written down (in `docs/interop.md`, or, for those this suite found,
//!   in `docs/conformance.md`; the list is [`KNOWN_DEVIATIONS`]). Any other wrong answer in the
//!   same case is a failure. Deviations are shown in the matrix as `DEV` with their note, counted
//!   apart, and do not make [`Report::ok`] false; [`Report::strictly_ok`] is false while any
//!   remains.
//! - [`Outcome::NotOffered`]: the broker does not offer the API or version.
//!
//! [`Report::ok`] is true when no offered case failed: the CLI exits 0 exactly then.
//!
//! References: the Kafka protocol guide (kafka.apache.org/protocol); the message specs in Apache
//! Kafka's `clients/src/main/resources/common/message/`; KIP-74 (fetch byte limits), KIP-98
//! (idempotence and transactions), KIP-511 (ApiVersions client software), KIP-516 (topic ids).

mod cases;
pub mod checks;
mod deviations;
mod harness;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kwire_protocol::messages::ApiKey;

pub use deviations::{Deviation, KNOWN_DEVIATIONS};

use harness::{Cx, Env, ProblemKind};

/// How many cases run at once.
const CONCURRENCY: usize = 6;
/// How long one case may take before it fails as hung.
const CASE_TIMEOUT: Duration = Duration::from_secs(20);
/// The most characters of a request or response kept in a report.
const MAX_DEBUG: usize = 2000;

/// What became of one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The answer means what the protocol says.
    Pass,
    /// The answer is wrong (or there was none).
    Fail,
    /// The answer is wrong in exactly the way a deviation documented in `docs/interop.md` is.
    Deviation,
    /// The broker does not offer this API or version.
    NotOffered,
}

impl Outcome {
    /// The matrix cell: `pass`, `FAIL`, `DEV` or `-`.
    pub fn cell(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "FAIL",
            Self::Deviation => "DEV",
            Self::NotOffered => "-",
        }
    }

    /// The name in the JSON report: `pass`, `fail`, `deviation` or `not-offered`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Deviation => "deviation",
            Self::NotOffered => "not-offered",
        }
    }
}

/// Why a case failed: what was sent, what came back, and why that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Why the answer is wrong.
    pub why: String,
    /// The request checked (its `Debug`, truncated), if the problem is about one.
    pub sent: Option<String>,
    /// What came back (the response's `Debug`, truncated, or the error).
    pub received: Option<String>,
}

/// The result of one case at one version.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CaseResult {
    /// The API's name, e.g. `Fetch`.
    pub api: &'static str,
    /// The API key.
    pub api_key: i16,
    /// The case's name, e.g. `Fetch inside a batch` (a row of the matrix).
    pub case: &'static str,
    /// The version the request was sent at.
    pub version: i16,
    /// What became of it.
    pub outcome: Outcome,
    /// For a failure or a deviation: what was sent, what came back, why it is wrong.
    pub failure: Option<Failure>,
    /// For a deviation: what the broker does; for "not offered": what the broker offers.
    pub note: Option<String>,
    /// For a deviation: which one, and where it is documented.
    pub deviation: Option<Deviation>,
    /// How long the case took.
    pub elapsed: Duration,
}

/// How many cases ended how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Documented broker deviations.
    pub deviation: usize,
    /// Not offered by the broker.
    pub not_offered: usize,
}

/// The results of a run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Report {
    /// The broker the suite ran against.
    pub bootstrap: String,
    /// Every case at every version, in the suite's order.
    pub cases: Vec<CaseResult>,
    /// How long the run took.
    pub elapsed: Duration,
}

/// Runs every case against the broker at `bootstrap` (`host:port`). `tansu` says that the broker
/// is known to be tansu (the suite's caller started it): only then do its documented deviations
/// count as `DEV`; against any other broker their symptoms are failures.
///
/// Never panics on a broker's answer: a broker that cannot be reached gives a report with one
/// failed case saying so.
pub async fn run(bootstrap: &str, tansu: bool) -> Report {
    run_matching(bootstrap, "", tansu).await
}

/// Runs the cases whose name contains `filter` (case-insensitive; empty: all), e.g. `"Fetch"`.
pub async fn run_matching(bootstrap: &str, filter: &str, tansu: bool) -> Report {
    let options = RunOptions {
        filter: filter.to_owned(),
        tansu,
        sasl: None,
    };
    run_with(bootstrap, &options).await
}

/// A SASL_PLAINTEXT listener of the broker under test, with a user that PLAIN authenticates:
/// given it, the SASL cases run there for real (a mechanism accepted and one refused, the right
/// password and a wrong one); without it they check that a listener without SASL refuses them.
#[derive(Debug, Clone)]
pub struct SaslListener {
    /// `host:port` of the listener.
    pub bootstrap: String,
    /// A user of the PLAIN mechanism.
    pub username: String,
    /// Its password.
    pub password: String,
}

/// How [`run_with`] runs the suite.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RunOptions {
    /// Only the cases whose name contains this (case-insensitive; empty: all), e.g. `"Fetch"`.
    pub filter: String,
    /// The broker is tansu: its documented deviations apply.
    pub tansu: bool,
    /// A SASL listener for the SASL cases.
    pub sasl: Option<SaslListener>,
}

impl RunOptions {
    /// Every case, on a broker that is not tansu, with no SASL listener.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only the cases whose name contains `filter`.
    pub fn filter(mut self, filter: &str) -> Self {
        filter.clone_into(&mut self.filter);
        self
    }

    /// Whether the broker is tansu.
    pub fn tansu(mut self, tansu: bool) -> Self {
        self.tansu = tansu;
        self
    }

    /// The SASL cases run on `listener`.
    pub fn sasl(mut self, listener: SaslListener) -> Self {
        self.sasl = Some(listener);
        self
    }
}

/// Runs the suite as `options` say.
pub async fn run_with(bootstrap: &str, options: &RunOptions) -> Report {
    let filter = options.filter.to_lowercase();
    let started = Instant::now();
    let env = match Env::connect(bootstrap, options.tansu, options.sasl.clone()).await {
        Ok(env) => Arc::new(env),
        Err(e) => {
            return Report {
                bootstrap: bootstrap.to_owned(),
                cases: vec![CaseResult {
                    api: "ApiVersions",
                    api_key: ApiKey::ApiVersions.0,
                    case: "Connect and negotiate",
                    version: 0,
                    outcome: Outcome::Fail,
                    failure: Some(Failure {
                        why: format!("cannot connect to {bootstrap} and read its metadata: {e}"),
                        sent: None,
                        received: None,
                    }),
                    note: None,
                    deviation: None,
                    elapsed: started.elapsed(),
                }],
                elapsed: started.elapsed(),
            };
        }
    };
    // Every case at every version, in the matrix's order: done at once when not offered.
    let mut slots: Vec<Slot> = Vec::new();
    for def in cases::all()
        .into_iter()
        .filter(|d| d.name.to_lowercase().contains(&filter))
    {
        let api = def.api.name().unwrap_or("?");
        for version in def.versions.iter() {
            let base = CaseResult {
                api,
                api_key: def.api.0,
                case: def.name,
                version,
                outcome: Outcome::NotOffered,
                failure: None,
                note: None,
                deviation: None,
                elapsed: Duration::ZERO,
            };
            if env.offered(def.api, version) {
                slots.push(Slot::Pending(base, def.kind, def.isolated));
            } else {
                let offered = env
                    .conn
                    .broker_versions(def.api)
                    .map_or_else(|| "none".to_owned(), |r| format!("v{}-v{}", r.min, r.max));
                slots.push(Slot::Done(CaseResult {
                    note: Some(format!("the broker offers {api} {offered}")),
                    ..base
                }));
            }
        }
    }
    // The cases run concurrently, a few at a time, each with a client of its own; those marked
    // isolated (they make some brokers drop connections) run alone afterwards.
    let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let slots: Vec<Slot> = slots
        .into_iter()
        .map(|slot| match slot {
            Slot::Pending(base, kind, false) => {
                let env = Arc::clone(&env);
                let permits = Arc::clone(&permits);
                let (name, version) = (base.case, base.version);
                let task = tokio::spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    run_one(env, name, kind, version).await
                });
                Slot::Running(base, task)
            }
            other => other,
        })
        .collect();
    let mut results = Vec::with_capacity(slots.len());
    let mut isolated = Vec::new();
    for slot in slots {
        match slot {
            Slot::Done(r) => results.push(Some(r)),
            Slot::Running(base, task) => results.push(Some(finish(base, task.await))),
            Slot::Pending(base, kind, _) => {
                isolated.push((results.len(), base, kind));
                results.push(None);
            }
        }
    }
    for (at, base, kind) in isolated {
        let (name, version) = (base.case, base.version);
        let joined = tokio::spawn(run_one(Arc::clone(&env), name, kind, version)).await;
        results[at] = Some(finish(base, joined));
    }
    let results: Vec<CaseResult> = results.into_iter().flatten().collect();
    env.cleanup().await;
    Report {
        bootstrap: bootstrap.to_owned(),
        cases: results,
        elapsed: started.elapsed(),
    }
}

type CaseTask = tokio::task::JoinHandle<(Result<(), harness::Problem>, Duration)>;

enum Slot {
    Done(CaseResult),
    Pending(CaseResult, cases::Kind, bool),
    Running(CaseResult, CaseTask),
}

/// Runs one case at one version with a client of its own, within [`CASE_TIMEOUT`].
async fn run_one(
    env: Arc<Env>,
    name: &'static str,
    kind: cases::Kind,
    version: i16,
) -> (Result<(), harness::Problem>, Duration) {
    let t = Instant::now();
    let cx = match Cx::new(env, name, version).await {
        Ok(cx) => cx,
        Err(problem) => return (Err(problem), t.elapsed()),
    };
    let res = match tokio::time::timeout(CASE_TIMEOUT, cases::run(&cx, kind, version)).await {
        // A documented deviation noted on the way, with nothing failing after it.
        Ok(Ok(())) => cx.take_deviation().map_or(Ok(()), Err),
        Ok(Err(problem)) => Err(problem),
        Err(_) => Err(cx.fail(format!("no result within {CASE_TIMEOUT:?} (a request hung?)"))),
    };
    (res, t.elapsed())
}

fn finish(
    base: CaseResult,
    joined: Result<(Result<(), harness::Problem>, Duration), tokio::task::JoinError>,
) -> CaseResult {
    let (res, elapsed) = match joined {
        Ok(v) => v,
        Err(e) => {
            return CaseResult {
                outcome: Outcome::Fail,
                failure: Some(Failure {
                    why: format!("the case panicked: {e}"),
                    sent: None,
                    received: None,
                }),
                ..base
            }
        }
    };
    let Err(problem) = res else {
        return CaseResult {
            outcome: Outcome::Pass,
            elapsed,
            ..base
        };
    };
    let failure = Failure {
        why: problem.why,
        sent: problem.exchange.as_ref().map(|x| x.sent.clone()),
        received: problem.exchange.as_ref().map(|x| x.received.clone()),
    };
    let (outcome, note, failure, deviation) = match problem.kind {
        ProblemKind::Fail => (Outcome::Fail, None, Some(failure), None),
        ProblemKind::Deviation(d) => (
            Outcome::Deviation,
            Some(d.note.to_owned()),
            Some(failure),
            Some(*d),
        ),
        ProblemKind::NotOffered => (Outcome::NotOffered, Some(failure.why), None, None),
    };
    CaseResult {
        outcome,
        failure,
        note,
        deviation,
        elapsed,
        ..base
    }
}

impl Report {
    /// True when no offered case failed (documented deviations and cases not offered aside): the
    /// CLI's exit status.
    pub fn ok(&self) -> bool {
        !self.cases.is_empty() && self.counts().fail == 0
    }

    /// True when no case failed and no documented deviation showed either.
    pub fn strictly_ok(&self) -> bool {
        let c = self.counts();
        self.ok() && c.deviation == 0
    }

    /// How many cases ended how.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for r in &self.cases {
            match r.outcome {
                Outcome::Pass => c.pass += 1,
                Outcome::Fail => c.fail += 1,
                Outcome::Deviation => c.deviation += 1,
                Outcome::NotOffered => c.not_offered += 1,
            }
        }
        c
    }

    /// The results of the case named `case` (a matrix row), by version.
    pub fn row(&self, case: &str) -> Vec<&CaseResult> {
        self.cases.iter().filter(|r| r.case == case).collect()
    }

    /// The matrix for a terminal: one row per case, one column per version (`pass`, `FAIL`, `DEV`
    /// for a documented deviation, `-` not offered, blank where the case has no such version),
    /// then the counts, the deviations with their notes, and every failure with what was sent,
    /// what came back and why it is wrong.
    pub fn render_matrix(&self) -> String {
        let mut rows: Vec<(&str, Vec<&CaseResult>)> = Vec::new();
        for r in &self.cases {
            match rows.iter_mut().find(|(name, _)| *name == r.case) {
                Some((_, v)) => v.push(r),
                None => rows.push((r.case, vec![r])),
            }
        }
        let max_version = self.cases.iter().map(|r| r.version).max().unwrap_or(0).max(0);
        let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(4).max(4) + 2;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "kwire conformance against {}: {} cases in {:.1} s",
            self.bootstrap,
            self.cases.len(),
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(out);
        let mut header = format!("{:width$}", "case");
        for v in 0..=max_version {
            let _ = write!(header, "{:<5}", format!("v{v}"));
        }
        let _ = writeln!(out, "{}", header.trim_end());
        for (name, results) in &rows {
            let mut line = format!("{name:width$}");
            for v in 0..=max_version {
                let cell = results
                    .iter()
                    .find(|r| r.version == v)
                    .map_or("", |r| r.outcome.cell());
                let _ = write!(line, "{cell:<5}");
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        let c = self.counts();
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{} pass, {} FAIL, {} DEV (documented broker deviations, not failures), {} not offered: {}",
            c.pass,
            c.fail,
            c.deviation,
            c.not_offered,
            if self.ok() { "OK" } else { "FAILED" }
        );
        let mut devs: Vec<(&str, &str, &str, Vec<i16>)> = Vec::new();
        for r in self.cases.iter().filter(|r| r.outcome == Outcome::Deviation) {
            let note = r.note.as_deref().unwrap_or("");
            let doc = r.deviation.map_or("", |d| d.documented_in);
            match devs.iter_mut().find(|(n, d, _, _)| *n == r.case && *d == note) {
                Some((_, _, _, vs)) => vs.push(r.version),
                None => devs.push((r.case, note, doc, vec![r.version])),
            }
        }
        if !devs.is_empty() {
            let _ = writeln!(out, "\nDocumented broker deviations:");
            for (name, note, doc, versions) in devs {
                let _ = writeln!(out, "  DEV  {name} {}: {note} [{doc}]", version_list(&versions));
            }
        }
        let failures: Vec<&CaseResult> = self.cases.iter().filter(|r| r.outcome == Outcome::Fail).collect();
        if !failures.is_empty() {
            let _ = writeln!(out, "\nFailures:");
            for r in failures {
                let Some(f) = &r.failure else { continue };
                let _ = writeln!(out, "  FAIL {} v{}: {}", r.case, r.version, f.why);
                if let Some(sent) = &f.sent {
                    let _ = writeln!(out, "       sent: {sent}");
                }
                if let Some(got) = &f.received {
                    let _ = writeln!(out, "       got:  {got}");
                }
            }
        }
        out
    }

    /// The report as JSON: the bootstrap, `ok`, `strictly_ok`, the counts, and every case with its
    /// outcome (`pass`, `fail`, `deviation`, `not-offered`), note and failure.
    #[cfg(feature = "cli")]
    pub fn to_json(&self) -> String {
        let c = self.counts();
        let cases: Vec<serde_json::Value> = self
            .cases
            .iter()
            .map(|r| {
                serde_json::json!({
                    "api": r.api,
                    "api_key": r.api_key,
                    "case": r.case,
                    "version": r.version,
                    "outcome": r.outcome.name(),
                    "note": r.note,
                    "deviation": r.deviation.map(|d| d.id),
                    "documented_in": r.deviation.map(|d| d.documented_in),
                    "why": r.failure.as_ref().map(|f| &f.why),
                    "sent": r.failure.as_ref().and_then(|f| f.sent.as_ref()),
                    "received": r.failure.as_ref().and_then(|f| f.received.as_ref()),
                    "elapsed_ms": u64::try_from(r.elapsed.as_millis()).unwrap_or(u64::MAX),
                })
            })
            .collect();
        let doc = serde_json::json!({
            "bootstrap": self.bootstrap,
            "ok": self.ok(),
            "strictly_ok": self.strictly_ok(),
            "elapsed_ms": u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX),
            "counts": {
                "pass": c.pass,
                "fail": c.fail,
                "deviation": c.deviation,
                "not_offered": c.not_offered,
            },
            "cases": cases,
        });
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// `v4-v17`, or `v4, v6` when not contiguous.
fn version_list(versions: &[i16]) -> String {
    let mut v = versions.to_vec();
    v.sort_unstable();
    let contiguous = v.windows(2).all(|w| w[1] == w[0] + 1);
    match (v.first(), v.last()) {
        (Some(a), Some(b)) if a == b => format!("v{a}"),
        (Some(a), Some(b)) if contiguous => format!("v{a}-v{b}"),
        _ => v.iter().map(|x| format!("v{x}")).collect::<Vec<_>>().join(", "),
    }
}

/// `s` cut to at most [`MAX_DEBUG`] characters, saying how much was cut.
fn clip(s: String) -> String {
    let total = s.chars().count();
    if total <= MAX_DEBUG {
        return s;
    }
    let mut out: String = s.chars().take(MAX_DEBUG).collect();
    let _ = write!(out, "... ({} more characters)", total - MAX_DEBUG);
    out
}
