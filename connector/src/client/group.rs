//! A consumer in a consumer group: the group coordinator spreads the subscribed topics'
//! partitions over the members, and moves them as members come and go (KIP-848's consumer group
//! protocol, Apache Kafka 4's default; the membership itself is [`crate::core::membership`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), kwire_connector::client::Error> {
//! use kwire_connector::client::{Client, Consumer, GroupEvent};
//!
//! let client = Client::builder().bootstrap("127.0.0.1:9092").build().await?;
//! let mut consumer = Consumer::builder(client).group("billing").subscribe(&["orders"]).await?;
//! while let Some(event) = consumer.next().await {
//!     match event? {
//!         GroupEvent::Records(batch) => {
//!             for record in batch.records {
//!                 println!("{}/{} {}: {:?}", batch.topic, batch.partition, record.offset, record.value);
//!             }
//!         }
//!         // Taken away: commit what was processed before they go (automatic commits do it too).
//!         GroupEvent::Revoked(partitions) => consumer.commit().await?,
//!         GroupEvent::Assigned(_) | GroupEvent::Lost(_) => {}
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! The rebalance listener is the event stream: [`GroupEvent::Revoked`] comes before the partitions
//! go, and they go (and the coordinator hears so) at the next call to [`GroupConsumer::next`], so a
//! commit made in between is the last word on them; [`GroupEvent::Lost`] means they were already
//! taken (the member was fenced or timed out), and nothing may be committed for them.
//!
//! Commits: automatic every 5 s (the Java client's `auto.commit.interval.ms`), when partitions are
//! revoked and at [`GroupConsumer::close`], of the positions handed out (at-least-once); or manual
//! with [`GroupConsumer::commit`] after `auto_commit(None)`. A partition without a committed
//! offset starts where `start_without_commit` says (latest by default, as the Java client's
//! `auto.offset.reset`).
//!
//! References: KIP-848, KIP-345 (static membership), KIP-1082 (member ids from the member).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kwire_protocol::messages::{
    ConsumerGroupHeartbeatRequest, HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest, SyncGroupRequest,
};
use kwire_protocol::primitives::Uuid;
use kwire_protocol::ErrorCode;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::connection::Connection;
use super::consumer::{ConsumedBatch, Consumer, ConsumerBuilder, StartOffset};
use super::{BrokerError, Client, ClientError, Error, ProtocolError};
pub use crate::core::assignor::{Assignor, TopicPartition};
use crate::core::classic::{ClassicEvent, ClassicMembership, ClassicRequest};
use crate::core::membership::{IdPartition, MemberState, Membership, MembershipEvent};

/// How a member takes part in its group, as the Java client's `group.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupProtocol {
    /// KIP-848's consumer group protocol (ConsumerGroupHeartbeat): the coordinator assigns.
    Consumer,
    /// The classic protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup): a member assigns, with
    /// the assignors of [`GroupConsumerBuilder::assignors`].
    Classic,
}

/// What [`GroupConsumer::next`] hands out.
#[derive(Debug)]
#[non_exhaustive]
pub enum GroupEvent {
    /// Records of an owned partition.
    Records(ConsumedBatch),
    /// Partitions this member owns from now on (reading from their committed offsets).
    Assigned(Vec<TopicPartition>),
    /// Partitions taken away: no more records of them are handed out; commit what was processed
    /// now, as they go at the next call.
    Revoked(Vec<TopicPartition>),
    /// Partitions already taken (the member was fenced or left for not polling): gone, with
    /// nothing committed; the member joins again.
    Lost(Vec<TopicPartition>),
}

/// Settings of a [`GroupConsumer`].
#[derive(Debug, Clone)]
pub struct GroupConsumerBuilder {
    consumer: ConsumerBuilder,
    group: String,
    instance_id: Option<String>,
    auto_commit: Option<Duration>,
    start: StartOffset,
    max_poll_interval: Duration,
    protocol: Option<GroupProtocol>,
    assignors: Vec<Assignor>,
    session_timeout: Duration,
    heartbeat_interval: Duration,
    pattern_refresh: Duration,
}

/// What a member subscribes to.
#[derive(Debug, Clone)]
enum Topics {
    Names(Vec<String>),
    /// The pattern as given, and compiled to match whole names.
    Pattern(String, regex::Regex),
}

impl Topics {
    /// The topics subscribed to now: the named ones, or the topics (not the internal ones) whose
    /// whole name the pattern matches.
    async fn resolve(&self, client: &Client) -> Result<Vec<String>, Error> {
        match self {
            Self::Names(names) => Ok(names.clone()),
            Self::Pattern(_, re) => {
                let mut names = client.topic_names(false).await?;
                names.retain(|t| re.is_match(t));
                Ok(names)
            }
        }
    }
}

impl ConsumerBuilder {
    /// A consumer in group `group`: [`GroupConsumerBuilder::subscribe`] joins it.
    pub fn group(self, group: &str) -> GroupConsumerBuilder {
        GroupConsumerBuilder {
            consumer: self,
            group: group.to_owned(),
            instance_id: None,
            auto_commit: Some(Duration::from_secs(5)),
            start: StartOffset::Latest,
            max_poll_interval: Duration::from_secs(300),
            protocol: None,
            assignors: vec![Assignor::CooperativeSticky],
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            pattern_refresh: Duration::from_secs(300),
        }
    }
}

