#!/usr/bin/env bash
# bench.sh - what `make bench` runs: rows P1-P4 and C1 of PERFORMANCE.md at
# 100 B and 1 KiB, against two Weir clusters started here with
# scripts/cluster.sh and against librdkafka's mock cluster (the protocol
# ceiling), all in the same run:
#   P1, P2   1 broker, RF 1, 1 and 6 partitions, acks=1
#   P3, P4   3 brokers, RF 3, min.insync.replicas=2, 6 partitions, acks=1 / all
#   C1       as P3: the topic is written first (acks=all, so that every record
#            is below the high watermark), then one consumer reads it all
#   mock     P1 and P2 on a 1-broker mock cluster (the ceiling of P1/P2)
# Both Weir clusters stay up for the whole run (an idle cluster costs well
# under 1% of a core) so that the rows of one run are interleaved and the
# same-run ratios (P4/P2, C1/P3) compare like with like.  Every topic is
# created explicitly with `weir topics create` first: a producer's metadata
# request would otherwise auto-create it with the broker default (1 partition,
# RF 1) whatever `perf --partitions` says.
#
# Prints one table (msgs/s, MB/s, p99, ratio to the ceiling, the shape ratios
# P4/P2 and C1/P3 against their targets, broker CPU-seconds per GB summed over
# the cluster's broker pids) and saves everything as JSON in
# build/bench/<UTC date>.json so that later runs can be compared with it.
# The brokers' and controllers' logs are kept in build/bench/<date>.logs/.
#
# The default run is shorter than PERFORMANCE.md's protocol (about 9 minutes
# on 2 cores): BENCH_WARMUP=2 s of warm-up and BENCH_SECONDS=8 s measured per
# produce row, median of BENCH_RUNS=3.  The full protocol is BENCH_FULL=1
# (BENCH_WARMUP=10 BENCH_SECONDS=30, about 25 minutes).
# Other knobs: BENCH_SIZES ("100 1024"), BENCH_ROWS ("P1 P2 P3 P4 C1"),
# BENCH_MOCK_ROWS (mock ceiling rows, "P1 P2"; P3/P4/C1 run on a 3-broker
# mock), BENCH_C1_RECORDS (records written and read by C1; default: what P3
# reached in BENCH_SECONDS, at most 300 MB), BENCH_TARGETS ("weir mock"),
# BENCH_DIR (parent of the two cluster dirs; default a fresh temporary one),
# WEIR_BIN (binaries, default <repo>/bin), BENCH_MIN_FREE_GB (16: a run's
# Weir rows are skipped, and say so, when the disk has less free space).
#
# Before the rows it bounds the page cache to BENCH_PAGECACHE_MIB (4096) by
# holding the rest of memory (test/bench/holdmem.py: on a VM, writes into
# pages the host has not backed run ten times slower, so unbounded rows
# measure the hypervisor), and writes that much once to warm it.
#
# Stops everything it started: the clusters through `cluster.sh down` (pid
# files), nothing else is left running.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${WEIR_BIN:-$REPO/bin}
WEIR=$BIN/weir
if [ "${BENCH_FULL:-0}" = 1 ]; then
    WARMUP=${BENCH_WARMUP:-10} MEASURE=${BENCH_SECONDS:-30}
else
    WARMUP=${BENCH_WARMUP:-2} MEASURE=${BENCH_SECONDS:-8}
fi
RUNS=${BENCH_RUNS:-3}
SIZES=${BENCH_SIZES:-100 1024}
ROWS=${BENCH_ROWS:-P1 P2 P3 P4 C1}
MOCK_ROWS=${BENCH_MOCK_ROWS:-P1 P2}
TARGETS=${BENCH_TARGETS:-weir mock}
C1_RECORDS=${BENCH_C1_RECORDS:-}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUTDIR=$REPO/build/bench
OUT=$OUTDIR/$STAMP.json
RESULTS=$OUTDIR/$STAMP.jsonl
ERRLOG=$OUTDIR/$STAMP.log
CLK_TCK=$(getconf CLK_TCK)
MIN_ISR=2
# The consumer's per-partition prefetch cap.  librdkafka 2.0 stops fetching a
# partition once 100,000 messages are queued for it (queued.min.messages) and
# looks again only on its 1 s broker-thread timer: with 6 partitions of
# 100 B records the fetchers then sit idle most of the time (C1 measured
# 0.25-0.9 M msgs/s with the default, 2.4 M with this; 1 partition is barely
# affected).  A client artefact, so C1 lifts the cap (Weir and mock alike).
C1_CLIENT=(-X queued.min.messages=1000000)
OWN_DIR=0
DIR=${BENCH_DIR:-}
CLUSTERS=""            # cluster dirs that were brought up (for cleanup)
B1_BOOT="" B1_PIDS=""   # the 1-broker cluster (P1, P2)
B3_BOOT="" B3_PIDS="" B3_DIR=""  # the 3-broker cluster (P3, P4, C1)

