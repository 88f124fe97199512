//! The classic consumer group protocol's assignors: the group leader's choice of which member
//! reads which partition. The same three the Java client has, under the same names, so that kwire
//! and Java members can lead each other's groups:
//!
//! - `range`: per topic, the members subscribed to it (in member order) each take a consecutive
//!   run of partitions; the first `partitions % members` take one more.
//! - `roundrobin`: every partition of every topic in (topic, partition) order, dealt to the
//!   members in turn, skipping members not subscribed to its topic.
//! - `cooperative-sticky`: balanced (no member more than one partition over another that could
//!   take it), keeping each member's partitions where it can; a partition moving from one member to
//!   another is left out of this round (its owner lets go of it and joins again, and the next round
//!   gives it to its new member), so that no partition is ever read by two members at once.
//!
//! Member order is the Java client's: by group instance id where both members have one, else by
//! member id.

use std::collections::{BTreeMap, BTreeSet};

/// A topic and partition.
pub type TopicPartition = (String, i32);

/// An assignor of the classic protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Assignor {
    /// `range`.
    Range,
    /// `roundrobin`.
    RoundRobin,
    /// `cooperative-sticky`.
    CooperativeSticky,
}

impl Assignor {
    /// Its name in JoinGroup's protocols, as the Java client names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Range => "range",
            Self::RoundRobin => "roundrobin",
            Self::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// The assignor of a protocol name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Range, Self::RoundRobin, Self::CooperativeSticky]
            .into_iter()
            .find(|a| a.name() == name)
    }

    /// Whether members keep their partitions while the group rebalances (cooperative), instead
    /// of giving all up before joining (eager).
    pub fn is_cooperative(self) -> bool {
        self == Self::CooperativeSticky
    }
}

/// One member as the leader sees it in JoinGroup's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    /// Member id.
    pub member_id: String,
    /// Group instance id (static members).
    pub instance_id: Option<String>,
    /// Subscribed topics.
    pub topics: Vec<String>,
    /// Partitions it owns now.
    pub owned: Vec<TopicPartition>,
    /// The generation its owned partitions are from (-1: unknown).
    pub generation: i32,
}

/// Member id -> the partitions it is given.
pub type Assignment = BTreeMap<String, BTreeSet<TopicPartition>>;

/// Spreads the partitions of `partitions` (topic -> partition count; topics nobody subscribes to
/// are ignored, subscribed topics missing here have no partitions) over `members`.
pub fn assign(
    assignor: Assignor,
    members: &[Subscription],
    partitions: &BTreeMap<String, i32>,
) -> Assignment {
    let mut order: Vec<&Subscription> = members.iter().collect();
    order.sort_by(|a, b| member_order(a).cmp(&member_order(b)));
    let mut out: Assignment = order
        .iter()
        .map(|m| (m.member_id.clone(), BTreeSet::new()))
        .collect();
    match assignor {
        Assignor::Range => range(&order, partitions, &mut out),
        Assignor::RoundRobin => round_robin(&order, partitions, &mut out),
        Assignor::CooperativeSticky => sticky(&order, partitions, &mut out),
    }
    out
}

fn member_order(m: &Subscription) -> (u8, &str) {
    match &m.instance_id {
        Some(id) => (0, id.as_str()),
        None => (1, m.member_id.as_str()),
    }
}

fn subscribed<'a>(order: &[&'a Subscription], topic: &str) -> Vec<&'a Subscription> {
    order
        .iter()
        .copied()
        .filter(|m| m.topics.iter().any(|t| t == topic))
        .collect()
}

fn range(order: &[&Subscription], partitions: &BTreeMap<String, i32>, out: &mut Assignment) {
    for (topic, &count) in partitions {
        let members = subscribed(order, topic);
        if members.is_empty() || count <= 0 {
            continue;
        }
        let n = members.len() as i32;
        let (each, extra) = (count / n, count % n);
        for (i, m) in members.iter().enumerate() {
            let i = i as i32;
            let start = each * i + i.min(extra);
            let len = each + i32::from(i < extra);
            let set = out.entry(m.member_id.clone()).or_default();
            set.extend((start..start + len).map(|p| (topic.clone(), p)));
        }
    }
}

fn round_robin(order: &[&Subscription], partitions: &BTreeMap<String, i32>, out: &mut Assignment) {
    if order.is_empty() {
        return;
    }
    let mut next = 0usize;
    for (topic, &count) in partitions {
        if subscribed(order, topic).is_empty() {
            continue;
        }
        for p in 0..count.max(0) {
            // The next member in turn that reads this topic (one exists).
            while !order[next % order.len()].topics.iter().any(|t| t == topic) {
                next += 1;
            }
            out.entry(order[next % order.len()].member_id.clone())
                .or_default()
                .insert((topic.clone(), p));
            next += 1;
        }
    }
}