impl GroupConsumerBuilder {
    /// Static membership (KIP-345, the Java client's `group.instance.id`): a member that leaves
    /// with this id keeps its partitions until the session times out, for a quick restart.
    pub fn instance_id(mut self, id: &str) -> Self {
        self.instance_id = Some(id.to_owned());
        self
    }

    /// Commits positions automatically at this interval (default 5 s), at each revocation and at
    /// close; `None`: only [`GroupConsumer::commit`] commits.
    pub fn auto_commit(mut self, every: Option<Duration>) -> Self {
        self.auto_commit = every;
        self
    }

    /// Where a partition without a committed offset starts (default [`StartOffset::Latest`]).
    pub fn start_without_commit(mut self, start: StartOffset) -> Self {
        self.start = start;
        self
    }

    /// The longest time between two calls to [`GroupConsumer::next`] (default 5 minutes, the
    /// Java client's `max.poll.interval.ms`); longer, and the member leaves the group so that its
    /// partitions go to others; its next call reports them lost and joins again. It is also the
    /// rebalance timeout the coordinator gives the member to let go of revoked partitions.
    pub fn max_poll_interval(mut self, d: Duration) -> Self {
        self.max_poll_interval = d;
        self
    }

    /// The group protocol (default: [`GroupProtocol::Consumer`] where the group coordinator
    /// speaks it, as Apache Kafka 4 does, else [`GroupProtocol::Classic`]: a coordinator that
    /// offers ConsumerGroupHeartbeat but turns the join down with UNSUPPORTED_VERSION, as Kafka
    /// 3.x does by default, gets a classic member).
    pub fn protocol(mut self, protocol: GroupProtocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// The classic protocol's assignors, in order of preference (the Java client's
    /// `partition.assignment.strategy`; default `cooperative-sticky`). Members keep their
    /// partitions through a rebalance when every assignor listed is cooperative; otherwise they
    /// give up all of them before each (eager), as the Java client does.
    pub fn assignors(mut self, assignors: &[Assignor]) -> Self {
        self.assignors = assignors.to_vec();
        self
    }

    /// The classic protocol's session timeout (default 45 s, the Java client's
    /// `session.timeout.ms`): a member not heard from for that long is out of the group. Under
    /// the consumer protocol the broker sets it.
    pub fn session_timeout(mut self, d: Duration) -> Self {
        self.session_timeout = d;
        self
    }

    /// The classic protocol's heartbeat interval (default 3 s, the Java client's
    /// `heartbeat.interval.ms`). Under the consumer protocol the broker sets it.
    pub fn heartbeat_interval(mut self, d: Duration) -> Self {
        self.heartbeat_interval = d;
        self
    }

    /// How often the classic protocol looks for topics a pattern subscription matches (default
    /// 5 minutes, the Java client's `metadata.max.age.ms`). Under the consumer protocol the
    /// coordinator matches the pattern.
    pub fn pattern_refresh(mut self, d: Duration) -> Self {
        self.pattern_refresh = d;
        self
    }

    /// Joins the group subscribed to `topics`; partitions come as [`GroupEvent::Assigned`].
    pub async fn subscribe(self, topics: &[&str]) -> Result<GroupConsumer, Error> {
        if topics.is_empty() {
            return Err(Error::Client(ClientError::InvalidArgument(
                "subscribe to at least one topic".into(),
            )));
        }
        self.join(Topics::Names(topics.iter().map(|t| (*t).to_owned()).collect()))
            .await
    }

    /// Joins the group subscribed to every topic whose whole name `pattern` matches (a regular
    /// expression, as the Java client's `subscribe(Pattern)`; internal topics are left out), now
    /// and as topics are created and deleted: under the consumer protocol the coordinator matches
    /// it (ConsumerGroupHeartbeat v1, Apache Kafka 4), under the classic protocol the member does,
    /// every [`GroupConsumerBuilder::pattern_refresh`].
    pub async fn subscribe_pattern(self, pattern: &str) -> Result<GroupConsumer, Error> {
        let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
            Error::Client(ClientError::InvalidArgument(format!(
                "topic pattern {pattern:?}: {e}"
            )))
        })?;
        self.join(Topics::Pattern(pattern.to_owned(), re)).await
    }

    /// A classic membership of this builder's group, subscribed to `topics`.
    fn classic(&self, topics: Vec<String>) -> ClassicMembership {
        ClassicMembership::new(
            &self.group,
            topics,
            self.assignors.clone(),
            self.instance_id.clone(),
            self.session_timeout,
            self.max_poll_interval,
            self.heartbeat_interval,
        )
    }

    async fn join(self, subscription: Topics) -> Result<GroupConsumer, Error> {
        let client = self.consumer.client_ref().clone();
        if self.assignors.is_empty() {
            return Err(Error::Client(ClientError::InvalidArgument(
                "the classic protocol needs at least one assignor".into(),
            )));
        }
        // Checked at once: a broker without the protocol should fail here, not in the background.
        let conn = client.group_coordinator(&self.group).await?;
        let protocol = match self.protocol {
            Some(p) => p,
            None if conn.version_for::<ConsumerGroupHeartbeatRequest>().is_ok() => GroupProtocol::Consumer,
            None => GroupProtocol::Classic,
        };
        let (member, member_id) = match protocol {
            GroupProtocol::Consumer => {
                let version = conn.version_for::<ConsumerGroupHeartbeatRequest>()?;
                let member_id = member_id()?;
                let mut membership = Membership::new(
                    &self.group,
                    &member_id,
                    match &subscription {
                        Topics::Names(names) => names.clone(),
                        Topics::Pattern(..) => Vec::new(),
                    },
                    self.instance_id.clone(),
                    self.max_poll_interval,
                );
                if let Topics::Pattern(pattern, _) = &subscription {
                    if version < 1 {
                        return Err(Error::Protocol(ProtocolError::UnsupportedVersion {
                            api: "ConsumerGroupHeartbeat v1 (subscription by pattern)",
                            broker: conn.addr().to_owned(),
                        }));
                    }
                    membership = membership.with_regex(pattern);
                }
                (Member::Consumer(membership), member_id)
            }
            GroupProtocol::Classic => {
                conn.version_for::<JoinGroupRequest>()?;
                conn.version_for::<SyncGroupRequest>()?;
                conn.version_for::<HeartbeatRequest>()?;
                let topics = subscription.resolve(&client).await?;
                (Member::Classic(Box::new(self.classic(topics))), String::new())
            }
        };
        // Chosen for the broker rather than by the caller: a broker that offers
        // ConsumerGroupHeartbeat with the protocol off (Kafka 3.x) answers UNSUPPORTED_VERSION to
        // the join, and the member goes on under the classic protocol instead.
        let fallback = match (self.protocol, protocol) {
            (None, GroupProtocol::Consumer) if conn.version_for::<JoinGroupRequest>().is_ok() => {
                let topics = subscription.resolve(&client).await?;
                Some(Box::new(self.classic(topics)))
            }
            _ => None,
        };
        let shared = Arc::new(Mutex::new(Shared {
            member_id,
            epoch: 0,
            protocol,
            last_poll: Instant::now(),
            polling: false,
        }));
        let (cmds, cmd_rx) = mpsc::unbounded_channel();
        let (event_tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(heartbeat(Heartbeat {
            link: Link {
                client: client.clone(),
                group: self.group.clone(),
                coordinator: (protocol == GroupProtocol::Consumer).then_some(conn),
                join_timeout: self.max_poll_interval + Duration::from_secs(5),
                dedicated: protocol == GroupProtocol::Classic,
            },
            refresh: match &subscription {
                Topics::Pattern(..) => Some((
                    subscription.clone(),
                    self.pattern_refresh,
                    Instant::now() + self.pattern_refresh,
                )),
                Topics::Names(_) => None,
            },
            member,
            fallback,
            cmds: cmd_rx,
            events: event_tx,
            shared: Arc::clone(&shared),
            max_poll_interval: self.max_poll_interval,
        }));
        info!(group = %self.group, ?subscription, ?protocol, "joining the group");
        Ok(GroupConsumer {
            consumer: self.consumer.build(),
            client,
            group: self.group,
            instance_id: self.instance_id,
            topics: subscription,
            ids: HashMap::new(),
            owned: BTreeSet::new(),
            revoking: None,
            pending: VecDeque::new(),
            in_progress: None,
            epoch: 0,
            auto_commit: self.auto_commit,
            last_commit: Instant::now(),
            start: self.start,
            cmds,
            events,
            shared,
            task: Some(task),
            failed: false,
        })
    }
}

