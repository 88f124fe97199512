//! Group offset cases, without group membership (generation -1, as Flink's source commits):
//! OffsetCommit then OffsetFetch back, and OffsetFetch of named partitions and of all topics.

use kwire_connector::client::TopicMetadata;
use kwire_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kwire_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kwire_protocol::messages::{OffsetCommitRequest, OffsetFetchRequest};

use kwire_protocol::messages::OffsetFetchResponse;

use crate::conformance::checks::{self, Committed};
use crate::conformance::deviations;
use crate::conformance::harness::{Cx, Res};

/// Checks an OffsetFetch answer; a broker that keeps the offsets but drops their metadata shows
/// a documented deviation, and the case goes on.
fn check_fetched(
    cx: &Cx,
    resp: &OffsetFetchResponse,
    v: i16,
    group: &str,
    topic: &TopicMetadata,
    want: &[Committed],
) -> Res {
    let named = (topic.name.as_str(), topic.id);
    cx.tolerate(
        checks::offset_fetch(resp, v, group, named, want),
        deviations::offset_commit_metadata(resp, v, group, named, want),
    )
}

/// A partition, the offset to commit and its metadata.
type Entry<'a> = (i32, i64, &'a str);

/// An OffsetCommit of `entries` of `topic`: by name (v2-v9) and by id (v10+); the version's
/// normalisation drops the one it lacks.
fn commit_request(group: &str, topic: &TopicMetadata, entries: &[Entry]) -> OffsetCommitRequest {
    OffsetCommitRequest {
        group_id: group.to_owned(),
        generation_id_or_member_epoch: -1,
        member_id: String::new(),
        retention_time_ms: -1,
        topics: vec![OffsetCommitRequestTopic {
            name: topic.name.clone(),
            topic_id: topic.id,
            partitions: entries
                .iter()
                .map(|(p, o, m)| OffsetCommitRequestPartition {
                    partition_index: *p,
                    committed_offset: *o,
                    committed_leader_epoch: -1,
                    committed_metadata: Some((*m).to_owned()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// OffsetFetch for `group`: of `partitions` of `topic`, or (None) of every topic of the group; the
/// group list from v8, the single group before; the topic by name, and by id from v10 (the
/// version's normalisation drops the one it lacks).
pub(in crate::conformance) fn offset_fetch_request(
    v: i16,
    group: &str,
    topic: Option<(&TopicMetadata, &[i32])>,
) -> OffsetFetchRequest {
    if v >= 8 {
        OffsetFetchRequest {
            groups: vec![OffsetFetchRequestGroup {
                group_id: group.to_owned(),
                member_id: None,
                member_epoch: -1,
                topics: topic.map(|(t, ps)| {
                    vec![OffsetFetchRequestTopics {
                        name: t.name.clone(),
                        topic_id: t.id,
                        partition_indexes: ps.to_vec(),
                        ..Default::default()
                    }]
                }),
                ..Default::default()
            }],
            require_stable: false,
            ..Default::default()
        }
    } else {
        OffsetFetchRequest {
            group_id: group.to_owned(),
            topics: topic.map(|(t, ps)| {
                vec![OffsetFetchRequestTopic {
                    name: t.name.clone(),
                    partition_indexes: ps.to_vec(),
                    ..Default::default()
                }]
            }),
            require_stable: false,
            ..Default::default()
        }
    }
}

fn committed(partition: i32, offset: i64, metadata: Option<&str>) -> Committed {
    Committed {
        partition,
        offset,
        metadata: metadata.map(str::to_owned),
    }
}

pub(super) async fn offset_commit(cx: &Cx, v: i16) -> Res {
    let topic = cx.create_topic("", 2).await?;
    let group = cx.name("-group");
    let coord = cx.coordinator(&group, 0).await?;
    let fv = cx.version::<OffsetFetchRequest>()?;
    let (o0, o1) = (10 + i64::from(v), 20 + i64::from(v));
    // A later commit replaces an offset; the other partition keeps its own.
    let rounds: [(&[Entry], [Committed; 2]); 2] = [
        (
            &[(0, o0, "m0"), (1, o1, "m1")],
            [committed(0, o0, Some("m0")), committed(1, o1, Some("m1"))],
        ),
        (
            &[(0, 100, "again")],
            [committed(0, 100, Some("again")), committed(1, o1, Some("m1"))],
        ),
    ];
    for (entries, want) in rounds {
        let resp = cx
            .send(&coord, commit_request(&group, &topic, entries), v)
            .await?;
        let partitions: Vec<i32> = entries.iter().map(|e| e.0).collect();
        cx.check(checks::offset_commit(
            &resp,
            v,
            (&topic.name, topic.id),
            &partitions,
        ))?;
        let req = offset_fetch_request(fv, &group, Some((&topic, &[0, 1])));
        let resp = cx.send(&coord, req, fv).await?;
        check_fetched(cx, &resp, fv, &group, &topic, &want)?;
    }
    Ok(())
}

pub(super) async fn offset_fetch(cx: &Cx, v: i16, all_topics: bool) -> Res {
    let topic = cx.create_topic("", 2).await?;
    let group = cx.name("-group");
    let coord = cx.coordinator(&group, 0).await?;
    let cv = cx.version::<OffsetCommitRequest>()?;
    let req = commit_request(&group, &topic, &[(0, 42, "kwire")]);
    let resp = cx.send(&coord, req, cv).await?;
    cx.check(checks::offset_commit(&resp, cv, (&topic.name, topic.id), &[0]))?;
    let asked = (!all_topics).then_some((&topic, &[0, 1][..]));
    let resp = match cx
        .exchange(&coord, offset_fetch_request(v, &group, asked), v)
        .await
    {
        Ok(resp) => resp,
        Err(e) => {
            let deviation = deviations::offset_fetch_all_topics(&e, v).filter(|_| all_topics);
            return cx.check_or_deviation(Err(format!("no valid answer: {e}")), deviation);
        }
    };
    // Partition 1 has no commit: -1 when asked for by name.
    let want = if all_topics {
        vec![committed(0, 42, Some("kwire"))]
    } else {
        vec![committed(0, 42, Some("kwire")), committed(1, -1, None)]
    };
    check_fetched(cx, &resp, v, &group, &topic, &want)
}
