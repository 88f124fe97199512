//! Golden frames captured from real clients (kafka-python 2.0.2 and 3.0.12) talking to a real
//! broker (tansu 0.6.0); see tests/golden/README.md. Each frame decodes, means what the capture
//! did, and re-encodes to the same bytes.

use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use kwire_protocol::frame::{
    decode_request, decode_response, request_header_version, response_header_version,
};
use kwire_protocol::messages::{ApiKey, RequestBody, ResponseBody};
use kwire_protocol::records::{Batch, Compression, RecordBatches};
use kwire_protocol::{DecodeErrorKind, Encoder};

struct Golden {
    name: String,
    kind: String,
    api: String,
    version: i16,
    bytes: Bytes,
}

fn goldens() -> Vec<Golden> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/golden exists") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".bin") else {
            continue;
        };
        // NNNNN-kind-api-vV
        let parts: Vec<&str> = stem.splitn(3, '-').collect();
        let (api, version) = parts[2].rsplit_once("-v").unwrap();
        out.push(Golden {
            name: name.clone(),
            kind: parts[1].to_owned(),
            api: api.to_owned(),
            version: version.parse().unwrap(),
            bytes: Bytes::from(std::fs::read(&path).unwrap()),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(out.len() >= 50, "golden frames missing: {}", out.len());
    out
}

fn api_key(name: &str) -> Option<ApiKey> {
    let camel: String = name
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    ApiKey::SUPPORTED
        .iter()
        .find(|(_, n, _)| *n == camel)
        .map(|(k, _, _)| *k)
}

/// Responses in which the broker wrote a tagged field at its default value (legal, and dropped by
/// an encoder that leaves defaults out): CreateTopics v7's topic_config_error_code = 0, and
/// ApiVersions v4's four feature fields (empty arrays, epoch -1, false).
const DEFAULT_TAGGED_FIELDS: &[&str] = &[
    "10001-response-api_versions-v4.bin",
    "10009-response-create_topics-v7.bin",
];

#[test]
fn every_golden_frame_decodes_and_reencodes_to_the_same_bytes() {
    let mut checked = 0;
    for g in goldens() {
        let Some(key) = api_key(&g.api) else {
            // Not an API this codec speaks: a typed error, not a panic.
            if g.kind == "request" {
                let err = decode_request(g.bytes.clone()).unwrap_err();
                assert!(
                    matches!(err.kind(), DecodeErrorKind::UnknownApiKey(_)),
                    "{}: {err}",
                    g.name
                );
            }
            continue;
        };
        let mut e = Encoder::new();
        if g.kind == "request" {
            let (header, body) =
                decode_request(g.bytes.clone()).unwrap_or_else(|err| panic!("{}: {err}", g.name));
            assert_eq!(
                (header.api_key, header.api_version),
                (key.0, g.version),
                "{}",
                g.name
            );
            header
                .encode(&mut e, request_header_version(key, g.version))
                .unwrap();
            e.raw(&body.encode(g.version).unwrap());
        } else {
            let (header, body) = decode_response(g.bytes.clone(), key, g.version)
                .unwrap_or_else(|err| panic!("{}: {err}", g.name));
            header
                .encode(&mut e, response_header_version(key, g.version))
                .unwrap();
            let again = body.encode(g.version).unwrap();
            e.raw(&again);
            let back = ResponseBody::decode(key, g.version, again).unwrap();
            assert_eq!(back, body, "{}: re-encoded response decodes differently", g.name);
        }
        let reencoded: BytesMut = e.into_inner();
        if DEFAULT_TAGGED_FIELDS.contains(&g.name.as_str()) {
            assert!(reencoded.len() < g.bytes.len(), "{}", g.name);
        } else {
            assert_eq!(&reencoded[..], &g.bytes[..], "{}: re-encoding differs", g.name);
        }
        checked += 1;
    }
    assert!(checked >= 55, "only {checked} frames checked");
}

fn expected_value(j: usize, codec: &str) -> String {
    format!("value {j} compressed with {codec}; ").repeat(4)
}

fn codec_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "none",
        Compression::Gzip => "gzip",
        Compression::Snappy => "snappy",
        Compression::Lz4 => "lz4",
        Compression::Zstd => "zstd",
        _ => "other",
    }
}

/// Checks one batch of the capture's producers: 3 records, keys `k-<codec>-<j>`, the values and
/// headers the driver wrote. Returns the batch's codec.
fn check_batch(batch: Batch, name: &str) -> Compression {
    let Batch::V2(b) = batch else {
        panic!("{name}: not a v2 batch")
    };
    let codec = b.attributes.compression;
    let c = codec_name(codec);
    let records: Vec<_> = Batch::V2(b).into_records().collect();
    assert_eq!(records.len(), 3, "{name} {c}");
    for (j, r) in records.iter().enumerate() {
        assert_eq!(r.key.as_deref(), Some(format!("k-{c}-{j}").as_bytes()), "{name}");
        assert_eq!(
            r.value.as_deref(),
            Some(expected_value(j, c).as_bytes()),
            "{name}"
        );
        assert_eq!(r.headers.len(), 2, "{name}");
        assert_eq!(r.headers[0].key, "hdr-a");
        assert_eq!(r.headers[0].value.as_deref(), Some(&b"alpha"[..]));
        assert_eq!(r.headers[1].value.as_deref(), Some(j.to_string().as_bytes()));
    }
    codec
}

#[test]
fn produce_requests_carry_each_codec_from_a_real_client() {
    let mut codecs = Vec::new();
    for g in goldens()
        .into_iter()
        .filter(|g| g.kind == "request" && g.api == "produce" && g.version == 7)
    {
        let (_, RequestBody::Produce(req)) = decode_request(g.bytes.clone()).unwrap() else {
            panic!()
        };
        let records = req.topic_data[0].partition_data[0].records.clone().unwrap();
        for batch in RecordBatches::new(records) {
            codecs.push(check_batch(batch.unwrap(), &g.name));
        }
    }
    codecs.sort_by_key(|c| c.id());
    assert_eq!(codecs, Compression::ALL.to_vec());
}

#[test]
fn fetch_responses_hold_every_codec_and_the_offsets_the_broker_gave() {
    for (name, version) in [
        ("00077-response-fetch-v4.bin", 4),
        ("10082-response-fetch-v12.bin", 12),
    ] {
        let g = goldens().into_iter().find(|g| g.name == name).unwrap();
        let (_, ResponseBody::Fetch(resp)) = decode_response(g.bytes, ApiKey::Fetch, version).unwrap() else {
            panic!()
        };
        let mut codecs = Vec::new();
        for p in &resp.responses[0].partitions {
            let mut next = 0;
            for batch in RecordBatches::new(p.records.clone().unwrap()) {
                let batch = batch.unwrap();
                assert_eq!(
                    batch.base_offset(),
                    next,
                    "{name} partition {}",
                    p.partition_index
                );
                next = batch.next_offset();
                codecs.push(check_batch(batch, name));
            }
            assert_eq!(next, p.high_watermark, "{name} partition {}", p.partition_index);
        }
        codecs.sort_by_key(|c| c.id());
        assert_eq!(codecs, Compression::ALL.to_vec(), "{name}");
    }
}