/// A member id: 16 random bytes, URL-safe base64 without padding (like the Java client's).
fn member_id() -> Result<String, Error> {
    use base64::Engine as _;
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw)
        .map_err(|e| Error::Client(ClientError::TaskFailed(format!("randomness: {e}"))))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
}

/// What the heartbeat task and the consumer share.
#[derive(Debug)]
struct Shared {
    member_id: String,
    epoch: i32,
    protocol: GroupProtocol,
    last_poll: Instant,
    /// Inside [`GroupConsumer::next`]: waiting there is polling.
    polling: bool,
}

enum Command {
    /// What the consumer owns now, by name and by topic id.
    Owned(BTreeSet<TopicPartition>, BTreeSet<IdPartition>),
    /// Join again after leaving for not polling.
    Rejoin,
    /// Leave, and say when done.
    Leave(oneshot::Sender<()>),
}

/// Partitions as each protocol names them.
#[derive(Clone)]
enum Target {
    Ids(BTreeSet<IdPartition>),
    Names(BTreeSet<TopicPartition>),
}

#[derive(Clone)]
enum Event {
    /// The target, and the member epoch (generation) it came with.
    Assignment(Target, i32),
    Lost,
    Failed(Error),
}

/// The member under its protocol.
enum Member {
    Consumer(Membership),
    Classic(Box<ClassicMembership>),
}

impl Member {
    fn state(&self) -> MemberState {
        match self {
            Self::Consumer(m) => m.state(),
            Self::Classic(m) => m.state(),
        }
    }

