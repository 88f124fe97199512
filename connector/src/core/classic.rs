//! Membership of a consumer group under the classic protocol (JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup): the members join, the coordinator names a leader, the leader assigns with an
//! assignor the members share ([`crate::core::assignor`]), and each member learns its part at
//! SyncGroup and heartbeats until the next rebalance.
//!
//! Two ways to rebalance, as in the Java client: eager (`range`, `roundrobin`), where a member
//! gives up every partition before it joins again; cooperative (`cooperative-sticky` alone), where
//! it keeps them, lets go only of those the new assignment takes away, and then joins once more so
//! that they reach their new member.
//!
//! Sans-IO, like [`crate::core::membership`]: the driver sends what [`ClassicMembership::poll_request`]
//! gives when [`ClassicMembership::poll_timeout`] is reached, feeds back the answer or the failure,
//! computes the assignment when it leads ([`ClassicEvent::Lead`]), and reports what it owns after
//! each change with [`ClassicMembership::set_owned`].
//!
//! References: the classic protocol as the Java client's ConsumerCoordinator speaks it, KIP-345
//! (static membership), KIP-394 (MEMBER_ID_REQUIRED), KIP-429 (cooperative rebalancing).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kwire_protocol::consumer_protocol::{
    decode_versioned, encode_versioned, ConsumerProtocolAssignment, ConsumerProtocolSubscription,
    ConsumerProtocolTopicPartition, CONSUMER_PROTOCOL_VERSION,
};
use kwire_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kwire_protocol::messages::leave_group_request::MemberIdentity;
use kwire_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kwire_protocol::messages::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    SyncGroupRequest, SyncGroupResponse,
};
use kwire_protocol::ErrorCode;

use super::assignor::{Assignment, Assignor, Subscription, TopicPartition};
use super::membership::MemberState;

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// A request the member sends.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ClassicRequest {
    /// Join (or join again); answered when the group has formed, up to the rebalance timeout.
    Join(JoinGroupRequest),
    /// Learn this member's part (the leader brings everyone's).
    Sync(SyncGroupRequest),
    /// Stay in the group.
    Heartbeat(HeartbeatRequest),
    /// Leave.
    Leave(LeaveGroupRequest),
}

