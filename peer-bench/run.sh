#!/usr/bin/env bash
# Client throughput: kwire against rskafka, rdkafka, the Java client and kafka-python, on ONE
# broker, in one run.
#
#   bash peer-bench/run.sh                        (from the repository root)
#   BROKER=apache SETTINGS=defaults bash peer-bench/run.sh
#
# Starts one broker on 127.0.0.1:$PORT (the embedded tansu in memory, or Apache Kafka), then for each
# record size and each client, one client at a time: creates a fresh one-partition topic,
# produces N records of S bytes, reads them back from offset 0, deletes the topic. Prints a table
# (medians over $REPEATS runs) and keeps the raw RESULT lines in $OUT.
#
# SETTINGS=equal: every client gets the same settings: acks=all, idempotence off, no compression, linger 5 ms,
# batch 1,000,000 bytes (librdkafka's default); fetch max wait 10 ms (tansu holds a Fetch for
# about half of max_wait even when data is ready), 50 MiB per fetch response and 1 MiB per
# partition (the Java defaults; tansu 0.6 sizes its answer by the 50 MiB only, and rskafka, which
# takes one limit for both, is given 50 MiB). SETTINGS=defaults: every client is built with its
# library's defaults (each client's source says which they are). See docs/benchmarks.md,
# "Client throughput".
#
# Environment (defaults in brackets):
#   BROKER        kwire | apache | tansu | auto [auto]: `kwire broker` (the embedded tansu),
#                 `kwire broker --apache` (Apache Kafka 4.4, one KRaft node, logs on disk in a temp
#                 dir; needs Java 17+ and mvn), or the tansu binary at $TANSU (the same tansu,
#                 0.6.0); auto: kwire if the CLI builds, else tansu
#   TANSU         [/tmp/tansu-bin/bin/tansu]
#   PORT          [19092]
#   SETTINGS      equal | defaults [equal]
#   CLIENTS       [kwire rskafka rdkafka java kafka-python]; rdkafka is dropped if it does not build,
#                 java if `mvn package` fails in peer-bench/java
#   KAFKA_PYTHON  a python with kafka-python [/usr/bin/python3 if it imports kafka, else the
#                 testkit's virtualenv, $HOME/.cache/kwire/kafka-python-*/venv/bin/python]
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
SETTINGS=${SETTINGS:-equal}
CLIENTS=${CLIENTS:-kwire rskafka rdkafka java kafka-python}
SMALL=${SMALL:-1000000x100}
LARGE=${LARGE:-200000x1024}
REPEATS=${REPEATS:-5}
OUT=${OUT:-/tmp/peer-bench-results.txt}
bin=$CARGO_TARGET_DIR/release
bootstrap=127.0.0.1:$PORT

say() { echo "run.sh: $*" >&2; }
case $SETTINGS in equal | defaults) ;; *) say "SETTINGS must be equal or defaults"; exit 2 ;; esac

say "building the benchmark binaries (release, $CARGO_BUILD_JOBS job(s))"
if [[ " $CLIENTS " == *" rdkafka "* ]] &&
    ! cargo build --release --quiet --manifest-path "$here/Cargo.toml" --features rdkafka; then
    say "rdkafka (bundled librdkafka: needs cmake, a C compiler, libcurl headers) did not build: skipped"
    CLIENTS=${CLIENTS//rdkafka/}
fi
if [[ " $CLIENTS " != *" rdkafka "* ]]; then
    cargo build --release --quiet --manifest-path "$here/Cargo.toml"
fi

if [[ " $CLIENTS " == *" java "* ]]; then
    say "building the Java peer (mvn package in $here/java)"
    if ! (cd "$here/java" && { mvn -q -o package 2>/dev/null || mvn -q package; }); then
        say "the Java peer did not build: skipped"
        CLIENTS=${CLIENTS//java/}
    fi
fi
if [[ " $CLIENTS " == *" kafka-python "* ]]; then
    if [[ -z ${KAFKA_PYTHON:-} ]]; then
        KAFKA_PYTHON=/usr/bin/python3
        if ! "$KAFKA_PYTHON" -c 'import kafka' 2>/dev/null; then
            KAFKA_PYTHON=$(ls -d "$HOME"/.cache/kwire/kafka-python-*/venv/bin/python 2>/dev/null | tail -1)
        fi
    fi
    if [[ -z $KAFKA_PYTHON ]] || ! "$KAFKA_PYTHON" -c 'import kafka' 2>/dev/null; then
        say "no python with kafka-python (set KAFKA_PYTHON): kafka-python skipped"
        CLIENTS=${CLIENTS//kafka-python/}
    else
        say "kafka-python $("$KAFKA_PYTHON" -c 'import kafka; print(kafka.__version__)') ($KAFKA_PYTHON)"
    fi
fi

if [[ $BROKER == auto || $BROKER == kwire || $BROKER == apache ]]; then
    say "building the kwire CLI (release)"
    if cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p kwire-testkit --bin kwire; then
        [[ $BROKER == apache ]] || BROKER=kwire
    elif [[ $BROKER == auto && -x $TANSU ]]; then
        say "the kwire CLI did not build: using $TANSU"
        BROKER=tansu
    else
        say "the kwire CLI did not build"; exit 1
    fi
fi
case $BROKER in
kwire) broker_cmd=("$bin/kwire" broker --port "$PORT") ;;
apache) broker_cmd=("$bin/kwire" broker --apache --port "$PORT") ;;
tansu)
    broker_cmd=("$TANSU" broker --listener-url "tcp://$bootstrap" --advertised-listener-url "tcp://$bootstrap"
        --storage-engine memory://tansu/)
    ;;
*) say "BROKER must be kwire, apache or tansu"; exit 2 ;;
esac