mkdir -p "$OUTDIR"
: >"$RESULTS"

log() { printf '%s bench: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }

# Copies the daemons' logs out of a cluster dir (which may be temporary).
save_logs() {
    local dir=$1 dest
    dest=$OUTDIR/$STAMP.logs/$(basename "$1")
    mkdir -p "$dest"
    cp "$dir"/broker-*/broker-*.log "$dir"/controller-*/controller-*.log "$dest"/ 2>/dev/null || true
}

# Stops every cluster brought up here (and keeps its logs).
stop_clusters() {
    local d
    for d in $CLUSTERS; do
        log "stopping the cluster in $d"
        "$REPO/scripts/cluster.sh" down --dir "$d" >/dev/null 2>&1 || true
        save_logs "$d"
    done
    CLUSTERS=""
}

cleanup() {
    stop_clusters
    release_memory
    if [ "$OWN_DIR" = 1 ] && [ -n "$DIR" ]; then rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# CPU ticks (user+system) summed over pids, from /proc/<pid>/stat fields 14
# and 15.  A pid that is gone counts 0 (and its broker's log will say why).
cpu_ticks() {
    local pid sum=0 t
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] || continue
        # The command name (field 2) may hold spaces: cut after the last ')'.
        t=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }') || t=0
        sum=$((sum + ${t:-0}))
    done
    echo "$sum"
}

# record ROW SIZE TARGET RUN JSON CPU_TICKS EXTRA_JSON_FIELDS
record() {
    printf '{"row":"%s","size":%s,"target":"%s","run":%s,"broker_cpu_s":%s%s,"result":%s}\n' \
        "$1" "$2" "$3" "$4" "$(awk -v t="$6" -v h="$CLK_TCK" 'BEGIN { printf "%.3f", t / h }')" "$7" "$5" >>"$RESULTS"
}

# Sum of the sizes of TOPIC's segment files on each broker of the 3-broker
# cluster, one number per broker.  With RF 3 on 3 brokers every broker holds
# every partition, and a follower stores the leader's batches byte for byte,
# so equal sums mean the followers have caught up.
replica_bytes() {
    local i
    for i in 1 2 3; do
        find "$B3_DIR/broker-$i/data" -path "*/$1-[0-9]*/*.log" -printf '%s\n' 2>/dev/null |
            awk '{ s += $1 } END { printf "%d ", s }'
    done
}

# wait_caught_up TOPIC: waits (up to 30 s) until every replica of TOPIC holds
# as many bytes as the largest one.  Prints "LAG_BYTES CATCHUP_S": how far the
# slowest follower was behind when called, and how long it took to catch up
# (-1 if it did not).
wait_caught_up() {
    local start now spread first=""
    start=$(date +%s.%N)
    while :; do
        spread=$(replica_bytes "$1" | awk '{ mx = $1; mn = $1
            for (i = 2; i <= NF; i++) { if ($i > mx) mx = $i; if ($i < mn) mn = $i }
            print mx - mn }')
        [ -n "$first" ] || first=$spread
        now=$(date +%s.%N)
        if [ "$spread" = 0 ]; then
            awk -v l="$first" -v a="$start" -v b="$now" 'BEGIN { printf "%d %.2f\n", l, b - a }'
            return 0
        fi
        if awk -v a="$start" -v b="$now" 'BEGIN { exit !(b - a > 30) }'; then
            log "replicas of $1 still differ after 30 s: $(replica_bytes "$1")bytes"
            echo "$first -1"
            return 0
        fi
        sleep 0.1
    done
}