fn sticky(order: &[&Subscription], partitions: &BTreeMap<String, i32>, out: &mut Assignment) {
    let exists = |(t, p): &TopicPartition| partitions.get(t).is_some_and(|n| *p >= 0 && p < n);
    // Who owns what now: a partition claimed by two members goes to the one of the newer
    // generation (the other's claim is stale), and only to a member still subscribed to it.
    let mut by_generation: Vec<&&Subscription> = order.iter().collect();
    by_generation.sort_by_key(|m| std::cmp::Reverse(m.generation));
    let mut owner: BTreeMap<TopicPartition, String> = BTreeMap::new();
    for m in by_generation {
        for tp in &m.owned {
            if exists(tp) && m.topics.contains(&tp.0) && !owner.contains_key(tp) {
                owner.insert(tp.clone(), m.member_id.clone());
            }
        }
    }
    let mut all: Vec<TopicPartition> = Vec::new();
    for (topic, &count) in partitions {
        if !subscribed(order, topic).is_empty() {
            all.extend((0..count.max(0)).map(|p| (topic.clone(), p)));
        }
    }
    let eligible = |member: &str, tp: &TopicPartition| {
        order
            .iter()
            .any(|m| m.member_id == member && m.topics.contains(&tp.0))
    };
    // Keep what each owns; deal the rest to the eligible member with the fewest.
    for (tp, m) in &owner {
        out.entry(m.clone()).or_default().insert(tp.clone());
    }
    for tp in all.iter().filter(|tp| !owner.contains_key(*tp)) {
        if let Some(m) = fewest(order, out, |m| eligible(m, tp)) {
            out.entry(m).or_default().insert(tp.clone());
        }
    }
    // Balance: move from the fullest to an emptier member that can take it, until no member has
    // two more than another that could take one of its partitions. Each move narrows the spread,
    // so this ends; the bound is a guard.
    for _ in 0..all.len() * order.len().max(1) {
        let mut moved = false;
        let mut fullest: Vec<String> = out.keys().cloned().collect();
        fullest.sort_by_key(|m| std::cmp::Reverse(out[m].len()));
        'find: for from in &fullest {
            // A partition the member was not given back from its own claim first (newly dealt
            // ones), so that moves disturb as few owners as they can.
            let mut candidates: Vec<TopicPartition> = out[from].iter().cloned().collect();
            candidates.sort_by_key(|tp| owner.get(tp) == Some(from));
            for tp in candidates {
                let to = fewest(order, out, |m| m != from && eligible(m, &tp));
                if let Some(to) = to {
                    if out[&to].len() + 1 < out[from].len() {
                        out.get_mut(from).map(|s| s.remove(&tp));
                        out.entry(to).or_default().insert(tp);
                        moved = true;
                        break 'find;
                    }
                }
            }
        }
        if !moved {
            break;
        }
    }
    // Cooperative: a partition owned by another member now is not given away in this round.
    for (member, set) in out.iter_mut() {
        set.retain(|tp| owner.get(tp).is_none_or(|o| o == member));
    }
}