broker_log=$(mktemp /tmp/peer-bench-broker.XXXXXX)
"${broker_cmd[@]}" >"$broker_log" 2>&1 &
broker_pid=$!
# SIGINT: `kwire broker` stops as on Ctrl-C (Apache Kafka's directory is removed). A background
# job starts with SIGINT ignored until the program installs its handler: TERM after 15 s.
stop_broker() {
    kill -INT "$broker_pid" 2>/dev/null || return 0
    for _ in $(seq 150); do
        kill -0 "$broker_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
}
trap stop_broker EXIT
# `kwire broker` prints a line once it serves (Apache Kafka: once it answers Metadata, which takes
# a JVM start, and mvn on first use); the tansu binary is ready when its port takes connections.
for _ in $(seq 3000); do
    if [[ $BROKER == tansu ]]; then
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    elif grep -q 'listening on' "$broker_log"; then
        break
    fi
    kill -0 "$broker_pid" 2>/dev/null || { say "the broker exited:"; cat "$broker_log" >&2; exit 1; }
    sleep 0.1
done
say "broker: ${broker_cmd[*]} (pid $broker_pid)"

rskafka_batch=
[[ $BROKER == apache ]] && rskafka_batch=900000

run_client() { # client topic records size
    local c=$1 t=$2 n=$3 s=$4
    local flags=(--bootstrap "$bootstrap" --topic "$t" --records "$n" --size "$s" --settings "$SETTINGS")
    case $c in
    kwire) "$bin/kwire-bench" "${flags[@]}" ;;
    # rskafka's RecordAggregator counts record payloads only, so its 1,000,000-byte batches are
    # about 1.1 MB on the wire at 100 B a record, over Apache Kafka's message.max.bytes
    # (1,048,588: MESSAGE_TOO_LARGE); there it is given 900,000 (about 1 MB on the wire).
    rskafka) "$bin/rskafka-bench" "${flags[@]}" ${rskafka_batch:+--batch-bytes "$rskafka_batch"} ;;
    rdkafka) "$bin/rdkafka-bench" "${flags[@]}" ;;
    # The JIT's defaults (C2, G1): short-lived-JVM flags would slow the client down.
    java) java -cp "$here/java/target/peer-bench-java.jar:$here/java/target/libs/*" JavaBench "${flags[@]}" ;;
    kafka-python) "$KAFKA_PYTHON" "$here/kafka_python_bench.py" "${flags[@]}" ;;
    esac
}

{
    echo "# $(date -u +%FT%TZ) broker=$BROKER settings=$SETTINGS kwire=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "nproc=$(nproc) cpu=\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\" clients=\"$CLIENTS\""
} >"$OUT"
for rep in $(seq "$REPEATS"); do
    for shape in $SMALL $LARGE; do
        n=${shape%x*} s=${shape#*x}
        for c in $CLIENTS; do
            t="pb-$c-$s-$rep-$$"
            "$bin/topic" create "$bootstrap" "$t"
            say "run $rep/$REPEATS: $c, $n x $s B (load $(cut -d' ' -f1 /proc/loadavg))"
            load=$(cut -d' ' -f1 /proc/loadavg)
            # A client that fails (a record or byte missing, an error) is written down, not fatal.
            if ! res=$(run_client "$c" "$t" "$n" "$s"); then
                say "$c FAILED: $n x $s B, run $rep"
                echo "# FAILED client=$c size=$s settings=$SETTINGS rep=$rep" >>"$OUT"
            fi
            grep '^RESULT' <<<"$res" | sed "s/\$/ settings=$SETTINGS rep=$rep load1=$load/" | tee -a "$OUT" >&2 || true
            "$bin/topic" delete "$bootstrap" "$t"
        done
    done
done

/usr/bin/python3 "$here/table.py" "$OUT"