    fn poll_timeout(&self, now: Instant) -> Option<Instant> {
        match self {
            Self::Consumer(m) => m.poll_timeout(now),
            Self::Classic(m) => m.poll_timeout(now),
        }
    }

    fn set_owned(&mut self, names: BTreeSet<TopicPartition>, ids: BTreeSet<IdPartition>) {
        match self {
            Self::Consumer(m) => m.set_owned(ids),
            Self::Classic(m) => m.set_owned(names),
        }
    }

    fn leave(&mut self) {
        match self {
            Self::Consumer(m) => m.leave(),
            Self::Classic(m) => m.leave(),
        }
    }

    fn rejoin(&mut self) {
        match self {
            Self::Consumer(m) => m.rejoin(),
            Self::Classic(m) => m.rejoin(),
        }
    }

    /// The member id and epoch (generation) now.
    fn identity(&self) -> (String, i32) {
        match self {
            Self::Consumer(m) => (m.member_id().to_owned(), m.epoch()),
            Self::Classic(m) => (m.member_id().to_owned(), m.generation()),
        }
    }
}

/// The way to the group coordinator.
struct Link {
    client: Client,
    group: String,
    coordinator: Option<Arc<Connection>>,
    /// How long a JoinGroup may be held: the rebalance timeout and a margin.
    join_timeout: Duration,
    /// A connection of the member's own (classic protocol: its held JoinGroup must not hold up
    /// the requests of others, as a broker answers a connection's requests in order).
    dedicated: bool,
}

impl Link {
    async fn coordinator(&mut self) -> Result<Arc<Connection>, Error> {
        if let Some(c) = &self.coordinator {
            return Ok(Arc::clone(c));
        }
        let c = if self.dedicated {
            self.client.dedicated_group_coordinator(&self.group).await?
        } else {
            self.client.group_coordinator(&self.group).await?
        };
        self.coordinator = Some(Arc::clone(&c));
        Ok(c)
    }

    async fn send<R: kwire_protocol::messages::Request>(&mut self, req: R) -> Result<R::Response, Error> {
        self.coordinator().await?.send(&req).await
    }

    /// The partition counts of `topics` (a topic not there yet has none), fresh from metadata.
    async fn partition_counts(&self, topics: &BTreeSet<String>) -> Result<BTreeMap<String, i32>, Error> {
        Ok(self
            .client
            .fresh_topics(topics)
            .await?
            .into_iter()
            .map(|meta| {
                let count = i32::try_from(meta.partitions.len()).unwrap_or(i32::MAX);
                (meta.name, count)
            })
            .collect())
    }
}

struct Heartbeat {
    link: Link,
    /// A pattern subscription, matched by the member itself under the classic protocol: how
    /// often, and when next.
    refresh: Option<(Topics, Duration, Instant)>,
    member: Member,
    /// The classic membership to go on with if the coordinator turns the consumer protocol down.
    fallback: Option<Box<ClassicMembership>>,
    cmds: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
    shared: Arc<Mutex<Shared>>,
    max_poll_interval: Duration,
}

/// What one exchange with the coordinator came to.
enum Step {
    /// Nothing was due.
    Idle,
    /// A request was sent and its answer taken.
    Done,
    /// A fatal error: handed to the consumer; the task ends.
    Stop,
    /// The coordinator does not speak the consumer protocol (UNSUPPORTED_VERSION to the join),
    /// with its message.
    Unsupported(Option<String>),
}

/// The heartbeat loop of one member: sends what the protocol's state machine asks for when it
/// asks, and passes the answers on. Ends once the member has left (or on a fatal error).
async fn heartbeat(mut h: Heartbeat) {
    let mut leave_done: Option<oneshot::Sender<()>> = None;
    let mut left_for_poll = false;
    let mut rejoin_asked = false;
    loop {
        let now = Instant::now();
        match h.step(now).await {
            // (`step` turns Unsupported into a fall-back or a stop.)
            Step::Stop | Step::Unsupported(_) => return,
            Step::Done => {
                if h.member.state() == MemberState::Left {
                    if let Some(done) = leave_done.take() {
                        let _ = done.send(());
                        return;
                    }
                    if left_for_poll {
                        // Wait to be asked back (the consumer asks when it hands out the loss).
                        let mut rejoin = rejoin_asked;
                        rejoin_asked = false;
                        while !rejoin {
                            match h.cmds.recv().await {
                                Some(Command::Rejoin) => rejoin = true,
                                Some(Command::Owned(..)) => {}
                                Some(Command::Leave(done)) => {
                                    let _ = done.send(());
                                    return;
                                }
                                None => return,
                            }
                        }
                        h.member.rejoin();
                        left_for_poll = false;
                    }
                }
                continue;
            }
            Step::Idle => {}
        }
        if let Some(event) = h.refresh_topics().await {
            let _ = h.events.send(event);
            continue;
        }
        // Not polled for too long: leave, so that the partitions go to members that read.
        let idle = h
            .shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last_poll
            .elapsed();
        if !left_for_poll && idle > h.max_poll_interval && h.member.state() == MemberState::Stable {
            warn!(group = %h.link.group, ?idle, "not polled within the max poll interval; leaving the group");
            left_for_poll = true;
            h.member.leave();
            let _ = h.events.send(Event::Lost);
            continue;
        }
        let wake = h
            .member
            .poll_timeout(now)
            .unwrap_or(now + Duration::from_secs(1))
            .min(now + Duration::from_secs(1));
        tokio::select! {
            cmd = h.cmds.recv() => match cmd {
                Some(Command::Owned(names, ids)) => h.member.set_owned(names, ids),
                Some(Command::Rejoin) => rejoin_asked = left_for_poll,
                Some(Command::Leave(done)) => {
                    leave_done = Some(done);
                    h.member.leave();
                    if h.member.state() == MemberState::Left {
                        if let Some(done) = leave_done.take() {
                            let _ = done.send(());
                        }
                        return;
                    }
                }
                // The consumer was dropped without close: leave all the same.
                None => {
                    h.member.leave();
                    if h.member.state() == MemberState::Left {
                        return;
                    }
                    let (tx, _rx) = oneshot::channel();
                    leave_done = Some(tx);
                }
            },
            _ = tokio::time::sleep_until(wake.into()) => {}
        }
    }
}

