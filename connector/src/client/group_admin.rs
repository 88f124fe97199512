//! Consumer groups seen from outside, as `kwire group` and Kafka's kafka-consumer-groups show
//! them: the groups a cluster has, a group's members and their partitions, and the offsets it
//! committed with their metadata (where the connector's source writes its checkpoint id).
//!
//! A group of the consumer protocol (KIP-848) is described with ConsumerGroupDescribe; a classic
//! group, or a group with committed offsets and no members (the connector's), with DescribeGroups.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use kwire_protocol::consumer_protocol::{decode_versioned, ConsumerProtocolAssignment};
use kwire_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupHeartbeatRequest, DescribeGroupsRequest, ListGroupsRequest,
};
use kwire_protocol::{ErrorCode, Uuid};

use super::connection::Connection;
use super::{Client, Error, ProtocolError};

/// A group as ListGroups names it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupListing {
    /// The group id.
    pub group_id: String,
    /// `consumer` for consumer groups (either protocol), empty for a group with only offsets.
    pub protocol_type: String,
    /// The state (Stable, Empty, ...), when the broker says (ListGroups v4+).
    pub state: String,
    /// `consumer`, `classic`, `share`..., when the broker says (ListGroups v5+).
    pub group_type: String,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupMember {
    /// The member id.
    pub member_id: String,
    /// The instance id of a static member.
    pub instance_id: Option<String>,
    /// The member's client id.
    pub client_id: String,
    /// The member's host, as the broker saw it.
    pub host: String,
    /// The partitions it owns.
    pub assignment: Vec<(String, i32)>,
}

/// A group's state and members.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupDescription {
    /// The group id.
    pub group_id: String,
    /// `consumer` (KIP-848) or `classic`.
    pub group_type: String,
    /// The state: Stable, Empty, Dead (no such group), ...
    pub state: String,
    /// The assignor (consumer groups) or the classic protocol's assignment strategy.
    pub assignor: String,
    /// The members, by member id.
    pub members: Vec<GroupMember>,
}

/// One committed offset of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupOffset {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The next offset to read.
    pub offset: i64,
    /// The commit's metadata (the connector's source writes `kwire-checkpoint-<id>`).
    pub metadata: Option<String>,
}

impl GroupOffset {
    /// The checkpoint id the connector's source stored with this commit, if it did.
    pub fn checkpoint_id(&self) -> Option<u64> {
        self.metadata
            .as_deref()?
            .strip_prefix("kwire-checkpoint-")?
            .parse()
            .ok()
    }
}

impl Client {
    /// Every group of the cluster (ListGroups to every broker), sorted by id.
    pub async fn list_groups(&self) -> Result<Vec<GroupListing>, Error> {
        self.refresh_metadata(&[]).await?;
        let brokers: Vec<String> = self.metadata().brokers.into_values().collect();
        let mut out: BTreeMap<String, GroupListing> = BTreeMap::new();
        for addr in brokers {
            let conn = self.connection(&addr).await?;
            let resp = conn.send_built(|_| ListGroupsRequest::default()).await?;
            let code = ErrorCode(resp.error_code);
            if !code.is_ok() {
                return Err(Error::broker("ListGroups", code));
            }
            for g in resp.groups {
                out.insert(
                    g.group_id.clone(),
                    GroupListing {
                        group_id: g.group_id,
                        protocol_type: g.protocol_type,
                        state: g.group_state,
                        group_type: g.group_type,
                    },
                );
            }
        }
        Ok(out.into_values().collect())
    }

    /// `group`'s state and members: ConsumerGroupDescribe for a consumer group, DescribeGroups
    /// for a classic one (or one with only committed offsets: state Empty, no members).
    pub async fn describe_group(&self, group: &str) -> Result<GroupDescription, Error> {
        self.retry(None, || async {
            let conn = self.group_coordinator(group).await?;
            // Only a broker with KIP-848's protocol has consumer groups to describe (tansu offers
            // ConsumerGroupDescribe without it, and answers for classic groups).
            if conn.version_for::<ConsumerGroupDescribeRequest>().is_ok()
                && conn.version_for::<ConsumerGroupHeartbeatRequest>().is_ok()
            {
                let resp = conn
                    .send_built(|_| ConsumerGroupDescribeRequest {
                        group_ids: vec![group.to_owned()],
                        ..Default::default()
                    })
                    .await?;
                let Some(g) = resp.groups.into_iter().next() else {
                    return Err(no_group("ConsumerGroupDescribe", &conn, group));
                };
                match ErrorCode(g.error_code) {
                    ErrorCode::NONE => {
                        return Ok(GroupDescription {
                            group_id: g.group_id,
                            group_type: "consumer".into(),
                            state: g.group_state,
                            assignor: g.assignor_name,
                            members: g
                                .members
                                .into_iter()
                                .map(|m| GroupMember {
                                    member_id: m.member_id,
                                    instance_id: m.instance_id,
                                    client_id: m.client_id,
                                    host: m.client_host,
                                    assignment: m
                                        .assignment
                                        .topic_partitions
                                        .iter()
                                        .flat_map(|t| t.partitions.iter().map(|p| (t.topic_name.clone(), *p)))
                                        .collect(),
                                })
                                .collect(),
                        })
                    }
                    // Not a consumer group (a classic one, or none): DescribeGroups says which.
                    ErrorCode::GROUP_ID_NOT_FOUND => {}
                    code => return Err(Error::broker_at("ConsumerGroupDescribe", code, group, None)),
                }
            }
            let resp = conn
                .send_built(|_| DescribeGroupsRequest {
                    groups: vec![group.to_owned()],
                    ..Default::default()
                })
                .await?;
            let Some(g) = resp.groups.into_iter().next() else {
                return Err(no_group("DescribeGroups", &conn, group));
            };
            let code = ErrorCode(g.error_code);
            if !code.is_ok() && code != ErrorCode::GROUP_ID_NOT_FOUND {
                return Err(Error::broker_at("DescribeGroups", code, group, None));
            }
            let consumer = g.protocol_type == "consumer";
            Ok(GroupDescription {
                group_id: group.to_owned(),
                group_type: "classic".into(),
                state: if code == ErrorCode::GROUP_ID_NOT_FOUND {
                    "Dead".into()
                } else {
                    g.group_state
                },
                assignor: g.protocol_data,
                members: g
                    .members
                    .into_iter()
                    .map(|m| GroupMember {
                        member_id: m.member_id,
                        instance_id: m.group_instance_id,
                        client_id: m.client_id,
                        host: m.client_host,
                        assignment: if consumer {
                            consumer_assignment(&m.member_assignment).unwrap_or_default()
                        } else {
                            Vec::new()
                        },
                    })
                    .collect(),
            })
        })
        .await
    }