# run_perf ROW SIZE TARGET RUN "PIDS" -- weir args...: runs one measurement,
# records it with the CPU the PIDS used meanwhile.  On the 3-broker cluster,
# produce rows wait for the followers before reading the CPU, so that their
# replication work is counted in the row that caused it.
run_perf() {
    local row=$1 size=$2 target=$3 run=$4 pids=$5 json before after extra="" topic="" a lag catchup
    shift 6
    for a in "$@"; do
        case $topic/$a in
        next/*) topic=$a ;;
        /--topic) topic=next ;;
        esac
    done
    # shellcheck disable=SC2086
    before=$(cpu_ticks $pids)
    if ! json=$("$WEIR" "$@" 2>>"$ERRLOG" | tail -n 1); then
        log "$row $size B $target run $run failed (see $ERRLOG)"
    fi
    if [ "$target" = weir ] && { [ "$row" = P3 ] || [ "$row" = P4 ]; }; then
        read -r lag catchup < <(wait_caught_up "$topic")
        extra=$(printf ',"follower_lag_bytes":%s,"catchup_s":%s' "$lag" "$catchup")
    fi
    # shellcheck disable=SC2086
    after=$(cpu_ticks $pids)
    case $json in
    \{*) record "$row" "$size" "$target" "$run" "$json" $((after - before)) "$extra"
        log "$row $size B $target run $run: $json${lag:+ (followers $lag B behind, caught up in ${catchup}s)}" ;;
    *) log "$row $size B $target run $run: no result" ;;
    esac
}

# start_cluster NAME BROKERS: brings up a cluster in $DIR/NAME and sets
# CL_BOOT (bootstrap servers) and CL_PIDS (broker pids).
start_cluster() {
    local dir=$DIR/$1
    mkdir -p "$dir"
    CLUSTERS="$CLUSTERS $dir"
    log "starting a $2-broker Weir cluster in $dir"
    if ! "$REPO/scripts/cluster.sh" up --dir "$dir" --brokers "$2" --controllers 1 \
        >"$OUTDIR/$STAMP.cluster-$1.log" 2>&1; then
        log "cluster.sh up failed (see $OUTDIR/$STAMP.cluster-$1.log)"
        return 1
    fi
    # A subshell: cluster.env's names must not leak into this script.
    read -r CL_BOOT CL_PIDS < <(
        # shellcheck disable=SC1091
        . "$dir/cluster.env"
        printf '%s' "$BOOTSTRAP"
        for i in $BROKER_IDS; do
            f=BROKER_${i}_PID_FILE p=BROKER_${i}_PID
            printf ' %s' "$(cat "${!f}" 2>/dev/null || echo "${!p}")"
        done
        echo
    )
}

start_weir() {
    if [ -z "$DIR" ]; then
        DIR=$(mktemp -d /tmp/weir-bench.XXXXXX)
        OWN_DIR=1
    fi
    if has "$ROWS" P1 || has "$ROWS" P2; then
        if start_cluster 1broker 1; then
            B1_BOOT=$CL_BOOT B1_PIDS=$CL_PIDS
            log "1-broker Weir at $B1_BOOT, broker pid $B1_PIDS"
        else
            log "P1/P2 on Weir skipped"
        fi
    fi
    if has "$ROWS" P3 || has "$ROWS" P4 || has "$ROWS" C1; then
        if start_cluster 3brokers 3; then
            B3_BOOT=$CL_BOOT B3_PIDS=$CL_PIDS B3_DIR=$DIR/3brokers
            log "3-broker Weir at $B3_BOOT, broker pids $B3_PIDS"
        else
            log "P3/P4/C1 on Weir skipped"
        fi
    fi
}

# create_topic BOOTSTRAP TOPIC PARTITIONS RF [key=val...]: creates the topic
# and checks what the cluster reports for it.  Fails (after logging) when the
# topic is not exactly as asked, so that no row runs on a wrong topic.
create_topic() {
    local boot=$1 topic=$2 parts=$3 rf=$4 cfg=() kv desc
    shift 4
    for kv in "$@"; do cfg+=(-c "$kv"); done
    if ! "$WEIR" -b "$boot" topics create "$topic" -p "$parts" -r "$rf" "${cfg[@]}" >/dev/null 2>>"$ERRLOG"; then
        log "cannot create topic $topic (see $ERRLOG)"
        return 1
    fi
    desc=$("$WEIR" -b "$boot" topics describe "$topic" 2>>"$ERRLOG" | head -n 1)
    case $desc in
    *"PartitionCount: $parts	ReplicationFactor: $rf	"*) return 0 ;;
    esac
    log "topic $topic is not $parts partitions x RF $rf: $desc"
    return 1
}

# drop_topics BOOTSTRAP TOPIC...: deletes each topic that exists, one at a
# time (a delete naming a missing topic is refused as a whole).  Each row
# writes several GB: the disk must get them back before the next one.
drop_topics() {
    local boot=$1 t
    shift
    for t in "$@"; do
        "$WEIR" -b "$boot" topics delete "$t" >/dev/null 2>&1 || true
    done
}

# weir_rows SIZE RUN: this run's Weir rows at one record size.
weir_rows() {
    local size=$1 run=$2 n lag catchup free_gb
    local t="b$run-$size"
    free_gb=$(df -Pk "${DIR:-/tmp}" | awk 'NR == 2 { print int($4 / 1048576) }')
    if [ "${free_gb:-0}" -lt "${BENCH_MIN_FREE_GB:-16}" ]; then
        log "only ${free_gb} GB free on the cluster's disk: Weir rows of run $run at $size B skipped"
        return 0
    fi
    local common=(--record-size "$size" --warmup "$WARMUP" --duration "$MEASURE")
    if [ -n "$B1_BOOT" ]; then
        if has "$ROWS" P1 && create_topic "$B1_BOOT" "p1-$t" 1 1; then
            run_perf P1 "$size" weir "$run" "$B1_PIDS" -- -b "$B1_BOOT" perf produce --topic "p1-$t" \
                --partitions 1 --acks 1 "${common[@]}"
        fi
        if has "$ROWS" P2 && create_topic "$B1_BOOT" "p2-$t" 6 1; then
            run_perf P2 "$size" weir "$run" "$B1_PIDS" -- -b "$B1_BOOT" perf produce --topic "p2-$t" \
                --partitions 6 --acks 1 "${common[@]}"
        fi
        # Several GB per round: give the disk back before the next one.
        drop_topics "$B1_BOOT" "p1-$t" "p2-$t"
    fi
    [ -n "$B3_BOOT" ] || return 0
    local rf3=(3 "min.insync.replicas=$MIN_ISR")
    if has "$ROWS" P3 && create_topic "$B3_BOOT" "p3-$t" 6 "${rf3[@]}"; then
        run_perf P3 "$size" weir "$run" "$B3_PIDS" -- -b "$B3_BOOT" perf produce --topic "p3-$t" \
            --partitions 6 --acks 1 "${common[@]}"
    fi
    if has "$ROWS" P4 && create_topic "$B3_BOOT" "p4-$t" 6 "${rf3[@]}"; then
        run_perf P4 "$size" weir "$run" "$B3_PIDS" -- -b "$B3_BOOT" perf produce --topic "p4-$t" \
            --partitions 6 --acks all "${common[@]}"
    fi
    if has "$ROWS" C1 && create_topic "$B3_BOOT" "c1-$t" 6 "${rf3[@]}"; then
        n=$C1_RECORDS
        if [ -z "$n" ]; then n=$(python3 "$REPO/test/bench/report.py" --c1-records "$RESULTS" weir "$size" "$MEASURE"); fi
        log "C1 $size B: writing $n records first"
        "$WEIR" -b "$B3_BOOT" perf produce --topic "c1-$t" --partitions 6 --record-size "$size" --acks all \
            --num-records "$n" >/dev/null 2>>"$ERRLOG" || log "C1 preload failed"
        read -r lag catchup < <(wait_caught_up "c1-$t")
        if [ "$catchup" = -1 ]; then log "C1 $size B: replicas did not converge; reading anyway"; fi
        run_perf C1 "$size" weir "$run" "$B3_PIDS" -- -b "$B3_BOOT" "${C1_CLIENT[@]}" perf consume --topic "c1-$t" \
            --messages "$n" --timeout-ms 10000
    fi
    drop_topics "$B3_BOOT" "p3-$t" "p4-$t" "c1-$t"
}

# mock_rows SIZE RUN: the ceiling rows at one record size, each on a fresh
# in-process mock cluster (1 broker for P1/P2, 3 brokers RF 3 otherwise).
mock_rows() {
    local size=$1 run=$2 row n
    local t="b$run-$size"
    local common=(--record-size "$size" --warmup "$WARMUP" --duration "$MEASURE")
    local m1=(-X test.mock.num.brokers=1) m3=(-X test.mock.num.brokers=3)
    for row in $MOCK_ROWS; do
        case $row in
        P1) run_perf P1 "$size" mock "$run" "" -- "${m1[@]}" perf produce --topic "p1-$t" --partitions 1 \
                --acks 1 "${common[@]}" ;;
        P2) run_perf P2 "$size" mock "$run" "" -- "${m1[@]}" perf produce --topic "p2-$t" --partitions 6 \
                --acks 1 "${common[@]}" ;;
        P3 | P4) run_perf "$row" "$size" mock "$run" "" -- "${m3[@]}" perf produce --topic "$row-$t" \
                --partitions 6 --replication-factor 3 --acks "$([ "$row" = P3 ] && echo 1 || echo all)" \
                "${common[@]}" ;;
        C1) n=$C1_RECORDS
            if [ -z "$n" ]; then n=$(python3 "$REPO/test/bench/report.py" --c1-records "$RESULTS" mock "$size" "$MEASURE"); fi
            run_perf C1 "$size" mock "$run" "" -- "${m3[@]}" "${C1_CLIENT[@]}" perf consume --topic "c1-$t" --messages "$n" \
                --record-size "$size" --partitions 6 --timeout-ms 10000 ;;
        *) log "unknown mock row $row" ;;
        esac
    done
}

# Warnings and errors the daemons logged during the run, per log file (not
# the controller's "resigning ... shutting down", which every stop logs).
log_summary() {
    local f n
    for f in "$OUTDIR/$STAMP.logs"/*/*.log; do
        [ -e "$f" ] || continue
        n=$(grep -E '\] (WARN|ERROR|FATAL) ' "$f" | grep -vc 'resigning as active controller.*shutting down' || true)
        if [ "$n" != 0 ]; then printf '%s=%s ' "${f#"$OUTDIR/$STAMP.logs/"}" "$n"; fi
    done
}