impl Heartbeat {
    /// Matches a pattern subscription again when it is time: the member joins again if the
    /// topics changed (the event: an eager member's partitions go first).
    async fn refresh_topics(&mut self) -> Option<Event> {
        let (topics, every, next) = self.refresh.as_mut()?;
        if Instant::now() < *next {
            return None;
        }
        *next = Instant::now() + *every;
        let Member::Classic(m) = &mut self.member else {
            return None;
        };
        match topics.resolve(&self.link.client).await {
            Ok(names) => match m.set_topics(names) {
                Some(ClassicEvent::Assignment(a)) => {
                    Some(Event::Assignment(Target::Names(a), m.generation()))
                }
                _ => None,
            },
            Err(e) => {
                debug!(group = %self.link.group, error = %e, "matching the topic pattern failed; trying at the next refresh");
                None
            }
        }
    }

    /// Sends the request due now, if one is, and takes its answer.
    async fn step(&mut self, now: Instant) -> Step {
        let mut step = match &mut self.member {
            Member::Consumer(m) => consumer_step(m, &mut self.link, &self.events, now).await,
            Member::Classic(m) => classic_step(m, &mut self.link, &self.events, now).await,
        };
        if let Step::Unsupported(message) = step {
            step = match self.fallback.take() {
                Some(classic) => {
                    info!(group = %self.link.group, "the coordinator does not speak the consumer group protocol; joining under the classic one");
                    self.member = Member::Classic(classic);
                    self.link.dedicated = true;
                    self.link.coordinator = None;
                    self.shared.lock().unwrap_or_else(|e| e.into_inner()).protocol = GroupProtocol::Classic;
                    Step::Done
                }
                None => {
                    let code = ErrorCode::UNSUPPORTED_VERSION;
                    let _ = self.events.send(failed("ConsumerGroupHeartbeat", code, message));
                    Step::Stop
                }
            };
        }
        let (member_id, epoch) = self.member.identity();
        let mut s = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        s.member_id = member_id;
        s.epoch = epoch;
        step
    }
}

/// A failed exchange: retried (true) when the error is of the kind that passes, else handed on.
fn retriable(e: &Error, link: &mut Link, events: &mpsc::UnboundedSender<Event>) -> bool {
    if e.is_retriable() || matches!(e, Error::Connection(_)) {
        debug!(group = %link.group, error = %e, "group request failed; retrying");
        link.coordinator = None;
        return true;
    }
    let _ = events.send(Event::Failed(e.clone()));
    false
}

fn failed(api: &'static str, code: ErrorCode, message: Option<String>) -> Event {
    Event::Failed(Error::Broker(BrokerError {
        api,
        topic: None,
        partition: None,
        code,
        message,
    }))
}

async fn consumer_step(
    m: &mut Membership,
    link: &mut Link,
    events: &mpsc::UnboundedSender<Event>,
    now: Instant,
) -> Step {
    let Some(req) = m.poll_request(now) else {
        return Step::Idle;
    };
    let outcome = match link.coordinator().await {
        Ok(conn) => {
            conn.send_built(|version| {
                let mut req = req;
                // Before KIP-1082 (v0) the coordinator names a joining member.
                if version == 0 && req.member_epoch == 0 {
                    req.member_id = String::new();
                }
                req
            })
            .await
        }
        Err(e) => Err(e),
    };
    let now = Instant::now();
    match outcome {
        Ok(resp) => match m.handle_response(&resp, now) {
            Some(MembershipEvent::Assignment(a)) => {
                let _ = events.send(Event::Assignment(Target::Ids(a), m.epoch()));
            }
            Some(MembershipEvent::Lost) => {
                warn!(group = %link.group, code = %ErrorCode(resp.error_code), "fenced: partitions lost; joining again");
                let _ = events.send(Event::Lost);
            }
            Some(MembershipEvent::FindCoordinator) => link.coordinator = None,
            Some(MembershipEvent::Failed(ErrorCode::UNSUPPORTED_VERSION, message)) if m.epoch() == 0 => {
                return Step::Unsupported(message);
            }
            Some(MembershipEvent::Failed(code, message)) => {
                let _ = events.send(failed("ConsumerGroupHeartbeat", code, message));
                return Step::Stop;
            }
            _ => {}
        },
        Err(e) if retriable(&e, link, events) => m.handle_failure(now),
        Err(_) => return Step::Stop,
    }
    Step::Done
}

