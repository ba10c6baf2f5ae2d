#!/usr/bin/env bash
# bench.sh - what `make bench` runs: rows P1, P2 and C1 of PERFORMANCE.md at
# 100 B and 1 KiB, against (a) a 1-broker Weir cluster started here with
# scripts/cluster.sh and (b) librdkafka's mock cluster (the protocol ceiling),
# in the same run.  Prints one table (msgs/s, MB/s, p99, ratio to the ceiling,
# broker CPU-seconds per GB) and saves everything as JSON in
# build/bench/<UTC date>.json so that later runs can be compared with it.
#
# The default run is shorter than PERFORMANCE.md's protocol (about 6 minutes):
# BENCH_WARMUP=2 s of warm-up and BENCH_SECONDS=8 s measured per produce row,
# median of BENCH_RUNS=3.  The full protocol is BENCH_WARMUP=10
# BENCH_SECONDS=30 (about 17 minutes).
# Other knobs: BENCH_SIZES ("100 1024"), BENCH_C1_RECORDS (records written
# and read by C1; default: what P2 reached in BENCH_SECONDS), BENCH_TARGETS
# ("weir mock"), BENCH_DIR (cluster dir; default a fresh temporary one),
# WEIR_BIN (binaries, default <repo>/bin).
#
# Stops everything it started: the cluster through `cluster.sh down` (pid
# files), nothing else is left running.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${WEIR_BIN:-$REPO/bin}
WEIR=$BIN/weir
WARMUP=${BENCH_WARMUP:-2}
MEASURE=${BENCH_SECONDS:-8}
RUNS=${BENCH_RUNS:-3}
SIZES=${BENCH_SIZES:-100 1024}
TARGETS=${BENCH_TARGETS:-weir mock}
C1_RECORDS=${BENCH_C1_RECORDS:-}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUTDIR=$REPO/build/bench
OUT=$OUTDIR/$STAMP.json
RESULTS=$OUTDIR/$STAMP.jsonl
CLK_TCK=$(getconf CLK_TCK)
MOCK=(-X test.mock.num.brokers=1)
OWN_DIR=0
DIR=${BENCH_DIR:-}
CLUSTER_UP=0
BROKER_PID=""

mkdir -p "$OUTDIR"
: >"$RESULTS"

log() { printf '%s bench: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

cleanup() {
    if [ "$CLUSTER_UP" = 1 ]; then
        log "stopping the cluster in $DIR"
        "$REPO/scripts/cluster.sh" down --dir "$DIR" >/dev/null 2>&1 || true
    fi
    if [ "$OWN_DIR" = 1 ] && [ -n "$DIR" ]; then rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# CPU ticks (user+system) of a pid, from /proc/<pid>/stat fields 14 and 15.
cpu_ticks() {
    [ -n "$1" ] && [ -r "/proc/$1/stat" ] || { echo 0; return; }
    # The command name (field 2) may hold spaces: cut after the last ')'.
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# record ROW SIZE TARGET RUN JSON CPU_TICKS
record() {
    printf '{"row":"%s","size":%s,"target":"%s","run":%s,"broker_cpu_s":%s,"result":%s}\n' \
        "$1" "$2" "$3" "$4" "$(awk -v t="$6" -v h="$CLK_TCK" 'BEGIN { printf "%.3f", t / h }')" "$5" >>"$RESULTS"
}

# run_perf ROW SIZE TARGET RUN -- weir args...: runs one measurement, records it.
run_perf() {
    local row=$1 size=$2 target=$3 run=$4 json before after
    shift 5
    before=$(cpu_ticks "$BROKER_PID")
    if ! json=$("$WEIR" "$@" 2>>"$OUTDIR/$STAMP.log" | tail -n 1); then
        log "$row $size B $target run $run failed (see $OUTDIR/$STAMP.log)"
    fi
    after=$(cpu_ticks "$BROKER_PID")
    case $json in
    \{*) record "$row" "$size" "$target" "$run" "$json" $((after - before))
        log "$row $size B $target run $run: $json" ;;
    *) log "$row $size B $target run $run: no result" ;;
    esac
}

start_weir() {
    if [ -z "$DIR" ]; then
        DIR=$(mktemp -d /tmp/weir-bench.XXXXXX)
        OWN_DIR=1
    fi
    log "starting a 1-broker Weir cluster in $DIR"
    if ! "$REPO/scripts/cluster.sh" up --dir "$DIR" --brokers 1 --controllers 1 >"$OUTDIR/$STAMP.cluster.log" 2>&1; then
        CLUSTER_UP=1
        log "cluster.sh up failed (see $OUTDIR/$STAMP.cluster.log); Weir rows skipped"
        return 1
    fi
    CLUSTER_UP=1
    # shellcheck disable=SC1091
    . "$DIR/cluster.env"
    BROKER_PID=$(cat "${BROKER_1_PID_FILE:-/nonexistent}" 2>/dev/null || echo "${BROKER_1_PID:-}")
    log "Weir at $BOOTSTRAP, broker pid $BROKER_PID"
}

# rows TARGET SIZE RUN: P1, P2 and C1 for one target and record size.
rows() {
    local target=$1 size=$2 run=$3 conn=() t="b$run-$size" n
    if [ "$target" = mock ]; then conn=("${MOCK[@]}"); else conn=(-b "$BOOTSTRAP"); fi
    local common=(--record-size "$size" --acks 1 --warmup "$WARMUP" --duration "$MEASURE")
    run_perf P1 "$size" "$target" "$run" -- "${conn[@]}" perf produce --topic "p1-$t" --partitions 1 "${common[@]}"
    run_perf P2 "$size" "$target" "$run" -- "${conn[@]}" perf produce --topic "p2-$t" --partitions 6 "${common[@]}"
    n=$C1_RECORDS
    if [ -z "$n" ]; then
        n=$(python3 "$REPO/test/bench/report.py" --c1-records "$RESULTS" "$target" "$size" "$MEASURE")
    fi
    if [ "$target" = weir ]; then
        log "C1 $size B: writing $n records first"
        "$WEIR" "${conn[@]}" perf produce --topic "c1-$t" --partitions 6 --record-size "$size" --acks 1 \
            --num-records "$n" >/dev/null 2>>"$OUTDIR/$STAMP.log" || log "C1 preload failed"
    fi
    run_perf C1 "$size" "$target" "$run" -- "${conn[@]}" perf consume --topic "c1-$t" --messages "$n" \
        --record-size "$size" --partitions 6 --timeout-ms 10000
    if [ "$target" = weir ]; then
        # Several GB per round: give the disk back before the next one.
        "$WEIR" "${conn[@]}" topics delete "p1-$t" "p2-$t" "c1-$t" 2>>"$OUTDIR/$STAMP.log" || true
    fi
}

main() {
    [ -x "$WEIR" ] || { echo "bench: $WEIR not built (run make)" >&2; exit 1; }
    local have_weir=0
    case " $TARGETS " in *" weir "*) start_weir && have_weir=1 || true ;; esac
    log "warm-up ${WARMUP}s, measured ${MEASURE}s per produce row, $RUNS run(s); results in $RESULTS"
    for run in $(seq 1 "$RUNS"); do
        for size in $SIZES; do
            for target in $TARGETS; do
                [ "$target" = weir ] && [ "$have_weir" = 0 ] && continue
                rows "$target" "$size" "$run"
            done
        done
    done
    python3 "$REPO/test/bench/report.py" --report "$RESULTS" "$OUT" \
        "warmup_s=$WARMUP" "measured_s=$MEASURE" "runs=$RUNS" "stamp=$STAMP"
}

main "$@"
