#!/usr/bin/python3
"""Prints flink.sh's table from its RESULT and MEMORY lines: per engine and parallelism the
median over the repetitions of records/s, the job's seconds, the process's peak resident memory
and CPU time; then, per kwire engine, kwire / Flink at the same parallelism for records/s and
Flink / kwire for peak memory (medians of the per-repetition ratios, runs paired by their `rep`,
with the lowest and highest), against the goal of 3x the records/s with a tenth of the memory.
Flink's records/s over its own net runtime (the job without the MiniCluster's start and stop)
is shown too, with kwire's ratio to it."""

import statistics
import sys
from collections import defaultdict

GOAL_SPEED = 3.0
GOAL_MEMORY = 10.0
# A run during which other processes took, or the hypervisor stole, this much CPU time or more
# is named as disturbed.
FOREIGN_LIMIT = 0.5


def main(paths):
    rec_s = defaultdict(dict)  # (client, parallelism) -> {rep: value}
    net_rec_s = defaultdict(dict)
    secs = defaultdict(dict)
    rss_mib = defaultdict(dict)
    cpu_s = defaultdict(dict)
    broker_s = defaultdict(dict)
    foreign = []  # (client, parallelism, rep, CPU s other processes took, CPU s the hypervisor stole)
    records = {}
    loads = []
    disturbed = 0  # runs that started while compilers of other work were running
    order = []
    for path in paths:
        with open(path) as f:
            for line in f:
                words = line.split()
                if not words or words[0] not in ("RESULT", "MEMORY"):
                    continue
                kv = dict(p.split("=", 1) for p in words[1:] if "=" in p)
                key = (kv["client"], int(kv["parallelism"]))
                rep = kv.get("rep", "1")
                if key not in order:
                    order.append(key)
                if words[0] == "RESULT":
                    rec_s[key][rep] = float(kv["rec_s"])
                    secs[key][rep] = float(kv["secs"])
                    if "net_rec_s" in kv:
                        net_rec_s[key][rep] = float(kv["net_rec_s"])
                    records[key] = int(kv["records"])
                    if "load1" in kv:
                        loads.append(float(kv["load1"]))
                    if int(kv.get("others", "0")) > 0:
                        disturbed += 1
                elif kv.get("max_rss_kb"):
                    rss_mib[key][rep] = int(kv["max_rss_kb"]) / 1024
                    cpu_s[key][rep] = float(kv["user_s"]) + float(kv["sys_s"])
                    if "broker_cpu_s" in kv:
                        broker_s[key][rep] = float(kv["broker_cpu_s"])
                    other = float(kv.get("foreign_cpu_s", "0"))
                    steal = float(kv.get("steal_s", "0"))
                    if other + steal >= FOREIGN_LIMIT:
                        foreign.append((key[0], key[1], rep, other, steal))

    def med(table, key):
        v = table.get(key)
        return statistics.median(v.values()) if v else None

    def fmt(x, digits=0):
        return "-" if x is None else f"{x:,.{digits}f}"

    def ratios(num, den):
        """Per-repetition num / den, for repetitions both have."""
        return [num[r] / den[r] for r in num if r in den and den[r] > 0]

    def spread(r):
        if not r:
            return "-"
        if len(r) == 1:
            return f"{r[0]:.2f}"
        return f"{statistics.median(r):.2f} ({min(r):.2f}–{max(r):.2f})"

    order.sort(key=lambda k: (k[1], ["flink", "kwire-local", "kwire-timely"].index(k[0])
                              if k[0] in ("flink", "kwire-local", "kwire-timely") else 9))
    n = max(records.values()) if records else 0
    reps = max((len(v) for v in rec_s.values()), default=0)
    load = f", load average {min(loads):.1f}–{max(loads):.1f}" if loads else ""
    busy = f", {disturbed} run(s) next to another compiler" if disturbed else ""
    print(f"\n{n:,} records, median of {reps} run(s){load}{busy}\n")
    print("| engine | parallelism | records/s | job s | peak RSS MiB | CPU s (user+sys) "
          "| broker CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for key in order:
        print(f"| {key[0]} | {key[1]} | {fmt(med(rec_s, key))} | {fmt(med(secs, key), 2)} "
              f"| {fmt(med(rss_mib, key))} | {fmt(med(cpu_s, key), 2)} | {fmt(med(broker_s, key), 2)} |")
    if foreign:
        print()
    for client, p, rep, other, steal in foreign:
        print(f"- disturbed: {client} at parallelism {p}, repetition {rep}: other processes took "
              f"{other:.2f} s of CPU and the hypervisor stole {steal:.2f} s during the run")
    net = [k for k in order if k in net_rec_s]
    if net:
        print("\nFlink over its net runtime (JobExecutionResult.getNetRuntime: the job without the "
              "MiniCluster's start and stop)\n")
        print("| engine | parallelism | records/s (net) |")
        print("|---|---:|---:|")
        for key in net:
            print(f"| {key[0]} | {key[1]} | {fmt(med(net_rec_s, key))} |")

    print(f"\nkwire against Flink at the same parallelism (goal: records/s x{GOAL_SPEED:g} or more, "
          f"peak memory a {GOAL_MEMORY:g}th or less)\n")
    print("| engine | parallelism | kwire / Flink, records/s | kwire / Flink (net), records/s "
          "| Flink / kwire, peak RSS | goal |")
    print("|---|---:|---:|---:|---:|---|")
    for key in order:
        if key[0] == "flink":
            continue
        flink = ("flink", key[1])
        if flink not in rec_s:
            continue
        speed = ratios(rec_s[key], rec_s[flink])
        speed_net = ratios(rec_s[key], net_rec_s.get(flink, {}))
        memory = ratios(rss_mib.get(flink, {}), rss_mib.get(key, {}))
        met = []
        if speed:
            met.append("speed met" if statistics.median(speed) >= GOAL_SPEED else "speed NOT met")
        if memory:
            met.append("memory met" if statistics.median(memory) >= GOAL_MEMORY else "memory NOT met")
        print(f"| {key[0]} | {key[1]} | {spread(speed)} | {spread(speed_net)} | {spread(memory)} "
              f"| {', '.join(met)} |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["/tmp/flink-bench-results.txt"])