async fn classic_step(
    m: &mut ClassicMembership,
    link: &mut Link,
    events: &mpsc::UnboundedSender<Event>,
    now: Instant,
) -> Step {
    let Some(req) = m.poll_request(now) else {
        return Step::Idle;
    };
    let outcome = match req {
        ClassicRequest::Join(req) => {
            // Held by the coordinator until the group has formed: up to the rebalance timeout.
            let join_timeout = link.join_timeout;
            match link.coordinator().await {
                Ok(conn) => conn
                    .send_within(&req, join_timeout)
                    .await
                    .map(|resp| m.handle_join(&resp, Instant::now())),
                Err(e) => Err(e),
            }
        }
        ClassicRequest::Sync(req) => link.send(req).await.map(|r| m.handle_sync(&r, Instant::now())),
        ClassicRequest::Heartbeat(req) => link
            .send(req)
            .await
            .map(|r| m.handle_heartbeat(&r, Instant::now())),
        ClassicRequest::Leave(req) => link.send::<LeaveGroupRequest>(req).await.map(|_| {
            m.handle_leave();
            None
        }),
    };
    let event = match outcome {
        Ok(event) => event,
        Err(e) if retriable(&e, link, events) => {
            m.handle_failure(Instant::now());
            return Step::Done;
        }
        Err(_) => return Step::Stop,
    };
    match event {
        Some(ClassicEvent::Lead(assignor, members)) => {
            let topics: BTreeSet<String> = members.iter().flat_map(|s| s.topics.iter().cloned()).collect();
            match link.partition_counts(&topics).await {
                Ok(counts) => {
                    let assignment = crate::core::assignor::assign(assignor, &members, &counts);
                    info!(group = %link.group, assignor = assignor.name(), members = members.len(), "assigned as the leader");
                    m.set_leader_assignment(assignment);
                }
                Err(e) if retriable(&e, link, events) => m.handle_failure(Instant::now()),
                Err(_) => return Step::Stop,
            }
        }
        Some(ClassicEvent::Assignment(a)) => {
            let _ = events.send(Event::Assignment(Target::Names(a), m.generation()));
        }
        Some(ClassicEvent::Lost) => {
            warn!(group = %link.group, "out of the generation: partitions lost; joining again");
            let _ = events.send(Event::Lost);
        }
        Some(ClassicEvent::FindCoordinator) => link.coordinator = None,
        Some(ClassicEvent::Failed(api, code, message)) => {
            let _ = events.send(failed(api, code, message));
            return Step::Stop;
        }
        _ => {}
    }
    Step::Done
}

/// A member of a consumer group: a [`Consumer`] of the partitions the group coordinator gives
/// it, and the events of their coming and going.
pub struct GroupConsumer {
    consumer: Consumer,
    client: Client,
    group: String,
    instance_id: Option<String>,
    topics: Topics,
    /// Topic id -> name, for the subscribed topics.
    ids: HashMap<Uuid, String>,
    owned: BTreeSet<TopicPartition>,
    /// Revoked partitions handed out as an event: they go at the next call.
    revoking: Option<Vec<TopicPartition>>,
    pending: VecDeque<GroupEvent>,
    /// The membership event being taken up: kept until done, so that a `next` cancelled halfway
    /// (a `select!`, a timeout) resumes it at the next call instead of losing it.
    in_progress: Option<Event>,
    /// The member epoch of the last assignment taken up (-1 after a loss): what commits carry.
    epoch: i32,
    auto_commit: Option<Duration>,
    last_commit: Instant,
    start: StartOffset,
    cmds: mpsc::UnboundedSender<Command>,
    events: mpsc::UnboundedReceiver<Event>,
    shared: Arc<Mutex<Shared>>,
    task: Option<tokio::task::JoinHandle<()>>,
    failed: bool,
}

impl std::fmt::Debug for GroupConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupConsumer")
            .field("group", &self.group)
            .field("owned", &self.owned)
            .finish_non_exhaustive()
    }
}

impl GroupConsumer {
    /// The group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// This member's id.
    pub fn member_id(&self) -> String {
        self.shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .member_id
            .clone()
    }

    /// This member's epoch (0 until the coordinator has answered the join).
    pub fn member_epoch(&self) -> i32 {
        self.shared.lock().unwrap_or_else(|e| e.into_inner()).epoch
    }

    /// The group protocol this member speaks.
    pub fn protocol(&self) -> GroupProtocol {
        self.shared.lock().unwrap_or_else(|e| e.into_inner()).protocol
    }

