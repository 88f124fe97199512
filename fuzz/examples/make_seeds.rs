//! Writes the seed corpora of the fuzz targets into `corpus/<target>/` from the codec's test
//! fixtures: the golden frames captured from kafka-python talking to a broker
//! (`kafka-protocol/tests/golden`) and the record batches kafka-python wrote
//! (`kafka-protocol/tests/fixtures/records`).
//!
//! ```sh
//! cd fuzz && cargo run --example make_seeds
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use bytes::{BufMut, Bytes, BytesMut};
use kwire_fuzz::{api_prefix, wrap_v2};
use kwire_protocol::frame::{request_header_version, response_header_version, RequestHeader, ResponseHeader};
use kwire_protocol::messages::ApiKey;
use kwire_protocol::records::{Compression, ControlRecord, Header, RecordBatch, RecordBatchBuilder};
use kwire_protocol::Decoder;

/// A record batch's header: offset, length, leader epoch, magic, CRC, then 49 bytes of fields.
const V2_HEADER: usize = 61;

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = dir.join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
}

/// `api_versions` -> ApiVersions, as the golden files spell the API.
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

fn golden(root: &Path, out: &Path) {
    let mut files: Vec<PathBuf> = fs::read_dir(root.join("tests/golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    files.sort();
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        // NNNNN-kind-api-vV
        let mut parts = name.splitn(3, '-');
        let (_, kind, rest) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let (api, version) = rest.rsplit_once("-v").unwrap();
        let version: i16 = version.parse().unwrap();
        let Some(key) = api_key(api) else { continue };
        let Some(prefix) = api_prefix(key, version) else {
            continue;
        };
        let frame = Bytes::from(fs::read(&path).unwrap());
        let mut d = Decoder::new(frame.clone());
        let (target, header_choice) = if kind == "request" {
            let hv = request_header_version(key, version);
            RequestHeader::decode(&mut d, hv).unwrap();
            ("request", hv as u8)
        } else {
            let hv = response_header_version(key, version);
            ResponseHeader::decode(&mut d, hv).unwrap();
            ("response", 3 + hv as u8)
        };
        let body = &frame[d.offset()..];
        write(out, target, &name, &[&prefix[..], body].concat());
        // The header and a few bytes after it.
        let head = &frame[..frame.len().min(d.offset() + 8)];
        write(out, "header", &name, &[&[header_choice][..], head].concat());
        if kind == "request" {
            let mut framed = BytesMut::new();
            framed.put_i32(frame.len() as i32);
            framed.put_slice(&frame);
            write(out, "frame", &name, &framed);
        }
    }
}

/// The entries of a `records` byte string, each offset + size + message.
fn entries(records: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = records;
    while rest.len() >= 12 {
        let size = i32::from_be_bytes(rest[8..12].try_into().unwrap()) as usize;
        let (entry, tail) = rest.split_at(12 + size);
        out.push(entry);
        rest = tail;
    }
    out
}

fn records(root: &Path, out: &Path) {
    let dir = root.join("tests/fixtures/records");
    let read = |name: &str| fs::read(dir.join(format!("{name}.bin"))).unwrap();
    for c in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let v2 = read(&format!("v2_{c}"));
        write(out, "record_batch", &format!("v2_{c}"), &v2);
        write(out, "records", &format!("v2_{c}"), &v2);
        let codec = Compression::ALL.iter().find(|x| x.name() == c).unwrap();
        write(
            out,
            "codec",
            &format!("kafka_python_{c}"),
            &[&[codec.id(), 5][..], &v2[V2_HEADER..]].concat(),
        );
    }
    // Every codec as this crate writes it (raw snappy, the LZ4 frame Kafka reads), from the
    // uncompressed fixture's records.
    let plain = read("v2_none");
    for codec in Compression::ALL {
        let mut packed = BytesMut::new();
        codec.compress(&plain[V2_HEADER..], &mut packed).unwrap();
        write(
            out,
            "codec",
            &format!("kwire_{}", codec.name()),
            &[&[codec.id(), 5][..], &packed].concat(),
        );
        let batch = wrap_v2(codec, 5, &packed);
        write(out, "record_batch", &format!("kwire_{}", codec.name()), &batch);
    }
    // A transactional control batch and a batch of headers.
    let marker = RecordBatch::control_batch(
        4242,
        7,
        1_700_000_000_000,
        &ControlRecord::Commit { coordinator_epoch: 3 },
    );
    write(out, "record_batch", "control_commit", &marker.to_bytes().unwrap());
    let mut builder = RecordBatchBuilder::new(Compression::None).with_producer(4242, 7, 100);
    let headers = [
        Header::new("h", &b"v"[..]),
        Header {
            key: "null".into(),
            value: None,
        },
    ];
    builder
        .append(1_700_000_000_000, Some(b"k"), None, &headers)
        .unwrap();
    builder.append(1_700_000_000_001, None, Some(b"v"), &[]).unwrap();
    let with_headers = builder.finish().unwrap();
    write(out, "record_batch", "headers", &with_headers);

    let mut mixed = Vec::new();
    for name in [
        "v0_none",
        "v0_gzip",
        "v0_snappy",
        "v1_none",
        "v1_gzip",
        "v1_snappy",
        "v1_lz4",
    ] {
        let set = read(name);
        write(out, "records", name, &set);
        for (i, entry) in entries(&set).into_iter().enumerate().take(2) {
            write(out, "legacy", &format!("{name}_{i}"), entry);
        }
        mixed.extend_from_slice(&set);
    }
    // Every format back to back, the last batch cut short as a broker may cut it.
    mixed.extend_from_slice(&marker.to_bytes().unwrap());
    mixed.extend_from_slice(&with_headers[..with_headers.len() - 5]);
    write(out, "records", "mixed_partial", &mixed);
}

fn main() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = fuzz.join("../kafka-protocol");
    let out = fuzz.join("corpus");
    golden(&root, &out);
    records(&root, &out);
}
