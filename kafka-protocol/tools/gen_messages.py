#!/usr/bin/env python3
"""Writes kafka-protocol/src/messages/*.rs: our field declarations for each message.

Reads the Kafka protocol's message specs (the JSON files under clients/src/main/resources/common/message/
of an Apache Kafka checkout, given as the first argument) and writes one `kafka_struct!` declaration per
struct, with each field's versions, nullable versions and tag, clipped to the version ranges in APIS below.
Run it from the repository root:

    python3 kafka-protocol/tools/gen_messages.py /path/to/kafka/clients/src/main/resources/common/message

then `cargo fmt`. The output is plain declarations; the codec itself is in src/macros.rs.
"""
import json, os, re, sys

# name, api key, oldest and newest version we speak (None: all the spec has)
APIS = [
    ("Produce", 0, 3, 13), ("Fetch", 1, 4, 18), ("ListOffsets", 2, 1, 11), ("Metadata", 3, 0, 13),
    ("OffsetCommit", 8, 2, 10), ("OffsetFetch", 9, 1, 10), ("FindCoordinator", 10, 0, 6),
    ("SaslHandshake", 17, 0, 1), ("ApiVersions", 18, 0, 5), ("CreateTopics", 19, 2, 7),
    ("DeleteTopics", 20, 1, 6), ("InitProducerId", 22, 0, 6), ("AddPartitionsToTxn", 24, 0, 5),
    ("AddOffsetsToTxn", 25, 0, 4), ("EndTxn", 26, 0, 5), ("TxnOffsetCommit", 28, 0, 6),
    ("DescribeConfigs", 32, 1, 4), ("SaslAuthenticate", 36, 0, 2), ("CreatePartitions", 37, 0, 3),
    ("DescribeCluster", 60, 0, 2), ("DescribeProducers", 61, 0, 0), ("DescribeTransactions", 65, 0, 0),
    ("ListTransactions", 66, 0, 2),
    # Consumer groups: the classic protocol (JoinGroup .. ListGroups, DescribeGroups), KIP-848's
    # (ConsumerGroupHeartbeat, ConsumerGroupDescribe), and DeleteGroups for the offset checker.
    ("JoinGroup", 11, 0, 9), ("Heartbeat", 12, 0, 4), ("LeaveGroup", 13, 0, 5), ("SyncGroup", 14, 0, 5),
    ("DescribeGroups", 15, 0, 6), ("ListGroups", 16, 0, 5), ("DeleteGroups", 42, 0, 3),
    ("ConsumerGroupHeartbeat", 68, 0, 1), ("ConsumerGroupDescribe", 69, 0, 1),
]
MAXV = 32767
KEYWORDS = {"type", "match", "ref", "move", "self", "struct", "mod", "fn", "loop", "where", "use"}


def load(path):
    out, in_str, esc = [], False, False
    text = open(path).read()
    i = 0
    while i < len(text):
        c = text[i]
        if in_str:
            out.append(c)
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return json.loads("".join(out))


def parse_range(s):
    if s is None or s == "none":
        return None
    if s.endswith("+"):
        return int(s[:-1]), MAXV
    if "-" in s:
        a, b = s.split("-")
        return int(a), int(b)
    return int(s), int(s)


def clip(r, lo, hi):
    if r is None:
        return None
    a, b = max(r[0], lo), min(r[1], hi)
    return (a, b) if a <= b else None


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()
    return s + "_" if s in KEYWORDS else s


PRIM = {"int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64", "uint16": "u16",
        "uint32": "u32", "float64": "f64", "bool": "bool", "string": "String", "bytes": "Bytes",
        "uuid": "Uuid", "records": "Bytes"}


def rust_type(f, nullable):
    t = f["type"]
    if t.startswith("[]"):
        inner = t[2:]
        inner = PRIM.get(inner, inner)
        ty = f"Vec<{inner}>"
    elif t in PRIM:
        ty = PRIM[t]
    else:
        ty = t
    return f"Option<{ty}>" if nullable else ty


def default_expr(f, nullable):
    t, d = f["type"], f.get("default")
    if nullable and (d == "null" or t == "records"):
        return "None"
    if t.startswith("[]"):
        base = "Vec::new()"
    elif t in ("int8", "int16", "int32", "int64", "uint16", "uint32"):
        if d is None or d == "":
            base = "0"
        else:
            d = str(d)
            base = str(int(d, 16)) if d.lower().startswith(("0x", "-0x")) else str(int(d))
    elif t == "float64":
        base = f"{float(d) if d else 0.0!r}"
    elif t == "bool":
        base = "true" if str(d).lower() == "true" else "false"
    elif t == "string":
        base = f"String::from({json.dumps(d)})" if d else "String::new()"
    elif t in ("bytes", "records"):
        base = "Bytes::new()"
    elif t == "uuid":
        base = "Uuid::NIL"
    else:
        base = "Default::default()"
    return f"Some({base})" if nullable else base


def fmt_range(r):
    return f"[{r[0]}, {r[1]}]"


