#!/usr/bin/env bash
# The connector's source against the client's raw fetch and kafka-python, on ONE broker, in one
# run; then the source's peak memory with a 1 GB backlog.
#
#   bash peer-bench/source.sh          (from the repository root, after `bash peer-bench/run.sh`
#                                       built the release binaries, or with KWIRE pointing at one)
#
# Throughput: a 1-partition topic of N x S B read by `kwire bench consume` (raw fetch loop), by
# the source with parallelism 1, and by kafka-python; a 2-partition topic read raw and by the
# source with parallelism 2. Every reader uses a 10 ms fetch max wait (tansu holds a fetch for
# about half of it even when data is ready).
#
# Memory: a separate broker process holds 1,000,000 x 1,000 B (1 GB); `kwire bench consume
# --parallelism 1` reads it all under /usr/bin/time -v, whose "Maximum resident set size" is the
# reader's peak (the broker's memory is in its own process).
#
# Environment: KWIRE [/tmp/peer-target/release/kwire], PORT [19192], SMALL [2000000x100],
# BIG [1000000x1000], REPEATS [3], OUT [/tmp/source-bench-results.txt].
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
KWIRE=${KWIRE:-/tmp/peer-target/release/kwire}
PORT=${PORT:-19192}
SMALL=${SMALL:-2000000x100}
BIG=${BIG:-1000000x1000}
REPEATS=${REPEATS:-3}
OUT=${OUT:-/tmp/source-bench-results.txt}
b=127.0.0.1:$PORT
say() { echo "source.sh: $*" >&2; }

"$KWIRE" broker --port "$PORT" >/dev/null 2>&1 &
broker=$!
trap 'kill "$broker" 2>/dev/null; wait "$broker" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    sleep 0.1
done

n=${SMALL%x*} s=${SMALL#*x}
: >"$OUT"
"$KWIRE" bench produce --bootstrap "$b" --topic one --partitions 1 --records "$n" --size "$s" | tee -a "$OUT"
"$KWIRE" bench produce --bootstrap "$b" --topic two --partitions 2 --records "$n" --size "$s" | tee -a "$OUT"
for rep in $(seq "$REPEATS"); do
    say "repetition $rep/$REPEATS (load $(cut -d' ' -f1 /proc/loadavg))"
    "$KWIRE" bench consume --bootstrap "$b" --topic one --records "$n" --size "$s" | sed "s/^/rep=$rep /" | tee -a "$OUT"
    "$KWIRE" bench consume --bootstrap "$b" --topic one --records "$n" --size "$s" --parallelism 1 | sed "s/^/rep=$rep /" | tee -a "$OUT"
    "$KWIRE" bench consume --bootstrap "$b" --topic two --records "$n" --size "$s" | sed "s/^/rep=$rep /" | tee -a "$OUT"
    "$KWIRE" bench consume --bootstrap "$b" --topic two --records "$n" --size "$s" --parallelism 2 | sed "s/^/rep=$rep /" | tee -a "$OUT"
    /usr/bin/python3 "$here/kafka_python_bench.py" --bootstrap "$b" --topic one --records "$n" --size "$s" --phase consume |
        grep '^RESULT' | sed "s/^/rep=$rep /" | tee -a "$OUT"
done

n=${BIG%x*} s=${BIG#*x}
say "memory: $n x $s B backlog"
"$KWIRE" bench produce --bootstrap "$b" --topic big --partitions 1 --records "$n" --size "$s" | tee -a "$OUT"
for how in "--parallelism 1" ""; do
    # shellcheck disable=SC2086
    /usr/bin/time -v "$KWIRE" bench consume --bootstrap "$b" --topic big --records "$n" --size "$s" $how \
        2>"$OUT.time" | tee -a "$OUT"
    grep -E 'Maximum resident set size' "$OUT.time" | sed "s/^\s*/memory (${how:-raw fetch}): /" | tee -a "$OUT"
done