/// The member (in member order) with the fewest partitions among those `ok` accepts.
fn fewest(order: &[&Subscription], out: &Assignment, ok: impl Fn(&str) -> bool) -> Option<String> {
    order
        .iter()
        .filter(|m| ok(&m.member_id))
        .min_by_key(|m| out.get(&m.member_id).map_or(0, BTreeSet::len))
        .map(|m| m.member_id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, topics: &[&str], owned: &[(&str, i32)], generation: i32) -> Subscription {
        Subscription {
            member_id: id.into(),
            instance_id: None,
            topics: topics.iter().map(|t| (*t).into()).collect(),
            owned: owned.iter().map(|(t, p)| ((*t).into(), *p)).collect(),
            generation,
        }
    }

    fn topics(list: &[(&str, i32)]) -> BTreeMap<String, i32> {
        list.iter().map(|(t, n)| ((*t).into(), *n)).collect()
    }

    fn names(a: &Assignment, m: &str) -> Vec<String> {
        a[m].iter().map(|(t, p)| format!("{t}{p}")).collect()
    }

    #[test]
    fn range_gives_consecutive_runs_per_topic_with_the_extra_to_the_first() {
        let ms = [member("b", &["t"], &[], -1), member("a", &["t", "u"], &[], -1)];
        let a = assign(Assignor::Range, &ms, &topics(&[("t", 5), ("u", 2)]));
        assert_eq!(names(&a, "a"), ["t0", "t1", "t2", "u0", "u1"]);
        assert_eq!(names(&a, "b"), ["t3", "t4"]);
    }

    #[test]
    fn round_robin_deals_in_turn_and_skips_members_not_subscribed() {
        let ms = [
            member("a", &["t", "u"], &[], -1),
            member("b", &["t"], &[], -1),
            member("c", &["u"], &[], -1),
        ];
        let a = assign(Assignor::RoundRobin, &ms, &topics(&[("t", 3), ("u", 3)]));
        assert_eq!(names(&a, "a"), ["t0", "t2", "u1"]);
        assert_eq!(names(&a, "b"), ["t1"]);
        assert_eq!(names(&a, "c"), ["u0", "u2"]);
    }

    #[test]
    fn static_members_are_ordered_by_instance_id() {
        let mut x = member("z-member", &["t"], &[], -1);
        x.instance_id = Some("a-instance".into());
        let mut y = member("a-member", &["t"], &[], -1);
        y.instance_id = Some("b-instance".into());
        let a = assign(Assignor::Range, &[y, x], &topics(&[("t", 2)]));
        assert_eq!(names(&a, "z-member"), ["t0"]);
    }

    #[test]
    fn sticky_keeps_owners_and_withholds_a_moving_partition_for_one_round() {
        // a owned all six; b joins: three move to b, but only in the next round.
        let owned: Vec<(&str, i32)> = (0..6).map(|p| ("t", p)).collect();
        let ms = [member("a", &["t"], &owned, 3), member("b", &["t"], &[], -1)];
        let first = assign(Assignor::CooperativeSticky, &ms, &topics(&[("t", 6)]));
        assert_eq!(first["a"].len(), 3, "{first:?}");
        assert!(first["b"].is_empty(), "a still owns them: {first:?}");
        // a let go of the other three and joined again.
        let kept: Vec<(&str, i32)> = first["a"].iter().map(|(_, p)| ("t", *p)).collect();
        let ms = [member("a", &["t"], &kept, 4), member("b", &["t"], &[], -1)];
        let second = assign(Assignor::CooperativeSticky, &ms, &topics(&[("t", 6)]));
        assert_eq!(second["a"], first["a"], "a keeps what it kept");
        assert_eq!(second["b"].len(), 3);
        assert!(second["a"].is_disjoint(&second["b"]));
    }

    #[test]
    fn sticky_gives_a_partition_claimed_twice_to_the_newer_generation() {
        let ms = [
            member("a", &["t"], &[("t", 0)], 2),
            member("b", &["t"], &[("t", 0)], 5),
        ];
        let a = assign(Assignor::CooperativeSticky, &ms, &topics(&[("t", 2)]));
        assert_eq!(names(&a, "b"), ["t0"]);
        assert_eq!(names(&a, "a"), ["t1"]);
    }

    #[test]
    fn every_assignor_covers_every_partition_once_and_balances() {
        // Random groups: every partition of a subscribed topic to exactly one subscribed member;
        // with one subscription for all, no member two more than another.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..300 {
            let counts = topics(&[("t", rnd(12) as i32 + 1), ("u", rnd(5) as i32)]);
            let members = rnd(6) as usize + 1;
            let same = round % 2 == 0;
            let mut ms: Vec<Subscription> = (0..members)
                .map(|i| {
                    let subs: &[&str] = if same || i % 2 == 0 { &["t", "u"] } else { &["t"] };
                    member(&format!("m{i}"), subs, &[], -1)
                })
                .collect();
            // Some owned partitions (possibly stale claims) for the sticky assignor.
            for m in ms.iter_mut() {
                for _ in 0..rnd(4) {
                    m.owned.push(("t".into(), rnd(14) as i32));
                }
                m.generation = rnd(3) as i32;
            }
            for assignor in [Assignor::Range, Assignor::RoundRobin, Assignor::CooperativeSticky] {
                let a = assign(assignor, &ms, &counts);
                let mut seen = BTreeSet::new();
                for (m, set) in &a {
                    let sub = &ms.iter().find(|x| &x.member_id == m).unwrap().topics;
                    for tp in set {
                        assert!(sub.contains(&tp.0), "{assignor:?}: {m} not subscribed to {tp:?}");
                        assert!(seen.insert(tp.clone()), "{assignor:?}: {tp:?} twice");
                    }
                }
                let total: i32 = counts.values().sum();
                if assignor != Assignor::CooperativeSticky {
                    assert_eq!(seen.len() as i32, total, "{assignor:?} {counts:?}");
                }
                if same && assignor != Assignor::Range {
                    let sizes: Vec<usize> = a.values().map(BTreeSet::len).collect();
                    let withheld = total as usize - seen.len();
                    let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                    assert!(hi - lo <= 1 + withheld, "{assignor:?} {sizes:?} {counts:?}");
                }
            }
        }
    }
}
