#!/usr/bin/env python3
"""Helpers of bench.sh: reduce the per-run results (JSON lines) to medians,
print the table with same-run ratios against the mock-cluster ceiling, and
save the JSON; also sizes the C1 row from the P2 result.

  report.py --c1-records RESULTS.jsonl TARGET SIZE SECONDS
  report.py --report RESULTS.jsonl OUT.json key=value...
"""
import json
import sys

C1_MAX_BYTES = 300 * 1000 * 1000  # keeps C1 (and its disk use) short
C1_MIN_RECORDS = 100000


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def c1_records(path, target, size, seconds):
    rates = [r["result"]["msgs_per_s"] for r in load(path)
             if r["row"] == "P2" and r["target"] == target and r["size"] == size]
    n = int(max(rates) * seconds) if rates else C1_MIN_RECORDS
    return max(C1_MIN_RECORDS, min(n, C1_MAX_BYTES // max(size, 1)))


def median_run(runs):
    """The run with the median throughput (the lower middle one for even counts)."""
    runs = sorted(runs, key=lambda r: r["result"]["msgs_per_s"])
    return runs[(len(runs) - 1) // 2]


def cpu_per_gb(run):
    res = run["result"]
    gb = res.get("total_records", res["records"]) * run["size"] / 1e9
    return run["broker_cpu_s"] / gb if gb > 0 and run["target"] != "mock" else None


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def report(path, out, meta):
    groups = {}
    for r in load(path):
        groups.setdefault((r["row"], r["size"], r["target"]), []).append(r)
    rows = []
    order = {"P1": 0, "P2": 1, "C1": 2}
    for (row, size, target), runs in sorted(groups.items(),
                                            key=lambda kv: (order.get(kv[0][0], 9), kv[0][1], kv[0][2] != "weir")):
        m = median_run(runs)
        ceiling = groups.get((row, size, "mock"))
        ratio = None
        if target != "mock" and ceiling:
            c = median_run(ceiling)["result"]["msgs_per_s"]
            ratio = m["result"]["msgs_per_s"] / c if c > 0 else None
        rows.append({
            "row": row, "size": size, "target": target, "runs": len(runs),
            "msgs_per_s": m["result"]["msgs_per_s"], "mb_per_s": m["result"]["mb_per_s"],
            "p99_ms": m["result"]["latency_ms"]["p99"], "errors": m["result"]["errors"],
            "ratio_vs_ceiling": ratio, "broker_cpu_s_per_gb": cpu_per_gb(m),
            "all_runs": [x["result"] for x in runs],
        })
    hdr = "%-4s %6s %-5s %12s %9s %9s %8s %12s %6s" % (
        "row", "size", "vs", "msgs/s", "MB/s", "p99 ms", "ratio", "CPU-s/GB", "errors")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print("%-4s %6d %-5s %12s %9s %9s %8s %12s %6d" % (
            r["row"], r["size"], r["target"], fmt(r["msgs_per_s"], ",.0f"), fmt(r["mb_per_s"], ".1f"),
            fmt(r["p99_ms"], ".1f"), fmt(r["ratio_vs_ceiling"], ".2f"),
            fmt(r["broker_cpu_s_per_gb"], ".1f"), r["errors"]))
    rate = {(r["row"], r["size"], r["target"]): r["msgs_per_s"] for r in rows}
    shape = {}
    for size in sorted({r["size"] for r in rows}):
        c1, p2 = rate.get(("C1", size, "weir")), rate.get(("P2", size, "weir"))
        if c1 and p2:
            shape["C1/P2 %d B" % size] = c1 / p2
            print("Weir C1 / P2 at %d B: %.2f (consumer over producer; PERFORMANCE.md's C1/P3 target is >= 1.5)"
                  % (size, c1 / p2))
    print("ratio = Weir / mock cluster (protocol ceiling) in this run; target for P1 >= 0.8.")
    print("CPU-s/GB: broker process user+system CPU per GB of record values (warm-up included).")
    print("MB = 2^20 bytes of record values.  The mock keeps ~5 MB per partition and its fetch")
    print("path is slow, so its C1 figure (re-reading the retained data in passes) is no ceiling.")
    doc = {"meta": dict(kv.split("=", 1) for kv in meta), "rows": rows, "shape_ratios": shape}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    print("saved", out)


def main(argv):
    if len(argv) == 6 and argv[1] == "--c1-records":
        print(c1_records(argv[2], argv[3], int(argv[4]), float(argv[5])))
        return 0
    if len(argv) >= 4 and argv[1] == "--report":
        report(argv[2], argv[3], argv[4:])
        return 0
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
