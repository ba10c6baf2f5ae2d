#!/usr/bin/env python3
"""Helpers of bench.sh: reduce the per-run results (JSON lines) to medians,
print the table with same-run ratios (against the mock-cluster ceiling, and
the shape ratios P4/P2 and C1/P3 of PERFORMANCE.md), and save the JSON; also
sizes the C1 row from the P3 result.

  report.py --c1-records RESULTS.jsonl TARGET SIZE SECONDS
  report.py --report RESULTS.jsonl OUT.json key=value...
"""
import json
import sys

C1_MAX_BYTES = 300 * 1000 * 1000  # keeps C1 (and its disk use) short
C1_MIN_RECORDS = 100000

ORDER = {"P1": 0, "P2": 1, "P3": 2, "P4": 3, "C1": 4}

# Where each row runs (PERFORMANCE.md's matrix), for the table and the JSON.
TOPOLOGY = {
    ("P1", "weir"): "1 broker RF1", ("P2", "weir"): "1 broker RF1",
    ("P3", "weir"): "3 brokers RF3 minISR2", ("P4", "weir"): "3 brokers RF3 minISR2",
    ("C1", "weir"): "3 brokers RF3 minISR2",
    ("P1", "mock"): "mock 1 broker", ("P2", "mock"): "mock 1 broker",
    ("P3", "mock"): "mock 3 brokers", ("P4", "mock"): "mock 3 brokers",
    ("C1", "mock"): "mock 3 brokers",
}

# Same-run shape ratios of Weir rows: (row, over row, target, what it is).
SHAPES = [
    ("P4", "P2", 0.6, "acks=all RF3 over no replication; Kafka 0.51"),
    ("C1", "P3", 1.5, "consumer over producer; Kafka 1.14"),
]
CEILING_TARGET = {"P1": 0.8}  # Weir over the mock, PERFORMANCE.md


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def c1_records(path, target, size, seconds):
    """What the target's P3 (else P2) reached in SECONDS, within the bounds."""
    runs = load(path)
    for row in ("P3", "P2"):
        rates = [r["result"]["msgs_per_s"] for r in runs
                 if r["row"] == row and r["target"] == target and r["size"] == size]
        if rates:
            break
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


def summarize(groups):
    """One dict per (row, size, target): the median run and its ratio to the ceiling."""
    rows = []
    for (row, size, target), runs in sorted(groups.items(),
                                            key=lambda kv: (kv[0][1], ORDER.get(kv[0][0], 9),
                                                            kv[0][2] != "weir")):
        m = median_run(runs)
        ceiling = groups.get((row, size, "mock"))
        ratio = None
        if target != "mock" and ceiling:
            c = median_run(ceiling)["result"]["msgs_per_s"]
            ratio = m["result"]["msgs_per_s"] / c if c > 0 else None
        rows.append({
            "row": row, "size": size, "target": target, "runs": len(runs),
            "topology": TOPOLOGY.get((row, target), target),
            "msgs_per_s": m["result"]["msgs_per_s"], "mb_per_s": m["result"]["mb_per_s"],
            "p99_ms": m["result"]["latency_ms"]["p99"], "errors": m["result"]["errors"],
            "ratio_vs_ceiling": ratio, "broker_cpu_s_per_gb": cpu_per_gb(m),
            "follower_lag_bytes": m.get("follower_lag_bytes"), "catchup_s": m.get("catchup_s"),
            "all_runs": [x["result"] for x in runs],
        })
    return rows


def shape_ratios(rows):
    """PERFORMANCE.md's same-run Weir ratios, keyed by (row, size)."""
    rate = {(r["row"], r["size"], r["target"]): r["msgs_per_s"] for r in rows}
    out = {}
    for row, over, target, what in SHAPES:
        for size in sorted({r["size"] for r in rows}):
            a, b = rate.get((row, size, "weir")), rate.get((over, size, "weir"))
            if a and b:
                out[(row, size)] = {"name": "%s/%s" % (row, over), "size": size, "value": a / b,
                                    "target": target, "ok": a / b >= target, "what": what}
    return out


def verdict(value, target):
    return "" if value is None or target is None else (" ok" if value >= target else " LOW")


def print_table(rows, shapes):
    hdr = "%-4s %6s %-5s %-21s %12s %8s %8s %10s %-15s %9s %6s" % (
        "row", "size", "vs", "topology", "msgs/s", "MB/s", "p99 ms", "ceiling", "shape", "CPU-s/GB", "errors")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        ceil = "-" if r["ratio_vs_ceiling"] is None else "%.2f%s" % (
            r["ratio_vs_ceiling"], verdict(r["ratio_vs_ceiling"], CEILING_TARGET.get(r["row"])))
        s = shapes.get((r["row"], r["size"])) if r["target"] == "weir" else None
        shape = "-" if s is None else "%s %.2f%s" % (s["name"], s["value"], verdict(s["value"], s["target"]))
        # C1 reads data written earlier: its CreateTime latency means nothing.
        p99 = None if r["row"] == "C1" else r["p99_ms"]
        print("%-4s %6d %-5s %-21s %12s %8s %8s %10s %-15s %9s %6d" % (
            r["row"], r["size"], r["target"], r["topology"], fmt(r["msgs_per_s"], ",.0f"),
            fmt(r["mb_per_s"], ".1f"), fmt(p99, ".1f"), ceil, shape,
            fmt(r["broker_cpu_s_per_gb"], ".1f"), r["errors"]))


def report(path, out, meta):
    groups = {}
    for r in load(path):
        groups.setdefault((r["row"], r["size"], r["target"]), []).append(r)
    rows = summarize(groups)
    shapes = shape_ratios(rows)
    print_table(rows, shapes)
    print("ceiling = Weir / mock cluster (protocol ceiling) in this run; target for P1 >= 0.8.")
    for row, over, target, what in SHAPES:
        print("shape %s/%s = Weir %s / Weir %s at the same size in this run; target >= %.1f (%s)."
              % (row, over, row, over, target, what))
    lagged = [r for r in rows if r["follower_lag_bytes"]]
    for r in lagged:
        print("%s %d B: when the producer stopped, the slowest follower was %.1f MB behind "
              "(caught up in %s s)" % (r["row"], r["size"], r["follower_lag_bytes"] / 2**20,
                                       r["catchup_s"]))
    print("CPU-s/GB: user+system CPU of the cluster's brokers (1 or 3 processes) per GB of record")
    print("values (warm-up included; P3/P4 include the followers catching up after the producer).")
    print("MB = 2^20 bytes of record values.  C1 reads data written (acks=all) just before.")
    doc = {"meta": dict(kv.split("=", 1) for kv in meta), "rows": rows,
           "shape_ratios": {"%s %d B" % (s["name"], s["size"]): s for s in shapes.values()}}
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
