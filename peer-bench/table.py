#!/usr/bin/python3
"""Prints run.sh's table from its RESULT lines: per settings (equal or defaults) and record size,
each client's median over the runs, and kwire / peer as the median of the per-run ratios (runs
are paired by their `rep`), with the lowest and highest per-run ratio. Several files may be given
(one run each, e.g. equal and defaults); they must come from the same broker."""

import statistics
import sys
from collections import defaultdict


def main(paths):
    runs = defaultdict(dict)  # ((settings, size), client, phase) -> {rep: rec_s}
    mbs = defaultdict(dict)
    cpu = defaultdict(dict)  # CPU microseconds per record, where the client reports it
    counts = {}
    order = []
    loads = defaultdict(list)
    for path in paths:
        with open(path) as f:
            for line in f:
                if not line.startswith("RESULT "):
                    continue
                kv = dict(p.split("=", 1) for p in line.split()[1:])
                size = (kv.get("settings", "equal"), int(kv["size"]))
                key = (size, kv["client"], kv["phase"])
                runs[key][kv.get("rep", "1")] = float(kv["rec_s"])
                mbs[key][kv.get("rep", "1")] = float(kv["mb_s"])
                if "cpu_us_per_rec" in kv:
                    cpu[key][kv.get("rep", "1")] = float(kv["cpu_us_per_rec"])
                counts[size] = int(kv["records"])
                if "load1" in kv:
                    loads[size].append(float(kv["load1"]))
                if kv["client"] not in order:
                    order.append(kv["client"])

    def med(table, key):
        v = table.get(key)
        return statistics.median(v.values()) if v else None

    def ratio(size, client, phase, table=runs, inverse=False):
        k, p = table.get((size, "kwire", phase), {}), table.get((size, client, phase), {})
        if inverse:  # peer / kwire: above 1, kwire uses less
            r = [p[rep] / k[rep] for rep in k if rep in p and k[rep] > 0]
        else:
            r = [k[rep] / p[rep] for rep in k if rep in p and p[rep] > 0]
        if client == "kwire" or not r:
            return ""
        if len(r) == 1:
            return f"{r[0]:.2f}"
        return f"{statistics.median(r):.2f} ({min(r):.2f}–{max(r):.2f})"

    def fmt(x, digits=0):
        return "-" if x is None else f"{x:,.{digits}f}"

    for size in sorted(counts):
        reps = max(len(v) for k, v in runs.items() if k[0] == size)
        settings, nbytes = size
        load = (f", load average {min(loads[size]):.1f}–{max(loads[size]):.1f}" if loads[size] else "")
        print(f"\n{settings} settings, {counts[size]:,} records x {nbytes} B "
              f"(median of {reps} run(s){load})\n")
        print("| client | produce rec/s | produce MB/s | consume rec/s | consume MB/s "
              "| kwire / peer, produce | kwire / peer, consume |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for c in order:
            p, q = (size, c, "produce"), (size, c, "consume")
            print(f"| {c} | {fmt(med(runs, p))} | {fmt(med(mbs, p), 1)} | {fmt(med(runs, q))} "
                  f"| {fmt(med(mbs, q), 1)} | {ratio(size, c, 'produce')} | {ratio(size, c, 'consume')} |")
        if any(k[0] == size for k in cpu):
            print("\nCPU time of the client's process per record, all its threads (lower is better; the "
                  "ratio is peer / kwire: above 1, kwire uses less)\n")
            print("| client | produce CPU µs/rec | consume CPU µs/rec | peer / kwire, produce CPU "
                  "| peer / kwire, consume CPU |")
            print("|---|---:|---:|---:|---:|")
            for c in order:
                p, q = (size, c, "produce"), (size, c, "consume")
                if p not in cpu and q not in cpu:
                    continue
                print(f"| {c} | {fmt(med(cpu, p), 3)} | {fmt(med(cpu, q), 3)} "
                      f"| {ratio(size, c, 'produce', cpu, True)} | {ratio(size, c, 'consume', cpu, True)} |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["/tmp/peer-bench-results.txt"])