    /// Every offset `group` committed, by topic and partition, with its metadata.
    pub async fn group_offsets(&self, group: &str) -> Result<Vec<GroupOffset>, Error> {
        // Topic ids (OffsetFetch v10) back to names.
        let names: HashMap<Uuid, String> = {
            self.refresh_metadata(&[]).await?;
            self.metadata()
                .topics
                .into_values()
                .map(|t| (t.id, t.name))
                .collect()
        };
        self.retry(None, || async {
            let conn = self.group_coordinator(group).await?;
            let resp = conn
                .send_built(|version| Self::offset_fetch_request(version, group, None))
                .await?;
            let check = |code: i16, topic: &str, partition: Option<i32>| {
                let code = ErrorCode(code);
                if code.is_ok() {
                    Ok(())
                } else {
                    Err(Error::broker_at("OffsetFetch", code, topic, partition))
                }
            };
            check(resp.error_code, group, None)?;
            let mut out = Vec::new();
            for t in &resp.topics {
                for p in &t.partitions {
                    check(p.error_code, &t.name, Some(p.partition_index))?;
                    out.push(GroupOffset {
                        topic: t.name.clone(),
                        partition: p.partition_index,
                        offset: p.committed_offset,
                        metadata: p.metadata.clone(),
                    });
                }
            }
            for g in &resp.groups {
                check(g.error_code, group, None)?;
                for t in &g.topics {
                    let name = if t.name.is_empty() {
                        names
                            .get(&t.topic_id)
                            .cloned()
                            .unwrap_or_else(|| t.topic_id.to_string())
                    } else {
                        t.name.clone()
                    };
                    for p in &t.partitions {
                        check(p.error_code, &name, Some(p.partition_index))?;
                        out.push(GroupOffset {
                            topic: name.clone(),
                            partition: p.partition_index,
                            offset: p.committed_offset,
                            metadata: p.metadata.clone(),
                        });
                    }
                }
            }
            out.retain(|o| o.offset >= 0);
            out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
            Ok(out)
        })
        .await
    }
}

/// An answer about `group` that holds no group.
fn no_group(api: &'static str, conn: &Connection, group: &str) -> Error {
    Error::Protocol(ProtocolError::InvalidResponse {
        api,
        broker: conn.addr().to_owned(),
        reason: format!("no group in the answer for group {group}"),
    })
}

/// The partitions of a classic consumer group member's assignment (the consumer protocol's
/// ConsumerProtocolAssignment); `None` when the bytes are not one.
fn consumer_assignment(bytes: &Bytes) -> Option<Vec<(String, i32)>> {
    let a = decode_versioned::<ConsumerProtocolAssignment>(bytes).ok()?;
    Some(
        a.assigned_partitions
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| (t.topic.clone(), *p)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use kwire_protocol::primitives::{Ctx, Encoder, Wire};

    use super::*;

    #[test]
    fn a_classic_assignment_decodes_and_damage_is_none() {
        let mut e = Encoder::new();
        e.i16(3);
        e.i32(1);
        String::from("orders").encode(&mut e, Ctx::new(0, false)).unwrap();
        vec![0i32, 4].encode(&mut e, Ctx::new(0, false)).unwrap();
        e.i32(-1); // no user data
        let bytes = e.into_inner().freeze();
        assert_eq!(
            consumer_assignment(&bytes),
            Some(vec![("orders".to_owned(), 0), ("orders".to_owned(), 4)])
        );
        assert_eq!(consumer_assignment(&bytes.slice(..9)), None);
        // A count of two billion topics in a few bytes: refused, not allocated.
        let mut e = Encoder::new();
        e.i16(0);
        e.i32(i32::MAX);
        assert_eq!(consumer_assignment(&e.into_inner().freeze()), None);
    }

    #[test]
    fn the_checkpoint_id_comes_from_the_connectors_metadata() {
        let offset = |m: Option<&str>| GroupOffset {
            topic: "t".into(),
            partition: 0,
            offset: 5,
            metadata: m.map(str::to_owned),
        };
        assert_eq!(offset(Some("kwire-checkpoint-42")).checkpoint_id(), Some(42));
        assert_eq!(offset(Some("")).checkpoint_id(), None);
        assert_eq!(offset(None).checkpoint_id(), None);
    }
}