def vers_text(r):
    return f"{r[0]}+" if r[1] == HI else (f"{r[0]}" if r[0] == r[1] else f"{r[0]}-{r[1]}")


def emit_struct(name, fields, lo, hi, out, seen, commons, top_doc=None):
    if name in seen:
        return
    seen.add(name)
    lines, nested = [], []
    for f in fields:
        vr = clip(parse_range(f.get("versions")), lo, hi)
        if vr is None:
            continue
        nr = clip(parse_range(f.get("nullableVersions")), vr[0], vr[1])
        tr = clip(parse_range(f.get("taggedVersions")), vr[0], vr[1])
        tag = f.get("tag")
        ty = rust_type(f, nr is not None)
        fname = snake(f["name"])
        doc = f"Versions {vers_text(vr)}"
        if nr:
            doc += f"; nullable in {vers_text(nr)}"
        if tr is not None and tag is not None:
            doc += f"; tagged field {tag} in {vers_text(tr)}"
        line = f"    /// {f['name']}: {doc}.\n    {fname}: {ty} = {default_expr(f, nr is not None)} => {fmt_range(vr)}"
        if nr:
            line += f" null {fmt_range(nr)}"
        if tr is not None and tag is not None:
            line += f" tag {tag} {fmt_range(tr)}"
        if f.get("ignorable"):
            line += " ignorable: true"
        lines.append(line + ";")
        inner = f["type"][2:] if f["type"].startswith("[]") else f["type"]
        if inner not in PRIM:
            if "fields" in f:
                nested.append((inner, f["fields"]))
            elif inner in commons:
                nested.append((inner, commons[inner]))
            else:
                raise SystemExit(f"unknown type {inner}")
    doc = top_doc or f"The `{name}` struct of this message."
    out.append(f"kafka_struct! {{\n    /// {doc}\n    pub struct {name} {{\n" + "\n".join(lines) + "\n    }\n}\n")
    for n, fs in nested:
        emit_struct(n, fs, lo, hi, out, seen, commons)


def main():
    global HI
    src = sys.argv[1]
    dst = os.path.join(os.path.dirname(__file__), "..", "src", "messages")
    mods, table = [], []
    for api, key, lo, hi in APIS:
        HI = hi
        for kind in ("Request", "Response"):
            spec = load(os.path.join(src, f"{api}{kind}.json"))
            assert spec["apiKey"] == key, api
            vr = parse_range(spec["validVersions"])
            assert vr[0] <= lo and hi <= vr[1], (api, vr)
            fr = parse_range(spec.get("flexibleVersions"))
            flex = max(fr[0], lo) if fr else MAXV
            name = f"{api}{kind}"
            commons = {c["name"]: c["fields"] for c in spec.get("commonStructs", [])}
            out = []
            what = "request" if kind == "Request" else "response"
            emit_struct(name, spec["fields"], lo, hi, out, set(), commons,
                        top_doc=f"The {api} {what} (API key {key}), versions {lo}-{hi}.")
            mod = snake(name)
            header = (f"//! {api} {what} (API key {key}): versions {lo}-{hi}"
                      + (f", flexible from {flex}" if flex != MAXV else ", none flexible")
                      + ".\n//!\n//! Declared from the field list of `" + name + ".json` in the Kafka protocol's message specs.\n\n"
                      "#![allow(missing_docs)]\n\n"
                      "#[allow(unused_imports)]\nuse bytes::Bytes;\n\n#[allow(unused_imports)]\nuse crate::primitives::Uuid;\n"
                      "use crate::{kafka_message, kafka_struct};\n\n")
            if kind == "Request":
                tail = (f"kafka_message!(request {name}, key {key}, versions [{lo}, {hi}], flexible {flex}, "
                        f"response {api}Response);\n")
                tail = tail.replace(f"response {api}Response", f"response super::{snake(api + 'Response')}::{api}Response")
            else:
                # A response with a top-level ThrottleTimeMs reports it through Message::throttle_time_ms.
                throttle = ", throttle" if any(f["name"] == "ThrottleTimeMs" for f in spec["fields"]) else ""
                tail = f"kafka_message!({name}, key {key}, versions [{lo}, {hi}], flexible {flex}{throttle});\n"
            with open(os.path.join(dst, f"{mod}.rs"), "w") as fh:
                fh.write(header + "\n".join(out) + "\n" + tail)
            mods.append(mod)
        table.append((api, key, lo, hi))
    with open(os.path.join(dst, "generated_list.rs"), "w") as fh:
        fh.write("// The list of APIs this codec speaks, written by tools/gen_messages.py.\n\n")
        fh.write("/// Calls `$m!` with one `(Name, key, request module, Request, response module, Response)` entry\n")
        fh.write("/// per API this codec speaks.\n")
        fh.write("#[macro_export]\n#[doc(hidden)]\nmacro_rules! for_each_api {\n    ($m:ident) => {\n        $m! {\n")
        for api, key, lo, hi in table:
            fh.write(f"            ({api}, {key}, {snake(api)}_request, {api}Request, {snake(api)}_response, {api}Response),\n")
        fh.write("        }\n    };\n}\n")
    print("\n".join(mods))


main()