# hold_memory: bounds the page cache to BENCH_PAGECACHE_MIB (default 4096)
# by holding the rest of memory (test/bench/holdmem.py says why), then writes
# and deletes a file as large as what is left, so that the rows write into
# reused pages.  BENCH_PAGECACHE_MIB=0 turns this off.
HOLD_PID=""
hold_memory() {
    local leave=${BENCH_PAGECACHE_MIB:-4096} line mib warm
    [ "$leave" != 0 ] || return 0
    coproc HOLD { exec /usr/bin/python3 "$REPO/test/bench/holdmem.py" "$leave"; }
    HOLD_PID=$HOLD_PID
    if ! read -r -t 300 line <&"${HOLD[0]}"; then
        log "memory hold did not start; rows run on whatever memory they get"
        release_memory
        return 0
    fi
    log "page cache bounded: $line (BENCH_PAGECACHE_MIB=$leave)"
    mib=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
    warm=$(mktemp "${DIR:-/tmp}/weir-bench-warm.XXXXXX")
    if dd if=/dev/zero of="$warm" bs=1M count="$mib" conv=fsync status=none 2>>"$ERRLOG"; then
        log "page cache warmed with ${mib} MiB"
    fi
    rm -f "$warm"
}

release_memory() {
    if [ -n "$HOLD_PID" ]; then
        kill "$HOLD_PID" 2>/dev/null || true
        wait "$HOLD_PID" 2>/dev/null || true
        HOLD_PID=""
    fi
}

main() {
    [ -x "$WEIR" ] || { echo "bench: $WEIR not built (run make)" >&2; exit 1; }
    hold_memory
    if has "$TARGETS" weir; then start_weir; fi
    log "warm-up ${WARMUP}s, measured ${MEASURE}s per produce row, $RUNS run(s); results in $RESULTS"
    for run in $(seq 1 "$RUNS"); do
        for size in $SIZES; do
            if has "$TARGETS" weir; then weir_rows "$size" "$run"; fi
            if has "$TARGETS" mock; then mock_rows "$size" "$run"; fi
        done
    done
    # Stop the clusters now, so that their logs are complete for the report.
    stop_clusters
    release_memory
    local warnings
    warnings=$(log_summary)
    if [ -n "$warnings" ]; then log "daemon warnings/errors logged: $warnings(logs in $OUTDIR/$STAMP.logs)"; fi
    python3 "$REPO/test/bench/report.py" --report "$RESULTS" "$OUT" \
        "warmup_s=$WARMUP" "measured_s=$MEASURE" "runs=$RUNS" "stamp=$STAMP" \
        "min_insync_replicas=$MIN_ISR" "daemon_log_warnings=$warnings" "logs=$OUTDIR/$STAMP.logs"
}

main "$@"
