//! The local broker starts, answers a Kafka request, and stops on drop.

use std::io::{Read, Write};
use std::net::TcpStream;

use bytes::Bytes;
use kwire_protocol::frame::{decode_response, encode_request};
use kwire_protocol::messages::{ApiKey, ApiVersionsRequest, ResponseBody};
use kwire_testkit::broker::BrokerKind;
use kwire_testkit::LocalBroker;

fn api_versions(bootstrap: &str) -> std::io::Result<ResponseBody> {
    let mut sock = TcpStream::connect(bootstrap)?;
    // Kafka refuses (INVALID_REQUEST) a v3+ request whose software name or version is empty.
    let req = ApiVersionsRequest {
        client_software_name: "kwire-test".into(),
        client_software_version: "0.1.0".into(),
        ..Default::default()
    };
    let frame = encode_request(1, Some("kwire-test"), 3, &req).unwrap();
    sock.write_all(&frame)?;
    let mut len = [0u8; 4];
    sock.read_exact(&mut len)?;
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    sock.read_exact(&mut body)?;
    let (header, body) = decode_response(Bytes::from(body), ApiKey::ApiVersions, 3).unwrap();
    assert_eq!(header.correlation_id, 1);
    Ok(body)
}

#[test]
fn local_broker_answers_api_versions_and_stops_on_drop() {
    let broker = LocalBroker::start_or_fail();
    let ResponseBody::ApiVersions(resp) = api_versions(broker.bootstrap()).unwrap() else {
        panic!("not an ApiVersions response");
    };
    assert_eq!(resp.error_code, 0);
    let fetch = resp
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::Fetch.0)
        .expect("Fetch offered");
    assert!(fetch.max_version >= 4, "{fetch:?}");
    if broker.is_embedded() || broker.kind() == BrokerKind::Apache {
        let addr = broker.bootstrap().to_owned();
        drop(broker);
        assert!(
            TcpStream::connect(addr).is_err(),
            "the broker still listens after drop"
        );
    }
}
