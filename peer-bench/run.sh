#!/usr/bin/env bash
# Client throughput: kwire against rskafka, rdkafka and kafka-python, on ONE broker, in one run.
#
#   bash peer-bench/run.sh            (from the repository root)
#
# Starts one embedded broker (`kwire broker`, tansu in memory) on 127.0.0.1:$PORT, then for each
# record size and each client, one client at a time: creates a fresh one-partition topic,
# produces N records of S bytes, reads them back from offset 0, deletes the topic. Prints a table
# (medians over $REPEATS runs) and keeps the raw RESULT lines in $OUT.
#
# Every client gets the same settings: acks=all, idempotence off, no compression, linger 5 ms,
# batch 1,000,000 bytes (librdkafka's default); fetch max wait 10 ms (tansu holds a Fetch for
# about half of max_wait even when data is ready), 50 MiB per fetch response and 1 MiB per
# partition (the Java defaults; tansu 0.6 sizes its answer by the 50 MiB only, and rskafka, which
# takes one limit for both, is given 50 MiB). See docs/benchmarks.md, "Client throughput".
#
# Environment (defaults in brackets):
#   BROKER        kwire | tansu | auto [auto]: `kwire broker` (the embedded tansu), or the tansu
#                 binary at $TANSU (the same tansu, 0.6.0); auto: kwire if the CLI builds, else tansu
#   TANSU         [/tmp/tansu-bin/bin/tansu]
#   PORT          [19092]
#   CLIENTS       [kwire rskafka rdkafka kafka-python]; rdkafka is dropped if it does not build
#   SMALL         records x bytes [1000000x100]
#   LARGE         records x bytes [200000x1024]
#   REPEATS       [5]
#   OUT           raw results [/tmp/peer-bench-results.txt]
#   CARGO_TARGET_DIR [/tmp/peer-target], CARGO_BUILD_JOBS [1]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/peer-target}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
BROKER=${BROKER:-auto}
TANSU=${TANSU:-/tmp/tansu-bin/bin/tansu}
PORT=${PORT:-19092}
CLIENTS=${CLIENTS:-kwire rskafka rdkafka kafka-python}
SMALL=${SMALL:-1000000x100}
LARGE=${LARGE:-200000x1024}
REPEATS=${REPEATS:-5}
OUT=${OUT:-/tmp/peer-bench-results.txt}
bin=$CARGO_TARGET_DIR/release
bootstrap=127.0.0.1:$PORT

say() { echo "run.sh: $*" >&2; }

say "building the benchmark binaries (release, $CARGO_BUILD_JOBS job(s))"
if [[ " $CLIENTS " == *" rdkafka "* ]] &&
    ! cargo build --release --quiet --manifest-path "$here/Cargo.toml" --features rdkafka; then
    say "rdkafka (bundled librdkafka: needs cmake, a C compiler, libcurl headers) did not build: skipped"
    CLIENTS=${CLIENTS//rdkafka/}
fi
if [[ " $CLIENTS " != *" rdkafka "* ]]; then
    cargo build --release --quiet --manifest-path "$here/Cargo.toml"
fi

if [[ $BROKER == auto || $BROKER == kwire ]]; then
    say "building the kwire CLI (release)"
    if cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p kwire-testkit --bin kwire; then
        BROKER=kwire
    elif [[ $BROKER == auto && -x $TANSU ]]; then
        say "the kwire CLI did not build: using $TANSU"
        BROKER=tansu
    else
        say "the kwire CLI did not build"; exit 1
    fi
fi
case $BROKER in
kwire) broker_cmd=("$bin/kwire" broker --port "$PORT") ;;
tansu)
    broker_cmd=("$TANSU" broker --listener-url "tcp://$bootstrap" --advertised-listener-url "tcp://$bootstrap"
        --storage-engine memory://tansu/)
    ;;
*) say "BROKER must be kwire or tansu"; exit 2 ;;
esac

broker_log=$(mktemp /tmp/peer-bench-broker.XXXXXX)
"${broker_cmd[@]}" >"$broker_log" 2>&1 &
broker_pid=$!
trap 'kill "$broker_pid" 2>/dev/null; wait "$broker_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    kill -0 "$broker_pid" 2>/dev/null || { say "the broker exited:"; cat "$broker_log" >&2; exit 1; }
    sleep 0.1
done
say "broker: ${broker_cmd[*]} (pid $broker_pid)"

run_client() { # client topic records size
    local c=$1 t=$2 n=$3 s=$4
    local flags=(--bootstrap "$bootstrap" --topic "$t" --records "$n" --size "$s")
    case $c in
    kwire) "$bin/kwire-bench" "${flags[@]}" ;;
    rskafka) "$bin/rskafka-bench" "${flags[@]}" ;;
    rdkafka) "$bin/rdkafka-bench" "${flags[@]}" ;;
    kafka-python) /usr/bin/python3 "$here/kafka_python_bench.py" "${flags[@]}" ;;
    esac
}

{
    echo "# $(date -u +%FT%TZ) broker=$BROKER kwire=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "nproc=$(nproc) cpu=\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\" clients=\"$CLIENTS\""
} >"$OUT"
for rep in $(seq "$REPEATS"); do
    for shape in $SMALL $LARGE; do
        n=${shape%x*} s=${shape#*x}
        for c in $CLIENTS; do
            t="pb-$c-$s-$rep-$$"
            "$bin/topic" create "$bootstrap" "$t"
            say "run $rep/$REPEATS: $c, $n x $s B (load $(cut -d' ' -f1 /proc/loadavg))"
            run_client "$c" "$t" "$n" "$s" | grep '^RESULT' | sed "s/\$/ rep=$rep load1=$(cut -d' ' -f1 /proc/loadavg)/" | tee -a "$OUT" >&2
            "$bin/topic" delete "$bootstrap" "$t"
        done
    done
done

/usr/bin/python3 "$here/table.py" "$OUT"
