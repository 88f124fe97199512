#!/usr/bin/env bash
# The same bounded job on Apache Flink and on kwire, on ONE Apache Kafka broker, in one run.
#
#   bash peer-bench/flink.sh                      (from the repository root)
#   RECORDS=500000 REPEATS=1 bash peer-bench/flink.sh
#
# The job: read a 2-partition topic from the earliest offsets to its end as the job starts (a
# bounded read), count the records in a sink that drops them, checkpoint every second. Six
# configurations: Flink 2.2.1 in a local MiniCluster (flink/src/main/java/FlinkCountJob.java),
# kwire's local runner and kwire on timely-dataflow (src/bin/kwire-job.rs), each at parallelism
# 1 and 2. Every engine runs with its defaults apart from the checkpoint interval and the
# parallelism (each program's header says what they are).
#
# Starts Apache Kafka 4.4.0 (`kwire broker --apache`, one KRaft node, its own process), creates
# the topic and fills it with RECORDS records of SIZE bytes (`kwire bench produce`), then runs
# each configuration REPEATS times, one at a time, each under /usr/bin/time -v: its "Maximum
# resident set size" is the engine's peak memory (the broker's is in its own process). Writes
# every RESULT line (with the repetition, the load average before it and how many compilers of
# other work were running then) and a MEMORY line per run (peak memory, CPU time, the broker's
# CPU time, and the CPU time the rest of the machine took meanwhile) to OUT, then prints the medians
# (flink_table.py). Before the first repetition `kwire bench consume` reads the topic once, so
# that the broker's fetch path is warm (JIT-compiled, the log in the page cache) for every engine
# alike; its rate is written down as a reference.
#
# Environment (defaults in brackets):
#   RECORDS    [2000000]
#   SIZE       bytes per record value [100]
#   REPEATS    [3]
#   PORT       the broker's [19392]
#   OUT        raw results [/tmp/flink-bench-results.txt]
#   CONFIGS    engine:parallelism pairs, in the order run
#              [flink:1 kwire-local:1 kwire-timely:1 flink:2 kwire-local:2 kwire-timely:2]
#   KWIRE_REV  the kwire revision written in OUT [git rev-parse --short HEAD]
#   CARGO_TARGET_DIR [/tmp/peer-target], CARGO_BUILD_JOBS [2]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/peer-target}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
RECORDS=${RECORDS:-2000000}
SIZE=${SIZE:-100}
REPEATS=${REPEATS:-3}
PORT=${PORT:-19392}
OUT=${OUT:-/tmp/flink-bench-results.txt}
CONFIGS=${CONFIGS:-flink:1 kwire-local:1 kwire-timely:1 flink:2 kwire-local:2 kwire-timely:2}
bin=$CARGO_TARGET_DIR/release
bootstrap=127.0.0.1:$PORT
topic=flink-bench-$$

say() { echo "flink.sh: $*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# Compilers running besides this benchmark: a run next to one is disturbed (the load average
# alone cannot tell, as the engines themselves raise it).
others() { pgrep -c -x 'rustc|clippy-driver|cc1|cc1plus|javac' || true; }
# The machine's busy and stolen CPU time so far, in ticks of 1/100 s (/proc/stat): busy less the
# engine's and the broker's own CPU over a run is what other processes took meanwhile.
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $9}' /proc/stat; }
broker_ticks() { awk '{print $14 + $15}' "/proc/$broker_jvm/stat" 2>/dev/null || echo 0; }

if [[ ! -x $bin/kwire ]]; then
    say "building the kwire CLI (release)"
    (cd "$root" && cargo build --release --quiet -p kwire-testkit --bin kwire --target-dir "$CARGO_TARGET_DIR")
fi
say "building kwire-job (release)"
(cd "$here" && cargo build --release --quiet --bin kwire-job --target-dir "$CARGO_TARGET_DIR")
say "building the Flink job (mvn package in $here/flink)"
(cd "$here/flink" && { mvn -q -o package 2>/dev/null || mvn -q package; })
flink_cp="$here/flink/target/flink-count-job.jar:$here/flink/target/libs/*"

broker_log=$(mktemp /tmp/flink-bench-broker.XXXXXX)
"$bin/kwire" broker --apache --port "$PORT" >"$broker_log" 2>&1 &
broker_pid=$!
# SIGINT: `kwire broker` stops Apache Kafka and removes its directory. A background job starts
# with SIGINT ignored until the program installs its handler: TERM after 15 s.
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
# Ready once it answers Metadata (a JVM start; on first use mvn fetches Kafka's jars first).
for _ in $(seq 3000); do
    grep -q 'listening on' "$broker_log" && break
    kill -0 "$broker_pid" 2>/dev/null || { say "the broker exited:"; cat "$broker_log" >&2; exit 1; }
    sleep 0.1
