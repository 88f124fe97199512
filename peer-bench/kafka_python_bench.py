#!/usr/bin/python3
"""kafka-python: KafkaProducer.send per record, then a KafkaConsumer assigned partition 0 from the
beginning, iterated per record. Same flags and RESULT line as the Rust binaries (src/lib.rs).

--settings defaults: only the bootstrap servers (and auto commit off). kafka-python 3.0's
defaults: acks=all, idempotence on, linger 0 ms, batch 16,384 B, no compression; fetch max wait
500 ms, 52,428,800 B per response, 1 MiB per partition (2.0.x: acks=1, no idempotence)."""

import argparse
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def payload(size):
    """The same bytes as peer_bench::payload (xorshift64 noise over a-z)."""
    x = 0x9E3779B97F4A7C15
    mask = (1 << 64) - 1
    out = bytearray(size)
    for i in range(size):
        x ^= (x << 13) & mask
        x ^= x >> 7
        x ^= (x << 17) & mask
        out[i] = ord("a") + x % 26
    return bytes(out)


def report(phase, args, records, nbytes, secs):
    expected = args.records * args.size
    if records != args.records or nbytes != expected:
        sys.exit(f"error: kafka-python {phase}: got {records} records / {nbytes} bytes, "
                 f"expected {args.records} / {expected}")
    print(f"RESULT client=kafka-python phase={phase} size={args.size} records={records} "
          f"secs={secs:.3f} rec_s={records / secs:.0f} mb_s={nbytes / secs / 1e6:.1f}", flush=True)


def produce(args):
    settings = {}
    if args.settings == "equal":
        settings = dict(acks="all", linger_ms=args.linger_ms, batch_size=args.batch_bytes,
                        compression_type=None)
        if "enable_idempotence" in KafkaProducer.DEFAULT_CONFIG:  # 2.1+, on by default in 3.0
            settings["enable_idempotence"] = False
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, **settings)
    producer.partitions_for(args.topic)  # metadata before the clock starts, as for the others
    value = payload(args.size)
    started = time.perf_counter()
    futures = []
    for _ in range(args.records):
        futures.append(producer.send(args.topic, value=value))
    producer.flush()
    secs = time.perf_counter() - started
    failed = sum(1 for f in futures if not f.succeeded())
    if failed:
        sys.exit(f"error: kafka-python produce: {failed} records failed")
    producer.close()
    report("produce", args, args.records, args.records * args.size, secs)


def consume(args):
    settings = {}
    if args.settings == "equal":
        settings = dict(fetch_max_wait_ms=args.max_wait_ms,
                        max_partition_fetch_bytes=args.partition_fetch_bytes,
                        fetch_max_bytes=args.fetch_max_bytes)
    consumer = KafkaConsumer(bootstrap_servers=args.bootstrap, enable_auto_commit=False, **settings)
    tp = TopicPartition(args.topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    records = nbytes = 0
    started = None
    for message in consumer:
        if started is None:
            started = time.perf_counter()
        nbytes += len(message.value)
        records += 1
        if records >= args.records:
            break
    secs = time.perf_counter() - started
    consumer.close()
    report("consume", args, records, nbytes, secs)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", default="127.0.0.1:19092")
    p.add_argument("--topic", default="peer-bench")
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--linger-ms", type=int, default=5)
    p.add_argument("--batch-bytes", type=int, default=1_000_000)
    p.add_argument("--max-wait-ms", type=int, default=10)
    p.add_argument("--partition-fetch-bytes", type=int, default=1_048_576)
    p.add_argument("--fetch-max-bytes", type=int, default=52_428_800)
    p.add_argument("--phase", default="both", choices=["produce", "consume", "both"])
    p.add_argument("--opt", action="append", default=[])
    p.add_argument("--settings", default="equal", choices=["equal", "defaults"])
    args = p.parse_args()
    if args.phase in ("produce", "both"):
        produce(args)
    if args.phase in ("consume", "both"):
        consume(args)


if __name__ == "__main__":
    main()
