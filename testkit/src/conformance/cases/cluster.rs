//! Cluster and admin cases: ApiVersions, Metadata, DescribeCluster, CreateTopics, DeleteTopics,
//! FindCoordinator, SaslHandshake, SaslAuthenticate.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kwire_connector::client::{raw::Connection, raw::ConnectionConfig};
use kwire_protocol::messages::create_topics_request::CreatableTopic;
use kwire_protocol::messages::delete_topics_request::DeleteTopicState;
use kwire_protocol::messages::{
    ApiKey, ApiVersionsRequest, CreateTopicsRequest, DeleteTopicsRequest, DescribeClusterRequest,
    MetadataRequest, SaslAuthenticateRequest, SaslHandshakeRequest,
};
use kwire_protocol::{ErrorCode, Uuid};

use crate::conformance::checks::{self, SaslState};
use crate::conformance::deviations;
use crate::conformance::harness::{find_coordinator_request, metadata_request, Cx, Res};
use crate::conformance::SaslListener;

pub(super) async fn api_versions(cx: &Cx, v: i16) -> Res {
    let req = ApiVersionsRequest {
        client_software_name: "kwire-conformance".to_owned(),
        client_software_version: env!("CARGO_PKG_VERSION").to_owned(),
        ..Default::default()
    };
    let resp = cx.send_any(req, v).await?;
    cx.check(checks::api_versions(&resp, v))?;
    cx.check(checks::api_versions_agree(&resp, |k| {
        cx.env.conn.broker_versions(k)
    }))
}

pub(super) async fn metadata(cx: &Cx, v: i16) -> Res {
    let topic = cx.create_topic("", 3).await?;
    let resp = cx.send_any(metadata_request(Some(&[&topic.name])), v).await?;
    cx.check(checks::metadata_topic(&resp, v, &topic.name, 3))?;
    cx.check(same_brokers(cx, &resp))?;
    if v >= 10 {
        let t = resp
            .topics
            .iter()
            .find(|t| t.name.as_deref() == Some(&topic.name));
        if let Some(t) = t.filter(|t| t.topic_id != topic.id) {
            return Err(cx.fail(format!(
                "topic_id is {}, the newest Metadata version says {}",
                t.topic_id, topic.id
            )));
        }
    }
    if v >= 1 {
        // Null: every topic, ours among them.
        let resp = cx.send_any(metadata_request(None), v).await?;
        cx.check(checks::metadata_topic(&resp, v, &topic.name, 3))?;
    }
    Ok(())
}

fn same_brokers(cx: &Cx, resp: &kwire_protocol::messages::MetadataResponse) -> checks::Check {
    let got = checks::brokers(resp);
    if got == cx.env.brokers {
        Ok(())
    } else {
        Err(format!(
            "brokers are {got:?}, the newest Metadata version says {:?}",
            cx.env.brokers
        ))
    }
}

pub(super) async fn metadata_unknown_topic(cx: &Cx, v: i16) -> Res {
    let name = cx.name("-missing");
    let resp = cx.send_any(metadata_request(Some(&[&name])), v).await?;
    cx.check(checks::metadata_unknown_topic(&resp, v, &name))
}

pub(super) async fn metadata_empty_list(cx: &Cx, v: i16) -> Res {
    // A topic exists, so "every topic" and "none" differ.
    let topic = cx.create_topic("", 1).await?;
    let resp = cx.send_any(metadata_request(Some(&[])), v).await?;
    cx.check_or_deviation(
        checks::metadata_no_topics(&resp, v),
        deviations::metadata_empty_list(&resp, &topic.name),
    )
}

pub(super) async fn describe_cluster(cx: &Cx, v: i16) -> Res {
    let req = DescribeClusterRequest {
        include_cluster_authorized_operations: false,
        endpoint_type: 1,
        ..Default::default()
    };
    let resp = cx.send_any(req, v).await?;
    cx.check(checks::describe_cluster(
        &resp,
        v,
        cx.env.cluster_id.as_deref(),
        &cx.env.brokers,
    ))
}

fn create_request(name: &str, partitions: i32) -> CreateTopicsRequest {
    CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: name.to_owned(),
            num_partitions: partitions,
            replication_factor: 1,
            ..Default::default()
        }],
        timeout_ms: 10_000,
        validate_only: false,
        ..Default::default()
    }
}

pub(super) async fn create_topics(cx: &Cx, v: i16) -> Res {
    let name = cx.name("");
    cx.created(&name);
    let resp = cx.send_any(create_request(&name, 2), v).await?;
    cx.check(checks::create_topics(&resp, v, &name, 2, 1))?;
    cx.await_topic(&name, 2).await
}