done
grep -q 'listening on' "$broker_log" || { say "the broker did not start in 5 minutes"; exit 1; }
say "broker: $(grep 'listening on' "$broker_log") (pid $broker_pid)"
# Apache Kafka's JVM, whose directory carries the `kwire broker` process id.
broker_jvm=$(pgrep -f "^java .*kwire-apache-$broker_pid-" | head -1 || true)
say "Apache Kafka's JVM: pid ${broker_jvm:-not found}"

{
    echo "# $(date -u +%FT%TZ) broker=apache-4.4.0 records=$RECORDS size=$SIZE partitions=2" \
        "kwire=${KWIRE_REV:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)} nproc=$(nproc)" \
        "cpu=\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\" java=\"$(java -version 2>&1 | head -1)\""
} >"$OUT"
say "filling $topic: $RECORDS x $SIZE B in 2 partitions"
"$bin/kwire" bench produce --bootstrap "$bootstrap" --topic "$topic" --partitions 2 \
    --records "$RECORDS" --size "$SIZE" | sed 's/^/# produce: /' | tee -a "$OUT" >&2
say "warming the broker's fetch path: one read of the topic"
"$bin/kwire" bench consume --bootstrap "$bootstrap" --topic "$topic" --records "$RECORDS" --size "$SIZE" |
    sed 's/^/# warm-up: /' | tee -a "$OUT" >&2

# The command line of one configuration, in the array `cmd`.
command_for() { # engine parallelism
    case $1 in
    # The JVM's defaults (G1, C2, its default heap), and no flags of Flink's scripts.
    flink) cmd=(java -cp "$flink_cp" FlinkCountJob "$bootstrap" "$topic" "$2" "$RECORDS") ;;
    kwire-local | kwire-timely)
        cmd=("$bin/kwire-job" --bootstrap "$bootstrap" --topic "$topic" --records "$RECORDS"
            --engine "${1#kwire-}" --parallelism "$2")
        ;;
    *) say "unknown engine $1"; exit 2 ;;
    esac
}

times=$(mktemp /tmp/flink-bench-time.XXXXXX)
for rep in $(seq "$REPEATS"); do
    say "repetition $rep/$REPEATS (load $(load1), other compilers $(others))"
    echo "# repetition $rep load1=$(load1) others=$(others)" >>"$OUT"
    for config in $CONFIGS; do
        engine=${config%:*} p=${config#*:}
        load=$(load1) busy=$(others)
        say "run $rep/$REPEATS: $engine, parallelism $p (load $load, other compilers $busy)"
        # A run that fails (a record missing, an error) is written down, not fatal.
        command_for "$engine" "$p"
        read -r busy0 steal0 < <(machine_ticks)
        broker0=$(broker_ticks)
        if ! res=$(/usr/bin/time -v -o "$times" "${cmd[@]}"); then
            say "$engine parallelism $p FAILED, run $rep"
            echo "# FAILED client=$engine parallelism=$p rep=$rep" >>"$OUT"
        fi
        grep '^RESULT' <<<"$res" | sed "s/\$/ rep=$rep load1=$load others=$busy/" | tee -a "$OUT" >&2 || true
        rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$times")
        user=$(awk -F': ' '/User time/ {print $2}' "$times")
        sys=$(awk -F': ' '/System time/ {print $2}' "$times")
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$times")
        read -r busy1 steal1 < <(machine_ticks)
        broker1=$(broker_ticks)
        # CPU seconds the rest of the machine used during the run, and the hypervisor's steal.
        foreign=$(awk -v b="$((busy1 - busy0))" -v k="$((broker1 - broker0))" -v u="$user" -v s="$sys" \
            'BEGIN {f = (b - k) / 100 - u - s; printf "%.2f", f < 0 ? 0 : f}')
        steal=$(awk -v t="$((steal1 - steal0))" 'BEGIN {printf "%.2f", t / 100}')
        echo "MEMORY client=$engine parallelism=$p max_rss_kb=$rss user_s=$user sys_s=$sys wall=$wall" \
            "broker_cpu_s=$(awk -v k="$((broker1 - broker0))" 'BEGIN {printf "%.2f", k / 100}')" \
            "foreign_cpu_s=$foreign steal_s=$steal rep=$rep" | tee -a "$OUT" >&2
    done
done

/usr/bin/python3 "$here/flink_table.py" "$OUT"