    /// The partitions this member owns now.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.owned.iter().cloned().collect()
    }

    /// The next event: records of an owned partition, or a change of what is owned. `None` once
    /// a fatal error was handed out. Cancel-safe: a call dropped halfway (in a `select!` or a
    /// timeout) loses nothing, the next call takes up where it stopped.
    pub async fn next(&mut self) -> Option<Result<GroupEvent, Error>> {
        if self.failed {
            return None;
        }
        let _polling = Polling::start(&self.shared);
        if let Some(revoked) = self.revoking.take() {
            for (t, p) in &revoked {
                self.consumer.unassign(t, *p);
                self.owned.remove(&(t.clone(), *p));
            }
            self.report_owned();
        }
        if let Some(e) = self.pending.pop_front() {
            return Some(Ok(e));
        }
        if let Some(every) = self.auto_commit {
            if self.last_commit.elapsed() >= every && !self.owned.is_empty() {
                if let Err(e) = self.commit().await {
                    // The next commit carries the same positions or later ones.
                    warn!(group = %self.group, error = %e, "automatic commit failed");
                }
            }
        }
        loop {
            if let Some(event) = self.in_progress.clone() {
                // Cancel-safe: `handle` may be cut short at an await and run again whole; what it
                // changes before its last await it changes the same way twice.
                let outcome = self.handle(event).await;
                self.in_progress = None;
                match outcome {
                    Ok(Some(e)) => return Some(Ok(e)),
                    Ok(None) => continue,
                    Err(e) => {
                        // Given up: leave, so that the partitions go to members that read.
                        self.failed = true;
                        let (tx, _) = oneshot::channel();
                        let _ = self.cmds.send(Command::Leave(tx));
                        return Some(Err(e));
                    }
                }
            }
            tokio::select! {
                biased;
                event = self.events.recv() => match event {
                    Some(event) => self.in_progress = Some(event),
                    None => {
                        self.failed = true;
                        return Some(Err(Error::Client(ClientError::TaskFailed(format!(
                            "the heartbeat task of group {} ended", self.group
                        )))));
                    }
                },
                batch = self.consumer.next_batch(), if !self.owned.is_empty() => {
                    return batch.map(|b| b.map(GroupEvent::Records));
                }
            }
        }
    }

    /// The next batch of records, with partition changes handled as the defaults say (automatic
    /// commits on revocation when enabled): for readers that need no more of the events.
    pub async fn next_batch(&mut self) -> Option<Result<ConsumedBatch, Error>> {
        loop {
            match self.next().await? {
                Ok(GroupEvent::Records(b)) => return Some(Ok(b)),
                Ok(_) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Commits the position (the offset after the last record handed out) of every owned
    /// partition, as this member.
    pub async fn commit(&mut self) -> Result<(), Error> {
        let offsets: Vec<(String, i32, i64)> = self
            .owned
            .iter()
            .filter_map(|(t, p)| Some((t.clone(), *p, self.consumer.position(t, *p)?)))
            .collect();
        self.commit_offsets(&offsets).await
    }

    /// Commits `offsets` (topic, partition, next offset to read) as this member.
    pub async fn commit_offsets(&mut self, offsets: &[(String, i32, i64)]) -> Result<(), Error> {
        if offsets.is_empty() {
            return Ok(());
        }
        let member_id = self
            .shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .member_id
            .clone();
        let epoch = self.epoch;
        if epoch < 0 {
            return Err(Error::Client(ClientError::InvalidArgument(format!(
                "group {}: this member owns no partitions since it lost them; nothing to commit until it is assigned again",
                self.group
            ))));
        }
        self.client
            .commit_offsets_as(
                &self.group,
                Some((&member_id, epoch, self.instance_id.as_deref())),
                offsets,
                "",
            )
            .await?;
        self.last_commit = Instant::now();
        debug!(group = %self.group, partitions = offsets.len(), "offsets committed");
        Ok(())
    }

    /// Commits (with automatic commits on) and leaves the group, within 30 s (the Java client's
    /// default close timeout). Under the classic protocol a commit refused because the group is
    /// rebalancing is made again at the generation the rebalance gives this member.
    pub async fn close(mut self) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let committed = if self.auto_commit.is_some() && !self.failed {
            self.commit_through_rebalance(deadline).await
        } else {
            Ok(())
        };
        let (tx, rx) = oneshot::channel();
        if self.cmds.send(Command::Leave(tx)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
        committed
    }

    /// Commits; when a classic group's rebalance is under way (REBALANCE_IN_PROGRESS, or
    /// ILLEGAL_GENERATION once the next generation has formed) waits for this member's next
    /// assignment, and commits again at its generation.
    async fn commit_through_rebalance(&mut self, deadline: Instant) -> Result<(), Error> {
        loop {
            let e = match self.commit().await {
                Err(e) if self.protocol() == GroupProtocol::Classic => e,
                other => return other,
            };
            if !matches!(
                e.code(),
                Some(ErrorCode::REBALANCE_IN_PROGRESS | ErrorCode::ILLEGAL_GENERATION)
            ) {
                return Err(e);
            }
            debug!(group = %self.group, error = %e, "commit refused during a rebalance; committing at the next generation");
            match tokio::time::timeout_at(deadline.into(), self.events.recv()).await {
                Ok(Some(Event::Assignment(_, generation))) => self.epoch = generation,
                _ => return Err(e),
            }
        }
    }

    fn report_owned(&mut self) {
        let ids: HashMap<&str, Uuid> = self.ids.iter().map(|(id, n)| (n.as_str(), *id)).collect();
        let owned = self
            .owned
            .iter()
            .filter_map(|(t, p)| Some((*ids.get(t.as_str())?, *p)))
            .collect();
        let _ = self.cmds.send(Command::Owned(self.owned.clone(), owned));
    }

    /// The names of `ids`, from the metadata of the subscribed topics (asked again for an id not
    /// known yet).
    async fn names(&mut self, ids: &BTreeSet<IdPartition>) -> Result<(), Error> {
        if ids.iter().all(|(id, _)| self.ids.contains_key(id)) {
            return Ok(());
        }
        let topics = self.topics.resolve(&self.client).await?;
        for meta in self.client.fresh_topics(&topics).await? {
            self.ids.insert(meta.id, meta.name);
        }
        Ok(())
    }

    async fn handle(&mut self, event: Event) -> Result<Option<GroupEvent>, Error> {
        match event {
            Event::Failed(e) => Err(e),
            Event::Lost => {
                // No commit for what was lost: an epoch no coordinator accepts until the next
                // assignment.
                self.epoch = -1;
                let lost: Vec<TopicPartition> = std::mem::take(&mut self.owned).into_iter().collect();
                for (t, p) in &lost {
                    self.consumer.unassign(t, *p);
                }
                self.revoking = None;
                self.pending.clear();
                let _ = self.cmds.send(Command::Rejoin);
                Ok((!lost.is_empty()).then_some(GroupEvent::Lost(lost)))
            }
            Event::Assignment(target, epoch) => {
                // Commits from now on are made at the epoch this assignment came with (not at one
                // the heartbeat task reached since, for partitions this consumer may have lost).
                self.epoch = epoch;
                let target: BTreeSet<TopicPartition> = match target {
                    Target::Names(names) => names,
                    Target::Ids(target) => {
                        self.names(&target).await?;
                        target
                            .iter()
                            .filter_map(|(id, p)| Some((self.ids.get(id)?.clone(), *p)))
                            .collect()
                    }
                };
                let revoked: Vec<TopicPartition> = self.owned.difference(&target).cloned().collect();
                let added: Vec<TopicPartition> = target.difference(&self.owned).cloned().collect();
                if !added.is_empty() {
                    let starts = self.start_offsets(&added).await?;
                    for ((t, p), offset) in added.iter().zip(starts) {
                        self.consumer.assign_at(t, *p, offset);
                        self.owned.insert((t.clone(), *p));
                    }
                    self.report_owned();
                    self.pending.push_back(GroupEvent::Assigned(added));
                }
                if !revoked.is_empty() {
                    // No more records of them from now; they go at the next call, after the
                    // caller's commit (and ours, with automatic commits on).
                    for (t, p) in &revoked {
                        if let Some(pos) = self.consumer.position(t, *p) {
                            self.consumer.pause(t, *p);
                            self.consumer.seek(t, *p, pos);
                        }
                    }
                    if self.auto_commit.is_some() {
                        let offsets: Vec<(String, i32, i64)> = revoked
                            .iter()
                            .filter_map(|(t, p)| Some((t.clone(), *p, self.consumer.position(t, *p)?)))
                            .collect();
                        if let Err(e) = self.commit_offsets(&offsets).await {
                            warn!(group = %self.group, error = %e, "commit of revoked partitions failed");
                        }
                    }
                    self.revoking = Some(revoked.clone());
                    self.pending.push_front(GroupEvent::Revoked(revoked));
                }
                Ok(self.pending.pop_front())
            }
        }
    }

    /// The committed offset of each partition, or where `start` says for one without.
    async fn start_offsets(&self, partitions: &[TopicPartition]) -> Result<Vec<i64>, Error> {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (t, p) in partitions {
            by_topic.entry(t.as_str()).or_default().push(*p);
        }
        let mut committed: HashMap<TopicPartition, i64> = HashMap::new();
        for (topic, ps) in by_topic {
            for (p, offset) in self.client.committed_offsets(&self.group, topic, &ps).await? {
                committed.insert((topic.to_owned(), p), offset);
            }
        }
        let mut out = Vec::with_capacity(partitions.len());
        for (t, p) in partitions {
            let offset = match committed.get(&(t.clone(), *p)) {
                Some(o) if *o >= 0 => *o,
                _ => self.consumer.resolve(t, *p, &self.start).await?,
            };
            out.push(offset);
        }
        Ok(out)
    }
}

/// Marks the time inside [`GroupConsumer::next`] as polling, until the call returns or is
/// dropped.
struct Polling(Arc<Mutex<Shared>>);

impl Polling {
    fn start(shared: &Arc<Mutex<Shared>>) -> Self {
        let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
        s.polling = true;
        s.last_poll = Instant::now();
        drop(s);
        Self(Arc::clone(shared))
    }
}

impl Drop for Polling {
    fn drop(&mut self) {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        s.polling = false;
        s.last_poll = Instant::now();
    }
}

impl Drop for GroupConsumer {
    fn drop(&mut self) {
        // The heartbeat task sees the channel close and leaves the group on its own.
        if let Some(task) = self.task.take() {
            drop(task);
        }
    }
}