pub(super) async fn create_topics_existing(cx: &Cx, v: i16) -> Res {
    let topic = cx.create_topic("", 1).await?;
    let resp = cx.send_any(create_request(&topic.name, 1), v).await?;
    cx.check(checks::create_topics_error(
        &resp,
        &topic.name,
        ErrorCode::TOPIC_ALREADY_EXISTS,
    ))
}

fn delete_request(v: i16, name: Option<&str>, id: Uuid) -> DeleteTopicsRequest {
    let mut req = DeleteTopicsRequest {
        timeout_ms: 10_000,
        ..Default::default()
    };
    if v >= 6 {
        req.topics = vec![DeleteTopicState {
            name: name.map(str::to_owned),
            topic_id: id,
            ..Default::default()
        }];
    } else {
        req.topic_names = name.map(str::to_owned).into_iter().collect();
    }
    req
}

pub(super) async fn delete_topics(cx: &Cx, v: i16, by_id: bool) -> Res {
    let topic = cx.create_topic("", 1).await?;
    let resp = if by_id {
        if topic.id == Uuid::NIL {
            return Err(cx.fail("the broker gave the topic no id to delete it by"));
        }
        let resp = cx.send_any(delete_request(v, None, topic.id), v).await?;
        cx.check(checks::delete_topics(
            &resp,
            v,
            None,
            Some(topic.id),
            ErrorCode::NONE,
        ))?;
        resp
    } else {
        let resp = cx
            .send_any(delete_request(v, Some(&topic.name), Uuid::NIL), v)
            .await?;
        cx.check(checks::delete_topics(
            &resp,
            v,
            Some(&topic.name),
            None,
            ErrorCode::NONE,
        ))?;
        resp
    };
    drop(resp);
    // Deletion may complete a moment after the answer.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (md, mv) = cx.metadata(Some(&[&topic.name])).await?;
        match checks::metadata_unknown_topic(&md, mv, &topic.name) {
            Ok(()) => return Ok(()),
            Err(why) if Instant::now() > deadline => {
                return Err(cx.fail(format!("5 s after its deletion: {why}")))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

pub(super) async fn delete_topics_unknown(cx: &Cx, v: i16) -> Res {
    let name = cx.name("-missing");
    let resp = cx.send_any(delete_request(v, Some(&name), Uuid::NIL), v).await?;
    cx.check(checks::delete_topics(
        &resp,
        v,
        Some(&name),
        None,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
    ))
}

pub(super) async fn find_coordinator(cx: &Cx, v: i16, key_type: i8) -> Res {
    let key = cx.name(if key_type == 0 { "-group" } else { "-txn" });
    // A coordinator still loading answers a retriable error: ask again for a while.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let resp = cx.send_any(find_coordinator_request(&key, key_type), v).await?;
        let code = resp
            .coordinators
            .first()
            .map_or(resp.error_code, |c| c.error_code);
        if ErrorCode(code).is_retriable() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        return cx
            .check(checks::find_coordinator(&resp, v, &key, &cx.env.brokers))
            .map(drop);
    }
}

/// A connection of the case's own, for the SASL cases (a SASL exchange changes the connection's
/// state).
async fn fresh_connection(cx: &Cx) -> Res<Connection> {
    Connection::connect(cx.env.conn.addr(), ConnectionConfig::default())
        .await
        .map_err(|e| cx.setup("connecting", e))
}

/// What the suite sends to exercise a mechanism: PLAIN with a user that does not exist, or a SCRAM
/// client-first message for one.
fn bogus_credentials(mechanism: &str) -> Bytes {
    if mechanism == "PLAIN" {
        Bytes::from_static(b"\0kwire-conformance-nobody\0not-the-password")
    } else {
        Bytes::from_static(b"n,,n=kwire-conformance-nobody,r=kwireconformancenonce")
    }
}

/// A connection of the case's own to the SASL listener (not authenticated: the case does that).
async fn sasl_connection(cx: &Cx, listener: &SaslListener) -> Res<Connection> {
    Connection::connect(&listener.bootstrap, ConnectionConfig::default())
        .await
        .map_err(|e| cx.setup("connecting to the SASL listener", e))
}

fn handshake(mechanism: &str) -> SaslHandshakeRequest {
    SaslHandshakeRequest {
        mechanism: mechanism.to_owned(),
        ..Default::default()
    }
}

/// PLAIN's message (RFC 4616): no authorization id, the user, the password.
fn plain_message(username: &str, password: &str) -> Bytes {
    Bytes::from(format!("\0{username}\0{password}"))
}

/// On a SASL listener: PLAIN, which it enables, is accepted and listed; GSSAPI, which it does not,
/// is refused as unsupported.
async fn sasl_handshake_on_listener(cx: &Cx, v: i16, listener: &SaslListener) -> Res {
    for (mechanism, enables) in [("PLAIN", true), ("GSSAPI", false)] {
        let conn = sasl_connection(cx, listener).await?;
        let resp = cx.send(&conn, handshake(mechanism), v).await?;
        let state = cx.check(checks::sasl_handshake(&resp, mechanism))?;
        cx.check(checks::sasl_listener(&state, mechanism, enables))?;
    }
    Ok(())
}

/// On a SASL listener: PLAIN with the right password authenticates (and the connection then
/// answers Metadata); with a wrong one it is SASL_AUTHENTICATION_FAILED.
async fn sasl_authenticate_on_listener(cx: &Cx, v: i16, listener: &SaslListener) -> Res {
    let conn = sasl_connection(cx, listener).await?;
    let resp = cx.send(&conn, handshake("PLAIN"), 1).await?;
    let state = cx.check(checks::sasl_handshake(&resp, "PLAIN"))?;
    cx.check(checks::sasl_listener(&state, "PLAIN", true))?;
    let right = SaslAuthenticateRequest {
        auth_bytes: plain_message(&listener.username, &listener.password),
        ..Default::default()
    };
    let resp = cx.send(&conn, right, v).await?;
    cx.check(checks::sasl_authenticated(&resp, v))?;
    let metadata_version = conn
        .version_for::<MetadataRequest>()
        .map_err(|e| cx.fail(format!("after authenticating: {e}")))?;
    let md = cx
        .send(&conn, metadata_request(Some(&[])), metadata_version)
        .await?;
    cx.check(if md.brokers.is_empty() {
        Err("an authenticated connection's Metadata lists no broker".to_owned())
    } else {
        Ok(())
    })?;

    let conn = sasl_connection(cx, listener).await?;
    let resp = cx.send(&conn, handshake("PLAIN"), 1).await?;
    let state = cx.check(checks::sasl_handshake(&resp, "PLAIN"))?;
    let wrong = SaslAuthenticateRequest {
        auth_bytes: plain_message(&listener.username, "not-the-password"),
        ..Default::default()
    };
    let resp = cx.send(&conn, wrong, v).await?;
    cx.check(checks::sasl_authenticate(&resp, &state))
}

pub(super) async fn sasl_handshake(cx: &Cx, v: i16) -> Res {
    if let Some(listener) = &cx.env.sasl {
        return sasl_handshake_on_listener(cx, v, listener).await;
    }
    let conn = fresh_connection(cx).await?;
    let req = SaslHandshakeRequest {
        mechanism: "PLAIN".to_owned(),
        ..Default::default()
    };
    let resp = cx.send(&conn, req, v).await?;
    cx.check_or_deviation(
        checks::sasl_handshake(&resp, "PLAIN").map(drop),
        deviations::sasl_handshake_echo(&resp, "PLAIN"),
    )
}

pub(super) async fn sasl_authenticate(cx: &Cx, v: i16) -> Res {
    // SaslAuthenticate follows a v1 handshake.
    if !cx.env.offered(ApiKey::SaslHandshake, 1) {
        return Err(
            cx.not_offered("SaslAuthenticate follows SaslHandshake v1, which the broker does not offer")
        );
    }
    if let Some(listener) = &cx.env.sasl {
        return sasl_authenticate_on_listener(cx, v, listener).await;
    }
    let mut mechanism = "PLAIN";
    let mut conn = fresh_connection(cx).await?;
    let resp = cx.send(&conn, handshake(mechanism), 1).await?;
    let mut state = match checks::sasl_handshake(&resp, mechanism) {
        Ok(state) => state,
        Err(why) => match deviations::sasl_handshake_echo(&resp, mechanism) {
            // The documented answer of a broker without SASL: go on as on a plaintext listener.
            Some(d) => {
                cx.tolerate(Err(why), Some(d))?;
                SaslState::NoSasl
            }
            None => return Err(cx.fail(why)),
        },
    };
    if let SaslState::Unsupported(offered) = &state {
        let Some(scram) = offered
            .iter()
            .find(|m| *m == "SCRAM-SHA-256" || *m == "SCRAM-SHA-512")
        else {
            return Err(cx.not_offered(format!(
                "the broker's SASL mechanisms {offered:?} include none this suite exercises (PLAIN, SCRAM)"
            )));
        };
        mechanism = if scram == "SCRAM-SHA-256" {
            "SCRAM-SHA-256"
        } else {
            "SCRAM-SHA-512"
        };
        conn = fresh_connection(cx).await?;
        let resp = cx.send(&conn, handshake(mechanism), 1).await?;
        state = cx.check(checks::sasl_handshake(&resp, mechanism))?;
    }
    let req = SaslAuthenticateRequest {
        auth_bytes: bogus_credentials(mechanism),
        ..Default::default()
    };
    let resp = cx.send(&conn, req, v).await?;
    cx.check(checks::sasl_authenticate(&resp, &state))
}
