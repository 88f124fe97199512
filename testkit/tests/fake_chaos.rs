//! Exactly-once under a seeded storm against the fake cluster: the source -> exactly-once sink
//! job of the local runner is killed several times while 50 cluster faults drawn from the seed
//! (connections dropped, brokers restarted, leaders moved, coordinators moved or loading, EndTxn
//! and Produce answers lost after the request was applied) play; a read_committed read of the
//! output holds every input record exactly once. `KWIRE_SEED=<seed>` replays a run's schedule.

use std::time::Duration;

use kwire_connector::client::Client;
use kwire_protocol::messages::ApiKey;
use kwire_protocol::ErrorCode;
use kwire_testkit::data::Seeded;
use kwire_testkit::fake::{FakeCluster, Mix, Playback, RequestFault, Schedule};

mod common;

use common::{exactly_once_through_kills, KillRun, Moment};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_holds_under_fifty_seeded_faults_and_kills() {
    const FAULTS: usize = 50;
    let cluster = FakeCluster::start(3).unwrap();
    let client = Client::builder()
        .bootstrap(&cluster.bootstrap())
        .build()
        .await
        .unwrap();
    let seed = Seeded::from_env().seed();
    eprintln!("seed {seed}");
    let mut mix = Mix::new(3, &[("eo-in", 4), ("eo-out", 4)]);
    mix.max_gap = Duration::from_millis(8);
    mix.max_down = Duration::from_millis(100);
    mix.request_faults = vec![
        (
            ApiKey::Produce,
            RequestFault::Error(ErrorCode::NOT_LEADER_OR_FOLLOWER),
        ),
        (
            ApiKey::Fetch,
            RequestFault::Error(ErrorCode::NOT_LEADER_OR_FOLLOWER),
        ),
        (
            ApiKey::EndTxn,
            RequestFault::Error(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS),
        ),
        (ApiKey::EndTxn, RequestFault::Error(ErrorCode::NOT_COORDINATOR)),
        (
            ApiKey::AddPartitionsToTxn,
            RequestFault::Error(ErrorCode::NOT_COORDINATOR),
        ),
        (
            ApiKey::InitProducerId,
            RequestFault::Error(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS),
        ),
        (
            ApiKey::TxnOffsetCommit,
            RequestFault::Error(ErrorCode::NOT_COORDINATOR),
        ),
        // Answers lost after the request was applied: the commit happened, or the batch was
        // written, and the client cannot know.
        (ApiKey::EndTxn, RequestFault::CloseBeforeResponse),
        (ApiKey::Produce, RequestFault::CloseBeforeResponse),
    ];
    mix.weights = [4, 2, 3, 4, 0, 0];
    let schedule = Schedule::random(seed, FAULTS, &mix);
    let counts = schedule.counts();
    let run = KillRun {
        total: 100_000,
        kills: 4,
        seed,
        one_per_batch: false,
        max_kill_delay_ms: 60,
    };
    // The faults start with the first run of the job and go on through the kills. What they did
    // is read when the job ended, before the verification read, and they stop there: only what
    // played while the job ran counts.
    let mut playback: Option<Playback> = None;
    let mut schedule = Some(schedule);
    let (mut played, mut used) = (0, Vec::new());
    let mut hook = |moment: Moment| match moment {
        Moment::BeforeRun(_) => {
            if let Some(s) = schedule.take() {
                playback = Some(cluster.play(s));
            }
        }
        Moment::JobEnded => {
            played = playback.take().as_ref().map_or(0, Playback::played);
            cluster.clear_request_faults();
            used = [
                ApiKey::Produce,
                ApiKey::Fetch,
                ApiKey::InitProducerId,
                ApiKey::AddPartitionsToTxn,
                ApiKey::EndTxn,
                ApiKey::TxnOffsetCommit,
            ]
            .iter()
            .map(|api| {
                format!(
                    "{} {}",
                    api.name().unwrap_or("?"),
                    cluster.request_faults_used_on(*api)
                )
            })
            .collect::<Vec<String>>();
        }
    };
    let seen = exactly_once_through_kills(&client, run, &mut hook).await;
    let (seen, killed) =
        seen.unwrap_or_else(|e| panic!("seed {seed}: the job failed after {played} faults: {e}"));
    assert_eq!(
        killed, run.kills,
        "seed {seed}: every kill landed while the job ran"
    );
    let lost = seen.iter().filter(|c| **c == 0).count();
    let duplicated: u32 = seen.iter().map(|c| c.saturating_sub(1)).sum();
    let stats = cluster.stats();
    println!(
        "seed {seed}: {} records; faults played {played} of {FAULTS} (drops, restarts, leader moves, request \
         faults: {:?}); connections {}; lost {lost}, duplicated {duplicated}; transactions committed {}, \
         aborted {}; produce duplicates answered {}; request faults used: {}",
        seen.len(),
        &counts[..4],
        cluster.connections(),
        stats.commits,
        stats.aborts,
        stats.duplicates,
        used.join(", ")
    );
    assert_eq!(lost, 0, "seed {seed}: no record lost");
    assert_eq!(duplicated, 0, "seed {seed}: no record twice");
    assert_eq!(
        played, FAULTS as u64,
        "seed {seed}: every fault happened while the job ran"
    );
}