/// What an answer changes for the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClassicEvent {
    /// This member leads: assign with this assignor over these members, and hand the result to
    /// [`ClassicMembership::set_leader_assignment`].
    Lead(Assignor, Vec<Subscription>),
    /// The partitions this member may own in this generation (all of them, not a difference).
    /// Under an eager assignor an empty one comes before each join: give up every partition.
    Assignment(BTreeSet<TopicPartition>),
    /// The coordinator no longer knows this member in its generation: every owned partition is
    /// lost, to be given up without committing; the member joins again.
    Lost,
    /// The coordinator moved or is loading: find it again.
    FindCoordinator,
    /// An error the member cannot go on from: the request, the error, the broker's message.
    Failed(&'static str, ErrorCode, Option<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Joining,
    Syncing,
    Stable,
    Leaving,
    Left,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InFlight {
    Join,
    Sync,
    Heartbeat,
    Leave,
}

/// The classic protocol state of one member.
#[derive(Debug, Clone)]
pub struct ClassicMembership {
    group: String,
    member_id: String,
    instance_id: Option<String>,
    generation: i32,
    topics: Vec<String>,
    /// The topics of the last JoinGroup.
    joined_topics: Vec<String>,
    assignors: Vec<Assignor>,
    cooperative: bool,
    /// The assignor the group chose this generation.
    protocol: Option<Assignor>,
    session_timeout_ms: i32,
    rebalance_timeout_ms: i32,
    interval: Duration,
    phase: Phase,
    due: Option<Instant>,
    in_flight: Option<InFlight>,
    /// What the member owns now (as the consumer last said).
    owned: BTreeSet<TopicPartition>,
    /// The generation the owned partitions are from.
    owned_generation: i32,
    /// The last assignment received.
    target: BTreeSet<TopicPartition>,
    /// Leading this generation, and the assignment to bring to SyncGroup once computed.
    leading: bool,
    leader_assignment: Option<Assignment>,
    /// The lowest consumer protocol version among the members: what assignments are written at.
    assignment_version: i16,
    /// Cooperative: partitions were taken away; join again once they are let go.
    rejoin_after_revoke: bool,
    backoff: Duration,
}

impl ClassicMembership {
    /// A member of `group` subscribed to `topics`, offering `assignors` (in preference order; not
    /// empty), joining at the first request.
    pub fn new(
        group: &str,
        topics: Vec<String>,
        assignors: Vec<Assignor>,
        instance_id: Option<String>,
        session_timeout: Duration,
        rebalance_timeout: Duration,
        heartbeat_interval: Duration,
    ) -> Self {
        let ms = |d: Duration| i32::try_from(d.as_millis()).unwrap_or(i32::MAX);
        Self {
            group: group.to_owned(),
            member_id: String::new(),
            instance_id,
            generation: -1,
            joined_topics: topics.clone(),
            topics,
            cooperative: !assignors.is_empty() && assignors.iter().all(|a| a.is_cooperative()),
            assignors,
            protocol: None,
            session_timeout_ms: ms(session_timeout),
            rebalance_timeout_ms: ms(rebalance_timeout),
            interval: heartbeat_interval,
            phase: Phase::Joining,
            due: None,
            in_flight: None,
            owned: BTreeSet::new(),
            owned_generation: -1,
            target: BTreeSet::new(),
            leading: false,
            leader_assignment: None,
            assignment_version: CONSUMER_PROTOCOL_VERSION,
            rejoin_after_revoke: false,
            backoff: MIN_BACKOFF,
        }
    }

    /// The member id ("" until the coordinator gave one).
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The generation (-1 outside one).
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// Whether members keep their partitions through a rebalance.
    pub fn is_cooperative(&self) -> bool {
        self.cooperative
    }

    /// Where the member is (syncing counts as joining).
    pub fn state(&self) -> MemberState {
        match self.phase {
            Phase::Joining | Phase::Syncing => MemberState::Joining,
            Phase::Stable => MemberState::Stable,
            Phase::Leaving => MemberState::Leaving,
            Phase::Left => MemberState::Left,
        }
    }

    /// When the next request is due: `None` while one is in flight, while waiting (for the
    /// partitions to be given up before an eager join, for the leader's assignment) or after
    /// leaving.
    pub fn poll_timeout(&self, now: Instant) -> Option<Instant> {
        if self.in_flight.is_some() || self.phase == Phase::Left || self.waiting() {
            return None;
        }
        Some(self.due.unwrap_or(now))
    }

    fn waiting(&self) -> bool {
        match self.phase {
            Phase::Joining => !self.cooperative && !self.owned.is_empty(),
            Phase::Syncing => self.leading && self.leader_assignment.is_none(),
            _ => false,
        }
    }

    /// The request to send now, if one is due.
    pub fn poll_request(&mut self, now: Instant) -> Option<ClassicRequest> {
        if self.poll_timeout(now)? > now {
            return None;
        }
        let req = match self.phase {
            Phase::Joining => {
                self.in_flight = Some(InFlight::Join);
                self.joined_topics = self.topics.clone();
                ClassicRequest::Join(self.join_request())
            }
            Phase::Syncing => {
                self.in_flight = Some(InFlight::Sync);
                ClassicRequest::Sync(self.sync_request())
            }
            Phase::Stable => {
                self.in_flight = Some(InFlight::Heartbeat);
                ClassicRequest::Heartbeat(HeartbeatRequest {
                    group_id: self.group.clone(),
                    generation_id: self.generation,
                    member_id: self.member_id.clone(),
                    group_instance_id: self.instance_id.clone(),
                    ..Default::default()
                })
            }
            Phase::Leaving => {
                self.in_flight = Some(InFlight::Leave);
                ClassicRequest::Leave(LeaveGroupRequest {
                    group_id: self.group.clone(),
                    member_id: self.member_id.clone(),
                    members: vec![MemberIdentity {
                        member_id: self.member_id.clone(),
                        group_instance_id: self.instance_id.clone(),
                        reason: Some("the consumer is closing".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                })
            }
            Phase::Left => return None,
        };
        Some(req)
    }

    fn join_request(&self) -> JoinGroupRequest {
        let owned = if self.cooperative {
            by_topic(&self.owned)
        } else {
            Vec::new()
        };
        let subscription = ConsumerProtocolSubscription {
            topics: self.topics.clone(),
            owned_partitions: owned,
            generation_id: if self.cooperative {
                self.owned_generation
            } else {
                -1
            },
            ..Default::default()
        };
        // Topic names are short (Kafka allows 249 bytes), so the encoding cannot fail; were it to,
        // the member would join subscribed to nothing rather than stop.
        let metadata = encode_versioned(&subscription, CONSUMER_PROTOCOL_VERSION).unwrap_or_default();
        JoinGroupRequest {
            group_id: self.group.clone(),
            session_timeout_ms: self.session_timeout_ms,
            rebalance_timeout_ms: self.rebalance_timeout_ms,
            member_id: self.member_id.clone(),
            group_instance_id: self.instance_id.clone(),
            protocol_type: "consumer".into(),
            protocols: self
                .assignors
                .iter()
                .map(|a| JoinGroupRequestProtocol {
                    name: a.name().into(),
                    metadata: metadata.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn sync_request(&self) -> SyncGroupRequest {
        let assignments = self
            .leader_assignment
            .iter()
            .flatten()
            .map(|(member, set)| SyncGroupRequestAssignment {
                member_id: member.clone(),
                assignment: encode_versioned(
                    &ConsumerProtocolAssignment {
                        assigned_partitions: by_topic(set),
                        ..Default::default()
                    },
                    self.assignment_version,
                )
                .unwrap_or_default(),
                ..Default::default()
            })
            .collect();
        SyncGroupRequest {
            group_id: self.group.clone(),
            generation_id: self.generation,
            member_id: self.member_id.clone(),
            group_instance_id: self.instance_id.clone(),
            protocol_type: Some("consumer".into()),
            protocol_name: self.protocol_name(),
            assignments,
            ..Default::default()
        }
    }

    fn protocol_name(&self) -> Option<String> {
        self.protocol.map(|a| a.name().to_owned())
    }

    /// The leader's assignment (member id -> partitions) for this generation.
    pub fn set_leader_assignment(&mut self, assignment: Assignment) {
        if self.phase == Phase::Syncing && self.leading {
            self.leader_assignment = Some(assignment);
            self.due = None;
        }
    }

    /// The answer to the JoinGroup in flight.
    pub fn handle_join(&mut self, resp: &JoinGroupResponse, now: Instant) -> Option<ClassicEvent> {
        let code = self.answered(resp.error_code)?;
        match code {
            ErrorCode::NONE => {
                self.member_id = resp.member_id.clone();
                self.generation = resp.generation_id;
                self.protocol = resp.protocol_name.as_deref().and_then(Assignor::from_name);
                self.phase = Phase::Syncing;
                self.leader_assignment = None;
                self.leading = resp.leader == resp.member_id && !resp.skip_assignment;
                self.due = None;
                self.backoff = MIN_BACKOFF;
                let Some(assignor) = self.protocol else {
                    // Not one this member offered: the coordinator would not pick it.
                    self.phase = Phase::Left;
                    return Some(ClassicEvent::Failed(
                        "JoinGroup",
                        ErrorCode::INCONSISTENT_GROUP_PROTOCOL,
                        Some(format!(
                            "the group chose protocol {:?}, which this member does not offer",
                            resp.protocol_name
                        )),
                    ));
                };
                if !self.leading {
                    return None;
                }
                let mut lowest = CONSUMER_PROTOCOL_VERSION;
                let members = resp
                    .members
                    .iter()
                    .map(|m| {
                        lowest = lowest.min(version_of(&m.metadata));
                        subscription_of(&m.member_id, m.group_instance_id.clone(), &m.metadata)
                    })
                    .collect();
                self.assignment_version = lowest;
                Some(ClassicEvent::Lead(assignor, members))
            }
            ErrorCode::MEMBER_ID_REQUIRED => {
                // KIP-394: join again at once with the id the coordinator gave.
                self.member_id = resp.member_id.clone();
                self.due = None;
                None
            }
            ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::ILLEGAL_GENERATION => self.lose(code, now),
            _ => self.retry_or_fail("JoinGroup", code, now),
        }
    }

    /// The answer to the SyncGroup in flight.
    pub fn handle_sync(&mut self, resp: &SyncGroupResponse, now: Instant) -> Option<ClassicEvent> {
        let code = self.answered(resp.error_code)?;
        match code {
            ErrorCode::NONE => {
                let Ok(assignment) = decode_versioned::<ConsumerProtocolAssignment>(&resp.assignment) else {
                    // Not readable: take nothing and join again rather than guess.
                    self.phase = Phase::Joining;
                    self.retry_later(now);
                    return None;
                };
                let target: BTreeSet<TopicPartition> = assignment
                    .assigned_partitions
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| (t.topic.clone(), *p)))
                    .collect();
                self.phase = Phase::Stable;
                self.backoff = MIN_BACKOFF;
                self.due = Some(now + self.interval);
                self.rejoin_after_revoke = self.cooperative && !self.owned.is_subset(&target);
                self.target = target.clone();
                Some(ClassicEvent::Assignment(target))
            }
            ErrorCode::REBALANCE_IN_PROGRESS => self.start_rebalance(),
            ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::ILLEGAL_GENERATION => self.lose(code, now),
            _ => {
                let event = self.retry_or_fail("SyncGroup", code, now);
                if self.phase == Phase::Syncing {
                    // SyncGroup belongs to its generation: join again.
                    self.phase = Phase::Joining;
                }
                event
            }
        }
    }

    /// The answer to the Heartbeat in flight.
    pub fn handle_heartbeat(&mut self, resp: &HeartbeatResponse, now: Instant) -> Option<ClassicEvent> {
        let code = self.answered(resp.error_code)?;
        match code {
            ErrorCode::NONE => {
                self.backoff = MIN_BACKOFF;
                if self.phase == Phase::Stable && self.due.is_none_or(|d| d <= now) {
                    self.due = Some(now + self.interval);
                }
                None
            }
            ErrorCode::REBALANCE_IN_PROGRESS => self.start_rebalance(),
            ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::ILLEGAL_GENERATION => self.lose(code, now),
            _ => self.retry_or_fail("Heartbeat", code, now),
        }
    }

    /// The answer to the LeaveGroup in flight (whatever it says, the member is out).
    pub fn handle_leave(&mut self) {
        self.in_flight = None;
        self.phase = Phase::Left;
        self.owned.clear();
    }

    /// The request in flight failed on the way (connection lost, timeout): found again and sent
    /// again after a backoff; a join or sync starts the join over.
    pub fn handle_failure(&mut self, now: Instant) {
        let was = self.in_flight.take();
        match (self.phase, was) {
            (Phase::Leaving, Some(InFlight::Leave)) => {
                self.phase = Phase::Left;
                return;
            }
            (Phase::Syncing, _) => self.phase = Phase::Joining,
            _ => {}
        }
        self.retry_later(now);
    }

    /// Takes an answer: its error, or `None` when a leave asked while it was in flight makes it
    /// moot (the leave is sent next).
    fn answered(&mut self, error_code: i16) -> Option<ErrorCode> {
        self.in_flight = None;
        if self.phase == Phase::Leaving {
            self.due = None;
            return None;
        }
        Some(ErrorCode(error_code))
    }

    fn start_rebalance(&mut self) -> Option<ClassicEvent> {
        self.phase = Phase::Joining;
        self.due = None;
        self.rejoin_after_revoke = false;
        if !self.cooperative && !self.owned.is_empty() {
            // Eager: every partition goes before the join (which waits for it).
            return Some(ClassicEvent::Assignment(BTreeSet::new()));
        }
        None
    }

    fn lose(&mut self, code: ErrorCode, now: Instant) -> Option<ClassicEvent> {
        let rejoining = self.generation < 0 && self.owned.is_empty();
        let member_id = std::mem::take(&mut self.member_id);
        self.reset();
        if code != ErrorCode::UNKNOWN_MEMBER_ID {
            // Still a member, of an older generation: join again under the same id.
            self.member_id = member_id;
        }
        if rejoining {
            self.retry_later(now);
        } else {
            self.due = None;
        }
        Some(ClassicEvent::Lost)
    }

    /// An error answer to `api`: retried after a backoff (finding the coordinator again if it
    /// moved), or the end of the membership.
    fn retry_or_fail(&mut self, api: &'static str, code: ErrorCode, now: Instant) -> Option<ClassicEvent> {
        match code {
            ErrorCode::NOT_COORDINATOR
            | ErrorCode::COORDINATOR_NOT_AVAILABLE
            | ErrorCode::COORDINATOR_LOAD_IN_PROGRESS => {
                self.retry_later(now);
                Some(ClassicEvent::FindCoordinator)
            }
            ErrorCode::REBALANCE_IN_PROGRESS => {
                self.retry_later(now);
                None
            }
            code if code.is_retriable() => {
                self.retry_later(now);
                None
            }
            _ => {
                self.phase = Phase::Left;
                Some(ClassicEvent::Failed(api, code, None))
            }
        }
    }

    fn retry_later(&mut self, now: Instant) {
        self.due = Some(now + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    /// The partitions the member owns now (after taking an assignment, or giving some up).
    pub fn set_owned(&mut self, owned: BTreeSet<TopicPartition>) {
        self.owned = owned;
        if self.phase == Phase::Stable {
            self.owned_generation = self.generation;
        }
        if self.phase == Phase::Joining && !self.cooperative && self.owned.is_empty() {
            // Eager: everything is given up; the join may go.
            self.due = self.due.filter(|d| *d > Instant::now());
        }
        if self.phase == Phase::Stable && self.rejoin_after_revoke && self.owned.is_subset(&self.target) {
            // Cooperative: the revoked partitions are let go; join again so that they move on.
            self.rejoin_after_revoke = false;
            self.phase = Phase::Joining;
            self.due = None;
        }
    }

    /// The topics subscribed to now (a pattern subscription's matches changed): if they differ,
    /// the member joins again with them (under an eager assignor, giving up its partitions first:
    /// the event that says so).
    pub fn set_topics(&mut self, topics: Vec<String>) -> Option<ClassicEvent> {
        self.topics = topics;
        // Compared with the topics of the last join: a change during a join is taken up at the
        // next call once the member is stable.
        if self.phase == Phase::Stable && self.topics != self.joined_topics {
            return self.start_rebalance();
        }
        None
    }

    /// Joins again after having left (a new member: no id, no generation, owning nothing).
    pub fn rejoin(&mut self) {
        self.reset();
        self.due = None;
        self.in_flight = None;
        self.backoff = MIN_BACKOFF;
    }

    /// Out of any generation, owning nothing, about to join.
    fn reset(&mut self) {
        self.member_id.clear();
        self.generation = -1;
        self.owned.clear();
        self.owned_generation = -1;
        self.target.clear();
        self.phase = Phase::Joining;
        self.rejoin_after_revoke = false;
    }

    /// Leaves the group: with a LeaveGroup, but for a static member (it keeps its partitions
    /// until the session times out, for a quick restart, as in the Java client) or one that never
    /// joined.
    pub fn leave(&mut self) {
        if self.phase == Phase::Left {
            return;
        }
        if self.instance_id.is_some() || self.member_id.is_empty() {
            self.phase = Phase::Left;
            self.owned.clear();
            return;
        }
        self.phase = Phase::Leaving;
        self.due = None;
    }
}

/// The partitions of `set` grouped by topic, as the consumer protocol lists them.
fn by_topic(set: &BTreeSet<TopicPartition>) -> Vec<ConsumerProtocolTopicPartition> {
    let mut out: Vec<ConsumerProtocolTopicPartition> = Vec::new();
    for (topic, p) in set {
        match out.last_mut() {
            Some(last) if &last.topic == topic => last.partitions.push(*p),
            _ => out.push(ConsumerProtocolTopicPartition {
                topic: topic.clone(),
                partitions: vec![*p],
                ..Default::default()
            }),
        }
    }
    out
}

fn version_of(metadata: &Bytes) -> i16 {
    match metadata.get(..2) {
        Some(v) => i16::from_be_bytes([v[0], v[1]]).clamp(0, CONSUMER_PROTOCOL_VERSION),
        None => 0,
    }
}

/// A member's subscription from its JoinGroup metadata; one that cannot be read subscribes to
/// nothing (it is given nothing, and nothing it may own is taken from it by mistake: it owns
/// nothing the leader knows of either).
fn subscription_of(member_id: &str, instance_id: Option<String>, metadata: &Bytes) -> Subscription {
    let s = decode_versioned::<ConsumerProtocolSubscription>(metadata).unwrap_or_default();
    Subscription {
        member_id: member_id.to_owned(),
        instance_id,
        topics: s.topics,
        owned: s
            .owned_partitions
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| (t.topic.clone(), *p)))
            .collect(),
        generation: s.generation_id,
    }
}

#[cfg(test)]
mod tests {
    use kwire_protocol::messages::join_group_response::JoinGroupResponseMember;

    use super::*;

    fn member(assignors: Vec<Assignor>) -> ClassicMembership {
        ClassicMembership::new(
            "g",
            vec!["t".into()],
            assignors,
            None,
            Duration::from_secs(45),
            Duration::from_secs(60),
            Duration::from_secs(3),
        )
    }

    fn set(ps: &[i32]) -> BTreeSet<TopicPartition> {
        ps.iter().map(|p| ("t".to_owned(), *p)).collect()
    }

    fn assignment_bytes(ps: &[i32]) -> Bytes {
        encode_versioned(
            &ConsumerProtocolAssignment {
                assigned_partitions: by_topic(&set(ps)),
                ..Default::default()
            },
            3,
        )
        .unwrap()
    }

    /// Joins as the only member (so the leader) and takes `ps`.
    fn joined(m: &mut ClassicMembership, ps: &[i32], now: Instant) {
        let Some(ClassicRequest::Join(join)) = m.poll_request(now) else {
            panic!("a join first")
        };
        let resp = JoinGroupResponse {
            generation_id: 1,
            protocol_name: Some(m.assignors[0].name().into()),
            leader: "m1".into(),
            member_id: "m1".into(),
            members: vec![JoinGroupResponseMember {
                member_id: "m1".into(),
                metadata: join.protocols[0].metadata.clone(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let Some(ClassicEvent::Lead(_, members)) = m.handle_join(&resp, now) else {
            panic!("leads")
        };
        assert_eq!(members[0].topics, vec!["t".to_owned()]);
        m.set_leader_assignment([("m1".to_owned(), set(ps))].into());
        let Some(ClassicRequest::Sync(sync)) = m.poll_request(now) else {
            panic!("then a sync")
        };
        assert_eq!(sync.assignments.len(), 1);
        let resp = SyncGroupResponse {
            assignment: sync.assignments[0].assignment.clone(),
            ..Default::default()
        };
        assert_eq!(m.handle_sync(&resp, now), Some(ClassicEvent::Assignment(set(ps))));
        m.set_owned(set(ps));
    }

    #[test]
    fn joins_with_the_id_the_coordinator_asks_for_leads_and_takes_its_part() {
        let now = Instant::now();
        let mut m = member(vec![Assignor::Range]);
        let Some(ClassicRequest::Join(first)) = m.poll_request(now) else {
            panic!()
        };
        assert_eq!(first.member_id, "");
        assert_eq!(first.protocols[0].name, "range");
        let required = JoinGroupResponse {
            error_code: ErrorCode::MEMBER_ID_REQUIRED.0,
            member_id: "m1".into(),
            ..Default::default()
        };
        assert_eq!(m.handle_join(&required, now), None);
        assert_eq!(m.member_id(), "m1");
        let Some(ClassicRequest::Join(second)) = m.poll_request(now) else {
            panic!("joins again at once")
        };
        assert_eq!(second.member_id, "m1");
        // The rest as the only member (the second join's answer is what `joined` gives).
        m.in_flight = None;
        joined(&mut m, &[0, 1], now);
        assert_eq!(m.state(), MemberState::Stable);
        assert!(m.poll_request(now).is_none(), "the heartbeat waits its interval");
        let later = now + Duration::from_secs(3);
        assert!(matches!(m.poll_request(later), Some(ClassicRequest::Heartbeat(h)) if h.generation_id == 1));
    }

    /// The next heartbeat, answered REBALANCE_IN_PROGRESS.
    fn rebalance_at_heartbeat(m: &mut ClassicMembership, at: Instant) -> Option<ClassicEvent> {
        assert!(matches!(m.poll_request(at), Some(ClassicRequest::Heartbeat(_))));
        let rebalance = HeartbeatResponse {
            error_code: ErrorCode::REBALANCE_IN_PROGRESS.0,
            ..Default::default()
        };
        m.handle_heartbeat(&rebalance, at)
    }

    #[test]
    fn eager_gives_up_everything_and_joins_only_after() {
        let now = Instant::now();
        let mut m = member(vec![Assignor::Range]);
        joined(&mut m, &[0, 1], now);
        let later = now + Duration::from_secs(3);
        assert_eq!(
            rebalance_at_heartbeat(&mut m, later),
            Some(ClassicEvent::Assignment(BTreeSet::new()))
        );
        assert!(
            m.poll_request(later).is_none(),
            "no join while partitions are owned"
        );
        m.set_owned(BTreeSet::new());
        let Some(ClassicRequest::Join(join)) = m.poll_request(later) else {
            panic!("joins now")
        };
        let sub: ConsumerProtocolSubscription = decode_versioned(&join.protocols[0].metadata).unwrap();
        assert!(sub.owned_partitions.is_empty());
    }

    #[test]
    fn cooperative_keeps_its_partitions_and_joins_again_after_letting_go_of_taken_ones() {
        let now = Instant::now();
        let mut m = member(vec![Assignor::CooperativeSticky]);
        assert!(m.is_cooperative());
        joined(&mut m, &[0, 1, 2], now);
        let later = now + Duration::from_secs(3);
        assert_eq!(
            rebalance_at_heartbeat(&mut m, later),
            None,
            "nothing is given up to join"
        );
        let Some(ClassicRequest::Join(join)) = m.poll_request(later) else {
            panic!("joins at once")
        };
        let sub: ConsumerProtocolSubscription = decode_versioned(&join.protocols[0].metadata).unwrap();
        assert_eq!(sub.owned_partitions[0].partitions, vec![0, 1, 2]);
        assert_eq!(sub.generation_id, 1);
        let follower = JoinGroupResponse {
            generation_id: 2,
            protocol_name: Some("cooperative-sticky".into()),
            leader: "other".into(),
            member_id: "m1".into(),
            ..Default::default()
        };
        assert_eq!(m.handle_join(&follower, later), None);
        assert!(matches!(m.poll_request(later), Some(ClassicRequest::Sync(s)) if s.assignments.is_empty()));
        let resp = SyncGroupResponse {
            assignment: assignment_bytes(&[0, 1]),
            ..Default::default()
        };
        assert_eq!(
            m.handle_sync(&resp, later),
            Some(ClassicEvent::Assignment(set(&[0, 1])))
        );
        assert!(m.poll_request(later).is_none(), "partition 2 is not let go yet");
        m.set_owned(set(&[0, 1]));
        assert!(
            matches!(m.poll_request(later), Some(ClassicRequest::Join(_))),
            "joins again once it is"
        );
    }

    #[test]
    fn a_fenced_member_loses_its_partitions_and_a_static_one_leaves_without_a_request() {
        let now = Instant::now();
        let mut m = member(vec![Assignor::RoundRobin]);
        joined(&mut m, &[0], now);
        let later = now + Duration::from_secs(3);
        assert!(m.poll_request(later).is_some());
        let fenced = HeartbeatResponse {
            error_code: ErrorCode::UNKNOWN_MEMBER_ID.0,
            ..Default::default()
        };
        assert_eq!(m.handle_heartbeat(&fenced, later), Some(ClassicEvent::Lost));
        assert_eq!((m.member_id(), m.generation()), ("", -1));
        assert!(matches!(m.poll_request(later), Some(ClassicRequest::Join(_))));

        let mut s = member(vec![Assignor::Range]);
        s.instance_id = Some("i".into());
        joined(&mut s, &[0], now);
        s.leave();
        assert_eq!(s.state(), MemberState::Left);
        assert!(s.poll_request(later).is_none());

        let mut d = member(vec![Assignor::Range]);
        joined(&mut d, &[0], now);
        d.leave();
        assert!(
            matches!(d.poll_request(now), Some(ClassicRequest::Leave(l)) if l.members[0].member_id == "m1")
        );
    }

    #[test]
    fn a_moved_coordinator_is_found_again_and_a_lost_sync_joins_again() {
        let now = Instant::now();
        let mut m = member(vec![Assignor::CooperativeSticky]);
        joined(&mut m, &[0], now);
        let later = now + Duration::from_secs(3);
        assert!(matches!(
            m.poll_request(later),
            Some(ClassicRequest::Heartbeat(_))
        ));
        let moved = HeartbeatResponse {
            error_code: ErrorCode::NOT_COORDINATOR.0,
            ..Default::default()
        };
        assert_eq!(
            m.handle_heartbeat(&moved, later),
            Some(ClassicEvent::FindCoordinator)
        );
        assert!(m.poll_request(later).is_none(), "after a backoff");
        let retry = later + MIN_BACKOFF;
        assert!(
            matches!(m.poll_request(retry), Some(ClassicRequest::Heartbeat(h)) if h.generation_id == 1),
            "the same heartbeat, to the coordinator found again"
        );
        // A SyncGroup whose answer is lost on the way: the join starts over.
        m.handle_failure(retry);
        m.phase = Phase::Syncing;
        m.handle_failure(retry);
        assert_eq!(m.state(), MemberState::Joining);
        let moved_sync = SyncGroupResponse {
            error_code: ErrorCode::COORDINATOR_LOAD_IN_PROGRESS.0,
            ..Default::default()
        };
        m.phase = Phase::Syncing;
        assert_eq!(
            m.handle_sync(&moved_sync, retry),
            Some(ClassicEvent::FindCoordinator)
        );
        assert_eq!(
            m.state(),
            MemberState::Joining,
            "a sync belongs to its generation"
        );
    }

    #[test]
    fn an_error_it_cannot_go_on_from_names_the_request() {
        let now = Instant::now();
        let mut m = member(vec![Assignor::Range]);
        assert!(m.poll_request(now).is_some());
        let resp = JoinGroupResponse {
            error_code: ErrorCode::INCONSISTENT_GROUP_PROTOCOL.0,
            ..Default::default()
        };
        assert_eq!(
            m.handle_join(&resp, now),
            Some(ClassicEvent::Failed(
                "JoinGroup",
                ErrorCode::INCONSISTENT_GROUP_PROTOCOL,
                None
            ))
        );
        assert_eq!(m.state(), MemberState::Left);
    }
}
